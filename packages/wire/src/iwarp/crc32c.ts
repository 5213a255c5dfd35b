/**
 * CRC-32C (Castagnoli): polynomial 0x1EDC6F41 processed reflected (0x82F63B78),
 * initial value and final XOR 0xFFFFFFFF: the digest of iSCSI (RFC 3720 §12.1,
 * test vectors in appendix B.4) that MPA uses for its FPDU CRC (RFC 5044 §4.4).
 *
 * Slicing-by-8 tables: eight bytes per step, the usual software form. The
 * incremental API keeps the raw register (`crc32cInit` / `crc32cUpdate` /
 * `crc32cFinal`) so a caller can run the CRC over data that arrives in pieces.
 */

/** The reflected CRC-32C polynomial. */
export const CRC32C_POLY = 0x82f63b78;

/** T[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const T = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY : c >>> 1;
    t[b] = c >>> 0;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + b] = c >>> 0;
    }
  }
  return t;
}

/** The register before any byte (the initial value). */
export function crc32cInit(): number {
  return 0xffffffff;
}

/** Run the register `state` over buf[off, off+len); returns the new register. */
export function crc32cUpdate(state: number, buf: Uint8Array, off = 0, len = buf.length - off): number {
  let c = state >>> 0;
  let i = off;
  const end = off + len;
  // Byte at a time up to the last multiple of 8, then 8 at a time.
  const end8 = end - ((end - i) & 7);
  while (i < end8) {
    const lo = (c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))) >>> 0;
    const hi = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
    c =
      T[7 * 256 + (lo & 0xff)]! ^
      T[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      T[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      T[4 * 256 + (lo >>> 24)]! ^
      T[3 * 256 + (hi & 0xff)]! ^
      T[2 * 256 + ((hi >>> 8) & 0xff)]! ^
      T[256 + ((hi >>> 16) & 0xff)]! ^
      T[(hi >>> 24) & 0xff]!;
    i += 8;
  }
  while (i < end) c = T[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** The CRC value of a finished register (the final XOR). */
export function crc32cFinal(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

/** One-shot CRC-32C of buf[off, off+len). */
export function crc32c(buf: Uint8Array, off = 0, len = buf.length - off): number {
  return crc32cFinal(crc32cUpdate(0xffffffff, buf, off, len));
}

/** Incremental CRC-32C over chunks: `new Crc32c().update(a).update(b).digest()`. */
export class Crc32c {
  private state = 0xffffffff;

  reset(): this {
    this.state = 0xffffffff;
    return this;
  }

  update(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.state = crc32cUpdate(this.state, buf, off, len);
    return this;
  }

  /** The CRC of everything updated so far; the object can keep updating. */
  digest(): number {
    return crc32cFinal(this.state);
  }
}
