/**
 * The sans-I/O protocol engine: one host's network stack (NetStack: interfaces,
 * ARP/ND, routes, IPv4/IPv6, ICMP) with FreeBSD-like TCP and a socket layer on
 * top. Synchronous and deterministic: frames and a time go in, frames come out
 * through `output`, time is µs on a virtual clock that only the caller moves, and
 * all randomness comes from the seeded source.
 *
 * ## API
 *
 *   const e = new Engine({ seed: 1, output(ifp, frame, meta) {...}, upcall(fd, events) {...} });
 *   const em0 = e.ifattach({ name: 'em0', type: 'ether', lladdr, mtu: 1500 });
 *   e.addAddr('em0', '10.0.0.1/24'); e.setUp('em0', true); e.addRoute('0.0.0.0/0', '10.0.0.254');
 *   e.input('em0', frame, now, meta?);   // a frame arrived at time `now`
 *   e.advance(now);                      // run the callouts due by `now`
 *   e.nextTimeout();                     // earliest pending callout (µs) or Infinity
 *
 * Time never goes backwards: input/advance with an earlier `now` keep the current time.
 * `output(ifp, frame, meta)` gets a frame valid only during the call (copy it to keep
 * it); it must not call back into the same engine synchronously. It may return -ENOBUFS
 * (the driver's queue is full): the frame is counted in if_oqdrops and tcp_output backs out.
 *
 * Sockets (FreeBSD semantics, always non-blocking; each returns ≥ 0 or -errno,
 * errno values from kern/errno.ts ERRNO):
 *   socket('inet'|'inet6', 'stream'|'dgram') → fd (lowest free, from 3)
 *   bind(fd, {addr, port}) · listen(fd, backlog) · accept(fd) → fd | -EAGAIN
 *   connect(fd, {addr, port}) → -EINPROGRESS; completion via upcall (POLLOUT) or SO_ERROR
 *   send(fd, data, off?, len?, flags?) → bytes | -EAGAIN | -EPIPE | -ENOTCONN ...
 *   sendv(fd, bufs, lens?) → bytes, as writev(2): the buffers leave as one stream write
 *   sendto(fd, data, to, ...) / recvfrom(fd, buf, from, ...) for datagram sockets (UDP)
 *   recv(fd, buf, off?, len?, flags?) → bytes | 0 at EOF | -EAGAIN (MSG_PEEK keeps data)
 *   shutdown(fd, SHUT_RD|SHUT_WR|SHUT_RDWR) · close(fd)
 *   getsockopt(fd, level, name) → value (number, string, object) | -errno
 *   setsockopt(fd, level, name, value) → 0 | -errno
 *   getsockname(fd) / getpeername(fd) → {addr, port} | -errno
 *   tcpInfo(fd) → struct tcp_info | -errno · poll(fd) → POLLIN|POLLOUT|POLLERR|POLLHUP bits
 * Option levels/names are FreeBSD's numbers (SOL_SOCKET 0xffff, IPPROTO_TCP 6, ...),
 * exported from kern/uipc_socket.ts, netinet/in.ts and tcp/usrreq.ts.
 * `upcall(fd, events)` reports a socket's poll bits when they change.
 * `sysctl` is the tree (`e.sysctl.set('net.inet.tcp.sack.enable', 0)`).
 *
 * Multi-worker stacks (netinet/in_pcbgroup.ts, in_pcblist.ts, tcp/export.ts):
 *   setPcbgroup({id, ngroups, nbuckets, buckets, lock}) · pcbgroup (owns(hash), lock, misdirected)
 *   pcblookup(proto, faddr, laddr, INPLOOKUP_* flags) → pcb locked as asked | null
 *   pcblist() · pcblistCursor().next(max) · pcblistSize() → netstat records, generation-consistent
 *   exportConnection(fd) → TcpExport (transferable) · importConnection(x) → fd
 *
 * Loadable modules (kern/kern_linker.ts, modules.ts), process-wide as in a kernel:
 *   kldload(name) → file id | -ENOENT | -EEXIST · kldunload(name) → 0 | -ENOENT | -EBUSY
 *   kldstat() → [{id, refs, name, description}] · kldAvailable() → names kldload takes
 * A module loaded in one engine is attached to every engine of the thread, later ones too.
 *
 * Teardown (a vnet jail removed, jail.ts): destroy(now?) → VnetLeftovers, everything the
 * engine held released (live connections reset), what was still held reported.
 */
