/**
 * Links: RSS happens here, as on a NIC (docs/architecture.md, "RSS at the link"). A receive-side-scaling
 * dispatcher hashes each frame with the Toeplitz function over the FreeBSD hash type the
 * frame calls for (4-tuple for TCP over IPv4/IPv6, 2-tuple otherwise: rss_gethashconfig();
 * @mcstack/rss's FrameClassifier),
 * maps the hash's bucket to a worker through the indirection table, and copies the frame
 * into that worker's RX ring with the hash and its type in the slot metadata, so the
 * worker's engine never hashes again. A multi-queue link is two such NICs back to back:
 * it drains every worker's TX ring on one side into the dispatcher of the other. A
 * single-queue device (TAP) feeds its frames to an RssDispatcher directly: the software
 * RSS of the design.
 *
 * One thread runs a link (it is the producer of every RX ring and the consumer of every
 * TX ring it serves), so each ring stays single-producer/single-consumer.
 */
import { ETHER_HDR_LEN, ETHER_TYPE, ETHERTYPE_IPV6, IP6_HDR_LEN, IP6_NXT } from '@mcstack/wire';
import { IndirectionTable, FrameClassifier, M_HASHTYPE_NONE, type ClassifierOptions } from '@mcstack/rss';
import {
  CSUM_DELAY_DATA,
  CSUM_DELAY_DATA_IPV6,
  CSUM_IP,
  CSUM_IP_CHECKED,
  CSUM_IP_VALID,
  CSUM_DATA_VALID,
  CSUM_PSEUDO_HDR,
  CSUM_TSO,
  newTsoFrame,
  tcpTsoParse,
  tcpTsoSegment,
} from '@mcstack/netinet';
import { SysError } from '@mcstack/netinet';
import {
  FrameRing,
  RingProducer,
  RingConsumer,
  type FrameRingOptions,
  META_WORDS,
  META_LEN,
  META_FLOWID,
  META_HASHTYPE,
  META_CSUM_FLAGS,
  META_CSUM_DATA,
  META_FLOW_TAG,
  META_TSO_SEGSZ,
} from './ring.js';

/** The dispatcher's RSS: its Toeplitz key and hash configuration (the classifier's). */
export type RssOptions = ClassifierOptions;

/** One bucket re-pointed: the indirection hook sees every change of a swap at once. */
export interface IndirectionChange {
  bucket: number;
  from: number;
  to: number;
}

/**
 * The runtime's policy on live flows when buckets move (move their connections first, or
 * refuse). Called after the dispatcher has published everything it holds and before the
 * table changes; throw (a SysError such as EBUSY) to refuse the whole swap.
 */
export type IndirectionHook = (changes: readonly IndirectionChange[]) => void;

/**
 * Receive-side metadata a link sets from what the sender asked of its "hardware", as
 * FreeBSD's loopback (if_loop.c looutput) does for a frame that never crossed a wire:
 * a checksum left to the card (CSUM_DELAY_DATA*) arrives as verified with
 * CSUM_DATA_VALID | CSUM_PSEUDO_HDR and csum_data 0xffff; CSUM_IP arrives as
 * CSUM_IP_CHECKED | CSUM_IP_VALID. Frames whose checksums are complete carry no claim.
 */
export function loopbackRxCsum(txFlags: number): number {
  let rx = 0;
  if ((txFlags & (CSUM_DELAY_DATA | CSUM_DELAY_DATA_IPV6)) !== 0) rx |= CSUM_DATA_VALID | CSUM_PSEUDO_HDR;
  if ((txFlags & CSUM_IP) !== 0) rx |= CSUM_IP_CHECKED | CSUM_IP_VALID;
  return rx;
}

/**
 * Software (or NIC) RSS onto per-worker RX rings. `dispatch()` hashes and copies one frame
 * into its worker's ring (committed, not yet visible); `flush()` publishes every ring with
 * one store each. Frames that do not fit are counted in `drops[worker]`, never waited for.
 */
export class RssDispatcher {
  readonly table: IndirectionTable;
  readonly rx: readonly RingProducer[];
  readonly hasher: FrameClassifier;
  /** Frames written per worker ring. */
  readonly packets: Float64Array;
  /** Frames dropped per worker because its RX ring was full (or the frame too long for a slot). */
  readonly drops: Float64Array;
  /** Frames that were not IP (or were truncated) and went to bucket 0 unhashed. */
  unhashed = 0;
  /** The runtime's live-flow policy for indirection changes (see IndirectionHook). */
  beforeIndirectionChange: IndirectionHook | undefined;
  /** Told after a swap took effect (e.g. to release frames held for the moved flows). */
  afterIndirectionChange: IndirectionHook | undefined;

  constructor(table: IndirectionTable, rx: readonly (FrameRing | RingProducer)[], opts: RssOptions = {}) {
    if (rx.length !== table.workers) {
      throw new SysError('EINVAL', `RSS dispatcher needs one RX ring per worker (${table.workers}), got ${rx.length}`);
    }
    this.table = table;
    this.rx = rx.map((r) => (r instanceof RingProducer ? r : new RingProducer(r)));
    this.hasher = new FrameClassifier(opts);
    this.packets = new Float64Array(table.workers);
    this.drops = new Float64Array(table.workers);
  }

