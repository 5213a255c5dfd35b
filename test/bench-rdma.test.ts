/**
 * `mcstack bench rdma` (bench/src/rdma.ts) at its smallest: every workload measured in each
 * of two seeded rounds, RDMA over the cards and TCP on the same offloaded path, with the
 * cards' CPU time counted and RDMA over TCP read from the rounds' ratios. No speed is
 * asserted: that is the benchmark's to report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRdmaBench, formatRdmaBench } from '@mcstack/bench';

test('bench rdma: Write, Send, TCP bulk, RDMA and TCP latency', { timeout: 90000 }, async () => {
  const r = await runRdmaBench({ bytes: 1 << 18, seconds: 0.25, repeats: 2, seed: 5 });
  assert.deepEqual(
    r.rows.map((x) => x.workload),
    ['rdma-write', 'rdma-send', 'tcp-bulk', 'rdma-lat', 'tcp-lat'],
  );
  for (const row of r.rows) {
    assert.ok(row.rate.median > 0, row.workload);
    assert.equal(row.rates.length, 2);
    assert.ok(row.cardCpu.median > 0, `${row.workload}: the cards worked`);
  }
  assert.equal(r.order.length, 2);
  const lat = r.ratios.find((x) => x.what === 'RDMA / TCP, latency')!;
  const rates = (w: string) => r.rows.find((x) => x.workload === w)!.rates;
  assert.deepEqual(
    lat.ratios,
    rates('rdma-lat').map((x, i) => x / rates('tcp-lat')[i]!),
  );
  assert.equal(lat.verdict, undefined, 'no target, no verdict');
  // For bench compare: round trips per second, so higher is better in every point.
  const p = r.points.find((x) => x.key === 'rdma-lat')!;
  assert.deepEqual(
    p.samples.throughput,
    rates('rdma-lat').map((us) => 1e6 / us),
  );
  assert.ok(r.cores >= 1 && r.loadBefore >= 0 && r.loadAfter >= 0, 'the conditions travel with the figures');
  assert.match(formatRdmaBench(r), /^\d+ cores, load average [\d.]+ before, [\d.]+ after$/m);
  assert.match(formatRdmaBench(r), /^rdma-write +[\d,.]+ \[[\d,.]+–[\d,.]+\] +Gbit\/s/m);
  assert.match(formatRdmaBench(r), /^RDMA Write \/ TCP bulk, throughput: [\d.]+ \[[\d.]+–[\d.]+\] \(\d+%\)$/m);
});
