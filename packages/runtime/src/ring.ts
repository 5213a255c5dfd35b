/**
 * A single-producer/single-consumer ring of frame slots over one SharedArrayBuffer: the
 * data plane between threads (docs/architecture.md, "Rings for the data plane"). Frames are written in place into
 * fixed-size slots (zero-copy: the producer gets a Uint8Array view of the slot), and each
 * slot has a parallel row of Int32 metadata (length, RSS hash and type, CSUM_* flags, TSO
 * segment size, VLAN, flow id) so no stage parses a header twice.
 *
 * Layout (all offsets in bytes):
 *
 *   0    control words (Int32): HEAD, TAIL and SLEEPING each on its own 64-byte line,
 *        then the geometry (magic, slot count, slot size) so another thread can attach
 *   256  metadata: slots x META_WORDS Int32 (one 64-byte line per slot)
 *   ...  data: slots x slotSize bytes
 *
 * HEAD and TAIL are free-running uint32 counters (slot = counter & mask), so full and
 * empty differ (tail - head == slots vs 0) without a spare slot. The producer publishes a
 * whole batch with one Atomics.store of TAIL; the consumer frees a batch with one store of
 * HEAD. Each side caches the other's counter and re-reads it only when it looks short.
 *
 * Sleep protocol (no lost wakeup): the consumer stores SLEEPING=1, reads the BELL word,
 * re-reads TAIL (and CLOSED), and only then Atomics.wait()s on BELL with the value it read;
 * the producer stores TAIL and then takes SLEEPING (exchange with 0), and only when it was
 * set rings: adds 1 to BELL and notifies. Every access is sequentially consistent, so either the producer
 * sees SLEEPING=1 and rings (wait() then refuses the stale BELL or is woken), or the
 * consumer's re-read sees the new TAIL. close() always rings. A full ring never blocks
 * the producer: it is told how much fit and counts the rest as drops.
 *
 * The other way (a producer that keeps what did not fit and waits for room): it stores
 * WANT_SPACE=1 and re-reads HEAD (roomAfterAsk); the consumer stores HEAD when it releases
 * and then takes WANT_SPACE (spaceWanted), waking the producer by its own means only when
 * it was set: the same Dekker pair, so neither misses the other and no release wakes a
 * producer that did not ask.
 */
import { SysError } from '@mcstack/netinet';
import type { FrameMeta } from '@mcstack/netinet';

/* Control words (Int32 indices). */
const C_HEAD = 0;
const C_TAIL = 16;
const C_SLEEPING = 32;
const C_CLOSED = 33;
const C_BELL = 34;
/** The producer found the ring full and asks the consumer to wake it when it frees slots. */
const C_WANT_SPACE = 35;
const C_MAGIC = 48;
const C_SLOTS = 49;
const C_SLOT_SIZE = 50;
const CTL_BYTES = 256;
const RING_MAGIC = 0x6d637267; // 'mcrg'

/*
 * Metadata words of a slot (Int32 index within the slot's row). The names follow the
 * mbuf packet header fields they stand for (sys/sys/mbuf.h m_pkthdr); the values are
 * netinet's (net/mbuf.ts: CSUM_*, M_VLANTAG, M_HASHTYPE_*), carried opaquely here.
 */
/** Frame length in bytes (m_pkthdr.len). */
export const META_LEN = 0;
/** RSS hash (m_pkthdr.flowid), as an Int32; read with `>>> 0`. */
export const META_FLOWID = 1;
/** M_HASHTYPE_* of META_FLOWID (M_HASHTYPE_NONE when not hashed). */
export const META_HASHTYPE = 2;
/** CSUM_* flags: offload requests on transmit, verification results on receive. */
export const META_CSUM_FLAGS = 3;
/** csum_data: the L4 checksum computed on receive, the checksum field offset on transmit. */
export const META_CSUM_DATA = 4;
/** TSO segment size (tso_segsz) for CSUM_TSO frames, else 0. */
export const META_TSO_SEGSZ = 5;
/** 802.1Q TCI (ether_vtag), valid when META_FLAGS has M_VLANTAG. */
export const META_VLAN = 6;
/** m_flags bits (M_BCAST, M_MCAST, M_VLANTAG). */
export const META_FLAGS = 7;
/** L2 and L3 header lengths, for a link that finishes offloaded checksums or segments. */
export const META_L2HLEN = 8;
export const META_L3HLEN = 9;
/**
 * The runtime's flow id: an opaque tag the sender attaches (the owning connection's index
 * in its group, a TOE tid) so a hop to another thread needs no second lookup; 0 = none.
 */
