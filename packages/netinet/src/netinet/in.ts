/**
 * IPv4 and IPv6 address helpers (netinet/in.h, netinet6/in6.h). IPv4 addresses
 * are unsigned 32-bit numbers in host order (a == 0x0a000001 for 10.0.0.1) so
 * they hash and compare without allocating; IPv6 addresses are 16-byte arrays,
 * compared in place with an offset.
 */
import { parseIPv4, parseIPv6, formatIPv4, formatIPv6 } from '@mcstack/wire/addr';
import { get32, set32 } from '@mcstack/wire/bytes';
import { fold } from '@mcstack/wire/checksum';

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

/** Netmask of a prefix length, host order. */
export function inMask(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}

export function IN_MULTICAST(a: number): boolean { return (a >>> 28) === 0xe; }
export function IN_LOOPBACK(a: number): boolean { return (a >>> 24) === 127; }
export function IN_ZERONET(a: number): boolean { return (a >>> 24) === 0; }
export function IN_EXPERIMENTAL(a: number): boolean { return (a >>> 28) === 0xf; }
export function IN_LINKLOCAL(a: number): boolean { return (a >>> 16) === 0xa9fe; }
/** 224.0.0.0/24: never forwarded, always joined for all-hosts. */
export function IN_LOCAL_GROUP(a: number): boolean { return (a >>> 8) === 0xe00000; }

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

export function IN6_IS_ADDR_MULTICAST(a: Uint8Array, o = 0): boolean { return a[o] === 0xff; }
export function IN6_IS_ADDR_LINKLOCAL(a: Uint8Array, o = 0): boolean {
  return a[o] === 0xfe && (a[o + 1]! & 0xc0) === 0x80;
}
/** Multicast scope nibble (RFC 4291 §2.7); 2 = link-local. */
export function IN6_MC_SCOPE(a: Uint8Array, o = 0): number { return a[o + 1]! & 0x0f; }
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
  out[0] = 0xff; out[1] = 0x02; out[11] = 0x01; out[12] = 0xff;
  out[13] = a[ao + 13]!; out[14] = a[ao + 14]!; out[15] = a[ao + 15]!;
  return out;
}

/** Do the first `plen` bits of a and b agree? */
export function in6PrefixMatch(a: Uint8Array, ao: number, b: Uint8Array, bo: number, plen: number): boolean {
  const whole = plen >>> 3;
  for (let i = 0; i < whole; i++) if (a[ao + i] !== b[bo + i]) return false;
  const rem = plen & 7;
  if (rem === 0) return true;
  const m = (0xff00 >>> rem) & 0xff;
  return ((a[ao + whole]! ^ b[bo + whole]!) & m) === 0;
}

/** Length of the common prefix in bits (RFC 6724 rule 8, longest matching prefix). */
export function in6MatchLen(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let i = 0; i < 16; i++) {
    const x = a[ao + i]! ^ b[bo + i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

/** Copy `a` with bits past `plen` cleared. */
export function in6Masked(a: Uint8Array, ao: number, plen: number, out = new Uint8Array(16)): Uint8Array {
  for (let i = 0; i < 16; i++) {
    const bits = plen - i * 8;
    out[i] = bits >= 8 ? a[ao + i]! : bits <= 0 ? 0 : a[ao + i]! & ((0xff00 >>> bits) & 0xff);
  }
  return out;
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

/** Ethernet multicast MAC for an IPv4 group (RFC 1112 §6.4): 01:00:5e + low 23 bits. */
export function etherMapIpMulticast(group: number, out: Uint8Array, off: number): void {
  out[off] = 0x01; out[off + 1] = 0x00; out[off + 2] = 0x5e;
  out[off + 3] = (group >>> 16) & 0x7f; out[off + 4] = (group >>> 8) & 0xff; out[off + 5] = group & 0xff;
}

/** Ethernet multicast MAC for an IPv6 group (RFC 2464 §7): 33:33 + low 32 bits. */
export function etherMapIp6Multicast(group: Uint8Array, go: number, out: Uint8Array, off: number): void {
  out[off] = 0x33; out[off + 1] = 0x33;
  out[off + 2] = group[go + 12]!; out[off + 3] = group[go + 13]!;
  out[off + 4] = group[go + 14]!; out[off + 5] = group[go + 15]!;
}
