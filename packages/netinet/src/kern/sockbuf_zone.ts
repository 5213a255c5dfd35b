/**
 * Storage for socket-buffer rings, in the role of FreeBSD's mbuf cluster zones
 * (kern_mbuf.c, "mbuf_jumbo_page" and friends under `vmstat -z`): rings come in
 * power-of-two sizes from SB_RING_MIN, and a ring a socket gives back is kept on its
 * size's free list for the next connection. Connection setup therefore allocates no
 * ring memory once the zone is warm: a fresh off-heap ArrayBuffer per socket cost a
 * connect/request/response/close workload a third of its time in allocation and GC.
 * Rings up to SB_SLAB_MAX are carved from shared slabs. Free lists are bounded
 * (SB_FREE_BYTES per size) so a burst of connections does not pin its memory forever.
 * A zone belongs to one thread (one engine, or the engines of one simulator).
 */

/** The smallest ring (one page). */
export const SB_RING_MIN = 4096;
/** Rings up to this size are carved from slabs of SB_SLAB bytes. */
const SB_SLAB_MAX = 65536;
const SB_SLAB = 1 << 20;
/** Bytes each size's free list may hold. */
const SB_FREE_BYTES = 8 << 20;

export interface SockbufZoneStats {
  /** Ring size (bytes). */
  size: number;
  /** Rings held by sockets. */
  used: number;
  /** Rings on the free list. */
  free: number;
  /** Rings handed out since the zone was made. */
  requests: number;
}

/** log2(cap) - log2(SB_RING_MIN) for a power-of-two cap. */
function classOf(cap: number): number {
  return 31 - Math.clz32(cap) - 12;
}

export class SockbufZone {
  private readonly free: Uint8Array[][] = [];
  private readonly used: number[] = [];
  private readonly requests: number[] = [];
  private slab: ArrayBuffer | null = null;
  private slabUsed = 0;

  /** A ring of at least `need` bytes (a power of two ≥ SB_RING_MIN). */
  take(need: number): Uint8Array {
    let cap = SB_RING_MIN;
    while (cap < need) cap *= 2;
    const c = classOf(cap);
    while (this.free.length <= c) {
      this.free.push([]);
      this.used.push(0);
      this.requests.push(0);
    }
    this.used[c]!++;
    this.requests[c]!++;
    const ring = this.free[c]!.pop();
    if (ring !== undefined) return ring;
    if (cap > SB_SLAB_MAX) return new Uint8Array(cap);
    if (this.slab === null || this.slabUsed + cap > SB_SLAB) {
      this.slab = new ArrayBuffer(SB_SLAB);
      this.slabUsed = 0;
    }
    const r = new Uint8Array(this.slab, this.slabUsed, cap);
    this.slabUsed += cap;
    return r;
  }

  /** Give back a ring from take(); its contents are never read again. */
  give(ring: Uint8Array): void {
    const c = classOf(ring.length);
    if (c < 0 || c >= this.free.length || ring.length !== SB_RING_MIN << c) return;
    this.used[c]!--;
    const list = this.free[c]!;
    if ((list.length + 1) * ring.length <= SB_FREE_BYTES) list.push(ring);
  }

  /** One entry per size that was ever asked for. */
  stats(): SockbufZoneStats[] {
    return this.free
      .map((list, c) => ({
        size: SB_RING_MIN << c,
        used: this.used[c]!,
        free: list.length,
        requests: this.requests[c]!,
      }))
      .filter((z) => z.requests > 0);
  }
}
