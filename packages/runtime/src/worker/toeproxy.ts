/**
 * The TOE's host half for in-worker apps (docs/toe.md, "In-worker apps"). As in FreeBSD,
 * where an offloaded connection's socket stays on the host while t4_tom runs its
 * protocol on the card, an app's descriptor stays in its group's engine: a socket whose
 * pr_usrreqs (this module) carries the socket buffers to and from the card's worker
 * instead of running TCP. The wire is the card's socket app (worker/sockapp.ts) on one
 * pair of FrameRings per group in the record format of sockrec.ts, this side playing the
 * part the main thread plays for @mcstack/api: so_snd's bytes go down as OP_DATA and stay
 * in so_snd until OP_WRITTEN says the card's engine took them (so poll(2)'s POLLOUT is
 * the card's buffer space, as a TOE's credits are); OP_DATA up is appended to so_rcv and
 * reading it may send OP_RESUME after an OP_PAUSE. The app's calls (send, sendv, recv,
 * shutdown, close, TCP_NODELAY, TCP_NOPUSH, SO_KEEPALIVE, getsockname, getpeername)
 * behave as on a host connection; other TCP options are refused (EOPNOTSUPP).
 *
 * Live handoff swaps what is behind the descriptor: adopt() puts this socket where an
 * exported host connection was; restore() puts an imported host connection where this
 * socket was, its unread and unsent bytes merged into the export.
 */
import {
  ERRNO,
  SysError,
  SBS_CANTRCVMORE,
  SBS_CANTSENDMORE,
  SB_AUTOSIZE,
  SO_KEEPALIVE,
  SO_SETFIB,
  SO_LINGER,
  SOL_SOCKET,
  AF_INET6,
  IPPROTO_TCP,
  TF_NODELAY,
  TF_NOPUSH,
  TCP_NODELAY,
  TCP_NOPUSH,
  type Engine,
  type PrUsrreqs,
  type Socket,
  type SockAddr,
  type SockoptValue,
  type TcpExport,
} from '@mcstack/netinet';
import { FrameRing, RingConsumer, RingProducer, META_WORDS } from '../ring.js';
import { Doorbell } from '../doorbell.js';
import {
  REC_LEN,
  REC_OP,
  REC_SOCK,
  REC_ARG,
  OP_CONNECT,
  OP_DATA,
  OP_SHUT,
  OP_CLOSE,
  OP_PAUSE,
  OP_RESUME,
  OP_SETOPT,
  OP_CONNECTED,
  OP_END,
  OP_ERROR,
  OP_WRITTEN,
  OP_MOVED,
  SOPT_NODELAY,
  SOPT_KEEPALIVE,
  SOPT_NOPUSH,
  SOPT_APP,
  recText,
  putRecord,
} from '../sockrec.js';

/** Bytes of socket buffer an autotuned host half starts with toward the card (each way). */
const TOE_CREDIT = 256 * 1024;

/** A group's channel to the card: its ring pair and the card's doorbell. */
export interface ToeChannelTask {
  down: SharedArrayBuffer;
  up: SharedArrayBuffer;
  cardBell: SharedArrayBuffer;
  /** One Int32: `ifconfig cxgbe0 toe` is on (only then does an active open ask the coordinator). */
  toeOn: SharedArrayBuffer;
}

/** One offloaded connection of an app of this group. */
interface ToeSock {
  sid: number;
  /** The app's socket; null once the app closed it (the rest of its data still goes down). */
  so: Socket | null;
  laddr: string;
  lport: number;
  faddr: string;
  fport: number;
  /** Bytes at the head of so_snd already sent down, not yet confirmed by OP_WRITTEN. */
  sent: number;
  /** After close: so_snd's bytes as they were (the first `tailHead` confirmed since, the next `sent` sent down). */
  tail: Uint8Array | null;
  tailHead: number;
  /** shutdown(SHUT_WR): 1 asked, 2 OP_SHUT sent. */
  shut: number;
  /** close(2): 1 once the data is out, 2 an abort (SO_LINGER 0). */
  close: number;
  /** Records may go down (false while the connection moves). */
  live: boolean;
  connecting: boolean;
  paused: boolean;
  /** OP_MOVED came up: the card exported the connection. */
  moved: boolean;
  /** The card no longer knows the id (OP_ERROR). */
  dead: boolean;
  nodelay: number;
  nopush: number;
}

