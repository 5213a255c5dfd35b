/**
 * The main-thread end of one group worker's socket rings (the worker end is
 * @mcstack/runtime's worker/sockapp.ts; both speak the records of @mcstack/runtime/sockrec): it writes
 * orders and data into the down ring, and reads the up ring in batches from an async
 * loop that sleeps with Atomics.waitAsync only when the ring is empty (no postMessage
 * per record, and no timer spinning).
 */
import { type FrameRing, RingProducer, RingConsumer, META_WORDS } from '@mcstack/runtime';
import {
  putRecord,
  recText,
  REC_LEN,
  REC_OP,
  REC_SOCK,
  REC_ARG,
  OP_DATA,
  OP_CLOSE,
  OP_LISTENING,
  OP_ACCEPT,
  OP_CONNECTED,
  OP_END,
  OP_ERROR,
  OP_WRITTEN,
  OP_UNLISTENED,
  OP_MOVED,
  OP_UDP_SEND,
  OP_UDP_BOUND,
  OP_UDP_MSG,
  OP_UDP_SENT,
  OP_UDP_CLOSED,
  REC_ARG2,
  REC_ARG3,
  REC_ARG4,
  UDP_ADDR_BYTES,
} from '@mcstack/runtime/sockrec';
import { mainActive, mainRead, mainPollTurn, mainPollHit, mainLoop, mainWait } from './mainpoll.js';

/** A socket as the channel sees it (implemented by Socket). */
export interface ChannelPeer {
  _onConnected(tuple: string): void;
  /** Data received: a fresh Buffer the peer keeps. */
  _onData(buf: Buffer): void;
  _onEnd(): void;
  _onError(errno: number): void;
  _onWritten(bytes: number): void;
  /** The down ring has room again after this peer found it full. */
  _onRingSpace(): void;
  /**
   * The connection left this worker (a live handoff): its last record here, with the
   * bytes the engine took since the last OP_WRITTEN. The id is gone on this channel.
   */
  _onMoved(written: number): void;
}

/** A listening server as the channel sees it (implemented by Server). */
export interface ListenerPeer {
  _onListening(ch: Channel, errno: number, bound: string): void;
  _onAccept(ch: Channel, sid: number, tuple: string): void;
  /** The worker closed the listener (after an OP_UNLISTEN). */
  _onUnlistened(ch: Channel): void;
}

/** A dgram socket as the channel sees it (implemented by the dgram Socket). */
export interface UdpPeer {
  /** The worker's socket is bound (errno 0) with these buffer sizes, or failed. */
  _onBound(ch: Channel, errno: number, bound: string, rcvbuf: number, sndbuf: number): void;
  /** A datagram: a fresh Buffer the peer keeps. */
  _onMessage(buf: Buffer, address: string, port: number, family: 4 | 6): void;
  _onSent(errno: number, id: number, bytes: number): void;
  /** This worker's socket is closed and its share of the port given back. */
  _onClosed(ch: Channel): void;
}

const addrEnc = new TextEncoder();
const addrDec = new TextDecoder();

/** Records handled per turn before the loop yields to the event loop. */
const DRAIN_BUDGET = 256;
/** Received records of one socket joined into one Buffer up to this many bytes (small ones are what gains). */
const JOIN_MAX = 64 * 1024;
/** Longest sleep before the loop re-checks whether it was stopped, ms. */
const IDLE_WAIT_MS = 100;

export class Channel {
  readonly worker: number;
  readonly down: FrameRing;
  readonly up: FrameRing;
  /** Bytes of one data record (a slot). */
  readonly slotSize: number;
  /** The down ring's data region (slot s at s * slotSize), as one view. */
  private readonly downData: Uint8Array;
  /** Sockets of this worker by id. */
  readonly socks = new Map<number, ChannelPeer>();
  /** dgram sockets by (negative) id: the same map for every channel of a stack. */
  udp: ReadonlyMap<number, UdpPeer> = new Map();
  private readonly prod: RingProducer;
  private readonly cons: RingConsumer;
  private readonly listeners: ReadonlyMap<number, ListenerPeer>;
  private readonly wakeWorker: () => void;
  /** Control records that found the ring full, in order. */
  private readonly backlog: (() => boolean)[] = [];
  /** Peers waiting for ring space to write data. */
  private readonly spaceWaiters = new Set<ChannelPeer>();
  private spaceTimer: NodeJS.Timeout | null = null;
  private nextSid = 2;
  private stopped = false;
  /** The last data record, still unpublished, that more data of its socket may join (sid 0: none). */
  private openSid = 0;
  private openSlot = -1;
  private openLen = 0;
  private flushQueued = false;
  /** The worker is gone: nothing more will be read, writes are dropped. */
  dead = false;
  /** Records read. */
  records = 0;

