/**
 * Thread pinning through sched_setaffinity(2): the calling thread only, so the main
 * thread pinned to CPU 0 and a worker_thread pinned to CPU 1 see their own masks,
 * and neither changes the other's. The main thread's mask is restored afterwards.
 * Skips, with the reason, where the native layer is unavailable or CPUs are missing.
 */
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { pinThread, threadAffinity, nativeStatus, libc, NativeError } from '../src/native/index.js';

const status = nativeStatus();
const skip = status.ok ? undefined : status.reason;
let original: number[] = [];

before(() => {
  if (!skip) original = threadAffinity();
});
after(() => {
  if (!skip && original.length > 0) pinThread(original);
});

it('pins the calling thread to CPU 0 and reads it back', (t) => {
  if (skip) return t.skip(skip);
  if (!original.includes(0)) return t.skip(`CPU 0 is not in this thread's set (${original.join(',')})`);
  assert.equal(pinThread([0]), true);
  assert.deepEqual(threadAffinity(), [0]);
});

it('a worker_thread pins itself to CPU 1 without moving the main thread', async (t) => {
  if (skip) return t.skip(skip);
  if (!original.includes(1)) return t.skip(`CPU 1 is not in this thread's set (${original.join(',')})`);
  const mine = threadAffinity();
  const w = new Worker(new URL('./native-affinity-worker.js', import.meta.url), { workerData: { cpus: [1] } });
  const r = await new Promise<{ before: number[]; took: boolean; after: number[]; tid: number }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  // A new thread starts with its creator's mask (this thread may be pinned to 0 by now).
  assert.deepEqual(r.before, mine);
  assert.equal(r.took, true);
  assert.deepEqual(r.after, [1]);
  assert.notEqual(r.tid, libc.gettid(), 'the worker is an OS thread of its own');
  assert.deepEqual(threadAffinity(), mine);
});

it('no usable CPU is a typed EINVAL; a CPU out of range a RangeError', (t) => {
  if (skip) return t.skip(skip);
  const outside = Array.from({ length: 1024 }, (_, i) => i).find((c) => !original.includes(c))!;
  assert.throws(
    () => pinThread([outside]),
    (e: unknown) => e instanceof NativeError && e.code === 'EINVAL' && e.syscall === 'sched_setaffinity',
  );
  assert.throws(() => pinThread([1024]), RangeError);
  assert.throws(() => pinThread([]), RangeError);
});
