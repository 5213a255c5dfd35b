/**
 * Neighbor discovery: address resolution and neighbor unreachability detection
 * (RFC 4861 §7, netinet6/nd6.c, nd6_nbr.c). The neighbor cache keeps FreeBSD's
 * states INCOMPLETE → REACHABLE → STALE → DELAY → PROBE. An unresolved neighbor
 * holds one packet (nd6_maxqueuelen = 1, a newer one replaces it and is counted
 * in icp6s_dropped); multicast solicitations are retransmitted every RetransTimer
 * (1 s) up to nd6_mmaxtries, after which the held packet gets an ICMPv6 address
 * unreachable (§7.2.2) and the entry goes. Redirects (§8) are believed from the
 * router a destination is routed through and go into every FIB. Router and prefix
 * discovery and DAD are not implemented: addresses and routes are configured statically.
 */
import type { Inet6Vnet } from './in6_var.js';
import type { Ifnet } from '../net/if.js';
import type { FrameMeta } from '../net/mbuf.js';
import { MAX_HDR } from '../net/mbuf.js';
import { Callout } from '../kern/callout.js';
import { ERRNO } from '../kern/errno.js';
import { holdPacket } from '../net/if_llatbl.js';
import type { HeldPacket } from '../net/if_llatbl.js';
import { ETHERTYPE_IPV6 } from '@mcstack/wire';
import { ND_OPT_SOURCE_LINKADDR, ND_OPT_TARGET_LINKADDR } from '@mcstack/wire';
import { IP6_HLIM, IP6_SRC, IP6_DST } from '@mcstack/wire';
import {
  in6AreEqual,
  in6SolicitedNode,
  IN6_IS_ADDR_LINKLOCAL,
  IN6_IS_ADDR_MULTICAST,
  IN6_IS_ADDR_UNSPECIFIED,
  IN6ADDR_LINKLOCAL_ALLNODES,
  ip6Sprintf,
} from '../netinet/in.js';
import { ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR } from './icmp6.js';
import { selectSource6 } from './in6.js';
import { rtredirect6 } from '../net/route.js';
import { etherSendHeld } from '../net/if_ethersubr.js';

export const ND6_LLINFO_INCOMPLETE = 0;
export const ND6_LLINFO_REACHABLE = 1;
export const ND6_LLINFO_STALE = 2;
export const ND6_LLINFO_DELAY = 3;
export const ND6_LLINFO_PROBE = 4;
export const ND6_STATE_NAMES = ['INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE'] as const;

/** The NA flags as the first byte of the reserved word (wire's ND_NA_FLAG_* are the whole word). */
const NA_ROUTER = 0x80;
const NA_SOLICITED = 0x40;
const NA_OVERRIDE = 0x20;
/** ICMPv6 header (8) + target (16). */
export const ND_MSG_LEN = 24;
/** A redirect: ICMPv6 header (8), target (16), destination (16); options follow (RFC 4861 §4.5). */
const ND_REDIRECT_LEN = 40;

export class NdEntry {
  readonly addr: Uint8Array;
  lladdr = new Uint8Array(6);
  state = ND6_LLINFO_INCOMPLETE;
  asked = 0;
  isRouter = false;
  hold: HeldPacket | null = null;
  readonly timer: Callout;
  constructor(
    readonly ifp: Ifnet,
    addr: Uint8Array,
    readonly key: string,
    onTimer: (e: NdEntry) => void,
  ) {
    this.addr = addr.slice(0, 16);
    this.timer = new Callout(() => onTimer(this));
  }
}

export class Nd6 {
  /** Seconds, except retrans (ms) as RFC 4861 §10 constants. */
  readonly tun = {
    reachable: 30,
    retrans: 1000,
    nd6_delay: 5,
    nd6_umaxtries: 3,
    nd6_mmaxtries: 3,
    nd6_maxqueuelen: 1,
    nd6_gctimer: 86400,
    /** net.inet6.icmp6.rediraccept: act on redirects (FreeBSD's default 1). */
    rediraccept: 1,
  };
  private tables = new Map<Ifnet, Map<string, NdEntry>>();
  private readonly tgt = new Uint8Array(16);
  /** The entry resolve() found last: a connection sends to one neighbor in bursts, no text key per packet. */
  private last: NdEntry | null = null;

