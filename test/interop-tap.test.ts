/**
 * Tier 5 (docs/architecture.md, "Tests in tiers"): the Linux kernel as a real peer of one mcstack Engine, over a TAP
 * device that socat bridges to a UDP tunnel on loopback. The device lives in a network
 * namespace this test makes (and always deletes), so the only addresses used are
 * loopback's and the namespace's. ARP and neighbour discovery are real, in both
 * directions. The kernel is TCP client and server, over IPv4 and IPv6; each transfer
 * moves seeded random sizes both ways and is checked byte-exact by SHA-256 on both ends;
 * `ss -ti` in the namespace shows what the kernel negotiated with mcstack.
 *
 * Each case runs 100 transfers of up to 8 MiB each way (about two minutes
 * for the file here); MCSTACK_TAP_TRANSFERS / MCSTACK_TAP_MAX_BYTES shrink it for a quick run.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type Engine, TCPI_OPT_SACK, TCPI_OPT_TIMESTAMPS, TCPI_OPT_WSCALE } from '@mcstack/netinet';
import type { TapLink, RealtimeLoop } from '@mcstack/runtime';
import { Netns, netnsUnavailable, vethPair } from '@mcstack/bench';
import { Peer } from './support/peer.js';
import { tapHost } from './support/tap-host.js';
import {
  planTransfers,
  TransferClient,
  TransferServer,
  type Transfer,
  type TransferResult,
} from './support/transfers.js';

const TRANSFERS = Number(process.env.MCSTACK_TAP_TRANSFERS ?? 100);
const MAX_BYTES = Number(process.env.MCSTACK_TAP_MAX_BYTES ?? 8 << 20);
const SEED = Number(process.env.MCSTACK_TAP_SEED ?? 20251124);
/** Bytes of the throughput comparison (reported, never asserted). */
const BENCH_BYTES = Number(process.env.MCSTACK_TAP_BENCH_BYTES ?? 32 << 20);

const LINUX4 = '10.77.0.1';
const MCS4 = '10.77.0.2';
const LINUX6 = 'fd77::1';
const MCS6 = 'fd77::2';

const skip = await netnsUnavailable();

function compare(
  what: string,
  plan: Transfer[],
  linux: TransferResult[],
  mcs: TransferResult[],
  linuxIsClient: boolean,
): void {
  assert.equal(linux.length, plan.length, `${what}: Linux finished ${linux.length} of ${plan.length}`);
  assert.equal(mcs.length, plan.length, `${what}: mcstack finished ${mcs.length} of ${plan.length}`);
  for (let i = 0; i < plan.length; i++) {
    const t = plan[i]!;
    const [l, m] = [linux[i]!, mcs[i]!];
    const toMcs = linuxIsClient ? t.send : t.reply;
    const toLinux = linuxIsClient ? t.reply : t.send;
    const ctx = `${what} transfer ${i} (seed ${SEED}, ${toMcs} B Linux→mcstack, ${toLinux} B mcstack→Linux)`;
    assert.equal(l.sent, toMcs, ctx);
    assert.equal(m.received, toMcs, ctx);
    assert.equal(m.receivedSha, l.sentSha, `${ctx}: Linux→mcstack data differs`);
    assert.equal(m.sent, toLinux, ctx);
    assert.equal(l.received, toLinux, ctx);
    assert.equal(l.receivedSha, m.sentSha, `${ctx}: mcstack→Linux data differs`);
  }
}

/**
 * The negotiated options as `ss -ti` prints them for the kernel's side (with -e: iproute2
 * 6.1 on a 6.x kernel leaves `ts` and `sack` out of `ss -ti` alone).
 */
