/**
 * sockapp: the group-worker half of the main-thread socket API (@mcstack/api). It runs as
 * a GroupApp in every worker and bridges that worker's engine sockets to the main thread
 * over one pair of FrameRings in the record format of sockrec.ts.
 *
 * Socket ids are per worker: the main thread numbers the sockets it opens (connect) with
 * even ids, this side numbers accepted ones with odd ids, so neither waits for the other.
 *
 * Flow control, both ways without a round trip per write:
 * - down: data the engine's send buffer refuses (EAGAIN) stays in its ring slots, viewed
 *   from the connection's pending queue (downhold.ts: copied out only when such holds keep
 *   half the ring), and is sent when the engine reports POLLOUT; the bytes the engine took are
 *   reported (OP_WRITTEN) every WRITTEN_REPORT_BYTES, so the main thread keeps a bounded
 *   window in flight without a record up for each record down.
 * - up: data is recv()'d straight into up-ring slots; a full ring or a main-thread PAUSE
 *   leaves it in the engine's receive buffer, so the advertised window closes.
 *
 * Engine upcalls (ctx.watch) only mark descriptors; the work happens in poll(), never
 * inside engine.input (the engine is not re-entrant).
 */
import { FrameRing, RingProducer, META_WORDS } from '../ring.js';
import { DownRing } from './downhold.js';
import type { Engine, TcpExport } from '@mcstack/netinet';
import { ERRNO } from '@mcstack/netinet';
import { defineApp } from '../apps/options.js';
import {
  SOL_SOCKET,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SHUT_WR,
  POLLIN,
  POLLOUT,
  POLLERR,
  POLLHUP,
} from '@mcstack/netinet';
import { IPPROTO_TCP, TCP_NODELAY, TCP_KEEPIDLE, TCP_NOPUSH } from '@mcstack/netinet';
import type { GroupApp, AppContext } from '../apps/app.js';
import { UdpBridge } from './sockapp_udp.js';
import { errnoOf } from '../errinfo.js';
import { Pending } from './pending.js';
import {
  REC_LEN,
  REC_OP,
  REC_SOCK,
  REC_ARG,
  REC_ARG2,
  REC_ARG3,
  OP_LISTEN,
  OP_UNLISTEN,
  OP_CONNECT,
  OP_DATA,
  OP_SHUT,
  OP_CLOSE,
  OP_PAUSE,
  OP_RESUME,
  OP_SETOPT,
  OP_LISTENING,
  OP_ACCEPT,
  OP_CONNECTED,
  OP_END,
  OP_ERROR,
  OP_WRITTEN,
  OP_UNLISTENED,
  OP_MOVED,
  SOPT_NODELAY,
  SOPT_KEEPALIVE,
  SOPT_NOPUSH,
  SOPT_APP,
  OP_UDP_BIND,
  OP_UDP_SEND,
  OP_UDP_CLOSE,
  OP_UDP_SETOPT,
  recText,
  putRecord,
  WRITTEN_REPORT_BYTES,
  type SockAppOptions,
  type SockHandoff,
} from '../sockrec.js';

/** Pending buffers one flush hands the engine in one writev (slots of a window: 16 of 16 KiB cover 256 KiB). */
const FLUSH_IOV_MAX = 64;

/* ------------------------------------------------------------------ the worker side */

interface Conn {
  sid: number;
  fd: number;
  /** Waiting for the active open to complete. */
  connecting: boolean;
  /** Data the engine refused, oldest first: views of held down-ring slots, or owned copies (downhold.ts). */
  pending: Uint8Array[];
  /** Per pending entry: the record number of the slot it views, or -1 for a copy. */
  pendingAbs: number[];
  /** Offset into pending[0]. */
  pendingOff: number;
  /** Bytes the engine took and the main thread was not told yet. */
  written: number;
  /** The main thread asked for shutdown(SHUT_WR) / close once pending is sent. */
  shut: boolean;
  close: boolean;
  /** The main thread's stream is full. */
  paused: boolean;
  /** recv() may have data (an upcall said POLLIN, or reading stopped early). */
  readable: boolean;
  /** FIN seen; nothing more to read. */
  eof: boolean;
  /** The main thread no longer knows this id (closed or failed). */
  detached: boolean;
}

