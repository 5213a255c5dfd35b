/**
 * One queue of a native link — a multi-queue TAP device's queue (links/tapmq.ts) or an
 * AF_PACKET socket with its receive ring (links/afpacket.ts) — read and written by the
 * group worker that owns it (the main thread opens it; the worker gets its fd): frames go
 * from the kernel straight into this worker's engine and from its engine straight to the
 * kernel, with no other thread in between.
 *
 * Receive: read() (or the ring's slots) until EAGAIN or the batch is full; the virtio-net header becomes the
 * frame's checksum metadata (vtnet.ts); the Toeplitz hash is computed as a NIC's RSS
 * would. The kernel picks the queue by its own flow hash for a flow it has not seen and
 * then by the queue the flow was last written from (tun_automq_select_queue and
 * tun_flow_update in drivers/net/tun.c), so once a connection's owner has sent on it its
 * frames arrive on the owner's queue. Until then (a SYN, the first segments) a frame
 * whose bucket another worker owns hops to that worker's ring, counted as the queue's
 * `forwarded` (the owner counts it in hopsIn); a GRO-coalesced frame too large for a hop
 * slot is cut into its segments first (tsocut.ts). Frames every queue must see (ARP,
 * multicast, neighbour discovery) are handed to the local engine and copied to every
 * sibling, as the single-queue link floods them.
 *
 * Transmit: a small frame is copied behind a virtio-net header in one buffer and written
 * with one write(2); a large one (the engine's TSO segments) goes with its header by one
 * writev(2) from where the engine built it, not copied (native/iovec.ts). Delayed
 * checksums and TSO go to the kernel as NEEDS_CSUM and GSO.
 *
 * Counters: queuestats.ts (dev.vtnet.N.rxqM.*, txqM.*).
 */
import type { FrameMeta, Ifnet } from '@mcstack/netinet';
import { newFrameMeta, IFCAP_RXCSUM, IFCAP_RXCSUM_IPV6, IFCAP_LRO } from '@mcstack/netinet';
import { FrameClassifier, M_HASHTYPE_NONE } from '@mcstack/rss';
import * as libc from '../native/libc.js';
import { EAGAIN, EINTR, NativeError } from '../native/errors.js';
import { IoVecs } from '../native/iovec.js';
import { TUNSETOFFLOAD, TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6 } from '../native/tun.js';
import { floodsAllQueues } from '../link.js';
import { type LinkTx, FLOW_TAG_FLOOD } from '../linkmatrix.js';
import { vtnetRxCsum, vtnetRxGsoSize, vtnetRxSegs, vtnetTxOffload } from './vtnet.js';
import { tcpSegCut } from './tsocut.js';
import { GsoBatch } from './gsobatch.js';
import { type PipeLine, pipeClock } from '../pipe.js';
import { META_WORDS, META_LEN, type RingFrameMeta } from '../ring.js';
import {
  K,
  IPACKETS,
  IBYTES,
  IERRORS,
  HOST_LRO,
  FORWARDED,
  FLOODS,
  IQDROPS,
  OPACKETS,
  OBYTES,
  TSO,
  CSUM,
  OERRORS,
  ACK_DROPS,
} from './queuestats.js';
import { AckFilter } from './ackfilter.js';

/** A slot of the pipe's delay line: a frame of a 1500-byte MTU and its VLAN tag, with room. */
export const PIPE_SLOT_SIZE = 2048;
/** The largest MTU whose frames fit a slot: less the Ethernet header (14) and a VLAN tag (4). */
export const PIPE_MTU_MAX = PIPE_SLOT_SIZE - 14 - 4;
/** Largest frame a TAP queue hands over: a 64 KiB GSO packet and its Ethernet header. */
const MAX_FRAME = 65535 + 14 + 4;
/**
 * Frames from this size on are written by writev(2) from the engine's buffer: below it,
 * copying behind the header costs less than the second iovec (a 1500-byte frame: the same).
 */
