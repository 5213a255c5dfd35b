/**
 * The engine's only source of randomness (ISN secret, ephemeral ports, syncookie
 * secret, IP ids): injected and seeded, so a run is reproducible from its seed.
 */
export interface RandomSource {
  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number;
}

/** xoshiro128** seeded through splitmix32: small, fast, good enough for a simulator. */
export class SeededRandom implements RandomSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    let x = this.seed;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
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
