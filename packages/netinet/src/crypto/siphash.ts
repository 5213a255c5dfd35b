/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), the
 * keyed hash FreeBSD's TCP uses for initial sequence numbers, timestamp offsets and
 * SYN cookies (sys/crypto/siphash, tcp_keyed_hash, syncookie_mac). A 64-bit tag is
 * two 32-bit halves here, so the hot path allocates nothing and needs no BigInt.
 */

import type { RandomSource } from '../kern/random.js';

/** Key bytes (SIPHASH_KEY_LENGTH). */
export const SIPHASH_KEY_LENGTH = 16;

/** A key drawn from a (seeded) random source: four 32-bit draws, big-endian. */
export function sipKeyFrom(r: RandomSource): Uint8Array {
  const b = new Uint8Array(SIPHASH_KEY_LENGTH);
  for (let i = 0; i < b.length; i += 4) {
    const x = r.u32();
    b[i] = x >>> 24;
    b[i + 1] = x >>> 16;
    b[i + 2] = x >>> 8;
    b[i + 3] = x;
  }
  return b;
}

// The state v0..v3 as [lo, hi] pairs: v[0]=v0.lo, v[1]=v0.hi, ... v[7]=v3.hi.
const v = new Uint32Array(8);

/** a += b on the 64-bit words at a and b of v. */
function add(a: number, b: number): void {
  const lo = (v[a]! + v[b]!) >>> 0;
  v[a + 1] = (v[a + 1]! + v[b + 1]! + (lo < v[a]! ? 1 : 0)) >>> 0;
  v[a] = lo;
}

/** v[a] = rotl(v[a], n) for 0 < n < 32. */
function rotl(a: number, n: number): void {
  const lo = v[a]!,
    hi = v[a + 1]!;
  v[a] = (lo << n) | (hi >>> (32 - n));
  v[a + 1] = (hi << n) | (lo >>> (32 - n));
}

/** v[a] = rotl(v[a], 32): the halves swap. */
function swap(a: number): void {
  const lo = v[a]!;
  v[a] = v[a + 1]!;
  v[a + 1] = lo;
}

/** v[a] ^= v[b]. */
function xor(a: number, b: number): void {
  v[a] = v[a]! ^ v[b]!;
  v[a + 1] = v[a + 1]! ^ v[b + 1]!;
}

const V0 = 0,
  V1 = 2,
  V2 = 4,
  V3 = 6;

function sipround(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  swap(V0);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  swap(V2);
}

/** One message word m = (lo, hi): v3 ^= m, c=2 rounds, v0 ^= m. */
function compress(lo: number, hi: number): void {
  v[V3] = v[V3]! ^ lo;
  v[V3 + 1] = v[V3 + 1]! ^ hi;
  sipround();
  sipround();
  v[V0] = v[V0]! ^ lo;
  v[V0 + 1] = v[V0 + 1]! ^ hi;
}

function le32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** A SipHash-2-4 instance under one 128-bit key (SipHash_SetKey done once). */
export class SipHash24 {
  private readonly k = new Uint32Array(4);

  constructor(key: Uint8Array) {
    if (key.length < SIPHASH_KEY_LENGTH)
      throw new RangeError(`SipHash key needs ${SIPHASH_KEY_LENGTH} bytes, got ${key.length}`);
    for (let i = 0; i < 4; i++) this.k[i] = le32(key, i * 4);
  }

  /** The 64-bit tag of msg[off, off+len) into out as [lo, hi] (SipHash_Final's bytes read little-endian). */
  hash(msg: Uint8Array, off: number, len: number, out: Uint32Array): void {
    const k = this.k;
    // "somepseudorandomlygeneratedbytes"
    v[0] = k[0]! ^ 0x70736575;
    v[1] = k[1]! ^ 0x736f6d65;
    v[2] = k[2]! ^ 0x6e646f6d;
    v[3] = k[3]! ^ 0x646f7261;
    v[4] = k[0]! ^ 0x6e657261;
    v[5] = k[1]! ^ 0x6c796765;
    v[6] = k[2]! ^ 0x79746573;
    v[7] = k[3]! ^ 0x74656462;
    const end = off + len;
    let p = off;
    for (; p + 8 <= end; p += 8) compress(le32(msg, p), le32(msg, p + 4));
    // The last word: the remaining bytes, little-endian, and the length's low byte on top.
    let lo = 0,
      hi = (len & 0xff) << 24;
    const rest = end - p;
    for (let i = 0; i < rest; i++) {
      if (i < 4) lo |= msg[p + i]! << (8 * i);
      else hi |= msg[p + i]! << (8 * (i - 4));
    }
    compress(lo >>> 0, hi >>> 0);
    v[V2] = v[V2] ^ 0xff;
    sipround();
    sipround();
    sipround();
    sipround();
    out[0] = (v[0] ^ v[2] ^ v[4] ^ v[6]) >>> 0;
    out[1] = (v[1] ^ v[3] ^ v[5] ^ v[7]) >>> 0;
  }

  /** The tag folded to 32 bits as FreeBSD does (hash[0] ^ hash[1] over the little-endian words). */
  hash32(msg: Uint8Array, off = 0, len = msg.length - off): number {
    this.hash(msg, off, len, tag);
    return (tag[0]! ^ tag[1]!) >>> 0;
  }
}

const tag = new Uint32Array(2);