/** What restore() needs to put a host connection back under the app's descriptor. */
export interface ToeRestore {
  x: TcpExport;
  /** shutdown(SHUT_WR) is owed once the connection is back (the card had not done it yet). */
  shut: boolean;
}

export class ToeChannel {
  private readonly engine: Engine;
  private readonly down: FrameRing;
  private readonly up: FrameRing;
  private readonly downP: RingProducer;
  private readonly upC: RingConsumer;
  private readonly cardBell: Doorbell;
  private readonly toeWord: Int32Array;
  private readonly bySid = new Map<number, ToeSock>();
  private readonly bySo = new Map<Socket, ToeSock>();
  /** Connections with bytes, a shutdown or a close still to send down. */
  private readonly writers = new Set<ToeSock>();
  /** Control records that found the down ring full, in order; data waits behind them. */
  private readonly backlog: (() => boolean)[] = [];
  /** Even ids: the card's socket app numbers its own (accepted) ones odd. */
  private nextSid = 2;
  private readonly pr: PrUsrreqs;

  constructor(engine: Engine, t: ToeChannelTask) {
    this.engine = engine;
    this.down = FrameRing.attach(t.down);
    this.up = FrameRing.attach(t.up);
    this.downP = new RingProducer(this.down);
    this.upC = new RingConsumer(this.up);
    this.cardBell = new Doorbell(t.cardBell);
    this.toeWord = new Int32Array(t.toeOn);
    this.pr = this.usrreqs();
  }

  /** `toe` is on: active opens may go to the card (the coordinator admits each). */
  get on(): boolean {
    return Atomics.load(this.toeWord, 0) !== 0;
  }

  /* ---------------------------------------------------------------- the app's side */

  private usrreqs(): PrUsrreqs {
    const of = (so: Socket) => this.bySo.get(so);
    return {
      attach: () => 0,
      bind: () => -ERRNO.EINVAL,
      listen: () => -ERRNO.EINVAL,
      connect: () => -ERRNO.EISCONN,
      send: (so) => {
        const t = of(so);
        if (t !== undefined) this.push(t);
        this.publish();
        return 0;
      },
      rcvd: (so) => {
        const t = of(so);
        if (t === undefined || !t.paused || so.so_rcv.sb_cc > so.so_rcv.sb_hiwat >> 1) return;
        t.paused = false;
        this.ctl(OP_RESUME, t.sid);
        this.publish();
      },
      shutdown: (so) => {
        const t = of(so);
        so.cantSendMore();
        if (t !== undefined && t.shut === 0) {
          t.shut = 1;
          this.push(t);
          this.publish();
        }
        return 0;
      },
      close: (so) => this.closed(so),
      abort: () => {},
      ctloutput: (so, set, level, name, value) => this.ctloutput(so, set, level, name, value),
      sockaddr: (so, peer): SockAddr | number => {
        const t = of(so);
        if (t === undefined) return -ERRNO.ECONNRESET;
        return peer ? { addr: t.faddr, port: t.fport } : { addr: t.laddr, port: t.lport };
      },
    };
  }

