/**
 * A worker_thread of native-affinity.test.ts: pins itself to the CPUs it is given
 * and reports what the kernel says its own thread may run on, and its thread id.
 */
import { workerData, parentPort } from 'node:worker_threads';
import { pinThread, threadAffinity, libc } from '../src/native/index.js';

const { cpus } = workerData as { cpus: number[] };
const before = threadAffinity();
const took = pinThread(cpus);
parentPort!.postMessage({ before, took, after: threadAffinity(), tid: libc.gettid() });
