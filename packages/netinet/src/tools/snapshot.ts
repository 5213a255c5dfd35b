/**
 * What the FreeBSD tools read, taken from one engine as a plain JSON-able object
 * (numbers, strings, arrays, no typed arrays or class instances), so a worker can
 * post it to the thread that formats: interfaces (SIOCGIFCONF / getifaddrs), the
 * routing table (NET_RT_DUMP), the connection list (net.inet.{tcp,udp}.pcblist,
 * with the TCP timers of xtcp_timer), the protocol statistics (net.inet.*.stats),
 * the sysctl tree and zone statistics (vm.zone_stats, `vmstat -z`).
 *
 * Every formatter takes an array of snapshots, one per worker: counters are
 * per-worker (DPCPU-style) and summed when read; connections are listed per worker.
 * A snapshot is taken synchronously on the engine's own thread, so the connection
 * list is consistent: nothing can come or go during the walk (what FreeBSD's
 * pcblist achieves with its generation count and retry).
 */
import { HC_ENTRY_BYTES } from '../tcp/hostcache.js';
import type { Engine } from '../engine.js';
import type { LogMessage } from '../kern/msgbuf.js';
import type { Ifnet } from '../net/if.js';
import type { Rtentry } from '../net/route.js';
import type { Socket } from '../kern/uipc_socket.js';
import { SOCK_DGRAM } from '../kern/uipc_socket.js';
import type { Inpcb } from '../netinet/in_pcb.js';
import { INP_IPV4, INP_IPV6 } from '../netinet/in_pcb.js';
import type { Tcpcb } from '../tcp/var.js';
import { tcpstates, TF_TOE, TT_REXMT, TT_PERSIST, TT_KEEP, TT_2MSL, TT_DELACK } from '../tcp/var.js';
import { RTF_GATEWAY, RTF_LOCAL, rtFib } from '../net/route.js';
import { formatIPv4, formatIPv6 } from '@mcstack/wire';

/** A counter block: FreeBSD field names to values (histograms as arrays). */
export type CounterBlock = Record<string, number | number[]>;

export interface InetAddrSnapshot {
  addr: string;
  plen: number;
  /** Netmask, host-order u32. */
  netmask: number;
  /** Directed broadcast address, or null on links without one. */
  broadcast: string | null;
}

export interface Inet6AddrSnapshot {
  addr: string;
  plen: number;
  /** Interface index for link-local (scoped) addresses, else 0. */
  scopeid: number;
}

export interface InterfaceSnapshot {
  name: string;
  index: number;
  type: 'ether' | 'tun' | 'loop';
  /** if_flags as `ifconfig` prints them (IFF_*, with IFF_SIMPLEX on Ethernet). */
  flags: number;
  metric: number;
  mtu: number;
  /** if_fib (`ifconfig IF fib N`). */
  fib: number;
  /** IFCAP_* the interface offers, has enabled, and the CSUM_* it offloads. */
  capabilities: number;
  capenable: number;
  /** ifmedia options on (IFM_ETH_RXPAUSE | IFM_ETH_TXPAUSE); absent in older snapshots. */
  mediaopt?: number;
  hwassist: number;
  /** "02:00:00:00:00:0a" for Ethernet, else null. */
  lladdr: string | null;
  inet: InetAddrSnapshot[];
  inet6: Inet6AddrSnapshot[];
  /** struct if_data counters. */
  data: Record<string, number>;
  /** Link state (the interface is up and running). */
  active: boolean;
}

export interface RouteSnapshot {
  fib: number;
  af: 4 | 6;
  /** Destination prefix (masked) as text, and its length. */
  dst: string;
  plen: number;
  /** The next hop's address for RTF_GATEWAY routes, else null (a link route). */
  gateway: string | null;
  /** Index of the interface a link route reaches (for "link#N"). */
  gatewayIndex: number;
  /** RTF_* bits. */
  flags: number;
  ifname: string;
  /** rmx_mtu (0 = the interface's). */
  mtu: number;
  /** rmx_expire, seconds left (0 = never). */
  expire: number;
}

/** Remaining time of each TCP timer in seconds (0 when not armed), as xtcp_timer. */
export interface TcpTimers {
  rexmt: number;
  persist: number;
  keep: number;
  '2msl': number;
  delack: number;
  /** Time since the last segment was received (t_rcvtime), seconds. */
  rcvtime: number;
}

