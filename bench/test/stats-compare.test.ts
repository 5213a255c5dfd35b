/** `bench compare` on synthetic reports: a known 20% difference is detected, no difference stays within noise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normal, type Rng } from '../src/stats/rng.js';
import { compareReports, formatComparison } from '../src/stats/compare.js';
import type { PointSamples } from '../src/stats/report.js';

const POINTS = [
  'bulk/rss-groups/1',
  'bulk/rss-groups/2',
  'rr/rss-groups/1',
  'rr/rss-groups/2',
  'crr/rss-groups/1',
  'crr/unaligned/2',
];
const MEDIANS = [4.2, 7.9, 61000, 118000, 9000, 11000];

/** A run of the study: per point, 5 windows around its median with 3% window-to-window noise, all scaled by `factor`. */
function report(rng: Rng, factor: number, keys = POINTS): PointSamples[] {
  return keys.map((key) => ({
    key,
    samples: Array.from({ length: 5 }, () => factor * MEDIANS[POINTS.indexOf(key)]! * Math.exp(0.03 * normal(rng))),
  }));
}

test('B 20% faster than A at every point: detected at every point, the ratio near 1.2', () => {
  const rng = createRng(1);
  const c = compareReports(report(rng, 1), report(rng, 1.2));
  assert.deepEqual(
    c.points.map((p) => p.key),
    POINTS,
  );
  for (const p of c.points) {
    assert.equal(p.result, 'faster', `${p.key}: ${JSON.stringify(p.ratio)}`);
    assert.ok(
      p.ratio.lo > 1 && p.ratio.estimate > 1.1 && p.ratio.estimate < 1.3,
      `${p.key}: ${JSON.stringify(p.ratio)}`,
    );
    assert.ok(Math.abs(p.b.estimate / p.a.estimate - p.ratio.estimate) < 1e-12);
  }
  // The same pair the other way round is slower; with 'lower is better' (a cost) the labels swap.
  assert.ok(compareReports(report(rng, 1.2), report(rng, 1)).points.every((p) => p.result === 'slower'));
  assert.ok(
    compareReports(report(rng, 1), report(rng, 1.2), { better: 'lower' }).points.every((p) => p.result === 'slower'),
  );
});

test("two runs of the same system: within noise (identical windows always; fresh draws at all but a false-alarm rate's worth of points)", () => {
  const rng = createRng(2);
  const a = report(rng, 1);
  const same = compareReports(
    a,
    a.map((p) => ({ key: p.key, samples: [...p.samples].reverse() })),
  );
  assert.ok(same.points.every((p) => p.result === 'within noise' && p.ratio.estimate === 1));
  // 60 points, each called different with a probability of about 5% or less when nothing
  // changed: expected ≤ 3; more than 8 has a probability under 1% (binomial(60, 0.05)).
  const keys = Array.from({ length: 10 }, (_, i) => POINTS.map((k) => `${k}#${i}`)).flat();
  const wide = (f: number): PointSamples[] =>
    keys.map((key) => ({ key, samples: Array.from({ length: 5 }, () => f * 1000 * Math.exp(0.03 * normal(rng))) }));
  const c = compareReports(wide(1), wide(1));
  const flagged = c.points.filter((p) => p.result !== 'within noise').length;
  assert.ok(flagged <= 8, `${flagged} of ${c.points.length} points called different`);
});

test("unmatched points are listed, matched ones kept in A's order; a point's interval does not depend on the others", () => {
  const rng = createRng(3);
  const a = report(rng, 1, ['rr/rss-groups/1', 'bulk/rss-groups/1', 'crr/unaligned/2']);
  const b = report(rng, 1, ['crr/rss-groups/1', 'crr/unaligned/2', 'bulk/rss-groups/1']);
  const c = compareReports(a, b);
  assert.deepEqual(
    c.points.map((p) => p.key),
    ['bulk/rss-groups/1', 'crr/unaligned/2'],
  );
  assert.deepEqual(c.onlyInA, ['rr/rss-groups/1']);
  assert.deepEqual(c.onlyInB, ['crr/rss-groups/1']);
  const alone = compareReports(
    a.filter((p) => p.key === 'crr/unaligned/2'),
    b,
  );
  assert.deepEqual(alone.points[0], c.points[1]);
});

test('the text table: a header, one row per matched point, the unmatched after', () => {
  const rng = createRng(4);
  const text = formatComparison(
    compareReports(report(rng, 1, POINTS.slice(0, 3)), report(rng, 1.2, POINTS.slice(1, 4))),
    { a: 'main', b: 'branch' },
  );
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^point\s+median main\s+median branch\s+branch\/main\s+95% interval\s+result$/);
  assert.match(lines[1]!, /^bulk\/rss-groups\/2\s+7\.\d\d\s+9\.\d\d\s+1\.\d{3}\s+1\.\d{3} to 1\.\d{3}\s+faster$/);
  assert.match(lines[2]!, /^rr\/rss-groups\/1\s+\d{5}\s+\d{5}\s+1\.\d{3}/);
  assert.deepEqual(lines.slice(3), ['only in main: bulk/rss-groups/1', 'only in branch: rr/rss-groups/2']);
  // Columns line up: the result column starts at the same place in the header and the rows.
  assert.equal(lines[1]!.indexOf('faster'), lines[0]!.indexOf('result'));
  assert.equal(lines[2]!.indexOf('faster'), lines[0]!.indexOf('result'));
  assert.equal(
    formatComparison(compareReports([], [])),
    'point  median A  median B  B/A  95% interval  result\n(no point is in both reports)\n',
  );
});

test('bad input is refused with the point named', () => {
  assert.throws(
    () => compareReports([{ key: 'x', samples: [1, 0, 2] }], [{ key: 'x', samples: [1, 2, 3] }]),
    /point "x"/,
  );
  assert.throws(
    () =>
      compareReports(
        [
          { key: 'x', samples: [1] },
          { key: 'x', samples: [2] },
        ],
        [],
      ),
    /listed twice/,
  );
});
