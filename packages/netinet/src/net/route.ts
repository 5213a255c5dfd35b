/**
 * Route lookup and change (net/route.c): rtalloc with a one-entry cache per
 * family, `route add` / `route delete` for IPv4 and IPv6, and the text form the
 * engine's configuration uses. The tables themselves are in route_var.ts.
 */
import type { Vnet } from './vnet.js';
import type { Ifnet } from './if.js';
import { ifunit } from './if.js';
import { ERRNO } from '../kern/errno.js';
import {
  Fib,
  Rtentry,
  RTF_UP,
  RTF_GATEWAY,
  RTF_HOST,
  RTF_LOCAL,
  RTF_PINNED,
  RTF_STATIC,
  RTF_DYNAMIC,
  RTF_MODIFIED,
  RT_MAXFIBS,
  rtMask6,
} from './route_var.js';
import { loaderTunable, type SysctlTree } from '../kern/sysctl.js';
import type { Kenv } from '../kern/kenv.js';
import { SysError } from '../kern/errno.js';
import { inMask, in6PrefixMatch } from './radix.js';
import { parseIPv4, parseIPv6 } from '@mcstack/wire';
import { get32 } from '@mcstack/wire';

export * from './route_var.js';

export function rtFib(v: Vnet, n: number): Fib {
  const f = v.fibs[n];
  if (!f) throw new RangeError(`no FIB ${n}`);
  return f;
}

/**
 * vfs_init's rt_numfibs and vnet_route_init (net/route.c): `net.fibs` is read once at start
 * (TUNABLE_INT_FETCH; 1 .. RT_MAXFIBS, else EINVAL where FreeBSD clamps) and that many tables
 * are made. Interface routes already in FIB 0 (lo0's) go into the new tables as the
 * net.add_addr_allfibs rule would have put them: IPv4 connected and local routes, IPv6
 * connected prefixes (an individual IPv6 address stays in the default FIB).
 */
export function routeTablesInit(v: Vnet, kenv: Kenv): void {
  const n = kenv.fetchInt('net.fibs') ?? 1;
  if (n < 1 || n > RT_MAXFIBS) throw new SysError('EINVAL', `net.fibs: ${n} is not in 1..${RT_MAXFIBS}`, 'kenv');
  const allfibs = kenv.fetchInt('net.add_addr_allfibs');
  if (allfibs !== undefined) v.rtTun.rt_add_addr_allfibs = allfibs === 0 ? 0 : 1;
  v.rtTun.rt_numfibs = n;
  const base = rtFib(v, 0).entries();
  for (let f = v.fibs.length; f < n; f++) {
    const fib = new Fib(f);
    v.fibs.push(fib);
    if (!v.rtTun.rt_add_addr_allfibs) continue;
    for (const rt of base) {
      if (!(rt.flags & RTF_PINNED) || (rt.af === 6 && rt.flags & RTF_LOCAL)) continue;
      fib.add(rtCopy(rt, f));
    }
  }
}

const NET_FIBS = loaderTunable('net.fibs');

/** net.fibs (read-only after start) and net.add_addr_allfibs (route.c's SYSCTLs). */
export function routeSysctls(tree: SysctlTree, v: Vnet): void {
  tree.add({
    name: NET_FIBS,
    kind: 'int',
    readonly: true,
    tunable: true,
    description: 'set number of fibs',
    get: () => v.fibs.length,
  });
  tree.int('net.add_addr_allfibs', v.rtTun, 'rt_add_addr_allfibs', 'Add new addresses to all fibs', {
    min: 0,
    max: 1,
  });
}

/** rt_numfibs: a valid FIB number for a socket, an interface or a route (else EINVAL). */
export function rtFibValid(v: Vnet, fib: number): boolean {
  return Number.isInteger(fib) && fib >= 0 && fib < v.fibs.length;
}

/**
 * The tables an interface address's connected routes go into (rtinit's loop over the
 * FIBs, in.c in_addprefix): every FIB with net.add_addr_allfibs set, else the interface's.
 */
export function ifaFibs(v: Vnet, ifp: Ifnet): readonly Fib[] {
  if (v.rtTun.rt_add_addr_allfibs) return v.fibs;
  return [rtFib(v, ifp.fib)];
}

