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
import {
  FrameClassifier,
  M_HASHTYPE_RSS_TCP_IPV4,
  M_HASHTYPE_RSS_TCP_IPV6,
  M_HASHTYPE_RSS_TCP_IPV6_EX,
} from '@mcstack/rss';
import { TidTable, TID_HOLD } from './tids.js';
import {
  CSUM_DATA_VALID,
  CSUM_TSO,
  ERRNO,
  newTsoFrame,
  tcpTsoParse,
  tcpTsoSegment,
  type FrameMeta,
} from '@mcstack/netinet';
import { TxQueue } from './txq.js';
import { type PipeLine, pipeClock } from './pipe.js';
import { ETHER_HDR_LEN } from '@mcstack/wire';
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
 * The receiving stack's TOE card as its senders reach it: a ring from this sender to the
 * card, the card's doorbell, and its TID table (tids.ts).
 */
export interface CardPort {
  ring: SharedArrayBuffer;
  bell: SharedArrayBuffer;
  tids: SharedArrayBuffer;
}

/**
 * A worker's transmit side of a link (or of the hop rings to its siblings): one producer
 * per destination worker, the destinations' doorbells, and the table that picks one.
 * When the receiver has a TOE card, a TCP segment whose 4-tuple holds one of the card's
 * TIDs goes to the card before RSS (the card matches its own connections first, as the
 * hardware does), and frames every queue gets go to the card too.
 * Allocation-free per frame; `flush()` publishes every ring written since the last flush
 * and rings the doorbells of sleeping receivers.
 *
 * Flow control (802.3x PAUSE, ifconfig mediaopt rxpause,txpause): a frame for a full ring
 * waits in that destination's transmit queue (txq.ts), drained in order at every flush;
 * only a full queue refuses it (ENOBUFS, if_oqdrops). With `txqlen` 0 a full ring drops
 * the frame as a link without PAUSE loses it.
 */
/** What a worker's task says of its link to the peer stack (card.ts CardTask, group.ts GroupTask). */
export interface PeerLinkSpec {
  peerBells: SharedArrayBuffer[];
  peerIndirection: SharedArrayBuffer | null;
  strategy: Strategy;
  peerCard?: CardPort;
  /** The wire's loss probability (the stack's `plr`). */
  plr?: number;
}

/**
 * A worker's transmit side toward the peer stack over `rings`: the peer's doorbells and
 * indirection (a 1-entry table when it has none), its card, and the wire's loss drawn
 * from `lossSeed`. `txqlen` as LinkTx's (0: a full ring drops).
 */
export function peerLinkTx(
  rings: readonly SharedArrayBuffer[],
  t: PeerLinkSpec,
  lossSeed: number,
  txqlen?: number,
): LinkTx {
  const tx = new LinkTx(
    rings,
    t.peerBells,
    t.peerIndirection ?? new SharedArrayBuffer(2),
    t.strategy,
    undefined,
    t.peerCard,
    txqlen,
  );
  if ((t.plr ?? 0) > 0) tx.setLoss(t.plr!, lossSeed);
  return tx;
}

export class LinkTx {
  readonly producers: RingProducer[];
  readonly bells: Doorbell[];
  readonly hasher: FrameClassifier;
  private readonly table: Uint16Array;
  private readonly mask: number;
  private readonly unaligned: boolean;
  private rr = 0;
  private readonly dirty: Uint8Array;
  /** The RSS queues (the card, when there is one, is the producer after them). */
  private readonly queues: number;
  private readonly tids: TidTable | null;
  frames = 0;
  /** Frames refused (if_oqdrops): the ring full and, with flow control, its queue too. */
  drops = 0;
  /** Frames that waited in a transmit queue for the receiver (the pauses it honoured). */
  queued = 0;
  /** Per destination: its transmit queue (length 0 without flow control). */
  private readonly txq: TxQueue[];
  /** Honour the receiver's pause (the interface's mediaopt rxpause,txpause): queue, not drop. */
  pause = true;
  /** Where the last slot() is: the destination's ring or its queue's storage. */
  private wr: FrameRing | null = null;
  /** TSO segments cut in software (cxgbe's txq tso_wrs). */
  tsoWrs = 0;
  private readonly tso = newTsoFrame();
  /** Frames of a connection in a live handoff (its TID held), dropped. */
  handoffDrops = 0;
  /** Frames the card's TID table took before RSS. */
  toCard = 0;
  /** Frames the wire lost (the stack's `plr`). */
  wireDrops = 0;
  /** Loss threshold out of 2^32 (0: a lossless wire) and the generator's state (xorshift32). */
  private lossBelow = 0;
  private lossState = 1;
  /**
   * The stack's pipe on this link (pipe.ts): every frame sent is admitted to its
   * bottleneck, waits in its delay line and reaches its ring at flush() once due.
   */
  pipe: PipeLine | null = null;
  /** The due time of the frame (or TSO piece) being written, while a pipe is set. */
  private pipeDue = 0;

