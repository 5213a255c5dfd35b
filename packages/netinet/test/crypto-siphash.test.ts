/**
 * SipHash-2-4 against the reference vectors of Aumasson and Bernstein (vectors.h of the
 * reference implementation, vectors_sip64: key 00..0f, message i = bytes 00..i-1, the tag's
 * bytes little-endian), and against a straightforward BigInt model of the paper's
 * algorithm for the message sizes TCP hashes (12, 36, 44 bytes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SipHash24 } from '../src/crypto/siphash.js';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
const VECTORS: Record<number, string> = {
  0: '310e0edd47db6f72',
  1: 'fd67dc93c539f874',
  2: '5a4fa9d909806c0d',
  3: '2d7efbd796666785',
  4: 'b7877127e09427cf',
  5: '8da699cd64557618',
  6: 'cee3fe586e46c9cb',
  7: '37d1018bf50002ab',
  8: '6224939a79f5f593',
  9: 'b0e4a90bdf82009e',
  10: 'f3b9dd94c5bb5d7a',
  11: 'a7ad6b22462fb3f4',
  15: 'e545be4961ca29a1',
};

function tagHex(s: SipHash24, msg: Uint8Array): string {
  const out = new Uint32Array(2);
  s.hash(msg, 0, msg.length, out);
  const b = Buffer.alloc(8);
  b.writeUInt32LE(out[0]!, 0);
  b.writeUInt32LE(out[1]!, 4);
  return b.toString('hex');
}

test('SipHash-2-4 matches the reference vectors (every tail length, one full block)', () => {
  const s = new SipHash24(KEY);
  for (const [n, want] of Object.entries(VECTORS)) {
    assert.equal(
      tagHex(
        s,
        Uint8Array.from({ length: Number(n) }, (_, i) => i),
      ),
      want,
      `message of ${n} bytes`,
    );
  }
});

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M64;
function model(key: Uint8Array, m: Uint8Array): bigint {
  const k0 = Buffer.from(key).readBigUInt64LE(0);
  const k1 = Buffer.from(key).readBigUInt64LE(8);
  let v0 = k0 ^ 0x736f6d6570736575n,
    v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n,
    v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M64;
    v1 = rotl(v1, 13n);
    v1 ^= v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64;
    v3 = rotl(v3, 16n);
    v3 ^= v2;
    v0 = (v0 + v3) & M64;
    v3 = rotl(v3, 21n);
    v3 ^= v0;
    v2 = (v2 + v1) & M64;
    v1 = rotl(v1, 17n);
    v1 ^= v2;
    v2 = rotl(v2, 32n);
  };
  const padded = Buffer.alloc((m.length >> 3) * 8 + 8);
  padded.set(m);
  padded[padded.length - 1] = m.length & 0xff;
  for (let p = 0; p < padded.length; p += 8) {
    const w = padded.readBigUInt64LE(p);
    v3 ^= w;
    round();
    round();
    v0 ^= w;
  }
  v2 ^= 0xffn;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

test('SipHash-2-4 agrees with a BigInt model of the paper for random keys and TCP-sized messages', () => {
  const out = new Uint32Array(2);
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.oneof(
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ minLength: 36, maxLength: 36 }),
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
      ),
      (key, msg) => {
        const s = new SipHash24(key);
        s.hash(msg, 0, msg.length, out);
        const want = model(key, msg);
        assert.equal((BigInt(out[1]!) << 32n) | BigInt(out[0]!), want);
        // FreeBSD's fold (tcp_keyed_hash): hash[0] ^ hash[1].
        assert.equal(s.hash32(msg), Number((want & 0xffffffffn) ^ (want >> 32n)));
      },
    ),
    { seed: 0x51f, numRuns: 300 },
  );
});

test('a short key is refused', () => {
  assert.throws(() => new SipHash24(new Uint8Array(8)), RangeError);
});
