/**
 * The consumer of sockapp's down ring (main → worker) with zero-copy holds: data the
 * engine's send buffer refuses (EAGAIN) stays in its ring slots, viewed from the
 * connection's pending queue, instead of being copied out when the records are handled.
 * A bulk writer's bytes then cross from the main thread into the engine with one copy
 * (the main thread's into the slot; the engine's sbappend out of it) and no allocation.
 *
 * The ring frees slots in order only, so a held slot keeps every slot after it from the
 * producer, handled or not. Records after a hold are still handled (other connections
 * are not stuck behind it); only their release waits. So that one connection whose peer
 * does not read cannot fill the ring for all, once held slots keep half the ring from
 * the producer the holders' views are copied into owned buffers (as every refused byte
 * was before) and the slots go back.
 */
import { type FrameRing, RingConsumer } from '../ring.js';

/** What a connection holds: its pending data, ring views or owned copies, oldest first. */
export interface DownHolder {
  pending: Uint8Array[];
  /** Per pending entry: the record number (DownRing.abs) of the slot it views, or -1 for an owned copy. */
  pendingAbs: number[];
}

export class DownRing {
  readonly ring: FrameRing;
  private readonly cons: RingConsumer;
  /** Records released so far: the record number of the consumer's head. */
  private base = 0;
  /** Records after the head already handled (peeked again, never handled twice). */
  private done = 0;
  /** Connections with ring views in their pending queue. */
  private readonly holders = new Set<DownHolder>();
  /** Bytes whose views were copied out to give their slots back (the ring was half held). */
  copiedBytes = 0;

  constructor(ring: FrameRing) {
    this.ring = ring;
    this.cons = new RingConsumer(ring);
  }

  /** Records not handled yet are waiting. */
  hasNew(): boolean {
    return this.cons.peek(this.done + 1) > this.done;
  }

  /**
   * Records ready, up to `max` new ones: records from(), from() + 1, ... n - 1 are new
   * (their slots are slot(k)); call handled(n) when done with them.
   */
  peek(max: number): number {
    return this.cons.peek(this.done + max);
  }

  /** The first new record's index for peek(). */
  from(): number {
    return this.done;
  }

  slot(k: number): number {
    return this.cons.slot(k);
  }

  /** The record number of peeked record k: what a hold names its slot by. */
  abs(k: number): number {
    return this.base + k;
  }

  /** Records up to `n` (a peek's count) are handled: give back every slot no hold keeps. */
  handled(n: number): void {
    this.done = n;
    this.release();
  }

  /** `h` now views ring slots (its pendingAbs names them). */
  hold(h: DownHolder): void {
    this.holders.add(h);
  }

  /** `h` views no slot any more (its views were sent, or it was dropped with them). */
  unhold(h: DownHolder): void {
    this.holders.delete(h);
  }

  /** After `h`'s pending queue lost its oldest entries: drop the hold when no view is left. */
  settle(h: DownHolder): void {
    const a = h.pendingAbs;
    if (a.length === 0 || a[a.length - 1]! < 0) this.holders.delete(h);
  }

  /** Give back the handled slots before the oldest hold; copy holds out when they keep half the ring. */
  release(): void {
    if (this.done === 0) return;
    let limit = this.done;
    for (const h of this.holders) {
      const a = h.pendingAbs;
      for (let i = 0; i < a.length; i++) {
        const x = a[i]!;
        if (x >= 0) {
          if (x - this.base < limit) limit = x - this.base;
          break;
        }
      }
    }
    if (limit < this.done && this.done - limit >= this.ring.slots >>> 1) {
      for (const h of this.holders) this.copyOut(h);
      this.holders.clear();
      limit = this.done;
    }
    if (limit <= 0) return;
    this.cons.release(limit);
    this.base += limit;
    this.done -= limit;
  }

  /** Replace `h`'s ring views by owned copies. */
  private copyOut(h: DownHolder): void {
    const a = h.pendingAbs;
    for (let i = 0; i < a.length; i++) {
      if (a[i]! < 0) continue;
      h.pending[i] = h.pending[i]!.slice();
      this.copiedBytes += h.pending[i]!.length;
      a[i] = -1;
    }
  }
}
