/**
 * The in-memory multi-queue link between two stacks: a matrix of SPSC rings, one for each
 * (sender worker i of A, receiver worker j of B) and the reverse, with no link thread. The
 * SENDER plays the receiving NIC: it hashes the frame with the Toeplitz function as B's
 * NIC would (FrameClassifier), maps the bucket through B's indirection table (shared memory, so a
 * run-time change is seen at once) and writes the frame into ring (i -> j) with the hash,
 * its type and the receive checksum flags in the slot metadata; B's worker j polls all its
 * incoming rings. Strategy 'unaligned' picks j round robin per published batch instead, and
 * the receiver forwards frames it does not own to the owner (a hop).
 *
 * ARP, neighbour discovery and link multicast are flooded to every queue of the peer: each
 * of a stack's workers carries the same addresses (queues of one NIC) and must learn its
 * neighbours itself; IPv4 neighbours are static anyway (arp -s) where configured.
 */
import {
  FrameRing,
  RingProducer,
  META_WORDS,
  META_LEN,
  META_FLOWID,
  META_HASHTYPE,
  META_CSUM_FLAGS,
  META_CSUM_DATA,
  META_FLOW_TAG,
} from './ring.js';
import { loopbackRxCsum, floodsAllQueues, type RssOptions } from './link.js';
import { Doorbell } from './doorbell.js';
import { FrameClassifier } from '@mcstack/rss';
import { CSUM_DATA_VALID, type FrameMeta } from '@mcstack/netinet';
import type { Strategy } from './control.js';

export const LINK_RING_SLOTS = 1024;
/** META_FLOW_TAG of a frame every queue got a copy of: processed where it lands, never hopped. */
export const FLOW_TAG_FLOOD = -1;
/** A 1500-byte MTU frame with room (slots are 8-byte multiples). */
export const LINK_SLOT_SIZE = 2048;

/** The ring buffers of one direction: rings[i][j] carries sender worker i -> receiver worker j. */
export type RingGrid = SharedArrayBuffer[][];

/** Rings both ways between two stacks of `a` and `b` workers. */
export class LinkMatrix {
  readonly aToB: RingGrid;
  readonly bToA: RingGrid;

  constructor(
    readonly a: number,
    readonly b: number,
    slots = LINK_RING_SLOTS,
    slotSize = LINK_SLOT_SIZE,
  ) {
    this.aToB = grid(a, b, slots, slotSize);
    this.bToA = grid(b, a, slots, slotSize);
  }
}

function grid(n: number, m: number, slots: number, slotSize: number): RingGrid {
  const g: RingGrid = [];
  for (let i = 0; i < n; i++) {
    const row: SharedArrayBuffer[] = [];
    for (let j = 0; j < m; j++) row.push(FrameRing.create({ slots, slotSize }).sab);
    g.push(row);
  }
  return g;
}

/**
 * A worker's transmit side of a link (or of the hop rings to its siblings): one producer
 * per destination worker, the destinations' doorbells, and the table that picks one.
 * Allocation-free per frame; `flush()` publishes every ring written since the last flush
 * and rings the doorbells of sleeping receivers.
 */
export class LinkTx {
  readonly producers: RingProducer[];
  readonly bells: Doorbell[];
  readonly hasher: FrameClassifier;
  private readonly table: Uint16Array;
  private readonly mask: number;
  private readonly unaligned: boolean;
  private rr = 0;
  private readonly dirty: Uint8Array;
  frames = 0;
  drops = 0;

  constructor(
    rings: readonly SharedArrayBuffer[],
    bells: readonly SharedArrayBuffer[],
    table: SharedArrayBuffer,
    strategy: Strategy,
    rss?: RssOptions,
  ) {
    this.producers = rings.map((r) => new RingProducer(FrameRing.attach(r)));
    this.bells = bells.map((b) => new Doorbell(b));
    this.table = new Uint16Array(table);
    this.mask = this.table.length - 1;
    this.unaligned = strategy === 'unaligned';
    this.hasher = new FrameClassifier(rss);
    this.dirty = new Uint8Array(rings.length);
  }