export const META_FLOW_TAG = 10;
/**
 * The interface a hop's frame arrived on when it was not the link: an epair end to the
 * vnet worker, as its unit + 1 (the same end in every worker); 0 = the link's port.
 */
export const META_RCVIF = 11;
/** Int32 words of metadata per slot: one 64-byte cache line. */
export const META_WORDS = 16;

export const RING_SLOT_SIZE_DEFAULT = 2048;
export const RING_SLOTS_DEFAULT = 1024;
const RING_SLOTS_MAX = 1 << 24;

/** The metadata fields as an object: netinet's FrameMeta plus the runtime's flow tag. */
export interface RingFrameMeta extends FrameMeta {
  flowTag?: number;
}

export interface FrameRingOptions {
  /** Slot count, a power of two (default 1024). */
  slots?: number;
  /** Bytes per slot, a positive multiple of 8 (default 2048: a 1500-byte MTU frame and headroom). */
  slotSize?: number;
  /**
   * Initial value of the free-running HEAD/TAIL counters (default 0); a value near 2^32
   * exercises the counter wrap without pushing four billion frames.
   */
  startIndex?: number;
}

/** Byte size of the SharedArrayBuffer a ring of this geometry needs. */
export function frameRingBytes(slots: number, slotSize: number): number {
  return CTL_BYTES + slots * META_WORDS * 4 + slots * slotSize;
}

/**
 * The shared layout: views over the SAB that both sides use. Construct with `create` on
 * one thread and `attach` on the other; wrap it in one RingProducer and one RingConsumer.
 */
export class FrameRing {
  readonly sab: SharedArrayBuffer;
  readonly slots: number;
  readonly slotSize: number;
  readonly mask: number;
  /** Control words; exposed for the producer/consumer classes of this module. */
  readonly ctl: Int32Array;
  /** slots x META_WORDS: row of slot s starts at s * META_WORDS. */
  readonly meta: Int32Array;
  /** The whole data region. */
  readonly data: Uint8Array;
  /** One preallocated view per slot (slotSize bytes), so the hot path allocates nothing. */
  readonly views: readonly Uint8Array[];

  private constructor(sab: SharedArrayBuffer, slots: number, slotSize: number) {
    this.sab = sab;
    this.slots = slots;
    this.slotSize = slotSize;
    this.mask = slots - 1;
    this.ctl = new Int32Array(sab, 0, CTL_BYTES / 4);
    this.meta = new Int32Array(sab, CTL_BYTES, slots * META_WORDS);
    const dataOff = CTL_BYTES + slots * META_WORDS * 4;
    this.data = new Uint8Array(sab, dataOff, slots * slotSize);
    const views: Uint8Array[] = [];
    for (let s = 0; s < slots; s++) views.push(new Uint8Array(sab, dataOff + s * slotSize, slotSize));
    this.views = views;
  }

  /** A new ring in a fresh SharedArrayBuffer. Throws EINVAL on a bad geometry. */
  static create(opts: FrameRingOptions = {}): FrameRing {
    const slots = opts.slots ?? RING_SLOTS_DEFAULT;
    const slotSize = opts.slotSize ?? RING_SLOT_SIZE_DEFAULT;
    if (!Number.isInteger(slots) || slots < 1 || slots > RING_SLOTS_MAX || (slots & (slots - 1)) !== 0) {
      throw new SysError('EINVAL', `ring slot count must be a power of two from 1 to ${RING_SLOTS_MAX}, got ${slots}`);
    }
    if (!Number.isInteger(slotSize) || slotSize < 8 || slotSize % 8 !== 0 || slotSize > 1 << 20) {
      throw new SysError('EINVAL', `ring slot size must be a multiple of 8 from 8 to 1 MiB, got ${slotSize}`);
    }
    const sab = new SharedArrayBuffer(frameRingBytes(slots, slotSize));
    const ctl = new Int32Array(sab, 0, CTL_BYTES / 4);
    ctl[C_SLOTS] = slots;
    ctl[C_SLOT_SIZE] = slotSize;
    ctl[C_HEAD] = ctl[C_TAIL] = (opts.startIndex ?? 0) | 0;
    Atomics.store(ctl, C_MAGIC, RING_MAGIC);
    return new FrameRing(sab, slots, slotSize);
  }