  constructor(private readonly ns: Inet6Vnet) {}

  private key(a: Uint8Array, off: number): string {
    return ip6Sprintf(a, off);
  }

  lookup(ifp: Ifnet, a: Uint8Array, off = 0): NdEntry | null {
    return this.tables.get(ifp)?.get(this.key(a, off)) ?? null;
  }

  entries(): NdEntry[] {
    const out: NdEntry[] = [];
    for (const t of this.tables.values()) out.push(...t.values());
    return out;
  }

  flush(ifp: Ifnet): void {
    const t = this.tables.get(ifp);
    if (t) for (const e of [...t.values()]) this.free(e);
    // The table goes too: a detached interface must not stay reachable from here.
    this.tables.delete(ifp);
  }

  private entry(ifp: Ifnet, a: Uint8Array, off: number): NdEntry {
    let t = this.tables.get(ifp);
    if (!t) {
      t = new Map();
      this.tables.set(ifp, t);
    }
    const k = this.key(a, off);
    let e = t.get(k);
    if (!e) {
      e = new NdEntry(ifp, a.subarray(off, off + 16), k, (x) => this.timer(x));
      t.set(k, e);
    }
    return e;
  }

  private free(e: NdEntry): void {
    this.ns.callouts.stop(e.timer);
    if (e.hold) {
      this.ns.icmp6.stat.icp6s_dropped++;
      e.hold = null;
    }
    this.tables.get(e.ifp)?.delete(e.key);
    if (this.last === e) this.last = null;
  }

  private setState(e: NdEntry, state: number, after: number): void {
    e.state = state;
    this.ns.callouts.reset(e.timer, this.ns.ctx.now() + after);
  }

  /**
   * nd6_resolve: the link address for neighbor a[off..off+16), or null when the
   * packet was held pending resolution. A STALE entry is used at once and moves to
   * DELAY (RFC 4861 §7.3.3).
   */
  resolve(
    ifp: Ifnet,
    a: Uint8Array,
    off: number,
    buf: Uint8Array,
    boff: number,
    len: number,
    meta: FrameMeta,
  ): Uint8Array | null | number {
    let e: NdEntry | undefined;
    const c = this.last;
    if (c !== null && c.ifp === ifp && in6AreEqual(c.addr, 0, a, off)) e = c;
    else {
      const t = this.tables.get(ifp);
      e = t !== undefined ? t.get(this.key(a, off)) : undefined;
      if (e !== undefined) this.last = e;
    }
    if (e !== undefined && e.state !== ND6_LLINFO_INCOMPLETE) {
      if (e.state === ND6_LLINFO_STALE) {
        e.asked = 0;
        this.setState(e, ND6_LLINFO_DELAY, this.tun.nd6_delay * 1e6);
      }
      return e.lladdr;
    }
    if (ifp.lladdr === null) return -ERRNO.EHOSTUNREACH;
    const ent = e ?? this.entry(ifp, a, off);
    if (this.tun.nd6_maxqueuelen > 0) {
      if (ent.hold) this.ns.icmp6.stat.icp6s_dropped++;
      ent.hold = holdPacket(buf, boff, len, meta);
    } else {
      this.ns.icmp6.stat.icp6s_dropped++;
    }
    if (e === undefined) {
      ent.asked = 1;
      this.setState(ent, ND6_LLINFO_INCOMPLETE, this.tun.retrans * 1000);
      this.nsOutput(ifp, null, ent.addr);
    }
    return null;
  }