const WRITEV_MIN = 4096;
/** The segment size to cut by when a coalesced frame does not say (RFC 9293 §3.7.1's Ethernet MSS). */
const DEFAULT_MSS = 1460;
/** struct tpacket2_hdr (linux/if_packet.h): tp_status at 0, tp_snaplen, tp_mac (host order). */
const TP2_LEN = 4;
const TP2_SNAPLEN = 8;
const TP2_MAC = 12;
const TP_STATUS_KERNEL = 0;
const TP_STATUS_USER = 1;

export interface QueuePortOptions {
  fd: number;
  /** The counters of every queue (queuestats.ts queueStatsSab); this queue writes row `worker`. */
  stats: SharedArrayBuffer;
  /** Bytes of virtio-net header before each frame (10 or 12). */
  hdrSize: number;
  /** This worker, and the stack's indirection table (bucket -> worker). */
  worker: number;
  own: Uint16Array;
  /** Hop rings to the siblings (LinkTx with one producer per worker). */
  hops: LinkTx;
  /** The interface whose capenable (RXCSUM, LRO) decides the receive offloads. */
  ifp: Ifnet;
  /** The engine's input for this interface. */
  input: (frame: Uint8Array, meta: FrameMeta) => void;
  /**
   * A TPACKET_V2 receive ring mapped at `addr` (AF_PACKET, native/packet.ts) to take
   * frames from instead of read(2); writes still go through write(2) on `fd`.
   */
  ring?: { addr: number; frameSize: number; frames: number };
  /** What setting the device's receive offloads means: TUNSETOFFLOAD on a TAP, nothing on AF_PACKET. */
  kind: 'tap' | 'af_packet';
  /** An eventfd polled beside the queue, made readable by this worker's doorbell (doorbell.ts); 0: none. */
  wakeFd?: number;
}

/** TUNSETOFFLOAD flags for what an interface's capenable lets the kernel send it unfinished. */
export function tunOffloadsFor(capenable: number): number {
  const lro = (capenable & IFCAP_LRO) !== 0;
  const rxcsum = (capenable & (IFCAP_RXCSUM | IFCAP_RXCSUM_IPV6)) !== 0;
  // GSO needs partial checksums (tun's set_offload refuses TSO without CSUM).
  return (rxcsum || lro ? TUN_F_CSUM : 0) | (lro ? TUN_F_TSO4 | TUN_F_TSO6 : 0);
}

export class QueuePort {
  /** This queue's row of the shared counters. */
  private readonly st: Float64Array;
  private readonly o: QueuePortOptions;
  private readonly fd: number;
  private readonly hs: number;
  private readonly rxBuf: Uint8Array;
  /** Views of rxBuf's frame, one per length seen (the engine takes a view of exactly the frame). */
  private readonly rxViews: Uint8Array[] = [];
  private readonly txBuf: Uint8Array;
  private readonly txFrame: Uint8Array;
  /** Segments held for one GSO write (gsobatch.ts), built in txFrame. */
  private readonly batch: GsoBatch;
  /** Pure ACKs held for later ones to replace (ackfilter.ts). */
  private readonly acks = new AckFilter((buf, len, meta) => {
    // The whole (small) buffer: no view made per ACK; write() takes its first `len` bytes.
    this.txFrame.set(buf);
    this.write(len, meta, 1);
  });
  /** The header and the frame of a writev(2) (null where the platform's iovec is not built here). */
  private readonly iov = IoVecs.supported ? new IoVecs(2) : null;
  private readonly cutBuf = new Uint8Array(MAX_FRAME);
  private readonly hasher = new FrameClassifier();
  private readonly meta = newFrameMeta();
  private readonly mask: number;
  private readonly pfd: libc.PollFd[];
  private offloads = -1;
  private cutTo = 0;
  /** Views of cutBuf, one per segment length. */
  private readonly cutViews: Uint8Array[] = [];
  private readonly cutSink = (seg: Uint8Array, len: number): void => {
    if (this.cutTo === this.o.worker) {
      let v = this.cutViews[len];
      if (v === undefined) {
        v = seg.subarray(0, len);
        this.cutViews[len] = v;
      }
      this.o.input(v, this.meta);
    } else if (!this.o.hops.copyTo(this.cutTo, seg, len, this.meta, 0)) this.st[IQDROPS] = this.st[IQDROPS]! + 1;
  };
  /** The frame being handled: its virtio-net header at fh[fho], its bytes ff. */
  private fh: Uint8Array;
  private fho = 0;
  private ff: Uint8Array;
  /** A TPACKET_V2 receive ring (AF_PACKET), or null: frames come by read(2). */
  private readonly ring: {
    bytes: Uint8Array;
    words: Uint32Array;
    frameSize: number;
    frames: number;
    views: Uint8Array[];
  } | null = null;
  private head = 0;
  /** The stack's pipe on this link (pipe.ts), when it has one. */
  pipe: PipeLine | null = null;
  private readonly pipeMeta: RingFrameMeta = newFrameMeta();

