/**
 * The drift statistic (stats/drift.ts): lag-1 autocorrelation on known series, the
 * permutation test on synthetic runs whose machine drifts (AR(1) speed shared by every
 * point) and on runs whose windows are independent, seeded; and the noise line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drift, lag1, createRng, normal, type DriftSample } from '../src/stats/index.js';
import { assessNoise, DRIFT_ALPHA, type ScalingPoint } from '../src/result.js';

test('lag1: known series', () => {
  assert.equal(lag1([1, 2, 3, 4]), 0.25);
  assert.equal(lag1([1, -1, 1, -1]), -0.75);
  assert.equal(lag1([3, 3, 3]), 0);
  assert.equal(lag1([5]), 0);
});

/**
 * A run of `rounds` rounds over three points of different speeds; the machine's speed
 * factor follows an AR(1) with coefficient `phi` (0: independent windows), noise `sd`.
 */
function run(seed: number, phi: number, rounds = 10, sd = 0.15): DriftSample[] {
  const rng = createRng(seed);
  const keys = ['rr/single/1', 'bulk/single/1', 'crr/single/1'];
  const scale = [300_000, 5, 40_000];
  const out: DriftSample[] = [];
  let x = 0;
  let step = 0;
  for (let r = 0; r < rounds; r++)
    for (let k = 0; k < keys.length; k++) {
      x = phi * x + sd * normal(rng);
      out.push({ step: ++step, key: keys[k]!, value: scale[k]! * Math.exp(x) });
    }
  return out;
}

test('drift: a machine whose speed drifts shows, across points of different speeds', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const d = drift(run(seed, 0.9), 7);
    assert.ok(d !== null);
    assert.equal(d.windows, 30);
    assert.ok(d.r > 0.3 && d.p < 0.01, `seed ${seed}: r ${d.r}, p ${d.p}`);
  }
});

test('drift: independent windows are called drifting at about the test level, not more', () => {
  let hits = 0;
  const n = 100;
  for (let seed = 1; seed <= n; seed++) {
    const d = drift(run(seed, 0), seed, 500);
    assert.ok(d !== null);
    if (d.p < 0.05) hits++;
  }
  // 5% expected; 12 of 100 would be 3.2 standard deviations above it.
  assert.ok(hits <= 12, `${hits} of ${n} independent runs called drifting at 5%`);
});

test('drift: the same seed gives the same p; too few usable windows give null', () => {
  const s = run(3, 0.5);
  assert.deepEqual(drift(s, 11), drift(s, 11));
  assert.equal(drift(s.slice(0, 7), 1), null);
  // Windows without work (0, Infinity, NaN) are left out, not taken as a speed.
  const bad = s.slice(0, 9).map((w, i) => (i < 2 ? { ...w, value: i === 0 ? 0 : Number.NaN } : w));
  assert.equal(drift(bad, 1), null);
  assert.equal(drift([...bad, ...s.slice(9)], 1)?.windows, 28);
});

test('assessNoise: the noise line says when the machine drifted, and not when it did not', () => {
  const points = (s: DriftSample[]) =>
    ['rr/single/1', 'bulk/single/1', 'crr/single/1'].map((key) => {
      const mine = s.filter((w) => w.key === key);
      return {
        key,
        samples: { perCpuSecond: mine.map((w) => w.value) },
        steps: mine.map((w) => w.step),
      } as unknown as ScalingPoint;
    });
  const drifting = assessNoise(points(run(2, 0.9)), [], 2, 5);
  assert.ok(drifting.drift !== null && drifting.drift !== undefined && drifting.drift.p < DRIFT_ALPHA);
  assert.match(drifting.message, /the machine's speed drifted during the run\.$/);
  const steady = assessNoise(points(run(2, 0)), [], 2, 5);
  assert.ok(
    steady.drift !== null && steady.drift !== undefined && steady.drift.p >= DRIFT_ALPHA,
    `p ${steady.drift?.p}`,
  );
  assert.doesNotMatch(steady.message, /drifted/);
});