/**
 * An address's connected prefix (when plen < the host length) and its local route via lo0
 * (`local`: false for an IPv6 address, which only the default FIB holds) in each FIB
 * of ifaFibs; a prefix another address already brought is not added twice.
 */
export function rtIfaAdd(v: Vnet, ifp: Ifnet, rt: Rtentry, local: Rtentry | null): void {
  for (const f of ifaFibs(v, ifp)) {
    const fn = f.fib;
    const have = rt.af === 4 ? f.find4(rt.dst4, rt.plen, ifp) : f.find6(rt.dst6!, rt.plen, ifp);
    if (rt.plen < (rt.af === 4 ? 32 : 128) && !have) f.add(rtCopy(rt, fn));
    if (local) f.add(rtCopy(local, fn));
  }
}

/** The connected prefix of a removed address (no other address of ifp keeps it), from every FIB. */
export function rtIfaDelete(v: Vnet, ifp: Ifnet, af: 4 | 6, dst4: number, dst6: Uint8Array | null, plen: number): void {
  for (const f of v.fibs) {
    const c = af === 4 ? f.find4(dst4, plen, ifp) : f.find6(dst6!, plen, ifp);
    if (c && !(c.flags & RTF_GATEWAY)) f.remove(c);
  }
}

/** A local route (RTF_LOCAL via lo0) for an address, from every FIB. */
export function rtLocalDelete(v: Vnet, af: 4 | 6, dst4: number, dst6: Uint8Array | null): void {
  for (const f of v.fibs) {
    const l = af === 4 ? f.find4(dst4, 32) : f.find6(dst6!, 128, v.lo0);
    if (l && l.flags & RTF_LOCAL) f.remove(l);
  }
}

function rtCopy(rt: Rtentry, fib: number): Rtentry {
  return new Rtentry(rt.af, fib, rt.dst4, rt.dst6, rt.plen, rt.gw4, rt.gw6, rt.ifp, rt.flags, rt.mtu);
}

/** rtalloc for IPv4: longest-prefix match in `fib`, or null. */
export function rtalloc4(v: Vnet, fib: number, dst: number): Rtentry | null {
  const f = v.fibs[fib];
  if (!f) return null;
  // The last route while the table is unchanged (see rtalloc6).
  const c = v.rt4Cache;
  if (c?.valid && v.rt4CacheDst === dst && v.rt4CacheFib === f && v.rt4CacheGen === f.gen) return c;
  const rt = f.lookup4(dst);
  if (rt !== null) {
    v.rt4Cache = rt;
    v.rt4CacheFib = f;
    v.rt4CacheGen = f.gen;
    v.rt4CacheDst = dst;
  }
  return rt;
}

/** rtalloc for IPv6: longest-prefix match for dst[off..off+16) in `fib`, or null. */
export function rtalloc6(v: Vnet, fib: number, dst: Uint8Array, off = 0): Rtentry | null {
  const f = v.fibs[fib];
  if (!f) return null;
  // The route of the last lookup while the table is unchanged (the inp_route cache of
  // FreeBSD's ip6_output, kept here for all callers): a longest-prefix match hashes the
  // address once per prefix length in use.
  const c = v.rt6Cache;
  if (c?.valid && v.rt6CacheFib === f && v.rt6CacheGen === f.gen && in6PrefixMatch(v.rt6CacheDst, 0, dst, off, 128))
    return c;
  const rt = f.lookup6(dst, off);
  if (rt !== null) {
    v.rt6Cache = rt;
    v.rt6CacheFib = f;
    v.rt6CacheGen = f.gen;
    for (let i = 0; i < 16; i++) v.rt6CacheDst[i] = dst[off + i]!;
  }
  return rt;
}

/**
 * rtredirect_fib (net/route.c) for IPv4 in one FIB: `src` (the router that sent the
 * redirect) says `dst` is better reached through `gw`. Believed only when gw is on a
 * connected network and not one of our addresses, and src is the gateway we route dst
 * through now on that network (RFC 1122 §3.2.2.2); then a host route RTF_DYNAMIC is made
 * (there was no route, or a network or default one), or a host route's gateway is changed
 * (RTF_MODIFIED). 0 or -errno, counted in rtstat as FreeBSD counts it.
 */
export function rtredirect4(v: Vnet, fib: number, dst: number, gw: number, src: number): number {
  const f = v.fibs[fib];
  if (!f) return -ERRNO.EINVAL;
  const e = redirect4(v, f, dst, gw, src);
  if (e < 0) v.rtstat.rts_badredirect++;
  return e;
}

