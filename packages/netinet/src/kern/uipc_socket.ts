/**
 * struct socket and the system-call layer (FreeBSD kern/uipc_socket.c,
 * uipc_syscalls.c): a file-descriptor table, socket state, the listen queue,
 * readiness, and dispatch to the protocol through its pr_usrreqs. Every call
 * returns a non-negative result or -errno and never blocks: sockets are always
 * non-blocking inside the engine, a blocking API is the caller's business.
 */
import { ERRNO } from './errno.js';
import { Sockbuf, SBS_CANTRCVMORE, SBS_CANTSENDMORE, SB_AUTOSIZE } from './sockbuf.js';
import { SockbufZone } from './sockbuf_zone.js';
import { type UmaZone, UmaRegistry, itemSize } from './uma.js';

/**
 * kern.ipc.maxsockets' default, the socket zone's limit. FreeBSD derives it from maxfiles
 * (a function of memory); here it is a fixed default, raised with the sysctl.
 */
export const MAXSOCKETS_DEFAULT = 65_536;
import { parseIPv4, parseIPv6 } from '@mcstack/wire';

/* sys/socket.h */
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const AF_INET = 2;
export const AF_INET6 = 28;
export const SOL_SOCKET = 0xffff;
export const SO_DEBUG = 0x0001;
export const SO_ACCEPTCONN = 0x0002;
export const SO_REUSEADDR = 0x0004;
export const SO_KEEPALIVE = 0x0008;
export const SO_DONTROUTE = 0x0010;
export const SO_BROADCAST = 0x0020;
export const SO_LINGER = 0x0080;
export const SO_OOBINLINE = 0x0100;
export const SO_REUSEPORT = 0x0200;
export const SO_SNDBUF = 0x1001;
export const SO_RCVBUF = 0x1002;
export const SO_SNDLOWAT = 0x1003;
export const SO_RCVLOWAT = 0x1004;
export const SO_ERROR = 0x1007;
export const SO_TYPE = 0x1008;
/** setfib(2) for one socket: the FIB its packets are routed in (so_fibnum). */
export const SO_SETFIB = 0x1014;
export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_DONTROUTE = 0x4;
export const MSG_EOR = 0x8;
export const MSG_WAITALL = 0x40;
export const MSG_DONTWAIT = 0x80;
export const MSG_NOSIGNAL = 0x20000;
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;
/* sys/poll.h */
export const POLLIN = 0x0001;
export const POLLPRI = 0x0002;
export const POLLOUT = 0x0004;
export const POLLERR = 0x0008;
export const POLLHUP = 0x0010;
export const POLLNVAL = 0x0020;
export const POLLRDHUP = 0x4000;

/* so_state (sys/socketvar.h) */
export const SS_NOFDREF = 0x0001;
export const SS_ISCONNECTED = 0x0002;
export const SS_ISCONNECTING = 0x0004;
export const SS_ISDISCONNECTING = 0x0008;
export const SS_ISDISCONNECTED = 0x2000;
/** so_qstate (sys/socketvar.h): on its listener's completed-connection queue. */
export const SQ_COMP = 0x1000;

/** kern.ipc.maxsockbuf and the derived sb_max_adj (uipc_sockbuf.c). */
export const SB_MAX_DEFAULT = 2 * 1024 * 1024;
export function sbMaxAdj(sbMax: number): number {
  return Math.floor((sbMax * 2048) / (256 + 2048));
}

export interface SockAddr {
  addr: string;
  port: number;
}

/** struct linger */
export interface Linger {
  l_onoff: number;
  l_linger: number;
}

export type SockoptValue = number | string | Linger | Record<string, number>;

/**
 * The protocol's pcb a socket points to (so_pcb, a void * in FreeBSD): declared
 * here without members, and given them by the layer that owns it
 * (netinet/in_pcb.ts makes it the Inpcb), so the socket layer imports nothing above.
 */
// biome-ignore lint/suspicious/noEmptyInterface: opened by the layer that owns the pcb (declaration merging)
export interface SoPcb {}