  /** The same ring seen from another thread (the SAB came through workerData or postMessage). */
  static attach(sab: SharedArrayBuffer): FrameRing {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < CTL_BYTES) {
      throw new SysError('EINVAL', 'not a frame ring buffer');
    }
    const ctl = new Int32Array(sab, 0, CTL_BYTES / 4);
    const slots = ctl[C_SLOTS]!;
    const slotSize = ctl[C_SLOT_SIZE]!;
    if (Atomics.load(ctl, C_MAGIC) !== RING_MAGIC || sab.byteLength !== frameRingBytes(slots, slotSize)) {
      throw new SysError('EINVAL', 'not a frame ring buffer');
    }
    return new FrameRing(sab, slots, slotSize);
  }

  /** Frames published and not yet released (racy by nature; for observability). */
  get count(): number {
    return (Atomics.load(this.ctl, C_TAIL) - Atomics.load(this.ctl, C_HEAD)) >>> 0;
  }

  /** Whether the producer closed the ring (no more frames will come). */
  get closed(): boolean {
    return Atomics.load(this.ctl, C_CLOSED) !== 0;
  }

  /** Metadata of slot `s` into `m` (allocation-free when `m` is reused). */
  readMeta(s: number, m: RingFrameMeta): RingFrameMeta {
    const b = s * META_WORDS;
    const meta = this.meta;
    m.flowid = meta[b + META_FLOWID]! >>> 0;
    m.hashType = meta[b + META_HASHTYPE]!;
    m.csumFlags = meta[b + META_CSUM_FLAGS]!;
    m.csumData = meta[b + META_CSUM_DATA]!;
    m.tsoSegsz = meta[b + META_TSO_SEGSZ]!;
    m.vlanTag = meta[b + META_VLAN]!;
    m.flags = meta[b + META_FLAGS]!;
    m.l2hlen = meta[b + META_L2HLEN]!;
    m.l3hlen = meta[b + META_L3HLEN]!;
    m.flowTag = meta[b + META_FLOW_TAG]!;
    return m;
  }

  /** Write every metadata field of slot `s` from `m` (flowTag 0 when absent). */
  writeMeta(s: number, m: RingFrameMeta): void {
    const b = s * META_WORDS;
    const meta = this.meta;
    meta[b + META_FLOWID] = m.flowid;
    meta[b + META_HASHTYPE] = m.hashType;
    meta[b + META_CSUM_FLAGS] = m.csumFlags;
    meta[b + META_CSUM_DATA] = m.csumData;
    meta[b + META_TSO_SEGSZ] = m.tsoSegsz;
    meta[b + META_VLAN] = m.vlanTag;
    meta[b + META_FLAGS] = m.flags;
    meta[b + META_L2HLEN] = m.l2hlen;
    meta[b + META_L3HLEN] = m.l3hlen;
    meta[b + META_FLOW_TAG] = m.flowTag ?? 0;
  }

  /** Zero every metadata field of slot `s` but the length. */
  clearMeta(s: number): void {
    const b = s * META_WORDS;
    this.meta.fill(0, b + META_FLOWID, b + META_WORDS);
  }

  /** Length of the frame in slot `s`. */
  len(s: number): number {
    return this.meta[s * META_WORDS + META_LEN]!;
  }

  /** The frame in slot `s`, trimmed to its length (a subarray: allocates; hot paths use views[s] and len(s)). */
  frame(s: number): Uint8Array {
    return this.views[s]!.subarray(0, this.len(s));
  }
}

/**
 * The producer side: reserve free slots, write frames in place, commit them, then publish
 * everything committed with one store.
 *
 *   const n = p.reserve(32);              // how many of 32 slots are free
 *   for (let k = 0; k < n; k++) {
 *     const s = p.slot(k);                // physical slot number
 *     ring.views[s].set(...); p.setLen(s, len); ring.meta[s * META_WORDS + META_FLOWID] = h;
 *   }
 *   p.commit(n); p.publish();
 */
export class RingProducer {
  readonly ring: FrameRing;
  /** Local tail: committed frames, published or not. */
  private tail: number;
  /** The tail other threads can see. */
  private published: number;
  /** Last HEAD read from the consumer. */
  private headCache: number;
  /** Times publish() woke a sleeping consumer. */
  notifies = 0;
  /** Frames published. */
  frames = 0;

  constructor(ring: FrameRing) {
    this.ring = ring;
    this.tail = Atomics.load(ring.ctl, C_TAIL) >>> 0;
    this.published = this.tail;
    this.headCache = Atomics.load(ring.ctl, C_HEAD) >>> 0;
  }

