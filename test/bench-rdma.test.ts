/**
 * `mcstack bench rdma` (bench/src/rdma.ts) at its smallest: every workload measured, RDMA
 * over the cards and TCP on the same offloaded path, with the cards' CPU time counted. No
 * speed is asserted: that is the benchmark's to report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRdmaBench, formatRdmaBench } from '@mcstack/bench';

test('bench rdma: Write, Send, TCP bulk, RDMA and TCP latency', { timeout: 90000 }, async () => {
  const r = await runRdmaBench({ bytes: 1 << 18, seconds: 0.5, repeats: 1 });
  assert.deepEqual(
    r.rows.map((x) => x.workload),
    ['rdma-write', 'rdma-send', 'tcp-bulk', 'rdma-lat', 'tcp-lat'],
  );
  for (const row of r.rows) {
    assert.ok(row.rate > 0, row.workload);
    assert.ok(row.cardCpu > 0, `${row.workload}: the cards worked`);
  }
  assert.ok(r.cores >= 1 && r.loadBefore >= 0 && r.loadAfter >= 0, 'the conditions travel with the figures');
  assert.match(formatRdmaBench(r), /^\d+ cores, load average [\d.]+ before, [\d.]+ after$/m);
  assert.match(formatRdmaBench(r), /^rdma-write +[\d,.]+ +Gbit\/s/m);
});
