/**
 * A worker_thread of native-affinity.test.ts. Given CPUs, it pins itself to them and
 * reports what the kernel says its own thread may run on, and its thread id. Given
 * none, it reports its thread id and mask for the main thread to pin it by that id,
 * then its mask again on each message.
 */
import { workerData, parentPort } from 'node:worker_threads';
import { pinThread, threadAffinity, libc } from '../src/native/index.js';

const { cpus } = workerData as { cpus?: number[] };
const before = threadAffinity();
if (cpus) {
  const took = pinThread(cpus);
  parentPort!.postMessage({ before, took, after: threadAffinity(), tid: libc.gettid() });
} else {
  parentPort!.postMessage({ before, tid: libc.gettid() });
  parentPort!.on('message', () => parentPort!.postMessage({ after: threadAffinity() }));
}