  /** Free slots now, up to `max`; they are slot(0) .. slot(n - 1). Never blocks. */
  reserve(max: number): number {
    const slots = this.ring.slots;
    let free = slots - ((this.tail - this.headCache) >>> 0);
    if (free < max) {
      this.headCache = Atomics.load(this.ring.ctl, C_HEAD) >>> 0;
      free = slots - ((this.tail - this.headCache) >>> 0);
    }
    return Math.min(free, max);
  }

  /** The physical slot of the k-th reserved frame. */
  slot(k: number): number {
    return (this.tail + k) & this.ring.mask;
  }

  /** Set the frame length of slot `s` (the other metadata words are the writer's to set). */
  setLen(s: number, len: number): void {
    this.ring.meta[s * META_WORDS + META_LEN] = len;
  }

  /** Mark the first `n` reserved slots written (still invisible until publish()). */
  commit(n: number): void {
    this.tail = (this.tail + n) >>> 0;
  }

  /**
   * One slot for one frame, committed: the slot number, or -1 when the ring is full (the
   * caller counts a drop). Publish later with publish().
   */
  alloc(): number {
    if (this.reserve(1) === 0) return -1;
    const s = this.tail & this.ring.mask;
    this.tail = (this.tail + 1) >>> 0;
    return s;
  }

  /**
   * Copy `len` bytes of `src` from `off` into a new slot with cleared metadata and commit
   * it; the slot number or -1 when the ring is full. `len` must fit a slot (EINVAL).
   */
  push(src: Uint8Array, off = 0, len = src.length - off): number {
    if (len > this.ring.slotSize || len < 0) {
      throw new SysError('EINVAL', `frame of ${len} bytes does not fit a ${this.ring.slotSize}-byte slot`);
    }
    const s = this.alloc();
    if (s < 0) return -1;
    this.ring.views[s]!.set(off === 0 && len === src.length ? src : src.subarray(off, off + len));
    this.ring.clearMeta(s);
    this.ring.meta[s * META_WORDS + META_LEN] = len;
    return s;
  }

  /**
   * Room for one more frame now, else ask the consumer to say when it frees slots (its
   * spaceWanted()) and look once more: false only when the consumer will see the ask.
   */
  roomAfterAsk(): boolean {
    if (this.reserve(1) > 0) return true;
    Atomics.store(this.ring.ctl, C_WANT_SPACE, 1);
    return this.reserve(1) > 0;
  }

  /** Frames committed and not yet published. */
  get pending(): number {
    return (this.tail - this.published) >>> 0;
  }

  /**
   * Make every committed frame visible with one Atomics.store of TAIL, and wake the
   * consumer only if it said it is going to sleep. Returns how many frames it published.
   */
  publish(): number {
    const n = (this.tail - this.published) >>> 0;
    if (n === 0) return 0;
    const ctl = this.ring.ctl;
    Atomics.store(ctl, C_TAIL, this.tail | 0);
    this.published = this.tail;
    this.frames += n;
    // exchange, not load: one announcement of sleep earns one ring, however many batches
    // the producer publishes before the consumer is up again.
    if (Atomics.exchange(ctl, C_SLEEPING, 0) !== 0) {
      Atomics.add(ctl, C_BELL, 1);
      Atomics.notify(ctl, C_BELL);
      this.notifies++;
    }
    return n;
  }

  /** Publish what is committed, then say no more frames will come, waking the consumer. */
  close(): void {
    this.publish();
    const ctl = this.ring.ctl;
    Atomics.store(ctl, C_CLOSED, 1);
    Atomics.add(ctl, C_BELL, 1);
    Atomics.notify(ctl, C_BELL);
  }
}

/** What RingConsumer.wait() saw. */
export type RingWaitResult = 'ready' | 'timed-out' | 'closed';

interface WaitAsyncResult {
  async: boolean;
  value: 'not-equal' | 'timed-out' | 'ok' | Promise<'ok' | 'timed-out'>;
}
const waitAsync = (
  Atomics as unknown as {
    waitAsync?: (a: Int32Array, i: number, v: number, t?: number) => WaitAsyncResult;
  }
).waitAsync;

/**
 * The consumer side: peek a batch, read it in place, release it with one store.
 *
 *   const n = c.peek(32);
 *   for (let k = 0; k < n; k++) { const s = c.slot(k); input(ring.views[s], ring.len(s)); }
 *   c.release(n);
 */
