/**
 * NetStack: the network layer of the sans-I/O engine — interfaces, routing,
 * ARP/ND, IPv4/IPv6 input and output, fragmentation and reassembly, ICMP/ICMPv6 —
 * as one self-contained object the Engine composes (FreeBSD's net/, netinet/ and
 * netinet6/ minus the transports). Synchronous and deterministic: time comes from
 * ctx.now() (µs on the virtual clock), timers are callouts on ctx.callouts,
 * randomness is ctx.random, frames leave through ctx.output.
 *
 * ## Use
 *
 *   const ns = new NetStack({ now, random, callouts, sysctl, output });
 *   // lo0 (127.0.0.1/8, ::1/128) exists from the start, as on a FreeBSD host.
 *   const em0 = ns.ifattach({ name: 'em0', type: 'ether', mtu: 1500, lladdr, capabilities: IFCAP_HWCSUM });
 *   ns.addAddr(em0, '10.0.0.1/24'); ns.addAddr(em0, '2001:db8::1/64'); ns.setUp(em0, true);
 *   ns.addRoute('0.0.0.0/0', '10.0.0.254');
 *   ns.registerProtocol(IPPROTO_TCP, { input(m, off, len, pi) {...}, ctlinput(cmd, ctl) {...} });
 *   ns.input(em0, frame, meta);   // a frame arrived (meta may be null)
 *   ns.drain();                   // deliver looped-back datagrams (call after every entry point)
 *
 * ## Contract with transports
 *
 * - Input: `pr.input(m, off, len, pi)` — m[off, off+len) is the transport header
 *   and payload; `pi` (reused, valid during the call) has addresses (u32 for IPv4,
 *   offsets into m for both families), TTL/TOS, M_BCAST/M_MCAST and the receive
 *   checksum flags: when `pi.csumFlags & CSUM_DATA_VALID` and `CSUM_PSEUDO_HDR`
 *   are set (and csumData === 0xffff) the checksum was verified by the interface
 *   (RXCSUM/RXCSUM_IPV6 enabled) and must not be checked again.
 * - Errors: `pr.ctlinput(PRC_*, ctl)` for ICMP unreachable / time exceeded /
 *   parameter problem / need-frag (ctl.mtu) and ICMPv6 dest unreachable / packet
 *   too big (ctl.mtu) / time exceeded / parameter problem. inetctlerrmap gives the errno.
 * - Output: the transport writes header+payload at buf[off..off+len) with at least
 *   MAX_HDR bytes of headroom in front, then `ipOutput(buf, off, len, args)` or
 *   `ip6Output(...)` (args objects from newIpOutArgs()/newIp6OutArgs(), reused).
 *   For a delayed checksum it stores inPseudo()/in6Pseudo() in its checksum field
 *   and sets CSUM_TCP/CSUM_UDP (CSUM_TCP_IPV6/CSUM_UDP_IPV6) and csumOffset;
 *   ip_output finishes it in software unless if_hwassist covers it (then the
 *   frame's meta carries the request to the link). Returns 0 or -errno.
 * - Routes: `rtalloc4(fib, dst)` / `rtalloc6(fib, dst, off)` return the Rtentry
 *   (ifp, gateway, `pathMtu`) or null; `fib(0).gen` changes on any route change.
 * - Addresses: isLocal4/isLocal6, selectSource4/selectSource6 (source for an
 *   unbound socket), `portrange` (net.inet.ip.portrange.* values).
 *
 * Loopback traffic (to our own addresses) is queued as netisr does and delivered
 * by drain(), never re-entrantly from inside ipOutput.
 */
import type { RandomSource } from '../kern/random.js';
import type { CalloutWheel } from '../kern/callout.js';
import type { SysctlTree } from '../kern/sysctl.js';
import { ERRNO } from '../kern/errno.js';
import { Ifnet, IFF_UP, IFF_RUNNING, IFCAP_RXCSUM, IFCAP_RXCSUM_IPV6 } from './if.js';
import type { IfattachOptions, InIfaddr, In6Ifaddr } from './if.js';
import type { FrameMeta } from './mbuf.js';
import {
  newFrameMeta, resetFrameMeta, M_BCAST, M_MCAST, MAX_LINKHDR,
  CSUM_DATA_VALID, CSUM_PSEUDO_HDR, CSUM_IP_CHECKED, CSUM_IP_VALID,
} from './mbuf.js';
import { Fib, Rtentry, RTF_UP, RTF_GATEWAY, RTF_HOST, RTF_LOCAL, RTF_STATIC, RTF_PINNED, rtMask6 } from './route.js';
import type { ProtoSwitch } from './protosw.js';
import { etherInput } from './if_ethersubr.js';
import { IpStat, newPktInfo } from '../netinet/ip_var.js';
import type { PktInfo, IpOutArgs } from '../netinet/ip_var.js';
import { ipInput } from '../netinet/ip_input.js';
import { ipOutput } from '../netinet/ip_output.js';
import { IpReass } from '../netinet/ip_reass.js';
import { Icmp } from '../netinet/ip_icmp.js';
import { Arp, ETHER_BCAST } from '../netinet/if_ether.js';
import type { HeldPacket } from '../netinet/if_ether.js';
import {
  inMask, inAddr, in6Addr, IN_MULTICAST, INADDR_BROADCAST, INADDR_LOOPBACK, etherMapIpMulticast,
  etherMapIp6Multicast, in6AreEqual, IN6_IS_ADDR_LINKLOCAL, IN6_IS_ADDR_MULTICAST, IN6_IS_ADDR_LOOPBACK,
  IN6_IS_ADDR_MC_LINKLOCAL, in6MatchLen, in6PrefixMatch, in6SolicitedNode, IN6ADDR_LINKLOCAL_ALLNODES,
  IN6ADDR_LOOPBACK, ip6Sprintf,
} from '../netinet/in.js';
import { Ip6Stat, Rip6Stat, newIp6OutArgs } from '../netinet6/ip6_var.js';
import type { Ip6OutArgs } from '../netinet6/ip6_var.js';
import { ip6Input } from '../netinet6/ip6_input.js';
import { ip6Output } from '../netinet6/ip6_output.js';
import { Frag6 } from '../netinet6/frag6.js';
import { Icmp6 } from '../netinet6/icmp6.js';
import { Nd6 } from '../netinet6/nd6.js';
import { parseIPv4, parseIPv6 } from '@mcstack/wire/addr';
import { ETHER_HDR_LEN, ETHERTYPE_IP, ETHERTYPE_IPV6 } from '@mcstack/wire/ethernet';
import { set16, get32 } from '@mcstack/wire/bytes';

