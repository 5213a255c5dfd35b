/** Thread pinning: CPU lists, masks, the round-robin layout, and the pinner on this machine. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseCpuList,
  formatCpuList,
  cpuMask,
  assignCpus,
  usableCpus,
  loadPinner,
  allowedFromProc,
} from '../src/affinity.js';

test('parseCpuList: the kernel list format, sorted and without duplicates; bad parts named', () => {
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

test('cpuMask: bit c%8 of byte c/8', () => {
  const m = cpuMask([0, 9, 15]);
  assert.equal(m.length, 128);
  assert.equal(m[0], 0b1);
  assert.equal(m[1], 0b1000_0010);
  assert.equal(
    m.slice(2).every((b) => b === 0),
    true,
  );
});

test('assignCpus: threads round robin over the list; usableCpus refuses CPUs outside the allowed set', () => {
  assert.deepEqual(assignCpus(2, [0, 1]), [0, 1]); // A's worker, B's worker: a core each
  assert.deepEqual(assignCpus(4, [0, 1]), [0, 1, 0, 1]); // A0 A1 B0 B1: worker i of each on CPU i
  assert.deepEqual(assignCpus(3, [2]), [2, 2, 2]);
  assert.deepEqual(usableCpus([1], [0, 1]), [1]);
  assert.match(String(usableCpus([0, 4], [0, 1])), /CPU 4 not in the process's allowed set 0-1/);
  assert.equal(usableCpus([], [0, 1]), 'no CPU listed');
});

test('loadPinner: a pinner on Linux with koffi, else the reason; pinning the calling thread to its own set works', async () => {
  const p = await loadPinner();
  if (process.platform !== 'linux') {
    assert.equal(typeof p, 'string');
    return;
  }
  if (typeof p === 'string') {
    // koffi failed to load here: the reason must say so, for the study prints it.
    assert.match(p, /koffi|sched_/);
    return;
  }
  const proc = allowedFromProc();
  if (proc !== null) assert.deepEqual(p.allowed, proc);
  assert.ok(p.allowed.length > 0);
  // Re-pinning to the mask the thread already has changes nothing and must succeed.
  assert.equal(p.pin(0, p.allowed), 0);
  // A CPU the mask cannot hold a thread on: the kernel refuses with EINVAL (22).
  assert.equal(p.pin(0, [1023]), p.allowed.includes(1023) ? 0 : 22);
  assert.equal(p.pin(0, p.allowed), 0);
});
