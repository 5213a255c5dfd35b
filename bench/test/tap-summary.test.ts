/**
 * `bench tap`'s summary (tap.ts summarizeTap, tapPoints) on synthetic rows: each path's
 * median over the rounds, native over veth and over socat paired by round, verdicts against
 * the bulk rows' targets only, and the points `bench compare` reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeTap, tapPoints, TAP_TESTS, type TapBenchRow } from '../src/tap.js';

test('bench tap summary: medians per path, native over veth and socat paired by round, verdicts on the bulk rows only', () => {
  const rows: TapBenchRow[] = [];
  // Three rounds; veth's round 2 is disturbed, and so is native's in that round.
  const figures: Record<string, [number, number, number]> = {
    native: [500, 250, 520],
    socat: [40, 45, 50],
    veth: [1000, 500, 1100],
  };
  for (const test of Object.values(TAP_TESTS))
    for (const [path, xs] of Object.entries(figures))
      xs.forEach((x, i) => {
        rows.push({
          path: path as TapBenchRow['path'],
          test,
          run: 3 - i, // out of order: the summary pairs by round, not by position
          seconds: 1,
          ...(test === TAP_TESTS.rr ? { tps: x * 10, transactions: x * 10 } : { mbps: x, bytes: x * 1e6 }),
        });
      });
  const s = summarizeTap(rows, ['native', 'socat', 'veth']);
  assert.deepEqual(
    s.map((x) => x.test),
    Object.values(TAP_TESTS),
  );
  const rx1 = s[0]!;
  assert.deepEqual(rx1.native, { median: 500, lo: 250, hi: 520, confidence: 0.75 });
  assert.deepEqual(rx1.vsVeth.ratios, [520 / 1100, 0.5, 0.5]);
  assert.equal(rx1.vsVeth.ratio, 0.5);
  assert.equal(rx1.vsVeth.verdict, 'met');
  assert.equal(rx1.vsSocat!.verdict, 'inconclusive'); // 520/50 = 10.4 … 250/45 = 5.6
  const rr = s.find((x) => x.test === TAP_TESTS.rr)!;
  assert.equal(rr.native.median, 5000);
  assert.equal(rr.vsVeth.verdict, undefined, 'request/response has no target');
  assert.equal(rr.vsSocat!.verdict, undefined);
  // Without the socat path: no socat column, no ratio to it.
  const noSocat = summarizeTap(
    rows.filter((r) => r.path !== 'socat'),
    ['native', 'veth'],
  );
  assert.equal(noSocat[0]!.socat, null);
  assert.equal(noSocat[0]!.vsSocat, null);
  // bench compare's points: per path and test, each round's figure in round order.
  const points = tapPoints(rows, ['native', 'veth']);
  assert.equal(points.length, 10);
  assert.deepEqual(points[0], { key: 'native/rx1', samples: { throughput: [520, 250, 500] } });
});
