/**
 * IPv4 statistics and the per-packet descriptors shared by ip_input, ip_output and
 * the transports (netinet/ip_var.h). Counter names are FreeBSD's `struct ipstat`
 * fields, as `netstat -s -p ip` prints them.
 */
import type { Ifnet } from '../net/if.js';
import type { PfilPcbLink } from '../net/pfil.js';

export class IpStat {
  ips_total = 0; // total packets received
  ips_badsum = 0; // checksum bad
  ips_tooshort = 0; // packet too short (buffer shorter than ip_len)
  ips_toosmall = 0; // not enough data for an IP header
  ips_badhlen = 0; // ip header length < data size
  ips_badlen = 0; // ip length < ip header length
  ips_fragments = 0; // fragments received
  ips_fragdropped = 0; // frags dropped (dups, out of space, limits)
  ips_fragtimeout = 0; // fragments timed out
  ips_forward = 0; // packets forwarded
  ips_fastforward = 0;
  ips_cantforward = 0; // packets rcvd for unreachable dest (we do not forward)
  ips_redirectsent = 0;
  ips_noproto = 0; // unknown or unsupported protocol
  ips_delivered = 0; // datagrams delivered to upper level
  ips_localout = 0; // total ip packets generated here
  ips_odropped = 0; // lost packets due to nobufs, etc.
  ips_reassembled = 0; // total packets reassembled ok
  ips_fragmented = 0; // datagrams successfully fragmented
  ips_ofragments = 0; // output fragments created
  ips_cantfrag = 0; // don't fragment flag was set, etc.
  ips_badoptions = 0; // error in option processing
  ips_noroute = 0; // packets discarded due to no route
  ips_badvers = 0; // ip version != 4
  ips_rawout = 0; // total raw ip packets generated
  ips_toolong = 0; // ip length > max ip packet size
  ips_notmember = 0; // multicasts for unregistered grps
  ips_nogif = 0;
  ips_badaddr = 0; // invalid address on header (martians)
}

/**
 * What ip_input hands a transport with the packet (the mbuf pkthdr and IP header
 * fields it needs). One object is reused for every packet: copy what you keep.
 */
export interface PktInfo {
  af: 4 | 6;
  /** Receiving interface (rcvif). */
  ifp: Ifnet;
  /** Offset of the IP header in the buffer (for ICMP errors quoting it). */
  ipOff: number;
  /** IPv4 addresses, host order (0 for IPv6). */
  src4: number;
  dst4: number;
  /** Offsets of the source/destination address bytes in the buffer (4 or 16 bytes). */
  srcOff: number;
  dstOff: number;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl: number;
  /** IPv4 TOS / IPv6 traffic class (DSCP << 2 | ECN). */
  tos: number;
  /** M_BCAST / M_MCAST. */
  mflags: number;
  /**
   * CSUM_* receive flags: CSUM_DATA_VALID|CSUM_PSEUDO_HDR with csumData 0xffff means
   * the L4 checksum was verified by the interface and need not be checked again.
   */
  csumFlags: number;
  csumData: number;
  flowid: number;
  hashType: number;
  /** Segments LRO merged into this datagram (lro_nsegs), else 0. */
  lroNsegs: number;
  /** The payload of each merged segment but the last (FrameMeta lroSegsz), else 0. */
  lroSegsz: number;
  /** True when this datagram was reassembled from fragments. */
  reassembled: boolean;
  /** The pf tag's state key: the filter state this datagram matched (net/pfil.ts), else null. */
  pf_statekey: unknown;
}

export function newPktInfo(ifp: Ifnet): PktInfo {
  return {
    af: 4,
    ifp,
    ipOff: 0,
    src4: 0,
    dst4: 0,
    srcOff: 0,
    dstOff: 0,
    ttl: 0,
    tos: 0,
    mflags: 0,
    csumFlags: 0,
    csumData: 0,
    lroNsegs: 0,
    lroSegsz: 0,
    flowid: 0,
    hashType: 0,
    reassembled: false,
    pf_statekey: null,
  };
}

/** What ip_output and ip6_output both take: offload requests, flow and routing. */
export interface L3OutArgs {
  /**
   * CSUM_TCP / CSUM_UDP (_IPV6) when the transport stored only the pseudo-header sum
   * (inPseudo) in its checksum field and left the rest to ip_output or the NIC;
   * CSUM_TSO (with tsoSegsz) for a TSO super-segment. 0 when the checksum is complete.
   */
  csumFlags: number;
  /** Offset of the checksum field from the start of the L4 header (16 TCP, 6 UDP). */
  csumOffset: number;
  /** TSO segment size (MSS) when csumFlags has CSUM_TSO. */
  tsoSegsz: number;
  fib: number;
  /** RSS hash of the flow, carried to the link (0 = none). */
  flowid: number;
  hashType: number;
  /** Send on this interface regardless of the route (multicast, scope id); null = route. */
  ifp: Ifnet | null;
  /** The pcb sending, for the filter's cached state link (net/pfil.ts); null = none. */
  inp?: PfilPcbLink | null;
}

/**
 * ip_output's arguments (the parts of inpcb, route and flags it reads). A transport
 * keeps one and fills it per packet. Addresses are host-order u32.
 */
export interface IpOutArgs extends L3OutArgs {
  src: number;
  dst: number;
  proto: number;
  ttl: number;
  tos: number;
  /** Set IP_DF (path MTU discovery); a datagram over the MTU is EMSGSIZE instead of fragmented. */
  df: boolean;
  /** IP_ONESBCAST / SO_BROADCAST: allow a broadcast destination. */
  broadcast: boolean;
}

export function newIpOutArgs(): IpOutArgs {
  return {
    src: 0,
    dst: 0,
    proto: 0,
    ttl: 64,
    tos: 0,
    df: false,
    csumFlags: 0,
    csumOffset: 0,
    tsoSegsz: 0,
    fib: 0,
    flowid: 0,
    hashType: 0,
    ifp: null,
    broadcast: false,
  };
}

/** Largest IP datagram (IP_MAXPACKET). */
export const IP_MAXPACKET = 65535;
