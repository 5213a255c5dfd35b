/**
 * The Internet checksum (RFC 1071) with the pseudo-headers of RFC 791/793 and
 * RFC 8200 §8.1, and incremental update (RFC 1624).
 *
 * Sums are carried unfolded in a JS number (53 bits of integer precision), so a
 * whole jumbo frame can be summed before a single fold. The hot loop reads 32-bit
 * words through a Uint32Array where the bytes are aligned; byte order does not
 * matter for a one's-complement sum as long as the fold is byte-swapped back
 * (RFC 1071 §2(B)), which `finish` does on little-endian hosts.
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Fold a wide sum (any integer below 2^53) to 16 bits (end-around carry). */
export function fold(sum: number): number {
  if (sum > 0xffffffff) {
    // 2^32 ≡ 1 (mod 2^16 - 1): add the high part to the low 32 bits, twice at most.
    const hi = Math.floor(sum / 0x100000000);
    sum = sum - hi * 0x100000000 + hi;
    if (sum > 0xffffffff) sum = sum - 0x100000000 + 1;
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * Whole-buffer Uint32Array views, most recently used first: a view per call
 * would allocate on every packet, and a packet path touches few buffers (a
 * transmit scratch buffer, a receive ring or pool), so two entries mostly hit;
 * the rest are remembered weakly per buffer.
 */
let cacheBuf0: ArrayBufferLike | null = null;
let cacheU320: Uint32Array = new Uint32Array(0);
let cacheBuf1: ArrayBufferLike | null = null;
let cacheU321: Uint32Array = new Uint32Array(0);

const moreViews = new WeakMap<ArrayBufferLike, Uint32Array>();

function words32(ab: ArrayBufferLike): Uint32Array {
  if (ab === cacheBuf0) return cacheU320;
  let u: Uint32Array | undefined;
  if (ab === cacheBuf1) u = cacheU321;
  else {
    u = moreViews.get(ab);
    if (u === undefined) {
      u = new Uint32Array(ab, 0, ab.byteLength >>> 2);
      moreViews.set(ab, u);
    }
  }
  cacheBuf1 = cacheBuf0;
  cacheU321 = cacheU320;
  cacheBuf0 = ab;
  cacheU320 = u;
  return u;
}

/** Words summed between folds: two accumulators of 2^15 words each stay below 2^48. */
const BLOCK_WORDS = 1 << 16;

/**
 * Add the bytes [off, off+len) to `sum` as big-endian 16-bit words (odd trailing
 * byte padded with zero). `startOdd` is for continuing a sum that stopped on an
 * odd byte: not needed by callers that sum whole headers.
 */
export function sumBytes(buf: Uint8Array, off: number, len: number, sum = 0): number {
  if (len === 20) {
    // An IPv4 header without options (every datagram in and out): unrolled.
    const b = buf;
    const o = off;
    return (
      sum +
      ((b[o]! << 8) | b[o + 1]!) +
      ((b[o + 2]! << 8) | b[o + 3]!) +
      ((b[o + 4]! << 8) | b[o + 5]!) +
      ((b[o + 6]! << 8) | b[o + 7]!) +
      ((b[o + 8]! << 8) | b[o + 9]!) +
      ((b[o + 10]! << 8) | b[o + 11]!) +
      ((b[o + 12]! << 8) | b[o + 13]!) +
      ((b[o + 14]! << 8) | b[o + 15]!) +
      ((b[o + 16]! << 8) | b[o + 17]!) +
      ((b[o + 18]! << 8) | b[o + 19]!)
    );
  }
  let i = off;
  const end = off + len;
  // Align to 4 bytes within the underlying buffer so Uint32Array reads are legal.
  let swapped = 0;
  // Short sums (IP headers) never look at the buffer: only the word loop needs it.
  const base = len >= 64 ? buf.byteOffset : 0;
  if (len >= 64 && ((base + i) & 1) === 0) {
    while (((base + i) & 3) !== 0 && i + 1 < end) {
      sum += (buf[i]! << 8) | buf[i + 1]!;
      i += 2;
    }
    const words = (end - i) >>> 2;
    if (words > 0) {
      let w = (base + i) >>> 2;
      const wend = w + words;
      let u32 = words32(buf.buffer);
      // A resizable buffer that grew since its view was cached.
      if (wend > u32.length) u32 = new Uint32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
      // Whole 32-bit words added as doubles (two chains for the pipeline); one
      // fold per block keeps them exact (RFC 1071 §2(C): defer the carries).
      while (w < wend) {
        const bend = Math.min(wend, w + BLOCK_WORDS);
        let a0 = 0;
        let a1 = 0;
        // Four words a turn, added in pairs: fewer dependent adds per word.
        for (; w + 3 < bend; w += 4) {
          a0 += u32[w]! + u32[w + 1]!;
          a1 += u32[w + 2]! + u32[w + 3]!;
        }
        for (; w + 1 < bend; w += 2) {
          a0 += u32[w]!;
          a1 += u32[w + 1]!;
        }
        if (w < bend) a0 += u32[w++]!;
        swapped += fold(a0 + a1);
      }
      i += words << 2;
    }
  }
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  if (swapped !== 0) {
    // Little-endian reads produced byte-swapped 16-bit words: fold then swap back.
    const f = fold(swapped);
    sum += LITTLE_ENDIAN ? ((f & 0xff) << 8) | (f >>> 8) : f;
  }
  return sum;
}

/** One's complement of the folded sum: the value to store in a checksum field. */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/** RFC 1071 checksum of a byte range. */
export function internetChecksum(buf: Uint8Array, off = 0, len = buf.length - off): number {
  return finish(sumBytes(buf, off, len, 0));
}

/** True when a range that includes its own checksum field verifies (folds to 0xffff). */
export function verifyChecksum(buf: Uint8Array, off: number, len: number, initial = 0): boolean {
  return fold(sumBytes(buf, off, len, initial)) === 0xffff;
}

/** IPv4 pseudo-header sum (RFC 793 §3.1): src, dst, zero, protocol, upper-layer length. */
export function pseudoHeaderSum4(
  buf: Uint8Array,
  srcOff: number,
  dstOff: number,
  protocol: number,
  length: number,
): number {
  return (
    ((buf[srcOff]! << 8) | buf[srcOff + 1]!) +
    ((buf[srcOff + 2]! << 8) | buf[srcOff + 3]!) +
    ((buf[dstOff]! << 8) | buf[dstOff + 1]!) +
    ((buf[dstOff + 2]! << 8) | buf[dstOff + 3]!) +
    protocol +
    length
  );
}

/** IPv6 pseudo-header sum (RFC 8200 §8.1): src, dst, 32-bit length, next header. */
export function pseudoHeaderSum6(
  buf: Uint8Array,
  srcOff: number,
  dstOff: number,
  nextHeader: number,
  length: number,
): number {
  let s = 0;
  for (let i = 0; i < 16; i += 2) {
    s += (buf[srcOff + i]! << 8) | buf[srcOff + i + 1]!;
    s += (buf[dstOff + i]! << 8) | buf[dstOff + i + 1]!;
  }
  return s + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), the new checksum after one 16-bit
 * field changes from `oldWord` to `newWord`, without touching the rest.
 */
export function incrementalUpdate(checksum: number, oldWord: number, newWord: number): number {
  return ~fold((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** RFC 1624 for a 32-bit field (an address, a sequence number). */
export function incrementalUpdate32(checksum: number, oldValue: number, newValue: number): number {
  const c = incrementalUpdate(checksum, oldValue >>> 16, newValue >>> 16);
  return incrementalUpdate(c, oldValue & 0xffff, newValue & 0xffff);
}
