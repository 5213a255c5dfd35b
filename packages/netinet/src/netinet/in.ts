/**
 * IPv4 and IPv6 address helpers (netinet/in.h, netinet6/in6.h) and IPv4's
 * interface addresses (netinet/in.c): adding and removing them with their routes,
 * whether an address is ours or a broadcast, and the source toward a destination.
 * IPv4 addresses are unsigned 32-bit numbers in host order (a == 0x0a000001 for
 * 10.0.0.1) so they hash and compare without allocating; IPv6 addresses are
 * 16-byte arrays, compared in place with an offset.
 */
import { parseIPv4, parseIPv6, formatIPv4, formatIPv6 } from '@mcstack/wire';
import { get32, set32 } from '@mcstack/wire';
import { fold } from '@mcstack/wire';
import type { Vnet } from '../net/vnet.js';
import type { InetVnet } from './in_var.js';
import type { Ifnet, InIfaddr } from '../net/if.js';
import {
  Rtentry,
  RTF_UP,
  RTF_GATEWAY,
  RTF_HOST,
  RTF_LOCAL,
  RTF_PINNED,
  rtIfaAdd,
  rtIfaDelete,
  rtLocalDelete,
  rtalloc4,
} from '../net/route.js';
import { inMask } from '../net/radix.js';
import { ERRNO } from '../kern/errno.js';

export { inMask, in6PrefixMatch, in6Masked } from '../net/radix.js';

/*
 * Protocol numbers (netinet/in.h): the table is wire's, which parses the headers
 * that carry them; IPPROTO_IP (0) names the IP level of socket options.
 */
export { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6, IPPROTO_ICMPV6 } from '@mcstack/wire';
export const IPPROTO_IP = 0;

/* Socket option names at IPPROTO_IP (netinet/in.h) and IPPROTO_IPV6 (netinet6/in6.h). */
export const IP_TOS = 3;
export const IP_TTL = 4;
export const IPV6_UNICAST_HOPS = 4;
export const IPV6_V6ONLY = 27;
export const IPV6_TCLASS = 61;

export const INADDR_ANY = 0;
export const INADDR_BROADCAST = 0xffffffff;
export const INADDR_LOOPBACK = 0x7f000001;
export const INADDR_ALLHOSTS_GROUP = 0xe0000001;

/** 10.0.0.1 -> 0x0a000001; null on bad text. */
export function inetAddr(text: string): number | null {
  const b = parseIPv4(text);
  return b ? get32(b, 0) : null;
}

/** Like inetAddr but for literals in code and tests: throws on bad text. */
export function inAddr(text: string): number {
  const a = inetAddr(text);
  if (a === null) throw new TypeError(`not an IPv4 address: '${text}'`);
  return a;
}

export function inetNtoa(a: number): string {
  const b = new Uint8Array(4);
  set32(b, 0, a);
  return formatIPv4(b);
}

/** 16 bytes from text; throws on bad text (for literals in code and tests). */
export function in6Addr(text: string): Uint8Array {
  const b = parseIPv6(text);
  if (!b) throw new TypeError(`not an IPv6 address: '${text}'`);
  return b;
}

export function ip6Sprintf(a: Uint8Array, off = 0): string {
  return formatIPv6(a, off);
}

export function IN_MULTICAST(a: number): boolean {
  return a >>> 28 === 0xe;
}
export function IN_LOOPBACK(a: number): boolean {
  return a >>> 24 === 127;
}
export function IN_ZERONET(a: number): boolean {
  return a >>> 24 === 0;
}
export function IN_EXPERIMENTAL(a: number): boolean {
  return a >>> 28 === 0xf;
}
export function IN_LINKLOCAL(a: number): boolean {
  return a >>> 16 === 0xa9fe;
}
/** 224.0.0.0/24: never forwarded, always joined for all-hosts. */
export function IN_LOCAL_GROUP(a: number): boolean {
  return a >>> 8 === 0xe00000;
}

/**
 * in_pseudo: the IPv4 pseudo-header sum (RFC 793 §3.1) folded to 16 bits and NOT
 * complemented, which is what a transport stores in its checksum field before
 * asking for a delayed (software or offloaded) checksum.
 */