export { MAX_HDR, MAX_LINKHDR } from './mbuf.js';

/** What the engine gives the network layer. */
export interface NetContext {
  /** Current time, µs on the engine's clock. */
  now(): number;
  random: RandomSource;
  callouts: CalloutWheel;
  sysctl: SysctlTree;
  /** A frame leaves `ifp` (raw IP on tun, Ethernet on ether). Valid only during the call. */
  output(ifp: Ifnet, frame: Uint8Array, meta: FrameMeta): void;
  /** log(9): into the engine's message buffer (kern/msgbuf.ts). */
  log?(priority: number, text: string): void;
}

/** net.inet.ip.portrange.* (the pcb code allocates ports from these). */
export interface PortRange {
  lowfirst: number; lowlast: number; first: number; last: number;
  hifirst: number; hilast: number; randomized: number; reservedhigh: number; reservedlow: number;
}

interface LoopItem { ifp: Ifnet; buf: Uint8Array; af: 4 | 6 }

/** Output buffers whose frame views frameView keeps. */
const FV_BUFFERS = 4;

export class NetStack {
  readonly ctx: NetContext;
  readonly callouts: CalloutWheel;
  readonly ipstat = new IpStat();
  readonly ip6stat = new Ip6Stat();
  readonly rip6stat = new Rip6Stat();
  /** IP-layer tunables behind sysctls (net.inet.ip.*, net.inet6.ip6.*). */
  readonly tun = { ip_defttl: 64, ip6_defhlim: 64, ip6_v6only: 1, random_id: 0, rfc6864: 1, intr_queue_maxlen: 256 };
  readonly portrange: PortRange = {
    lowfirst: 1023, lowlast: 600, first: 10000, last: 65535, hifirst: 49152, hilast: 65535,
    randomized: 1, reservedhigh: 1023, reservedlow: 0,
  };
  readonly ipReass: IpReass;
  readonly icmp: Icmp;
  readonly arp: Arp;
  readonly frag6: Frag6;
  readonly icmp6: Icmp6;
  readonly nd6: Nd6;
  /** pr_input/pr_ctlinput by protocol number, for IPv4 (inetsw) and IPv6 (inet6sw). */
  readonly protosw4: (ProtoSwitch | undefined)[] = new Array(256);
  readonly protosw6: (ProtoSwitch | undefined)[] = new Array(256);
  readonly ifnets: Ifnet[] = [];
  readonly lo0: Ifnet;
  private fibs: Fib[] = [new Fib(0)];
  private ipIdCounter: number;
  private readonly pi: PktInfo;
  private readonly meta = newFrameMeta();
  private readonly inMeta = newFrameMeta();
  private readonly heldMeta = newFrameMeta();
  private loopq: LoopItem[] = [];
  private loopHead = 0;
  private readonly scratch6 = new Uint8Array(16);
  /** rtalloc4's and rtalloc6's one-entry caches: destination, its route, and the FIB and generation it came from. */
  private rt4Cache: Rtentry | null = null;
  private rt4CacheFib: Fib | null = null;
  private rt4CacheGen = -1;
  private rt4CacheDst = 0;
  private rt6Cache: Rtentry | null = null;
  private rt6CacheFib: Fib | null = null;
  private rt6CacheGen = -1;
  private readonly rt6CacheDst = new Uint8Array(16);
  /**
   * Frame views handed to the link (see frameView): per output buffer and start offset,
   * one view per frame length, so a packet costs no typed-array allocation.
   */
  private readonly fvCache: { buf: Uint8Array; start: number; byLen: Uint8Array[] }[] = [];

  constructor(ctx: NetContext) {
    this.ctx = ctx;
    this.callouts = ctx.callouts;
    this.ipIdCounter = ctx.random.u32() & 0xffff;
    this.ipReass = new IpReass(this);
    this.icmp = new Icmp(this);
    this.arp = new Arp(this);
    this.frag6 = new Frag6(this);
    this.icmp6 = new Icmp6(this);
    this.nd6 = new Nd6(this);
    this.protosw4[1] = this.icmp;
    this.protosw6[58] = this.icmp6;
    this.lo0 = this.ifattach({ name: 'lo0', type: 'loop' });
    this.pi = newPktInfo(this.lo0);
    this.addAddr4(this.lo0, INADDR_LOOPBACK, 8);
    this.addAddr6(this.lo0, IN6ADDR_LOOPBACK, 128);
    this.setUp(this.lo0, true);
    this.registerSysctls(ctx.sysctl);
  }

  now(): number { return this.ctx.now(); }

  /* ---------------------------------------------------------------- ifnet */

  /** Attach an interface (down until setUp). Names are unique (EEXIST as a thrown SysError-like TypeError). */
  ifattach(o: IfattachOptions): Ifnet {
    if (this.ifunit(o.name)) throw new TypeError(`ifattach: ${o.name} exists`);
    if (o.type === 'ether' && (!o.lladdr || o.lladdr.length < 6)) throw new TypeError('ifattach: ether needs a 6-byte lladdr');
    if ((o.fib ?? 0) !== 0) throw new TypeError('ifattach: only FIB 0 exists');
    const ifp = new Ifnet(this.ifnets.length + 1, o);
    this.ifnets.push(ifp);
    return ifp;
  }

  ifunit(name: string): Ifnet | null {
    return this.ifnets.find((i) => i.name === name) ?? null;
  }