  private timer(e: NdEntry): void {
    const t = this.tun;
    switch (e.state) {
      case ND6_LLINFO_INCOMPLETE:
        if (e.asked < t.nd6_mmaxtries) {
          e.asked++;
          this.setState(e, ND6_LLINFO_INCOMPLETE, t.retrans * 1000);
          this.nsOutput(e.ifp, null, e.addr);
          return;
        }
        // RFC 4861 §7.2.2: address unreachable for the packet that waited.
        if (e.hold) {
          const h = e.hold;
          e.hold = null;
          this.ns.icmp6.stat.icp6s_dropped++;
          this.ns.icmp6.error(h.buf, h.off, h.len, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR, 0, e.ifp, 0);
        }
        this.free(e);
        return;
      case ND6_LLINFO_REACHABLE:
        this.setState(e, ND6_LLINFO_STALE, t.nd6_gctimer * 1e6);
        return;
      case ND6_LLINFO_STALE:
        this.free(e);
        return;
      case ND6_LLINFO_DELAY:
        e.asked = 1;
        this.setState(e, ND6_LLINFO_PROBE, t.retrans * 1000);
        this.nsOutput(e.ifp, e, e.addr);
        return;
      case ND6_LLINFO_PROBE:
        if (e.asked < t.nd6_umaxtries) {
          e.asked++;
          this.setState(e, ND6_LLINFO_PROBE, t.retrans * 1000);
          this.nsOutput(e.ifp, e, e.addr);
          return;
        }
        this.free(e);
        return;
    }
  }

  /**
   * nd6_ns_output: solicit `target`, multicast to its solicited-node group, or
   * unicast to a known neighbor (NUD probe). Carries our link address (SLLAO).
   */
  nsOutput(ifp: Ifnet, unicast: NdEntry | null, target: Uint8Array): void {
    if (ifp.lladdr === null) return;
    const len = ND_MSG_LEN + 8;
    const r = new Uint8Array(MAX_HDR + len);
    const o = MAX_HDR;
    r[o] = ND_NEIGHBOR_SOLICIT;
    r.set(target.subarray(0, 16), o + 8);
    r[o + 24] = ND_OPT_SOURCE_LINKADDR;
    r[o + 25] = 1;
    r.set(ifp.lladdr, o + 26);
    const dst = unicast ? unicast.addr : in6SolicitedNode(target, 0);
    const src = new Uint8Array(16);
    if (selectSource6(this.ns, 0, target, 0, src, 0, ifp) < 0) return;
    this.ns.icmp6.sendOn(ifp, r, o, len, src, 0, dst, 0, 255, false);
  }

  /** Parse ND options in [o, end): the link address option of `want` type, or -1; -2 if malformed. */
  private findLladdrOpt(m: Uint8Array, o: number, end: number, want: number): number {
    let found = -1;
    let n = 0;
    while (o < end) {
      if (o + 2 > end) return -2;
      const olen = m[o + 1]! << 3;
      if (olen === 0 || o + olen > end) return -2; // RFC 4861 §4.6: zero length is invalid
      if (++n > 10) {
        this.ns.icmp6.stat.icp6s_nd_toomanyopt++;
        break;
      }
      if (m[o] === want && olen >= 8) found = o + 2;
      o += olen;
    }
    return found;
  }