export class RingConsumer {
  readonly ring: FrameRing;
  private head: number;
  private tailCache: number;
  /** Times wait()/waitAsync() announced sleep (set SLEEPING); each earns at most one ring. */
  sleeps = 0;
  /** Frames released. */
  frames = 0;

  constructor(ring: FrameRing) {
    this.ring = ring;
    this.head = Atomics.load(ring.ctl, C_HEAD) >>> 0;
    this.tailCache = Atomics.load(ring.ctl, C_TAIL) >>> 0;
  }

  /** Frames ready now, up to `max`; they are slot(0) .. slot(n - 1). */
  peek(max: number): number {
    let n = (this.tailCache - this.head) >>> 0;
    if (n < max) {
      this.tailCache = Atomics.load(this.ring.ctl, C_TAIL) >>> 0;
      n = (this.tailCache - this.head) >>> 0;
    }
    return Math.min(n, max);
  }

  /** The physical slot of the k-th peeked frame. */
  slot(k: number): number {
    return (this.head + k) & this.ring.mask;
  }

  /** Give the first `n` peeked slots back to the producer (one store). */
  release(n: number): void {
    if (n === 0) return;
    this.head = (this.head + n) >>> 0;
    Atomics.store(this.ring.ctl, C_HEAD, this.head | 0);
    this.frames += n;
  }

  /**
   * After release(): whether the producer asked to be told of freed slots (roomAfterAsk);
   * the ask is taken, so the caller wakes it once.
   */
  spaceWanted(): boolean {
    const ctl = this.ring.ctl;
    return Atomics.load(ctl, C_WANT_SPACE) !== 0 && Atomics.exchange(ctl, C_WANT_SPACE, 0) !== 0;
  }

  /**
   * Block this thread until a frame is ready, the producer closes the ring, or `timeoutMs`
   * passes (Atomics.wait: worker threads only, never the main thread's event loop). It
   * first polls TAIL `spins` times: a consumer that is about to be fed saves the producer
   * the futex wake (a system call) that ringing a sleeper costs.
   */
  wait(timeoutMs = Infinity, spins = 0): RingWaitResult {
    const ctl = this.ring.ctl;
    for (let i = 0; i < spins; i++) if (this.peek(1) > 0) return 'ready';
    for (;;) {
      const bell = this.announce();
      if (typeof bell === 'string') return bell;
      const r = Atomics.wait(ctl, C_BELL, bell, timeoutMs);
      Atomics.store(ctl, C_SLEEPING, 0);
      if (r === 'timed-out') return this.peek(1) > 0 ? 'ready' : this.closedOr('timed-out');
      // 'ok' or 'not-equal': loop to re-check (a spurious wake re-arms the sleep).
    }
  }

  /**
   * The same for the main thread, through Atomics.waitAsync: resolves when a frame is ready,
   * the ring is closed, or the timeout passes, without blocking the event loop.
   */
  async waitAsync(timeoutMs = Infinity): Promise<RingWaitResult> {
    if (waitAsync === undefined) throw new SysError('EOPNOTSUPP', 'Atomics.waitAsync is not available');
    const ctl = this.ring.ctl;
    for (;;) {
      const bell = this.announce();
      if (typeof bell === 'string') return bell;
      const w = waitAsync(ctl, C_BELL, bell, timeoutMs);
      const r = w.async ? await (w.value as Promise<'ok' | 'timed-out'>) : w.value;
      Atomics.store(ctl, C_SLEEPING, 0);
      if (r === 'timed-out') return this.peek(1) > 0 ? 'ready' : this.closedOr('timed-out');
    }
  }

  /**
   * Say we are going to sleep, then re-check (the lost-wakeup guard): a result when there
   * is no need to sleep, else the BELL value to wait on (SLEEPING left set).
   */
  private announce(): RingWaitResult | number {
    const ctl = this.ring.ctl;
    if (this.peek(1) > 0) return 'ready';
    Atomics.store(ctl, C_SLEEPING, 1);
    this.sleeps++;
    const bell = Atomics.load(ctl, C_BELL);
    if (this.peek(1) > 0) {
      Atomics.store(ctl, C_SLEEPING, 0);
      return 'ready';
    }
    if (Atomics.load(ctl, C_CLOSED) !== 0) {
      Atomics.store(ctl, C_SLEEPING, 0);
      return this.peek(1) > 0 ? 'ready' : 'closed';
    }
    return bell;
  }

  private closedOr(r: RingWaitResult): RingWaitResult {
    return Atomics.load(this.ring.ctl, C_CLOSED) !== 0 ? 'closed' : r;
  }
}