  constructor(
    rings: readonly SharedArrayBuffer[],
    bells: readonly SharedArrayBuffer[],
    table: SharedArrayBuffer,
    strategy: Strategy,
    rss?: RssOptions,
    card?: CardPort,
    /**
     * Frames each destination's transmit queue holds (hw.cxgbe.qsize_txq, the group workers
     * pass TXQ_DEFAULT_LEN); 0, the default: no queue, a full ring drops (the TOE card's and
     * the synthetic peer's transmit side, which do not drain between their sleeps).
     */
    txqlen = 0,
  ) {
    this.queues = rings.length;
    const all = card === undefined ? rings : [...rings, card.ring];
    this.producers = all.map((r) => new RingProducer(FrameRing.attach(r)));
    this.bells = (card === undefined ? bells : [...bells, card.bell]).map((b) => new Doorbell(b));
    this.tids = card === undefined ? null : TidTable.attach(card.tids);
    this.table = new Uint16Array(table);
    this.mask = this.table.length - 1;
    this.unaligned = strategy === 'unaligned';
    this.hasher = new FrameClassifier(rss);
    this.dirty = new Uint8Array(all.length);
    this.txq = this.producers.map((p) => new TxQueue(txqlen, p.ring.slotSize));
  }

  /**
   * Make the wire behind this sender lossy (dummynet's plr): each unicast packet (each
   * piece of a TSO segment) is lost with probability `plr`, drawn from xorshift32 seeded
   * by `seed` (nonzero).
   */
  setLoss(plr: number, seed: number): void {
    this.lossBelow = Math.floor(plr * 2 ** 32);
    this.lossState = seed >>> 0 || 1;
  }

  /** One draw of the loss generator: whether this frame is lost. */
  private lost(): boolean {
    let x = this.lossState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.lossState = x >>> 0;
    return this.lossState < this.lossBelow;
  }

  /** Frames waiting in the transmit queues (the sender must come back to drain them). */
  get pending(): number {
    let n = 0;
    for (const q of this.txq) n += q.length;
    return n;
  }

  /**
   * A slot for one frame to destination `j`: in its ring while nothing waits ahead of it,
   * else at the tail of its transmit queue; -1 when both are full. The slot is in `this.wr`.
   */
  private slot(j: number): number {
    const pipe = this.pipe;
    if (pipe !== null) {
      this.wr = pipe.frames;
      return pipe.alloc(j, this.pipeDue);
    }
    return this.ringSlot(j);
  }

  /** slot() on the wire side of any pipe: the ring, or its transmit queue. */
  private ringSlot(j: number): number {
    const q = this.txq[j]!;
    if (q.length === 0) {
      const p = this.producers[j]!;
      const s = p.alloc();
      if (s >= 0) {
        this.wr = p.ring;
        return s;
      }
      if (!this.pause) return -1;
    }
    const s = q.alloc();
    if (s < 0) return -1;
    this.wr = q.frames;
    this.queued++;
    return s;
  }

  /** The ring or queue slot()'s last answer is in. */
  private get target(): FrameRing {
    const r = this.wr;
    if (r === null) throw new Error('LinkTx: no slot taken');
    return r;
  }

  /**
   * Frames of the pipe's delay line that are due, in order, onto their rings (or their
   * transmit queues while a receiver pauses; dropped without flow control).
   */
  private drainPipe(pipe: PipeLine): void {
    const now = pipeClock();
    const from = pipe.frames;
    for (let s = pipe.ready(now); s >= 0; s = pipe.ready(now)) {
      const j = pipe.destOf(s);
      const d = this.ringSlot(j);
      if (d < 0) this.drops++;
      else {
        copySlot(this.target, d, from, s);
        this.dirty[j] = 1;
      }
      pipe.shift();
    }
  }