interface Listener {
  lid: number;
  /** One listening fd per address family of the stack. */
  fds: number[];
  /** The port they listen on. */
  port: number;
}

/** "laddr lport faddr fport" of a connected fd (empty fields when the engine has none). */
function tupleText(engine: Engine, fd: number): string {
  const l = engine.getsockname(fd);
  const f = engine.getpeername(fd);
  const ls = typeof l === 'number' ? ' 0' : `${l.addr} ${l.port}`;
  const fs = typeof f === 'number' ? ' 0' : `${f.addr} ${f.port}`;
  return `${ls} ${fs}`;
}

export class SockApp implements GroupApp {
  private ctx!: AppContext;
  /** The dgram sockets' half (sockapp_udp.ts). */
  private udp!: UdpBridge;
  private engine!: Engine;
  private down!: FrameRing;
  private up!: FrameRing;
  private downC!: DownRing;
  private upP!: RingProducer;
  private readonly conns = new Map<number, Conn>();
  private readonly byFd = new Map<number, Conn>();
  private readonly listeners = new Map<number, Listener>();
  private readonly listenFds = new Map<number, Listener>();
  /** Descriptors an upcall marked since the last poll. */
  private readonly marked = new Set<number>();
  /** Connections with data left to read (paused, ring full, budget spent). */
  private readonly readers = new Set<Conn>();
  /** Connections with pending data, a WRITTEN report, or a shutdown/close to finish. */
  private readonly writers = new Set<Conn>();
  /** Control records that found the up ring full, sent first on the next poll. */
  private readonly backlog: (() => boolean)[] = [];
  private nextSid = 1;
  /** Listens waiting for the coordinator; an unlisten before the answer cancels them. */
  private readonly listening = new Pending();
  /** Active opens waiting for the coordinator; a close before the answer cancels them. */
  private readonly opening = new Pending();
  /** The in-worker app behind a socket id (a group's offloaded socket on the card, SOPT_APP). */
  private readonly labels = new Map<number, string>();
  /** Scratch iovec for a run of data records (reused: no allocation per record). */
  private readonly iov: Uint8Array[] = [];
  private readonly iovLen: number[] = [];
  private readonly iovAbs: number[] = [];
  private readonly counters = {
    accepted: 0,
    connected: 0,
    bytesIn: 0,
    bytesOut: 0,
    ringFull: 0,
    records: 0,
    errors: 0,
  };

  start(ctx: AppContext): void {
    this.ctx = ctx;
    this.engine = ctx.engine;
    const o = ctx.options as unknown as SockAppOptions;
    this.down = FrameRing.attach(o.down[ctx.worker]!);
    this.up = FrameRing.attach(o.up[ctx.worker]!);
    this.downC = new DownRing(this.down);
    this.upP = new RingProducer(this.up);
    this.udp = new UdpBridge(
      ctx,
      this.engine,
      this.up,
      this.upP,
      (op, sock, arg, arg2, arg3, text) => this.emit(op, sock, arg, arg2, arg3, text),
      (fd, on) => this.watch(fd, on),
      () => this.backlog.length > 0,
    );
  }

  /** The engine's readiness upcall for our fds: only marked here, handled in poll(). */
  private readonly upcall = (fd: number): void => {
    this.marked.add(fd);
  };

  private watch(fd: number, on: boolean): void {
    this.ctx.watch(fd, on ? this.upcall : null);
  }

  stop(): void {
    this.udp.stop();
    for (const fd of this.byFd.keys()) {
      this.watch(fd, false);
      this.engine.close(fd);
    }
    for (const fd of this.listenFds.keys()) {
      this.watch(fd, false);
      this.engine.close(fd);
    }
    this.conns.clear();
    this.byFd.clear();
    this.listeners.clear();
    this.listenFds.clear();
    this.upP.close();
  }

  stats(): Record<string, number> {
    return {
      ...this.counters,
      ...this.udp.counters,
      // Wake-ups of the main thread's receive loop (it slept in Atomics.waitAsync).
      upNotifies: this.upP.notifies,
      // Refused bytes copied out of held down-ring slots because holds kept half the ring.
      heldCopied: this.downC.copiedBytes,
      conns: this.byFd.size,
      listeners: this.listeners.size,
    };
  }

