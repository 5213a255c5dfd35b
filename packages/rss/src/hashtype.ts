/**
 * FreeBSD's RSS hash types (sys/sys/mbuf.h M_HASHTYPE_*, the values an mbuf carries in
 * m_pkthdr.rsstype) and the configuration bits of sys/net/rss_config.h (RSS_HASHTYPE_*)
 * that say which of them the stack computes, with rss_gethashconfig()'s default policy:
 * 4-tuple for TCP over IPv4 and IPv6, 2-tuple for everything else (UDP 4-tuple stays off
 * because fragmented UDP would hash differently from its first fragment).
 */
import { IPPROTO_TCP, IPPROTO_UDP } from '@mcstack/wire';

/** Set on every hash type with cryptographic properties (all the Toeplitz ones). */
export const M_HASHTYPE_HASHPROP = 0x80;

export const M_HASHTYPE_NONE = 0;
export const M_HASHTYPE_RSS_IPV4 = M_HASHTYPE_HASHPROP | 1; // IPv4 2-tuple
export const M_HASHTYPE_RSS_TCP_IPV4 = M_HASHTYPE_HASHPROP | 2; // TCPv4 4-tuple
export const M_HASHTYPE_RSS_IPV6 = M_HASHTYPE_HASHPROP | 3; // IPv6 2-tuple
export const M_HASHTYPE_RSS_TCP_IPV6 = M_HASHTYPE_HASHPROP | 4; // TCPv6 4-tuple
export const M_HASHTYPE_RSS_IPV6_EX = M_HASHTYPE_HASHPROP | 5; // IPv6 2-tuple + ext hdrs
export const M_HASHTYPE_RSS_TCP_IPV6_EX = M_HASHTYPE_HASHPROP | 6; // TCPv6 4-tuple + ext hdrs
export const M_HASHTYPE_RSS_UDP_IPV4 = M_HASHTYPE_HASHPROP | 7; // IPv4 UDP 4-tuple
export const M_HASHTYPE_RSS_UDP_IPV6 = M_HASHTYPE_HASHPROP | 9; // IPv6 UDP 4-tuple
export const M_HASHTYPE_RSS_UDP_IPV6_EX = M_HASHTYPE_HASHPROP | 10; // IPv6 UDP 4-tuple + ext hdrs
/** Ordering, not affinity (a non-Toeplitz flow id). */
export const M_HASHTYPE_OPAQUE = 0x3f;
export const M_HASHTYPE_OPAQUE_HASH = M_HASHTYPE_HASHPROP | M_HASHTYPE_OPAQUE;

export const RSS_HASHTYPE_RSS_IPV4 = 1 << 1;
export const RSS_HASHTYPE_RSS_TCP_IPV4 = 1 << 2;
export const RSS_HASHTYPE_RSS_IPV6 = 1 << 3;
export const RSS_HASHTYPE_RSS_TCP_IPV6 = 1 << 4;
export const RSS_HASHTYPE_RSS_IPV6_EX = 1 << 5;
export const RSS_HASHTYPE_RSS_TCP_IPV6_EX = 1 << 6;
export const RSS_HASHTYPE_RSS_UDP_IPV4 = 1 << 7;
export const RSS_HASHTYPE_RSS_UDP_IPV6 = 1 << 9;
export const RSS_HASHTYPE_RSS_UDP_IPV6_EX = 1 << 10;

/** rss_gethashconfig(): the hash types the stack computes by default. */
export const RSS_HASHCONFIG_DEFAULT =
  RSS_HASHTYPE_RSS_IPV4 |
  RSS_HASHTYPE_RSS_TCP_IPV4 |
  RSS_HASHTYPE_RSS_IPV6 |
  RSS_HASHTYPE_RSS_TCP_IPV6 |
  RSS_HASHTYPE_RSS_IPV6_EX |
  RSS_HASHTYPE_RSS_TCP_IPV6_EX;

export function rssGetHashConfig(): number {
  return RSS_HASHCONFIG_DEFAULT;
}

/**
 * The hash type to compute for a packet of this IP version and upper protocol under a
 * hash configuration, in the order of rss_proto_software_hash_v4/v6(): the 4-tuple for
 * TCP (or UDP) when configured, else the 2-tuple, else M_HASHTYPE_NONE.
 */
export function rssHashType(ipVersion: 4 | 6, protocol: number, config = RSS_HASHCONFIG_DEFAULT): number {
  if (ipVersion === 4) {
    if (protocol === IPPROTO_TCP && (config & RSS_HASHTYPE_RSS_TCP_IPV4) !== 0) return M_HASHTYPE_RSS_TCP_IPV4;
    if (protocol === IPPROTO_UDP && (config & RSS_HASHTYPE_RSS_UDP_IPV4) !== 0) return M_HASHTYPE_RSS_UDP_IPV4;
    if ((config & RSS_HASHTYPE_RSS_IPV4) !== 0) return M_HASHTYPE_RSS_IPV4;
    return M_HASHTYPE_NONE;
  }
  if (protocol === IPPROTO_TCP && (config & RSS_HASHTYPE_RSS_TCP_IPV6) !== 0) return M_HASHTYPE_RSS_TCP_IPV6;
  if (protocol === IPPROTO_UDP && (config & RSS_HASHTYPE_RSS_UDP_IPV6) !== 0) return M_HASHTYPE_RSS_UDP_IPV6;
  if ((config & RSS_HASHTYPE_RSS_IPV6) !== 0) return M_HASHTYPE_RSS_IPV6;
  return M_HASHTYPE_NONE;
}

/** True when the hash type covers the ports as well as the addresses. */
export function hashTypeHasPorts(hashType: number): boolean {
  switch (hashType) {
    case M_HASHTYPE_RSS_TCP_IPV4:
    case M_HASHTYPE_RSS_TCP_IPV6:
    case M_HASHTYPE_RSS_TCP_IPV6_EX:
    case M_HASHTYPE_RSS_UDP_IPV4:
    case M_HASHTYPE_RSS_UDP_IPV6:
    case M_HASHTYPE_RSS_UDP_IPV6_EX:
      return true;
    default:
      return false;
  }
}

const NAMES: ReadonlyMap<number, string> = new Map([
  [M_HASHTYPE_NONE, 'NONE'],
  [M_HASHTYPE_RSS_IPV4, 'RSS_IPV4'],
  [M_HASHTYPE_RSS_TCP_IPV4, 'RSS_TCP_IPV4'],
  [M_HASHTYPE_RSS_IPV6, 'RSS_IPV6'],
  [M_HASHTYPE_RSS_TCP_IPV6, 'RSS_TCP_IPV6'],
  [M_HASHTYPE_RSS_IPV6_EX, 'RSS_IPV6_EX'],
  [M_HASHTYPE_RSS_TCP_IPV6_EX, 'RSS_TCP_IPV6_EX'],
  [M_HASHTYPE_RSS_UDP_IPV4, 'RSS_UDP_IPV4'],
  [M_HASHTYPE_RSS_UDP_IPV6, 'RSS_UDP_IPV6'],
  [M_HASHTYPE_RSS_UDP_IPV6_EX, 'RSS_UDP_IPV6_EX'],
  [M_HASHTYPE_OPAQUE, 'OPAQUE'],
  [M_HASHTYPE_OPAQUE_HASH, 'OPAQUE_HASH'],
]);

/** The M_HASHTYPE_ name without its prefix ('RSS_TCP_IPV4'), or 'UNKNOWN(n)'. */
export function hashTypeName(hashType: number): string {
  return NAMES.get(hashType) ?? `UNKNOWN(${hashType})`;
}