  /**
   * Hash the Ethernet frame `buf[off .. off+len)`, copy it into the RX ring of the worker
   * its bucket maps to with length, hash, hash type, `csumFlags`/`csumData` (receive
   * results) and `flowTag` in the slot metadata. Returns the worker, or -1 for a drop.
   */
  dispatch(buf: Uint8Array, off: number, len: number, csumFlags = 0, csumData = 0, flowTag = 0): number {
    const h = this.hasher;
    h.hashFrame(buf, off, len);
    if (h.hashType === M_HASHTYPE_NONE) this.unhashed++;
    return this.put(this.table.entries[h.hash & this.table.mask]!, buf, off, len, csumFlags, csumData, flowTag);
  }

  /**
   * Like dispatch(), but a frame every queue must see (ARP, link multicast, neighbour
   * discovery: see floodsAllQueues) is copied into every worker's ring with `floodTag`
   * as its flow tag, so each worker's engine resolves its neighbours itself. Returns the
   * worker, -2 for a flooded frame, -1 for a drop (of a hashed frame).
   */
  dispatchOrFlood(buf: Uint8Array, off: number, len: number, floodTag: number): number {
    const h = this.hasher;
    h.hashFrame(buf, off, len);
    if (!floodsAllQueues(buf, off, len, h.hashType))
      return this.put(this.table.entries[h.hash & this.table.mask]!, buf, off, len, 0, 0, 0);
    if (h.hashType === M_HASHTYPE_NONE) this.unhashed++;
    for (let w = 0; w < this.rx.length; w++) this.put(w, buf, off, len, 0, 0, floodTag);
    return -2;
  }

  private put(
    w: number,
    buf: Uint8Array,
    off: number,
    len: number,
    csumFlags: number,
    csumData: number,
    flowTag: number,
  ): number {
    const h = this.hasher;
    const p = this.rx[w]!;
    const ring = p.ring;
    if (len > ring.slotSize) {
      this.drops[w]!++;
      return -1;
    }
    const s = p.alloc();
    if (s < 0) {
      this.drops[w]!++;
      return -1;
    }
    // A whole-array source copies without a subarray; a slot-sized source needs one (a
    // short-lived view: the one allocation left on this path).
    ring.views[s]!.set(off === 0 && len === buf.length ? buf : buf.subarray(off, off + len));
    const b = s * META_WORDS;
    const meta = ring.meta;
    meta.fill(0, b, b + META_WORDS);
    meta[b + META_LEN] = len;
    meta[b + META_FLOWID] = h.hash;
    meta[b + META_HASHTYPE] = h.hashType;
    meta[b + META_CSUM_FLAGS] = csumFlags;
    meta[b + META_CSUM_DATA] = csumData;
    meta[b + META_FLOW_TAG] = flowTag;
    this.packets[w]!++;
    return w;
  }

  /** Publish every RX ring's committed frames (one store per ring that has any). */
  flush(): number {
    let n = 0;
    for (let i = 0; i < this.rx.length; i++) n += this.rx[i]!.publish();
    return n;
  }

  /**
   * Re-point buckets at run time: `[bucket, worker]` pairs, validated first (EINVAL), then
   * everything already dispatched is published (so frames before the swap are on the old
   * owner's ring and frames after it on the new owner's), then the hook may refuse, then
   * the table changes. Returns the changes that took effect (no-op pairs left out).
   */
  setIndirection(pairs: ReadonlyArray<readonly [number, number]>): IndirectionChange[] {
    const t = this.table;
    const changes: IndirectionChange[] = [];
    const seen = new Set<number>();
    for (const [bucket, to] of pairs) {
      if (!Number.isInteger(bucket) || bucket < 0 || bucket >= t.buckets || seen.has(bucket)) {
        throw new SysError('EINVAL', `bad or repeated RSS bucket ${bucket}`);
      }
      if (!Number.isInteger(to) || to < 0 || to >= t.workers) throw new SysError('EINVAL', `bad RSS worker ${to}`);
      seen.add(bucket);
      const from = t.entries[bucket]!;
      if (from !== to) changes.push({ bucket, from, to });
    }
    if (changes.length === 0) return changes;
    this.flush();
    this.beforeIndirectionChange?.(changes);
    for (const c of changes) t.set(c.bucket, c.to);
    this.afterIndirectionChange?.(changes);
    return changes;
  }
}

/**
 * Whether a frame goes to every queue of a NIC rather than to the one its hash picks: not
 * hashable (ARP, other non-IP), link multicast/broadcast, or IPv6 neighbour discovery
 * (every queue carries the same addresses and keeps its own neighbour cache).
 */
export function floodsAllQueues(f: Uint8Array, off: number, len: number, hashType: number): boolean {
  return hashType === M_HASHTYPE_NONE || (f[off]! & 1) !== 0 || isNeighbourDiscovery(f, off, len);
}

