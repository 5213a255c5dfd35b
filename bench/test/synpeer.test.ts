/**
 * The synthetic peer. The stateless responder against a real engine on a virtual clock
 * (sans-I/O: frames handed across by the test): crr and rr transactions with timestamps
 * and SACK negotiated, a lost SYN|ACK, and bad input counted, never thrown. Then the
 * peer's thread against a 2-worker Stack over the link matrix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, ERRNO } from '@mcstack/netinet';
import { newFrameMeta } from '@mcstack/netinet';
import type { Ifnet } from '@mcstack/netinet';
import { fillTcpChecksum4, get32, set32 } from '@mcstack/wire';
import { Stack, threadCpuAvailable } from '@mcstack/runtime';
import { StatelessResponder } from '../src/synpeer/responder.js';
import { SyntheticPeer } from '../src/synpeer/index.js';

const MAC_A = Uint8Array.from([2, 0, 0, 0, 0, 0x0a]);
const MAC_B = Uint8Array.from([2, 0, 0, 0, 0, 0x0b]);
const PEER = { addr: '10.0.0.2', port: 5001 };
const TH = 14 + 20; // TCP header offset in the frames here (no IP options)

/** An engine at 10.0.0.1 and a responder at 10.0.0.2:5001, joined by two queues the test drains. */
function setup() {
  let now = 1_000_000; // µs
  const e = new Engine({ seed: 7, now });
  const cx: Ifnet = e.ifattach({ name: 'cxgbe0', type: 'ether', lladdr: MAC_A, mtu: 1500 });
  assert.equal(e.addAddr(cx, '10.0.0.1/24'), 0);
  e.setUp(cx, true);
  e.net.arp.addStatic(cx, 0x0a000002, MAC_B);
  const toPeer: Uint8Array[] = [];
  const toEngine: Uint8Array[] = [];
  e.output = (_ifp, frame) => {
    toPeer.push(frame.slice());
  };
  const r = new StatelessResponder(
    { addr: Uint8Array.from([10, 0, 0, 2]), mac: MAC_B, port: PEER.port, key: new Uint8Array(16).fill(3) },
    (frame) => {
      toEngine.push(frame.slice());
    },
  );
  const meta = newFrameMeta();
  const delivered = { toPeer: 0, toEngine: 0 };
  /** Deliver everything in flight both ways; `drop` may swallow a reply (loss). */
  const pump = (drop?: (f: Uint8Array) => boolean) => {
    for (let i = 0; i < 1000 && (toPeer.length > 0 || toEngine.length > 0); i++) {
      const f = toPeer.shift();
      if (f !== undefined) {
        delivered.toPeer++;
        r.input(f, f.length, 0, now / 1000);
      }
      const g = toEngine.shift();
      if (g !== undefined) {
        delivered.toEngine++;
        if (!(drop?.(g) ?? false)) e.input(cx, g, now, meta);
      }
    }
  };
  const advance = (us: number) => {
    now += us;
    e.advance(now);
  };
  const state = () =>
    e
      .pcblist()
      .records.filter((x) => x.proto === 'tcp')
      .map((x) => x.state);
  return { e, r, toPeer, toEngine, pump, advance, state, delivered };
}

function connect(e: Engine): number {
  const fd = e.socket('inet', 'stream');
  assert.equal(e.connect(fd, PEER), -ERRNO.EINPROGRESS);
  return fd;
}

function transact(t: ReturnType<typeof setup>, fd: number, byte: number): void {
  assert.equal(t.e.send(fd, Uint8Array.of(byte)), 1);
  t.pump();
  const buf = new Uint8Array(8);
  assert.equal(t.e.recv(fd, buf), 1, 'the echo arrived');
  assert.equal(buf[0], byte);
}