import { CalloutWheel } from './kern/callout.js';
import { SeededRandom, type RandomSource } from './kern/random.js';
import { SysctlTree, isLoaderTunable } from './kern/sysctl.js';
import { MsgBuf, LOG_WARNING } from './kern/msgbuf.js';
import { ERRNO } from './kern/errno.js';
import {
  SocketLayer,
  SOCK_STREAM,
  SO_LINGER,
  type SockAddr,
  type SockoptValue,
  soreceiveStream,
} from './kern/uipc_socket.js';
import { newIp6OutArgs } from './netinet6/ip6_var.js';
import { type Ifnet, type IfattachOptions, ifSetFib, ifSetMtu, ifUpDown, ifattach, ifunit } from './net/if.js';
import type { FrameMeta } from './net/mbuf.js';
import { CSUM_TCP, CSUM_TCP_IPV6, CSUM_UDP, CSUM_UDP_IPV6, CSUM_IP_TSO, CSUM_IP6_TSO } from './net/mbuf.js';
import { newIpOutArgs } from './netinet/ip_var.js';
import { isLocal4, selectSource4 } from './netinet/in.js';
import { ipOutput } from './netinet/ip_output.js';
import {
  PRC_MSGSIZE,
  PRC_UNREACH_PORT,
  PRC_UNREACH_PROTOCOL,
  PRC_UNREACH_ADMIN_PROHIB,
  PRC_TIMXCEED_INTRANS,
  inetctlerrmap,
  type CtlInput,
  registerProtocol,
} from './net/protosw.js';
import { Tcp, tcpInpToXtp, tcpDrop, tcpReclaim, tcpHcPurgeNow, tcpHcArm, tcpDestroy } from './tcp/subr.js';
import { ipNextMtu } from './netinet/ip_icmp.js';
import { IPV6_MMTU } from './netinet6/ip6_var.js';
import { TcpUsrreqs, tcpFillInfo, type TcpInfo } from './tcp/usrreq.js';
import { tcpInput, tcpTunnelInput, tcpMtudisc } from './tcp/input.js';
import { udpAttach, type Udp } from './udp/usrreq.js';
import { tcpSysctls, tcpHostcacheSysctls } from './tcp/sysctl.js';
import { syncacheSysctls } from './tcp/syncache_sysctl.js';
import { UmaRegistry, maxsocketsSysctl, type UmaZoneStats } from './kern/uma.js';
import { KeyDb, type SecAssocRecord } from './netipsec/key.js';
import { applySetkey, type SetkeyOp } from './tools/setkey.js';
import { hostcacheCreate, hostcacheTunables } from './tcp/hostcache.js';
import { Kenv, type KenvValues } from './kern/kenv.js';
import { SysError } from './kern/errno.js';
import type { TcpNet } from './tcp/netport.js';
import { TCPS_SYN_SENT, TCPS_ESTABLISHED } from './tcp/var.js';
import { addrIsUnspec, inPcblookup, type Inpcb } from './netinet/in_pcb.js';
import { Pcbgroup, type PcbgroupOptions } from './netinet/in_pcbgroup.js';
import {
  PcbListCursor,
  pcblistEstimate,
  type PcbListProto,
  type PcbRecord,
  type Xinpgen,
} from './netinet/in_pcblist.js';
import { tcpExport, tcpImport, type TcpExport, type TcpImportOptions } from './tcp/export.js';
import { seqGeq, seqLt, parseIPv4, parseIPv6 } from '@mcstack/wire';
import { addAddr, ifDetach, netstackAttach, type NetStack } from './netstack.js';
import { drain } from './net/if_loop.js';
import { addRoute, changeRoute, deleteRoute, routeSysctls, routeTablesInit, rtalloc4, rtalloc6 } from './net/route.js';
import { RTF_GATEWAY } from './net/route_var.js';
import { ifInput } from './net/if_var.js';
import { isLocal6, selectSource6 } from './netinet6/in6.js';
import { ip6Output } from './netinet6/ip6_output.js';
import { linker, type KldStat } from './kern/kern_linker.js';
import { Pf } from './netpfil/pf/pf.js';
import './modules.js';

export interface EngineOptions {
  /** Seed for the default random source (ignored when `random` is given). */
  seed?: number;
  random?: RandomSource;
  /** Start time, µs. */
  now?: number;
  /**
   * The driver's if_transmit: nothing (or 0) when the frame was taken, -ENOBUFS when its
   * transmit queue is full; the refusal travels up to ip_output and tcp_output.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: an output that returns nothing took the frame.
  output?(ifp: Ifnet, frame: Uint8Array, meta: FrameMeta): number | void;
  upcall?(fd: number, events: number): void;
  /** Run as a connection group of a multi-worker stack (default: group 0 of 1, every bucket). */
  pcbgroup?: PcbgroupOptions;
  /** log(9) messages as they are logged (they are also kept in `msgbuf`). */
  log?(priority: number, text: string): void;
  /**
   * Loader tunables (loader.conf / kenv), read once as the engine is built and starts:
   * the CTLFLAG_RDTUN OIDs (net.inet.tcp.syncache.hashsize, kern.ipc.maxsockets...), which
   * the sysctl tree refuses later (EPERM), and the sizes of a private host cache
   * (`net.inet.tcp.hostcache.{hashsize,bucketlimit,cachelimit}`). An unknown name is ENOENT.
   */
  tunables?: KenvValues;
  /**
   * The stack's one host cache (tcp/hostcache.ts hostcacheCreate), shared by its workers.
   * Without it the engine makes its own, sized by `tunables`.
   */
  hostcache?: SharedArrayBuffer;
}

/** What Engine.destroy found still held after the teardown: all zero when nothing leaked. */
export interface VnetLeftovers {
  /** Zones with items still in use (uma_zdestroy of a zone that is not empty). */
  zones: UmaZoneStats[];
  /** Callouts still armed once every subsystem was torn down (disarmed then). */
  callouts: number;
  pcbs: number;
  tcbs: number;
  fds: number;
}

