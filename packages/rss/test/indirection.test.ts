import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  IndirectionTable,
  rssDefaultBuckets,
  rssBucket,
  hashMapsToWorker,
  RSS_MAXBUCKETS,
  RssError,
} from '../src/index.js';

const einval = (e: unknown) => e instanceof RssError && e.code === 'EINVAL';

test('default bucket count follows rss_init(): fls(ncpus - 1) + 1 bits, at most 128', () => {
  const expected: [number, number][] = [
    [1, 1],
    [2, 4],
    [3, 8],
    [4, 8],
    [5, 16],
    [8, 16],
    [9, 32],
    [32, 64],
    [33, 128],
    [64, 128],
    [65, 128],
    [1000, 128],
  ];
  for (const [workers, buckets] of expected) assert.equal(rssDefaultBuckets(workers), buckets, `workers=${workers}`);
});

test('round-robin fill, get/set and bucketsOf', () => {
  const t = new IndirectionTable(3);
  assert.equal(t.buckets, 8);
  assert.deepEqual([...t.entries], [0, 1, 2, 0, 1, 2, 0, 1]);
  assert.equal(t.get(5), 2);
  t.set(5, 0);
  assert.equal(t.get(5), 0);
  assert.deepEqual(t.bucketsOf(0), [0, 3, 5, 6]);
  assert.equal(t.bucketOf(0x1234567d), 5);
  assert.equal(t.workerOf(0x1234567d), 0);
});

test('bad sizes and entries are EINVAL', () => {
  for (const [w, b] of [
    [0, 1],
    [1.5, 1],
    [2, 3],
    [2, 0],
    [2, 256],
    [2, 6],
  ] as [number, number][]) {
    assert.throws(() => new IndirectionTable(w, b), einval, `${w}/${b}`);
  }
  const t = new IndirectionTable(2, 4);
  assert.throws(() => t.set(4, 0), einval);
  assert.throws(() => t.set(-1, 0), einval);
  assert.throws(() => t.set(0, 2), einval);
  assert.throws(() => t.get(4), einval);
  assert.throws(() => rssDefaultBuckets(0), einval);
});

test('property: indirection invariants for any workers, buckets and hash', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 0, max: 7 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 50 }),
      (workers, bits, hashes) => {
        const buckets = 1 << bits;
        const t = new IndirectionTable(workers, buckets);
        // Round-robin: every worker owns ⌊b/w⌋ or ⌈b/w⌉ buckets.
        const owned = new Array<number>(workers).fill(0);
        for (const w of t.entries) owned[w]!++;
        for (const n of owned) assert.ok(n === Math.floor(buckets / workers) || n === Math.ceil(buckets / workers));
        for (const h of hashes) {
          const b = t.bucketOf(h);
          assert.ok(b >= 0 && b < buckets && b <= RSS_MAXBUCKETS);
          assert.equal(b, rssBucket(h, buckets));
          assert.equal(b, h % buckets);
          const w = t.workerOf(h);
          assert.ok(w >= 0 && w < workers);
          // Exactly one worker claims each hash.
          let claims = 0;
          for (let k = 0; k < workers; k++) if (hashMapsToWorker(t.entries, h, k)) claims++;
          assert.equal(claims, 1);
          assert.ok(hashMapsToWorker(t.entries, h, w));
        }
        const def = new IndirectionTable(workers);
        assert.ok(def.buckets >= Math.min(2 * workers, RSS_MAXBUCKETS) || workers === 1);
        assert.equal(def.buckets & (def.buckets - 1), 0);
      },
    ),
    { seed: 0x1dead, numRuns: 200 },
  );
});
