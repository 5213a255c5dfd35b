/**
 * Worker side of sim-bottleneck-lock.test.ts, on a shared bottleneck made by the main thread.
 *   mode 'die': take the lock word as owner `owner` (what an enqueue does first), say 'held', then
 *     die with it held (an uncaught error ends the thread).
 *   mode 'enqueue': one packet through the bottleneck as owner `owner`; post its due time and
 *     the lock breaks counted.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Bottleneck, type BottleneckConfig } from '../src/sim/bottleneck.js';

const { sab, config, mode, owner } = workerData as {
  sab: SharedArrayBuffer;
  config: BottleneckConfig;
  mode: 'die' | 'enqueue';
  owner: number;
};
if (mode === 'die') {
  if (Atomics.compareExchange(new Int32Array(sab, 0, 1), 0, 0, owner) !== 0) throw new Error('lock not free');
  parentPort!.postMessage('held');
  setTimeout(() => {
    throw new Error('worker dies holding the bottleneck lock');
  }, 10);
} else {
  const b = new Bottleneck(config, sab, owner);
  const due = b.enqueue(0, 1500, false);
  parentPort!.postMessage({ due, breaks: b.lockBreaks });
}