  /** ms until the first frame in the pipe's delay line is due (Infinity: none or no pipe). */
  get pipeWaitMs(): number {
    return this.pipe?.waitMs ?? Infinity;
  }

  /** Move waiting frames into their rings, oldest first, as far as the rings have room. */
  private drainTxq(): void {
    const txq = this.txq;
    for (let j = 0; j < txq.length; j++) {
      const q = txq[j]!;
      if (q.length === 0) continue;
      const p = this.producers[j]!;
      const from = q.frames;
      while (q.length > 0) {
        const d = p.alloc();
        if (d < 0) break;
        copySlot(p.ring, d, from, q.peek());
        q.shift();
        this.dirty[j] = 1;
      }
    }
  }

  /**
   * Transmit one Ethernet frame with its output metadata (if_transmit): 0, or -ENOBUFS when
   * it was refused (counted in drops), -EMSGSIZE when it cannot fit a slot.
   */
  send(frame: Uint8Array, meta: FrameMeta): number {
    const n = this.queues;
    if (n === 0) {
      this.drops++;
      return -ERRNO.ENOBUFS;
    }
    const len = frame.length;
    const pipe = this.pipe;
    // A TSO segment is admitted piece by piece (putTso): each is a packet on the wire.
    if (pipe !== null && ((meta.csumFlags & CSUM_TSO) === 0 || meta.tsoSegsz <= 0)) {
      this.pipeDue = pipe.admit(frame, len, pipeClock());
      if (this.pipeDue < 0) return 0; // lost in the pipe, as on the wire: not a refusal
    }
    const h = this.hasher;
    h.hashFrame(frame, 0, len);
    const rxFlags = loopbackRxCsum(meta.csumFlags);
    if (floodsAllQueues(frame, 0, len, h.hashType)) {
      // Not hashable (ARP), link multicast or ND: every queue gets a copy.
      let r = 0;
      for (let j = 0; j < this.producers.length; j++) {
        const e = this.put(j, frame, len, h.hash, h.hashType, rxFlags, FLOW_TAG_FLOOD);
        if (e < 0) r = e;
      }
      return r;
    }
    // Lost on the wire (the sender never knows): a packet at a time, so a TSO segment's
    // pieces are drawn one by one in putTso.
    if (this.lossBelow !== 0 && ((meta.csumFlags & CSUM_TSO) === 0 || meta.tsoSegsz <= 0) && this.lost()) {
      this.wireDrops++;
      return 0;
    }
    const tids = this.tids;
    let tid: number;
    if (
      tids !== null &&
      (h.hashType === M_HASHTYPE_RSS_TCP_IPV4 ||
        h.hashType === M_HASHTYPE_RSS_TCP_IPV6 ||
        h.hashType === M_HASHTYPE_RSS_TCP_IPV6_EX) &&
      ((tid = tids.lookupFrame(frame, h.version, h.addrOff, h.portsOff)) >= 0 ||
        (tid = tids.lookupListen(frame, h.version, h.addrOff, h.portsOff)) >= 0)
    ) {
      if (tids.state(tid) === TID_HOLD) {
        // Its connection is moving between the card and a group: lost, as on the wire.
        this.handoffDrops++;
        return 0; // the sender's card sent it: the loss is the wire's, not a refusal
      }
      this.toCard++;
      return this.putOne(n, frame, meta, len, rxFlags);
    }
    return this.putOne(this.unaligned ? this.rr % n : this.table[h.hash & this.mask]!, frame, meta, len, rxFlags);
  }

  /** One hashed frame into queue `j` (the card is queue `queues`): a TSO segment is cut first. */
  private putOne(j: number, frame: Uint8Array, meta: FrameMeta, len: number, rxFlags: number): number {
    const h = this.hasher;
    if ((meta.csumFlags & CSUM_TSO) !== 0 && meta.tsoSegsz > 0) return this.putTso(j, frame, meta, rxFlags);
    return this.put(j, frame, len, h.hash, h.hashType, rxFlags, 0);
  }