test('responder: a crr transaction — handshake with options, echo, close into TIME_WAIT', () => {
  const t = setup();
  const fd = connect(t.e);
  t.pump();
  assert.deepEqual(t.state(), ['ESTABLISHED']);
  const info = t.e.tcpInfo(fd);
  assert.ok(typeof info !== 'number');
  // Timestamps, SACK and window scaling negotiated from the SYN|ACK's mirrored options (tcpi_options bits).
  assert.equal(info.tcpi_options & 0x7, 0x7);
  t.advance(1000);
  transact(t, fd, 0x41);
  assert.equal(t.e.close(fd), 0);
  t.pump();
  // The client closed first: TIME_WAIT, with our FIN acked (no retransmission pending).
  assert.deepEqual(t.state(), ['TIME_WAIT']);
  // Every frame the engine sent was counted; the three replies are all the responder sent.
  assert.equal(t.delivered.toEngine, 3);
  assert.deepEqual(
    { ...t.r.stats },
    {
      ipackets: t.delivered.toPeer,
      opackets: 3,
      syns: 1,
      requests: 1,
      fins: 1,
      rstsOut: 0,
      rstsIn: 0,
      badsum: 0,
      malformed: 0,
      ignored: 0,
      unsupported: 0,
    },
  );
  assert.ok(t.delivered.toPeer >= 4, 'SYN, handshake ACK, request, FIN at least');
});

test('responder: rr — each echo starts where the client acked, for many transactions', () => {
  const t = setup();
  const fd = connect(t.e);
  t.pump();
  for (let i = 0; i < 50; i++) {
    t.advance(300);
    transact(t, fd, i);
  }
  assert.equal(t.r.stats.requests, 50);
  assert.equal(t.r.stats.unsupported, 0);
  assert.deepEqual(t.state(), ['ESTABLISHED']);
  const info = t.e.tcpInfo(fd);
  assert.ok(typeof info !== 'number');
  assert.equal(info.tcpi_retransmits, 0);
});

test('responder: a lost SYN|ACK — the retransmitted SYN gets the same ISS, the connection completes', () => {
  const t = setup();
  const fd = connect(t.e);
  const isses: number[] = [];
  let dropped = 0;
  t.pump((f) => {
    isses.push(get32(f, TH + 4));
    return dropped++ === 0;
  });
  assert.deepEqual(t.state(), ['SYN_SENT']);
  t.advance(3_100_000); // past the initial RTO (RFC 6298 2.1: 1 s; FreeBSD 3 s for the SYN)
  t.pump((f) => {
    isses.push(get32(f, TH + 4));
    return false;
  });
  assert.deepEqual(t.state(), ['ESTABLISHED']);
  assert.equal(t.r.stats.syns, 2);
  assert.equal(isses.length, 2);
  assert.equal(isses[0], isses[1], 'stateless: the ISS is a function of the 4-tuple');
  transact(t, fd, 7);
});

test('responder: bad input is counted, never thrown; a closed port and a bogus ACK get RSTs', () => {
  const t = setup();
  const r = t.r;
  const fd = connect(t.e);
  const syn = t.toPeer[0]!.slice();
  t.pump();
  // Truncated, not IPv4, bad TCP checksum.
  r.input(syn, 20, 0, 0);
  assert.equal(r.stats.malformed, 1);
  const arp = syn.slice();
  arp[12] = 0x08;
  arp[13] = 0x06;
  r.input(arp, arp.length, 0, 0);
  assert.equal(r.stats.ignored, 1);
  const bad = syn.slice();
  bad[TH + 4]! ^= 0xff;
  r.input(bad, bad.length, 0, 0);
  assert.equal(r.stats.badsum, 1);
  // A SYN to a port nobody serves: RST|ACK, and the engine's connect is refused.
  const fd80 = t.e.socket('inet', 'stream');
  assert.equal(t.e.connect(fd80, { addr: PEER.addr, port: 80 }), -ERRNO.EINPROGRESS);
  t.pump();
  assert.equal(r.stats.rstsOut, 1);
  assert.equal(t.e.recv(fd80, new Uint8Array(1)), -ERRNO.ECONNREFUSED);
  // Data acking nothing we sent (ACK moved back to before our ISS): refused with RST.
  assert.equal(t.e.send(fd, Uint8Array.of(1)), 1);
  const req = t.toPeer.shift()!;
  set32(req, TH + 8, (get32(req, TH + 8) - 10) >>> 0);
  fillTcpChecksum4(req, 14, TH, req.length - TH);
  r.input(req, req.length, 0, 0);
  assert.equal(r.stats.unsupported, 1);
  assert.equal(r.stats.rstsOut, 2);
  t.toEngine.length = 0;
});