function checkSs(out: string, what: string): string {
  const info = out.split('\n').find((l) => /wscale:/.test(l)) ?? '';
  assert.match(info, /\bwscale:\d+,\d+/, `${what}: ss -ti shows no window scaling:\n${out}`);
  assert.match(info, /\bsack\b/, `${what}: ss -ti shows no SACK:\n${out}`);
  assert.match(info, /\bts\b/, `${what}: ss -ti shows no timestamps:\n${out}`);
  return info
    .trim()
    .split(/\s+/)
    .filter((w) => /^(ts|sack|wscale:|mss:|rtt:|cwnd:)/.test(w))
    .join(' ');
}

function checkTcpInfo(e: Engine, fd: number, what: string): void {
  const ti = e.tcpInfo(fd);
  assert.notEqual(typeof ti, 'number', `${what}: no tcp_info for fd ${fd} (${String(ti)})`);
  const o = (ti as { tcpi_options: number }).tcpi_options;
  for (const [bit, name] of [
    [TCPI_OPT_TIMESTAMPS, 'timestamps'],
    [TCPI_OPT_SACK, 'SACK'],
    [TCPI_OPT_WSCALE, 'window scaling'],
  ] as const) {
    assert.ok(o & bit, `${what}: mcstack did not negotiate ${name}`);
  }
}