  /**
   * A TSO segment: this "NIC" has no TSO engine, so it cuts the segment (tcp/tso.ts)
   * straight into slots of the receiver's ring, each piece with the long one's hash
   * (one 4-tuple) and checksum state. One tso_wrs per long segment, as cxgbe counts.
   */
  private putTso(j: number, frame: Uint8Array, meta: FrameMeta, rxFlags: number): number {
    const t = this.tso;
    const n = tcpTsoParse(frame, frame.length, ETHER_HDR_LEN, meta.tsoSegsz, t);
    if (n === 0) {
      this.drops++;
      return -ERRNO.EMSGSIZE;
    }
    this.tsoWrs++;
    const h = this.hasher;
    if (t.hdr + t.segsz > this.producers[j]!.ring.slotSize) {
      this.drops += n;
      return -ERRNO.EMSGSIZE;
    }
    let r = 0;
    const pipe = this.pipe;
    const now = pipe !== null ? pipeClock() : 0;
    for (let i = 0; i < n; i++) {
      if (pipe !== null) {
        this.pipeDue = pipe.admit(frame, t.hdr + Math.min(t.segsz, t.paylen - i * t.segsz), now);
        if (this.pipeDue < 0) continue;
      }
      // The wire after the pipe, as for a frame sent whole (send()).
      if (this.lossBelow !== 0 && this.lost()) {
        this.wireDrops++;
        continue;
      }
      const s = this.slot(j);
      if (s < 0) {
        // The pieces already out stay out: the receiver ACKs them and TCP sends the rest.
        this.drops += n - i;
        r = -ERRNO.ENOBUFS;
        break;
      }
      const ring = this.target;
      const len = tcpTsoSegment(frame, t, i, ring.views[s]!, false);
      if (pipe?.ce) pipe.markCe(s);
      this.meta(ring, s, len, h.hash, h.hashType, rxFlags, 0);
      this.frames++;
    }
    this.dirty[j] = 1;
    return r;
  }

  /** Forward a received frame as it is (a hop to its owner): metadata copied from the slot. */
  forward(j: number, ring: FrameRing, s: number): boolean {
    const d = this.slot(j);
    if (d < 0) {
      this.drops++;
      return false;
    }
    copySlot(this.target, d, ring, s);
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
    return this.put(j, frame, len, meta.flowid, meta.hashType, meta.csumFlags, tag) === 0;
  }

  private put(
    j: number,
    frame: Uint8Array,
    len: number,
    hash: number,
    hashType: number,
    rxFlags: number,
    tag: number,
  ): number {
    if (len > this.producers[j]!.ring.slotSize) {
      this.drops++;
      return -ERRNO.EMSGSIZE;
    }
    const s = this.slot(j);
    if (s < 0) {
      this.drops++;
      return -ERRNO.ENOBUFS;
    }
    const ring = this.target;
    // A view longer than the frame (a link's read buffer) is cut to it: the slot is only `slotSize`.
    ring.views[s]!.set(frame.length === len ? frame : frame.subarray(0, len));
    if (this.pipe?.ce) this.pipe.markCe(s);
    this.meta(ring, s, len, hash, hashType, rxFlags, tag);
    this.dirty[j] = 1;
    this.frames++;
    return 0;
  }

  private meta(
    ring: FrameRing,
    s: number,
    len: number,
    hash: number,
    hashType: number,
    rxFlags: number,
    tag: number,
  ): void {
    const b = s * META_WORDS;
    const meta = ring.meta;
    meta.fill(0, b, b + META_WORDS);
    meta[b + META_LEN] = len;
    meta[b + META_FLOWID] = hash;
    meta[b + META_HASHTYPE] = hashType;
    meta[b + META_CSUM_FLAGS] = rxFlags;
    meta[b + META_CSUM_DATA] = (rxFlags & CSUM_DATA_VALID) !== 0 ? 0xffff : 0;
    meta[b + META_FLOW_TAG] = tag;
  }

  /** Publish what was written (one store per ring) and wake sleeping receivers. */
  flush(): number {
    if (this.pipe !== null) this.drainPipe(this.pipe);
    this.drainTxq();
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

/** A frame and its metadata from slot `s` of `from` into slot `d` of `to`. */
function copySlot(to: FrameRing, d: number, from: FrameRing, s: number): void {
  // Without subarray views (an allocation each, for every frame a pipe or queue holds):
  // a short frame (an ACK) byte by byte, a long one as the whole slot when it fits.
  const len = from.len(s);
  const dst = to.views[d]!;
  const src = from.views[s]!;
  if (len <= 256 || src.length > dst.length) for (let i = 0; i < len; i++) dst[i] = src[i]!;
  else dst.set(src);
  const tm = to.meta;
  const fm = from.meta;
  for (let i = 0, a = d * META_WORDS, b = s * META_WORDS; i < META_WORDS; i++) tm[a + i] = fm[b + i]!;
}