  /**
   * Records wait in the main → worker ring, or held records have room in the up ring now
   * (the worker's doorbell re-check asks before sleeping). Held records without room are
   * not work: the failed put asked the main thread to ring once it frees slots.
   */
  ready(): boolean {
    return this.downC.hasNew() || (this.backlog.length > 0 && this.upP.reserve(1) > 0);
  }

  poll(_nowUs: number): boolean {
    let work = false;
    while (this.backlog.length > 0 && this.up1(this.backlog[0]!)) {
      this.backlog.shift();
      work = true;
    }
    if (this.orders()) work = true;
    if (this.marked.size > 0) {
      work = true;
      for (const fd of this.marked) this.event(fd);
      this.marked.clear();
    }
    for (const c of this.writers) if (this.flush(c)) work = true;
    // Slots the flushes stopped holding go back to the main thread.
    this.downC.release();
    for (const c of this.readers) if (this.read(c)) work = true;
    if (this.udp.poll()) work = true;
    this.upP.publish();
    return work;
  }

  /* ---------------------------------------------------------------- main → worker */

  private orders(): boolean {
    const ring = this.down;
    const m = ring.meta;
    let any = false;
    const dc = this.downC;
    for (;;) {
      const n = dc.peek(64);
      if (n <= dc.from()) return any;
      any = true;
      for (let k = dc.from(); k < n; k++) {
        const s = dc.slot(k);
        const b = s * META_WORDS;
        const sid = m[b + REC_SOCK]!;
        this.counters.records++;
        switch (m[b + REC_OP]) {
          case OP_DATA: {
            // A run of data records for one socket (a writev, or writes queued in one
            // turn of the main thread) goes to the engine as one writev: one push, so a
            // response's header and body share a segment where they fit.
            const iov = this.iov;
            const lens = this.iovLen;
            const abs = this.iovAbs;
            iov.length = 0;
            lens.length = 0;
            abs.length = 0;
            iov.push(ring.views[s]!);
            lens.push(m[b + REC_LEN]!);
            abs.push(dc.abs(k));
            while (k + 1 < n) {
              const s2 = dc.slot(k + 1);
              const b2 = s2 * META_WORDS;
              if (m[b2 + REC_OP] !== OP_DATA || m[b2 + REC_SOCK] !== sid) break;
              iov.push(ring.views[s2]!);
              lens.push(m[b2 + REC_LEN]!);
              abs.push(dc.abs(k + 1));
              this.counters.records++;
              k++;
            }
            this.send(sid, iov, lens, abs);
            break;
          }
          case OP_CONNECT:
            this.connect(sid, recText(ring, s), m[b + REC_ARG]!, m[b + REC_ARG2]!, m[b + REC_ARG3]!);
            break;
          case OP_LISTEN:
            this.listen(sid, m[b + REC_ARG]!, m[b + REC_ARG2]!, m[b + REC_ARG3]!);
            break;
          case OP_UNLISTEN:
            this.unlisten(sid);
            break;
          case OP_SHUT:
            this.shut(sid);
            break;
          case OP_CLOSE:
            this.close(sid, m[b + REC_ARG]! !== 0);
            break;
          case OP_PAUSE: {
            const c = this.conns.get(sid);
            if (c) c.paused = true;
            break;
          }
          case OP_RESUME: {
            const c = this.conns.get(sid);
            if (c) {
              c.paused = false;
              this.readers.add(c);
            }
            break;
          }
          case OP_SETOPT:
            if (m[b + REC_ARG] === SOPT_APP) this.labels.set(sid, recText(ring, s));
            else this.setopt(sid, m[b + REC_ARG]!, m[b + REC_ARG2]!, m[b + REC_ARG3]!);
            break;
          case OP_UDP_SEND:
            this.udp.send(sid, ring, s);
            break;
          case OP_UDP_BIND:
            this.udp.bind(sid, m[b + REC_ARG]!, m[b + REC_ARG2]! === 6 ? 6 : 4, m[b + REC_ARG3]!, recText(ring, s));
            break;
          case OP_UDP_CLOSE:
            this.udp.close(sid);
            break;
          case OP_UDP_SETOPT:
            this.udp.setopt(sid, m[b + REC_ARG]!, m[b + REC_ARG2]!);
            break;
          default:
            break; // unknown op from a newer main side: ignored
        }
      }
      dc.handled(n);
    }
  }

