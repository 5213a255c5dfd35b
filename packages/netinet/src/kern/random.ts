/**
 * The engine's only source of randomness (ISN secret, ephemeral ports, syncookie
 * secret, IP ids): injected and seeded, so a run is reproducible from its seed.
 */
export interface RandomSource {
  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number;
}

/**
 * xoshiro128** seeded through splitmix32: small, fast, good enough for a simulator. Its
 * four state words live in an Int32Array, so a generator can sit in shared memory
 * (`attach`): threads that draw from it under a lock see one sequence (the runtime's
 * link pipes, sim/bottleneck.ts).
 */
export class SeededRandom implements RandomSource {
  private readonly s: Int32Array;
  readonly seed: number;

  /** Seeded into `state` (4 words) when given, else into its own. */
  constructor(seed: number, state: Int32Array = new Int32Array(4)) {
    this.seed = seed >>> 0;
    this.s = state;
    let x = this.seed;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return z ^ (z >>> 16);
    };
    for (let i = 0; i < 4; i++) state[i] = next();
  }

  /** A generator over state another one seeded (no reseeding). */
  static attach(state: Int32Array): SeededRandom {
    const r = Object.create(SeededRandom.prototype) as { s: Int32Array; seed: number };
    r.s = state;
    r.seed = 0;
    return r as unknown as SeededRandom;
  }

  u32(): number {
    const s = this.s;
    const s0 = s[0]!;
    const s1 = s[1]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const s2 = s[2]! ^ s0;
    const s3 = s[3]! ^ s1;
    s[1] = s1 ^ s2;
    s[0] = s0 ^ s3;
    s[2] = s2 ^ t;
    s[3] = rotl(s3, 11);
    return result;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x100000000) * n);
  }

  /** Fill a buffer with random bytes (secrets). */
  fill(buf: Uint8Array): Uint8Array {
    for (let i = 0; i < buf.length; i += 4) {
      const v = this.u32();
      for (let j = 0; j < 4 && i + j < buf.length; j++) buf[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return buf;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
