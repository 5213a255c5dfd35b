// Sequence arithmetic across the 2^32 wrap (RFC 9293 §3.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seqAdd, seqDiff, seqLt, seqLeq, seqGt, seqGeq, seqMax, seqMin, seqInWindow } from '../src/index.js';

test('wrap cases', () => {
  assert.equal(seqAdd(0xffffffff, 1), 0);
  assert.equal(seqAdd(0xfffffff0, 0x20), 0x10);
  assert.equal(seqDiff(0x10, 0xfffffff0), 0x20);
  assert.equal(seqDiff(0xfffffff0, 0x10), -0x20);
  assert.ok(seqLt(0xfffffff0, 0x10));
  assert.ok(seqGt(0x10, 0xfffffff0));
  assert.ok(seqLeq(5, 5) && seqGeq(5, 5) && !seqLt(5, 5) && !seqGt(5, 5));
  assert.equal(seqMax(0xfffffff0, 0x10), 0x10);
  assert.equal(seqMin(0xfffffff0, 0x10), 0xfffffff0);
  assert.ok(seqInWindow(0xffffffff, 0xfffffff0, 0x10));
  assert.ok(seqInWindow(0x5, 0xfffffff0, 0x10));
  assert.ok(!seqInWindow(0x10, 0xfffffff0, 0x10));
  assert.ok(!seqInWindow(7, 7, 7));
  // 2^31 apart: the signed difference is -2^31, so a is "before" b both ways round (as SEQ_LT).
  assert.ok(seqLt(0, 0x80000000) && seqLt(0x80000000, 0));
});

test('a + n is after a for 0 < n < 2^31, anywhere in the space', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 0x7fffffff }), (a, n) => {
      const b = seqAdd(a, n);
      assert.ok(b >= 0 && b <= 0xffffffff);
      assert.ok(seqGt(b, a) && seqLt(a, b) && !seqLeq(b, a));
      assert.equal(seqDiff(b, a), n);
      assert.equal(seqDiff(a, b), -n);
      assert.ok(seqInWindow(a, a, b) && !seqInWindow(b, a, b));
    }),
    { seed: 31, numRuns: 500 },
  );
});
