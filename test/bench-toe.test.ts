/**
 * `mcstack bench toe` (bench/src/toe.ts) at its smallest: every row measured, and live
 * handoffs counted per second from moves that really happened (a connection carrying
 * request/response moved host → card → host …). No speed is asserted: that is the
 * benchmark's to report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToeBench, formatToeBench } from '@mcstack/bench';

test('bench toe: bulk and rr off and on, and live handoffs per second', { timeout: 60000 }, async () => {
  const r = await runToeBench({ bulkBytes: 1 << 20, seconds: 1, repeats: 1 });
  assert.equal(r.rows.length, 4);
  for (const row of r.rows) assert.ok(row.rate > 0, `${row.workload}/${row.mode}`);
  assert.equal(r.handoffRates.length, 1);
  assert.ok(r.handoffs > 0);
  // The conditions the figures were read under travel with them.
  assert.ok(r.cores >= 1 && r.loadBefore >= 0 && r.loadAfter >= 0);
  assert.match(formatToeBench(r), /^\d+ cores, load average [\d.]+ before, [\d.]+ after$/m);
  assert.match(formatToeBench(r), /^live handoffs \(host → card → host …, under 1-byte rr\): [\d,.]+\/s/m);
});
