/**
 * Thread pinning, the study's side: the round-robin layout, the allowed-set check, and the
 * pinner over the runtime's native layer on this machine. The CPU lists and masks themselves
 * are the runtime's, and so is pinning a worker by its tid from the main thread
 * (packages/runtime/test/native-affinity.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '@mcstack/runtime';
import { assignCpus, usableCpus, loadPinner, allowedFromProc } from '../src/affinity.js';

test('assignCpus: threads round robin over the list; usableCpus refuses CPUs outside the allowed set', () => {
  assert.deepEqual(assignCpus(2, [0, 1]), [0, 1]); // A's worker, B's worker: a core each
  assert.deepEqual(assignCpus(4, [0, 1]), [0, 1, 0, 1]); // A0 A1 B0 B1: worker i of each on CPU i
  assert.deepEqual(assignCpus(3, [2]), [2, 2, 2]);
  assert.deepEqual(usableCpus([1], [0, 1]), [1]);
  assert.match(String(usableCpus([0, 4], [0, 1])), /CPU 4 not in the process's allowed set 0-1/);
  assert.equal(usableCpus([], [0, 1]), 'no CPU listed');
});

test('loadPinner: a pinner where the native layer loads, else its reason; failures are errno names', () => {
  const p = loadPinner();
  const status = native.nativeStatus();
  if (!status.ok) {
    // The study prints this reason as "pinning: off (...)".
    assert.equal(p, status.reason);
    return;
  }
  assert.notEqual(typeof p, 'string');
  if (typeof p === 'string') return;
  const proc = allowedFromProc();
  if (proc !== null) assert.deepEqual(p.allowed, proc);
  assert.ok(p.allowed.length > 0);
  // Re-pinning to the mask the thread already has changes nothing and must succeed.
  assert.equal(p.pin(0, p.allowed), null);
  // A CPU the mask cannot hold a thread on: the kernel refuses with EINVAL.
  assert.equal(p.pin(0, [1023]), p.allowed.includes(1023) ? null : 'EINVAL');
  // No such thread (above PID_MAX_LIMIT): ESRCH.
  assert.equal(p.pin(2 ** 22 + 1, p.allowed), 'ESRCH');
  assert.equal(p.pin(0, p.allowed), null);
});
