/** The verdict at and around the target: the target itself is on the good side, an interval touching it from the bad side is inconclusive. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verdict, type Target, type Verdict } from '../src/stats/verdict.js';

const atLeast: Target = { direction: 'at least', value: 1.8 };
const atMost: Target = { direction: 'at most', value: 0.5 };

const cases: [Target, number, number, Verdict][] = [
  [atLeast, 1.9, 2.1, 'met'],
  [atLeast, 1.8, 2.1, 'met'], // lower end on the target: every value in it is ≥ 1.8
  [atLeast, 1.8, 1.8, 'met'],
  [atLeast, 1.7, 1.9, 'inconclusive'],
  [atLeast, 1.7, 1.8, 'inconclusive'], // upper end on the target: 1.8 itself would be met
  [atLeast, 1.6, 1.7999999, 'not met'],
  [atLeast, -Infinity, 1, 'not met'],
  [atMost, 0.3, 0.4, 'met'],
  [atMost, 0.3, 0.5, 'met'],
  [atMost, 0.5, 0.5, 'met'],
  [atMost, 0.5, 0.6, 'inconclusive'],
  [atMost, 0.4, 0.6, 'inconclusive'],
  [atMost, 0.5000001, 0.6, 'not met'],
  [atMost, 0.6, Infinity, 'not met'],
];

for (const [target, lo, hi, expected] of cases) {
  test(`${target.direction} ${target.value}, interval [${lo}, ${hi}]: ${expected}`, () => {
    assert.equal(verdict({ lo, hi }, target), expected);
  });
}

test('an interval with reversed ends or a NaN is refused rather than judged', () => {
  assert.throws(() => verdict({ lo: 2, hi: 1 }, atLeast), RangeError);
  assert.throws(() => verdict({ lo: NaN, hi: 1 }, atLeast), RangeError);
  assert.throws(() => verdict({ lo: 1, hi: 2 }, { direction: 'at most', value: NaN }), RangeError);
});
