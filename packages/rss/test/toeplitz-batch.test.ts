import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Toeplitz, toeplitzForKey, parseRssKey, RssError } from '../src/index.js';
import { SIMD_CHUNK } from '../src/toeplitz-simd.js';

const fixture = JSON.parse(
  readFileSync(new URL('../../test/fixtures/toeplitz-ms-vectors.json', import.meta.url), 'utf8'),
) as {
  key: string;
  vectors: { family: string; src: string; dst: string; sport: number; dport: number; with_ports_hash: string }[];
};

/** xorshift32: deterministic inputs from a seed (printed by the assertion messages). */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

interface Batch {
  src4: Uint32Array;
  dst4: Uint32Array;
  ports: Uint32Array;
  src6: Uint8Array;
  dst6: Uint8Array;
}
function randomBatch(seed: number, n: number): Batch {
  const r = rng(seed);
  const fill = <T extends Uint32Array | Uint8Array>(a: T): T => {
    for (let i = 0; i < a.length; i++) a[i] = r();
    return a;
  };
  return {
    src4: fill(new Uint32Array(n)),
    dst4: fill(new Uint32Array(n)),
    ports: fill(new Uint32Array(n)),
    src6: fill(new Uint8Array(16 * n)),
    dst6: fill(new Uint8Array(16 * n)),
  };
}

/** Batch results equal the per-packet functions, tuple by tuple. */
function assertBatchMatches(tz: Toeplitz, b: Batch, n: number, what: string): void {
  const out = new Uint32Array(n + 3).fill(0xdeadbeef);
  tz.hashIPv4PortsBatch(b.src4, b.dst4, b.ports, out, n);
  for (let i = 0; i < n; i++) {
    const p = b.ports[i]!;
    const want = tz.hashIPv4Ports(b.src4[i]!, b.dst4[i]!, p >>> 16, p & 0xffff);
    if (out[i] !== want) assert.fail(`${what}: IPv4 tuple ${i} of ${n}: ${out[i]} != ${want}`);
  }
  assert.deepEqual([...out.subarray(n)], [0xdeadbeef, 0xdeadbeef, 0xdeadbeef], `${what}: wrote past n`);
  out.fill(0xdeadbeef);
  tz.hashIPv6PortsBatch(b.src6, b.dst6, b.ports, out, n);
  for (let i = 0; i < n; i++) {
    const p = b.ports[i]!;
    const want = tz.hashIPv6Ports(b.src6, 16 * i, b.dst6, 16 * i, p >>> 16, p & 0xffff);
    if (out[i] !== want) assert.fail(`${what}: IPv6 tuple ${i} of ${n}: ${out[i]} != ${want}`);
  }
  assert.deepEqual([...out.subarray(n)], [0xdeadbeef, 0xdeadbeef, 0xdeadbeef], `${what}: wrote past n`);
}

test('batch equals per-packet hashes: default key, sizes across SIMD step and chunk edges', () => {
  const tz = toeplitzForKey();
  for (const n of [0, 1, 15, 16, 17, 31, 255, SIMD_CHUNK - 1, SIMD_CHUNK, SIMD_CHUNK + 1, 2 * SIMD_CHUNK + 37]) {
    const seed = 0x1234 + n;
    assertBatchMatches(tz, randomBatch(seed, n), n, `n=${n} seed=${seed}`);
  }
});

test('property: batch equals per-packet hashes for random keys, sizes and seeds', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 4, maxLength: 64 }),
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 1, max: 0x7fffffff }),
      (key, n, seed) =>
        assertBatchMatches(
          new Toeplitz(key),
          randomBatch(seed, n),
          n,
          `key=${Buffer.from(key).toString('hex')} seed=${seed}`,
        ),
    ),
    { seed: 0xba7c4, numRuns: 60 },
  );
});

test('batch takes subarrays (non-zero offsets, longer arrays than n) and n defaults to out.length', () => {
  const tz = toeplitzForKey();
  const b = randomBatch(77, 100);
  const sub: Batch = {
    src4: b.src4.subarray(3, 90),
    dst4: b.dst4.subarray(5, 95),
    ports: b.ports.subarray(1, 99),
    src6: b.src6.subarray(16 * 3),
    dst6: b.dst6.subarray(16 * 5),
  };
  assertBatchMatches(tz, sub, 80, 'subarrays');
  const out = new Uint32Array(40);
  tz.hashIPv4PortsBatch(sub.src4, sub.dst4, sub.ports, out);
  assert.equal(out[39], tz.hashIPv4Ports(sub.src4[39]!, sub.dst4[39]!, sub.ports[39]! >>> 16, sub.ports[39]! & 0xffff));
});

test('Microsoft verification vectors through the batch entry points', () => {
  const tz = toeplitzForKey(parseRssKey(fixture.key));
  const v4 = fixture.vectors.filter((v) => v.family === 'ipv4');
  const num = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  const out = new Uint32Array(v4.length);
  tz.hashIPv4PortsBatch(
    Uint32Array.from(v4, (v) => num(v.src)),
    Uint32Array.from(v4, (v) => num(v.dst)),
    Uint32Array.from(v4, (v) => ((v.sport << 16) | v.dport) >>> 0),
    out,
  );
  assert.deepEqual(
    [...out].map((h) => `0x${h.toString(16).padStart(8, '0')}`),
    v4.map((v) => v.with_ports_hash),
  );
  // First IPv6 vector (3ffe:2501:200:1fff::7 -> 3ffe:2501:200:3::1, 2794 -> 1766).
  const v6 = fixture.vectors.find((v) => v.family === 'ipv6' && v.src === '3ffe:2501:200:1fff::7')!;
  const s6 = Uint8Array.from([0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 7]);
  const d6 = Uint8Array.from([0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 1]);
  const o6 = new Uint32Array(1);
  tz.hashIPv6PortsBatch(s6, d6, Uint32Array.of(((v6.sport << 16) | v6.dport) >>> 0), o6);
  assert.equal(`0x${o6[0]!.toString(16).padStart(8, '0')}`, v6.with_ports_hash);
});

test('the JS fallback (no wasm SIMD) gives the same results', () => {
  const tz = new Toeplitz(parseRssKey(fixture.key));
  // What batchEngine() caches where WebAssembly SIMD is unavailable.
  (tz as unknown as { simd: null }).simd = null;
  assertBatchMatches(tz, randomBatch(99, 40), 40, 'fallback');
});

test('batch sizes that do not fit the arrays are EINVAL RssErrors', () => {
  const tz = toeplitzForKey();
  const a = new Uint32Array(8);
  const isEinval = (e: unknown) => e instanceof RssError && e.code === 'EINVAL';
  assert.throws(() => tz.hashIPv4PortsBatch(a, a, a, new Uint32Array(9)), isEinval);
  assert.throws(() => tz.hashIPv4PortsBatch(a, a, a, a, -1), isEinval);
  assert.throws(() => tz.hashIPv4PortsBatch(a, a, a, a, 1.5), isEinval);
  assert.throws(() => tz.hashIPv6PortsBatch(new Uint8Array(16 * 8 - 1), new Uint8Array(16 * 8), a, a), isEinval);
});