  /**
   * Listen through the coordinator (ctx.listen reserves the port once for the stack and
   * binds a listener per family in this group). Port 0 is resolved by the main thread:
   * it asks one worker first and the others for the port that one got.
   */
  private listen(lid: number, port: number, backlog: number, fib: number): void {
    const e = this.engine;
    const lport = (fds: number[]): number => {
      const sa = fds.length > 0 ? e.getsockname(fds[0]!) : -1;
      return typeof sa === 'number' ? 0 : sa.port;
    };
    this.listening.wait(
      lid,
      this.ctx.listen(port, backlog, fib),
      (fds) => {
        const l: Listener = { lid, fds, port: lport(fds) };
        this.listeners.set(lid, l);
        let bound = '';
        for (const fd of fds) {
          this.listenFds.set(fd, l);
          this.watch(fd, true);
          this.marked.add(fd); // connections may already wait
          const sa = e.getsockname(fd);
          if (bound === '' && typeof sa !== 'number') bound = `${sa.addr} ${sa.port}`;
        }
        this.emit(OP_LISTENING, lid, 0, 0, 0, bound);
        this.upP.publish();
      },
      (err) => {
        this.emit(OP_LISTENING, lid, errnoOf(err, ERRNO.EADDRINUSE));
        this.upP.publish();
      },
      (fds) => {
        // Unlistened while the coordinator answered: the listen is undone here.
        const p = lport(fds);
        for (const fd of fds) e.close(fd);
        this.ctx.unlisten(p);
      },
    );
  }

  /** Close the listener (or cancel its pending listen) and say so: the main thread's close waits for it. */
  private unlisten(lid: number): void {
    this.listening.cancel(lid);
    this.emit(OP_UNLISTENED, lid);
    const l = this.listeners.get(lid);
    if (!l) return;
    this.listeners.delete(lid);
    for (const fd of l.fds) {
      this.listenFds.delete(fd);
      this.watch(fd, false);
      this.engine.close(fd);
    }
    this.ctx.unlisten(l.port);
  }

  /** An active open for the main thread's socket `sid`, in `fib` (the API's `fib` option, SO_SETFIB). */
  private connect(sid: number, host: string, port: number, lport: number, fib: number): void {
    this.opening.wait(
      sid,
      this.ctx.connect(host, port, lport, fib),
      (fd) => {
        if (fd < 0) {
          this.emit(OP_ERROR, sid, -fd);
          this.upP.publish();
          return;
        }
        const c = this.adopt(sid, fd, true);
        // The handshake may have finished before the coordinator's answer came back:
        // the edge was reported to nobody, so look now.
        this.marked.add(c.fd);
      },
      () => {
        this.emit(OP_ERROR, sid, ERRNO.EADDRNOTAVAIL);
        this.upP.publish();
      },
      (fd) => {
        if (fd >= 0) this.engine.close(fd);
      },
    );
  }

  private adopt(sid: number, fd: number, connecting: boolean): Conn {
    const c: Conn = {
      sid,
      fd,
      connecting,
      pending: [],
      pendingAbs: [],
      pendingOff: 0,
      written: 0,
      shut: false,
      close: false,
      paused: false,
      readable: !connecting,
      eof: false,
      detached: false,
    };
    this.conns.set(sid, c);
    this.byFd.set(fd, c);
    this.watch(fd, true);
    return c;
  }

  /**
   * Data records' payloads (`lens[i]` bytes of `bufs[i]`, the slot of record `abs[i]`), one
   * writev; what the engine leaves waits in `pending`, still in its slots.
   */
  private send(sid: number, bufs: Uint8Array[], lens: number[], abs: number[]): void {
    const c = this.conns.get(sid);
    if (!c) return; // closed or failed meanwhile: the main side learns it from OP_ERROR
    let off = 0;
    if (c.pending.length === 0 && !c.connecting) {
      const r = bufs.length === 1 ? this.engine.send(c.fd, bufs[0]!, 0, lens[0]) : this.engine.sendv(c.fd, bufs, lens);
      if (r > 0) {
        off = r;
        c.written += r;
        this.counters.bytesOut += r;
        this.writers.add(c);
      } else if (r < 0 && r !== -ERRNO.EAGAIN) {
        this.fail(c, -r);
        return;
      }
    }
    // What the engine did not take waits in its slots, held from the main thread until sent.
    for (let i = 0; i < bufs.length; i++) {
      const len = lens[i]!;
      if (off >= len) {
        off -= len;
        continue;
      }
      c.pending.push(bufs[i]!.subarray(off, len));
      c.pendingAbs.push(abs[i]!);
      this.downC.hold(c);
      off = 0;
      this.writers.add(c);
    }
  }