  private ctloutput(so: Socket, set: boolean, level: number, name: number, value: SockoptValue | undefined) {
    const t = this.bySo.get(so);
    if (t === undefined) return -ERRNO.ECONNRESET;
    if (level === SOL_SOCKET) {
      // The card's connection keeps the FIB it opened in: a new one here would route nothing.
      if (set && name === SO_SETFIB) return -ERRNO.EOPNOTSUPP;
      // The socket layer keeps the flag; keepalives are the card's to send.
      if (set && name === SO_KEEPALIVE) this.ctl(OP_SETOPT, t.sid, SOPT_KEEPALIVE, value ? 1 : 0);
      return 0;
    }
    if (level === IPPROTO_TCP && (name === TCP_NODELAY || name === TCP_NOPUSH)) {
      const key = name === TCP_NODELAY ? 'nodelay' : 'nopush';
      if (!set) return t[key];
      if (typeof value !== 'number' || !Number.isInteger(value)) return -ERRNO.EINVAL;
      t[key] = value !== 0 ? 1 : 0;
      // In order with the data: TCP_NOPUSH 0 pushes what came before it.
      this.push(t);
      this.ctl(OP_SETOPT, t.sid, name === TCP_NODELAY ? SOPT_NODELAY : SOPT_NOPUSH, t[key]);
      this.publish();
      return 0;
    }
    // The card runs the connection: what it cannot be told is refused, not ignored.
    return -ERRNO.EOPNOTSUPP;
  }

  /** close(2) of an offloaded socket: what it wrote still goes down, then OP_CLOSE (an abort with SO_LINGER 0). */
  private closed(so: Socket): void {
    const t = this.bySo.get(so);
    if (t === undefined) return;
    this.bySo.delete(so);
    t.so = null;
    if (t.dead) {
      this.bySid.delete(t.sid);
      return;
    }
    const sb = so.so_snd;
    t.tail = new Uint8Array(sb.sb_cc);
    sb.copyOut(0, t.tail, 0, sb.sb_cc);
    t.tailHead = 0;
    t.close = (so.so_options & SO_LINGER) !== 0 && so.so_linger === 0 ? 2 : 1;
    if (t.close === 2) t.tail = null;
    this.push(t);
    this.publish();
  }

  /* ---------------------------------------------------------------- opening and moving */

  private sock(sid: number, so: Socket, live: boolean, connecting: boolean): ToeSock {
    // The card's buffers autotune; the host half's are only its credit toward them. Where
    // the app left the size to autotuning, start the credit where a bulk flow's autotuned
    // buffer gets, so the hop to the card is not what bounds it.
    for (const sb of [so.so_snd, so.so_rcv])
      if ((sb.sb_flags & SB_AUTOSIZE) !== 0 && sb.sb_hiwat < TOE_CREDIT) sb.reserve(TOE_CREDIT);
    const t: ToeSock = {
      sid,
      so,
      laddr: so.domain === AF_INET6 ? '::' : '0.0.0.0',
      lport: 0,
      faddr: '',
      fport: 0,
      sent: 0,
      tail: null,
      tailHead: 0,
      shut: 0,
      close: 0,
      live,
      connecting,
      paused: false,
      moved: false,
      dead: false,
      nodelay: 0,
      nopush: 0,
    };
    this.bySid.set(sid, t);
    this.bySo.set(so, t);
    return t;
  }

  private allocSid(): number {
    const sid = this.nextSid;
    this.nextSid = this.nextSid >= 0x7ffffffe ? 2 : this.nextSid + 2;
    return sid;
  }

  /**
   * An active open on the card: the app's descriptor now (connecting: POLLOUT or
   * SO_ERROR tells the outcome), the card's socket app opening the connection. -errno.
   */
  connect(addr: string, port: number, app: string): number {
    const v6 = addr.includes(':');
    const d = this.engine.sockets.defaults;
    const fd = this.engine.sockets.attachAt(-1, v6 ? 'inet6' : 'inet', this.pr, d.sndbuf(1), d.rcvbuf(1));
    if (fd < 0) return fd;
    const so = this.engine.sockets.lookup(fd)!;
    // A new socket's buffers autotune (tcp_usr_attach sets SB_AUTOSIZE): here, the credit toward the card.
    so.so_snd.sb_flags |= SB_AUTOSIZE;
    so.so_rcv.sb_flags |= SB_AUTOSIZE;
    const t = this.sock(this.allocSid(), so, true, true);
    t.faddr = addr;
    t.fport = port;
    so.isConnecting();
    this.ctl(OP_CONNECT, t.sid, port, 0, 0, addr);
    this.ctl(OP_SETOPT, t.sid, SOPT_APP, 0, 0, app);
    this.publish();
    return fd;
  }