  constructor(
    worker: number,
    down: FrameRing,
    up: FrameRing,
    listeners: ReadonlyMap<number, ListenerPeer>,
    wakeWorker: () => void,
  ) {
    this.worker = worker;
    this.down = down;
    this.up = up;
    this.slotSize = down.slotSize;
    this.downData = down.data;
    this.prod = new RingProducer(down);
    this.cons = new RingConsumer(up);
    this.listeners = listeners;
    this.wakeWorker = wakeWorker;
  }

  /** A new id for a socket this side opens (even: the worker numbers accepted ones odd). */
  allocSid(): number {
    const sid = this.nextSid;
    this.nextSid = (this.nextSid + 2) & 0x7ffffffe;
    if (this.nextSid === 0) this.nextSid = 2;
    return sid;
  }

  /**
   * Up to `len` bytes of `buf` from `off` as data of socket `sid`: appended to that
   * socket's last record while it is still unpublished and has room, else into new
   * records (a slot each). Returns the bytes taken; fewer than `len` when the ring is full
   * (the peer is told through _onRingSpace when to retry). Published at the end of the
   * tick (flushSoon), so the writes of one tick are one batch: few records, one wake-up.
   */
  data(peer: ChannelPeer, sid: number, buf: Uint8Array, off: number, len: number): number {
    if (this.dead) return len; // dropped: the socket is being reset
    const ring = this.down;
    let done = 0;
    if (this.openSid === sid && this.openLen < this.slotSize) {
      const n = Math.min(this.slotSize - this.openLen, len);
      this.downData.set(
        n === buf.length ? buf : buf.subarray(off, off + n),
        this.openSlot * this.slotSize + this.openLen,
      );
      this.openLen += n;
      ring.meta[this.openSlot * META_WORDS + REC_LEN] = this.openLen;
      done = n;
    }
    while (done < len && this.backlog.length === 0) {
      const s = this.prod.alloc();
      if (s < 0) break;
      const n = Math.min(this.slotSize, len - done);
      // The whole buffer (the usual write) is copied without a view of it made first.
      this.downData.set(n === buf.length ? buf : buf.subarray(off + done, off + done + n), s * this.slotSize);
      putRecord(ring, s, OP_DATA, sid);
      ring.meta[s * META_WORDS + REC_LEN] = n;
      this.openSid = sid;
      this.openSlot = s;
      this.openLen = n;
      done += n;
    }
    if (done < len) this.waitSpace(peer);
    this.flushSoon();
    return done;
  }

  /**
   * One datagram to `address`:`port` (address text, family 4 or 6) from the buffers, as
   * one record; EMSGSIZE when it does not fit a slot. Queued in order when the ring is full.
   * `id` asks for an OP_UDP_SENT answer (0: only a failure is answered).
   */
  datagram(sid: number, port: number, family: 4 | 6, address: string, bufs: readonly Uint8Array[], id: number): number {
    if (this.dead) return 0;
    let len = 0;
    for (const b of bufs) len += b.length;
    if (len > this.slotSize - UDP_ADDR_BYTES) return -1;
    const put = (): boolean => {
      const s = this.prod.alloc();
      if (s < 0) return false;
      const view = this.down.views[s]!;
      const alen = addrEnc.encodeInto(address, view.subarray(0, UDP_ADDR_BYTES)).written;
      let off = UDP_ADDR_BYTES;
      for (const b of bufs) {
        view.set(b, off);
        off += b.length;
      }
      putRecord(this.down, s, OP_UDP_SEND, sid, port, family, alen);
      const m = this.down.meta;
      m[s * META_WORDS + REC_LEN] = off;
      m[s * META_WORDS + REC_ARG4] = id;
      this.openSid = 0;
      return true;
    };
    if (this.backlog.length > 0 || !put()) {
      // The ring is full: a copy waits in order (the caller may reuse its buffers).
      const copy = bufs.map((b) => Uint8Array.prototype.slice.call(b));
      bufs = copy;
      this.backlog.push(put);
      this.armSpaceTimer();
    }
    this.flushSoon();
    return 0;
  }

