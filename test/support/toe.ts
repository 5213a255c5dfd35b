/**
 * What the TOE tests share: a seeded byte pattern (xorshift32) to send and hash, and a
 * bounded wait for a condition that names the seed when it gives up.
 */
import assert from 'node:assert/strict';

/** The xorshift32 state after `x` (unsigned, never 0 from a nonzero start). */
export function xorshift32(x: number): number {
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** `n` bytes of the xorshift32 stream of `seed`. */
export function bytes(n: number, seed: number): Buffer {
  let x = seed >>> 0 || 1;
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    x = xorshift32(x);
    b[i] = x & 0xff;
  }
  return b;
}

/** Poll `cond` every 20 ms for up to 15 s; fail naming `what` and the seed. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, seed: number): Promise<void> {
  const end = Date.now() + 15000;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`gave up waiting for ${what} (seed ${seed})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