/**
 * Split sysctl settings given for a stack's start (a daemon config) into the loader
 * tunables, which an engine reads only as it starts (EngineOptions.tunables), and the
 * rest, set on the running engine's tree in order. The names the subsystems declared
 * (kern/sysctl.ts loaderTunable) tell them apart before any engine exists.
 */
export function splitLoaderTunables(settings: Record<string, number | string>): {
  tunables: Record<string, number | string>;
  sysctls: Record<string, number | string>;
} {
  const tunables: Record<string, number | string> = {};
  const sysctls: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(settings)) {
    if (isLoaderTunable(k)) tunables[k] = v;
    else sysctls[k] = v;
  }
  return { tunables, sysctls };
}

export class Engine {
  readonly random: RandomSource;
  readonly callouts = new CalloutWheel();
  readonly sysctl = new SysctlTree();
  readonly net: NetStack;
  readonly sockets: SocketLayer;
  readonly tcp: Tcp;
  readonly udp: Udp;
  /** The engine's UMA zones (`vmstat -z`). */
  readonly uma = new UmaRegistry();
  /** The security-association database (netipsec/key.ts): TCP-MD5 keys, set with `setkey`. */
  readonly keydb = new KeyDb();
  /** The kernel message buffer (dmesg): what log_in_vain and friends logged. */
  readonly msgbuf: MsgBuf;
  /** The packet filter (netpfil/pf): off until `pf.start()` hooks it into pfil. */
  readonly pf: Pf;
  private _now: number;
  private outputFn: EngineOptions['output'];

  constructor(o: EngineOptions = {}) {
    this._now = o.now ?? 0;
    this.random = o.random ?? new SeededRandom(o.seed ?? 1);
    this.outputFn = o.output;
    const now = () => this._now;
    this.msgbuf = new MsgBuf(now, o.log);
    const log = (priority: number, text: string) => this.msgbuf.log(priority, text);
    this.net = netstackAttach({
      now,
      random: this.random,
      callouts: this.callouts,
      sysctl: this.sysctl,
      output: (ifp, frame, meta) => this.outputFn?.(ifp, frame, meta) ?? 0,
      log,
    });
    this.pf = new Pf({ callouts: this.callouts, now, log }, [this.net.pfil4, this.net.pfil6]);
    let tcpRef: Tcp | null = null;
    this.sockets = new SocketLayer(
      {
        sndbuf: (t) => (t === SOCK_STREAM ? tcpRef!.t.sendspace : 9216),
        rcvbuf: (t) => (t === SOCK_STREAM ? tcpRef!.t.recvspace : 42080),
        sbMax: () => tcpRef!.t.maxsockbuf,
        numfibs: () => this.net.fibs.length,
      },
      this.uma,
    );
    this.sockets.upcall = o.upcall;
    const kenv = new Kenv(o.tunables);
    routeTablesInit(this.net, kenv);
    routeSysctls(this.sysctl, this.net);
    const hcTunables = hostcacheTunables(kenv);
    if (hcTunables.hashsize !== undefined && (hcTunables.hashsize & (hcTunables.hashsize - 1)) !== 0)
      log(LOG_WARNING, 'WARNING: hostcache hash size is not a power of 2.');
    const hostcache = o.hostcache ?? hostcacheCreate(hcTunables, false);
    const tcp = new Tcp({
      wheel: this.callouts,
      random: this.random,
      sockets: this.sockets,
      now,
      log,
      uma: this.uma,
      keydb: this.keydb,
      hostcache,
    });
    tcpRef = tcp;
    this.tcp = tcp;
    tcp.net = this.tcpNet();
    tcp.pcbinfo.range = this.net.portrange;
    const tcpUsrreqs = new TcpUsrreqs(tcp);
    this.sockets.register('inet', 'stream', tcpUsrreqs);
    this.sockets.register('inet6', 'stream', tcpUsrreqs);
    this.udp = udpAttach(this.net, this.sockets, this.random, this.sysctl);
    this.udp.tunnel = {
      port: () => tcp.t.udp_tunneling_port,
      input: (m, off, len, pi) => tcpTunnelInput(tcp, m, off, len, pi),
    };
    // One group for both protocols (each pcbinfo starts with its own standalone one).
    this.setPcbgroup(o.pcbgroup ?? {});
    registerProtocol(this.net, 6, {
      input: (m, off, len, pi) => tcpInput(tcp, m, off, len, pi),
      ctlinput: (cmd, ctl) => this.tcpCtlinput(cmd, ctl),
    });
    tcpHostcacheSysctls(this.sysctl, tcp.hostcache, () => tcpHcPurgeNow(tcp));
    tcpSysctls(this.sysctl, tcp.t, {
      ccAlgorithm: () => tcp.cc.default.name,
      setCcAlgorithm: (n) => tcp.cc.setDefault(n),
      ccAvailable: () => tcp.cc.available(),
    });
    syncacheSysctls(this.sysctl, tcp.t, () => tcp.syncache.size);
    maxsocketsSysctl(this.sysctl, this.sockets.zone);
    // loader.conf: the tunables, then the subsystems that read them at start.
    for (const [name, value] of Object.entries(o.tunables ?? {})) {
      if (kenv.fetched(name)) continue;
      // Not read while building and no OID of that name: a misspelt tunable is refused
      // (an OID that is no loader tunable is EINVAL from load()).
      if (!this.sysctl.has(name)) throw new SysError('ENOENT', `unknown tunable '${name}'`, 'kenv');
      this.sysctl.load(name, value);
    }
    tcp.syncache.start();
    if (tcp.t.soreceive_stream) tcpUsrreqs.soreceive = soreceiveStream;
    linker.attachHost(this);
  }

