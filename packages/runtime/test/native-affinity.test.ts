/**
 * Thread pinning through sched_setaffinity(2): pinThread acts on the calling thread
 * only, so the main thread pinned to CPU 0 and a worker_thread pinned to CPU 1 see
 * their own masks, and neither changes the other's; pinTid pins another thread of
 * the process by its kernel id. The main thread's mask is restored afterwards.
 * Skips, with the reason, where the native layer is unavailable or CPUs are missing.
 * The mask layout and the CPU-list text need no native layer and always run.
 */
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import {
  pinThread,
  pinTid,
  threadAffinity,
  tidAffinity,
  cpuSet,
  cpusOfSet,
  parseCpuList,
  formatCpuList,
  nativeStatus,
  libc,
  NativeError,
} from '../src/native/index.js';

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

/** The next message of `w`. */
function next<T>(w: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

it('the main thread pins a worker_thread by its tid, without moving itself', async (t) => {
  if (skip) return t.skip(skip);
  const mine = threadAffinity();
  // The last CPU this thread may use: there is one even on a single-CPU machine.
  const cpu = mine.at(-1)!;
  const w = new Worker(new URL('./native-affinity-worker.js', import.meta.url), { workerData: {} });
  try {
    const hello = await next<{ before: number[]; tid: number }>(w);
    assert.notEqual(hello.tid, libc.gettid(), 'the worker is an OS thread of its own');
    assert.deepEqual(hello.before, mine);
    assert.deepEqual(tidAffinity(hello.tid), mine);
    assert.equal(pinTid(hello.tid, [cpu]), true);
    assert.deepEqual(tidAffinity(hello.tid), [cpu]);
    w.postMessage('again');
    const r = await next<{ after: number[] }>(w);
    assert.deepEqual(r.after, [cpu], 'the worker itself sees the mask set from outside');
    assert.deepEqual(threadAffinity(), mine);
  } finally {
    await w.terminate();
  }
});

it('pinTid: no such thread is a typed ESRCH; a bad tid a RangeError', (t) => {
  if (skip) return t.skip(skip);
  // Above PID_MAX_LIMIT (2^22): no thread can have this id.
  assert.throws(
    () => pinTid(2 ** 22 + 1, original),
    (e: unknown) => e instanceof NativeError && e.code === 'ESRCH' && e.syscall === 'sched_setaffinity',
  );
  assert.throws(() => pinTid(-1, original), RangeError);
  assert.throws(() => pinTid(1.5, original), RangeError);
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

it('cpuSet: CPU c at bit c%8 of its byte, cpusOfSet reads it back; out of range a RangeError', () => {
  const m = cpuSet([0, 9, 15, 1023]);
  assert.equal(m.length, libc.CPU_SETSIZE_BYTES);
  assert.deepEqual(cpusOfSet(m), [0, 9, 15, 1023]);
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] === 1) {
    assert.equal(m[0], 0b1);
    assert.equal(m[1], 0b1000_0010);
    assert.equal(m[127], 0b1000_0000);
  }
  assert.throws(() => cpuSet([1024]), /CPU 1024 outside 0\.\.1023/);
  assert.throws(() => cpuSet([-1]), RangeError);
  assert.throws(() => cpuSet([]), /no CPU given/);
});

it('parseCpuList / formatCpuList: the kernel list format, sorted and without duplicates; bad parts named', () => {
  assert.deepEqual(parseCpuList('0'), [0]);
  assert.deepEqual(parseCpuList('0-3,8,10-11'), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList('3,1,1-2'), [1, 2, 3]);
  assert.throws(() => parseCpuList('1-0'), /runs backwards/);
  assert.throws(() => parseCpuList('a'), /not a CPU or CPU range: "a"/);
  assert.throws(() => parseCpuList('0,,1'), /not a CPU/);
  assert.throws(() => parseCpuList('1024'), /beyond the 1024/);
  assert.equal(formatCpuList([5, 0, 1, 2, 7, 8]), '0-2,5,7-8');
  assert.equal(formatCpuList(parseCpuList('0-3,8,10-11')), '0-3,8,10-11');
});