export interface ConnectionSnapshot {
  proto: 'tcp' | 'udp';
  /** INP_IPV4 / INP_IPV6 (inp_vflag). */
  vflag: number;
  laddr: string;
  lport: number;
  faddr: string;
  fport: number;
  /** TCP state name (tcpstates[]), null for UDP. */
  state: string | null;
  /** Bytes in the receive and send socket buffers (netstat Recv-Q, Send-Q). */
  recvQ: number;
  sendQ: number;
  rcvHiwat: number;
  sndHiwat: number;
  rcvLowat: number;
  sndLowat: number;
  timers: TcpTimers | null;
  /** TF_TOE: the connection is offloaded (netstat and sockstat show toe4/toe6). */
  toe: boolean;
  /** File descriptor in the worker's socket table, null when none (TIME_WAIT, unaccepted). */
  fd: number | null;
  /** Who owns it: user, application name, worker, process. */
  user: string;
  app: string;
  worker: string;
  pid: number;
}

export interface ZoneSnapshot {
  name: string;
  /** Bytes per item, null when the engine cannot tell (its items are JS objects). */
  size: number | null;
  /** Most items allowed, 0 = no limit. */
  limit: number;
  used: number;
  /** Items allocated and cached for reuse (the engine keeps no free lists). */
  free: number;
  /** Allocations so far and failed allocations, null when the engine does not count them. */
  requests: number | null;
  fail: number | null;
  sleep: number;
  /** One zone for the whole stack (the host cache's): every worker reports the same items. */
  shared?: boolean;
}

export interface SysctlSnapshot {
  name: string;
  value: number | string;
  description: string;
  /** CTLFLAG_SKIP: shown only when asked for by name (`sysctl -a` leaves it out). */
  skip?: boolean;
}

export interface Counters {
  tcpstat: CounterBlock;
  udpstat: CounterBlock;
  ipstat: CounterBlock;
  icmpstat: CounterBlock;
  ip6stat: CounterBlock;
  icmp6stat: CounterBlock;
  /** A TOE card's offload admission counters (its snapshot only: runtime tids.ts TOE_STATS). */
  toestat?: CounterBlock;
}

export interface StackSnapshot {
  worker: string;
  /** The engine's clock when taken, µs. */
  time: number;
  /** Number of routing tables (net.fibs). */
  fibs: number;
  interfaces: InterfaceSnapshot[];
  routes: RouteSnapshot[];
  connections: ConnectionSnapshot[];
  counters: Counters;
  sysctls: SysctlSnapshot[];
  zones: ZoneSnapshot[];
  /** The kernel message buffer (kern/msgbuf.ts), oldest first: what dmesg prints. */
  messages: LogMessage[];
}

export interface SnapshotOptions {
  /** Worker name or number (a number n is shown as `w<n>`). Default `w0`. */
  worker?: string | number;
  /** The application owning a descriptor (sockstat's COMMAND), or one name for all. Default `mcstack`. */
  app?: string | ((fd: number) => string | undefined);
  /** Process id and user shown by sockstat. Default this process's. */
  pid?: number;
  user?: string;
}

/**
 * IFF_SIMPLEX (net/if.h): the interface cannot hear its own transmissions. Every
 * Ethernet driver sets it at attach; net/if.ts leaves it out, so it is added here.
 */
export const IFF_SIMPLEX = 0x800;

export function snapshot(engine: Engine, o: SnapshotOptions = {}): StackSnapshot {
  const worker = typeof o.worker === 'number' ? `w${o.worker}` : (o.worker ?? 'w0');
  const owner: Owner = {
    worker,
    pid: o.pid ?? process.pid,
    user: o.user ?? defaultUser(),
    app:
      typeof o.app === 'function'
        ? o.app
        : (
            (name) => () =>
              name
          )(o.app ?? 'mcstack'),
  };
  const sockets = openSockets(engine);
  return {
    worker,
    time: engine.now,
    fibs: countFibs(engine),
    interfaces: engine.net.ifnets.map(ifSnapshot),
    routes: routeSnapshots(engine),
    connections: connections(engine, sockets, owner),
    counters: {
      tcpstat: plain(engine.tcp.stat),
      udpstat: plain(engine.udp.stat),
      ipstat: plain(engine.net.ipstat),
      icmpstat: plain(engine.net.icmp.stat),
      ip6stat: plain(engine.net.ip6stat),
      icmp6stat: plain(engine.net.icmp6.stat),
    },
    sysctls: engine.sysctl.list('', true),
    zones: zones(engine),
    messages: engine.msgbuf.read(),
  };
}

/**
 * Sum counter blocks (DPCPU-style: each worker counts alone, a read adds them).
 * Histograms are added element by element. Missing fields count as 0.
 */
