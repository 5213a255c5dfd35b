/** The study's plan: which windows run in which order (no stacks start here). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { studyPlan } from '../src/scaling.js';

const short = (o: Parameters<typeof studyPlan>[0]) =>
  studyPlan(o).map((s) => `${s.workload} ${s.strategy} ${s.workers}${s.of > 1 ? ` ${s.window}/${s.of}` : ''}`);

test('studyPlan: rss-groups passes over the worker counts in alternating order; single once at 1', () => {
  assert.deepEqual(
    short({ workloads: ['crr'], strategies: ['rss-groups', 'single', 'unaligned'], workers: [1, 2], repeats: 2 }),
    [
      'crr rss-groups 1 1/2',
      'crr rss-groups 2 1/2',
      'crr rss-groups 2 2/2',
      'crr rss-groups 1 2/2',
      'crr single 1',
      'crr unaligned 1',
      'crr unaligned 2',
    ],
  );
  assert.deepEqual(short({ workloads: ['rr'], strategies: ['rss-groups'], workers: [1, 2, 4], repeats: 3 }), [
    'rr rss-groups 1 1/3',
    'rr rss-groups 2 1/3',
    'rr rss-groups 4 1/3',
    'rr rss-groups 4 2/3',
    'rr rss-groups 2 2/3',
    'rr rss-groups 1 2/3',
    'rr rss-groups 1 3/3',
    'rr rss-groups 2 3/3',
    'rr rss-groups 4 3/3',
  ]);
  // Without repeats: one window per configuration.
  assert.deepEqual(short({ workloads: ['bulk', 'rr'], strategies: ['rss-groups'], workers: [2] }), [
    'bulk rss-groups 2',
    'rr rss-groups 2',
  ]);
});
