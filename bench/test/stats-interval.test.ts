/**
 * Medians and intervals against known answers: exact small cases, the binomial coverage
 * against a brute-force sum, and coverage measured on seeded synthetic samples whose true
 * median is known (normal: 0; lognormal exp(μ + σZ): e^μ).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normal, type Rng } from '../src/stats/rng.js';
import {
  bootstrapCI,
  contains,
  median,
  medianCI,
  medianRatioCI,
  orderStatisticCoverage,
  type Interval,
} from '../src/stats/interval.js';

const sample = (n: number, draw: () => number): number[] => Array.from({ length: n }, draw);
const lognormal = (rng: Rng, med: number, sigma: number) => (): number => med * Math.exp(sigma * normal(rng));

/** Fraction of `trials` intervals that contain `truth`. */
function coverage(trials: number, interval: (trial: number) => Interval, truth: number): number {
  let hit = 0;
  for (let t = 0; t < trials; t++) if (contains(interval(t), truth)) hit++;
  return hit / trials;
}

test('median: odd and even counts, order ignored; no values or NaN refused', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), RangeError);
  assert.throws(() => median([1, NaN, 2]), RangeError);
});

test('order-statistic interval: exact small cases, with the confidence they really have', () => {
  // n = 5: even [min, max] misses the median when all five fall on one side, 2·(1/2)^5.
  assert.deepEqual(medianCI([5, 1, 4, 2, 3]), {
    estimate: 3,
    lo: 1,
    hi: 5,
    requested: 0.95,
    confidence: 0.9375,
    method: 'order-statistic',
  });
  assert.equal(medianCI([1, 2, 3, 4, 5, 6]).confidence, 1 - 2 / 64);
  // n = 9: [x(2), x(8)] has 1 − 2·(1 + 9)/512 ≥ 0.95; [x(3), x(7)] only 1 − 2·46/512 = 0.82.
  const nine = medianCI([9, 8, 7, 6, 5, 4, 3, 2, 1]);
  assert.deepEqual([nine.lo, nine.hi, nine.confidence], [2, 8, 1 - 20 / 512]);
  // A lower level narrows it: at 80%, n = 9 gives [x(3), x(7)] (82%).
  const nine80 = medianCI([9, 8, 7, 6, 5, 4, 3, 2, 1], 0.8);
  assert.deepEqual([nine80.lo, nine80.hi, nine80.confidence], [3, 7, 1 - 92 / 512]);
  assert.deepEqual([medianCI([4]).lo, medianCI([4]).hi, medianCI([4]).confidence], [4, 4, 0]);
  assert.throws(() => medianCI([1, 2, 3], 1), RangeError);
});

test('order-statistic coverage equals the binomial sum computed exactly, and stays finite for large n', () => {
  const choose = (n: number, k: number): bigint => {
    let c = 1n;
    for (let i = 0; i < k; i++) c = (c * BigInt(n - i)) / BigInt(i + 1);
    return c;
  };
  for (let n = 1; n <= 40; n++) {
    for (let r = 1; 2 * r <= n + 1; r++) {
      let tail = 0n;
      for (let k = 0; k < r; k++) tail += choose(n, k);
      const exact = 1 - (2 * Number(tail)) / 2 ** n;
      assert.ok(Math.abs(orderStatisticCoverage(n, r) - exact) < 1e-12, `n=${n} r=${r}`);
    }
  }
  const big = orderStatisticCoverage(5000, 2430);
  assert.ok(big > 0.9 && big < 1, `n=5000: ${big}`);
  assert.throws(() => orderStatisticCoverage(5, 4), RangeError);
});

test('order-statistic interval covers the true median as often as its stated confidence (2000 seeded samples each)', () => {
  // The method is exact for continuous data, so the observed coverage should match the stated
  // confidence up to sampling error: ±4 standard errors of a proportion over 2000 trials
  // (≤ 0.018), which an interval one order statistic too narrow or too wide falls outside
  // (n = 20: 0.885 or 0.988 instead of 0.959).
  const rng = createRng(20261207);
  const cases = [
    { name: 'normal n=20', n: 20, draw: () => normal(rng), truth: 0 },
    { name: 'lognormal n=10', n: 10, draw: lognormal(rng, 3, 0.5), truth: 3 },
    { name: 'lognormal n=5', n: 5, draw: lognormal(rng, 3, 0.5), truth: 3 },
  ];
  for (const c of cases) {
    const stated = medianCI(sample(c.n, c.draw)).confidence;
    const observed = coverage(2000, () => medianCI(sample(c.n, c.draw)), c.truth);
    const tolerance = 4 * Math.sqrt((stated * (1 - stated)) / 2000);
    assert.ok(
      Math.abs(observed - stated) <= tolerance,
      `${c.name}: covered ${observed}, stated ${stated} ± ${tolerance.toFixed(4)}`,
    );
  }
});

