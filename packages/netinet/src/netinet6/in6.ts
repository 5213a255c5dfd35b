/**
 * IPv6's interface addresses (netinet6/in6.c, in6_src.c, in6_mcast.c): adding and
 * removing them with their routes and the memberships ND needs, whether an
 * address is ours, source selection, and group membership.
 */
import type { Vnet } from '../net/vnet.js';
import type { Ifnet, In6Ifaddr } from '../net/if.js';
import {
  Rtentry,
  RTF_UP,
  RTF_HOST,
  RTF_LOCAL,
  RTF_PINNED,
  RT_DEFAULT_FIB,
  rtFib,
  rtIfaAdd,
  rtIfaDelete,
  rtLocalDelete,
  rtMask6,
  rtalloc6,
} from '../net/route.js';
import { ERRNO } from '../kern/errno.js';
import {
  in6AreEqual,
  IN6_IS_ADDR_LINKLOCAL,
  IN6_IS_ADDR_MULTICAST,
  IN6_IS_ADDR_MC_LINKLOCAL,
  in6MatchLen,
  in6PrefixMatch,
  in6SolicitedNode,
  IN6ADDR_LINKLOCAL_ALLNODES,
  ip6Sprintf,
} from '../netinet/in.js';

/**
 * Add an IPv6 address: connected route, local host route via lo0, and the
 * memberships ND needs (all-nodes, solicited-node). The address is usable at
 * once: duplicate address detection is not performed.
 */
export function addAddr6(ns: Vnet, ifp: Ifnet, addr: Uint8Array, plen: number): number {
  if (plen < 0 || plen > 128 || addr.length < 16) return -ERRNO.EINVAL;
  if (isLocal6(ns, addr, 0) && !IN6_IS_ADDR_LINKLOCAL(addr)) return -ERRNO.EEXIST;
  if (ifp.addrs6.some((x) => in6AreEqual(x.addr, 0, addr, 0))) return -ERRNO.EEXIST;
  const a = addr.slice(0, 16);
  ifp.addrs6.push({ ifp, addr: a, plen });
  // The connected prefix goes into every FIB of the address (ifaFibs); the address itself
  // only into the default FIB, as the multiple-FIB change notes have it for IPv6.
  rtIfaAdd(ns, ifp, new Rtentry(6, ifp.fib, 0, rtMask6(a, plen), plen, 0, null, ifp, RTF_UP | RTF_PINNED, 0), null);
  rtFib(ns, RT_DEFAULT_FIB).add(
    new Rtentry(6, RT_DEFAULT_FIB, 0, a, 128, 0, null, ns.lo0, RTF_UP | RTF_HOST | RTF_LOCAL | RTF_PINNED, 0),
  );
  joinGroup6(ifp, IN6ADDR_LINKLOCAL_ALLNODES);
  joinGroup6(ifp, in6SolicitedNode(a, 0));
  return 0;
}

export function delAddr6(ns: Vnet, ifp: Ifnet, addr: Uint8Array): number {
  const i = ifp.addrs6.findIndex((x) => in6AreEqual(x.addr, 0, addr, 0));
  if (i < 0) return -ERRNO.EADDRNOTAVAIL;
  const ia = ifp.addrs6[i]!;
  ifp.addrs6.splice(i, 1);
  rtLocalDelete(ns, 6, 0, ia.addr);
  if (ia.plen < 128 && !ifp.addrs6.some((x) => x.plen === ia.plen && in6PrefixMatch(x.addr, 0, ia.addr, 0, ia.plen)))
    rtIfaDelete(ns, ifp, 6, 0, ia.addr, ia.plen);
  leaveGroup6(ifp, in6SolicitedNode(ia.addr, 0));
  return 0;
}

/** Is a[off..off+16) an address of ours? */
export function isLocal6(ns: Vnet, a: Uint8Array, off: number): boolean {
  return ifaddr6Of(ns, a, off) !== null;
}

/** The in6_ifaddr holding exactly this address, or null. */
export function ifaddr6Of(ns: Vnet, a: Uint8Array, off: number): In6Ifaddr | null {
  const ifs = ns.ifnets;
  for (let i = 0; i < ifs.length; i++) {
    const l = ifs[i]!.addrs6;
    for (let j = 0; j < l.length; j++) if (in6AreEqual(l[j]!.addr, 0, a, off)) return l[j]!;
  }
  return null;
}

/**
 * in6_selectsrc (RFC 6724 §5, the rules that apply to a host): write the source
 * for dst into out[outOff..+16). Candidates are the outgoing interface's
 * addresses; prefer the same scope as dst (rule 2), then the longest matching
 * prefix (rule 8). Our own address as dst is its own source. 0 or -errno.
 */
export function selectSource6(
  ns: Vnet,
  fib: number,
  dst: Uint8Array,
  dstOff: number,
  out: Uint8Array,
  outOff: number,
  ifp: Ifnet | null = null,
): number {
  if (isLocal6(ns, dst, dstOff)) {
    out.set(dst.subarray(dstOff, dstOff + 16), outOff);
    return 0;
  }
  let oif = ifp;
  if (oif === null) {
    const rt = rtalloc6(ns, fib, dst, dstOff);
    if (rt === null) return -ERRNO.ENETUNREACH;
    oif = rt.ifp;
  }
  const wantLL = IN6_IS_ADDR_LINKLOCAL(dst, dstOff) || IN6_IS_ADDR_MC_LINKLOCAL(dst, dstOff);
  let best: In6Ifaddr | null = null;
  let bestScore = -1;
  for (const ia of oif.addrs6) {
    const ll = IN6_IS_ADDR_LINKLOCAL(ia.addr);
    const score = (ll === wantLL ? 256 : 0) + in6MatchLen(ia.addr, 0, dst, dstOff);
    if (score > bestScore) {
      best = ia;
      bestScore = score;
    }
  }
  if (best === null) return -ERRNO.EADDRNOTAVAIL;
  out.set(best.addr, outOff);
  return 0;
}

export function joinGroup6(ifp: Ifnet, group: Uint8Array): number {
  if (!IN6_IS_ADDR_MULTICAST(group)) return -ERRNO.EINVAL;
  const k = ip6Sprintf(group);
  const g = ifp.groups6.get(k);
  if (g) g.refs++;
  else ifp.groups6.set(k, { addr: group.slice(0, 16), refs: 1 });
  return 0;
}

export function leaveGroup6(ifp: Ifnet, group: Uint8Array): number {
  const k = ip6Sprintf(group);
  const g = ifp.groups6.get(k);
  if (!g) return -ERRNO.EADDRNOTAVAIL;
  if (--g.refs <= 0) ifp.groups6.delete(k);
  return 0;
}

/** Has ifp joined the group at a[off..off+16)? */
export function inGroup6(ifp: Ifnet, a: Uint8Array, off: number): boolean {
  for (const g of ifp.groups6.values()) if (in6AreEqual(g.addr, 0, a, off)) return true;
  return false;
}