  /* ------------------------------------------------------------ modules */

  /** kldload(2) in this thread (every engine): the file id or -errno. */
  kldload(name: string): number {
    return linker.load(name);
  }
  /** kldunload(2): 0, -ENOENT (not loaded) or -EBUSY (in use in some engine, or depended on). */
  kldunload(name: string): number {
    return linker.unload(name);
  }
  kldstat(): KldStat[] {
    return linker.stat();
  }
  /** The module names kldload takes. */
  kldAvailable(): string[] {
    return linker.available();
  }

  /** The engine's clock, µs. */
  get now(): number {
    return this._now;
  }

  set output(fn: EngineOptions['output']) {
    this.outputFn = fn;
  }
  set upcall(fn: EngineOptions['upcall']) {
    this.sockets.upcall = fn;
  }

  private setTime(now: number | undefined): void {
    if (now !== undefined && now > this._now) this._now = now;
  }

  /* ------------------------------------------------------------ interfaces */

  private ifp(x: Ifnet | string): Ifnet {
    if (typeof x !== 'string') return x;
    const i = ifunit(this.net, x);
    if (!i) throw new TypeError(`no interface ${x}`);
    return i;
  }

  ifattach(o: IfattachOptions): Ifnet {
    return ifattach(this.net, o);
  }
  ifunit(name: string): Ifnet | null {
    return ifunit(this.net, name);
  }
  /** if_detach (netstack.ts ifDetach): 0, -EINVAL for lo0, -ENXIO when not here. */
  ifdetach(ifp: Ifnet | string): number {
    return ifDetach(this.net, this.ifp(ifp));
  }
  addAddr(ifp: Ifnet | string, cidr: string): number {
    return addAddr(this.net, this.ifp(ifp), cidr);
  }
  setUp(ifp: Ifnet | string, up = true): void {
    ifUpDown(this.net, this.ifp(ifp), up);
    drain(this.net);
  }
  setMtu(ifp: Ifnet | string, mtu: number): number {
    return ifSetMtu(this.net, this.ifp(ifp), mtu);
  }
  /** `ifconfig IF fib N`: 0 or -EINVAL past net.fibs. */
  setIfFib(ifp: Ifnet | string, fib: number): number {
    return ifSetFib(this.net, this.ifp(ifp), fib);
  }
  addRoute(prefix: string, via: string | Ifnet, opts: { fib?: number; mtu?: number } = {}): number {
    return addRoute(this.net, prefix, via, opts);
  }

  /** `route change PREFIX [GATEWAY|IF] [-mtu N] [-fib N]` (net/route.ts changeRoute): 0, -ENOENT or add's errors. */
  changeRoute(prefix: string, via: string | Ifnet | null, opts: { fib?: number; mtu?: number } = {}): number {
    return changeRoute(this.net, prefix, via, opts);
  }

  /** `route delete PREFIX [-fib N]`: 0, -ENOENT (no such route) or -EINVAL. */
  deleteRoute(prefix: string, fib = 0): number {
    return deleteRoute(this.net, prefix, fib);
  }

  /* ------------------------------------------------------------ time and frames */

  /** A frame arrived on `ifp` at time `now`. */
  input(ifp: Ifnet | string, frame: Uint8Array, now?: number, meta?: FrameMeta | null): void {
    tcpReclaim(this.tcp);
    this.setTime(now);
    this.callouts.run(this._now);
    ifInput(this.net, this.ifp(ifp), frame, meta ?? null);
    drain(this.net);
  }

  /**
   * A frame that waited in a queue while the thread running this engine was off the CPU,
   * taken at `now` without first running the callouts that fell due meanwhile; advance(now)
   * after the batch runs them. A host that had run all along would have taken the frame
   * when it arrived, before those timers: an ACK that came in time stops the retransmission
   * timer (RFC 6298 §5.2), it is not beaten by it. A userspace stack's thread can be kept
   * off a loaded machine's CPU for longer than an RTO; input() would then retransmit every
   * connection's window spuriously before reading the ACKs queued for it.
   */
  inputQueued(ifp: Ifnet | string, frame: Uint8Array, now?: number, meta?: FrameMeta | null): void {
    tcpReclaim(this.tcp);
    this.setTime(now);
    ifInput(this.net, this.ifp(ifp), frame, meta ?? null);
    drain(this.net);
  }

  /** Move the clock to `now` without running callouts (before a batch of inputQueued()). */
  setClock(now: number): void {
    this.setTime(now);
  }

  /** Run every callout due by `now`. */
  advance(now: number): void {
    tcpReclaim(this.tcp);
    this.setTime(now);
    this.callouts.run(this._now);
    drain(this.net);
  }

