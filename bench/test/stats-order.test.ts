/** The measurement order: every round holds every point once, and the order follows from the seed alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_REPEATS, formatPlan, measurementPlan } from '../src/stats/order.js';

const KEYS = [
  'bulk/rss-groups/1',
  'bulk/rss-groups/2',
  'bulk/unaligned/2',
  'rr/rss-groups/1',
  'rr/rss-groups/2',
  'crr/single/1',
];

test('each round measures every point exactly once, rounds in order, 5 rounds by default', () => {
  const plan = measurementPlan(KEYS, 9);
  assert.equal(plan.repeats, DEFAULT_REPEATS);
  assert.equal(DEFAULT_REPEATS, 5);
  assert.equal(plan.steps.length, KEYS.length * DEFAULT_REPEATS);
  for (let round = 1; round <= plan.repeats; round++) {
    const slice = plan.steps.slice((round - 1) * KEYS.length, round * KEYS.length);
    assert.ok(slice.every((s) => s.round === round));
    assert.deepEqual(slice.map((s) => s.key).sort(), [...KEYS].sort());
  }
});

test('the order is reproducible from the seed and differs for another seed; rounds are shuffled independently', () => {
  assert.deepEqual(measurementPlan(KEYS, 1234, 7), measurementPlan(KEYS, 1234, 7));
  assert.notDeepEqual(measurementPlan(KEYS, 1234, 7).steps, measurementPlan(KEYS, 1235, 7).steps);
  const plan = measurementPlan(KEYS, 1234, 7);
  const rounds = new Set(
    Array.from({ length: 7 }, (_, i) =>
      plan.steps
        .slice(i * KEYS.length, (i + 1) * KEYS.length)
        .map((s) => s.key)
        .join(),
    ),
  );
  assert.ok(rounds.size > 1, 'every round in the same order');
});

test('a printed seed keeps giving the order it gave (pinned: a change to the generator or the shuffle shows here)', () => {
  const plan = measurementPlan(['a', 'b', 'c', 'd'], 2026, 3);
  assert.equal(formatPlan(plan), PINNED);
});

const PINNED = `order (seed 2026): 4 points × 3 rounds, each round shuffled
  round 1: b, a, d, c
  round 2: b, c, a, d
  round 3: c, d, b, a
`;

test('the plan refuses no points, a point listed twice, and a repeat count below 1', () => {
  assert.throws(() => measurementPlan([], 1), RangeError);
  assert.throws(() => measurementPlan(['a', 'b', 'a'], 1), RangeError);
  assert.throws(() => measurementPlan(['a'], 1, 0), RangeError);
  assert.throws(() => measurementPlan(['a'], 1, 2.5), RangeError);
});