/** pr_usrreqs: what a protocol implements for its sockets. */
export interface PrUsrreqs {
  attach(so: Socket): number;
  bind(so: Socket, addr: Uint8Array, alen: number, port: number): number;
  listen(so: Socket, backlog: number): number;
  connect(so: Socket, addr: Uint8Array, alen: number, port: number): number;
  /** Data was appended to so_snd (or `eor` for MSG_EOR); push it. */
  send(so: Socket, flags: number): number;
  /** The user read data: the protocol may open its window. */
  rcvd(so: Socket): void;
  /**
   * Whether rcvd() after a read could do anything (soreceive_stream asks; absent: always).
   * TCP says no when all it could send is a window update its output test would not send.
   */
  rcvdWanted?(so: Socket): boolean;
  shutdown(so: Socket): number;
  /** close(2): begin the orderly or abortive release; returns 0. */
  close(so: Socket): void;
  /** A queued, never-accepted connection is thrown away (soabort). */
  abort(so: Socket): void;
  ctloutput(so: Socket, set: boolean, level: number, name: number, value: SockoptValue | undefined): SockoptValue;
  sockaddr(so: Socket, peer: boolean): SockAddr | number;
  /** Optional record-oriented I/O (datagram protocols). */
  sosend?(so: Socket, data: Uint8Array, off: number, len: number, flags: number, to: SockAddr | undefined): number;
  soreceive?(so: Socket, buf: Uint8Array, off: number, len: number, flags: number, from: SockAddr | undefined): number;
}

/** The completed-connection queue of a socket that never listened: shared, empty, frozen. */
const NO_COMP: Socket[] = Object.freeze([]) as unknown as Socket[];

/** struct socket */
export class Socket {
  fd = -1;
  so_options = 0;
  so_state = 0;
  /** SQ_COMP once on its head's completed queue (so_qstate). */
  so_qstate = 0;
  so_error = 0;
  so_linger = 0;
  so_qlimit = 0;
  /** The FIB the socket routes in: the process's at socreate, the listener's at sonewconn, or SO_SETFIB's. */
  so_fibnum = 0;
  /** Completed connections awaiting accept (so_comp): a queue of its own once it listens. */
  so_comp: Socket[] = NO_COMP;
  so_head: Socket | null = null;
  so_pcb: SoPcb | null = null;
  readonly so_snd: Sockbuf;
  readonly so_rcv: Sockbuf;
  /** Last readiness reported through the upcall, so edges are reported once. */
  lastEvents = 0;
  /** Given back to the socket zone (sofree ran): it is never counted twice. */
  freed = false;

  constructor(
    readonly layer: SocketLayer,
    readonly so_type: number,
    readonly domain: number,
    readonly proto: PrUsrreqs,
    sndbuf: number,
    rcvbuf: number,
  ) {
    this.so_snd = new Sockbuf(sndbuf, 2048);
    this.so_rcv = new Sockbuf(rcvbuf, 1);
  }

  get listening(): boolean {
    return (this.so_options & SO_ACCEPTCONN) !== 0;
  }

  /** soisconnecting */
  isConnecting(): void {
    this.so_state &= ~(SS_ISCONNECTED | SS_ISDISCONNECTING);
    this.so_state |= SS_ISCONNECTING;
  }

  /** soisconnected: a passive child moves to its head's completed queue. */
  isConnected(): void {
    this.so_state &= ~(SS_ISCONNECTING | SS_ISDISCONNECTING);
    this.so_state |= SS_ISCONNECTED;
    const head = this.so_head;
    if (head !== null && (this.so_qstate & SQ_COMP) === 0) {
      this.so_qstate |= SQ_COMP;
      head.so_comp.push(this);
      this.layer.wakeup(head);
    }
    this.layer.wakeup(this);
  }

  /** soisdisconnecting */
  isDisconnecting(): void {
    this.so_state &= ~SS_ISCONNECTING;
    this.so_state |= SS_ISDISCONNECTING;
    this.so_rcv.sb_state |= SBS_CANTRCVMORE;
    this.so_snd.sb_state |= SBS_CANTSENDMORE;
    this.layer.wakeup(this);
  }

  /** soisdisconnected */
  isDisconnected(): void {
    this.so_state &= ~(SS_ISCONNECTING | SS_ISCONNECTED | SS_ISDISCONNECTING);
    this.so_state |= SS_ISDISCONNECTED;
    this.so_rcv.sb_state |= SBS_CANTRCVMORE;
    this.so_snd.sb_state |= SBS_CANTSENDMORE;
    this.so_snd.drop(this.so_snd.sb_cc);
    this.layer.wakeup(this);
  }

  /** socantrcvmore: the peer's FIN arrived. */
  cantRcvMore(): void {
    this.so_rcv.sb_state |= SBS_CANTRCVMORE;
    this.layer.wakeup(this);
  }