  /** ifconfig up/down. Going down flushes the interface's ARP and neighbor entries. */
  setUp(ifp: Ifnet, up: boolean): void {
    if (up) {
      ifp.flags |= IFF_UP | IFF_RUNNING;
      if (ifp.type === 'ether') for (const ia of ifp.addrs4) this.arp.request(ifp, ia.addr, ia.addr, null);  // gratuitous ARP
    } else {
      ifp.flags &= ~(IFF_UP | IFF_RUNNING);
      this.arp.flush(ifp);
      this.nd6.flush(ifp);
    }
  }

  /** SIOCSIFMTU: 0 or -EINVAL (IF_MINMTU 72 .. IF_MAXMTU 65535). */
  setMtu(ifp: Ifnet, mtu: number): number {
    if (!Number.isInteger(mtu) || mtu < 72 || mtu > 65535) return -ERRNO.EINVAL;
    ifp.mtu = mtu;
    this.fibs[0]!.gen++;
    return 0;
  }

  /* ------------------------------------------------------------ addresses */

  /** `ifconfig ifp inet A/plen` or `inet6 A/plen` from text. 0 or -errno. */
  addAddr(ifp: Ifnet, cidr: string): number {
    const [a, p] = cidr.split('/');
    if (a === undefined) return -ERRNO.EINVAL;
    if (a.includes(':')) {
      const b = parseIPv6(a);
      const plen = p === undefined ? 64 : Number(p);
      if (!b || !Number.isInteger(plen)) return -ERRNO.EINVAL;
      return this.addAddr6(ifp, b, plen);
    }
    const b = parseIPv4(a);
    const plen = p === undefined ? 32 : Number(p);
    if (!b || !Number.isInteger(plen)) return -ERRNO.EINVAL;
    return this.addAddr4(ifp, inAddr(a), plen);
  }

  /** Add an IPv4 address: installs the connected route and a local host route via lo0. */
  addAddr4(ifp: Ifnet, addr: number, plen: number): number {
    if (plen < 0 || plen > 32) return -ERRNO.EINVAL;
    if (this.isLocal4(addr)) return -ERRNO.EEXIST;
    const mask = inMask(plen);
    const broadcast = plen < 31 && ifp.type === 'ether' ? ((addr | ~mask) >>> 0) : 0;
    const ia: InIfaddr = { ifp, addr, plen, mask, broadcast };
    ifp.addrs4.push(ia);
    const fib = this.fibs[ifp.fib]!;
    if (plen < 32 && !fib.find4(addr, plen, ifp)) {
      fib.add(new Rtentry(4, ifp.fib, (addr & mask) >>> 0, null, plen, 0, null, ifp, RTF_UP | RTF_PINNED, 0));
    }
    fib.add(new Rtentry(4, ifp.fib, addr, null, 32, 0, null, this.lo0 ?? ifp, RTF_UP | RTF_HOST | RTF_LOCAL | RTF_PINNED, 0));
    if (ifp.up && ifp.type === 'ether') this.arp.request(ifp, addr, addr, null);
    return 0;
  }

  delAddr4(ifp: Ifnet, addr: number): number {
    const i = ifp.addrs4.findIndex((x) => x.addr === addr);
    if (i < 0) return -ERRNO.EADDRNOTAVAIL;
    const ia = ifp.addrs4[i]!;
    ifp.addrs4.splice(i, 1);
    const fib = this.fibs[ifp.fib]!;
    const local = fib.find4(addr, 32);
    if (local && local.flags & RTF_LOCAL) fib.remove(local);
    if (ia.plen < 32 && !ifp.addrs4.some((x) => x.plen === ia.plen && ((x.addr & x.mask) >>> 0) === ((addr & ia.mask) >>> 0))) {
      const c = fib.find4(addr, ia.plen, ifp);
      if (c && !(c.flags & RTF_GATEWAY)) fib.remove(c);
    }
    return 0;
  }

  /**
   * Add an IPv6 address: connected route, local host route via lo0, and the
   * memberships ND needs (all-nodes, solicited-node). The address is usable at
   * once: duplicate address detection is not performed.
   */
  addAddr6(ifp: Ifnet, addr: Uint8Array, plen: number): number {
    if (plen < 0 || plen > 128 || addr.length < 16) return -ERRNO.EINVAL;
    if (this.isLocal6(addr, 0) && !IN6_IS_ADDR_LINKLOCAL(addr)) return -ERRNO.EEXIST;
    if (ifp.addrs6.some((x) => in6AreEqual(x.addr, 0, addr, 0))) return -ERRNO.EEXIST;
    const a = addr.slice(0, 16);
    ifp.addrs6.push({ ifp, addr: a, plen });
    const fib = this.fibs[ifp.fib]!;
    if (plen < 128 && !fib.find6(a, plen, ifp)) {
      fib.add(new Rtentry(6, ifp.fib, 0, rtMask6(a, plen), plen, 0, null, ifp, RTF_UP | RTF_PINNED, 0));
    }
    fib.add(new Rtentry(6, ifp.fib, 0, a, 128, 0, null, this.lo0 ?? ifp, RTF_UP | RTF_HOST | RTF_LOCAL | RTF_PINNED, 0));
    this.joinGroup6(ifp, IN6ADDR_LINKLOCAL_ALLNODES);
    this.joinGroup6(ifp, in6SolicitedNode(a, 0));
    return 0;
  }

  delAddr6(ifp: Ifnet, addr: Uint8Array): number {
    const i = ifp.addrs6.findIndex((x) => in6AreEqual(x.addr, 0, addr, 0));
    if (i < 0) return -ERRNO.EADDRNOTAVAIL;
    const ia = ifp.addrs6[i]!;
    ifp.addrs6.splice(i, 1);
    const fib = this.fibs[ifp.fib]!;
    const local = fib.find6(ia.addr, 128, this.lo0);
    if (local && local.flags & RTF_LOCAL) fib.remove(local);
    if (ia.plen < 128 && !ifp.addrs6.some((x) => x.plen === ia.plen && in6PrefixMatch(x.addr, 0, ia.addr, 0, ia.plen))) {
      const c = fib.find6(ia.addr, ia.plen, ifp);
      if (c && !(c.flags & RTF_GATEWAY)) fib.remove(c);
    }
    this.leaveGroup6(ifp, in6SolicitedNode(ia.addr, 0));
    return 0;
  }

