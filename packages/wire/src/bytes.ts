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
  return b.slice(off, off + len);
}