  /** socantsendmore */
  cantSendMore(): void {
    this.so_snd.sb_state |= SBS_CANTSENDMORE;
    this.layer.wakeup(this);
  }

  /** poll(2) readiness (sopoll_generic). */
  poll(): number {
    let ev = 0;
    const rcv = this.so_rcv;
    const snd = this.so_snd;
    if (this.listening) {
      if (this.so_comp.length > 0) ev |= POLLIN;
    } else {
      if (rcv.sb_cc >= rcv.sb_lowat || (rcv.sb_state & SBS_CANTRCVMORE) !== 0) ev |= POLLIN;
      if ((rcv.sb_state & SBS_CANTRCVMORE) !== 0) ev |= POLLRDHUP;
      if (
        (this.so_state & SS_ISCONNECTED) !== 0 &&
        (snd.sb_state & SBS_CANTSENDMORE) === 0 &&
        snd.space() >= snd.sb_lowat
      )
        ev |= POLLOUT;
      if (this.so_type === SOCK_DGRAM && (snd.sb_state & SBS_CANTSENDMORE) === 0) ev |= POLLOUT;
      if (
        (rcv.sb_state & SBS_CANTRCVMORE) !== 0 &&
        (snd.sb_state & SBS_CANTSENDMORE) !== 0 &&
        (this.so_state & SS_ISCONNECTING) === 0
      )
        ev |= POLLHUP;
    }
    if (this.so_error !== 0) ev |= POLLERR;
    return ev;
  }
}

export interface SocketProtoEntry {
  domain: 'inet' | 'inet6';
  type: 'stream' | 'dgram';
  usrreqs: PrUsrreqs;
}

/** Socket-buffer defaults the protocol supplies (net.inet.tcp.sendspace etc.). */
export interface SockDefaults {
  sndbuf(type: number): number;
  rcvbuf(type: number): number;
  sbMax(): number;
  /** net.fibs (rt_numfibs): SO_SETFIB and setfib take 0 .. numfibs-1 (absent: 1). */
  numfibs?(): number;
}

/**
 * The file-descriptor table and the syscalls on it. Descriptors are small integers
 * allocated lowest-first from 3, as a process with stdio open would see.
 */
export class SocketLayer {
  private fds: (Socket | undefined)[] = [];
  /** No descriptor below this one is free (fd_freefile's hint). */
  private fdFree = 3;
  private fdPeak = 0;
  private protos = new Map<string, PrUsrreqs>();
  upcall: ((fd: number, events: number) => void) | undefined;
  /**
   * The calling "process"'s default FIB (p_fibnum, setfib(2)): new sockets take it
   * (socreate). Whoever runs an application sets it around the application's calls.
   */
  private p_fibnum = 0;
  /** Where this layer's sockets take their buffer rings from. */
  readonly sbzone = new SockbufZone();
  /** FreeBSD's "socket" zone, its limit kern.ipc.maxsockets (uipc_socket.c socket_zone). */
  readonly zone: UmaZone<Socket>;

  constructor(
    readonly defaults: SockDefaults,
    readonly uma: UmaRegistry = new UmaRegistry(),
    maxsockets = MAXSOCKETS_DEFAULT,
  ) {
    this.zone = uma.create<Socket>('socket', 0, { limit: maxsockets });
    uma.report(() =>
      this.sbzone.stats().map((r) => ({
        name: `sockbuf_${r.size}`,
        size: r.size,
        limit: 0,
        used: r.used,
        free: r.free,
        requests: r.requests,
        fail: 0,
      })),
    );
  }

  /** soalloc: a socket from the zone, or null when kern.ipc.maxsockets are in use. */
  private soalloc(type: number, domain: number, pr: PrUsrreqs, snd: number, rcv: number): Socket | null {
    if (!this.zone.alloc()) return null;
    const so = new Socket(this, type, domain, pr, snd, rcv);
    if (this.zone.size === 0) this.zone.size = itemSize(so);
    return so;
  }

  /** sofree: the socket has neither a descriptor nor a protocol: back to the zone, once. */
  sofree(so: Socket): void {
    if (so.freed) return;
    so.freed = true;
    so.so_snd.release(this.sbzone);
    so.so_rcv.release(this.sbzone);
    this.zone.free();
  }

  /** The protocol switch: (domain, type) -> pr_usrreqs. */
  register(domain: 'inet' | 'inet6', type: 'stream' | 'dgram', usrreqs: PrUsrreqs): void {
    this.protos.set(`${domain}/${type}`, usrreqs);
  }