export function sumCounters(blocks: readonly CounterBlock[]): CounterBlock {
  const out: CounterBlock = {};
  for (const b of blocks) {
    for (const [k, v] of Object.entries(b)) {
      const cur = out[k];
      if (Array.isArray(v)) {
        const acc = Array.isArray(cur) ? cur : new Array<number>(v.length).fill(0);
        for (let i = 0; i < v.length; i++) acc[i] = (acc[i] ?? 0) + v[i]!;
        out[k] = acc;
      } else {
        out[k] = (typeof cur === 'number' ? cur : 0) + v;
      }
    }
  }
  return out;
}

/** Every counter block of every snapshot, summed. */
export function sumSnapshotCounters(snaps: readonly StackSnapshot[]): Counters {
  const pick = (k: keyof Counters) => sumCounters(snaps.map((s) => s.counters[k] ?? {}));
  return {
    tcpstat: pick('tcpstat'),
    udpstat: pick('udpstat'),
    ipstat: pick('ipstat'),
    icmpstat: pick('icmpstat'),
    ip6stat: pick('ip6stat'),
    icmp6stat: pick('icmp6stat'),
    ...(snaps.some((s) => s.counters.toestat !== undefined)
      ? { toestat: sumCounters(snaps.map((s) => s.counters.toestat ?? {})) }
      : {}),
  };
}

/* ------------------------------------------------------------------ internals */

interface Owner {
  worker: string;
  pid: number;
  user: string;
  app: (fd: number) => string | undefined;
}

function defaultUser(): string {
  return process.env.USER ?? process.env.LOGNAME ?? String(process.getuid?.() ?? 'root');
}

function plain(o: object): CounterBlock {
  const out: CounterBlock = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.slice() as number[];
  }
  return out;
}

function countFibs(engine: Engine): number {
  let n = 0;
  for (;;) {
    try {
      rtFib(engine.net, n);
    } catch {
      return n;
    }
    n++;
  }
}

/** The engine's descriptor table, lowest fd first (sockets are allocated lowest-first from 3). */
function openSockets(engine: Engine): Socket[] {
  const out: Socket[] = [];
  const want = engine.sockets.openCount;
  for (let fd = 0; out.length < want && fd < 1 << 24; fd++) {
    const so = engine.sockets.lookup(fd);
    if (so) out.push(so);
  }
  return out;
}

