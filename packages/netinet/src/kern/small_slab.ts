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
/** The current slab as float64s, made at the first slabF64Slot in it (one view a slab). */
let slabAsF64: Float64Array | null = null;

/** `bytes` (a multiple of 8, at most SLAB_BYTES) zeroed bytes of a slab: buffer and offset. */
function carve(bytes: number): number {
  if (used + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
    slabAsF64 = null;
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

/**
 * Room for `n` zeroed float64s without a view of their own: the index of the first in
 * slabF64Current(), the view every owner in this slab shares. A view costs ~96 bytes of heap;
 * an owner that keeps the shared view and an index costs 8 more than a pointer.
 */
export function slabF64Slot(n: number): number {
  return carve(n * 8) >> 3;
}

/** The float64 view of the slab the last slabF64Slot carved from. */
export function slabF64Current(): Float64Array {
  if (slabAsF64 === null) slabAsF64 = new Float64Array(slab);
  return slabAsF64;
}
