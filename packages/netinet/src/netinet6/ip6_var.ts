/**
 * IPv6 statistics and output arguments (netinet6/ip6_var.h, raw_ip6.h). Counter
 * names are FreeBSD's `struct ip6stat` and `struct rip6stat` fields.
 */
import type { L3OutArgs } from '../netinet/ip_var.js';

export class Ip6Stat {
  ip6s_total = 0; // total packets received
  ip6s_tooshort = 0; // packet too short (buffer shorter than the payload length says)
  ip6s_toosmall = 0; // not enough data for a header
  ip6s_fragments = 0; // fragments received
  ip6s_fragdropped = 0; // frags dropped (dups, overlaps, bad lengths)
  ip6s_fragtimeout = 0; // fragments timed out
  ip6s_fragoverflow = 0; // fragments over the reassembly limits
  ip6s_forward = 0;
  ip6s_cantforward = 0; // packets for others (we do not forward)
  ip6s_redirectsent = 0;
  ip6s_delivered = 0; // datagrams delivered to upper level
  ip6s_localout = 0; // total ip packets generated here
  ip6s_odropped = 0; // lost packets (interface down, queue full)
  ip6s_reassembled = 0; // total packets reassembled ok
  ip6s_atomicfrags = 0; // atomic fragments received (RFC 6946)
  ip6s_fragmented = 0; // datagrams successfully fragmented
  ip6s_ofragments = 0; // output fragments created
  ip6s_cantfrag = 0; // don't fragment (IPV6_DONTFRAG, TSO) and too big
  ip6s_badoptions = 0; // error in option processing
  ip6s_noroute = 0; // packets discarded due to no route
  ip6s_badvers = 0; // ip6 version != 6
  ip6s_rawout = 0;
  ip6s_badscope = 0; // scope error (bad source/destination address)
  ip6s_notmember = 0; // multicast for a group we have not joined
  ip6s_nxthist = new Array<number>(256).fill(0); // next header histogram
  ip6s_exthdrtoolong = 0;
  ip6s_toomanyhdr = 0; // too many extension headers
}

/** struct rip6stat: datagrams for a next header no protocol claims. */
export class Rip6Stat {
  rip6s_ipackets = 0;
  rip6s_nosock = 0;
  rip6s_nosockmcast = 0;
}

/** ip6_output's arguments. A transport keeps one and fills it per packet. */
export interface Ip6OutArgs extends L3OutArgs {
  /** Source and destination: 16 bytes at src[srcOff] and dst[dstOff] (unspecified source: chosen). */
  src: Uint8Array;
  srcOff: number;
  dst: Uint8Array;
  dstOff: number;
  /** Next header (the transport's protocol number). */
  nxt: number;
  hlim: number;
  /** Traffic class (DSCP << 2 | ECN). */
  tclass: number;
  flowlabel: number;
  /** IPV6_DONTFRAG: a datagram over the path MTU is EMSGSIZE instead of fragmented (TCP sets it). */
  dontfrag: boolean;
}

export function newIp6OutArgs(): Ip6OutArgs {
  return {
    src: new Uint8Array(16),
    srcOff: 0,
    dst: new Uint8Array(16),
    dstOff: 0,
    nxt: 0,
    hlim: 64,
    tclass: 0,
    flowlabel: 0,
    dontfrag: false,
    csumFlags: 0,
    csumOffset: 0,
    tsoSegsz: 0,
    fib: 0,
    flowid: 0,
    hashType: 0,
    ifp: null,
  };
}

/** The minimum IPv6 MTU (RFC 8200 §5). */
export const IPV6_MMTU = 1280;
export const IPV6_MAXPACKET = 65535;