  /** nd6_ns_input: validate (RFC 4861 §7.1.1), learn the sender (§7.2.3), answer. */
  nsInput(ifp: Ifnet, m: Uint8Array, ip: number, off: number, len: number, _mflags: number): void {
    const st = this.ns.icmp6.stat;
    if (m[ip + IP6_HLIM] !== 255) {
      st.icp6s_invlhlim++;
      st.icp6s_badns++;
      return;
    }
    if (m[off + 1] !== 0 || len < ND_MSG_LEN || IN6_IS_ADDR_MULTICAST(m, off + 8)) {
      st.icp6s_badns++;
      return;
    }
    const srcUnspec = IN6_IS_ADDR_UNSPECIFIED(m, ip + IP6_SRC);
    if (srcUnspec) {
      // A DAD probe must go to the solicited-node group (RFC 4861 §7.1.1).
      const d = ip + IP6_DST;
      if (!(m[d] === 0xff && m[d + 1] === 0x02 && m[d + 11] === 1 && m[d + 12] === 0xff)) {
        st.icp6s_badns++;
        return;
      }
    }
    const ll = this.findLladdrOpt(m, off + ND_MSG_LEN, off + len, ND_OPT_SOURCE_LINKADDR);
    if (ll === -2) {
      st.icp6s_nd_badopt++;
      st.icp6s_badns++;
      return;
    }
    if (srcUnspec && ll >= 0) {
      st.icp6s_badns++;
      return;
    }
    // Only our own addresses on this interface are answered (no proxy ND).
    let ours = false;
    for (const ia of ifp.addrs6)
      if (in6AreEqual(ia.addr, 0, m, off + 8)) {
        ours = true;
        break;
      }
    if (!ours) return;
    if (!srcUnspec && ll >= 0) this.learn(ifp, m, ip + IP6_SRC, ll);
    this.tgt.set(m.subarray(off + 8, off + 24));
    // RFC 4861 §7.2.4: solicited NA to the sender; to all-nodes for a DAD probe.
    const dst = srcUnspec ? IN6ADDR_LINKLOCAL_ALLNODES : m.slice(ip + IP6_SRC, ip + IP6_SRC + 16);
    this.naOutput(ifp, dst, this.tgt, srcUnspec ? NA_OVERRIDE : NA_SOLICITED | NA_OVERRIDE);
  }

  /** nd6_na_output: advertise `target` (ours) with our link address (TLLAO). */
  naOutput(ifp: Ifnet, dst: Uint8Array, target: Uint8Array, flags: number): void {
    if (ifp.lladdr === null) return;
    const len = ND_MSG_LEN + 8;
    const r = new Uint8Array(MAX_HDR + len);
    const o = MAX_HDR;
    r[o] = ND_NEIGHBOR_ADVERT;
    r[o + 4] = flags;
    r.set(target.subarray(0, 16), o + 8);
    r[o + 24] = ND_OPT_TARGET_LINKADDR;
    r[o + 25] = 1;
    r.set(ifp.lladdr, o + 26);
    this.ns.icmp6.sendOn(ifp, r, o, len, target, 0, dst, 0, 255, false);
  }

  /** nd6_na_input: validate (RFC 4861 §7.1.2) and update the cache (§7.2.5). */
  naInput(ifp: Ifnet, m: Uint8Array, ip: number, off: number, len: number, _mflags: number): void {
    const st = this.ns.icmp6.stat;
    if (m[ip + IP6_HLIM] !== 255) {
      st.icp6s_invlhlim++;
      st.icp6s_badna++;
      return;
    }
    if (m[off + 1] !== 0 || len < ND_MSG_LEN || IN6_IS_ADDR_MULTICAST(m, off + 8)) {
      st.icp6s_badna++;
      return;
    }
    const flags = m[off + 4]!;
    const solicited = (flags & NA_SOLICITED) !== 0;
    const override = (flags & NA_OVERRIDE) !== 0;
    if (solicited && IN6_IS_ADDR_MULTICAST(m, ip + IP6_DST)) {
      st.icp6s_badna++;
      return;
    }
    const ll = this.findLladdrOpt(m, off + ND_MSG_LEN, off + len, ND_OPT_TARGET_LINKADDR);
    if (ll === -2) {
      st.icp6s_nd_badopt++;
      st.icp6s_badna++;
      return;
    }
    for (const ia of ifp.addrs6) if (in6AreEqual(ia.addr, 0, m, off + 8)) return; // someone has our address (DAD would catch it)
    const e = this.lookup(ifp, m, off + 8);
    if (e === null) return; // §7.2.5: no entry, nothing to do
    const reachable = this.tun.reachable * 1e6;
    if (e.state === ND6_LLINFO_INCOMPLETE) {
      if (ll < 0) return;
      e.lladdr.set(m.subarray(ll, ll + 6));
      e.isRouter = (flags & NA_ROUTER) !== 0;
      e.asked = 0;
      if (solicited) this.setState(e, ND6_LLINFO_REACHABLE, reachable);
      else this.setState(e, ND6_LLINFO_STALE, this.tun.nd6_gctimer * 1e6);
      this.flushHold(e);
      return;
    }
    const differs = ll >= 0 && !sameMac(e.lladdr, m, ll);
    if (!override && differs) {
      if (e.state === ND6_LLINFO_REACHABLE) this.setState(e, ND6_LLINFO_STALE, this.tun.nd6_gctimer * 1e6);
      return;
    }
    if (ll >= 0) e.lladdr.set(m.subarray(ll, ll + 6));
    e.isRouter = (flags & NA_ROUTER) !== 0;
    e.asked = 0;
    if (solicited) this.setState(e, ND6_LLINFO_REACHABLE, reachable);
    else if (differs) this.setState(e, ND6_LLINFO_STALE, this.tun.nd6_gctimer * 1e6);
  }