  /** Number of open descriptors. */
  get openCount(): number {
    let n = 0;
    for (const s of this.fds) if (s) n++;
    return n;
  }

  /** The open descriptors, lowest first (a vnet's teardown closes each). */
  openFds(): number[] {
    const out: number[] = [];
    for (let fd = 0; fd < this.fds.length; fd++) if (this.fds[fd] !== undefined) out.push(fd);
    return out;
  }

  /** fdalloc: the lowest free descriptor, searched from the lowest one that may be free. */
  private allocFd(so: Socket): number {
    let fd = this.fdFree;
    while (this.fds[fd] !== undefined) fd++;
    this.fdFree = fd + 1;
    if (fd >= this.fdPeak) this.fdPeak = fd + 1;
    this.fds[fd] = so;
    so.fd = fd;
    return fd;
  }

  lookup(fd: number): Socket | undefined {
    return Number.isInteger(fd) && fd >= 0 ? this.fds[fd] : undefined;
  }

  /** sowakeup: tell the caller readiness changed (edge-triggered on changes). */
  wakeup(so: Socket): void {
    if (so.fd < 0 || this.upcall === undefined) return;
    const ev = so.poll();
    if (ev === so.lastEvents) return;
    so.lastEvents = ev;
    this.upcall(so.fd, ev);
  }

  /** sonewconn: a child socket for a listener, not yet on any queue nor fd. */
  newconn(head: Socket): Socket | null {
    if (head.so_comp.length >= head.so_qlimit) return null;
    const so = this.soalloc(head.so_type, head.domain, head.proto, head.so_snd.sb_hiwat, head.so_rcv.sb_hiwat);
    if (so === null) return null;
    so.so_options = head.so_options & ~SO_ACCEPTCONN;
    so.so_linger = head.so_linger;
    so.so_fibnum = head.so_fibnum;
    // sonewconn: the new socket autotunes as its listener does.
    so.so_snd.sb_flags |= head.so_snd.sb_flags & SB_AUTOSIZE;
    so.so_rcv.sb_flags |= head.so_rcv.sb_flags & SB_AUTOSIZE;
    so.so_head = head;
    so.so_state |= SS_NOFDREF;
    return so;
  }

  /* ---------- system calls ---------- */

  /** setfib(2): the default FIB of sockets made from now on; -EINVAL past net.fibs. */
  setfib(fib: number): number {
    if (!this.fibValid(fib)) return -ERRNO.EINVAL;
    this.p_fibnum = fib;
    return 0;
  }
  /** The FIB new sockets take (net.my_fibnum). */
  get fibnum(): number {
    return this.p_fibnum;
  }

  private fibValid(fib: number): boolean {
    return Number.isInteger(fib) && fib >= 0 && fib < (this.defaults.numfibs?.() ?? 1);
  }

  socket(domain: 'inet' | 'inet6', type: 'stream' | 'dgram'): number {
    if (domain !== 'inet' && domain !== 'inet6') return -ERRNO.EAFNOSUPPORT;
    if (type !== 'stream' && type !== 'dgram') return -ERRNO.ESOCKTNOSUPPORT;
    const pr = this.protos.get(`${domain}/${type}`);
    if (!pr) return -ERRNO.EPROTONOSUPPORT;
    const t = type === 'stream' ? SOCK_STREAM : SOCK_DGRAM;
    const so = this.socreate(t, domain, pr, this.defaults.sndbuf(t), this.defaults.rcvbuf(t));
    return typeof so === 'number' ? so : this.allocFd(so);
  }

  /** socreate: a socket of `pr` attached, not yet on a descriptor; -ENOBUFS when the socket zone is at kern.ipc.maxsockets. */
  private socreate(type: number, domain: 'inet' | 'inet6', pr: PrUsrreqs, snd: number, rcv: number): Socket | number {
    const so = this.soalloc(type, domain === 'inet' ? AF_INET : AF_INET6, pr, snd, rcv);
    if (so === null) return -ERRNO.ENOBUFS;
    so.so_fibnum = this.p_fibnum;
    const e = pr.attach(so);
    if (e < 0) {
      this.sofree(so);
      return e;
    }
    return so;
  }