export function inPseudo(src: number, dst: number, protoPlusLen: number): number {
  return fold((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protoPlusLen);
}

/* IPv6 */

export function in6AreEqual(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

export function IN6_IS_ADDR_UNSPECIFIED(a: Uint8Array, o = 0): boolean {
  for (let i = 0; i < 16; i++) if (a[o + i] !== 0) return false;
  return true;
}

export function IN6_IS_ADDR_LOOPBACK(a: Uint8Array, o = 0): boolean {
  for (let i = 0; i < 15; i++) if (a[o + i] !== 0) return false;
  return a[o + 15] === 1;
}

export function IN6_IS_ADDR_MULTICAST(a: Uint8Array, o = 0): boolean {
  return a[o] === 0xff;
}
export function IN6_IS_ADDR_LINKLOCAL(a: Uint8Array, o = 0): boolean {
  return a[o] === 0xfe && (a[o + 1]! & 0xc0) === 0x80;
}
/** Multicast scope nibble (RFC 4291 §2.7); 2 = link-local. */
export function IN6_MC_SCOPE(a: Uint8Array, o = 0): number {
  return a[o + 1]! & 0x0f;
}
export function IN6_IS_ADDR_MC_LINKLOCAL(a: Uint8Array, o = 0): boolean {
  return a[o] === 0xff && (a[o + 1]! & 0x0f) === 2;
}
export function IN6_IS_ADDR_V4MAPPED(a: Uint8Array, o = 0): boolean {
  for (let i = 0; i < 10; i++) if (a[o + i] !== 0) return false;
  return a[o + 10] === 0xff && a[o + 11] === 0xff;
}

/** ff02::1 (all nodes). */
export const IN6ADDR_LINKLOCAL_ALLNODES = in6Addr('ff02::1');
export const IN6ADDR_LOOPBACK = in6Addr('::1');
export const IN6ADDR_ANY = new Uint8Array(16);

/** RFC 4291 §2.7.1: the solicited-node group ff02::1:ffXX:XXXX of `a`, written into `out`. */
export function in6SolicitedNode(a: Uint8Array, ao: number, out = new Uint8Array(16)): Uint8Array {
  out.fill(0);
  out[0] = 0xff;
  out[1] = 0x02;
  out[11] = 0x01;
  out[12] = 0xff;
  out[13] = a[ao + 13]!;
  out[14] = a[ao + 14]!;
  out[15] = a[ao + 15]!;
  return out;
}

/** Length of the common prefix in bits (RFC 6724 rule 8, longest matching prefix). */
export function in6MatchLen(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let i = 0; i < 16; i++) {
    const x = a[ao + i]! ^ b[bo + i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

/**
 * in6_cksum_pseudo: the IPv6 pseudo-header sum (RFC 8200 §8.1) folded, not
 * complemented, for a transport that leaves the rest to a delayed checksum.
 */
export function in6Pseudo(src: Uint8Array, so: number, dst: Uint8Array, dO: number, nxt: number, len: number): number {
  let s = 0;
  for (let i = 0; i < 16; i += 2) {
    s += (src[so + i]! << 8) | src[so + i + 1]!;
    s += (dst[dO + i]! << 8) | dst[dO + i + 1]!;
  }
  return fold(s + (len >>> 16) + (len & 0xffff) + nxt);
}

/* Interface addresses (in.c) */

/** Add an IPv4 address: installs the connected route and a local host route via lo0. */
export function addAddr4(ns: InetVnet, ifp: Ifnet, addr: number, plen: number): number {
  if (plen < 0 || plen > 32) return -ERRNO.EINVAL;
  if (isLocal4(ns, addr)) return -ERRNO.EEXIST;
  const mask = inMask(plen);
  const broadcast = plen < 31 && ifp.type === 'ether' ? (addr | ~mask) >>> 0 : 0;
  const ia: InIfaddr = { ifp, addr, plen, mask, broadcast };
  ifp.addrs4.push(ia);
  // The connected prefix and the local host route in every FIB of the address (ifaFibs).
  rtIfaAdd(
    ns,
    ifp,
    new Rtentry(4, ifp.fib, (addr & mask) >>> 0, null, plen, 0, null, ifp, RTF_UP | RTF_PINNED, 0),
    new Rtentry(4, ifp.fib, addr, null, 32, 0, null, ns.lo0, RTF_UP | RTF_HOST | RTF_LOCAL | RTF_PINNED, 0),
  );
  if (ifp.up && ifp.type === 'ether') ns.arp.request(ifp, addr, addr, null);
  return 0;
}

export function delAddr4(ns: Vnet, ifp: Ifnet, addr: number): number {
  const i = ifp.addrs4.findIndex((x) => x.addr === addr);
  if (i < 0) return -ERRNO.EADDRNOTAVAIL;
  const ia = ifp.addrs4[i]!;
  ifp.addrs4.splice(i, 1);
  rtLocalDelete(ns, 4, addr, null);
  if (ia.plen < 32 && !ifp.addrs4.some((x) => x.plen === ia.plen && (x.addr & x.mask) >>> 0 === (addr & ia.mask) >>> 0))
    rtIfaDelete(ns, ifp, 4, (addr & ia.mask) >>> 0, null, ia.plen);
  return 0;
}

/** Is `a` (host order) an address of ours? */
export function isLocal4(ns: Vnet, a: number): boolean {
  const ifs = ns.ifnets;
  for (let i = 0; i < ifs.length; i++) {
    const l = ifs[i]!.addrs4;
    for (let j = 0; j < l.length; j++) if (l[j]!.addr === a) return true;
  }
  return false;
}

/** in_broadcast: is dst the limited or a directed broadcast address on ifp? */
export function isBroadcast4(ifp: Ifnet, dst: number): boolean {
  if (dst === INADDR_BROADCAST) return true;
  for (const ia of ifp.addrs4) if (ia.broadcast !== 0 && ia.broadcast === dst) return true;
  return false;
}

/** The address on ifp to use toward dst: one on dst's subnet, else the first (ifaof_ifpforaddr). */
export function ifaddr4For(ifp: Ifnet, dst: number): InIfaddr | null {
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
export function selectSource4(ns: Vnet, fib: number, dst: number): number {
  if (isLocal4(ns, dst)) return dst;
  const rt = rtalloc4(ns, fib, dst);
  if (rt === null) return -ERRNO.ENETUNREACH;
  const ia = ifaddr4For(rt.ifp, rt.flags & RTF_GATEWAY ? rt.gw4 : dst);
  return ia === null ? -ERRNO.EADDRNOTAVAIL : ia.addr;
}

export function joinGroup4(ifp: Ifnet, group: number): number {
  if (!IN_MULTICAST(group)) return -ERRNO.EINVAL;
  ifp.groups4.set(group, (ifp.groups4.get(group) ?? 0) + 1);
  return 0;
}

export function leaveGroup4(ifp: Ifnet, group: number): number {
  const n = ifp.groups4.get(group);
  if (n === undefined) return -ERRNO.EADDRNOTAVAIL;
  if (n <= 1) ifp.groups4.delete(group);
  else ifp.groups4.set(group, n - 1);
  return 0;
}
