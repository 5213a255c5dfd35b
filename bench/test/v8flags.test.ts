/**
 * The study's V8 flags (v8flags.ts): which it sets, that the process's own setting comes
 * back afterwards, and that a flag set at run time reaches a worker isolate created later
 * (which the study relies on: its workers start after the flag is set).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import {
  applyV8Flags,
  processConcurrentRecompilation,
  studyV8Flags,
  NO_CONCURRENT_RECOMPILATION,
} from '../src/v8flags.js';

test('studyV8Flags: concurrent recompilation off by default, on when asked', () => {
  assert.deepEqual(studyV8Flags(false), [NO_CONCURRENT_RECOMPILATION]);
  assert.deepEqual(studyV8Flags(true), ['--concurrent-recompilation']);
});

test("processConcurrentRecompilation: the command line's last word, V8's default (on) without one", () => {
  assert.equal(processConcurrentRecompilation([]), true);
  assert.equal(processConcurrentRecompilation(['--no-concurrent-recompilation']), false);
  assert.equal(processConcurrentRecompilation(['--no_concurrent_recompilation']), false);
  assert.equal(processConcurrentRecompilation(['--no-concurrent-recompilation', '--concurrent-recompilation']), true);
  assert.equal(processConcurrentRecompilation(['--concurrent-recompilation', '--no-concurrent-recompilation']), false);
  assert.equal(processConcurrentRecompilation(['--expose-gc', '--concurrent-recompilation-queue-length=4']), true);
});

test("applyV8Flags: sets the study's flags, and the restore puts back the process's own setting", () => {
  const set: string[] = [];
  const restore = applyV8Flags(studyV8Flags(false), (f) => set.push(f));
  assert.deepEqual(set, [NO_CONCURRENT_RECOMPILATION]);
  restore();
  assert.deepEqual(set, [NO_CONCURRENT_RECOMPILATION, ...studyV8Flags(processConcurrentRecompilation())]);
});

/** Whether a worker isolate created now optimises on a background thread (V8's own answer). */
function workerConcurrent(): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const w = new Worker(
      "require('node:worker_threads').parentPort.postMessage(%IsConcurrentRecompilationSupported())",
      { eval: true },
    );
    w.once('message', (m: boolean) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

test('applyV8Flags: a worker started after it runs without concurrent recompilation; after the restore, with it', async () => {
  setFlagsFromString('--allow-natives-syntax');
  const own = processConcurrentRecompilation();
  const restore = applyV8Flags(studyV8Flags(false));
  try {
    assert.equal(await workerConcurrent(), false);
  } finally {
    restore();
  }
  assert.equal(await workerConcurrent(), own);
});
