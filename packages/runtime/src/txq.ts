/**
 * A driver's software transmit queue in front of one ring (FreeBSD's drbr, the buf_ring a
 * driver's if_transmit enqueues to when its hardware ring is full): with 802.3x flow
 * control a receiver whose ring is full pauses the sender, whose frames wait here instead
 * of being lost on the wire; only when this queue is full too does if_transmit refuse
 * the frame (ENOBUFS, counted as if_oqdrops). Frames leave in order, before any new frame
 * goes to the ring (linkmatrix.ts LinkTx).
 *
 * The slots are allocated once, on the first frame that has to wait (most links never
 * queue), never per frame; the queue is private to its sender's thread, so it has no
 * atomics.
 */
import { FrameRing } from './ring.js';

/** Frames a transmit queue holds by default (cxgbe's hw.cxgbe.qsize_txq default, TX_EQ_QSIZE). */
export const TXQ_DEFAULT_LEN = 1024;

export class TxQueue {
  private store: FrameRing | null = null;
  private head = 0;
  private tail = 0;

  constructor(
    /** Frames it holds (the knob's value); 0: no queue, a full ring drops. */
    readonly maxlen: number,
    readonly slotSize: number,
  ) {}

  /** Frames waiting. */
  get length(): number {
    return this.tail - this.head;
  }

  /** The slots' storage (views, metadata), made on first use. */
  get frames(): FrameRing {
    if (this.store === null) {
      let slots = 1;
      while (slots < this.maxlen) slots <<= 1;
      this.store = FrameRing.create({ slots, slotSize: this.slotSize });
    }
    return this.store;
  }

  /** A slot at the tail for one frame (write it in `frames`), or -1 when the queue is full. */
  alloc(): number {
    if (this.tail - this.head >= this.maxlen) return -1;
    const s = this.tail & this.frames.mask;
    this.tail++;
    return s;
  }

  /** The oldest frame's slot; only while length > 0. */
  peek(): number {
    return this.head & this.frames.mask;
  }

  /** The oldest frame has left. */
  shift(): void {
    this.head++;
  }
}