  private shut(sid: number): void {
    const c = this.conns.get(sid);
    if (!c) return;
    c.shut = true;
    this.writers.add(c);
  }

  private close(sid: number, abort: boolean): void {
    const c = this.conns.get(sid);
    if (!c) {
      this.opening.cancel(sid);
      return;
    }
    this.conns.delete(sid);
    c.detached = true;
    this.readers.delete(c);
    if (abort || c.connecting) {
      // SO_LINGER with a zero linger time: the close is an abort (tcp_disconnect → tcp_drop, an RST).
      if (abort) this.engine.setsockopt(c.fd, SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 0 });
      this.drop(c);
      return;
    }
    c.close = true;
    this.writers.add(c);
  }

  private setopt(sid: number, opt: number, value: number, extra: number): void {
    const c = this.conns.get(sid);
    if (!c) return;
    if (opt === SOPT_NODELAY) this.engine.setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, value);
    else if (opt === SOPT_NOPUSH) this.engine.setsockopt(c.fd, IPPROTO_TCP, TCP_NOPUSH, value);
    else if (opt === SOPT_KEEPALIVE) {
      this.engine.setsockopt(c.fd, SOL_SOCKET, SO_KEEPALIVE, value);
      if (value !== 0 && extra > 0) this.engine.setsockopt(c.fd, IPPROTO_TCP, TCP_KEEPIDLE, extra);
    }
  }

  /* ---------------------------------------------------------------- live handoff */

  /** What sockstat names as the COMMAND of descriptor `fd`: the in-worker app behind it, else the socket app. */
  appOf(fd: number): string {
    const c = this.byFd.get(fd);
    return (c && this.labels.get(c.sid)) ?? 'sockapp';
  }

  /** The connections a live handoff may move now (established, not closing): [sid, fd] pairs. */
  movable(): [number, number][] {
    const out: [number, number][] = [];
    for (const c of this.conns.values()) if (!c.connecting && !c.close && !c.detached) out.push([c.sid, c.fd]);
    return out;
  }

  /**
   * The leaving half of a live handoff: the connection of socket `sid` goes out of this
   * engine through `take` (the group's or the card's exportConnection) with what this side
   * holds for it. Orders already in the down ring are applied first (the main thread
   * stops writing to this socket before it asks), and OP_MOVED follows its last data up
   * the ring. -EBADF for no such socket, -EAGAIN while it connects or closes; take's errno.
   */
  handoffOut(sid: number, take: (fd: number) => TcpExport | number): SockHandoff | number {
    this.orders();
    const c = this.conns.get(sid);
    if (c === undefined || c.detached) return -ERRNO.EBADF;
    if (c.connecting || c.close) return -ERRNO.EAGAIN;
    const x = take(c.fd);
    if (typeof x === 'number') return x;
    let len = -c.pendingOff;
    for (const b of c.pending) len += b.length;
    let pending: Uint8Array | null = null;
    if (len > 0) {
      pending = new Uint8Array(len);
      let off = 0;
      for (let i = 0; i < c.pending.length; i++) {
        const b = c.pending[i]!;
        pending.set(i === 0 ? b.subarray(c.pendingOff) : b, off);
        off += b.length - (i === 0 ? c.pendingOff : 0);
      }
    }
    // The descriptor is closed by the export: forget it without touching the engine.
    this.unhold(c);
    this.conns.delete(sid);
    this.readers.delete(c);
    this.writers.delete(c);
    this.byFd.delete(c.fd);
    this.marked.delete(c.fd);
    this.labels.delete(sid);
    this.watch(c.fd, false);
    // The bytes taken and not yet reported ride on OP_MOVED (a lone OP_WRITTEN may not fit the ring).
    this.emit(OP_MOVED, sid, c.written);
    this.upP.publish();
    return { x, pending, eof: c.eof, paused: c.paused, shut: c.shut };
  }

  /**
   * The arriving half: `fd` is the imported connection (the caller's importConnection);
   * it serves main-thread socket `sid` (an id the main thread chose on this worker's
   * rings) from here on, the held data sent first.
   */
  handoffIn(h: SockHandoff, sid: number, fd: number): void {
    const c = this.adopt(sid, fd, false);
    c.eof = h.eof;
    c.paused = h.paused;
    c.shut = h.shut;
    if (h.pending !== null && h.pending.length > 0) {
      c.pending.push(h.pending);
      c.pendingAbs.push(-1);
    }
    if (c.pending.length > 0 || c.shut) this.writers.add(c);
    this.readers.add(c);
    this.marked.add(fd);
  }

  /* ---------------------------------------------------------------- engine events */

  private event(fd: number): void {
    if (this.udp.owns(fd)) {
      this.udp.event(fd);
      return;
    }
    const l = this.listenFds.get(fd);
    if (l) {
      this.accept(l, fd);
      return;
    }
    const c = this.byFd.get(fd);
    if (!c) return;
    const ev = this.engine.poll(fd);
    if (c.connecting) {
      const err = this.engine.getsockopt(fd, SOL_SOCKET, SO_ERROR);
      if (typeof err === 'number' && err > 0) {
        this.fail(c, err);
        return;
      }
      if ((ev & POLLOUT) === 0 && (ev & (POLLERR | POLLHUP)) === 0) return;
      if ((ev & (POLLERR | POLLHUP)) !== 0 && (ev & POLLOUT) === 0) {
        this.fail(c, ERRNO.ECONNREFUSED);
        return;
      }
      c.connecting = false;
      c.readable = true;
      this.counters.connected++;
      if (!c.detached) this.emit(OP_CONNECTED, c.sid, 0, 0, 0, tupleText(this.engine, fd));
    }
    if ((ev & POLLOUT) !== 0 && (c.pending.length > 0 || c.shut || c.close)) this.writers.add(c);
    if ((ev & (POLLIN | POLLERR | POLLHUP)) !== 0) {
      c.readable = true;
      this.readers.add(c);
    }
  }

  private accept(l: Listener, lfd: number): void {
    const e = this.engine;
    for (;;) {
      const fd = e.accept(lfd);
      if (fd < 0) return;
      const sid = this.nextSid;
      this.nextSid = (this.nextSid + 2) & 0x7fffffff;
      const c = this.adopt(sid, fd, false);
      this.counters.accepted++;
      this.emit(OP_ACCEPT, sid, l.lid, 0, 0, tupleText(e, fd));
      this.readers.add(c);
    }
  }

  /** Move received data into up-ring slots; false when nothing moved. */
  private read(c: Conn): boolean {
    if (c.detached || c.eof || c.paused || !c.readable) {
      this.readers.delete(c);
      return false;
    }
    const p = this.upP;
    const ring = this.up;
    let moved = false;
    for (let budget = 16; budget > 0; budget--) {
      if (this.backlog.length > 0 || !p.roomAfterAsk()) {
        this.counters.ringFull++;
        return moved;
      }
      const s = p.slot(0);
      const r = this.engine.recv(c.fd, ring.views[s]!, 0, ring.slotSize);
      if (r === -ERRNO.EAGAIN) {
        c.readable = false;
        this.readers.delete(c);
        return moved;
      }
      moved = true;
      if (r > 0) {
        putRecord(ring, s, OP_DATA, c.sid);
        ring.meta[s * META_WORDS + REC_LEN] = r;
        p.commit(1);
        this.counters.bytesIn += r;
        continue;
      }
      if (r === 0) {
        c.eof = true;
        this.readers.delete(c);
        this.emit(OP_END, c.sid);
        return true;
      }
      this.fail(c, -r);
      return true;
    }
    return moved; // budget spent: stays in readers for the next poll
  }

  /** Send pending data, report what the engine took, finish a shutdown or close. */
  private flush(c: Conn): boolean {
    let moved = false;
    const e = this.engine;
    const p = c.pending;
    while (p.length > 0 && !c.connecting) {
      let r: number;
      if (p.length === 1) r = e.send(c.fd, p[0]!, c.pendingOff, p[0]!.length - c.pendingOff);
      else {
        // All of it as one writev: one append and one push, so the engine cuts large (TSO)
        // segments from it instead of a push per slot as each fits.
        const iov = this.iov;
        const lens = this.iovLen;
        iov.length = 0;
        lens.length = 0;
        for (let i = 0; i < p.length && i < FLUSH_IOV_MAX; i++) {
          const b = i === 0 && c.pendingOff > 0 ? p[0]!.subarray(c.pendingOff) : p[i]!;
          iov.push(b);
          lens.push(b.length);
        }
        r = e.sendv(c.fd, iov, lens);
      }
      if (r === -ERRNO.EAGAIN || r === 0) break;
      if (r < 0) {
        this.fail(c, -r);
        return true;
      }
      moved = true;
      c.written += r;
      this.counters.bytesOut += r;
      for (let left = r; left > 0; ) {
        const rest = p[0]!.length - c.pendingOff;
        if (left < rest) {
          c.pendingOff += left;
          break;
        }
        left -= rest;
        p.shift();
        c.pendingAbs.shift();
        c.pendingOff = 0;
      }
      this.downC.settle(c);
    }
    // Reported in steps of WRITTEN_REPORT_BYTES, not per write: a request/response socket
    // would otherwise send one record up for every record down (see sockrec.ts).
    if (c.written >= WRITTEN_REPORT_BYTES && !c.detached) {
      if (!this.emit(OP_WRITTEN, c.sid, c.written)) return moved; // stays in writers
      c.written = 0;
    }
    if (c.pending.length > 0 || c.connecting) return moved;
    if (c.close) {
      this.drop(c);
      return true;
    }
    if (c.shut) {
      c.shut = false;
      e.shutdown(c.fd, SHUT_WR);
      moved = true;
    }
    this.writers.delete(c);
    return moved;
  }

  /** The connection failed: tell the main thread (once) and free the descriptor. */
  private fail(c: Conn, errno: number): void {
    this.counters.errors++;
    if (!c.detached) this.emit(OP_ERROR, c.sid, errno);
    this.conns.delete(c.sid);
    c.detached = true;
    this.drop(c);
  }

  private drop(c: Conn): void {
    this.unhold(c);
    this.labels.delete(c.sid);
    this.readers.delete(c);
    this.writers.delete(c);
    this.byFd.delete(c.fd);
    this.watch(c.fd, false);
    this.engine.close(c.fd);
  }

  /** Forget `c`'s pending data and the slots it held (they go back with the next release). */
  private unhold(c: Conn): void {
    c.pending.length = 0;
    c.pendingAbs.length = 0;
    c.pendingOff = 0;
    this.downC.unhold(c);
  }

  /**
   * One record into the up ring by `put`; when the ring is full, the main thread is asked
   * to wake this worker once it frees slots (it rings only then), and `put` is tried again.
   */
  private up1(put: () => boolean): boolean {
    return put() || (this.upP.roomAfterAsk() && put());
  }

  /**
   * Queue one control record in the up ring; when the ring is full it waits in the
   * backlog, in order, and is sent by a later poll. Returns whether it went in now.
   */
  private emit(op: number, sock: number, arg = 0, arg2 = 0, arg3 = 0, text?: string): boolean {
    const put = (): boolean => {
      const s = this.upP.alloc();
      if (s < 0) return false;
      putRecord(this.up, s, op, sock, arg, arg2, arg3, text);
      return true;
    };
    if (this.backlog.length === 0 && this.up1(put)) return true;
    this.counters.ringFull++;
    // A WRITTEN report is not queued: the count stays owed and the next flush retries it.
    if (op !== OP_WRITTEN) this.backlog.push(put);
    return false;
  }
}

/** The module's factory: its options are the rings of each worker (sockrec.ts SockAppOptions). */
export const createApp = defineApp(
  'sockapp',
  {
    down: { type: 'array', required: true, doc: "each worker's ring from the main thread" },
    up: { type: 'array', required: true, doc: "each worker's ring to the main thread" },
  },
  () => new SockApp(),
);