  /** A control record; queued in order when the ring is full. Published with this tick's batch. */
  control(op: number, sid: number, arg = 0, arg2 = 0, arg3 = 0, text?: string): void {
    if (this.dead) return;
    const put = (): boolean => {
      const s = this.prod.alloc();
      if (s < 0) return false;
      putRecord(this.down, s, op, sid, arg, arg2, arg3, text);
      // Data after this record is a new record: the order of the two must hold.
      this.openSid = 0;
      return true;
    };
    if (this.backlog.length > 0 || !put()) {
      this.backlog.push(put);
      this.armSpaceTimer();
    }
    this.flushSoon();
  }

  /** Publish at the end of this tick (once, whatever was written meanwhile). */
  flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(this.flushNow);
  }

  private readonly flushNow = (): void => {
    this.flushQueued = false;
    this.publish();
  };

  /** Make what was written visible and wake the worker if it sleeps. */
  publish(): void {
    this.openSid = 0; // the worker may read it from now on
    if (this.prod.publish() > 0) {
      mainActive();
      this.wakeWorker();
    }
  }

  /** Start the receive loop. */
  start(): void {
    void this.run();
  }

  /** End the receive loop (the stack is stopping). */
  stop(): void {
    this.stopped = true;
    if (this.spaceTimer) {
      clearTimeout(this.spaceTimer);
      this.spaceTimer = null;
    }
  }

  /**
   * The worker died (errno: its sockets are reset with it, e.g. ECONNRESET) or the stack
   * is going away (0: they are closed without an error).
   */
  kill(errno: number): void {
    if (this.dead) return;
    this.dead = true;
    this.stop();
    const peers = [...this.socks.values()];
    this.socks.clear();
    this.spaceWaiters.clear();
    for (const p of peers) p._onError(errno);
    this.onDead?.(this);
  }

  /** Called once when the channel dies (set by the McNet). */
  onDead: ((ch: Channel) => void) | null = null;

  private waitSpace(peer: ChannelPeer): void {
    this.spaceWaiters.add(peer);
    this.armSpaceTimer();
  }

  /*
   * The worker does not announce freed slots; a drain of its up ring (it is running) or,
   * failing that, a short timer retries the writers that found the ring full.
   */
  private armSpaceTimer(): void {
    if (this.spaceTimer !== null || this.stopped) return;
    this.spaceTimer = setTimeout(() => {
      this.spaceTimer = null;
      this.retrySpace();
    }, 1);
  }

  private retrySpace(): void {
    while (this.backlog.length > 0 && this.backlog[0]!()) this.backlog.shift();
    this.publish();
    if (this.backlog.length === 0 && this.spaceWaiters.size > 0) {
      const waiters = [...this.spaceWaiters];
      this.spaceWaiters.clear();
      for (const p of waiters) p._onRingSpace();
    }
    if (this.backlog.length > 0 || this.spaceWaiters.size > 0) this.armSpaceTimer();
  }

  private async run(): Promise<void> {
    mainLoop(1);
    try {
      await this.loop();
    } finally {
      mainLoop(-1);
    }
  }

  private async loop(): Promise<void> {
    let polled = false;
    while (!this.stopped) {
      if (this.drain() > 0) {
        if (polled) mainPollHit();
        polled = false;
        mainRead();
        // Let streams and timers run between batches.
        await new Promise<void>((r) => setImmediate(r));
        continue;
      }
      // Shortly after activity, poll a few turns rather than sleep (mainpoll.ts).
      polled = mainPollTurn();
      if (polled) {
        await new Promise<void>((r) => setImmediate(r));
        continue;
      }
      mainWait(1);
      let r: Awaited<ReturnType<RingConsumer['waitAsync']>>;
      try {
        r = await this.cons.waitAsync(IDLE_WAIT_MS);
      } finally {
        mainWait(-1);
      }
      if (r === 'closed' && this.cons.peek(1) === 0) {
        // The worker closed its ring (the stack stopped): its sockets end with it.
        this.kill(0);
        break;
      }
    }
  }

  /** Handle up to DRAIN_BUDGET records; how many. */
  drain(): number {
    const ring = this.up;
    const m = ring.meta;
    const n = this.cons.peek(DRAIN_BUDGET);
    if (n === 0) return 0;
    for (let k = 0; k < n && !this.dead; k++) {
      const s = this.cons.slot(k);
      const b = s * META_WORDS;
      const sid = m[b + REC_SOCK]!;
      const arg = m[b + REC_ARG]!;
      switch (m[b + REC_OP]) {
        case OP_DATA: {
          // The socket's records that follow in this batch become one Buffer and one push.
          let len = m[b + REC_LEN]!;
          let j = k;
          while (j + 1 < n) {
            const b2 = this.cons.slot(j + 1) * META_WORDS;
            if (m[b2 + REC_OP] !== OP_DATA || m[b2 + REC_SOCK] !== sid || len + m[b2 + REC_LEN]! > JOIN_MAX) break;
            len += m[b2 + REC_LEN]!;
            j++;
          }
          const peer = this.socks.get(sid);
          if (peer !== undefined) {
            const buf = Buffer.allocUnsafe(len);
            let off = 0;
            for (let i = k; i <= j; i++) {
              const si = this.cons.slot(i);
              const l = m[si * META_WORDS + REC_LEN]!;
              buf.set(ring.views[si]!.subarray(0, l), off);
              off += l;
            }
            peer._onData(buf);
          }
          k = j;
          break;
        }
        case OP_WRITTEN:
          this.socks.get(sid)?._onWritten(arg);
          break;
        case OP_CONNECTED:
          this.socks.get(sid)?._onConnected(recText(ring, s));
          break;
        case OP_END:
          this.socks.get(sid)?._onEnd();
          break;
        case OP_MOVED: {
          const p = this.socks.get(sid);
          this.socks.delete(sid);
          if (p !== undefined) {
            this.spaceWaiters.delete(p);
            p._onMoved(arg);
          }
          break;
        }
        case OP_ERROR: {
          const p = this.socks.get(sid);
          this.socks.delete(sid);
          p?._onError(arg);
          break;
        }
        case OP_ACCEPT: {
          const l = this.listeners.get(arg);
          if (l) l._onAccept(this, sid, recText(ring, s));
          else this.control(OP_CLOSE, sid, 1); // the server closed meanwhile: abort it
          break;
        }
        case OP_LISTENING:
          this.listeners.get(sid)?._onListening(this, arg, recText(ring, s));
          break;
        case OP_UNLISTENED:
          this.listeners.get(sid)?._onUnlistened(this);
          break;
        case OP_UDP_MSG: {
          const u = this.udp.get(sid);
          if (u === undefined) break;
          const view = ring.views[s]!;
          const address = addrDec.decode(view.subarray(0, m[b + REC_ARG3]!));
          const buf = Buffer.from(view.subarray(UDP_ADDR_BYTES, m[b + REC_LEN]!));
          u._onMessage(buf, address, arg, m[b + REC_ARG2]! === 6 ? 6 : 4);
          break;
        }
        case OP_UDP_SENT:
          this.udp.get(sid)?._onSent(arg, m[b + REC_ARG2]!, m[b + REC_ARG3]!);
          break;
        case OP_UDP_CLOSED:
          this.udp.get(sid)?._onClosed(this);
          break;
        case OP_UDP_BOUND:
          this.udp.get(sid)?._onBound(this, arg, recText(ring, s), m[b + REC_ARG2]!, m[b + REC_ARG3]!);
          break;
        default:
          break;
      }
    }
    this.cons.release(n);
    this.records += n;
    // Wake the worker only when it found this ring full and asked (ring.ts, roomAfterAsk).
    if (this.cons.spaceWanted()) this.wakeWorker();
    // It is running: retry our writers that found its down ring full.
    if (this.backlog.length > 0 || this.spaceWaiters.size > 0) this.retrySpace();
    return n;
  }
}