  constructor(o: QueuePortOptions) {
    this.o = o;
    this.fd = o.fd;
    this.hs = o.hdrSize;
    this.rxBuf = new Uint8Array(this.hs + MAX_FRAME);
    this.txBuf = new Uint8Array(this.hs + MAX_FRAME);
    this.txFrame = this.txBuf.subarray(this.hs);
    this.batch = new GsoBatch(this.txFrame);
    this.mask = o.own.length - 1;
    this.pfd = [{ fd: o.fd, events: libc.POLLIN, revents: 0 }];
    if (o.wakeFd) this.pfd.push({ fd: o.wakeFd, events: libc.POLLIN, revents: 0 });
    this.st = new Float64Array(o.stats, o.worker * K * 8, K);
    this.fh = this.rxBuf;
    this.ff = this.rxBuf;
    if (o.ring !== undefined) {
      const ab = libc.mapView(o.ring.addr, o.ring.frameSize * o.ring.frames);
      const bytes = new Uint8Array(ab);
      this.ring = {
        bytes,
        words: new Uint32Array(ab),
        frameSize: o.ring.frameSize,
        frames: o.ring.frames,
        views: Array.from({ length: o.ring.frames }, () => bytes.subarray(0, 0)),
      };
    }
  }

  /**
   * Follow the interface's capenable (`ifconfig cxgbe0 -lro`, `-rxcsum`) into TUNSETOFFLOAD.
   * The setting is the device's: every queue's owner sets the same value.
   */
  syncOffloads(): void {
    // AF_PACKET cannot tell the kernel: coalesced frames are cut here when LRO is off (rx()).
    if (this.o.kind !== 'tap') return;
    const want = tunOffloadsFor(this.o.ifp.capenable);
    if (want === this.offloads) return;
    this.offloads = want;
    libc.ioctl(this.fd, TUNSETOFFLOAD, want, 'TUNSETOFFLOAD');
  }

  private view(len: number): Uint8Array {
    let v = this.rxViews[len];
    if (v === undefined) {
      v = this.rxBuf.subarray(this.hs, this.hs + len);
      this.rxViews[len] = v;
    }
    return v;
  }

