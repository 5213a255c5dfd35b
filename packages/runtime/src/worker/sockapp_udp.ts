/**
 * The UDP half of sockapp: a main-thread dgram socket (the api's node:dgram-like Socket)
 * is one engine UDP socket in every group, bound on the port the coordinator reserved for
 * the stack, as FreeBSD's pcbgroups keep wildcard sockets in every group
 * (in_pcbgroup.c): RSS may bring a datagram for it to any worker. Datagrams go out from
 * the worker the main thread picked for their destination, so one destination's
 * datagrams leave in the order they were sent.
 *
 * Records (sockrec.ts): OP_UDP_BIND/SEND/CLOSE/SETOPT down, OP_UDP_BOUND/MSG/SENT up; a
 * datagram's address text sits in the first UDP_ADDR_BYTES of its slot and its data after
 * them, so recvfrom() writes straight into the up ring.
 */
import type { Engine, SockAddr } from '@mcstack/netinet';
import {
  ERRNO,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_RCVBUF,
  SO_SETFIB,
  SO_SNDBUF,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IP_TTL,
  IP_TOS,
  IPV6_UNICAST_HOPS,
  IPV6_TCLASS,
  IPV6_V6ONLY,
  POLLIN,
} from '@mcstack/netinet';
import type { AppContext } from '../apps/app.js';
import { errnoOf } from '../errinfo.js';
import { Pending } from './pending.js';
import { META_WORDS, type FrameRing, type RingProducer } from '../ring.js';
import {
  REC_LEN,
  REC_ARG,
  REC_ARG3,
  REC_ARG4,
  UDP_ADDR_BYTES,
  OP_UDP_BOUND,
  OP_UDP_MSG,
  OP_UDP_SENT,
  OP_UDP_CLOSED,
  UDPF_REUSEADDR,
  UDPF_V6ONLY,
  UDPF_FIB_SHIFT,
  UOPT_BROADCAST,
  UOPT_TTL,
  UOPT_RCVBUF,
  UOPT_SNDBUF,
  UOPT_TOS,
  putRecord,
} from '../sockrec.js';

interface UdpSock {
  sid: number;
  fd: number;
  family: 4 | 6;
  /** The reserved port (0 until the coordinator answered). */
  port: number;
}

/** The control-record emitter of SockApp (ordered with its backlog). */
type Emit = (op: number, sock: number, arg?: number, arg2?: number, arg3?: number, text?: string) => boolean;

const textEnc = new TextEncoder();
const textDec = new TextDecoder();

export class UdpBridge {
  private readonly socks = new Map<number, UdpSock>();
  private readonly byFd = new Map<number, UdpSock>();
  /** Sockets recv() may have data for (an upcall said POLLIN, or reading stopped early: ring full, budget). */
  private readonly readers = new Set<UdpSock>();
  /** Binds waiting for the coordinator; a close before the answer cancels them. */
  private readonly binding = new Pending();
  private readonly from: SockAddr = { addr: '', port: 0 };
  private readonly to: SockAddr = { addr: '', port: 0 };
  readonly counters = { udpIn: 0, udpOut: 0, udpErrors: 0 };

  constructor(
    private readonly ctx: AppContext,
    private readonly engine: Engine,
    private readonly up: FrameRing,
    private readonly upP: RingProducer,
    private readonly emit: Emit,
    private readonly watch: (fd: number, on: boolean) => void,
    /** Whether control records wait in SockApp's backlog (datagrams must not pass them). */
    private readonly backlogged: () => boolean,
  ) {}

  owns(fd: number): boolean {
    return this.byFd.has(fd);
  }

  /** An upcall on one of our fds. */
  event(fd: number): void {
    const u = this.byFd.get(fd);
    if (u === undefined) return;
    if ((this.engine.poll(fd) & POLLIN) !== 0) {
      this.readers.add(u);
    }
  }

  bind(sid: number, port: number, family: 4 | 6, flags: number, laddr: string): void {
    if (this.socks.has(sid) || this.binding.has(sid)) {
      this.emit(OP_UDP_BOUND, sid, ERRNO.EINVAL);
      return;
    }
    this.binding.wait(
      sid,
      this.ctx.udpReserve(family, port, (flags & UDPF_REUSEADDR) !== 0 ? 'reuseaddr' : `dgram${sid}`),
      (p) => this.open(sid, p, family, flags, laddr),
      (err) => this.emit(OP_UDP_BOUND, sid, errnoOf(err, ERRNO.EADDRINUSE)),
      (p) => void this.ctx.udpRelease(family, p),
    );
  }