  /** Is `a` (host order) an address of ours? */
  isLocal4(a: number): boolean {
    const ifs = this.ifnets;
    for (let i = 0; i < ifs.length; i++) {
      const l = ifs[i]!.addrs4;
      for (let j = 0; j < l.length; j++) if (l[j]!.addr === a) return true;
    }
    return false;
  }

  /** Is a[off..off+16) an address of ours? */
  isLocal6(a: Uint8Array, off: number): boolean {
    return this.ifaddr6Of(a, off) !== null;
  }

  /** The in6_ifaddr holding exactly this address, or null. */
  ifaddr6Of(a: Uint8Array, off: number): In6Ifaddr | null {
    const ifs = this.ifnets;
    for (let i = 0; i < ifs.length; i++) {
      const l = ifs[i]!.addrs6;
      for (let j = 0; j < l.length; j++) if (in6AreEqual(l[j]!.addr, 0, a, off)) return l[j]!;
    }
    return null;
  }

  /** Is dst the limited or a directed broadcast address on ifp? (in_broadcast) */
  isBroadcast4(ifp: Ifnet, dst: number): boolean {
    if (dst === INADDR_BROADCAST) return true;
    for (const ia of ifp.addrs4) if (ia.broadcast !== 0 && ia.broadcast === dst) return true;
    return false;
  }

  /** The address on ifp to use toward dst: one on dst's subnet, else the first (ifaof_ifpforaddr). */
  ifaddr4For(ifp: Ifnet, dst: number): InIfaddr | null {
    const l = ifp.addrs4;
    for (let i = 0; i < l.length; i++) {
      const ia = l[i]!;
      if (((ia.addr ^ dst) & ia.mask) === 0) return ia;
    }
    return l.length > 0 ? l[0]! : null;
  }

  /**
   * in_pcbladdr: the source address for a socket not bound to one, sending to
   * dst. Returns the address (u32, ≥ 0) or -ENETUNREACH / -EADDRNOTAVAIL.
   */
  selectSource4(fib: number, dst: number): number {
    if (this.isLocal4(dst)) return dst;
    const rt = this.rtalloc4(fib, dst);
    if (rt === null) return -ERRNO.ENETUNREACH;
    const ia = this.ifaddr4For(rt.ifp, rt.flags & RTF_GATEWAY ? rt.gw4 : dst);
    return ia === null ? -ERRNO.EADDRNOTAVAIL : ia.addr;
  }

  /**
   * in6_selectsrc (RFC 6724 §5, the rules that apply to a host): write the source
   * for dst into out[outOff..+16). Candidates are the outgoing interface's
   * addresses; prefer the same scope as dst (rule 2), then the longest matching
   * prefix (rule 8). Our own address as dst is its own source. 0 or -errno.
   */
  selectSource6(fib: number, dst: Uint8Array, dstOff: number, out: Uint8Array, outOff: number, ifp: Ifnet | null = null): number {
    if (this.isLocal6(dst, dstOff)) { out.set(dst.subarray(dstOff, dstOff + 16), outOff); return 0; }
    let oif = ifp;
    if (oif === null) {
      const rt = this.rtalloc6(fib, dst, dstOff);
      if (rt === null) return -ERRNO.ENETUNREACH;
      oif = rt.ifp;
    }
    const wantLL = IN6_IS_ADDR_LINKLOCAL(dst, dstOff) || IN6_IS_ADDR_MC_LINKLOCAL(dst, dstOff);
    let best: In6Ifaddr | null = null;
    let bestScore = -1;
    for (const ia of oif.addrs6) {
      const ll = IN6_IS_ADDR_LINKLOCAL(ia.addr);
      const score = (ll === wantLL ? 256 : 0) + in6MatchLen(ia.addr, 0, dst, dstOff);
      if (score > bestScore) { best = ia; bestScore = score; }
    }
    if (best === null) return -ERRNO.EADDRNOTAVAIL;
    out.set(best.addr, outOff);
    return 0;
  }

  joinGroup4(ifp: Ifnet, group: number): number {
    if (!IN_MULTICAST(group)) return -ERRNO.EINVAL;
    ifp.groups4.set(group, (ifp.groups4.get(group) ?? 0) + 1);
    return 0;
  }

  leaveGroup4(ifp: Ifnet, group: number): number {
    const n = ifp.groups4.get(group);
    if (n === undefined) return -ERRNO.EADDRNOTAVAIL;
    if (n <= 1) ifp.groups4.delete(group); else ifp.groups4.set(group, n - 1);
    return 0;
  }

  joinGroup6(ifp: Ifnet, group: Uint8Array): number {
    if (!IN6_IS_ADDR_MULTICAST(group)) return -ERRNO.EINVAL;
    const k = ip6Sprintf(group);
    const g = ifp.groups6.get(k);
    if (g) g.refs++; else ifp.groups6.set(k, { addr: group.slice(0, 16), refs: 1 });
    return 0;
  }

  leaveGroup6(ifp: Ifnet, group: Uint8Array): number {
    const k = ip6Sprintf(group);
    const g = ifp.groups6.get(k);
    if (!g) return -ERRNO.EADDRNOTAVAIL;
    if (--g.refs <= 0) ifp.groups6.delete(k);
    return 0;
  }

  /** Has ifp joined the group at a[off..off+16)? */
  inGroup6(ifp: Ifnet, a: Uint8Array, off: number): boolean {
    for (const g of ifp.groups6.values()) if (in6AreEqual(g.addr, 0, a, off)) return true;
    return false;
  }

  /* --------------------------------------------------------------- routes */

  fib(n: number): Fib {
    const f = this.fibs[n];
    if (!f) throw new RangeError(`no FIB ${n}`);
    return f;
  }

