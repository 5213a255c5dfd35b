/**
 * Md5 (RFC 1321) against the RFC's test suite (Appendix A.5) and against node:crypto on
 * seeded random inputs fed in random pieces, so the block buffering is exercised at every
 * boundary, and a digest written into the middle of a buffer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Md5 } from '../src/md5.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('RFC 1321 A.5 test suite', () => {
  const h = new Md5();
  const out = new Uint8Array(16);
  const suite: [string, string][] = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
    ['1234567890'.repeat(8), '57edf4a22be3c955ac49da2e2107b67a'],
  ];
  for (const [msg, want] of suite) {
    h.update(Buffer.from(msg));
    h.final(out);
    assert.equal(hex(out), want, JSON.stringify(msg));
  }
});

test('equals node:crypto for any input split anywhere (seeded)', () => {
  const h = new Md5();
  const out = new Uint8Array(20);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 6 }), (data, cuts) => {
      const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((x, y) => x - y);
      let off = 0;
      for (const c of at) {
        h.update(data, off, c - off);
        off = c;
      }
      h.update(data, off);
      h.final(out, 2);
      assert.equal(hex(out.subarray(2, 18)), createHash('md5').update(data).digest('hex'));
    }),
    { seed: 0x5eed, numRuns: 300 },
  );
});