  /**
   * Host → card: descriptor `fd` (its connection just exported, the descriptor closed)
   * becomes an offloaded socket, quiet until live(). Returns its id on the card's rings.
   */
  adopt(
    fd: number,
    x: TcpExport,
    tuple: { laddr: string; lport: number; faddr: string; fport: number },
    app: string,
  ): number {
    const r = this.engine.sockets.attachAt(fd, x.domain, this.pr, x.socket.snd.hiwat, x.socket.rcv.hiwat);
    if (r < 0) return r;
    const so = this.engine.sockets.lookup(fd)!;
    so.so_options = x.socket.options;
    so.so_linger = x.socket.linger;
    so.so_snd.sb_flags |= x.socket.snd.flags & SB_AUTOSIZE;
    so.so_rcv.sb_flags |= x.socket.rcv.flags & SB_AUTOSIZE;
    const t = this.sock(this.allocSid(), so, false, false);
    Object.assign(t, tuple);
    const flags = Number(x.tcpcb.t_flags ?? 0);
    t.nodelay = (flags & TF_NODELAY) !== 0 ? 1 : 0;
    t.nopush = (flags & TF_NOPUSH) !== 0 ? 1 : 0;
    if ((x.socket.snd.state & SBS_CANTSENDMORE) !== 0) {
      so.so_snd.sb_state |= SBS_CANTSENDMORE;
      t.shut = 2;
    }
    so.isConnected();
    this.ctl(OP_SETOPT, t.sid, SOPT_APP, 0, 0, app);
    return t.sid;
  }

  /** The card has the connection: what the app wrote meanwhile goes down. */
  live(sid: number): void {
    const t = this.bySid.get(sid);
    if (t === undefined) return;
    t.live = true;
    t.moved = false;
    this.push(t);
    this.publish();
  }

  /** Card → host begins: nothing more goes down for `sid` (the card exports after the records already sent). */
  freeze(sid: number): void {
    const t = this.bySid.get(sid);
    if (t === undefined || t.dead || t.connecting || t.close !== 0)
      throw new SysError('EAGAIN', 'the connection is connecting or closing', 'handoff');
    t.live = false;
    this.publish();
  }

  /** Whether OP_MOVED for `sid` came up (read the up ring first). */
  movedUp(sid: number): boolean {
    this.input();
    return this.bySid.get(sid)?.moved === true;
  }

  /**
   * The export `x` of connection `sid` (from the card, after its OP_MOVED; or the host's own,
   * when the card refused it) with this socket's unsent bytes after the export's and its
   * unread bytes before the export's: what the host imports.
   */
  merged(sid: number, x: TcpExport, cardShut: boolean): ToeRestore {
    const t = this.bySid.get(sid);
    if (t === undefined) throw new SysError('ENOENT', 'no such offloaded connection', 'handoff');
    const so = t.so;
    let unsent: Uint8Array;
    if (so !== null) {
      unsent = new Uint8Array(so.so_snd.sb_cc);
      so.so_snd.copyOut(0, unsent, 0, unsent.length);
    } else unsent = t.tail === null ? new Uint8Array(0) : t.tail.subarray(t.tailHead);
    const snd = concat(new Uint8Array(x.socket.snd.data), unsent);
    let rcv: Uint8Array = new Uint8Array(x.socket.rcv.data);
    let rstate = x.socket.rcv.state;
    if (so !== null) {
      const unread = new Uint8Array(so.so_rcv.sb_cc);
      so.so_rcv.copyOut(0, unread, 0, unread.length);
      rcv = concat(unread, rcv);
      rstate |= so.so_rcv.sb_state & SBS_CANTRCVMORE;
    }
    // The app's descriptor keeps the buffer space it had here (TOE_CREDIT where it left the
    // size to autotuning), never the card's smaller buffers: shrunk under a transfer that
    // fills them both ways (an app that writes its whole request before it reads, an echo
    // that writes only what it reads), both ends sit in zero windows for good — autotuning
    // grows a buffer only while data flows (tcp_autorcvbuf, tcp_sndbuf_autoscale).
    const sndHiwat = Math.max(x.socket.snd.hiwat, so?.so_snd.sb_hiwat ?? 0);
    const rcvHiwat = Math.max(x.socket.rcv.hiwat, so?.so_rcv.sb_hiwat ?? 0);
    const y: TcpExport = {
      ...x,
      socket: {
        ...x.socket,
        snd: { ...x.socket.snd, hiwat: sndHiwat, data: snd.buffer as ArrayBuffer },
        rcv: { ...x.socket.rcv, hiwat: rcvHiwat, state: rstate, data: rcv.buffer as ArrayBuffer },
      },
    };
    return { x: y, shut: cardShut || t.shut === 1 };
  }