  /** rtalloc for IPv4: longest-prefix match in `fib`, or null. */
  rtalloc4(fib: number, dst: number): Rtentry | null {
    const f = this.fibs[fib];
    if (!f) return null;
    // The last route while the table is unchanged (see rtalloc6).
    const c = this.rt4Cache;
    if (c !== null && c.valid && this.rt4CacheDst === dst && this.rt4CacheFib === f && this.rt4CacheGen === f.gen) return c;
    const rt = f.lookup4(dst);
    if (rt !== null) {
      this.rt4Cache = rt;
      this.rt4CacheFib = f;
      this.rt4CacheGen = f.gen;
      this.rt4CacheDst = dst;
    }
    return rt;
  }

  /** rtalloc for IPv6: longest-prefix match for dst[off..off+16) in `fib`, or null. */
  rtalloc6(fib: number, dst: Uint8Array, off = 0): Rtentry | null {
    const f = this.fibs[fib];
    if (!f) return null;
    // The route of the last lookup while the table is unchanged (the inp_route cache of
    // FreeBSD's ip6_output, kept here for all callers): a longest-prefix match hashes the
    // address once per prefix length in use.
    const c = this.rt6Cache;
    if (c !== null && c.valid && this.rt6CacheFib === f && this.rt6CacheGen === f.gen && in6AreEqual(this.rt6CacheDst, 0, dst, off)) return c;
    const rt = f.lookup6(dst, off);
    if (rt !== null) {
      this.rt6Cache = rt;
      this.rt6CacheFib = f;
      this.rt6CacheGen = f.gen;
      for (let i = 0; i < 16; i++) this.rt6CacheDst[i] = dst[off + i]!;
    }
    return rt;
  }

  /**
   * `route add`: a static IPv4 route. With a gateway (gw ≠ 0) the interface is the
   * one whose connected network holds the gateway (ENETUNREACH if none); without,
   * `ifp` is required (an interface route). EEXIST if the prefix is there.
   */
  routeAdd4(fib: number, dst: number, plen: number, gw: number, ifp: Ifnet | null = null, mtu = 0): number {
    const f = this.fibs[fib];
    if (!f || plen < 0 || plen > 32) return -ERRNO.EINVAL;
    if (f.find4(dst, plen)) return -ERRNO.EEXIST;
    let oif = ifp;
    if (gw !== 0 && oif === null) {
      const rt = f.lookup4(gw);
      if (rt === null || rt.flags & RTF_GATEWAY) return -ERRNO.ENETUNREACH;
      oif = rt.ifp;
    }
    if (oif === null) return -ERRNO.EINVAL;
    let flags = RTF_UP | RTF_STATIC;
    if (gw !== 0) flags |= RTF_GATEWAY;
    if (plen === 32) flags |= RTF_HOST;
    f.add(new Rtentry(4, fib, (dst & inMask(plen)) >>> 0, null, plen, gw, null, oif, flags, mtu));
    return 0;
  }

  routeDelete4(fib: number, dst: number, plen: number): number {
    const f = this.fibs[fib];
    const rt = f?.find4(dst, plen);
    if (!f || !rt) return -ERRNO.ENOENT;
    f.remove(rt);
    return 0;
  }

  routeAdd6(fib: number, dst: Uint8Array, plen: number, gw: Uint8Array | null, ifp: Ifnet | null = null, mtu = 0): number {
    const f = this.fibs[fib];
    if (!f || plen < 0 || plen > 128) return -ERRNO.EINVAL;
    if (f.find6(dst, plen, ifp ?? undefined)) return -ERRNO.EEXIST;
    let oif = ifp;
    if (gw !== null && oif === null) {
      if (IN6_IS_ADDR_LINKLOCAL(gw)) return -ERRNO.EINVAL;  // a link-local gateway needs its interface
      const rt = f.lookup6(gw, 0);
      if (rt === null || rt.flags & RTF_GATEWAY) return -ERRNO.ENETUNREACH;
      oif = rt.ifp;
    }
    if (oif === null) return -ERRNO.EINVAL;
    let flags = RTF_UP | RTF_STATIC;
    if (gw !== null) flags |= RTF_GATEWAY;
    if (plen === 128) flags |= RTF_HOST;
    f.add(new Rtentry(6, fib, 0, rtMask6(dst, plen), plen, 0, gw ? gw.slice(0, 16) : null, oif, flags, mtu));
    return 0;
  }

  routeDelete6(fib: number, dst: Uint8Array, plen: number): number {
    const f = this.fibs[fib];
    const rt = f?.find6(dst, plen);
    if (!f || !rt) return -ERRNO.ENOENT;
    f.remove(rt);
    return 0;
  }

  /**
   * `route add PREFIX GATEWAY|IFNAME` from text: '0.0.0.0/0' or 'default' (IPv4),
   * '::/0' or 'default6'; the gateway is an address or an interface. 0 or -errno.
   */
  addRoute(prefix: string, via: string | Ifnet, opts: { fib?: number; mtu?: number } = {}): number {
    const p = this.parsePrefix(prefix);
    if (p === null) return -ERRNO.EINVAL;
    const fib = opts.fib ?? 0;
    const ifp = typeof via === 'string' ? this.ifunit(via) : via;
    if (p.af === 4) {
      if (ifp) return this.routeAdd4(fib, p.a4, p.plen, 0, ifp, opts.mtu ?? 0);
      const gw = parseIPv4(via as string);
      return gw ? this.routeAdd4(fib, p.a4, p.plen, inAddr(via as string), null, opts.mtu ?? 0) : -ERRNO.EINVAL;
    }
    if (ifp) return this.routeAdd6(fib, p.a6!, p.plen, null, ifp, opts.mtu ?? 0);
    const gw = parseIPv6(via as string);
    return gw ? this.routeAdd6(fib, p.a6!, p.plen, gw, null, opts.mtu ?? 0) : -ERRNO.EINVAL;
  }

  deleteRoute(prefix: string, fib = 0): number {
    const p = this.parsePrefix(prefix);
    if (p === null) return -ERRNO.EINVAL;
    return p.af === 4 ? this.routeDelete4(fib, p.a4, p.plen) : this.routeDelete6(fib, p.a6!, p.plen);
  }