describe('interop: the Linux kernel over TAP', {
  skip: skip ? `needs TAP and network namespaces: ${skip}` : false,
}, () => {
  let ns: Netns;
  let engine: Engine;
  let tap: TapLink;
  let loop: RealtimeLoop;
  let port = 6000;

  before(async () => {
    ({ ns, engine, tap, loop } = await tapHost({
      name: 'tap',
      seed: SEED,
      lladdr: Uint8Array.of(0x02, 0, 0, 0x77, 0, 2),
      mcstack: [`${MCS4}/24`, `${MCS6}/64`],
      linux: [`${LINUX4}/24`, `${LINUX6}/64`],
    }));
  });

  after(async () => {
    await loop?.close();
    await ns?.delete();
  });

  /** Run until `done()`, then the peer's lines. */
  async function drive(
    done: () => boolean,
    peer: Peer,
    count: number,
    pauseCheck: (() => Promise<void>) | null,
  ): Promise<TransferResult[]> {
    const out: TransferResult[] = [];
    let paused = pauseCheck !== null;
    while (out.length < count) {
      const m = await peer.next<TransferResult & { event?: string }>();
      if (m.event === 'established' && paused) {
        paused = false;
        await pauseCheck!();
        peer.go();
        continue;
      }
      if (m.event) continue;
      out.push(m);
    }
    // mcstack's last close may trail the peer's last line by a pass.
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    return out;
  }

  /** On a live connection: what both kernels' views say was negotiated. */
  async function checkOptions(t: { diagnostic(s: string): void }, what: string, fd: () => number): Promise<void> {
    const ss = await ns.exec('ss', ['-tine', 'state', 'established']);
    t.diagnostic(`ss -ti (${what}): ${checkSs(ss, what)}`);
    // Linux's connect() can return before mcstack's next pass has accepted the connection.
    for (let i = 0; i < 200 && fd() < 0; i++) await new Promise((r) => setTimeout(r, 5));
    checkTcpInfo(engine, fd(), `${what}, mcstack's tcp_info`);
  }

  for (const family of ['inet', 'inet6'] as const) {
    const [linux, mcs] = family === 'inet' ? [LINUX4, MCS4] : [LINUX6, MCS6];
    const v = family === 'inet' ? 'IPv4' : 'IPv6';

    it(`${v}: Linux client, mcstack server: ${TRANSFERS} transfers up to ${MAX_BYTES} B each way`, async (t) => {
      const plan = planTransfers(SEED + (family === 'inet' ? 1 : 2), TRANSFERS, MAX_BYTES);
      const p = port++;
      const server = new TransferServer(engine, family, mcs, p, plan);
      const off = loop.onPoll(server.poll);
      const peer = new Peer(ns, { mode: 'client', addr: mcs, port: p, pause: true, transfers: plan });
      try {
        const linuxRes = await drive(
          () => server.done,
          peer,
          plan.length,
          () => checkOptions(t, `${v} Linux client`, () => server.current),
        );
        assert.equal(server.error, null);
        compare(`${v} Linux client`, plan, linuxRes, server.results, true);
      } finally {
        off();
        peer.kill();
      }
    });

    it(`${v}: mcstack client, Linux server: ${TRANSFERS} transfers up to ${MAX_BYTES} B each way`, async (t) => {
      const plan = planTransfers(SEED + (family === 'inet' ? 3 : 4), TRANSFERS, MAX_BYTES);
      const p = port++;
      // The Python server sends its `send`: here the plan's reply.
      const peer = new Peer(ns, {
        mode: 'server',
        addr: linux,
        port: p,
        pause: true,
        transfers: plan.map((x) => ({ send: x.reply, seed: x.seed })),
      });
      let off = () => {};
      try {
        const first = await peer.next<{ event?: string }>();
        assert.equal(first.event, 'listening');
        const client = new TransferClient(engine, family, linux, p, plan);
        off = loop.onPoll(client.poll);
        loop.kick();
        const linuxRes = await drive(
          () => client.done,
          peer,
          plan.length,
          () => checkOptions(t, `${v} Linux server`, () => client.current),
        );
        assert.equal(client.error, null);
        compare(`${v} Linux server`, plan, linuxRes, client.results, false);
      } finally {
        off();
        peer.kill();
      }
    });
  }

  it('nothing left open on the mcstack side, no frame dropped by the tunnel', () => {
    assert.equal(engine.census().fds, 0);
    const s = tap.stats;
    assert.equal(s.runts + s.giants + s.foreign + s.oqdrops, 0, JSON.stringify(s));
    assert.equal(loop.stats.odrops, 0);
  });

  it(`throughput, one connection, ${BENCH_BYTES} B: Linux → mcstack over TAP beside Linux → Linux over veth (reported, not asserted)`, async (t) => {
    // mcstack as the sink: a server whose every transfer is 0 bytes back.
    const p = port++;
    const sink = new TransferServer(engine, 'inet', MCS4, p, [{ send: BENCH_BYTES, reply: 0, seed: 1 }]);
    const off = loop.onPoll(sink.poll);
    let tapSeconds: number;
    try {
      const peer = new Peer(ns, { mode: 'source', addr: MCS4, port: p, bytes: BENCH_BYTES });
      const r = await peer.next<{ sent: number; seconds: number }>();
      assert.equal(r.sent, BENCH_BYTES);
      for (let i = 0; i < 200 && !sink.done; i++) await new Promise((res) => setTimeout(res, 10));
      assert.equal(sink.results[0]?.received, BENCH_BYTES);
      tapSeconds = r.seconds;
    } finally {
      off();
    }

    const ns2 = await Netns.create('veth');
    try {
      await vethPair(ns, '10.78.0.1/24', ns2, '10.78.0.2/24', String(process.pid % 10000));
      const sinkPeer = new Peer(ns2, { mode: 'sink', addr: '10.78.0.2', port: 7000 });
      assert.equal((await sinkPeer.next<{ event: string }>()).event, 'listening');
      const src = new Peer(ns, { mode: 'source', addr: '10.78.0.2', port: 7000, bytes: BENCH_BYTES });
      const r = await src.next<{ sent: number; seconds: number }>();
      const s = await sinkPeer.next<{ received: number }>();
      assert.equal(s.received, BENCH_BYTES);
      const mb = (sec: number) => BENCH_BYTES / sec / 1e6;
      const line = `Linux→mcstack over TAP ${mb(tapSeconds).toFixed(1)} MB/s; Linux→Linux over veth ${mb(r.seconds).toFixed(1)} MB/s; ratio ${(r.seconds / tapSeconds).toFixed(4)}`;
      t.diagnostic(line);
    } finally {
      await ns2.delete();
    }
  });
});