test('synthetic peer: crr from a 2-worker stack — every connection completes, nothing misdirected or refused', async () => {
  const COUNT = 400;
  const a = Stack.create({
    name: 'A',
    workers: 2,
    mac: '02:00:00:00:00:0a',
    addrs: ['10.0.0.1/24'],
    seed: 1,
    sysctl: { 'net.inet.tcp.msl': 250 },
    apps: [
      { name: 'crr-client', options: { addr: PEER.addr, port: PEER.port, concurrency: 16, count: COUNT, size: 1 } },
    ],
  });
  const peer = SyntheticPeer.create({ addr: PEER.addr, mac: '02:00:00:00:00:0b', port: PEER.port });
  peer.attach(a);
  assert.throws(() => peer.attach(a), { code: 'EISCONN' });
  try {
    await peer.start();
    await a.start();
    // Every connection made, within 30 s.
    const end = Date.now() + 30_000;
    let made = 0;
    while ((made = (await a.stats()).apps['crr-client']?.connections ?? 0) < COUNT) {
      assert.ok(Date.now() < end, `gave up waiting for ${COUNT} connections: ${made}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const s = await a.stats();
    const p = peer.stats();
    assert.equal(s.total.misdirected, 0);
    assert.equal(s.apps['crr-client']!.errors, 0);
    assert.ok(p.syns >= COUNT && p.requests >= COUNT && p.fins >= COUNT, JSON.stringify(p));
    for (const k of ['badsum', 'malformed', 'unsupported', 'rstsOut', 'rstsIn', 'txDrops'] as const)
      assert.equal(p[k], 0, `${k}: ${JSON.stringify(p)}`);
    // The peer's thread CPU from the OS where it is readable, NaN where it is not.
    if (threadCpuAvailable()) assert.ok(p.cpuNs > 0, `peer CPU ${p.cpuNs} ns`);
    else assert.ok(Number.isNaN(p.cpuNs));
  } finally {
    await a.stop();
    await peer.stop();
  }
});

test('synthetic peer: bad options are EINVAL; start before attach is ENOTCONN', async () => {
  assert.throws(() => SyntheticPeer.create({ addr: 'fd00::2', port: 1 }), { code: 'EINVAL' });
  assert.throws(() => SyntheticPeer.create({ addr: '10.0.0.2', port: 0 }), { code: 'EINVAL' });
  assert.throws(() => SyntheticPeer.create({ addr: '10.0.0.2', port: 1, mac: 'zz' }), { code: 'EINVAL' });
  assert.throws(() => SyntheticPeer.create({ addr: '10.0.0.2', port: 1, key: new Uint8Array(3) }), { code: 'EINVAL' });
  await assert.rejects(SyntheticPeer.create({ addr: '10.0.0.2', port: 1 }).start(), { code: 'ENOTCONN' });
});

test('synthetic peer: a thread that dies is reported (worker-error), and stop() rejects with it', async () => {
  const a = Stack.create({ name: 'A', workers: 1, mac: '02:00:00:00:00:0a', addrs: ['10.0.0.1/24'] });
  const peer = SyntheticPeer.create({ addr: PEER.addr, port: PEER.port });
  peer.attach(a);
  await peer.start();
  const reported = new Promise<Error>((resolve) => peer.once('worker-error', resolve));
  // Its pool torn down under it: the task ends without the loop returning.
  await (peer as unknown as { pool: { destroy(): Promise<void> } }).pool.destroy();
  const e = await reported;
  assert.equal((e as { code?: string }).code, 'MCSTACK_WORKER_EXIT');
  await assert.rejects(peer.stop(), { code: 'MCSTACK_WORKER_EXIT' });
});