  private parsePrefix(s: string): { af: 4 | 6; a4: number; a6: Uint8Array | null; plen: number } | null {
    if (s === 'default') s = '0.0.0.0/0';
    if (s === 'default6') s = '::/0';
    const [a, p] = s.split('/');
    if (a === undefined) return null;
    if (a.includes(':')) {
      const b = parseIPv6(a);
      const plen = p === undefined ? 128 : Number(p);
      return b && Number.isInteger(plen) ? { af: 6, a4: 0, a6: b, plen } : null;
    }
    const b = parseIPv4(a);
    const plen = p === undefined ? 32 : Number(p);
    return b && Number.isInteger(plen) ? { af: 4, a4: inAddr(a), a6: null, plen } : null;
  }

  /* ------------------------------------------------------------ protocols */

  /** Register pr_input/pr_ctlinput for an IP protocol number, for IPv4, IPv6 or both (af 0). */
  registerProtocol(proto: number, sw: ProtoSwitch, af: 0 | 4 | 6 = 0): void {
    if (af !== 6) this.protosw4[proto] = sw;
    if (af !== 4) this.protosw6[proto] = sw;
  }

  /* ---------------------------------------------------------------- input */

  /**
   * A frame arrived on ifp: Ethernet on 'ether', a raw IP datagram on 'tun' and
   * 'loop'. `meta` (CSUM_* receive flags, RSS hash, VLAN) may be null.
   */
  input(ifp: Ifnet, frame: Uint8Array, meta: FrameMeta | null): void {
    const m = this.inMeta;
    if (meta) Object.assign(m, meta); else resetFrameMeta(m);
    ifp.data.ifi_ipackets++;
    ifp.data.ifi_ibytes += frame.length;
    if (!ifp.up) { ifp.data.ifi_iqdrops++; return; }
    if (ifp.type === 'ether') { etherInput(this, ifp, frame, m); return; }
    if (frame.length < 1) { ifp.data.ifi_ierrors++; return; }
    const v = frame[0]! >>> 4;
    if (v === 6) this.ip6InputFrom(ifp, frame, 0, frame.length, m);
    else this.ipInputFrom(ifp, frame, 0, frame.length, m);
  }

  /** IPv4 datagram at buf[off, off+len) from ifp (after any link header). */
  ipInputFrom(ifp: Ifnet, buf: Uint8Array, off: number, len: number, meta: FrameMeta): void {
    // Receive offload results count only when the interface has RXCSUM enabled.
    if (!(ifp.capenable & IFCAP_RXCSUM)) meta.csumFlags = 0;
    ipInput(this, ifp, buf, off, len, meta);
  }

  ip6InputFrom(ifp: Ifnet, buf: Uint8Array, off: number, len: number, meta: FrameMeta): void {
    if (!(ifp.capenable & IFCAP_RXCSUM_IPV6)) meta.csumFlags = 0;
    ip6Input(this, ifp, buf, off, len, meta);
  }

  /** The reused PktInfo, its pkthdr fields loaded from meta (null: reassembled, nothing verified). */
  pktInfo(ifp: Ifnet, meta: FrameMeta | null): PktInfo {
    const pi = this.pi;
    pi.ifp = ifp;
    pi.csumFlags = meta ? meta.csumFlags : 0;
    pi.csumData = meta ? meta.csumData : 0;
    pi.flowid = meta ? meta.flowid : 0;
    pi.hashType = meta ? meta.hashType : 0;
    pi.reassembled = false;
    pi.mflags = 0;
    return pi;
  }

  /* --------------------------------------------------------------- output */

  /** ip_output: see netinet/ip_output.ts. 0 or -errno. */
  ipOutput(buf: Uint8Array, off: number, len: number, a: IpOutArgs): number {
    return ipOutput(this, buf, off, len, a);
  }

  /** ip6_output: see netinet6/ip6_output.ts. 0 or -errno. */
  ip6Output(buf: Uint8Array, off: number, len: number, a: Ip6OutArgs): number {
    return ip6Output(this, buf, off, len, a);
  }

  /** ip_id for a new datagram (RFC 6864: 0 for atomic datagrams when net.inet.ip.rfc6864). */
  ipId(df: boolean): number {
    if (df && this.tun.rfc6864) return 0;
    if (this.tun.random_id) return this.ctx.random.u32() & 0xffff;
    this.ipIdCounter = (this.ipIdCounter + 1) & 0xffff;
    return this.ipIdCounter;
  }

  /** The reused output FrameMeta, filled for one datagram. */
  outMeta(csumFlags: number, csumData: number, l3hlen: number, mflags: number, a: { flowid: number; hashType: number } | null): FrameMeta {
    const m = resetFrameMeta(this.meta);
    m.csumFlags = csumFlags;
    m.csumData = csumData;
    m.l3hlen = l3hlen;
    m.flags = mflags;
    if (a) { m.flowid = a.flowid; m.hashType = a.hashType; }
    return m;
  }

  /**
   * if_output: the IP datagram at buf[off, off+len) leaves ifp toward nexthop
   * (IPv4 u32 or IPv6 bytes). Ethernet resolves the next hop (ARP/ND) and
   * prepends its header in the headroom; tun sends the datagram as is; the
   * loopback queues it for drain(). 0 or -errno.
   */
  ifOutput(ifp: Ifnet, buf: Uint8Array, off: number, len: number, af: 4 | 6, nh4: number, nh6: Uint8Array | null, nh6Off: number, meta: FrameMeta): number {
    if (!ifp.up) { ifp.data.ifi_oerrors++; return -ERRNO.ENETDOWN; }
    switch (ifp.type) {
      case 'loop':
        return this.loOutput(ifp, buf, off, len, af);
      case 'tun':
        ifp.data.ifi_opackets++;
        ifp.data.ifi_obytes += len;
        this.ctx.output(ifp, this.frameView(buf, off, off + len), meta);
        return 0;
      case 'ether': {
        let dst: Uint8Array;
        const dmac = this.scratch6;
        if (af === 4) {
          if (meta.flags & M_BCAST) dst = ETHER_BCAST;
          else if (meta.flags & M_MCAST) { etherMapIpMulticast(nh4, dmac, 0); dst = dmac; }
          else {
            const r = this.arp.resolve(ifp, nh4, nh4 !== get32(buf, off + 16), buf, off, len, meta);
            if (r === null) return 0;
            if (typeof r === 'number') return r;
            dst = r;
          }
        } else {
          if (IN6_IS_ADDR_MULTICAST(nh6!, nh6Off)) { etherMapIp6Multicast(nh6!, nh6Off, dmac, 0); dst = dmac; }
          else {
            const r = this.nd6.resolve(ifp, nh6!, nh6Off, buf, off, len, meta);
            if (r === null) return 0;
            if (typeof r === 'number') return r;
            dst = r;
          }
        }
        return this.etherOutputFrame(ifp, buf, off, len, dst, af === 4 ? ETHERTYPE_IP : ETHERTYPE_IPV6, meta);
      }
    }
  }

