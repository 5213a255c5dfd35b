/**
 * The simulator's bottleneck (sim/bottleneck.ts) packet by packet, and the study on it
 * (sim/ccstudy.ts): NewReno flows sharing a drop-tail bottleneck fairly, and the figures
 * repeating exactly from the seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../src/kern/random.js';
import { Bottleneck, frameEcn, frameMarkCe } from '../src/sim/bottleneck.js';
import { jainIndex, runCcFlows } from '../src/sim/ccstudy.js';
import { internetChecksum } from '@mcstack/wire';

const PKT = 1500;
/** Serialisation of one packet at 12 Mbit/s: 1 ms. */
const RATE = 12e6;

test('drop-tail: the rate, the delay, and no more than the queue holds', () => {
  const b = new Bottleneck({ rateBps: RATE, delayUs: 5000, queuePkts: 10 }, new SeededRandom(1));
  // A burst of 20 at t = 0: the first is sent at once, 10 wait, the rest are dropped.
  const out: number[] = [];
  for (let i = 0; i < 20; i++) out.push(b.enqueue(0, PKT, false));
  assert.deepEqual(
    out.slice(0, 11),
    Array.from({ length: 11 }, (_, i) => (i + 1) * 1000 + 5000),
  );
  assert.deepEqual(out.slice(11), new Array(9).fill(-1));
  assert.equal(b.stats.tailDrops, 9);
  assert.deepEqual([...b.stats.sojourn.subarray(0, 3)], [0, 1000, 2000]);
  // Once drained, the queue takes packets again.
  assert.equal(b.enqueue(11_000, PKT, false), 12_000 + 5000);
});

test('ECN at a threshold K: ECT packets beyond K queued leave marked, others are not', () => {
  const b = new Bottleneck({ rateBps: RATE, queuePkts: 100, ecnThresholdPkts: 5 }, new SeededRandom(1));
  const marks: boolean[] = [];
  for (let i = 0; i < 10; i++) {
    b.enqueue(0, PKT, true);
    marks.push(b.ce);
  }
  // Packet i finds i − 1 waiting (the first goes straight to the wire).
  assert.deepEqual(
    marks,
    Array.from({ length: 10 }, (_, i) => i - 1 > 5),
  );
  b.enqueue(0, PKT, false);
  assert.equal(b.ce, false, 'not ECN-capable: not marked');
});

test('CoDel keeps a standing queue near its target; RED drops before the queue is full', () => {
  for (const aqm of ['codel', 'red'] as const) {
    const b = new Bottleneck({ rateBps: RATE, queuePkts: 1000, aqm }, new SeededRandom(7));
    // Offered at 1.1× the rate for 10 s.
    for (let t = 0; t < 10_000_000; t += 909) b.enqueue(t, PKT, false);
    assert.equal(b.stats.tailDrops, 0, `${aqm}: never full`);
    assert.ok(b.stats.aqmDrops > 0, aqm);
    if (aqm === 'codel') {
      // The drops hold the sojourn time down: the last second's median under 4 × target.
      const last = Float64Array.from(b.stats.sojourn.subarray(b.stats.samples - 1000, b.stats.samples)).sort();
      assert.ok(last[500]! < 20_000, `median sojourn ${last[500]}`);
    }
  }
});

test('frameMarkCe sets CE and keeps the IPv4 header checksum valid (RFC 1624)', () => {
  const f = new Uint8Array(14 + 20);
  f[12] = 0x08;
  f[14] = 0x45;
  f[15] = 0x02; // ECT(0)
  f[22] = 64;
  f[23] = 6;
  const sum = internetChecksum(f, 14, 20);
  f[24] = sum >> 8;
  f[25] = sum & 0xff;
  assert.equal(frameEcn(f), 2);
  frameMarkCe(f);
  assert.equal(frameEcn(f), 3);
  assert.equal(internetChecksum(f, 14, 20), 0);
});

test("Jain's index", () => {
  assert.equal(jainIndex([5, 5, 5, 5]), 1);
  assert.equal(jainIndex([1, 0, 0, 0]), 0.25);
  assert.ok(Math.abs(jainIndex([1, 2]) - 9 / 10) < 1e-12);
});

test('four NewReno flows on a drop-tail bottleneck share it fairly (Jain ≥ 0.95), the same from the same seed', () => {
  const o = {
    seed: 3,
    flows: ['newreno', 'newreno', 'newreno', 'newreno'],
    rateBps: 20e6,
    rttMs: 40,
    queuePkts: 100,
    aqm: 'droptail' as const,
    seconds: 20,
  };
  const r = runCcFlows(o);
  assert.ok(r.jain >= 0.95, `Jain ${r.jain}`);
  assert.ok(r.utilization > 0.9 && r.utilization <= 1, `utilization ${r.utilization}`);
  assert.ok(r.drops > 0, 'the flows found the queue limit');
  // The queue never exceeds 100 packets: 100 × 1514 B at 20 Mbit/s.
  assert.ok(r.queueDelayMs.max <= (100 * 1514 * 8) / 20e3 + 0.01);
  assert.deepEqual(runCcFlows(o), r, 'replays exactly');
  const other = runCcFlows({ ...o, seed: 4 });
  assert.notDeepEqual(
    other.flows.map((f) => f.bytes),
    r.flows.map((f) => f.bytes),
  );
});
