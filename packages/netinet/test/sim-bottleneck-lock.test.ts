/**
 * The shared bottleneck's lock has an owner (sim/bottleneck.ts): a thread that dies holding
 * it stalls the others only until its death is published (Bottleneck.ownerGone); then a
 * waiter takes the lock over, counted in lockBreaks. A live holder is never broken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { Bottleneck, type BottleneckConfig } from '../src/sim/bottleneck.js';

const WORKER = new URL('./sim-bottleneck-lock-worker.js', import.meta.url);
const CONFIG: BottleneckConfig = { rateBps: 12e6, delayUs: 1000, queuePkts: 10 };

test('a worker that dies holding the lock: a waiter stalls until the death is published, then breaks it, counted', async () => {
  const sab = Bottleneck.shared(CONFIG, 1);
  const dying = new Worker(WORKER, { workerData: { sab, config: CONFIG, mode: 'die', owner: 1 } });
  const died = once(dying, 'error');
  assert.equal((await once(dying, 'message'))[0], 'held');
  const waiter = new Worker(WORKER, { workerData: { sab, config: CONFIG, mode: 'enqueue', owner: 2 } });
  let answered = false;
  const answer = once(waiter, 'message').then(([m]) => {
    answered = true;
    return m as { due: number; breaks: number };
  });
  await died;
  // Dead but not yet published: the waiter keeps waiting (the owner might be alive).
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(answered, false, 'the lock of an owner not known dead is not broken');
  Bottleneck.ownerGone(sab, 1);
  const m = await answer;
  assert.equal(m.breaks, 1);
  assert.equal(m.due, (1500 * 8e6) / 12e6 + 1000, 'the packet went through the queue');
  // The lock is the breaker's and it freed it: the next one takes it at once, nothing broken.
  const b = new Bottleneck(CONFIG, sab, 3);
  assert.ok(b.enqueue(0, 1500, false) > 0);
  assert.equal(b.lockBreaks, 1);
  assert.equal(Atomics.load(new Int32Array(sab, 0, 1), 0), 0);
  await waiter.terminate();
});

test('a live holder is waited for, not broken; a dead owner id other than the holder changes nothing', async () => {
  const sab = Bottleneck.shared(CONFIG, 1);
  const lock = new Int32Array(sab, 0, 1);
  Atomics.store(lock, 0, 1); // the main thread (owner 1) holds it
  Bottleneck.ownerGone(sab, 5);
  const waiter = new Worker(WORKER, { workerData: { sab, config: CONFIG, mode: 'enqueue', owner: 2 } });
  let answered = false;
  const answer = once(waiter, 'message').then(([m]) => {
    answered = true;
    return m as { due: number; breaks: number };
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(answered, false);
  Atomics.store(lock, 0, 0); // released as enqueue does
  const m = await answer;
  assert.equal(m.breaks, 0);
  assert.ok(m.due > 0);
  await waiter.terminate();
  assert.throws(() => new Bottleneck(CONFIG, sab, 0), RangeError);
});