  /**
   * nd6_cache_lladdr: a neighbor's link address from an option at m[ll..ll+6). A new entry
   * or a changed address is STALE (RFC 4861 §7.2.3, §8.3), and a packet held for it goes.
   */
  private learn(ifp: Ifnet, m: Uint8Array, addrOff: number, ll: number): NdEntry {
    const e = this.entry(ifp, m, addrOff);
    if (e.state === ND6_LLINFO_INCOMPLETE || !sameMac(e.lladdr, m, ll)) {
      e.lladdr.set(m.subarray(ll, ll + 6));
      this.setState(e, ND6_LLINFO_STALE, this.tun.nd6_gctimer * 1e6);
      this.flushHold(e);
    }
    return e;
  }

  /**
   * icmp6_redirect_input (RFC 4861 §8.1 validation, §8.3 processing): from the link-local
   * router a destination is routed through, with hop limit 255, code 0, at least 40 bytes,
   * a unicast destination, and a target that is either link-local (a better router) or the
   * destination itself (it is on-link). The host route goes into every FIB that routes the
   * destination through the sender (rtredirect6); when one does, the target's link
   * address, if given, goes into the neighbor cache. Failures count as icp6s_badredirect.
   */
  redirectInput(ifp: Ifnet, m: Uint8Array, ip: number, off: number, len: number): void {
    const st = this.ns.icmp6.stat;
    if (!this.tun.rediraccept) return;
    const tgt = off + 8;
    const dst = off + 24;
    if (
      len < ND_REDIRECT_LEN ||
      m[off + 1] !== 0 ||
      m[ip + IP6_HLIM] !== 255 ||
      !IN6_IS_ADDR_LINKLOCAL(m, ip + IP6_SRC) ||
      IN6_IS_ADDR_MULTICAST(m, dst)
    ) {
      st.icp6s_badredirect++;
      return;
    }
    const onlink = in6AreEqual(m, tgt, m, dst);
    if (!onlink && !IN6_IS_ADDR_LINKLOCAL(m, tgt)) {
      st.icp6s_badredirect++;
      return;
    }
    const ll = this.findLladdrOpt(m, off + ND_REDIRECT_LEN, off + len, ND_OPT_TARGET_LINKADDR);
    if (ll === -2) {
      st.icp6s_nd_badopt++;
      st.icp6s_badredirect++;
      return;
    }
    const d = m.slice(dst, dst + 16);
    const gw = onlink ? null : m.subarray(tgt, tgt + 16);
    const src = m.subarray(ip + IP6_SRC, ip + IP6_SRC + 16);
    let believed = 0;
    for (let fib = 0; fib < this.ns.fibs.length; fib++)
      if (rtredirect6(this.ns, fib, d, gw, src, ifp) === 0) believed++;
    if (believed === 0) {
      st.icp6s_badredirect++;
      return;
    }
    // Only a redirect from the current first hop (§8.1) may teach the cache a link
    // address: otherwise any on-link node could poison the target's entry.
    if (ll >= 0) this.learn(ifp, m, tgt, ll).isRouter = !onlink;
  }

  private flushHold(e: NdEntry): void {
    const h = e.hold;
    if (h === null) return;
    e.hold = null;
    etherSendHeld(this.ns, e.ifp, h, e.lladdr, ETHERTYPE_IPV6);
  }
}

function sameMac(a: Uint8Array, m: Uint8Array, o: number): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== m[o + i]) return false;
  return true;
}
