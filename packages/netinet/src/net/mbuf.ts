/**
 * What travels with a frame in place of an mbuf packet header (sys/sys/mbuf.h):
 * checksum-offload flags in FreeBSD's CSUM_* terms (the values of FreeBSD 10 and
 * later), the RSS hash, the 802.1Q tag and the TSO segment size. One FrameMeta is
 * reused per call; it is valid only during the call that receives it.
 */

/* Transmit requests (csum_flags set by the stack, honoured by if_hwassist). */
export const CSUM_IP = 0x00000001; // IP header checksum offload
export const CSUM_IP_UDP = 0x00000002;
export const CSUM_IP_TCP = 0x00000004;
export const CSUM_IP_SCTP = 0x00000008;
export const CSUM_IP_TSO = 0x00000010;
export const CSUM_IP6_UDP = 0x00000200;
export const CSUM_IP6_TCP = 0x00000400;
export const CSUM_IP6_SCTP = 0x00000800;
export const CSUM_IP6_TSO = 0x00001000;
/* Receive results (set by the driver). */
export const CSUM_L3_CALC = 0x01000000;
export const CSUM_L3_VALID = 0x02000000;
export const CSUM_L4_CALC = 0x04000000;
export const CSUM_L4_VALID = 0x08000000;

/* The historical names, still FreeBSD's spelling in drivers and the stack. */
export const CSUM_TCP = CSUM_IP_TCP;
export const CSUM_UDP = CSUM_IP_UDP;
export const CSUM_TCP_IPV6 = CSUM_IP6_TCP;
export const CSUM_UDP_IPV6 = CSUM_IP6_UDP;
export const CSUM_TSO = CSUM_IP_TSO | CSUM_IP6_TSO;
export const CSUM_DELAY_DATA = CSUM_TCP | CSUM_UDP | CSUM_IP_SCTP;
export const CSUM_DELAY_DATA_IPV6 = CSUM_TCP_IPV6 | CSUM_UDP_IPV6 | CSUM_IP6_SCTP;
export const CSUM_IP_CHECKED = CSUM_L3_CALC;
export const CSUM_IP_VALID = CSUM_L3_VALID;
export const CSUM_DATA_VALID = CSUM_L4_VALID;
export const CSUM_PSEUDO_HDR = CSUM_L4_CALC;
export const CSUM_DATA_VALID_IPV6 = CSUM_DATA_VALID;

/** m_flags bits the input path sets (sys/sys/mbuf.h). */
export const M_BCAST = 0x00000010;
export const M_MCAST = 0x00000020;
export const M_VLANTAG = 0x00000080;

/** M_HASHTYPE_*: one definition, with the RSS package that computes them. */
export {
  M_HASHTYPE_NONE,
  M_HASHTYPE_RSS_IPV4,
  M_HASHTYPE_RSS_TCP_IPV4,
  M_HASHTYPE_RSS_IPV6,
  M_HASHTYPE_RSS_TCP_IPV6,
  M_HASHTYPE_RSS_IPV6_EX,
  M_HASHTYPE_RSS_TCP_IPV6_EX,
  M_HASHTYPE_RSS_UDP_IPV4,
  M_HASHTYPE_RSS_UDP_IPV6,
  M_HASHTYPE_OPAQUE,
} from '@mcstack/rss';

/** Per-frame metadata (the pkthdr fields a link and the stack exchange). */
export interface FrameMeta {
  /** CSUM_* flags: receive results on input, offload requests on output. */
  csumFlags: number;
  /**
   * Input: the L4 checksum a NIC computed (0xffff when CSUM_PSEUDO_HDR says it
   * verified the whole thing). Output: offset of the L4 checksum field from the
   * start of the L4 header (csum_data), when csumFlags asks the link to finish it.
   */
  csumData: number;
  /** RSS hash (flowid) and its M_HASHTYPE_*, 0 when none. */
  flowid: number;
  hashType: number;
  /** 802.1Q TCI when M_VLANTAG: stripped on input, to insert on output. */
  vlanTag: number;
  /** M_BCAST / M_MCAST / M_VLANTAG. */
  flags: number;
  /** TSO: segment size for CSUM_TSO frames (tso_segsz), else 0. */
  tsoSegsz: number;
  /** Input: the segments LRO merged into this one (lro_nsegs); 0 or absent: not merged. */
  lroNsegs?: number;
  /**
   * Input, with lroNsegs > 1: the payload of every merged segment but the last, which is
   * no longer (a GRO frame's gso_size), so tcp_input knows where the sender's segments end.
   */
  lroSegsz?: number;
  /** Output: L3 header offset in the frame and L3+L4 header lengths, for a link that offloads. */
  l2hlen: number;
  l3hlen: number;
}

export function newFrameMeta(): FrameMeta {
  return {
    csumFlags: 0,
    csumData: 0,
    flowid: 0,
    hashType: 0,
    vlanTag: 0,
    flags: 0,
    tsoSegsz: 0,
    lroNsegs: 0,
    lroSegsz: 0,
    l2hlen: 0,
    l3hlen: 0,
  };
}

/** dst's fields = src's (a link holding a frame keeps its metadata: the engine reuses src). */
export function copyFrameMeta(dst: FrameMeta, src: FrameMeta): FrameMeta {
  dst.csumFlags = src.csumFlags;
  dst.csumData = src.csumData;
  dst.flowid = src.flowid;
  dst.hashType = src.hashType;
  dst.vlanTag = src.vlanTag;
  dst.flags = src.flags;
  dst.tsoSegsz = src.tsoSegsz;
  dst.lroNsegs = src.lroNsegs ?? 0;
  dst.lroSegsz = src.lroSegsz ?? 0;
  dst.l2hlen = src.l2hlen;
  dst.l3hlen = src.l3hlen;
  return dst;
}

export function resetFrameMeta(m: FrameMeta): FrameMeta {
  m.csumFlags = 0;
  m.csumData = 0;
  m.flowid = 0;
  m.hashType = 0;
  m.vlanTag = 0;
  m.flags = 0;
  m.tsoSegsz = 0;
  m.lroNsegs = 0;
  m.lroSegsz = 0;
  m.l2hlen = 0;
  m.l3hlen = 0;
  return m;
}

/**
 * Headroom: max_linkhdr (an Ethernet header, aligned as FreeBSD's ALIGN(14)) and
 * MAX_HDR, the bytes a transport leaves in front of its header so that ip_output
 * and the link can prepend theirs in place (an IPv4 header with options or an
 * IPv6 header, then the link header) without copying.
 */
export const MAX_LINKHDR = 16;
export const MAX_IPHDR = 60;
export const MAX_HDR = 80;