  /**
   * The next frame of a TPACKET_V2 ring (Documentation/networking/packet_mmap.rst): the
   * slot at the head is ours while its tp_status has TP_STATUS_USER; the virtio-net header
   * sits just before the frame (tp_mac), as tpacket_rcv puts it with PACKET_VNET_HDR.
   * Sets fh/fho/ff and returns the frame's length, or -EAGAIN; the slot goes back to the
   * kernel in releaseSlot() once the frame has been handled.
   */
  private nextFromRing(): number {
    const r = this.ring!;
    const base = this.head * r.frameSize;
    const w = r.words;
    if ((w[base >>> 2]! & TP_STATUS_USER) === 0) return -EAGAIN;
    const snap = w[(base + TP2_SNAPLEN) >>> 2]!;
    // Cut short by the slot (tp_len beyond tp_snaplen): not a frame the engine can take.
    if (w[(base + TP2_LEN) >>> 2] !== snap) return 0;
    const mac = base + (r.bytes[base + TP2_MAC]! | (r.bytes[base + TP2_MAC + 1]! << 8));
    this.fh = r.bytes;
    this.fho = mac - this.hs;
    let v = r.views[this.head]!;
    if (v.byteOffset !== mac || v.length !== snap) {
      v = r.bytes.subarray(mac, mac + snap);
      r.views[this.head] = v;
    }
    this.ff = v;
    return snap;
  }

  private releaseSlot(): void {
    const r = this.ring;
    if (r === null) return;
    r.words[(this.head * r.frameSize) >>> 2] = TP_STATUS_KERNEL;
    this.head = this.head + 1 === r.frames ? 0 : this.head + 1;
  }

  /** The next frame read(2) from the queue into rxBuf (same contract as nextFromRing). */
  private nextFromRead(): number {
    const r = libc.read(this.fd, this.rxBuf);
    if (r < 0) return r;
    const len = r - this.hs;
    if (len < 0) return 0;
    this.fh = this.rxBuf;
    this.fho = 0;
    this.ff = this.view(len);
    return len;
  }

  /** Take up to `budget` frames from the queue; the number taken. */
  rx(budget: number): number {
    const o = this.o;
    const st = this.st;
    const m = this.meta;
    const h = this.hasher;
    const me = o.worker;
    const rxcsum = (o.ifp.capenable & (IFCAP_RXCSUM | IFCAP_RXCSUM_IPV6)) !== 0;
    const lro = (o.ifp.capenable & IFCAP_LRO) !== 0;
    const ring = this.ring !== null;
    let n = 0;
    while (n < budget) {
      const len = ring ? this.nextFromRing() : this.nextFromRead();
      if (len < 0) {
        if (len === -EAGAIN) break;
        if (len === -EINTR) continue;
        // The queue is gone (EBADFD: the device was deleted) or broken: polling it again
        // would spin. The worker fails with the errno, and the stack reports it.
        st[IERRORS] = st[IERRORS]! + 1;
        throw new NativeError(-len, 'read', `${o.kind} queue of worker ${me}`);
      }
      n++;
      if (len < 14) {
        st[IERRORS] = st[IERRORS]! + 1;
        this.releaseSlot();
        continue;
      }
      st[IPACKETS] = st[IPACKETS]! + 1;
      st[IBYTES] = st[IBYTES]! + len;
      const f = this.ff;
      vtnetRxCsum(this.fh, this.fho, f, len, rxcsum, m);
      const gso = vtnetRxGsoSize(this.fh, this.fho);
      if (gso !== 0) st[HOST_LRO] = st[HOST_LRO]! + 1;
      h.hashFrame(f, 0, len);
      m.flowid = h.hash;
      m.hashType = h.hashType;
      m.vlanTag = 0;
      m.flags = 0;
      m.tsoSegsz = 0;
      m.l2hlen = 0;
      m.l3hlen = 0;
      // The kernel's GRO frame is a merged segment of this many (tcps_rcvpack counts them).
      // Its piece size is not passed on: tcp_input then acknowledges it once, as Linux's
      // own receiver does a GRO skb and its sender expects (it counts what an ACK covers);
      // an ACK per two pieces halved receive throughput here (95k writes for 256 MiB).
      m.lroNsegs = gso !== 0 ? vtnetRxSegs(f, len, gso) : 0;
      m.lroSegsz = 0;
      if (floodsAllQueues(f, 0, len, h.hashType)) {
        st[FLOODS] = st[FLOODS]! + 1;
        const workers = o.hops.producers.length;
        for (let j = 0; j < workers; j++)
          if (j !== me && !o.hops.copyTo(j, f, len, m, FLOW_TAG_FLOOD)) st[IQDROPS] = st[IQDROPS]! + 1;
        o.input(f, m);
        this.releaseSlot();
        continue;
      }
      const owner = h.hashType === M_HASHTYPE_NONE ? me : o.own[h.hash & this.mask]!;
      if (owner === me) {
        // A coalesced frame with LRO off (a device that cannot be told, AF_PACKET): its segments.
        if (gso !== 0 && !lro) this.cut(f, len, gso, me, rxcsum);
        else o.input(f, m);
      } else {
        st[FORWARDED] = st[FORWARDED]! + 1;
        if (len <= o.hops.producers[owner]!.ring.slotSize) {
          if (!o.hops.copyTo(owner, f, len, m, 0)) st[IQDROPS] = st[IQDROPS]! + 1;
        } else this.cut(f, len, gso, owner, rxcsum);
      }
      this.releaseSlot();
    }
    return n;
  }

