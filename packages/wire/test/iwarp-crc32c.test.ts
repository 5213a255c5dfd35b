// CRC-32C against RFC 3720 appendix B.4 and the catalogue check value, and the
// table-driven code against a bitwise reference over random chunkings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { crc32c, crc32cInit, crc32cUpdate, crc32cFinal, Crc32c } from '../src/index.js';
import { hex } from './fixtures.js';

// Compiled to dist/test/; the fixture stays in test/fixtures/ (copied from ../shared/data/crc32c).
const vectors = JSON.parse(
  readFileSync(new URL('../../test/fixtures/crc32c-vectors.json', import.meta.url), 'utf8'),
) as {
  vectors: { name: string; hex: string; crc32c: string }[];
};

const seed = Number(process.env.FC_SEED ?? 20240601);

/** Bit at a time, straight from the definition (reflected 0x82F63B78). */
function bitwise(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('RFC 3720 B.4 vectors and the check value of "123456789"', () => {
  assert.equal(vectors.vectors.length, 5);
  for (const v of vectors.vectors) {
    const b = hex(v.hex);
    assert.equal(crc32c(b), Number(v.crc32c), v.name);
    assert.equal(bitwise(b), Number(v.crc32c), v.name);
    // B.4 lists the CRC bytes in transmission order: the value little-endian.
  }
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('slicing-by-8 equals bitwise; any chunking of the input gives the one-shot value', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 6 }), (b, cuts) => {
      const want = bitwise(b);
      assert.equal(crc32c(b), want);
      const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
      let s = crc32cInit();
      const inc = new Crc32c();
      let prev = 0;
      for (const p of [...points, b.length]) {
        s = crc32cUpdate(s, b, prev, p - prev);
        inc.update(b.subarray(prev, p));
        prev = p;
      }
      assert.equal(crc32cFinal(s), want);
      assert.equal(inc.digest(), want);
      assert.equal(inc.reset().update(b).digest(), want);
    }),
    { seed, numRuns: 300 },
  );
});
