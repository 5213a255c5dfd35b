/**
 * The network layer's per-stack state (FreeBSD's VNET globals of net/): the
 * interface list, the FIBs and their lookup caches, the loopback queue and the
 * reused output records. Plain data: the code that uses each field lives in the
 * file of its FreeBSD role (if.ts, route.ts, if_var.ts, if_ethersubr.ts,
 * if_loop.ts) and takes the record as its first argument, as `ipInput(ns, ...)` does.
 * The protocols above extend it with their own (netinet/in_var.ts, netinet6/in6_var.ts).
 */
import type { RandomSource } from '../kern/random.js';
import type { CalloutWheel } from '../kern/callout.js';
import type { SysctlTree } from '../kern/sysctl.js';
import type { FrameMeta } from './mbuf.js';
import { newFrameMeta } from './mbuf.js';
import { ifattach } from './if.js';
import type { Ifnet } from './if.js';
import { Fib } from './route_var.js';
import type { Rtentry } from './route_var.js';
import type { ProtoSwitch } from './protosw.js';

/** What the engine gives the network layer. */
export interface NetContext {
  /** Current time, µs on the engine's clock. */
  now(): number;
  random: RandomSource;
  callouts: CalloutWheel;
  sysctl: SysctlTree;
  /**
   * A frame leaves `ifp` (raw IP on tun, Ethernet on ether). Valid only during the call.
   * 0, or -ENOBUFS when the driver refused it (its transmit queue is full).
   */
  output(ifp: Ifnet, frame: Uint8Array, meta: FrameMeta): number;
  /** log(9): into the engine's message buffer (kern/msgbuf.ts). */
  log?(priority: number, text: string): void;
}

/**
 * netisr and the link-layer resolvers: what the protocols above register so that
 * net/ hands datagrams up and asks for link addresses without importing them.
 */
export interface Netisr {
  /** NETISR_IP / NETISR_IPV6: a datagram at buf[off, off+len) arrived on ifp. */
  ip(ifp: Ifnet, buf: Uint8Array, off: number, len: number, meta: FrameMeta | null): void;
  ip6(ifp: Ifnet, buf: Uint8Array, off: number, len: number, meta: FrameMeta | null): void;
  /** NETISR_ARP. */
  arp(ifp: Ifnet, buf: Uint8Array, off: number, len: number): void;
  /**
   * arpresolve / nd6_resolve: the next hop's link address, null when the packet was
   * held until it resolves, or -errno.
   */
  arpresolve(
    ifp: Ifnet,
    nh: number,
    viaGateway: boolean,
    buf: Uint8Array,
    off: number,
    len: number,
    meta: FrameMeta,
  ): Uint8Array | null | number;
  nd6resolve(
    ifp: Ifnet,
    nh: Uint8Array,
    nhOff: number,
    buf: Uint8Array,
    off: number,
    len: number,
    meta: FrameMeta,
  ): Uint8Array | null | number;
}

/** The ifnet_link_event handlers: called after an interface went up or down. */
export type IfLinkEvent = (ifp: Ifnet, up: boolean) => void;

/** A packet capture's receive tap (bpf_mtap): sees each frame as it arrives on any interface. */
export type BpfTap = (ifp: Ifnet, frame: Uint8Array, meta: FrameMeta | null) => void;

export interface LoopItem {
  ifp: Ifnet;
  buf: Uint8Array;
  af: 4 | 6;
}

/** Frame views kept per output buffer and start offset (see frameView in if_ethersubr.ts). */
export interface FrameViews {
  buf: Uint8Array;
  start: number;
  byLen: Uint8Array[];
}

function unattached(): never {
  throw new Error('netisr: no protocol attached');
}

export class Vnet {
  readonly ctx: NetContext;
  readonly callouts: CalloutWheel;
  /** IP-layer tunables behind sysctls (net.inet.ip.*, net.inet6.ip6.*). */
  readonly tun = { ip_defttl: 64, ip6_defhlim: 64, ip6_v6only: 1, random_id: 0, rfc6864: 1, intr_queue_maxlen: 256 };
  readonly netisr: Netisr = {
    ip: unattached,
    ip6: unattached,
    arp: unattached,
    arpresolve: unattached,
    nd6resolve: unattached,
  };
  readonly ifevents: IfLinkEvent[] = [];
  readonly bpf: BpfTap[] = [];
  /** pr_input/pr_ctlinput by protocol number, for IPv4 (inetsw) and IPv6 (inet6sw). */
  readonly protosw4: (ProtoSwitch | undefined)[] = new Array(256);
  readonly protosw6: (ProtoSwitch | undefined)[] = new Array(256);
  readonly ifnets: Ifnet[] = [];
  /** The loopback, present from the start as on a FreeBSD host (if_loop.c). */
  readonly lo0: Ifnet;
  readonly fibs: Fib[] = [new Fib(0)];
  /** net.fibs (rt_numfibs, a loader tunable: fibs.length after start) and net.add_addr_allfibs. */
  readonly rtTun = { rt_numfibs: 1, rt_add_addr_allfibs: 1 };
  /** struct rtstat (net/route.h): what redirects did to the tables. */
  readonly rtstat = { rts_badredirect: 0, rts_dynamic: 0, rts_newgateway: 0 };
  /** rtalloc4's and rtalloc6's one-entry caches: destination, its route, and the FIB and generation it came from. */
  rt4Cache: Rtentry | null = null;
  rt4CacheFib: Fib | null = null;
  rt4CacheGen = -1;
  rt4CacheDst = 0;
  rt6Cache: Rtentry | null = null;
  rt6CacheFib: Fib | null = null;
  rt6CacheGen = -1;
  readonly rt6CacheDst = new Uint8Array(16);
  /** The loopback's queue (netisr's), delivered by drain(). */
  loopq: LoopItem[] = [];
  loopHead = 0;
  /** Reused packet headers: output, input, and a held packet's when it is sent. */
  readonly meta = newFrameMeta();
  readonly inMeta = newFrameMeta();
  readonly heldMeta = newFrameMeta();
  /** A multicast destination MAC being built. */
  readonly scratch6 = new Uint8Array(6);
  /**
   * Frame views handed to the link: per output buffer and start offset, one view
   * per frame length, so a packet costs no typed-array allocation.
   */
  readonly fvCache: FrameViews[] = [];

  constructor(ctx: NetContext) {
    this.ctx = ctx;
    this.callouts = ctx.callouts;
    this.lo0 = ifattach(this, { name: 'lo0', type: 'loop' });
  }
}
