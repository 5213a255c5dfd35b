/**
 * Big-endian (network order) field access over a Uint8Array. Small enough for V8
 * to inline; used by every view so that no header code builds a DataView per packet.
 */

export function get16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function get32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function set16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function set32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** A copy of [off, off+len): Reprs own their bytes so they outlive the frame. */
export function copyBytes(b: Uint8Array, off: number, len: number): Uint8Array {
  if (len > 32) return b.slice(off, off + len);
  // Short copies (addresses): a plain loop beats slice()'s species lookup.
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = b[off + i]!;
  return out;
}

/** Write the first `len` bytes of `src` at `off` (no subarray view allocated). */
export function putBytes(b: Uint8Array, off: number, src: Uint8Array, len: number): void {
  for (let i = 0; i < len; i++) b[off + i] = src[i]!;
}

/**
 * The base of every header view: a buffer and the offset of the header in it,
 * re-pointed with `reset` so one view object serves every packet.
 */
export class ByteView {
  buf: Uint8Array = new Uint8Array(0);
  off = 0;

  reset(buf: Uint8Array, off = 0): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
}
