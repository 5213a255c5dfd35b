/**
 * A seeded pseudo-random generator, so that a study's measurement order and every bootstrap
 * interval can be reproduced from the seed printed with them (Math.random cannot be seeded).
 *
 * Generator: xoshiro128** 1.1 (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", 2018): 128 bits of state, period 2^128 − 1, 32-bit outputs, only 32-bit
 * integer arithmetic (Math.imul), so it is exact in JavaScript. The 32-bit seed is spread
 * over the state by splitmix32 (a Weyl sequence through MurmurHash3's fmix32 finaliser), as
 * the xoshiro authors advise, so nearby seeds give unrelated streams and no state is all zero.
 * Not cryptographic; it only has to be reproducible and statistically sound for resampling.
 */

export interface Rng {
  /** The next 32 random bits, as an unsigned integer. */
  uint32(): number;
  /** Uniform on [0, 1), in steps of 2^-32. */
  float(): number;
  /** Uniform integer on [0, n), without modulo bias (rejection); n an integer from 1 to 2^32. */
  int(n: number): number;
}

const TWO32 = 2 ** 32;

/** xoshiro128** from its four state words (not all zero); exported to check it against the reference C. */
export function xoshiro128ss(s0: number, s1: number, s2: number, s3: number): Rng {
  let a = s0 >>> 0,
    b = s1 >>> 0,
    c = s2 >>> 0,
    d = s3 >>> 0;
  if ((a | b | c | d) === 0) throw new RangeError('xoshiro128**: the state must not be all zero');
  const uint32 = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
  const float = (): number => uint32() / TWO32;
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n < 1 || n > TWO32)
      throw new RangeError(`Rng.int: not an integer from 1 to 2^32: ${n}`);
    // Accept draws below the largest multiple of n that fits in 2^32, so each residue is equally likely.
    const limit = TWO32 - (TWO32 % n);
    for (;;) {
      const x = uint32();
      if (x < limit) return x % n;
    }
  };
  return { uint32, float, int };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A generator from a seed: any integer, taken modulo 2^32. */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed: not an integer: ${seed}`);
  let w = Number(BigInt.asUintN(32, BigInt(seed)));
  const splitmix32 = (): number => {
    w = (w + 0x9e3779b9) >>> 0;
    let z = w;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s = [splitmix32(), splitmix32(), splitmix32(), splitmix32()] as const;
  // splitmix32 is a bijection of the Weyl counter, so four consecutive outputs cannot all be 0.
  return xoshiro128ss(s[0], s[1], s[2], s[3]);
}

/** A new array with the items in a uniformly random order (Fisher–Yates, Durstenfeld's form). */
export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/** A standard normal deviate (Box–Muller; the second deviate of the pair is dropped, for simplicity). */
export function normal(rng: Rng): number {
  const u1 = 1 - rng.float(); // (0, 1]: log(0) is avoided
  const u2 = rng.float();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
