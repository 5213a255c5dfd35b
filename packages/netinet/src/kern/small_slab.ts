/**
 * Small typed arrays carved out of shared 4 KiB ArrayBuffers, as UMA carves small items out
 * of a slab. In V8 a small typed array of its own costs ~250 bytes of heap (the view, an
 * ArrayBuffer object and on-heap storage); a view into a shared slab costs the view alone.
 * Per-connection fields that live as long as their owner use it (a pcb's addresses, a
 * tcpcb's SACK blocks). A slab is freed when the last view into it is; the small size
 * bounds what one long-lived view can keep alive.
 */
const SLAB_BYTES = 4096;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** `bytes` (a multiple of 8, at most SLAB_BYTES) zeroed bytes of a slab: buffer and offset. */
function carve(bytes: number): number {
  if (used + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const off = used;
  used += bytes;
  return off;
}

export function slabU8(n: number): Uint8Array {
  const off = carve((n + 7) & ~7);
  return new Uint8Array(slab, off, n);
}

export function slabU32(n: number): Uint32Array {
  const off = carve((n * 4 + 7) & ~7);
  return new Uint32Array(slab, off, n);
}

export function slabF64(n: number): Float64Array {
  const off = carve(n * 8);
  return new Float64Array(slab, off, n);
}
