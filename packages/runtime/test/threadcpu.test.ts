/**
 * Per-thread CPU time from procfs: a worker thread that computes sees its own clock move,
 * the main thread reads the same thread's clock by tid, and the tids tell threads apart.
 * No timing is asserted, only that CPU clocks are per thread, advance and agree in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { threadCpuAvailable, threadCpuNs, threadTid, taskCpuNs, tasksCpuNs, processCpuNs } from '../src/threadcpu.js';

const skip = threadCpuAvailable() ? false : 'no per-thread CPU time here (Linux procfs absent)';

/** Spins until this thread's own CPU clock has advanced by `ns`. */
function burn(ns: number): number {
  const t0 = threadCpuNs();
  let x = 0;
  while (threadCpuNs() - t0 < ns) for (let i = 0; i < 10000; i++) x += i;
  return x;
}

test('threadcpu: the main thread is the process leader; its clock advances when it computes', { skip }, () => {
  assert.equal(threadTid(), process.pid);
  const a = threadCpuNs();
  const p0 = processCpuNs();
  burn(20e6);
  const b = threadCpuNs();
  assert.ok(b - a >= 20e6, `${b - a} ns`);
  // The process clock includes this thread's time (getrusage: µs precision).
  assert.ok(processCpuNs() - p0 >= b - a - 1e6);
  assert.ok(Math.abs(taskCpuNs(process.pid) - threadCpuNs()) < 1e9);
});

test('threadcpu: a worker thread has its own tid and clock, readable from the main thread', { skip }, async () => {
  // The worker runs this module's own functions (compiled beside this test).
  const mod = new URL('../src/threadcpu.js', import.meta.url).href;
  const src = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(mod)}).then(({ threadTid, threadCpuNs }) => {
      const tid = threadTid();
      const t0 = threadCpuNs(); let x = 0;
      while (threadCpuNs() - t0 < 30e6) for (let i = 0; i < 10000; i++) x += i;
      parentPort.postMessage({ tid, t0, t1: threadCpuNs() });
      parentPort.once('message', () => process.exit(0));
    });
  `;
  const w = new Worker(src, { eval: true });
  try {
    const m = await new Promise<{ tid: number; t0: number; t1: number }>((res, rej) => {
      w.once('message', res);
      w.once('error', rej);
    });
    assert.notEqual(m.tid, process.pid);
    assert.ok(m.t1 - m.t0 >= 30e6);
    // Read by tid from here: at least what the worker saw of itself, and listed among the process's threads.
    const seen = taskCpuNs(m.tid);
    assert.ok(seen >= m.t1, `${seen} < ${m.t1}`);
    const all = tasksCpuNs();
    assert.ok(all.has(m.tid) && all.has(process.pid));
    assert.ok(all.get(m.tid)! >= m.t1);
  } finally {
    w.postMessage('exit');
    await new Promise((res) => w.once('exit', res));
  }
  assert.ok(Number.isNaN(taskCpuNs(2 ** 30)), 'a thread that does not exist reads NaN');
});