  /** The earliest pending callout, or Infinity. */
  nextTimeout(): number {
    return this.callouts.next();
  }

  /* ------------------------------------------------------------ sockets */

  private after<T>(r: T): T {
    drain(this.net);
    return r;
  }

  /**
   * setfib(2): the FIB of the sockets made from now on (the in-worker "process"'s default,
   * set around an application's calls by whoever runs it). 0 or -EINVAL past net.fibs.
   */
  setfib(fib: number): number {
    return this.sockets.setfib(fib);
  }
  socket(domain: 'inet' | 'inet6', type: 'stream' | 'dgram'): number {
    return this.sockets.socket(domain, type);
  }
  bind(fd: number, sa: SockAddr): number {
    return this.sockets.bind(fd, sa);
  }
  listen(fd: number, backlog: number): number {
    return this.sockets.listen(fd, backlog);
  }
  accept(fd: number): number {
    return this.sockets.accept(fd);
  }
  connect(fd: number, sa: SockAddr): number {
    return this.after(this.sockets.connect(fd, sa));
  }
  send(fd: number, data: Uint8Array, off?: number, len?: number, flags?: number): number {
    return this.after(this.sockets.send(fd, data, off, len, flags));
  }
  /** writev(2): the buffers (their first `lens[i]` bytes) appended in order, then one push (kern/uipc_socket.ts). */
  sendv(fd: number, bufs: readonly Uint8Array[], lens?: ArrayLike<number>): number {
    return this.after(this.sockets.sendv(fd, bufs, lens));
  }
  recv(fd: number, buf: Uint8Array, off?: number, len?: number, flags?: number): number {
    return this.after(this.sockets.recv(fd, buf, off, len, flags));
  }
  /** sendto(2): a datagram to `to` (UDP), or plain send on a connected socket. */
  sendto(fd: number, data: Uint8Array, to: SockAddr, off?: number, len?: number, flags?: number): number {
    return this.after(this.sockets.send(fd, data, off, len, flags, to));
  }
  /** recvfrom(2): the sender's address is written into `from`. */
  recvfrom(fd: number, buf: Uint8Array, from: SockAddr, off?: number, len?: number, flags?: number): number {
    return this.after(this.sockets.recv(fd, buf, off, len, flags, from));
  }
  shutdown(fd: number, how: number): number {
    return this.after(this.sockets.shutdown(fd, how));
  }
  close(fd: number): number {
    return this.after(this.sockets.close(fd));
  }
  getsockopt(fd: number, level: number, name: number): SockoptValue {
    return this.sockets.getsockopt(fd, level, name);
  }
  setsockopt(fd: number, level: number, name: number, value: SockoptValue): number {
    return this.after(this.sockets.setsockopt(fd, level, name, value));
  }
  getsockname(fd: number): SockAddr | number {
    return this.sockets.getsockname(fd);
  }
  getpeername(fd: number): SockAddr | number {
    return this.sockets.getpeername(fd);
  }
  poll(fd: number): number {
    return this.sockets.poll(fd);
  }

  /** TCP_INFO for a stream socket. */
  /**
   * setkey(8) on this stack's SA database (tools/setkey.ts operations, from
   * `parseSetkey`): applied in order, the first failure thrown as a SysError.
   * Returns the SAs afterwards (what `dump` shows).
   */
  setkey(ops: readonly SetkeyOp[]): SecAssocRecord[] {
    return applySetkey(this.keydb, ops);
  }

  tcpInfo(fd: number): TcpInfo | number {
    const so = this.sockets.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    const tp = so.so_pcb?.inp_ppcb;
    if (!tp) return -ERRNO.ECONNRESET;
    return tcpFillInfo(this.tcp, tp);
  }

  /** Everything still alive (for leak checks): pcbs, tcpcbs, callouts, open fds. */
  census(): { pcbs: number; tcbs: number; callouts: number; fds: number; syncache: number } {
    return {
      pcbs: this.tcp.pcbinfo.count,
      tcbs: this.tcp.tcbs.size,
      // The host cache's prune callout is the stack's, as FreeBSD's always-armed
      // tcp_hc_callout: the cache keeps closed connections' metrics for an hour by design.
      callouts: this.callouts.size - (this.tcp.hcCallout.pending ? 1 : 0),
      fds: this.sockets.openCount,
      syncache: this.tcp.syncache.size,
    };
  }

  /** True once destroy() ran: the engine takes no more frames or calls. */
  get destroyed(): boolean {
    return this._destroyed;
  }
  private _destroyed = false;