  /**
   * A stream socket of protocol `pr` (not the protocol switch's) at descriptor `fd`, which
   * must be free: the host half of a connection whose protocol runs elsewhere — a TOE
   * card's, as FreeBSD's socket stays on the host while t4_tom runs the tcpcb's protocol —
   * under the descriptor the application already holds (-1: the lowest free one). The fd,
   * or -EBADF / -ENOBUFS.
   */
  attachAt(fd: number, domain: 'inet' | 'inet6', pr: PrUsrreqs, sndbuf: number, rcvbuf: number): number {
    if (fd !== -1 && (!Number.isInteger(fd) || fd < 0 || this.fds[fd] !== undefined)) return -ERRNO.EBADF;
    const so = this.socreate(SOCK_STREAM, domain, pr, sndbuf, rcvbuf);
    if (typeof so === 'number') return so;
    if (fd === -1) return this.allocFd(so);
    this.fds[fd] = so;
    so.fd = fd;
    if (fd >= this.fdPeak) this.fdPeak = fd + 1;
    return fd;
  }

  /**
   * dup2(2) onto a free descriptor, then close(2) of the old one: the socket of `from`
   * is reached by `to` only (its readiness reported afresh). 0 or -EBADF.
   */
  moveFd(from: number, to: number): number {
    const so = this.lookup(from);
    if (so === undefined || !Number.isInteger(to) || to < 0 || this.fds[to] !== undefined) return -ERRNO.EBADF;
    this.fds[from] = undefined;
    if (from < this.fdFree) this.fdFree = from;
    this.fds[to] = so;
    so.fd = to;
    if (to >= this.fdPeak) this.fdPeak = to + 1;
    so.lastEvents = 0;
    this.wakeup(so);
    return 0;
  }