  /**
   * Prepend an Ethernet header to buf[off, off+len) (ETHER_HDR_LEN bytes of
   * headroom needed) and send it. Used by IP output, ARP and ND.
   */
  etherOutputFrame(ifp: Ifnet, buf: Uint8Array, off: number, len: number, dst: Uint8Array, type: number, meta: FrameMeta | null): number {
    const h = off - ETHER_HDR_LEN;
    if (h < 0) throw new RangeError('ether_output: no headroom for the link header');
    const src = ifp.lladdr!;
    for (let i = 0; i < 6; i++) { buf[h + i] = dst[i]!; buf[h + 6 + i] = src[i]!; }
    set16(buf, h + 12, type);
    const m = meta ?? this.outMeta(0, 0, 0, 0, null);
    m.l2hlen = ETHER_HDR_LEN;
    if (dst[0]! & 1) ifp.data.ifi_omcasts++;
    ifp.data.ifi_opackets++;
    ifp.data.ifi_obytes += len + ETHER_HDR_LEN;
    this.ctx.output(ifp, this.frameView(buf, h, off + len), m);
    return 0;
  }

  /**
   * buf[start, end) as a view for the link. A frame is valid only during the
   * output call, so the views of the last two shapes (a data segment, an ACK from
   * the same scratch buffer) are reused instead of a subarray per packet.
   */
  private frameView(buf: Uint8Array, start: number, end: number): Uint8Array {
    // Output is built in a few scratch buffers at a fixed headroom: their views are kept
    // by length (a handful of lengths repeat). Compared by identity, no getters per packet.
    const cache = this.fvCache;
    let c = cache[0];
    if (c === undefined || c.buf !== buf || c.start !== start) {
      let i = 1;
      while (i < cache.length && (cache[i]!.buf !== buf || cache[i]!.start !== start)) i++;
      if (i < cache.length) c = cache[i]!;
      else {
        c = { buf, start, byLen: [] };
        if (cache.length === FV_BUFFERS) cache.pop();
        i = cache.length;
        cache.push(c);
      }
      // Most recently used first.
      for (let k = i; k > 0; k--) cache[k] = cache[k - 1]!;
      cache[0] = c;
    }
    const len = end - start;
    let v = c.byLen[len];
    if (v === undefined) { v = buf.subarray(start, end); c.byLen[len] = v; }
    return v;
  }

  /** Send a packet held during ARP/ND resolution, now that its link address is known. */
  sendHeld(ifp: Ifnet, h: HeldPacket, lladdr: Uint8Array, type: number): void {
    const m = resetFrameMeta(this.heldMeta);
    m.csumFlags = h.csumFlags; m.csumData = h.csumData; m.l3hlen = h.l3hlen;
    m.tsoSegsz = h.tsoSegsz; m.flowid = h.flowid; m.hashType = h.hashType; m.flags = h.flags;
    if (ifp.up) this.etherOutputFrame(ifp, h.buf, h.off, h.len, lladdr, type, m);
  }

  /** looutput + if_simloop: queue a copy for drain() (netisr), ENOBUFS when the queue is full. */
  private loOutput(ifp: Ifnet, buf: Uint8Array, off: number, len: number, af: 4 | 6): number {
    if (this.loopq.length - this.loopHead >= this.tun.intr_queue_maxlen) {
      ifp.data.ifi_oqdrops++;
      return -ERRNO.ENOBUFS;
    }
    ifp.data.ifi_opackets++;
    ifp.data.ifi_obytes += len;
    this.loopq.push({ ifp, buf: buf.slice(off, off + len), af });
    return 0;
  }

  /** Looped-back datagrams waiting for drain(). */
  get pending(): number { return this.loopq.length - this.loopHead; }

  /**
   * Deliver queued loopback datagrams (including those queued while delivering).
   * The loopback marks them checksum-verified when RXCSUM(_IPV6) is enabled on
   * lo0 (LO_CSUM_SET), so TCP and UDP skip the check. Returns how many were delivered.
   */
  drain(): number {
    let n = 0;
    while (this.loopHead < this.loopq.length) {
      const it = this.loopq[this.loopHead]!;
      this.loopq[this.loopHead++] = undefined as unknown as LoopItem;
      const m = resetFrameMeta(this.inMeta);
      const ifp = it.ifp;
      if (ifp.capenable & (it.af === 4 ? IFCAP_RXCSUM : IFCAP_RXCSUM_IPV6)) {
        m.csumFlags = CSUM_DATA_VALID | CSUM_PSEUDO_HDR | CSUM_IP_CHECKED | CSUM_IP_VALID;
        m.csumData = 0xffff;
      }
      ifp.data.ifi_ipackets++;
      ifp.data.ifi_ibytes += it.buf.length;
      if (it.af === 4) ipInput(this, ifp, it.buf, 0, it.buf.length, m);
      else ip6Input(this, ifp, it.buf, 0, it.buf.length, m);
      n++;
    }
    if (this.loopHead !== 0) {
      this.loopq.length = 0;
      this.loopHead = 0;
    }
    return n;
  }

  /* -------------------------------------------------------------- sysctl */