  /**
   * vnet_destroy: tear the whole stack down, as FreeBSD does when a vnet jail is removed.
   * Every descriptor is closed as its process exiting would close it, but with SO_LINGER
   * 0, so each live connection ends with an RST now rather than a FIN exchange nobody will
   * finish; then tcp_destroy (tcp/subr.ts: host cache, SYN cache, TIME_WAIT, what is left),
   * every interface but lo0 detached (if_detach), the reassembly queues drained, the
   * modules' per-vnet parts detached (VNET_SYSUNINIT), the wheel disarmed and the zones
   * trimmed. The frames it sends (the RSTs) leave through `output` before it returns.
   * Returns what was still held: all zero unless something leaked.
   */
  destroy(now?: number): VnetLeftovers {
    this.setTime(now);
    tcpReclaim(this.tcp);
    const so = this.sockets;
    for (const fd of so.openFds()) {
      const s = so.lookup(fd)!;
      s.so_options |= SO_LINGER;
      s.so_linger = 0;
      so.close(fd);
    }
    tcpDestroy(this.tcp);
    drain(this.net);
    for (const ifp of [...this.net.ifnets]) if (ifp !== this.net.lo0) ifDetach(this.net, ifp);
    ifUpDown(this.net, this.net.lo0, false);
    this.net.ipReass.drain();
    this.net.frag6.drain();
    this.net.loopq.length = 0;
    this.net.loopHead = 0;
    linker.destroyHost(this);
    const census = this.census();
    const callouts = this.callouts.clear();
    this._destroyed = true;
    // Every free takes effect (the epoch ends) and the kept items go (uma_zdestroy).
    this.uma.reclaim();
    this.uma.trim();
    this.uma.trim();
    return {
      zones: this.uma.stats().filter((z) => z.used !== 0),
      callouts,
      pcbs: census.pcbs + this.udp.pcbinfo.count,
      tcbs: census.tcbs,
      fds: census.fds,
    };
  }

  /* ------------------------------------------------------------ connection groups */

  /** The connection group this engine runs as (in_pcbgroup.ts). */
  get pcbgroup(): Pcbgroup {
    return this.tcp.pcbinfo.group.pcbgroup;
  }

  /** Run as group `id` of `ngroups` owning `buckets`, under `lock`; TCP and UDP share it. */
  setPcbgroup(o: PcbgroupOptions | Pcbgroup): Pcbgroup {
    const pg = o instanceof Pcbgroup ? o : new Pcbgroup(o);
    this.tcp.pcbinfo.group.pcbgroup = pg;
    this.udp.pcbinfo.group.pcbgroup = pg;
    return pg;
  }

  /**
   * in_pcblookup: the pcb of a 4-tuple (group table, then with INPLOOKUP_WILDCARD the
   * listeners), locked as INPLOOKUP_RLOCKPCB / INPLOOKUP_WLOCKPCB ask — release it with
   * inpUnlock. null when none; -EINVAL for an address that does not parse. Throws
   * EINVAL unless exactly one lock flag is given.
   */
  pcblookup(proto: 'tcp' | 'udp', faddr: SockAddr, laddr: SockAddr, lookupflags: number): Inpcb | null | number {
    const f = addr16(faddr.addr);
    const l = addr16(laddr.addr);
    if (f === null || l === null) return -ERRNO.EINVAL;
    return inPcblookup((proto === 'tcp' ? this.tcp : this.udp).pcbinfo, f, faddr.port, l, laddr.port, lookupflags);
  }

  /* ------------------------------------------------------------ pcblist (netstat) */

  private pcblistProtos(): PcbListProto[] {
    return [
      { proto: 'tcp', info: this.tcp.pcbinfo, fill: tcpInpToXtp },
      { proto: 'udp', info: this.udp.pcbinfo },
    ];
  }

  /** Every TCP and UDP pcb with its xinpgen before and after (in_pcblist.ts). */
  pcblist(): { begin: Xinpgen; records: PcbRecord[]; end: Xinpgen } {
    const c = this.pcblistCursor();
    return { begin: c.begin, records: c.next(), end: c.end() };
  }

  /** A listing taken in chunks (cursor.next(max)) while the engine keeps running. */
  pcblistCursor(): PcbListCursor {
    return new PcbListCursor(this.pcblistProtos(), () => this._now);
  }

  /** The pcb count and the record count to make room for (count + max(count/8, 10)). */
  pcblistSize(): { count: number; estimate: number } {
    const count = this.tcp.pcbinfo.count + this.udp.pcbinfo.count;
    return { count, estimate: pcblistEstimate(count) };
  }

  /* ------------------------------------------------------------ connection export/import */

  /**
   * Take the TCP connection of `fd` out of this engine as a transferable object
   * (tcp/export.ts); the descriptor is closed, nothing is sent. -EBADF, -EINVAL
   * (listener, not connected), -ECONNRESET (connection gone). `now` moves the clock
   * first, as input() does.
   */
  exportConnection(fd: number, now?: number): TcpExport | number {
    this.setTime(now);
    const so = this.sockets.lookup(fd);
    if (!so) return -ERRNO.EBADF;
    if (so.so_type !== SOCK_STREAM) return -ERRNO.EINVAL;
    const inp = so.so_pcb;
    const x = tcpExport(this.tcp, so);
    if (typeof x !== 'number') {
      // The flow's pf state goes with it: the new owner filters it on that state.
      if (inp !== null) x.pf = this.pf.exportState(inp);
      this.sockets.close(fd);
    }
    return x;
  }