  /**
   * Cut a coalesced frame into its segments (tsocut.ts) for worker `to`: this engine, or
   * another's hop ring (whose slots hold one MTU). Their TCP sums are computed unless
   * the frame is marked verified.
   */
  private cut(f: Uint8Array, len: number, gso: number, to: number, rxcsum: boolean): void {
    this.cutTo = to;
    this.meta.lroNsegs = 0; // each piece is one segment
    if (tcpSegCut(f, len, gso || DEFAULT_MSS, this.cutBuf, this.cutSink, !rxcsum) === 0)
      this.st[IQDROPS] = this.st[IQDROPS]! + 1;
  }

  /**
   * Take one frame the engine sent; false when it was not taken. A full-sized TCP segment
   * with a delayed checksum, on an interface with TSO enabled, is held to be sent with the
   * ones that follow it in this loop turn as one GSO frame (flush()): what the engine's
   * own TSO would hand over, and what the kernel gets from GRO on a real NIC.
   */
  tx(frame: Uint8Array, meta: FrameMeta): boolean {
    if (this.pipe !== null) return this.toPipe(this.pipe, frame, meta);
    const len = frame.length;
    // What is held goes out in the order the engine sent it: the GSO batch before an ACK
    // that follows it, held ACKs before any other frame (a later timestamp ahead of
    // earlier data would have the peer drop that data by PAWS, RFC 7323 §5).
    if (this.batch.segs > 0) {
      if (this.batch.append(frame, len)) {
        if (this.batch.closed) this.flushBatch();
        return true;
      }
      this.flushBatch();
    }
    const a = this.acks;
    if (a.offer(frame, len, meta)) {
      this.st[ACK_DROPS] = a.dropped;
      return true;
    }
    a.flush();
    if (len <= MAX_FRAME && this.batch.start(frame, len, meta, this.o.ifp.capenable)) return true;
    return this.send(frame, len, meta);
  }

  /**
   * A frame into the stack's pipe (pipe.ts): admitted to the bottleneck (or lost there, as
   * on the wire), then held in the delay line with the metadata its write needs until
   * flush() finds it due. The pipe's stacks have no TSO, so each frame is one packet.
   */
  private toPipe(pipe: PipeLine, frame: Uint8Array, meta: FrameMeta): boolean {
    const len = frame.length;
    if (len > PIPE_SLOT_SIZE) {
      this.st[OERRORS] = this.st[OERRORS]! + 1;
      return false;
    }
    const due = pipe.admit(frame, len, pipeClock());
    if (due < 0) return true;
    const s = pipe.alloc(0, due);
    if (s < 0) {
      this.st[OERRORS] = this.st[OERRORS]! + 1;
      return false;
    }
    const ring = pipe.frames;
    ring.views[s]!.set(frame);
    if (pipe.ce) pipe.markCe(s);
    ring.meta[s * META_WORDS + META_LEN] = len;
    ring.writeMeta(s, meta);
    return true;
  }

