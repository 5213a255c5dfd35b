/**
 * Worker side of pcbgroup-lock.test.ts: takes a GroupLock that lives in a
 * SharedArrayBuffer made by another thread.
 *   mode 'count': `iters` times lock, non-atomic increment of a shared counter, unlock.
 *   mode 'hold': lock, say 'held', sleep until the main thread sets the flag, unlock, say 'released'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { GroupLock } from '../src/netinet/in_pcbgroup.js';

const { sab, shared, mode, iters } = workerData as {
  sab: SharedArrayBuffer;
  shared: SharedArrayBuffer;
  mode: 'count' | 'hold';
  iters: number;
};
const lock = new GroupLock(sab, 16);
const words = new Int32Array(shared);
if (mode === 'count') {
  for (let i = 0; i < iters; i++) {
    lock.lock();
    // A read-modify-write that only the lock keeps whole.
    const v = words[0]!;
    words[1] = (words[1]! + i) | 0;
    words[0] = v + 1;
    lock.unlock();
  }
  parentPort!.postMessage('done');
} else {
  lock.lock();
  parentPort!.postMessage('held');
  Atomics.wait(words, 2, 0);
  lock.unlock();
  parentPort!.postMessage('released');
}