  /**
   * Card → host done: descriptor `fd` (the imported connection) takes the place of
   * offloaded socket `sid`; the app's descriptor now reaches the host connection. Returns
   * the app's descriptor, or -1 when the app had closed it (`fd` is closed then, its data
   * still going out).
   */
  restore(sid: number, fd: number, shut: boolean): number {
    const t = this.bySid.get(sid)!;
    this.bySid.delete(sid);
    this.writers.delete(t);
    const so = t.so;
    const e = this.engine;
    if (so === null) {
      // The app closed it while it moved: as it asked, an abort (SO_LINGER 0: RST) or a FIN.
      if (t.close === 2) e.setsockopt(fd, SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 0 });
      else if (shut) e.shutdown(fd, 1);
      e.close(fd);
      return -1;
    }
    this.bySo.delete(so);
    const app = so.fd;
    e.sockets.close(app);
    e.sockets.moveFd(fd, app);
    if (shut) e.shutdown(app, 1);
    return app;
  }

  /** The card refused the import: connection `sid` stays offloaded, as it was. */
  unfreeze(sid: number): void {
    this.live(sid);
  }

  /**
   * The card failed: every offloaded connection is reset (ECONNRESET, as the peer's next
   * segment finds no pcb anywhere), and what the card wrote for them is thrown away.
   */
  reset(): void {
    for (const t of this.bySid.values()) {
      t.dead = true;
      const so = t.so;
      if (so === null) continue;
      so.so_error = ERRNO.ECONNRESET;
      so.so_snd.drop(so.so_snd.sb_cc);
      so.isDisconnected();
    }
    this.bySid.clear();
    this.writers.clear();
    this.backlog.length = 0;
    for (let n = this.upC.peek(64); n > 0; n = this.upC.peek(64)) this.upC.release(n);
  }

  /* ---------------------------------------------------------------- the rings */

  /** Queue one control record in order (data waits behind a non-empty backlog). */
  private ctl(op: number, sid: number, arg = 0, arg2 = 0, arg3 = 0, text?: string): void {
    const put = (): boolean => {
      const s = this.downP.alloc();
      if (s < 0) return false;
      putRecord(this.down, s, op, sid, arg, arg2, arg3, text);
      return true;
    };
    if (this.backlog.length === 0 && put()) return;
    this.backlog.push(put);
  }

  /** Send what `t` has for the card, in order: data, then OP_SHUT, then OP_CLOSE. */
  private push(t: ToeSock): void {
    if (!t.live || t.dead) return;
    if (this.backlog.length > 0) {
      this.writers.add(t);
      return;
    }
    const ring = this.down;
    const p = this.downP;
    const size = ring.slotSize;
    const so = t.so;
    if (so !== null) {
      const sb = so.so_snd;
      while (t.sent < sb.sb_cc) {
        const s = p.alloc();
        if (s < 0) {
          this.writers.add(t);
          return;
        }
        const n = Math.min(size, sb.sb_cc - t.sent);
        sb.copyOut(t.sent, ring.views[s]!, 0, n);
        putRecord(ring, s, OP_DATA, t.sid);
        ring.meta[s * META_WORDS + REC_LEN] = n;
        t.sent += n;
      }
    } else if (t.tail !== null) {
      const b = t.tail;
      while (t.tailHead + t.sent < b.length) {
        const s = p.alloc();
        if (s < 0) {
          this.writers.add(t);
          return;
        }
        const off = t.tailHead + t.sent;
        const n = Math.min(size, b.length - off);
        ring.views[s]!.set(b.subarray(off, off + n));
        putRecord(ring, s, OP_DATA, t.sid);
        ring.meta[s * META_WORDS + REC_LEN] = n;
        t.sent += n;
      }
    }
    if (t.shut === 1) {
      t.shut = 2;
      this.ctl(OP_SHUT, t.sid);
    }
    if (t.close !== 0) {
      this.ctl(OP_CLOSE, t.sid, t.close === 2 ? 1 : 0);
      this.bySid.delete(t.sid);
    }
    this.writers.delete(t);
  }

  private publish(): void {
    if (this.downP.publish() > 0) this.cardBell.ring();
  }

  /** Records from the card wait (the group's re-check before it sleeps). */
  ready(): boolean {
    return this.upC.peek(1) > 0;
  }

  /** One turn: the card's records in, what waits sent down. True when something moved. */
  poll(): boolean {
    let work = this.input();
    while (this.backlog.length > 0 && this.backlog[0]!()) {
      this.backlog.shift();
      work = true;
    }
    if (this.backlog.length === 0 && this.writers.size > 0) {
      // The set itself, not a copy per turn: push(t) deletes t or re-adds it (a no-op), nothing else.
      for (const t of this.writers) this.push(t);
      work = true;
    }
    this.publish();
    return work;
  }

  private input(): boolean {
    const ring = this.up;
    const m = ring.meta;
    const sockets = this.engine.sockets;
    let any = false;
    for (;;) {
      const n = this.upC.peek(64);
      if (n === 0) return any;
      any = true;
      for (let k = 0; k < n; k++) {
        const s = this.upC.slot(k);
        const b = s * META_WORDS;
        const t = this.bySid.get(m[b + REC_SOCK]!);
        if (t === undefined) continue; // closed here: the card forgets it on OP_CLOSE
        const so = t.so;
        switch (m[b + REC_OP]) {
          case OP_DATA: {
            if (so === null) break;
            const len = m[b + REC_LEN]!;
            // Appended whatever the space: the card stops once it reads OP_PAUSE.
            so.so_rcv.append(ring.views[s]!, 0, len, sockets.sbzone, true);
            if (!t.paused && so.so_rcv.sb_cc >= so.so_rcv.sb_hiwat) {
              t.paused = true;
              this.ctl(OP_PAUSE, t.sid);
            }
            sockets.wakeup(so);
            break;
          }
          case OP_WRITTEN:
          case OP_MOVED: {
            const w = m[b + REC_ARG]!;
            if (m[b + REC_OP] === OP_MOVED) t.moved = true;
            t.sent -= w;
            if (so === null) t.tailHead += w;
            else if (w > 0) {
              so.so_snd.drop(w);
              sockets.wakeup(so);
            }
            break;
          }
          case OP_CONNECTED: {
            const [la, lp, fa, fp] = recText(ring, s).split(' ');
            t.laddr = la ?? t.laddr;
            t.lport = Number(lp);
            t.faddr = fa ?? t.faddr;
            t.fport = Number(fp);
            t.connecting = false;
            so?.isConnected();
            this.push(t);
            break;
          }
          case OP_END:
            so?.cantRcvMore();
            break;
          case OP_ERROR: {
            t.dead = true;
            this.writers.delete(t);
            this.bySid.delete(t.sid);
            if (so === null) break;
            so.so_error = m[b + REC_ARG]!;
            so.so_snd.drop(so.so_snd.sb_cc);
            so.isDisconnected();
            break;
          }
          default:
            break;
        }
      }
      this.upC.release(n);
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  if (b.length === 0) return a.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