function redirect4(v: Vnet, f: Fib, dst: number, gw: number, src: number): number {
  // ifa_ifwithnet: the new gateway on one of our networks; ifa_ifwithaddr: not ourselves.
  const via = f.lookup4(gw);
  if (via === null || via.flags & RTF_GATEWAY) return -ERRNO.ENETUNREACH;
  if (via.flags & RTF_LOCAL) return -ERRNO.EHOSTUNREACH;
  const rt = f.lookup4(dst);
  // Not from our current router for dst (or for another interface): old or forged.
  if (rt !== null && (!(rt.flags & RTF_GATEWAY) || rt.gw4 !== src || rt.ifp !== via.ifp)) return -ERRNO.EINVAL;
  return redirectInstall(
    v,
    f,
    rt,
    (flags, mtu) => new Rtentry(4, f.fib, dst, null, 32, gw, null, via.ifp, flags | RTF_GATEWAY, mtu),
  );
}

/**
 * The change a believed redirect makes in one table (rtredirect_fib): a route to a network
 * (the default one included), or none, gets a host route beside it (RTF_DYNAMIC); a host
 * route is replaced by one through the new gateway (rt_setgate, RTF_MODIFIED), so holders
 * of the old entry look again. `make` builds the host route with the flags it gets.
 */
function redirectInstall(v: Vnet, f: Fib, rt: Rtentry | null, make: (flags: number, mtu: number) => Rtentry): number {
  if (rt === null || !(rt.flags & RTF_HOST)) {
    f.add(make(RTF_UP | RTF_HOST | RTF_DYNAMIC, 0));
    v.rtstat.rts_dynamic++;
    return 0;
  }
  f.remove(rt);
  f.add(make((rt.flags & ~RTF_GATEWAY) | RTF_MODIFIED, rt.mtu));
  v.rtstat.rts_newgateway++;
  return 0;
}

/**
 * in6_rtredirect for one FIB (icmp6_redirect_input calls it for every FIB, the change
 * notes' "redirect information is propagated to all FIBs"): `src`, a router on `ifp`, says
 * `dst` is better reached through the link-local router `gw` (RFC 4861 §8.3), or, with
 * gw null, that dst is on the link itself. Believed only when src is the gateway this
 * table routes dst through now, on ifp (§8.1); then as rtredirect4 does. 0 or -errno,
 * counted in rtstat.
 */
export function rtredirect6(
  v: Vnet,
  fib: number,
  dst: Uint8Array,
  gw: Uint8Array | null,
  src: Uint8Array,
  ifp: Ifnet,
): number {
  const f = v.fibs[fib];
  if (!f) return -ERRNO.EINVAL;
  const rt = f.lookup6(dst, 0);
  if (rt === null || !(rt.flags & RTF_GATEWAY) || rt.ifp !== ifp || !in6PrefixMatch(rt.gw6!, 0, src, 0, 128)) {
    v.rtstat.rts_badredirect++;
    return -ERRNO.EINVAL;
  }
  const gw6 = gw === null ? null : gw.slice(0, 16);
  return redirectInstall(
    v,
    f,
    rt,
    (flags, mtu) =>
      new Rtentry(6, f.fib, 0, dst.slice(0, 16), 128, 0, gw6, ifp, gw6 === null ? flags : flags | RTF_GATEWAY, mtu),
  );
}

/**
 * `route add`: a static IPv4 route. With a gateway (gw ≠ 0) the interface is the
 * one whose connected network holds the gateway (ENETUNREACH if none); without,
 * `ifp` is required (an interface route). EEXIST if the prefix is there.
 */
