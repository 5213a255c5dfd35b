/**
 * The idle-spin budget (cpushare.ts): workers spin while the process's live workers and
 * the main thread fit the cores, and sleep at once when they do not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spinShare, spinBudget, workersLive, liveWorkers, IDLE_SPINS } from '../src/cpushare.js';

test('the spin budget follows live workers against the cores', () => {
  const words = new Int32Array(spinShare());
  const base = liveWorkers();
  assert.equal(base, 0, 'no stack runs in this test process');
  workersLive(1, 4); // 1 worker + main on 4 cores
  assert.equal(spinBudget(words), IDLE_SPINS);
  workersLive(2, 4); // 3 + main = 4 cores: still fits
  assert.equal(spinBudget(words), IDLE_SPINS);
  workersLive(1, 4); // 4 + main > 4: sleep at once
  assert.equal(spinBudget(words), 0);
  workersLive(-2, 4);
  assert.equal(spinBudget(words), IDLE_SPINS);
  workersLive(-2, 4);
  assert.equal(liveWorkers(), 0);
  workersLive(-1, 4); // never below zero
  assert.equal(liveWorkers(), 0);
  // Two stacks of one worker each on a 2-core machine (the scaling study here): no spinning.
  workersLive(2, 2);
  assert.equal(spinBudget(words), 0);
  workersLive(-2, 2);
});