  private registerSysctls(s: SysctlTree): void {
    const t = this.tun;
    s.int('net.inet.ip.ttl', t, 'ip_defttl', 'Maximum TTL on IP packets', { min: 1, max: 255 });
    s.int('net.inet.ip.random_id', t, 'random_id', 'Assign random ip_id values', { min: 0, max: 1 });
    s.int('net.inet.ip.rfc6864', t, 'rfc6864', 'Use constant IP ID for atomic datagrams', { min: 0, max: 1 });
    s.int('net.inet.ip.intr_queue_maxlen', t, 'intr_queue_maxlen', 'Maximum size of the IP input queue', { min: 1 });
    const r = this.ipReass.tun;
    s.int('net.inet.ip.maxfragpackets', r, 'maxfragpackets', 'Maximum number of IPv4 fragment reassembly queue entries', { min: 0 });
    s.int('net.inet.ip.maxfragsperpacket', r, 'maxfragsperpacket', 'Maximum number of IPv4 fragments allowed per packet', { min: 0 });
    s.int('net.inet.ip.maxfrags', r, 'maxfrags', 'Maximum number of IPv4 fragments allowed across all reassembly queues', { min: 0 });
    s.add({ name: 'net.inet.ip.fragpackets', kind: 'int', readonly: true, description: 'Current number of IPv4 fragment reassembly queue entries', get: () => this.ipReass.npackets });
    s.add({ name: 'net.inet.ip.curfrags', kind: 'int', readonly: true, description: 'Current number of IPv4 fragments across all reassembly queues', get: () => this.ipReass.nfragments });
    const p = this.portrange;
    for (const k of ['lowfirst', 'lowlast', 'first', 'last', 'hifirst', 'hilast', 'reservedhigh', 'reservedlow'] as const) {
      s.int(`net.inet.ip.portrange.${k}`, p, k, `Port range: ${k}`, { min: 0, max: 65535 });
    }
    s.int('net.inet.ip.portrange.randomized', p, 'randomized', 'Enable random port allocation', { min: 0, max: 1 });
    const ic = this.icmp.tun;
    s.int('net.inet.icmp.icmplim', ic, 'icmplim', 'Maximum number of ICMP responses per second', { min: 0 });
    s.int('net.inet.icmp.icmplim_output', ic, 'icmplim_output', 'Enable logging of ICMP response rate limiting', { min: 0, max: 1 });
    s.int('net.inet.icmp.bmcastecho', ic, 'bmcastecho', 'Reply to multicast/broadcast echo and timestamp requests', { min: 0, max: 1 });
    s.int('net.inet.icmp.tstamprepl', ic, 'tstamprepl', 'Respond to ICMP Timestamp packets', { min: 0, max: 1 });
    s.int('net.inet.icmp.quotelen', ic, 'quotelen', 'Number of bytes from original packet to quote in ICMP reply', { min: 0, max: 548 });
    const a = this.arp.tun;
    s.int('net.link.ether.inet.max_age', a, 'max_age', 'ARP entry lifetime in seconds', { min: 1 });
    s.int('net.link.ether.inet.maxtries', a, 'maxtries', 'ARP resolution attempts before returning error', { min: 1 });
    s.int('net.link.ether.inet.wait', a, 'wait', 'Incomplete ARP entry lifetime in seconds', { min: 1 });
    s.int('net.link.ether.inet.maxhold', a, 'maxhold', 'Number of packets to hold per ARP entry', { min: 0, max: 1 });
    s.int('net.inet6.ip6.v6only', t, 'ip6_v6only', 'Default value of per-socket IPV6_V6ONLY (new sockets)', { min: 0, max: 1 });
    s.int('net.inet6.ip6.hlim', t, 'ip6_defhlim', 'Default hop limit to use for outgoing IPv6 packets', { min: 1, max: 255 });
    const f6 = this.frag6.tun;
    s.int('net.inet6.ip6.maxfragpackets', f6, 'maxfragpackets', 'Default maximum number of outstanding fragmented IPv6 packets', { min: 0 });
    s.int('net.inet6.ip6.maxfrags', f6, 'maxfrags', 'Maximum allowed number of outstanding IPv6 packet fragments', { min: 0 });
    s.int('net.inet6.ip6.maxfragsperpacket', f6, 'maxfragsperpacket', 'Maximum allowed number of fragments per packet', { min: 0 });
    s.add({ name: 'net.inet6.ip6.frag6_nfragpackets', kind: 'int', readonly: true, description: 'Number of fragmented packets in the reassembly queue', get: () => this.frag6.npackets });
    s.add({ name: 'net.inet6.ip6.frag6_nfrags', kind: 'int', readonly: true, description: 'Number of fragments in the reassembly queue', get: () => this.frag6.nfragments });
    const i6 = this.icmp6.tun;
    s.int('net.inet6.icmp6.errppslimit', i6, 'errppslimit', 'Maximum ICMPv6 error messages per second', { min: 0 });
    const n6 = this.nd6.tun;
    s.int('net.inet6.icmp6.nd6_delay', n6, 'nd6_delay', 'Delay before the first NUD probe, seconds', { min: 1 });
    s.int('net.inet6.icmp6.nd6_umaxtries', n6, 'nd6_umaxtries', 'Unicast neighbor solicitations before giving up', { min: 1 });
    s.int('net.inet6.icmp6.nd6_mmaxtries', n6, 'nd6_mmaxtries', 'Multicast neighbor solicitations before giving up', { min: 1 });
    s.int('net.inet6.icmp6.nd6_maxqueuelen', n6, 'nd6_maxqueuelen', 'Packets held per unresolved neighbor', { min: 0, max: 1 });
  }

  /** Convenience for logs and tests. */
  describe(): string {
    return this.ifnets.map((i) => `${i.name}: mtu ${i.mtu} ${i.up ? 'UP' : 'DOWN'} ${i.addrs4.length + i.addrs6.length} addrs`).join('\n');
  }
}

export { newIp6OutArgs };
export type { Ip6OutArgs };
// Re-exported for users who only import the net layer.
export { in6Addr, inAddr };
