/**
 * The dummynet pipe on the in-memory link (pipe.ts) across real worker threads. A's output
 * passes 8 Mbit/s, a 10-slot queue and 20 ms; B's output 20 ms (the ACK path). Only
 * bounds a slow machine cannot break are asserted: a transfer cannot finish sooner than
 * its wire bytes take at the rate, a request/response cannot complete sooner than its
 * round trips, and slow start overflowing the queue is counted as the pipe's tail drops
 * while TCP still delivers every byte. Without the pipe each of these fails by orders of
 * magnitude (the transfer takes milliseconds, the round trips microseconds). A worker
 * that dies holding the shared queue's lock stalls the others only until the stack
 * publishes its death.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from '../src/index.js';
import { pipeOwner, type PipeShare } from '../src/pipe.js';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats } from './support/pair.js';

const BYTES = 1 << 20;
const RATE = 8e6;
const DELAY_MS = 20;
const TXNS = 10;

test('a pipe on the in-memory link honours its rate, delay and queue across workers', async () => {
  const p = pair(
    1,
    {
      pipe: { bw: RATE, delay: DELAY_MS, queue: 10 },
      apps: [
        { name: 'bulk-sender', options: { addr: '10.0.0.2', port: 9, bytes: BYTES } },
        { name: 'rr-client', options: { addr: '10.0.0.2', port: 7, transactions: TXNS, size: 1 } },
      ],
    },
    {
      pipe: { delay: DELAY_MS },
      apps: [
        { name: 'discard', port: 9 },
        { name: 'echo', port: 7 },
      ],
    },
  );
  await withPair(p, async () => {
    const bulk = await waitFor('bulk done', appStats(p.A, 'bulk-sender'), (s) => s.done === 1, 60_000);
    const rr = await waitFor('rr done', appStats(p.A, 'rr-client'), (s) => s.done === 1, 60_000);
    const got = await waitFor('all bytes in', appStats(p.B, 'discard'), (s) => (s.bytesIn ?? 0) >= BYTES, 10_000);
    assert.equal(got.bytesIn, BYTES, 'byte-exact through the drops');
    // Every 1448-byte segment is a 1514-byte frame on the wire: its serialisation at RATE is a floor.
    const wireSeconds = (Math.ceil(BYTES / 1448) * 1514 * 8) / RATE;
    assert.ok(
      (bulk.elapsedUs ?? 0) / 1e6 >= wireSeconds,
      `1 MiB in ${bulk.elapsedUs} µs, the rate allows ${wireSeconds} s`,
    );
    // The handshake and each transaction are a round trip of at least twice the delay.
    assert.ok(
      (rr.elapsedUs ?? 0) >= (TXNS + 1) * 2 * DELAY_MS * 1000,
      `${TXNS} transactions in ${rr.elapsedUs} µs, under ${TXNS + 1} round trips of ${2 * DELAY_MS} ms`,
    );
    const a = p.A.pipeStats();
    assert.ok(a !== null);
    assert.ok(a.tailDrops > 0, 'slow start never overflowed a 10-slot queue');
    assert.ok(a.packets >= BYTES / 1448, `${a.packets} packets through A's pipe`);
    // The same counters under the worker's sysctl tree, and the configuration as given.
    assert.deepEqual(await p.A.sysctl('net.inet.ip.dummynet.pipe.tail_drops'), [a.tailDrops]);
    assert.deepEqual(await p.A.sysctl('net.inet.ip.dummynet.pipe.bw'), [RATE]);
    assert.deepEqual(await p.A.sysctl('net.inet.ip.dummynet.pipe.aqm'), ['droptail']);
    await assert.rejects(p.A.sysctl('net.inet.ip.dummynet.pipe.bw', 1), { code: 'EPERM' });
    const b = p.B.pipeStats();
    assert.ok(b !== null && b.tailDrops === 0 && b.packets > 0, 'B: a delay-only pipe with room');
  });
});

test('a bad pipe is refused when the stack is created (EINVAL)', () => {
  for (const pipe of [
    { bw: -1 },
    { delay: Number.NaN },
    { queue: 0 },
    { plr: 2 },
    { aqm: 'fq' },
    { rate: 1 },
    // ecn on a drop-tail queue would mark nothing; a truthy non-boolean is no flag.
    { ecn: true },
    { bw: 1e6, aqm: 'codel', ecn: 1 },
    // A misspelt AQM parameter would be ignored.
    { bw: 1e6, aqm: 'red', red: { minth: 5 } },
    { bw: 1e6, aqm: 'codel', codel: { targt: 5 } },
    // No rate, no queue: CoDel and a marking threshold would never act.
    { aqm: 'codel' },
    { markThreshold: 10 },
  ]) {
    assert.throws(
      () => Stack.create({ name: 'X', addrs: ['10.0.0.9/24'], pipe: pipe as never }),
      (e: Error & { code?: string }) => e.code === 'EINVAL',
      JSON.stringify(pipe),
    );
  }
});

test("a worker that dies holding the pipe's lock: the stack publishes its death and a live worker takes the lock over", async () => {
  const N = 16;
  const p = pair(
    2,
    { apps: [{ name: 'rr-client', options: { addr: '10.0.0.2', port: 7, connections: N, size: 20 } }] },
    { pipe: { delay: 1 }, apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, async () => {
    const rr = appStats(p.A, 'rr-client');
    await waitFor('all busy', rr, (s) => s.established === N && s.transactions > N * 5);
    const failed = new Promise((resolve) => p.B.once('worker-error', resolve));
    await p.B.control(1).sysctlSet('debug.kdb.panic', 1);
    await failed;
    // Its death leaves the lock word as a crash inside enqueue would: held by worker 1 (owner 2).
    const { sab } = (p.B as unknown as { pipe: PipeShare }).pipe;
    const lock = new Int32Array(sab, 0, 1);
    while (Atomics.compareExchange(lock, 0, 0, pipeOwner(1)) !== 0) await new Promise((r) => setImmediate(r));
    const t0 = (await rr()).transactions;
    await waitFor('worker 0 still answers through the pipe', rr, (s) => s.transactions > t0 + 50);
    assert.equal(p.B.pipeStats()?.lockBreaks, 1);
    assert.equal((await p.B.sysctl('net.inet.ip.dummynet.pipe.lock_breaks'))[0], 1, 'worker 0 counts it too');
  });
});
