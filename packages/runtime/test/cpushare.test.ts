/**
 * The idle-spin budget (cpushare.ts): workers spin while the process's live workers and
 * the main thread fit the cores, and sleep at once when they do not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  spinShare,
  spinBudget,
  workersLive,
  liveWorkers,
  mayPoll,
  asleep,
  mainAsleep,
  PollWindow,
  POLL_PROBE_EVERY,
  IDLE_SPINS,
  SPIN_WINDOW_US,
} from '../src/cpushare.js';

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

test('a thread may poll only while the awake threads fit the cores', () => {
  const words = new Int32Array(spinShare());
  // Two stacks of one worker each and the main thread on 2 cores: all three awake.
  workersLive(2, 2);
  assert.equal(mayPoll(words), false, '3 awake threads on 2 cores');
  asleep(words, 1); // one worker sleeps on its doorbell
  assert.equal(mayPoll(words), true, '2 awake threads on 2 cores');
  mainAsleep(1); // and the main thread waits on every channel
  assert.equal(mayPoll(words), true);
  asleep(words, -1);
  assert.equal(mayPoll(words), true, 'main asleep: two workers fit');
  mainAsleep(-1);
  assert.equal(mayPoll(words), false);
  workersLive(-2, 2);
});

test('PollWindow polls while its windows find work, and probes when they do not', () => {
  const w = new PollWindow();
  assert.equal(w.window(), SPIN_WINDOW_US, 'polling is tried at first');
  // A loaded machine: windows run out before the work comes.
  let n = 0;
  while (w.window() > 0) {
    w.polled(false);
    n++;
  }
  assert.ok(n > 1 && n < 16, `stopped after ${n} lost windows (loss rate ${w.losses})`);
  const got = Array.from({ length: 2 * POLL_PROBE_EVERY - 1 }, () => w.window());
  assert.equal(got.filter((x) => x > 0).length, 2, `one probe in ${POLL_PROBE_EVERY} decisions`);
  // The probes find work again (a quiet machine): polling comes back.
  n = 0;
  while (w.losses > 0.5) {
    w.polled(true);
    n++;
  }
  assert.ok(n >= 1 && n < 16, `polling came back after ${n} won windows`);
  assert.equal(w.window(), SPIN_WINDOW_US);
});