test('bootstrap: the percentile interval on a case whose resampling distribution is known', () => {
  // Resampling {1, 3} twice: the mean is 1, 2 or 3 with probabilities 1/4, 1/2, 1/4. A 60%
  // interval takes the 20th and 80th percentiles, which fall in the outer quarters: [1, 3];
  // a 40% interval the 30th and 70th, both 2. (Cutting α instead of α/2 off each end would
  // give [2, 2] for 60%.)
  const mean = (xs: Float64Array): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const at = (level: number): number[] => {
    const iv = bootstrapCI([1, 3], mean, { level });
    return [iv.lo, iv.hi];
  };
  assert.deepEqual(at(0.6), [1, 3]);
  assert.deepEqual(at(0.4), [2, 2]);
  // The median of two values is their mean, so the ratio of medians with a constant denominator is the same case.
  const r = medianRatioCI([1, 3], [1, 1, 1], { level: 0.6 });
  assert.deepEqual([r.estimate, r.lo, r.hi, r.method], [2, 1, 3, 'bootstrap']);
  const same = medianRatioCI([6, 6, 6], [2, 2], {});
  assert.deepEqual([same.estimate, same.lo, same.hi], [3, 3, 3]);
});

test('bootstrap: the same seed gives the same interval, another seed a slightly different one', () => {
  const xs = sample(12, lognormal(createRng(5), 10, 0.3));
  assert.deepEqual(bootstrapCI(xs, median, { seed: 8 }), bootstrapCI(xs, median, { seed: 8 }));
  assert.notDeepEqual(
    bootstrapCI(xs, median, { seed: 8, resamples: 200 }),
    bootstrapCI(xs, median, { seed: 9, resamples: 200 }),
  );
});

test('bootstrap coverage on seeded synthetic samples is near the nominal 95% (400 samples each)', () => {
  // The percentile bootstrap is approximate. Measured offline over 2000 samples with these
  // settings: the median (lognormal, n = 20) covers 94%; the ratio of two lognormal medians
  // 97% at n = 5 and 96% at n = 10 (conservative: the resampled medians take few values).
  // The band allows 3 standard errors of 400 trials (≈ 0.012) around those, and excludes a
  // 90% interval (≈ 0.89) or one that cuts a whole tail off.
  const rng = createRng(424242);
  const med = coverage(
    400,
    (t) => bootstrapCI(sample(20, lognormal(rng, 5, 0.4)), median, { seed: t, resamples: 1000 }),
    5,
  );
  assert.ok(med >= 0.905 && med <= 0.98, `median n=20: covered ${med}`);
  for (const n of [5, 10]) {
    const ratio = coverage(
      400,
      (t) =>
        medianRatioCI(sample(n, lognormal(rng, 1.2, 0.2)), sample(n, lognormal(rng, 1, 0.2)), {
          seed: t,
          resamples: 1000,
        }),
      1.2,
    );
    assert.ok(ratio >= 0.93 && ratio <= 0.995, `ratio n=${n}: covered ${ratio}`);
  }
});

test('a ratio needs a positive denominator and a numerator at least 0', () => {
  assert.throws(() => medianRatioCI([1, 2], [0, 1]), RangeError);
  assert.throws(() => medianRatioCI([1, -2], [1, 1]), RangeError);
  assert.throws(() => medianRatioCI([1, Infinity], [1, 1]), RangeError);
  const zero = medianRatioCI([0, 0, 0], [1, 2, 3], { seed: 1 });
  assert.deepEqual([zero.estimate, zero.lo, zero.hi], [0, 0, 0]);
  assert.throws(() => medianRatioCI([], [1]), RangeError);
  assert.throws(() => bootstrapCI([1, 2], median, { resamples: 0 }), RangeError);
});