  /** ms until the first frame in the pipe's delay line is due (Infinity: none or no pipe). */
  get pipeWaitMs(): number {
    return this.pipe?.waitMs ?? Infinity;
  }

  /** Write the pipe's frames that are due, oldest first. */
  private drainPipe(pipe: PipeLine): void {
    const now = pipeClock();
    const ring = pipe.frames;
    for (let s = pipe.ready(now); s >= 0; s = pipe.ready(now)) {
      // The whole slot: txFrame has room, and write() sends only `len` bytes of it.
      this.txFrame.set(ring.views[s]!);
      this.write(ring.len(s), ring.readMeta(s, this.pipeMeta), 1);
      pipe.shift();
    }
  }

  /**
   * Write what tx() holds (at the end of a loop turn): the pipe's frames that are due, then
   * a GSO batch or ACKs, never both (each is written before the other is started).
   */
  flush(): void {
    if (this.pipe !== null) this.drainPipe(this.pipe);
    this.acks.flush();
    this.flushBatch();
  }

  private flushBatch(): void {
    const b = this.batch;
    if (b.segs === 0) return;
    const segs = b.segs;
    const len = b.finish();
    this.write(len, b.meta, segs);
  }

  private send(frame: Uint8Array, len: number, meta: FrameMeta): boolean {
    if (len > MAX_FRAME) {
      this.st[OERRORS] = this.st[OERRORS]! + 1;
      return false;
    }
    const iov = this.iov;
    if (iov !== null && len >= WRITEV_MIN) {
      // The header's fields go into txBuf, the frame's (IPv4 sum, pseudo-header seed) into
      // the engine's buffer: a driver owns the frame during if_transmit, as vtnet does its mbuf.
      this.offload(frame, len, meta);
      iov.set(0, this.txBuf, 0, this.hs);
      iov.set(1, frame, 0, len);
      return this.count(iov.writev(this.fd, 2), len, 1);
    }
    this.txFrame.set(frame);
    return this.write(len, meta, 1);
  }

  /** The virtio-net header for `frame` into txBuf (vtnet.ts), counted. */
  private offload(frame: Uint8Array, len: number, meta: FrameMeta): void {
    const st = this.st;
    if (vtnetTxOffload(frame, len, meta, this.txBuf, 0, this.hs) !== 0) st[TSO] = st[TSO]! + 1;
    if (this.txBuf[0] !== 0) st[CSUM] = st[CSUM]! + 1;
  }

  /** Write the `len`-byte frame in txFrame (`segs` of the engine's segments) with its header. */
  private write(len: number, meta: FrameMeta, segs: number): boolean {
    this.offload(this.txFrame, len, meta);
    return this.count(libc.write(this.fd, this.txBuf, this.hs + len), len, segs);
  }

  /** Count a write of a `len`-byte frame of `segs` segments that returned `r`. */
  private count(r: number, len: number, segs: number): boolean {
    const st = this.st;
    if (r < 0) {
      st[OERRORS] = st[OERRORS]! + segs;
      return false;
    }
    st[OPACKETS] = st[OPACKETS]! + segs;
    st[OBYTES] = st[OBYTES]! + len;
    return true;
  }

  /** Frames written as GSO: the TSO work requests of this queue (dev.cxgbe.0.txq.N.tso_wrs). */
  get tsoWrs(): number {
    return this.st[TSO]!;
  }

  /** Whether a doorbell can end wait() early (an eventfd is polled beside the queue). */
  get wakeable(): boolean {
    return this.pfd.length > 1;
  }

  /**
   * Wait up to `ms` for the queue to become readable or the doorbell to kick the eventfd
   * (poll(2)); true when either did. A kick is taken here, so the next wait sleeps again.
   */
  wait(ms: number): boolean {
    const r = libc.poll(this.pfd, ms);
    const wake = this.pfd[1];
    if (r > 0 && wake !== undefined && wake.revents !== 0) libc.eventfdDrain(wake.fd);
    return r > 0;
  }
}
