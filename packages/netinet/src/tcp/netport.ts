/**
 * What TCP needs from the network layer, in one narrow interface: source-address
 * and route selection (for the MSS), "is this address ours", and ip_output /
 * ip6_output of a segment written after MAX_HDR bytes of headroom with only the
 * pseudo-header checksum filled in (CSUM_TCP / CSUM_TCP_IPV6: the IP layer, or
 * the NIC through if_hwassist, finishes it). The engine implements it over NetStack.
 */
import type { PfilPcbLink } from '../net/pfil.js';
export interface TcpNet {
  /**
   * Route toward `faddr` (16-byte in_conninfo form; `v4` for IPv4): when `laddr`
   * is unspecified, the chosen source is written into `srcOut`. Returns the path
   * MTU, or -errno (EHOSTUNREACH / ENETUNREACH / EADDRNOTAVAIL). `fib`: the table to look in
   * (the connection's inc_fibnum).
   */
  route(v4: boolean, faddr: Uint8Array, laddr: Uint8Array, srcOut: Uint8Array, fib: number): number;
  /** Is this (16-byte form) one of our addresses, or unspecified? */
  isLocal(v4: boolean, addr: Uint8Array): boolean;
  /** in_localaddr / in6_localaddr: is `addr` on a network we are directly attached to? */
  onLink(v4: boolean, addr: Uint8Array, fib: number): boolean;
  /**
   * ip_output / ip6_output of a segment; `df` (default set) is IPv4's don't-fragment bit,
   * which TCP clears when path MTU discovery is off or gave up (RFC 1191 §3).
   */
  output(
    v4: boolean,
    buf: Uint8Array,
    off: number,
    len: number,
    src: Uint8Array,
    dst: Uint8Array,
    ttl: number,
    tos: number,
    flowid: number,
    /** The FIB to route in (the connection's inc_fibnum; M_SETFIB). */
    fib: number,
    /** Set DF (IPv4): path MTU discovery is on for this segment. */
    df?: boolean,
    /** The segment is inside a UDP header already written at `off` (tcp/tunnel.ts). */
    udp?: boolean,
    /**
     * TSO: the segment is longer than one MSS and the interface cuts it into pieces of
     * `tsoSegsz` data bytes (CSUM_IP_TSO / CSUM_IP6_TSO with tso_segsz); 0 for a plain one.
     */
    tsoSegsz?: number,
    /** The sending pcb, for the packet filter's state link (net/pfil.ts). */
    inp?: PfilPcbLink | null,
  ): number;
  /**
   * tcp_maxmtu's TSO half: the if_hw_tsomax of the interface toward `faddr` when it has
   * TSO4 (TSO6 for IPv6) enabled, else 0; the route is the one of `fib` (default 0).
   */
  hwTsoMax?(v4: boolean, faddr: Uint8Array, fib?: number): number;
  /** badport_bandlim (ip_icmp.c): true when an RST of this BANDLIM_* class must not be sent. */
  badportBandlim(which: number): boolean;
}
