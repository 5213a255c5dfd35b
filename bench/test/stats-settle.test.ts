/**
 * When a warm-up is over: the last slices' CPU per unit agree within the tolerance and V8's
 * helper threads are quiet; a ramp, a gap without work, a compiler burst or too few slices are not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settled, helpersQuiet } from '../src/stats/settle.js';
import { createRng, normal } from '../src/stats/rng.js';

test('settled: a flat series settles, a falling ramp does not until it flattens', () => {
  assert.equal(settled([10, 10, 10]), true);
  // rr's measured ramp (µs per transaction per 250 ms slice), then its steady level.
  const ramp = [136, 200, 107, 52, 17, 11.3, 11.6, 10.7];
  const at = ramp.findIndex((_, i) => settled(ramp.slice(0, i + 1)));
  assert.equal(at, 7, 'settles at the third slice of the steady level, not before');
});

test('settled: the tolerance is inclusive and relative to the median of the last slices', () => {
  assert.equal(settled([110, 100, 90], { tolerance: 0.1 }), true); // both ends exactly 10% off 100
  assert.equal(settled([110.01, 100, 90], { tolerance: 0.1 }), false);
  assert.equal(settled([89.99, 100, 100], { tolerance: 0.1 }), false);
  // Only the last `slices` count: an old outlier does not hold it back.
  assert.equal(settled([500, 100, 101, 99], { slices: 3 }), true);
  assert.equal(settled([100, 101, 500], { slices: 3 }), false);
});

test('settled: too few slices, a slice without work or a bad value is not settled', () => {
  assert.equal(settled([]), false);
  assert.equal(settled([10, 10]), false);
  assert.equal(settled([10, 10], { slices: 2 }), true);
  assert.equal(settled([10, Infinity, 10]), false);
  assert.equal(settled([10, Number.NaN, 10]), false);
  assert.equal(settled([0, 0, 0]), false);
  assert.throws(() => settled([1], { slices: 0 }), RangeError);
  assert.throws(() => settled([1], { tolerance: -1 }), RangeError);
});

test('settled: steady noise of 2% settles nearly always, a level shift of 30% within the slices never', () => {
  const seed = 18;
  const rng = createRng(seed);
  let steady = 0;
  let shifted = 0;
  const trials = 2000;
  for (let i = 0; i < trials; i++) {
    const xs = [0, 1, 2].map(() => 10 * (1 + 0.02 * normal(rng)));
    if (settled(xs)) steady++;
    // A tier-up landing inside the last slices: two slow, one fast.
    const ys = [13, 13, 10].map((m) => m * (1 + 0.02 * normal(rng)));
    if (settled(ys)) shifted++;
  }
  assert.ok(steady / trials > 0.99, `seed ${seed}: steady series settled ${steady}/${trials}`);
  assert.equal(shifted, 0, `seed ${seed}: a 30% shift settled ${shifted}/${trials}`);
});

test("helpersQuiet: V8's helper threads under the share in each of the last slices, inclusive", () => {
  assert.equal(helpersQuiet([0.5, 0.01, 0.02, 0.2]), true); // only the last three count
  assert.equal(helpersQuiet([0.01, 0.21, 0.02]), false); // a compiler burst in one of them
  assert.equal(helpersQuiet([0.01, 0.02]), false); // too few slices
  assert.equal(helpersQuiet([0.3, 0.3, 0.3], { share: 0.3 }), true);
  assert.equal(helpersQuiet([0.1, Number.NaN, 0.1]), false);
  assert.throws(() => helpersQuiet([0.1], { slices: 0 }), RangeError);
});