function mac(a: Uint8Array): string {
  return [...a.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function u32ToText(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

function ifSnapshot(ifp: Ifnet): InterfaceSnapshot {
  const linkLocal = (a: Uint8Array) => a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
  return {
    name: ifp.name,
    index: ifp.index,
    type: ifp.type,
    flags: ifp.flags | (ifp.type === 'ether' ? IFF_SIMPLEX : 0),
    metric: 0,
    mtu: ifp.mtu,
    fib: ifp.fib,
    capabilities: ifp.capabilities,
    capenable: ifp.capenable,
    mediaopt: ifp.mediaopt,
    hwassist: ifp.hwassist,
    lladdr: ifp.lladdr ? mac(ifp.lladdr) : null,
    inet: ifp.addrs4.map((ia) => ({
      addr: u32ToText(ia.addr),
      plen: ia.plen,
      netmask: ia.mask >>> 0,
      broadcast: ia.broadcast !== 0 ? u32ToText(ia.broadcast) : null,
    })),
    inet6: ifp.addrs6.map((ia) => ({
      addr: formatIPv6(ia.addr),
      plen: ia.plen,
      scopeid: linkLocal(ia.addr) ? ifp.index : 0,
    })),
    data: { ...ifp.data },
    active: ifp.up,
  };
}

function routeSnapshots(engine: Engine): RouteSnapshot[] {
  const out: RouteSnapshot[] = [];
  const fibs = countFibs(engine);
  for (let f = 0; f < fibs; f++) {
    for (const rt of rtFib(engine.net, f).entries()) out.push(routeSnapshot(engine, rt));
  }
  return out;
}

/** One route as the tools show it (netstat -rn, route get). */
export function routeSnapshot(engine: Engine, rt: Rtentry): RouteSnapshot {
  const v4 = rt.af === 4;
  let gatewayIndex = rt.ifp.index;
  if (rt.flags & RTF_LOCAL) {
    // A route to one of our addresses goes through lo0, but FreeBSD names the
    // interface holding the address as its link ("link#1 UHS lo0").
    const owner = engine.net.ifnets.find((i) =>
      v4 ? i.hasAddr4(rt.dst4) : i.addrs6.some((a) => eq16(a.addr, rt.dst6!)),
    );
    if (owner) gatewayIndex = owner.index;
  }
  return {
    fib: rt.fib,
    af: rt.af,
    dst: v4 ? u32ToText(rt.dst4) : formatIPv6(rt.dst6!),
    plen: rt.plen,
    gateway: rt.flags & RTF_GATEWAY ? (v4 ? u32ToText(rt.gw4) : formatIPv6(rt.gw6!)) : null,
    gatewayIndex,
    flags: rt.flags,
    ifname: rt.ifp.name,
    mtu: rt.mtu,
    expire: 0,
  };
}

function eq16(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

function addrText(inp: Inpcb, a: Uint8Array): string {
  return inp.inp_vflag & INP_IPV4 ? formatIPv4(a, 12) : formatIPv6(a);
}

const SEC = 1e6;

function timers(engine: Engine, tp: Tcpcb): TcpTimers {
  const now = engine.now;
  const left = (i: number) => {
    const when = tp.tv[tp.tvo + i]!;
    return when === Infinity ? 0 : Math.max(0, when - now) / SEC;
  };
  return {
    rexmt: left(TT_REXMT),
    persist: left(TT_PERSIST),
    keep: left(TT_KEEP),
    '2msl': left(TT_2MSL),
    delack: left(TT_DELACK),
    rcvtime: Math.max(0, now - tp.t_rcvtime) / SEC,
  };
}

function connBase(inp: Inpcb, so: Socket | null, owner: Owner) {
  const fd = so !== null && so.fd >= 0 ? so.fd : null;
  return {
    vflag: inp.inp_vflag & (INP_IPV4 | INP_IPV6),
    laddr: addrText(inp, inp.inp_laddr),
    lport: inp.inp_lport,
    faddr: addrText(inp, inp.inp_faddr),
    fport: inp.inp_fport,
    recvQ: so?.so_rcv.sb_cc ?? 0,
    sendQ: so?.so_snd.sb_cc ?? 0,
    rcvHiwat: so?.so_rcv.sb_hiwat ?? 0,
    sndHiwat: so?.so_snd.sb_hiwat ?? 0,
    rcvLowat: so?.so_rcv.sb_lowat ?? 0,
    sndLowat: so?.so_snd.sb_lowat ?? 0,
    fd,
    user: fd === null ? '?' : owner.user,
    app: fd === null ? '?' : (owner.app(fd) ?? '?'),
    worker: owner.worker,
    pid: owner.pid,
  };
}

/**
 * net.inet.tcp.pcblist then net.inet.udp.pcblist: TCP connections newest first (as
 * FreeBSD's list head insertion gives them), UDP sockets in descriptor order.
 */
function connections(engine: Engine, sockets: Socket[], owner: Owner): ConnectionSnapshot[] {
  const out: ConnectionSnapshot[] = [];
  const tcbs = [...engine.tcp.tcbs].reverse();
  for (const tp of tcbs) {
    const inp = tp.inp;
    out.push({
      proto: 'tcp',
      ...connBase(inp, inp.inp_socket, owner),
      state: tcpstates[tp.t_state] ?? String(tp.t_state),
      timers: timers(engine, tp),
      toe: (tp.t_flags & TF_TOE) !== 0,
    });
  }
  for (const so of sockets) {
    if (so.so_type !== SOCK_DGRAM || !so.so_pcb) continue;
    out.push({ proto: 'udp', ...connBase(so.so_pcb, so, owner), state: null, timers: null, toe: false });
  }
  return out;
}

/**
 * Zone statistics (vm.zone_stats) under FreeBSD's UMA zone names: the engine's zone
 * registry (kern/uma.ts: socket, tcp_inpcb, tcpreass, syncache, udp_inpcb, the
 * socket-buffer rings), then the host cache, which is counted from its contents.
 */
function zones(engine: Engine): ZoneSnapshot[] {
  const tcp = engine.tcp;
  const out: ZoneSnapshot[] = engine.uma.stats().map((z) => ({ ...z, sleep: 0 }));
  // One host cache per stack (tcp/hostcache.ts), in shared memory: vmstat -z counts it once.
  out.push({
    name: 'hostcache',
    size: HC_ENTRY_BYTES,
    limit: tcp.hostcache.cachelimit,
    used: tcp.hostcache.count,
    free: 0,
    requests: tcp.stat.tcps_hc_added,
    fail: null,
    sleep: 0,
    shared: true,
  });
  return out;
}
