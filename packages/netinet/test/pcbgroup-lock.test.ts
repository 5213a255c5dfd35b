/**
 * GroupLock (in_pcbgroup.ts): the connection group's lock works across threads —
 * mutual exclusion for worker threads hammering one lock, a holder on one thread
 * blocking another, the waits counter (lock waits for the scaling study), misuse as
 * typed errors — and an engine running as a group with a shared lock insists, with
 * invariants on, that its lookups run under that lock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { GroupLock, GROUP_LOCK_BYTES, Pcbgroup } from '../src/netinet/in_pcbgroup.js';
import { setPcbInvariants } from '../src/netinet/in_pcb.js';
import { makePair } from './tcp-harness.js';

const WORKER = new URL('./pcbgroup-lock-worker.js', import.meta.url);

test('lock, tryLock, unlock on one thread; recursion and foreign unlock are typed errors', () => {
  const l = new GroupLock();
  assert.equal(l.locked, false);
  l.lock();
  assert.ok(l.locked && l.owned);
  assert.throws(() => l.lock(), { code: 'EDEADLK' });
  assert.equal(l.tryLock(), false);
  l.unlock();
  assert.throws(() => l.unlock(), { code: 'EPERM' });
  assert.equal(l.tryLock(), true);
  l.unlock();
  assert.equal(l.acquisitions, 2);
  assert.equal(l.waits, 0);
  assert.throws(() => new GroupLock(new SharedArrayBuffer(8)), { code: 'EINVAL' });
  assert.throws(() => new GroupLock(new SharedArrayBuffer(64), 2), { code: 'EINVAL' });
});

test('four worker threads increment a shared counter under one lock: no update is lost', async () => {
  const sab = new SharedArrayBuffer(GROUP_LOCK_BYTES * 2);
  const shared = new SharedArrayBuffer(16);
  const iters = 20_000;
  const n = 4;
  const workers = Array.from(
    { length: n },
    () => new Worker(WORKER, { workerData: { sab, shared, mode: 'count', iters } }),
  );
  await Promise.all(workers.map((w) => once(w, 'exit')));
  const words = new Int32Array(shared);
  assert.equal(words[0], n * iters);
  assert.equal(words[1], (n * ((iters * (iters - 1)) / 2)) | 0);
  const l = new GroupLock(sab, GROUP_LOCK_BYTES);
  assert.equal(l.acquisitions, n * iters);
  assert.equal(l.locked, false);
  // Waits are counted; how many depends on scheduling.
  assert.ok(l.waits <= n * iters);
});

test('a lock held by a worker: tryLock fails, lockAsync waits (counted) until it is released; unlock by a non-holder is refused', async () => {
  const sab = new SharedArrayBuffer(GROUP_LOCK_BYTES * 2);
  const shared = new SharedArrayBuffer(16);
  const flag = new Int32Array(shared);
  const w = new Worker(WORKER, { workerData: { sab, shared, mode: 'hold', iters: 0 } });
  const exited = once(w, 'exit');
  const [m1] = await once(w, 'message');
  assert.equal(m1, 'held');
  const l = new GroupLock(sab, GROUP_LOCK_BYTES);
  assert.ok(l.locked && !l.owned);
  assert.equal(l.tryLock(), false);
  assert.throws(() => l.unlock(), { code: 'EPERM' });
  const got = l.lockAsync();
  assert.equal(l.waits, 1, 'the acquisition found the lock held');
  Atomics.store(flag, 2, 1);
  Atomics.notify(flag, 2);
  await got;
  assert.ok(l.owned);
  l.unlock();
  await exited;
  assert.equal(l.acquisitions, 2);
});

test('an engine running as a group with a shared lock: lookups outside the lock fail its assertion, inside it they run', () => {
  const sab = new SharedArrayBuffer(GROUP_LOCK_BYTES);
  const p = makePair();
  const pg = p.b.setPcbgroup({ id: 1, ngroups: 2, nbuckets: 4, buckets: [1, 3], lock: { sab } });
  assert.ok(pg instanceof Pcbgroup && pg.shared && p.b.pcbgroup === pg);
  assert.deepEqual(pg.buckets(), [1, 3]);
  const lfd = p.b.socket('inet', 'stream');
  p.b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  p.b.listen(lfd, 8);
  const cfd = p.a.socket('inet', 'stream');
  p.a.connect(cfd, { addr: '10.0.0.2', port: 80 });
  const was = setPcbInvariants(true);
  try {
    assert.throws(() => p.run(100_000), { code: 'EPERM' });
  } finally {
    setPcbInvariants(was);
  }
  // The worker's loop: hold the group lock around each batch.
  const p2 = makePair();
  p2.b.setPcbgroup({ id: 1, ngroups: 2, nbuckets: 4, buckets: [1, 3], lock: { sab } });
  const lock = p2.b.pcbgroup.lock;
  const l2 = p2.b.socket('inet', 'stream');
  p2.b.bind(l2, { addr: '10.0.0.2', port: 80 });
  p2.b.listen(l2, 8);
  const c2 = p2.a.socket('inet', 'stream');
  p2.a.connect(c2, { addr: '10.0.0.2', port: 80 });
  setPcbInvariants(true);
  try {
    lock.lock();
    p2.run(100_000);
    lock.unlock();
  } finally {
    setPcbInvariants(was);
  }
  assert.ok(p2.b.accept(l2) >= 0);
});