  private open(sid: number, port: number, family: 4 | 6, flags: number, laddr: string): void {
    const e = this.engine;
    const fd = e.socket(family === 4 ? 'inet' : 'inet6', 'dgram');
    const fail = (r: number): void => {
      e.close(fd);
      void this.ctx.udpRelease(family, port);
      this.emit(OP_UDP_BOUND, sid, -r);
    };
    if (fd < 0) {
      this.emit(OP_UDP_BOUND, sid, -fd);
      return;
    }
    let r = 0;
    // SO_SETFIB before bind: the socket's datagrams route in its FIB (EINVAL past net.fibs).
    const fib = flags >>> UDPF_FIB_SHIFT;
    if (fib !== 0) r = e.setsockopt(fd, SOL_SOCKET, SO_SETFIB, fib);
    if (r === 0 && (flags & UDPF_REUSEADDR) !== 0) {
      r = e.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
      if (r === 0) r = e.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    }
    if (r === 0 && family === 6) r = e.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, (flags & UDPF_V6ONLY) !== 0 ? 1 : 0);
    if (r === 0) r = e.bind(fd, { addr: laddr !== '' ? laddr : family === 4 ? '0.0.0.0' : '::', port });
    if (r < 0) {
      fail(r);
      return;
    }
    const sa = e.getsockname(fd);
    const u: UdpSock = {
      sid,
      fd,
      family,
      port: typeof sa === 'number' ? port : sa.port,
    };
    this.socks.set(sid, u);
    this.byFd.set(fd, u);
    this.watch(fd, true);
    this.readers.add(u);
    // The socket's buffer sizes as the engine has them (net.inet.udp.recvspace, maxdgram):
    // what getRecvBufferSize()/getSendBufferSize() answer until they are set.
    const rcv = e.getsockopt(fd, SOL_SOCKET, SO_RCVBUF);
    const snd = e.getsockopt(fd, SOL_SOCKET, SO_SNDBUF);
    this.emit(
      OP_UDP_BOUND,
      sid,
      0,
      typeof rcv === 'number' ? rcv : 0,
      typeof snd === 'number' ? snd : 0,
      typeof sa === 'number' ? `${laddr} ${port}` : `${sa.addr} ${sa.port}`,
    );
  }

  /** A datagram record in slot `s` of the down ring. */
  send(sid: number, ring: FrameRing, s: number): void {
    const m = ring.meta;
    const b = s * META_WORDS;
    const id = m[b + REC_ARG4]!;
    const u = this.socks.get(sid);
    if (u === undefined) {
      this.emit(OP_UDP_SENT, sid, ERRNO.EBADF, id);
      return;
    }
    const view = ring.views[s]!;
    const to = this.to;
    to.addr = textDec.decode(view.subarray(0, m[b + REC_ARG3]!));
    to.port = m[b + REC_ARG]!;
    const len = m[b + REC_LEN]! - UDP_ADDR_BYTES;
    const r = this.engine.sendto(u.fd, view, to, UDP_ADDR_BYTES, len);
    if (r < 0) {
      this.counters.udpErrors++;
      this.emit(OP_UDP_SENT, sid, -r, id);
      return;
    }
    this.counters.udpOut++;
    if (id !== 0) this.emit(OP_UDP_SENT, sid, 0, id, r);
  }

  /** Close this group's socket of `sid`; OP_UDP_CLOSED once the coordinator has its share of the port back. */
  close(sid: number): void {
    this.binding.cancel(sid);
    const u = this.socks.get(sid);
    if (u === undefined) {
      this.emit(OP_UDP_CLOSED, sid);
      return;
    }
    this.socks.delete(sid);
    this.byFd.delete(u.fd);
    this.readers.delete(u);
    this.watch(u.fd, false);
    this.engine.close(u.fd);
    this.ctx.udpRelease(u.family, u.port).then(() => {
      this.emit(OP_UDP_CLOSED, sid);
      this.upP.publish();
    });
  }

  setopt(sid: number, opt: number, value: number): void {
    const u = this.socks.get(sid);
    if (u === undefined) return;
    const e = this.engine;
    const v6 = u.family === 6;
    if (opt === UOPT_BROADCAST) e.setsockopt(u.fd, SOL_SOCKET, SO_BROADCAST, value);
    else if (opt === UOPT_TTL)
      e.setsockopt(u.fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, value);
    else if (opt === UOPT_TOS) e.setsockopt(u.fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_TCLASS : IP_TOS, value);
    else if (opt === UOPT_RCVBUF) e.setsockopt(u.fd, SOL_SOCKET, SO_RCVBUF, value);
    else if (opt === UOPT_SNDBUF) e.setsockopt(u.fd, SOL_SOCKET, SO_SNDBUF, value);
  }

  /** Move received datagrams into the up ring; whether any moved. */
  poll(): boolean {
    let moved = false;
    for (const u of this.readers) if (this.read(u)) moved = true;
    return moved;
  }

  private read(u: UdpSock): boolean {
    const p = this.upP;
    const ring = this.up;
    const from = this.from;
    let moved = false;
    for (let budget = 64; budget > 0; budget--) {
      if (this.backlogged() || !p.roomAfterAsk()) return moved;
      const s = p.slot(0);
      const view = ring.views[s]!;
      const r = this.engine.recvfrom(u.fd, view, from, UDP_ADDR_BYTES, ring.slotSize - UDP_ADDR_BYTES);
      if (r < 0) {
        if (r !== -ERRNO.EAGAIN) this.counters.udpErrors++;
        this.readers.delete(u);
        return moved;
      }
      const alen = textEnc.encodeInto(from.addr, view.subarray(0, UDP_ADDR_BYTES)).written;
      putRecord(ring, s, OP_UDP_MSG, u.sid, from.port, from.addr.includes(':') ? 6 : 4, alen);
      ring.meta[s * META_WORDS + REC_LEN] = UDP_ADDR_BYTES + r;
      p.commit(1);
      this.counters.udpIn++;
      moved = true;
    }
    return moved; // budget spent: stays in readers
  }

  stop(): void {
    for (const u of [...this.socks.values()]) this.close(u.sid);
  }
}