/** ICMPv6 router/neighbour discovery and redirects (RFC 4861 §4, types 133..137) directly after the IPv6 header. */
export function isNeighbourDiscovery(f: Uint8Array, off: number, len: number): boolean {
  if (len < ETHER_HDR_LEN + IP6_HDR_LEN + 1) return false;
  const type = (f[off + ETHER_TYPE]! << 8) | f[off + ETHER_TYPE + 1]!;
  if (type !== ETHERTYPE_IPV6 || f[off + ETHER_HDR_LEN + IP6_NXT] !== 58) return false;
  const t = f[off + ETHER_HDR_LEN + IP6_HDR_LEN]!;
  return t >= 133 && t <= 137;
}

/** Called for each frame a TX drain takes: the ring and slot hold the frame and its metadata. */
export type TxSink = (ring: FrameRing, slot: number) => void;

export interface LinkEndOptions extends RssOptions {
  /** Queue pairs = workers on this side (default 1). */
  queues?: number;
  /** RSS buckets (default rssDefaultBuckets(queues)). */
  buckets?: number;
  /** Geometry of every RX and TX ring. */
  ring?: FrameRingOptions;
}

/**
 * One side of a link: a NIC with one RX and one TX ring per worker, its indirection table
 * and its RSS dispatcher. Hand `rx[i].sab` and `tx[i].sab` to worker i; the worker is the
 * consumer of rx[i] and the producer of tx[i].
 */
export class LinkEnd {
  readonly queues: number;
  readonly rx: readonly FrameRing[];
  readonly tx: readonly FrameRing[];
  readonly table: IndirectionTable;
  readonly rss: RssDispatcher;
  private readonly txc: readonly RingConsumer[];

  constructor(opts: LinkEndOptions = {}) {
    const queues = opts.queues ?? 1;
    this.queues = queues;
    this.table = new IndirectionTable(queues, opts.buckets);
    const rx: FrameRing[] = [];
    const tx: FrameRing[] = [];
    for (let i = 0; i < queues; i++) {
      rx.push(FrameRing.create(opts.ring));
      tx.push(FrameRing.create(opts.ring));
    }
    this.rx = rx;
    this.tx = tx;
    this.txc = tx.map((r) => new RingConsumer(r));
    this.rss = new RssDispatcher(this.table, rx, opts);
  }

  /** Drain up to `budget` frames from each TX ring into `sink`; returns the frames taken. */
  drainTx(budget: number, sink: TxSink): number {
    let total = 0;
    for (let q = 0; q < this.txc.length; q++) {
      const c = this.txc[q]!;
      const n = c.peek(budget);
      if (n === 0) continue;
      const ring = c.ring;
      for (let k = 0; k < n; k++) sink(ring, c.slot(k));
      c.release(n);
      total += n;
    }
    return total;
  }
}

/**
 * Two NICs joined back to back in memory: every frame a worker of side `a` transmits is
 * received by side `b` through b's RSS (and the reverse). Checksum offload requests turn
 * into verified-on-receive flags as on FreeBSD's loopback. Run `poll()` from one thread.
 */
export class MultiQueueLink {
  readonly a: LinkEnd;
  readonly b: LinkEnd;
  private readonly toA: TxSink;
  private readonly toB: TxSink;

  constructor(a: LinkEndOptions = {}, b: LinkEndOptions = a) {
    this.a = new LinkEnd(a);
    this.b = new LinkEnd(b);
    this.toB = sinkInto(this.b.rss);
    this.toA = sinkInto(this.a.rss);
  }

  /** Move up to `budget` frames per TX ring in each direction; publish; returns frames moved. */
  poll(budget = 64): number {
    const n = this.a.drainTx(budget, this.toB) + this.b.drainTx(budget, this.toA);
    this.b.rss.flush();
    this.a.rss.flush();
    return n;
  }
}

/**
 * A TxSink that dispatches each transmitted frame into `rss` (one copy: the "DMA"). A
 * CSUM_TSO frame is cut first (tcp/tso.ts): this card has no TSO engine.
 */
export function sinkInto(rss: RssDispatcher): TxSink {
  const tso = newTsoFrame();
  let piece: Uint8Array | null = null;
  return (ring, s) => {
    const b = s * META_WORDS;
    const tx = ring.meta[b + META_CSUM_FLAGS]!;
    const rxFlags = loopbackRxCsum(tx);
    const csumData = (rxFlags & CSUM_DATA_VALID) !== 0 ? 0xffff : 0;
    const len = ring.meta[b + META_LEN]!;
    const tag = ring.meta[b + META_FLOW_TAG]!;
    const segsz = ring.meta[b + META_TSO_SEGSZ]!;
    if ((tx & CSUM_TSO) === 0 || segsz <= 0) {
      rss.dispatch(ring.views[s]!, 0, len, rxFlags, csumData, tag);
      return;
    }
    const n = tcpTsoParse(ring.views[s]!, len, ETHER_HDR_LEN, segsz, tso);
    piece ??= new Uint8Array(ring.slotSize);
    for (let i = 0; i < n; i++) {
      const plen = tcpTsoSegment(ring.views[s]!, tso, i, piece, false);
      rss.dispatch(piece, 0, plen, rxFlags, csumData, tag);
    }
  };
}
