/**
 * TCP segmentation in software: what a NIC with TSO does to the one long segment
 * tcp_output hands it with CSUM_TSO and tso_segsz (FreeBSD drivers, e.g. cxgbe's
 * LSO work request, and Linux's tcp_gso_segment do the same). Every link without
 * hardware TSO cuts with these two functions, so the pieces are the bytes tcp_output
 * would have sent with TSO off:
 * - each piece carries the headers of the long segment, IP total length and (IPv4)
 *   header checksum rewritten; the IPv4 id advances by one per piece unless it is
 *   zero on a DF datagram (RFC 6864 §4.1: an atomic datagram's id is not used);
 * - th_seq advances by tso_segsz per piece; CWR only on the first piece, FIN and PSH
 *   only on the last (RFC 3168 §6.1.2; tcp_output sets PSH on the segment that
 *   empties the send buffer);
 * - the TCP checksum is either finished (a NIC on a wire) or left as the pseudo-header
 *   sum with CSUM_TCP(_IPV6) for the next stage to finish, as tcp_output leaves it.
 * Allocation-free: the caller gives the destination buffer of each piece.
 */
import { ETHER_TYPE, ETHERTYPE_IP, ETHERTYPE_IPV6, IP_LEN, IP_ID, IP_OFF, IP_DF, IP_SUM, IP_P } from '@mcstack/wire';
import { IPPROTO_TCP, fold, pseudoHeaderSum4, pseudoHeaderSum6, set16 } from '@mcstack/wire';
import { finishChecksums } from '../net/hwcsum.js';

const TH_FIN = 0x01;
const TH_PUSH = 0x08;
const TH_CWR = 0x80;

/** What tcpTsoParse found: header layout of the long segment (reused, one per caller). */
export interface TsoFrame {
  /** Offset of the IP header (after the link header). */
  l3: number;
  /** IP header length (20 for IPv4 without options, 40 for IPv6). */
  l3hlen: number;
  /** Offset of the payload: link + IP + TCP headers with options. */
  hdr: number;
  /** TCP payload bytes in the long segment. */
  paylen: number;
  /** Data bytes per piece (tso_segsz). */
  segsz: number;
  /** Number of pieces. */
  count: number;
  v4: boolean;
}

export function newTsoFrame(): TsoFrame {
  return { l3: 0, l3hlen: 0, hdr: 0, paylen: 0, segsz: 0, count: 0, v4: true };
}

/**
 * Parse the TSO frame at frame[0, len) (an Ethernet frame when `l3` is 14, a bare IP
 * packet when 0) into `t`. Returns the number of pieces, or 0 when it is not a TCP
 * segment that can be cut (no TCP, IPv6 extension headers, IPv4 options, a bad length
 * or segsz): the caller counts that as an output error and drops it.
 */
export function tcpTsoParse(frame: Uint8Array, len: number, l3: number, segsz: number, t: TsoFrame): number {
  t.count = 0;
  if (segsz <= 0 || len < l3 + 40) return 0;
  if (l3 >= ETHER_TYPE + 2) {
    const et = (frame[ETHER_TYPE]! << 8) | frame[ETHER_TYPE + 1]!;
    if (et !== ETHERTYPE_IP && et !== ETHERTYPE_IPV6) return 0;
  }
  const v = frame[l3]! >>> 4;
  let l3hlen: number;
  let iplen: number;
  if (v === 4) {
    l3hlen = (frame[l3]! & 0x0f) << 2;
    // TSO never runs with IP options (tcp_output.c's KASSERT(ipoptlen == 0)).
    if (l3hlen !== 20 || frame[l3 + IP_P] !== IPPROTO_TCP) return 0;
    iplen = (frame[l3 + IP_LEN]! << 8) | frame[l3 + IP_LEN + 1]!;
  } else if (v === 6) {
    l3hlen = 40;
    if (frame[l3 + 6] !== IPPROTO_TCP) return 0;
    iplen = 40 + ((frame[l3 + 4]! << 8) | frame[l3 + 5]!);
  } else {
    return 0;
  }
  const th = l3 + l3hlen;
  if (l3 + iplen > len || iplen < l3hlen + 20) return 0;
  const thl = (frame[th + 12]! >>> 4) << 2;
  if (thl < 20 || l3hlen + thl > iplen) return 0;
  t.l3 = l3;
  t.l3hlen = l3hlen;
  t.hdr = th + thl;
  t.paylen = iplen - l3hlen - thl;
  t.segsz = segsz;
  t.v4 = v === 4;
  t.count = t.paylen === 0 ? 0 : Math.ceil(t.paylen / segsz);
  return t.count;
}

/**
 * Write piece `i` (0 ≤ i < t.count) of the parsed TSO frame into dst[0...]; returns the
 * piece's length. `finish`: write the IPv4 header and TCP checksums as a NIC does;
 * otherwise the TCP checksum field holds the pseudo-header sum (a delayed checksum).
 */
export function tcpTsoSegment(frame: Uint8Array, t: TsoFrame, i: number, dst: Uint8Array, finish: boolean): number {
  const hdr = t.hdr;
  const l3 = t.l3;
  const th = l3 + t.l3hlen;
  const from = i * t.segsz;
  const plen = Math.min(t.segsz, t.paylen - from);
  const last = i === t.count - 1;
  dst.set(frame.subarray(0, hdr), 0);
  dst.set(frame.subarray(hdr + from, hdr + from + plen), hdr);
  const tlen = hdr - th + plen;
  if (t.v4) {
    set16(dst, l3 + IP_LEN, t.l3hlen + tlen);
    const id = (frame[l3 + IP_ID]! << 8) | frame[l3 + IP_ID + 1]!;
    const df = (frame[l3 + IP_OFF]! & (IP_DF >>> 8)) !== 0;
    if (id !== 0 || !df) set16(dst, l3 + IP_ID, (id + i) & 0xffff);
    set16(dst, l3 + IP_SUM, 0);
  } else {
    set16(dst, l3 + 4, tlen);
  }
  const seq = ((frame[th + 4]! << 24) | (frame[th + 5]! << 16) | (frame[th + 6]! << 8) | frame[th + 7]!) >>> 0;
  const s = (seq + from) >>> 0;
  dst[th + 4] = s >>> 24;
  dst[th + 5] = s >>> 16;
  dst[th + 6] = s >>> 8;
  dst[th + 7] = s;
  let flags = frame[th + 13]!;
  if (i !== 0) flags &= ~TH_CWR;
  if (!last) flags &= ~(TH_FIN | TH_PUSH);
  dst[th + 13] = flags;
  const end = hdr + plen;
  if (finish) {
    finishChecksums(dst, l3, t.v4, true);
  } else {
    const ps = t.v4
      ? pseudoHeaderSum4(dst, l3 + 12, l3 + 16, IPPROTO_TCP, tlen)
      : pseudoHeaderSum6(dst, l3 + 8, l3 + 24, IPPROTO_TCP, tlen);
    set16(dst, th + 16, fold(ps));
    // The IPv4 header checksum as the long segment had it: left to the card (CSUM_IP,
    // zero), or written by ip_output, then again for this piece's length and id.
    const sum = (frame[l3 + IP_SUM]! << 8) | frame[l3 + IP_SUM + 1]!;
    if (t.v4 && sum !== 0) finishChecksums(dst, l3, true, false);
  }
  return end;
}