export function routeAdd4(
  v: Vnet,
  fib: number,
  dst: number,
  plen: number,
  gw: number,
  ifp: Ifnet | null = null,
  mtu = 0,
): number {
  const f = v.fibs[fib];
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

export function routeDelete4(v: Vnet, fib: number, dst: number, plen: number): number {
  const f = v.fibs[fib];
  if (!f) return -ERRNO.EINVAL;
  const rt = f.find4(dst, plen);
  if (!rt) return -ERRNO.ENOENT;
  f.remove(rt);
  return 0;
}

export function routeAdd6(
  v: Vnet,
  fib: number,
  dst: Uint8Array,
  plen: number,
  gw: Uint8Array | null,
  ifp: Ifnet | null = null,
  mtu = 0,
): number {
  const f = v.fibs[fib];
  if (!f || plen < 0 || plen > 128) return -ERRNO.EINVAL;
  if (f.find6(dst, plen, ifp ?? undefined)) return -ERRNO.EEXIST;
  let oif = ifp;
  if (gw !== null && oif === null) {
    // A link-local gateway (fe80::/10) needs its interface.
    if (gw[0] === 0xfe && (gw[1]! & 0xc0) === 0x80) return -ERRNO.EINVAL;
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

export function routeDelete6(v: Vnet, fib: number, dst: Uint8Array, plen: number): number {
  const f = v.fibs[fib];
  if (!f) return -ERRNO.EINVAL;
  const rt = f.find6(dst, plen);
  if (!rt) return -ERRNO.ENOENT;
  f.remove(rt);
  return 0;
}

/**
 * `route add PREFIX GATEWAY|IFNAME` from text: '0.0.0.0/0' or 'default' (IPv4),
 * '::/0' or 'default6'; the gateway is an address or an interface. 0 or -errno.
 */
export function addRoute(
  v: Vnet,
  prefix: string,
  via: string | Ifnet,
  opts: { fib?: number; mtu?: number } = {},
): number {
  const p = parsePrefix(prefix);
  if (p === null) return -ERRNO.EINVAL;
  const fib = opts.fib ?? 0;
  const ifp = typeof via === 'string' ? ifunit(v, via) : via;
  if (p.af === 4) {
    if (ifp) return routeAdd4(v, fib, p.a4, p.plen, 0, ifp, opts.mtu ?? 0);
    const gw = parseIPv4(via as string);
    return gw ? routeAdd4(v, fib, p.a4, p.plen, get32(gw, 0), null, opts.mtu ?? 0) : -ERRNO.EINVAL;
  }
  if (ifp) return routeAdd6(v, fib, p.a6!, p.plen, null, ifp, opts.mtu ?? 0);
  const gw = parseIPv6(via as string);
  return gw ? routeAdd6(v, fib, p.a6!, p.plen, gw, null, opts.mtu ?? 0) : -ERRNO.EINVAL;
}

export function deleteRoute(v: Vnet, prefix: string, fib = 0): number {
  const p = parsePrefix(prefix);
  if (p === null) return -ERRNO.EINVAL;
  return p.af === 4 ? routeDelete4(v, fib, p.a4, p.plen) : routeDelete6(v, fib, p.a6!, p.plen);
}

/**
 * `route change PREFIX [GATEWAY|IFNAME] [-mtu N]` (RTM_CHANGE, route_ctl.c change_route):
 * the existing entry for exactly PREFIX takes a new gateway (its interface found as `route
 * add` finds it) and/or a new rmx_mtu (`mtu` > 0). A new gateway replaces the entry, so a
 * holder of the old one looks again (its `valid` goes false); an MTU alone is changed in
 * place and the next ip_output of every connection on the route sees it. 0, -ENOENT when
 * there is no such route, or add's errors (the old entry is kept then).
 */
export function changeRoute(
  v: Vnet,
  prefix: string,
  via: string | Ifnet | null,
  opts: { fib?: number; mtu?: number } = {},
): number {
  const p = parsePrefix(prefix);
  if (p === null) return -ERRNO.EINVAL;
  const fib = opts.fib ?? 0;
  const f = v.fibs[fib];
  if (!f) return -ERRNO.EINVAL;
  const rt = p.af === 4 ? f.find4(p.a4, p.plen) : f.find6(p.a6!, p.plen);
  if (rt === null) return -ERRNO.ENOENT;
  const mtu = opts.mtu !== undefined && opts.mtu > 0 ? opts.mtu : rt.mtu;
  if (via === null) {
    rt.mtu = mtu;
    f.gen++;
    return 0;
  }
  f.remove(rt);
  const e = addRoute(v, prefix, via, { fib, mtu });
  if (e < 0) {
    rt.valid = true;
    f.add(rt);
  }
  return e;
}

function parsePrefix(s: string): { af: 4 | 6; a4: number; a6: Uint8Array | null; plen: number } | null {
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
  return b && Number.isInteger(plen) ? { af: 4, a4: get32(b, 0), a6: null, plen } : null;
}