  /**
   * Continue an exported connection here (at `now`); returns its new descriptor or -errno.
   * `opts.toe`: this engine is a TOE card and the connection is offloaded (TF_TOE).
   */
  importConnection(x: TcpExport, now?: number, opts?: TcpImportOptions): number {
    this.setTime(now);
    // The rest of the shape is tcpImport's to check; the family picks the socket.
    const domain = typeof x === 'object' && x !== null ? x.domain : undefined;
    if (domain !== 'inet' && domain !== 'inet6') return -ERRNO.EINVAL;
    const fd = this.sockets.socket(domain, 'stream');
    if (fd < 0) return fd;
    const so = this.sockets.lookup(fd)!;
    const e = tcpImport(this.tcp, so, x, opts);
    if (e < 0) {
      this.sockets.close(fd);
      return e;
    }
    // A state already here for the flow (EEXIST) is kept; at the state limit the flow goes on without one.
    if (x.pf && so.so_pcb !== null) this.pf.importState(x.pf, so.so_pcb);
    return fd;
  }

  /* ------------------------------------------------------------ glue */

  /** TCP's view of the network layer (tcp/netport.ts) over NetStack. */
  private tcpNet(): TcpNet {
    const ns = this.net;
    // Segments with DF and their checksum delayed (CSUM_TCP at th_sum); over UDP (tcp/tunnel.ts)
    // the same as UDP, the checksum at uh_sum.
    const args4 = (proto: number, csumFlags: number, csumOffset: number) => {
      const a = newIpOutArgs();
      a.proto = proto;
      a.df = true;
      a.csumFlags = csumFlags;
      a.csumOffset = csumOffset;
      return a;
    };
    const args6 = (nxt: number, csumFlags: number, csumOffset: number) => {
      const a = newIp6OutArgs();
      a.nxt = nxt;
      a.dontfrag = true;
      a.csumFlags = csumFlags;
      a.csumOffset = csumOffset;
      return a;
    };
    const a4 = args4(6, CSUM_TCP, 16);
    const a6 = args6(6, CSUM_TCP_IPV6, 16);
    const u4 = args4(17, CSUM_UDP, 6);
    const u6 = args6(17, CSUM_UDP_IPV6, 6);
    const u32 = (a: Uint8Array) => ((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0;
    return {
      route(v4, faddr, laddr, srcOut, fib) {
        if (v4) {
          const dst = u32(faddr);
          const local = isLocal4(ns, dst);
          const rt = rtalloc4(ns, fib, dst);
          if (rt === null && !local) return -ERRNO.ENETUNREACH;
          if (addrIsUnspec(laddr)) {
            const src = selectSource4(ns, fib, dst);
            if (src < 0) return src;
            srcOut.fill(0);
            srcOut[10] = 0xff;
            srcOut[11] = 0xff;
            srcOut[12] = src >>> 24;
            srcOut[13] = src >>> 16;
            srcOut[14] = src >>> 8;
            srcOut[15] = src;
          }
          return local ? ns.lo0.mtu : rt!.pathMtu;
        }
        const local = isLocal6(ns, faddr, 0);
        const rt = rtalloc6(ns, fib, faddr, 0);
        if (rt === null && !local) return -ERRNO.ENETUNREACH;
        if (addrIsUnspec(laddr)) {
          const e = selectSource6(ns, fib, faddr, 0, srcOut, 0);
          if (e < 0) return e;
        }
        return local ? ns.lo0.mtu : rt!.pathMtu;
      },
      isLocal(v4, addr) {
        return v4 ? isLocal4(ns, u32(addr)) : isLocal6(ns, addr, 0);
      },
      onLink(v4, addr, fib) {
        const rt = v4 ? rtalloc4(ns, fib, u32(addr)) : rtalloc6(ns, fib, addr, 0);
        return rt !== null && (rt.flags & RTF_GATEWAY) === 0;
      },
      hwTsoMax(v4, faddr, fib = 0) {
        if (v4 ? isLocal4(ns, u32(faddr)) : isLocal6(ns, faddr, 0)) return 0;
        const rt = v4 ? rtalloc4(ns, fib, u32(faddr)) : rtalloc6(ns, fib, faddr, 0);
        if (rt === null) return 0;
        return (rt.ifp.hwassist & (v4 ? CSUM_IP_TSO : CSUM_IP6_TSO)) !== 0 ? rt.ifp.hw_tsomax : 0;
      },
      output(v4, buf, off, len, src, dst, ttl, tos, flowid, fib, df = true, udp = false, tsoSegsz = 0, inp = null) {
        if (v4) {
          const a = udp ? u4 : a4;
          a.inp = inp;
          // TSO is asked per segment (tcp_output sets CSUM_TSO), not through if_hwassist.
          a.csumFlags = tsoSegsz > 0 ? CSUM_TCP | CSUM_IP_TSO : udp ? CSUM_UDP : CSUM_TCP;
          a.tsoSegsz = tsoSegsz;
          a.df = df;
          a.src = u32(src);
          a.dst = u32(dst);
          a.ttl = ttl;
          a.tos = tos;
          a.flowid = flowid;
          a.fib = fib;
          return ipOutput(ns, buf, off, len, a);
        }
        const a = udp ? u6 : a6;
        a.csumFlags = tsoSegsz > 0 ? CSUM_TCP_IPV6 | CSUM_IP6_TSO : udp ? CSUM_UDP_IPV6 : CSUM_TCP_IPV6;
        a.tsoSegsz = tsoSegsz;
        a.inp = inp;
        a.src = src;
        a.dst = dst;
        a.hlim = ttl;
        a.tclass = tos;
        a.flowid = flowid;
        a.fib = fib;
        return ip6Output(ns, buf, off, len, a);
      },
      badportBandlim: (which) => ns.icmp.badportBandlim(which),
    };
  }

  /**
   * tcp_ctlinput / tcp6_ctlinput: an ICMP error about one of our segments is believed only
   * when the quoted segment belongs to a connection and its sequence number is one we have
   * sent and not yet seen acknowledged, snd_una <= seq < snd_max (RFC 5927 §4.1), so a
   * forged error must guess the window.
   */
  private tcpCtlinput(cmd: number, ctl: CtlInput): void {
    const tcp = this.tcp;
    if (ctl.len < 8) return;
    const b = ctl.buf;
    const sport = (b[ctl.off]! << 8) | b[ctl.off + 1]!;
    const dport = (b[ctl.off + 2]! << 8) | b[ctl.off + 3]!;
    const seq = ((b[ctl.off + 4]! << 24) | (b[ctl.off + 5]! << 16) | (b[ctl.off + 6]! << 8) | b[ctl.off + 7]!) >>> 0;
    const alen = ctl.af === 4 ? 4 : 16;
    // icmp_errmap / icmp6_errmap through the PRC_* code.
    const errno = inetctlerrmap[cmd] ?? 0;
    if (errno === 0) return;
    // The quoted datagram is ours: its source is our local address.
    const inp = tcp.pcbinfo.lookupExact(b, ctl.dstOff, dport, ctl.srcOff, sport, alen);
    const tp = inp?.inp_ppcb;
    if (!inp && cmd !== PRC_MSGSIZE && (inetctlerrmap[cmd] ?? 0) !== 0)
      tcp.syncache.unreach(b, ctl.srcOff, ctl.dstOff, alen === 4, sport, dport, seq);
    if (!inp || !tp) return;
    if (!(seqGeq(seq, tp.snd_una) && seqLt(seq, tp.snd_max))) return;
    if (cmd === PRC_MSGSIZE) {
      // tcp_next_pmtu / tcp6_next_pmtu, then only an MTU below what we send now counts.
      const mtu = ctl.af === 4 ? tcpNextPmtu(tcp, ctl) : ctl.mtu < IPV6_MMTU ? IPV6_MMTU - 8 : ctl.mtu;
      if (mtu < tp.t_maxseg + (ctl.af === 4 ? 40 : 60)) {
        tcp.hostcache.updatemtu(inp.inp_faddr, mtu);
        tcpHcArm(tcp);
        if (ctl.af === 6) this.net.icmp6.stat.icp6s_pmtuchg++;
        tcpMtudisc(tcp, tp, mtu);
        drain(this.net);
      }
      return;
    }
    // The notify routine: with icmp_may_rst, port/protocol unreachable, administratively
    // prohibited and time exceeded in transit abort a connection in SYN_SENT and are
    // otherwise ignored (tcp_drop_syn_sent); everything else is tcp_notify's.
    const mayRst =
      cmd === PRC_UNREACH_PORT ||
      cmd === PRC_UNREACH_PROTOCOL ||
      cmd === PRC_UNREACH_ADMIN_PROHIB ||
      cmd === PRC_TIMXCEED_INTRANS;
    if (tcp.t.icmp_may_rst && mayRst) {
      if (tp.t_state === TCPS_SYN_SENT) {
        tcpDrop(tcp, tp, errno);
        drain(this.net);
      }
      return;
    }
    // tcp_notify: soft errors; host/net unreachable on an established connection are ignored.
    if (
      tp.t_state === TCPS_ESTABLISHED &&
      (errno === ERRNO.EHOSTUNREACH || errno === ERRNO.ENETUNREACH || errno === ERRNO.EHOSTDOWN)
    )
      return;
    if (tp.t_state < TCPS_ESTABLISHED && tp.t_rxtshift > 3 && tp.t_softerror) {
      tcpDrop(tcp, tp, errno);
      drain(this.net);
      return;
    }
    tp.t_softerror = errno;
  }
}

/**
 * tcp_next_pmtu: the MTU a fragmentation-needed message offers; a router that did not say
 * (RFC 1191 §5) gets the next plateau below the quoted datagram's length, and no offer goes
 * below net.inet.tcp.minmss plus the headers.
 */
function tcpNextPmtu(tcp: Tcp, ctl: CtlInput): number {
  let mtu = ctl.mtu;
  if (mtu === 0) mtu = ipNextMtu((ctl.buf[ctl.ipOff + 2]! << 8) | ctl.buf[ctl.ipOff + 3]!, 1);
  if (mtu < tcp.t.minmss + 40) mtu = tcp.t.minmss + 40;
  return mtu;
}

/** Text address to the 16-byte in_conninfo form (IPv4 as v4-mapped), null when it does not parse. */
function addr16(text: string): Uint8Array | null {
  const a = new Uint8Array(16);
  if (text.includes(':')) return parseIPv6(text, a, 0) ? a : null;
  if (!parseIPv4(text, a, 12)) return null;
  a[10] = 0xff;
  a[11] = 0xff;
  return a;
}
