/**
 * The routing table's entries and tables (net/route.h, net/route/route_var.h): longest-prefix match for IPv4 and IPv6, one
 * table per FIB number (net.fibs of them, FIB 0 the default; every lookup carries the fib,
 * as the multiple-FIB change notes' rt*fib() KPI does).
 *
 * Each address family keeps one hash map per prefix length that is in use, and
 * the in-use lengths in descending order, so a lookup costs one probe per
 * distinct length (typically /32, /24, /0) and allocates nothing.
 */
import type { Ifnet } from './if.js';
import { inMask, in6Masked, in6PrefixMatch } from './radix.js';
import { formatIPv4, formatIPv6 } from '@mcstack/wire';
import { set32 } from '@mcstack/wire';

export const RTF_UP = 0x1;
export const RTF_GATEWAY = 0x2;
export const RTF_HOST = 0x4;
export const RTF_REJECT = 0x8;
/** Created by a redirect (rtredirect), and changed by one. */
export const RTF_DYNAMIC = 0x10;
export const RTF_MODIFIED = 0x20;
export const RTF_STATIC = 0x800;
export const RTF_BLACKHOLE = 0x1000;
export const RTF_PINNED = 0x100000;
/** A route to one of our own addresses (delivered through the loopback). */
export const RTF_LOCAL = 0x200000;
export const RTF_BROADCAST = 0x400000;

export const RT_DEFAULT_FIB = 0;
/** The most FIBs net.fibs may ask for (RT_MAXFIBS of net/route.h before it became 65536). */
export const RT_MAXFIBS = 16;

export class Rtentry {
  /** Bumped when the entry is deleted so holders of a cached route re-look up. */
  valid = true;
  constructor(
    readonly af: 4 | 6,
    readonly fib: number,
    /** Destination prefix, host-order u32 (IPv4), masked. */
    readonly dst4: number,
    /** Destination prefix (IPv6), masked; null for IPv4. */
    readonly dst6: Uint8Array | null,
    readonly plen: number,
    /** Next hop for RTF_GATEWAY routes (IPv4 u32 / IPv6 bytes). */
    readonly gw4: number,
    readonly gw6: Uint8Array | null,
    readonly ifp: Ifnet,
    public flags: number,
    /** rmx_mtu; 0 means "the interface's MTU". */
    public mtu: number,
  ) {}

  /** The MTU a transport should use for this path: the route's, capped by the interface's. */
  get pathMtu(): number {
    return this.mtu > 0 && this.mtu < this.ifp.mtu ? this.mtu : this.ifp.mtu;
  }

  toString(): string {
    const d = this.af === 4 ? ntoa(this.dst4) : formatIPv6(this.dst6!);
    const g =
      this.flags & RTF_GATEWAY ? (this.af === 4 ? ntoa(this.gw4) : formatIPv6(this.gw6!)) : `link#${this.ifp.index}`;
    return `${d}/${this.plen} ${g} ${this.ifp.name}`;
  }
}

function ntoa(a: number): string {
  const b = new Uint8Array(4);
  set32(b, 0, a);
  return formatIPv4(b);
}

/** FNV-1a over a masked IPv6 prefix, without building the masked copy. */
function hash6(a: Uint8Array, ao: number, plen: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i++) {
    const bits = plen - i * 8;
    const b = bits >= 8 ? a[ao + i]! : bits <= 0 ? 0 : a[ao + i]! & ((0xff00 >>> bits) & 0xff);
    h = Math.imul(h ^ b, 0x01000193);
  }
  return h >>> 0;
}

/** One FIB: the IPv4 and IPv6 radix trees of FreeBSD, as per-length hash maps. */
export class Fib {
  private v4 = new Map<number, Map<number, Rtentry[]>>();
  private v4lens: number[] = [];
  private v6 = new Map<number, Map<number, Rtentry[]>>();
  private v6lens: number[] = [];
  /** Changes on every add/delete: a cached lookup is good while this is unchanged. */
  gen = 0;

  constructor(readonly fib: number) {}

  add(rt: Rtentry): void {
    const key = rt.af === 4 ? rt.dst4 : hash6(rt.dst6!, 0, rt.plen);
    const lens = rt.af === 4 ? this.v4lens : this.v6lens;
    const byLen = rt.af === 4 ? this.v4 : this.v6;
    let m = byLen.get(rt.plen);
    if (!m) {
      m = new Map();
      byLen.set(rt.plen, m);
      lens.push(rt.plen);
      lens.sort((a, b) => b - a);
    }
    const chain = m.get(key);
    if (chain) chain.push(rt);
    else m.set(key, [rt]);
    this.gen++;
  }

  remove(rt: Rtentry): boolean {
    const key = rt.af === 4 ? rt.dst4 : hash6(rt.dst6!, 0, rt.plen);
    const byLen = rt.af === 4 ? this.v4 : this.v6;
    const m = byLen.get(rt.plen);
    const chain = m?.get(key);
    if (!m || !chain) return false;
    const i = chain.indexOf(rt);
    if (i < 0) return false;
    chain.splice(i, 1);
    if (chain.length === 0) m.delete(key);
    if (m.size === 0) {
      byLen.delete(rt.plen);
      const lens = rt.af === 4 ? this.v4lens : this.v6lens;
      lens.splice(lens.indexOf(rt.plen), 1);
    }
    rt.valid = false;
    this.gen++;
    return true;
  }

  /** Longest-prefix match for an IPv4 destination (host order). */
  lookup4(dst: number): Rtentry | null {
    const lens = this.v4lens;
    for (let i = 0; i < lens.length; i++) {
      const plen = lens[i]!;
      const chain = this.v4.get(plen)!.get((dst & inMask(plen)) >>> 0);
      if (chain) return chain[0]!;
    }
    return null;
  }

  /** Longest-prefix match for an IPv6 destination at a[ao..ao+16). */
  lookup6(a: Uint8Array, ao = 0): Rtentry | null {
    const lens = this.v6lens;
    for (let i = 0; i < lens.length; i++) {
      const plen = lens[i]!;
      const chain = this.v6.get(plen)!.get(hash6(a, ao, plen));
      if (!chain) continue;
      for (let j = 0; j < chain.length; j++) {
        const rt = chain[j]!;
        if (in6PrefixMatch(rt.dst6!, 0, a, ao, plen)) return rt;
      }
    }
    return null;
  }

  /** The entry for exactly this prefix (and interface / gateway when given), for delete. */
  find4(dst: number, plen: number, ifp?: Ifnet): Rtentry | null {
    const chain = this.v4.get(plen)?.get((dst & inMask(plen)) >>> 0);
    return chain?.find((r) => ifp === undefined || r.ifp === ifp) ?? null;
  }

  find6(dst: Uint8Array, plen: number, ifp?: Ifnet): Rtentry | null {
    const chain = this.v6.get(plen)?.get(hash6(dst, 0, plen));
    return chain?.find((r) => in6PrefixMatch(r.dst6!, 0, dst, 0, plen) && (ifp === undefined || r.ifp === ifp)) ?? null;
  }

  /** Every entry (netstat -rn order: family, then longer prefixes first). */
  entries(): Rtentry[] {
    const out: Rtentry[] = [];
    for (const len of this.v4lens) for (const c of this.v4.get(len)!.values()) out.push(...c);
    for (const len of this.v6lens) for (const c of this.v6.get(len)!.values()) out.push(...c);
    return out;
  }
}

/** Make the masked destination of a new IPv6 route. */
export function rtMask6(dst: Uint8Array, plen: number): Uint8Array {
  return in6Masked(dst, 0, plen);
}
