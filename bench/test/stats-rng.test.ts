/** The seeded generator: the reference algorithm's outputs, reproducibility, uniformity of int() and shuffle(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normal, shuffle, xoshiro128ss } from '../src/stats/rng.js';

/**
 * Pearson's chi-square of counts against equal expected counts. With 5 degrees of freedom
 * P(χ² > 25) ≈ 1.4e-4: a uniform generator passes, a biased one (e.g. Sattolo's shuffle,
 * which never leaves an item in place) fails by orders of magnitude.
 */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((s, c) => s + c, 0);
  const e = total / counts.length;
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
}

test("xoshiro128** gives the reference C implementation's first outputs from state (1, 2, 3, 4)", () => {
  const r = xoshiro128ss(1, 2, 3, 4);
  // From Blackman & Vigna's xoshiro128starstar.c, compiled and run with s = {1, 2, 3, 4}.
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map(() => r.uint32()),
    [11520, 0, 5927040, 70819200, 2031721883, 1637235492],
  );
  assert.throws(() => xoshiro128ss(0, 0, 0, 0), RangeError);
});

test('the same seed gives the same stream, another seed another; seeds are taken modulo 2^32', () => {
  const draw = (seed: number): number[] => {
    const r = createRng(seed);
    return Array.from({ length: 8 }, () => r.uint32());
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
  assert.deepEqual(draw(-1), draw(2 ** 32 - 1));
  assert.throws(() => createRng(1.5), RangeError);
});

test('float() is in [0, 1) and int(n) is uniform on [0, n)', () => {
  const r = createRng(7);
  const counts = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 60000; i++) {
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    const k = r.int(6);
    counts[k] = counts[k]! + 1;
  }
  assert.ok(chiSquare(counts) < 25, `int(6) counts ${counts}`);
  assert.ok(r.int(2 ** 32) < 2 ** 32);
  assert.equal(r.int(1), 0);
  assert.throws(() => r.int(0), RangeError);
});

test('shuffle returns each of the 6 orders of 3 items equally often and leaves its input alone', () => {
  const r = createRng(11);
  const input = ['a', 'b', 'c'] as const;
  const counts = new Map<string, number>();
  for (let i = 0; i < 60000; i++) {
    const s = shuffle(input, r).join('');
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  assert.deepEqual(input, ['a', 'b', 'c']);
  assert.deepEqual([...counts.keys()].sort(), ['abc', 'acb', 'bac', 'bca', 'cab', 'cba']);
  assert.ok(chiSquare([...counts.values()]) < 25, `orders ${JSON.stringify([...counts])}`);
});

test('normal() has mean 0, variance 1 and 95% of its mass within ±1.96', () => {
  const r = createRng(3);
  const n = 20000;
  const xs = Array.from({ length: n }, () => normal(r));
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  const inside = xs.filter((x) => Math.abs(x) < 1.96).length / n;
  // Tolerances are about 4 standard errors: 1/√n ≈ 0.007 (mean), √(2/n) ≈ 0.01 (variance), √(.95·.05/n) ≈ 0.0015 (mass).
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.04, `variance ${variance}`);
  assert.ok(Math.abs(inside - 0.95) < 0.007, `within ±1.96: ${inside}`);
});
