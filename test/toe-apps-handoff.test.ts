/**
 * Live handoff of an in-worker app's connection (docs/toe.md, "In-worker apps"): A's
 * in-worker echo server (port 7) keeps its descriptor while its connection moves host →
 * card → host … in the middle of bulk transfers both ways (B's client writes N bytes and
 * reads the echo back), on a lossy wire (StackOptions.plr on both stacks, seeded), and
 * `ifconfig cxgbe0 -toe` brings it back. Byte-exact by SHA-256; nothing left after close:
 * TIDs, card memory, the reservation, pcbs and descriptors on every worker and the card.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Stack } from '@mcstack/runtime';
import { mcnet, withNet, type McNet } from '@mcstack/api';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TOE } from '@mcstack/netinet';
import { formatConnections } from '@mcstack/netinet/tools';
import { bounded as boundedBy } from './support/bounded.js';
import { bytes, until as untilBy } from './support/toe.js';

const SEED = Number(process.env.SEED ?? 0x7a11);
const bounded = <T>(p: Promise<T>, ms: number, what: string) => boundedBy(p, ms, what, SEED);
const until = (what: string, cond: () => boolean | Promise<boolean>) => untilBy(what, cond, SEED);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const N = 2 << 20;
/** Loss on the wire, each way. */
const PLR = 0.005;

async function pair(fn: (A: Stack, netB: McNet, B: Stack) => Promise<void>): Promise<void> {
  const A = Stack.create({
    name: 'A',
    workers: 2,
    mac: '02:00:00:00:00:0a',
    addrs: ['10.0.0.1/24', 'fd00::1/64'],
    seed: SEED,
    plr: PLR,
    capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE,
    capenable: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6,
    toe: { ntids: 16 },
    modules: ['t4_tom'],
    apps: [{ name: 'echo', port: 7 }],
  });
  const B = Stack.create(
    withNet({
      name: 'B',
      workers: 2,
      mac: '02:00:00:00:00:0b',
      addrs: ['10.0.0.2/24', 'fd00::2/64'],
      seed: SEED + 1,
      plr: PLR,
    }),
  );
  Stack.join(A, B);
  let netB: McNet | null = null;
  try {
    await bounded(Promise.all([A.start(), B.start()]), 20000, 'stack start');
    netB = mcnet(B);
    await fn(A, netB, B);
  } finally {
    netB?.close();
    await Promise.all([A.stop(), B.stop()]);
  }
}

/** Descriptors, pcbs and tcpcbs of every worker of A (the listeners only, once the connection is gone). */
async function census(A: Stack): Promise<string> {
  const all = [];
  for (let w = 0; w < A.workers; w++) {
    const c = await A.control(w).census();
    all.push(`${c.fds}/${c.pcbs}/${c.tcbs}`);
  }
  return all.join(' ');
}

for (const [family, host, local] of [
  ['IPv4', '10.0.0.1', '10.0.0.2'],
  ['IPv6', 'fd00::1', 'fd00::2'],
] as const) {
  test(`${family}: an in-worker echo's connection host → card → host … mid-transfer both ways, lossy wire, byte-exact`, {
    timeout: 120000,
  }, async () => {
    await pair(async (A, netB, B) => {
      const before = await census(A);
      const held = A.reservations.size; // the echo's listens
      const data = bytes(N, SEED + 2);
      const c = netB.connect({ port: 7, host, localAddress: local });
      await bounded(once(c, 'connect'), 10000, 'connect');
      const got: Buffer[] = [];
      let n = 0;
      const errs: string[] = [];
      c.on('data', (b: Buffer) => {
        got.push(b);
        n += b.length;
        if (n >= N) c.end();
      });
      c.on('error', (e: NodeJS.ErrnoException) => errs.push(`${e.code}: ${e.message}`));
      const closed = once(c, 'close');
      void (async () => {
        for (let off = 0; off < N; off += 16384) if (!c.write(data.subarray(off, off + 16384))) await once(c, 'drain');
      })();
      const t = { laddr: host, lport: 7, faddr: local, fport: c.localPort! };
      await until('data flows both ways', () => n > 64 * 1024);
      await A.ifconfig(['cxgbe0', 'toe']);
      const conns = async () => formatConnections(await A.snapshots(), { proto: 'tcp' });
      let moves = 0;
      // Host → card → host … while bytes still flow; the last move is -toe's.
      for (let i = 0; i < 5 && n < N - 320 * 1024; i++) {
        const toCard = i % 2 === 0;
        if (toCard) {
          await bounded(A.toeHandoff(t, true), 20000, `move ${i} to the card`);
          const s = await conns();
          assert.match(s, new RegExp(`toe${family === 'IPv4' ? 4 : 6}\\b[^\\n]*\\.7 `), s);
        } else await bounded(A.toeHandoff(t, false), 20000, `move ${i} to the host`);
        moves++;
        const at = n;
        await until('more data after the move', () => n > at + 64 * 1024 || n >= N);
      }
      assert.equal(moves, 5, `moved ${moves} times before the transfer ended (seed ${SEED})`);
      // On the card: -toe brings it back mid-transfer.
      assert.ok(n < N, `the transfer ended before -toe (seed ${SEED})`);
      await bounded(A.ifconfig(['cxgbe0', '-toe']), 20000, '-toe');
      assert.doesNotMatch(await conns(), /toe[46]/);
      await bounded(closed, 60000, 'the echo completes');
      assert.deepEqual(errs, [], `socket errors (seed ${SEED})`);
      assert.equal(n, N);
      assert.equal(sha(Buffer.concat(got)), sha(data), `the echo is byte-exact (seed ${SEED})`);
      const tids = A.toeTids!;
      await until('TIDs and card memory freed', () => tids.inUse === 0 && tids.memInUse === 0);
      await until('the reservation gone', () => A.reservations.size === held);
      await until('every worker back to its listeners', async () => (await census(A)) === before);
      assert.doesNotMatch(await conns(), /\.7 +10\.0\.0\.2|\.7 +fd00::2/);
      const counters = await A.cardCounters();
      assert.ok(counters !== null);
      assert.equal(counters.tidsInUse, 0);
      // The wire lost frames both ways: both ends and the card retransmitted.
      const [sa, sb] = [await A.stats(), await B.stats()];
      const rexmit = (t: Record<string, number>) => t.tcps_sndrexmitpack ?? 0;
      assert.ok(
        rexmit(sb.tcpstat) > 0 && rexmit(sa.tcpstat) + rexmit(counters.tcpstat) > 0,
        `no loss seen (seed ${SEED})`,
      );
    });
  });
}