  /** soclose: the descriptor goes away now, the connection winds down on its own. */
  close(fd: number): number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    this.fds[fd] = undefined;
    if (fd < this.fdFree) this.fdFree = fd;
    // The table shrinks with its highest descriptors; V8 keeps an array's peak storage, so
    // one fallen to a quarter of its peak is copied: a burst of sockets leaves no table behind.
    while (this.fds.length > 3 && this.fds[this.fds.length - 1] === undefined) this.fds.pop();
    if (this.fdPeak > 1024 && this.fds.length < this.fdPeak >> 2) {
      this.fds = this.fds.slice();
      this.fdPeak = this.fds.length;
    }
    so.fd = -1;
    so.so_state |= SS_NOFDREF;
    if (so.listening) {
      // Connections nobody accepted are aborted (soclose drains so_comp).
      for (const c of so.so_comp.splice(0)) c.proto.abort(c);
    }
    so.proto.close(so);
    // The protocol already let go of it (the connection had ended): nothing else will.
    if (so.so_pcb === null) this.sofree(so);
    return 0;
  }

  accept(fd: number): number {
    const head = this.lookup(fd);
    if (!head) return -ERRNO.EBADF;
    if (!head.listening) return -ERRNO.EINVAL;
    const so = head.so_comp.shift();
    if (so === undefined) {
      if (head.so_error) {
        const e = head.so_error;
        head.so_error = 0;
        return -e;
      }
      return -ERRNO.EAGAIN;
    }
    so.so_head = null;
    so.so_state &= ~SS_NOFDREF;
    const nfd = this.allocFd(so);
    head.lastEvents = head.poll();
    return nfd;
  }

  /**
   * Text address to 16-byte in_conninfo form for this socket's family: an IPv4
   * socket takes dotted quads only; an IPv6 socket also takes a dotted quad as the
   * v4-mapped address. Returns the address length (4 or 16) or -errno.
   */
  parseAddr(so: Socket, text: string, out: Uint8Array<ArrayBuffer>): number {
    const v6 = text.includes(':');
    if (so.domain === AF_INET) {
      if (v6) return -ERRNO.EAFNOSUPPORT;
      return parseIPv4(text, out, 0) ? 4 : -ERRNO.EINVAL;
    }
    if (!v6) return parseIPv4(text, out, 0) ? 4 : -ERRNO.EINVAL;
    if (!parseIPv6(text, out, 0)) return -ERRNO.EINVAL;
    let mapped = out[10] === 0xff && out[11] === 0xff;
    for (let i = 0; i < 10; i++) if (out[i] !== 0) mapped = false;
    if (mapped) {
      out.copyWithin(0, 12, 16);
      return 4;
    }
    return 16;
  }

  private addrScratch = new Uint8Array(16);

  bind(fd: number, sa: SockAddr): number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if (!validPort(sa.port)) return -ERRNO.EINVAL;
    const alen = this.parseAddr(so, sa.addr, this.addrScratch);
    if (alen < 0) return alen;
    return so.proto.bind(so, this.addrScratch, alen, sa.port);
  }

  listen(fd: number, backlog: number): number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if (so.so_type !== SOCK_STREAM) return -ERRNO.EOPNOTSUPP;
    if ((so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING)) !== 0) return -ERRNO.EINVAL;
    // solisten_proto: a negative or excessive backlog means kern.ipc.somaxconn (128).
    if (!Number.isInteger(backlog) || backlog < 0 || backlog > 128) backlog = 128;
    const e = so.proto.listen(so, backlog);
    if (e < 0) return e;
    if (so.so_comp === NO_COMP) so.so_comp = [];
    so.so_qlimit = backlog;
    so.so_options |= SO_ACCEPTCONN;
    return 0;
  }

  connect(fd: number, sa: SockAddr): number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if (so.listening) return -ERRNO.EOPNOTSUPP;
    if (!validPort(sa.port) || sa.port === 0) return -ERRNO.EINVAL;
    if (so.so_type === SOCK_STREAM) {
      if ((so.so_state & SS_ISCONNECTED) !== 0) return -ERRNO.EISCONN;
      if ((so.so_state & SS_ISCONNECTING) !== 0) return -ERRNO.EALREADY;
      if ((so.so_state & SS_ISDISCONNECTED) !== 0 || so.so_error !== 0) {
        if (so.so_error !== 0) {
          const e = so.so_error;
          so.so_error = 0;
          return -e;
        }
        return -ERRNO.EINVAL;
      }
    }
    const alen = this.parseAddr(so, sa.addr, this.addrScratch);
    if (alen < 0) return alen;
    return so.proto.connect(so, this.addrScratch, alen, sa.port);
  }

  /** sosend for a stream: copy what fits into so_snd and let the protocol push it. */
  send(fd: number, data: Uint8Array, off = 0, len = data.length - off, flags = 0, to?: SockAddr): number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if (off < 0 || len < 0 || off + len > data.length) return -ERRNO.EFAULT;
    if (so.proto.sosend) return so.proto.sosend(so, data, off, len, flags, to);
    const r = this.sendable(so, len);
    if (r <= 0) return r;
    return this.pushed(so, so.so_snd.append(data, off, len, this.sbzone), len, flags);
  }

  /**
   * writev(2) on a stream: sosend copies the whole uio into so_snd before one pr_send, so
   * the buffers leave as one byte stream — header and body in one segment where they fit,
   * not a short first segment and a second that Nagle (RFC 896) holds for the peer's ACK.
   * `lens[i]`, when given, is iov_len: the first bytes of `bufs[i]` to send (so a caller
   * with fixed slots needs no views). Takes what fits, in order; datagram sockets are not
   * served here (-EOPNOTSUPP).
   */
  sendv(fd: number, bufs: readonly Uint8Array[], lens?: ArrayLike<number>): number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if (so.proto.sosend) return -ERRNO.EOPNOTSUPP;
    let len = 0;
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      const l = lens === undefined ? b.length : lens[i]!;
      if (!(Number.isInteger(l) && l >= 0 && l <= b.length)) return -ERRNO.EFAULT;
      len += l;
    }
    const r = this.sendable(so, len);
    if (r <= 0) return r;
    let n = 0;
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      const l = lens === undefined ? b.length : lens[i]!;
      const w = so.so_snd.append(b, 0, l, this.sbzone);
      n += w;
      if (w < l) break;
    }
    return this.pushed(so, n, len, 0);
  }

  /** sosend's checks before copying `len` bytes: 1 to go on, else 0 or -errno to return. */
  private sendable(so: Socket, len: number): number {
    const snd = so.so_snd;
    if ((snd.sb_state & SBS_CANTSENDMORE) !== 0) return -ERRNO.EPIPE;
    if (so.so_error !== 0) {
      const e = so.so_error;
      so.so_error = 0;
      return -e;
    }
    if ((so.so_state & SS_ISCONNECTED) === 0) return -ERRNO.ENOTCONN;
    if (len === 0) return 0;
    const space = snd.space();
    if (space <= 0 || (space < len && space < snd.sb_lowat)) {
      // The caller must now wait for POLLOUT: record that it is clear, so the ACKs
      // that free space raise a new edge (a non-blocking sbwait).
      this.wakeup(so);
      return -ERRNO.EAGAIN;
    }
    return 1;
  }

  /** pr_send after `n` of `len` bytes were appended; the bytes taken or the push's error. */
  private pushed(so: Socket, n: number, len: number, flags: number): number {
    const e = so.proto.send(so, flags);
    if (n < len) {
      // A short write tells the caller to wait for POLLOUT. If the buffer is writable
      // again already (send-buffer autotuning grew it while the protocol sent), that is
      // a new edge, not the old one: report it, or the caller waits for an edge that has passed.
      so.lastEvents &= ~POLLOUT;
      this.wakeup(so);
    }
    if (e < 0 && n === 0) return e;
    return n;
  }

  /** soreceive_stream: MSG_PEEK leaves the data; 0 means end of stream. */
  recv(fd: number, buf: Uint8Array, off = 0, len = buf.length - off, flags = 0, from?: SockAddr): number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if (off < 0 || len < 0 || off + len > buf.length) return -ERRNO.EFAULT;
    // soreceive(): a listening socket has nothing to read, then the protocol's pru_soreceive.
    if (so.listening) return -ERRNO.ENOTCONN;
    if (so.proto.soreceive) return so.proto.soreceive(so, buf, off, len, flags, from);
    const rcv = so.so_rcv;
    if (rcv.sb_cc === 0) return SocketLayer.emptyRead(so, len, flags);
    const n = Math.min(len, rcv.sb_cc);
    rcv.copyOut(0, buf, off, n);
    if ((flags & MSG_PEEK) === 0) {
      rcv.drop(n);
      so.proto.rcvd(so);
      this.wakeup(so);
    }
    return n;
  }

  /** The state checks of a read from an empty receive buffer: -errno, or 0 at end of stream. */
  static emptyRead(so: Socket, len: number, flags: number): number {
    if (so.so_error !== 0) {
      const e = so.so_error;
      if ((flags & MSG_PEEK) === 0) so.so_error = 0;
      return -e;
    }
    if ((so.so_rcv.sb_state & SBS_CANTRCVMORE) !== 0) return 0;
    if ((so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING)) === 0) return -ERRNO.ENOTCONN;
    return len === 0 ? 0 : -ERRNO.EAGAIN;
  }

  shutdown(fd: number, how: number): number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) return -ERRNO.EINVAL;
    if ((so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING)) === 0 && !so.listening)
      return -ERRNO.ENOTCONN;
    if (how !== SHUT_WR) {
      // sorflush: unread data is discarded and further data is not delivered.
      so.so_rcv.sb_state |= SBS_CANTRCVMORE;
      so.so_rcv.drop(so.so_rcv.sb_cc);
      this.wakeup(so);
    }
    if (how !== SHUT_RD) return so.proto.shutdown(so);
    return 0;
  }

  getsockname(fd: number): SockAddr | number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    return so.proto.sockaddr(so, false);
  }

  getpeername(fd: number): SockAddr | number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if ((so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING)) === 0) return -ERRNO.ENOTCONN;
    return so.proto.sockaddr(so, true);
  }

  poll(fd: number): number {
    const so = this.lookup(fd);
    if (!so) return POLLNVAL;
    return so.poll();
  }

  /** sogetopt: SOL_SOCKET here, everything else through pr_ctloutput. */
  getsockopt(fd: number, level: number, name: number): SockoptValue {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if (level !== SOL_SOCKET) return so.proto.ctloutput(so, false, level, name, undefined);
    switch (name) {
      case SO_DEBUG:
      case SO_ACCEPTCONN:
      case SO_REUSEADDR:
      case SO_KEEPALIVE:
      case SO_DONTROUTE:
      case SO_BROADCAST:
      case SO_OOBINLINE:
      case SO_REUSEPORT:
        return (so.so_options & name) !== 0 ? 1 : 0;
      case SO_LINGER:
        return { l_onoff: (so.so_options & SO_LINGER) !== 0 ? 1 : 0, l_linger: so.so_linger };
      case SO_SNDBUF:
        return so.so_snd.sb_hiwat;
      case SO_RCVBUF:
        return so.so_rcv.sb_hiwat;
      case SO_SNDLOWAT:
        return so.so_snd.sb_lowat;
      case SO_RCVLOWAT:
        return so.so_rcv.sb_lowat;
      case SO_TYPE:
        return so.so_type;
      case SO_SETFIB:
        return so.so_fibnum;
      case SO_ERROR: {
        const e = so.so_error;
        so.so_error = 0;
        return e;
      }
      default:
        return -ERRNO.ENOPROTOOPT;
    }
  }

  setsockopt(fd: number, level: number, name: number, value: SockoptValue): number {
    const so = this.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if (level !== SOL_SOCKET) {
      const r = so.proto.ctloutput(so, true, level, name, value);
      return typeof r === 'number' ? r : 0;
    }
    if (name === SO_LINGER) {
      const l = typeof value === 'object' ? (value as Linger) : { l_onoff: 1, l_linger: Number(value) };
      if (!Number.isInteger(l.l_linger) || l.l_linger < 0) return -ERRNO.EINVAL;
      if (l.l_onoff) so.so_options |= SO_LINGER;
      else so.so_options &= ~SO_LINGER;
      so.so_linger = l.l_linger;
      return 0;
    }
    const v = typeof value === 'number' ? value : NaN;
    if (!Number.isInteger(v)) return -ERRNO.EINVAL;
    switch (name) {
      case SO_DEBUG:
      case SO_REUSEADDR:
      case SO_KEEPALIVE:
      case SO_DONTROUTE:
      case SO_BROADCAST:
      case SO_OOBINLINE:
      case SO_REUSEPORT:
        if (v) so.so_options |= name;
        else so.so_options &= ~name;
        so.proto.ctloutput(so, true, SOL_SOCKET, name, v);
        return 0;
      case SO_SNDBUF:
      case SO_RCVBUF: {
        if (v < 1) return -ERRNO.EINVAL;
        const sb = name === SO_SNDBUF ? so.so_snd : so.so_rcv;
        if (!sb.reserveMax(v, sbMaxAdj(this.defaults.sbMax()))) return -ERRNO.ENOBUFS;
        // A size the application chose is kept: no autotuning (sosetopt).
        sb.sb_flags &= ~SB_AUTOSIZE;
        if (name === SO_SNDBUF && so.so_snd.sb_lowat > v) so.so_snd.sb_lowat = v;
        this.wakeup(so);
        return 0;
      }
      case SO_SETFIB: {
        // sosetopt: EINVAL past rt_numfibs; then the protocol copies it to its pcb (inc_fibnum).
        // FreeBSD ignores pr_ctloutput's answer here (a dropped pcb's ECONNRESET is no refusal);
        // EOPNOTSUPP is one: a protocol that cannot move the socket (an offloaded connection). Undo.
        if (!this.fibValid(v)) return -ERRNO.EINVAL;
        const was = so.so_fibnum;
        so.so_fibnum = v;
        if (so.proto.ctloutput(so, true, SOL_SOCKET, name, v) === -ERRNO.EOPNOTSUPP) {
          so.so_fibnum = was;
          return -ERRNO.EOPNOTSUPP;
        }
        return 0;
      }
      case SO_SNDLOWAT:
      case SO_RCVLOWAT: {
        if (v < 0) return -ERRNO.EINVAL;
        const sb = name === SO_SNDLOWAT ? so.so_snd : so.so_rcv;
        sb.sb_lowat = Math.max(1, Math.min(v, sb.sb_hiwat));
        return 0;
      }
      case SO_ERROR:
      case SO_TYPE:
      case SO_ACCEPTCONN:
        return -ERRNO.ENOPROTOOPT;
      default:
        return -ERRNO.ENOPROTOOPT;
    }
  }
}

export { SBS_CANTRCVMORE, SBS_CANTSENDMORE };

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

/**
 * soreceive_stream (uipc_socket.c), the stream receive path net.inet.tcp.soreceive_stream
 * gives TCP (tcp_init swaps it into pru_soreceive): the available bytes go out in one copy
 * and one sbdrop, and the protocol is told of the space only when telling it can matter
 * (PrUsrreqs.rcvdWanted), where the generic path runs TCP's output routine after every
 * read just to find no window update is due. The bytes read are the same either way.
 */
export function soreceiveStream(so: Socket, buf: Uint8Array, off: number, len: number, flags: number): number {
  if (so.so_type !== SOCK_STREAM) return -ERRNO.EINVAL;
  const sb = so.so_rcv;
  const n = Math.min(len, sb.sb_cc);
  if (sb.sb_cc === 0) return SocketLayer.emptyRead(so, len, flags);
  sb.copyOut(0, buf, off, n);
  if ((flags & MSG_PEEK) === 0) {
    sb.drop(n);
    const pr = so.proto;
    if (pr.rcvdWanted === undefined || pr.rcvdWanted(so)) pr.rcvd(so);
    so.layer.wakeup(so);
  }
  return n;
}
