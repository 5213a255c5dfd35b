/** The A/A check on samples of one system (agree) and of two systems 25% apart (differ). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normal, type Rng } from '../src/stats/rng.js';
import { aaCheck } from '../src/stats/aa.js';

/** n windows of a throughput whose median is `med`, with a few per cent of window-to-window noise. */
const windows = (rng: Rng, n: number, med: number, sigma = 0.03): number[] =>
  Array.from({ length: n }, () => med * Math.exp(sigma * normal(rng)));

test('identical samples agree, with a spread of exactly 1', () => {
  const s = [100, 103, 98, 101, 99];
  const r = aaCheck([
    { key: 'rss-groups/1', samples: s },
    { key: 'rss-groups/1 again', samples: [...s].reverse() },
  ]);
  assert.equal(r.agree, true);
  assert.equal(r.spread, 1);
  assert.equal(r.pairs.length, 1);
  assert.equal(r.pairs[0]!.ratio.estimate, 1);
  assert.match(r.message, /^A\/A: rss-groups\/1, rss-groups\/1 again agree \(largest median 0\.0% above the smallest/);
});

test('a quiet machine is seldom called noisy: three draws of one system agree in at least 90% of 200 seeded runs', () => {
  // Each pair is tested at 1 − 0.05/3 (Bonferroni), so all three pairs should agree in
  // about 95% of runs or more (the bootstrap ratio interval is conservative at n = 5); 90%
  // leaves 3 standard errors of 200 runs (≈ 0.015 each).
  const rng = createRng(99);
  let agreed = 0;
  for (let run = 0; run < 200; run++) {
    const r = aaCheck(
      ['a', 'b', 'c'].map((key) => ({ key, samples: windows(rng, 5, 1000) })),
      { seed: run, resamples: 1000 },
    );
    assert.ok(Math.abs(r.pairs[0]!.ratio.requested - (1 - 0.05 / 3)) < 1e-12);
    if (r.agree) agreed++;
  }
  assert.ok(agreed >= 180, `agreed in ${agreed} of 200 runs`);
});

test('two systems 25% apart differ, and the message names them and says the machine was too noisy', () => {
  const rng = createRng(5);
  const r = aaCheck([
    { key: 'same/1', samples: windows(rng, 5, 1000) },
    { key: 'same/2', samples: windows(rng, 5, 1000) },
    { key: 'same/3', samples: windows(rng, 5, 1250) },
  ]);
  assert.equal(r.agree, false);
  assert.ok(r.spread > 1.15 && r.spread < 1.35, `spread ${r.spread}`);
  const bad = r.pairs.filter((p) => !p.agree).map((p) => `${p.a}~${p.b}`);
  assert.deepEqual(bad, ['same/1~same/3', 'same/2~same/3']);
  assert.ok(r.pairs.every((p) => p.agree === (p.ratio.lo <= 1 && 1 <= p.ratio.hi)));
  assert.equal(r.pairs.find((p) => p.b === 'same/3')!.intervalsOverlap, false);
  assert.match(r.message, /same\/1 and same\/3 differ \(ratio 1\.\d+, interval 1\.\d+ to 1\.\d+\)/);
  assert.match(r.message, /the machine was too noisy for this run's verdicts$/);
  assert.deepEqual(
    r.configs.map((c) => c.key),
    ['same/1', 'same/2', 'same/3'],
  );
});

test('the check needs two configurations with distinct keys', () => {
  assert.throws(() => aaCheck([{ key: 'a', samples: [1, 2, 3] }]), RangeError);
  assert.throws(
    () =>
      aaCheck([
        { key: 'a', samples: [1, 2, 3] },
        { key: 'a', samples: [1, 2, 3] },
      ]),
    RangeError,
  );
});
