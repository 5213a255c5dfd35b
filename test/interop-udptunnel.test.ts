/**
 * The UDP tunnel link: two Engines, each on its own real-time loop, joined by UDP
 * datagrams over loopback (one Ethernet frame per datagram) exchange data both ways,
 * byte-exact by SHA-256, over IPv4 and IPv6 (ARP and ND across the tunnel). And what
 * does not belong on the tunnel (runts, giants, strangers' datagrams) is a counted drop.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Engine } from '@mcstack/netinet';
import { UdpTunnel, RealtimeLoop, tapUnavailable } from '@mcstack/runtime';
import { planTransfers, TransferClient, TransferServer } from './support/transfers.js';

const SEED = 77;

function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  return new Promise((resolve) => {
    const tick = () => {
      if (cond()) resolve(true);
      else if (Date.now() > end) resolve(false);
      else setTimeout(tick, 5);
    };
    tick();
  });
}

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

describe('UDP tunnel', () => {
  it('two engines over loopback: transfers both ways, IPv4 and IPv6, byte-exact', async () => {
    // Bind A first with a placeholder peer, then B towards A, then A's real peer is B.
    const pa = await bound();
    const pb = await bound();
    const portA = pa.address().port;
    const portB = pb.address().port;
    await Promise.all([new Promise<void>((r) => pa.close(() => r())), new Promise<void>((r) => pb.close(() => r()))]);
    const ta = await UdpTunnel.open({
      name: 'tunA',
      local: { port: portA },
      remote: { address: '127.0.0.1', port: portB },
    });
    const tb = await UdpTunnel.open({
      name: 'tunB',
      local: { port: portB },
      remote: { address: '127.0.0.1', port: portA },
    });
    const mk = (seed: number, mac: number, a4: string, a6: string) => {
      const e = new Engine({ seed });
      const ifp = e.ifattach({ name: 'tun0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0x79, 0, mac), mtu: 1500 });
      e.addAddr(ifp, `${a4}/24`);
      e.addAddr(ifp, `${a6}/64`);
      e.setUp(ifp);
      return { e, ifp };
    };
    const A = mk(SEED, 1, '10.79.0.1', 'fd79::1');
    const B = mk(SEED + 1, 2, '10.79.0.2', 'fd79::2');
    const la = new RealtimeLoop(A.e);
    la.attach(A.ifp, ta);
    la.start();
    const lb = new RealtimeLoop(B.e);
    lb.attach(B.ifp, tb);
    lb.start();
    try {
      for (const [family, addr] of [
        ['inet', '10.79.0.2'],
        ['inet6', 'fd79::2'],
      ] as const) {
        const plan = planTransfers(SEED + (family === 'inet' ? 0 : 1), 4, 1 << 20);
        const server = new TransferServer(B.e, family, addr, 5001, plan);
        const client = new TransferClient(A.e, family, addr, 5001, plan);
        const offs = [lb.onPoll(server.poll), la.onPoll(client.poll)];
        la.kick();
        const ok = await waitFor(() => server.done && client.done, 30_000);
        for (const f of offs) f();
        assert.ok(
          ok,
          `${family}: not finished (seed ${SEED}): client ${client.results.length}, server ${server.results.length}`,
        );
        assert.equal(client.error, null);
        assert.equal(server.error, null);
        for (let i = 0; i < plan.length; i++) {
          const [c, s] = [client.results[i]!, server.results[i]!];
          const ctx = `${family} transfer ${i} (seed ${SEED})`;
          assert.equal(s.received, plan[i]!.send, ctx);
          assert.equal(s.receivedSha, c.sentSha, ctx);
          assert.equal(c.received, plan[i]!.reply, ctx);
          assert.equal(c.receivedSha, s.sentSha, ctx);
        }
      }
      assert.ok(ta.stats.opackets > 0 && ta.stats.ipackets > 0);
      for (const s of [ta.stats, tb.stats])
        assert.equal(s.runts + s.giants + s.foreign + s.oqdrops, 0, JSON.stringify(s));
      assert.equal(A.e.census().fds, 0);
      assert.equal(B.e.census().fds, 0);
    } finally {
      await la.close();
      await lb.close();
    }
  });

  it('runts, giants and datagrams from strangers are counted drops; oversize transmits are refused', async () => {
    const peer = await bound();
    const stranger = await bound();
    const t = await UdpTunnel.open({ remote: { address: '127.0.0.1', port: peer.address().port }, mtu: 1500 });
    const seen: number[] = [];
    t.onframe = (f) => {
      seen.push(f.length);
    };
    try {
      const to = t.address().port;
      const send = (s: dgram.Socket, n: number) =>
        new Promise<void>((r) => s.send(Buffer.alloc(n), to, '127.0.0.1', () => r()));
      await send(peer, 5); // runt
      await send(peer, 1500 + 14 + 4 + 1); // giant
      await send(stranger, 60); // not the peer
      await send(peer, 0); // empty datagram: a runt too
      await send(peer, 60); // a minimum frame
      await send(peer, 1518); // full size with a VLAN tag
      assert.ok(
        await waitFor(() => t.stats.runts + t.stats.giants + t.stats.foreign + t.stats.ipackets === 6, 5000),
        JSON.stringify(t.stats),
      );
      assert.deepEqual(seen, [60, 1518]);
      assert.equal(t.stats.runts, 2);
      assert.equal(t.stats.giants, 1);
      assert.equal(t.stats.foreign, 1);
      assert.equal(t.stats.ibytes, 60 + 1518);
      assert.equal(t.transmit(new Uint8Array(1519)), false);
      assert.equal(t.transmit(new Uint8Array(13)), false);
      assert.equal(t.stats.oqdrops, 2);
      const got = new Promise<number>((r) => peer.once('message', (m) => r(m.length)));
      assert.equal(t.transmit(new Uint8Array(64)), true);
      assert.equal(await got, 64);
      assert.equal(t.stats.opackets, 1);
    } finally {
      await t.close();
      peer.close();
      stranger.close();
    }
  });

  it('bad options are typed errors', async () => {
    await assert.rejects(UdpTunnel.open({ remote: { address: '127.0.0.1', port: 0 } }), { code: 'EINVAL' });
    await assert.rejects(UdpTunnel.open({ remote: { address: '127.0.0.1', port: 9 }, mtu: 10 }), { code: 'EINVAL' });
    const a = await UdpTunnel.open({ remote: { address: '127.0.0.1', port: 9 } });
    try {
      await assert.rejects(
        UdpTunnel.open({ local: { port: a.address().port }, remote: { address: '127.0.0.1', port: 9 } }),
        { code: 'EADDRINUSE' },
      );
    } finally {
      await a.close();
    }
  });

  it('tapUnavailable names what is missing', async () => {
    const why = await tapUnavailable('/nonexistent/socat');
    assert.equal(typeof why, 'string');
    // Where TUN, CAP_NET_ADMIN and ip are present, socat is what it blames.
    if ((await tapUnavailable()) === null) assert.match(why!, /socat/);
  });
});
