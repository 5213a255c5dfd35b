/** The study's points and plan: which windows run in which order (no stacks start here). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { studyPlan, studyPoints, formatStudyPlan } from '../src/scaling.js';

const o = {
  workloads: ['bulk', 'bulk1', 'crr'] as const,
  strategies: ['rss-groups', 'single', 'unaligned'] as const,
  workers: [1, 2],
};

test('studyPoints: every strategy at every worker count, single at 1, bulk1 once at 1 worker', () => {
  assert.deepEqual(
    studyPoints({ ...o, workloads: [...o.workloads], strategies: [...o.strategies] }).map((p) => p.key),
    [
      'bulk/rss-groups/1',
      'bulk/rss-groups/2',
      'bulk/single/1',
      'bulk/unaligned/1',
      'bulk/unaligned/2',
      'bulk1/rss-groups/1',
      'crr/rss-groups/1',
      'crr/rss-groups/2',
      'crr/single/1',
      'crr/unaligned/1',
      'crr/unaligned/2',
    ],
  );
});

test('studyPlan: repeats rounds, each measuring every point once in its own order, reproducible from the seed', () => {
  const base = { ...o, workloads: [...o.workloads], strategies: [...o.strategies], repeats: 5 };
  const plan = studyPlan({ ...base, seed: 7 });
  const keys = studyPoints(base).map((p) => p.key);
  assert.equal(plan.length, keys.length * 5);
  for (let r = 1; r <= 5; r++) {
    const round = plan.filter((s) => s.round === r).map((s) => s.key);
    assert.deepEqual([...round].sort(), [...keys].sort(), `round ${r} measures every point once`);
  }
  // Rounds are consecutive: round r's windows all run before round r+1's.
  assert.deepEqual(
    plan.map((s) => s.round),
    [...plan.map((s) => s.round)].sort((a, b) => a - b),
  );
  // The same seed, the same order; another seed, another (11 points: a coincidence has
  // probability (1/11!)^5).
  assert.deepEqual(studyPlan({ ...base, seed: 7 }), plan);
  assert.notDeepEqual(
    studyPlan({ ...base, seed: 8 }).map((s) => s.key),
    plan.map((s) => s.key),
  );
  // Shuffled: not every round in the points' listed order.
  assert.ok(
    [1, 2, 3, 4, 5].some(
      (r) =>
        plan
          .filter((s) => s.round === r)
          .map((s) => s.key)
          .join() !== keys.join(),
    ),
  );
  // The printed order is the plan's.
  const text = formatStudyPlan({ ...base, seed: 7 });
  assert.match(text, /^order \(seed 7\): 11 points × 5 rounds, each round shuffled$/m);
  for (let r = 1; r <= 5; r++) {
    const line = plan
      .filter((s) => s.round === r)
      .map((s) => s.key)
      .join(', ');
    assert.ok(text.includes(`  round ${r}: ${line}\n`), `round ${r} printed as planned`);
  }
});
