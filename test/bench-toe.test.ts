/**
 * `mcstack bench toe` (bench/src/toe.ts) at its smallest: every row measured in each of two
 * rounds in the seeded order, the targets read from the rounds' ratios, and live handoffs
 * counted per second from moves that really happened (a connection carrying
 * request/response moved host → card → host …). No speed is asserted: that is the
 * benchmark's to report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToeBench, formatToeBench } from '@mcstack/bench';

test('bench toe: bulk and rr off and on, and live handoffs per second', { timeout: 60000 }, async () => {
  const r = await runToeBench({ bulkBytes: 1 << 20, seconds: 0.5, repeats: 2, seed: 3 });
  assert.equal(r.rows.length, 4);
  for (const row of r.rows) {
    assert.ok(row.rate.median > 0, `${row.workload}/${row.mode}`);
    assert.equal(row.rates.length, 2);
    assert.ok(row.rate.lo <= row.rate.median && row.rate.median <= row.rate.hi);
  }
  assert.equal(r.handoffRates.length, 2);
  assert.ok(r.handoffs.median > 0);
  // Each round ran every point once; the order is the seed's.
  assert.equal(r.order.length, 2);
  for (const round of r.order)
    assert.deepEqual([...round].sort(), ['bulk/off', 'bulk/on', 'handoffs', 'rr/off', 'rr/on']);
  // The targets: each the median of the rounds' on/off ratios, its verdict the interval's.
  assert.deepEqual(
    r.targets.map((t) => [t.what, t.direction, t.target]),
    [
      ['host CPU per GB, toe on / off', 'at most', 0.2],
      ['bulk throughput, toe on / off', 'at least', 1],
    ],
  );
  const bulkOn = r.points.find((p) => p.key === 'bulk/on')!.samples;
  const bulkOff = r.points.find((p) => p.key === 'bulk/off')!.samples;
  const ratios = bulkOn.throughput!.map((x, i) => x / bulkOff.throughput![i]!);
  assert.deepEqual(r.targets[1]!.ratios, ratios);
  for (const t of r.targets) assert.ok(['met', 'not met', 'inconclusive'].includes(t.verdict!), t.what);
  // Every point carries the same figures, so bench compare reads any of them.
  for (const p of r.points)
    assert.deepEqual(Object.keys(p.samples), ['throughput', 'hostCpuPerUnit', 'cardCpuPerUnit', 'mainCpuPerUnit']);
  // The conditions the figures were read under travel with them.
  assert.ok(r.cores >= 1 && r.loadBefore >= 0 && r.loadAfter >= 0);
  assert.match(formatToeBench(r), /^\d+ cores, load average [\d.]+ before, [\d.]+ after$/m);
  assert.match(
    formatToeBench(r),
    /^live handoffs \(host → card → host …, under 1-byte rr\): [\d,.]+ \[[\d,.]+–[\d,.]+\]\/s/m,
  );
  assert.match(
    formatToeBench(r),
    /^bulk throughput, toe on \/ off: [\d.]+ \[[\d.]+–[\d.]+\] \(\d+%\), target ≥ 1: (met|not met|inconclusive)$/m,
  );
});