  /** Transmit one Ethernet frame with its output metadata; false when it was dropped. */
  send(frame: Uint8Array, meta: FrameMeta): boolean {
    const n = this.producers.length;
    if (n === 0) {
      this.drops++;
      return false;
    }
    const len = frame.length;
    const h = this.hasher;
    h.hashFrame(frame, 0, len);
    const rxFlags = loopbackRxCsum(meta.csumFlags);
    if (floodsAllQueues(frame, 0, len, h.hashType)) {
      // Not hashable (ARP), link multicast or ND: every queue gets a copy.
      let ok = true;
      for (let j = 0; j < n; j++) ok = this.put(j, frame, len, h.hash, h.hashType, rxFlags, FLOW_TAG_FLOOD) && ok;
      return ok;
    }
    const j = this.unaligned ? this.rr % n : this.table[h.hash & this.mask]!;
    return this.put(j, frame, len, h.hash, h.hashType, rxFlags, 0);
  }

  /** Forward a received frame as it is (a hop to its owner): metadata copied from the slot. */
  forward(j: number, ring: FrameRing, s: number): boolean {
    const len = ring.len(s);
    const p = this.producers[j]!;
    const d = p.alloc();
    if (d < 0) {
      this.drops++;
      return false;
    }
    const dr = p.ring;
    dr.views[d]!.set(ring.views[s]!.subarray(0, len));
    dr.meta.set(ring.meta.subarray(s * META_WORDS, s * META_WORDS + META_WORDS), d * META_WORDS);
    this.dirty[j] = 1;
    this.frames++;
    return true;
  }

  /**
   * Put the first `len` bytes of a received frame on ring `j` with its receive metadata
   * (a link that reads the wire in a worker: a hop to the bucket's owner, or a flood
   * copy with FLOW_TAG_FLOOD); false when it was dropped.
   */
  copyTo(j: number, frame: Uint8Array, len: number, meta: FrameMeta, tag: number): boolean {
    return this.put(j, frame, len, meta.flowid, meta.hashType, meta.csumFlags, tag);
  }

  private put(
    j: number,
    frame: Uint8Array,
    len: number,
    hash: number,
    hashType: number,
    rxFlags: number,
    tag: number,
  ): boolean {
    const p = this.producers[j]!;
    const ring = p.ring;
    if (len > ring.slotSize) {
      this.drops++;
      return false;
    }
    const s = p.alloc();
    if (s < 0) {
      this.drops++;
      return false;
    }
    // A view longer than the frame (a link's read buffer) is cut to it: the slot is only `slotSize`.
    ring.views[s]!.set(frame.length === len ? frame : frame.subarray(0, len));
    const b = s * META_WORDS;
    const meta = ring.meta;
    meta.fill(0, b, b + META_WORDS);
    meta[b + META_LEN] = len;
    meta[b + META_FLOWID] = hash;
    meta[b + META_HASHTYPE] = hashType;
    meta[b + META_CSUM_FLAGS] = rxFlags;
    meta[b + META_CSUM_DATA] = (rxFlags & CSUM_DATA_VALID) !== 0 ? 0xffff : 0;
    meta[b + META_FLOW_TAG] = tag;
    this.dirty[j] = 1;
    this.frames++;
    return true;
  }

  /** Publish what was written (one store per ring) and wake sleeping receivers. */
  flush(): number {
    let n = 0;
    const dirty = this.dirty;
    for (let j = 0; j < dirty.length; j++) {
      if (dirty[j] === 0) continue;
      dirty[j] = 0;
      n += this.producers[j]!.publish();
      this.bells[j]!.ring();
    }
    if (n > 0) this.rr++;
    return n;
  }

  /** Say no more frames will come on any ring (shutdown). */
  close(): void {
    for (const p of this.producers) p.close();
    for (const b of this.bells) b.ring();
  }
}
