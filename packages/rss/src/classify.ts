/**
 * Frame classification, as a NIC's RSS engine does it: find the IP header (Ethernet with
 * any number of 802.1Q / 802.1ad tags, QinQ included, or a raw-IP capture), pick the
 * FreeBSD hash type for (IP version, protocol) under the hash configuration, and
 * Toeplitz-hash the addresses and, for 4-tuple types, the ports.
 *
 * - IPv4: any fragment hashes on the 2-tuple (RFC 791 §3.2: only the first carries the
 *   ports), so every fragment of a datagram lands on the same bucket.
 * - IPv6: the extension headers are walked to the upper layer (RFC 8200 §4), as Microsoft's
 *   RSS asks of TCP_IPV6; a fragment or a malformed chain leaves the 2-tuple.
 * - A 4-tuple type whose ports are cut off by the frame's length falls back to the 2-tuple.
 * - Not IP (ARP, LLDP...): no hash type, as a NIC gives such frames none.
 *
 * One classifier serves the links (every received frame) and `mcstack rss` (captures):
 * it keeps its results in its own fields and allocates nothing per frame.
 */
import {
  ETHER_HDR_LEN,
  ETHER_TYPE,
  ETHER_VLAN_ENCAP_LEN,
  ETHERTYPE_IP,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  ETHERTYPE_QINQ,
  IP_HDR_LEN,
  IP_OFF,
  IP_OFFMASK,
  IP_MF,
  IP_P,
  IP_SRC,
  IP6_HDR_LEN,
  IP6_NXT,
  IP6_SRC,
  Ipv6ExtWalker,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  isRawIpLinkType,
  get16,
} from '@mcstack/wire';
import { toeplitzForKey, type Toeplitz } from './toeplitz.js';
import { rssHashType, hashTypeHasPorts, RSS_HASHCONFIG_DEFAULT, M_HASHTYPE_NONE } from './hashtype.js';

/** classify(): an IPv4 or IPv6 packet (hashed unless the hash configuration has no type for it). */
export const FRAME_IP = 0;
/** classify(): no IP in the frame (ARP, LLDP...). */
export const FRAME_NOT_IP = 1;
/** classify(): the link or IP header is malformed or cut short. */
export const FRAME_MALFORMED = 2;

export interface ClassifierOptions {
  /** The Toeplitz key (default FreeBSD's rss_key[], the Microsoft key). */
  key?: Uint8Array;
  /** RSS_HASHTYPE_* bits the NIC computes (default rss_gethashconfig()'s). */
  hashConfig?: number;
}

/** Whether classify() reads frames of this pcap link type (Ethernet, or raw IP). */
export function classifiesLinkType(linkType: number): boolean {
  return (
    linkType === LINKTYPE_ETHERNET ||
    isRawIpLinkType(linkType) ||
    linkType === LINKTYPE_IPV4 ||
    linkType === LINKTYPE_IPV6
  );
}

export class FrameClassifier {
  readonly toeplitz: Toeplitz;
  readonly hashConfig: number;
  /** Results of the last frame: the hash (0 when none) and its M_HASHTYPE_* (NONE when none). */
  hash = 0;
  hashType = M_HASHTYPE_NONE;
  /** Its IP version (0 when not IP or malformed). */
  version = 0;
  /** Offset of its source address (the hash input starts there; -1 when not IP). */
  addrOff = -1;
  /** Offset of its ports when the hash covers them, else -1. */
  portsOff = -1;
  private readonly walker = new Ipv6ExtWalker();

  constructor(opts: ClassifierOptions = {}) {
    this.toeplitz = toeplitzForKey(opts.key);
    this.hashConfig = opts.hashConfig ?? RSS_HASHCONFIG_DEFAULT;
  }

  /**
   * Classify and hash `len` bytes of frame at `buf[off]` of pcap link type `linkType`
   * (Ethernet, or raw IP: see classifiesLinkType). Returns FRAME_*; the results are in
   * the fields.
   */
  classify(buf: Uint8Array, off: number, len: number, linkType = LINKTYPE_ETHERNET): number {
    this.hash = 0;
    this.hashType = M_HASHTYPE_NONE;
    this.version = 0;
    this.addrOff = -1;
    this.portsOff = -1;
    const end = off + len;
    let o = off;
    let version: number;
    if (linkType === LINKTYPE_ETHERNET) {
      if (len < ETHER_HDR_LEN) return FRAME_MALFORMED;
      let type = get16(buf, o + ETHER_TYPE);
      o += ETHER_HDR_LEN;
      // Each tag's last two bytes are the type of what follows it.
      while ((type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) && o + ETHER_VLAN_ENCAP_LEN <= end) {
        type = get16(buf, o + 2);
        o += ETHER_VLAN_ENCAP_LEN;
      }
      if (type === ETHERTYPE_IP) version = 4;
      else if (type === ETHERTYPE_IPV6) version = 6;
      else return FRAME_NOT_IP;
    } else {
      if (o >= end) return FRAME_MALFORMED;
      version = buf[o]! >>> 4;
      if (
        (version !== 4 && version !== 6) ||
        (linkType === LINKTYPE_IPV4 && version !== 4) ||
        (linkType === LINKTYPE_IPV6 && version !== 6)
      )
        return FRAME_NOT_IP;
    }
    return version === 4 ? this.ipv4(buf, o, end) : this.ipv6(buf, o, end);
  }

  /** Hash an Ethernet frame; returns the hash (0 when none: a NIC's default queue, bucket 0). */
  hashFrame(buf: Uint8Array, off: number, len: number): number {
    this.classify(buf, off, len, LINKTYPE_ETHERNET);
    return this.hash;
  }

  private ipv4(buf: Uint8Array, o: number, end: number): number {
    if (o + IP_HDR_LEN > end || buf[o]! >>> 4 !== 4) return FRAME_MALFORMED;
    const hl = (buf[o]! & 0x0f) << 2;
    if (hl < IP_HDR_LEN || o + hl > end) return FRAME_MALFORMED;
    const frag = get16(buf, o + IP_OFF) & (IP_MF | IP_OFFMASK);
    return this.finish(
      4,
      rssHashType(4, frag === 0 ? buf[o + IP_P]! : 0, this.hashConfig),
      buf,
      o + IP_SRC,
      o + hl,
      end,
    );
  }

  private ipv6(buf: Uint8Array, o: number, end: number): number {
    if (o + IP6_HDR_LEN > end || buf[o]! >>> 4 !== 6) return FRAME_MALFORMED;
    const w = this.walker;
    if (w.walk(buf, o + IP6_HDR_LEN, buf[o + IP6_NXT]!, end) && !w.hasFragment) {
      return this.finish(6, rssHashType(6, w.protocol, this.hashConfig), buf, o + IP6_SRC, w.offset, end);
    }
    return this.finish(6, rssHashType(6, 0, this.hashConfig), buf, o + IP6_SRC, -1, end);
  }

  /** Hash the packet at its addresses (and at `l4`'s ports when the type takes them and they are there). */
  private finish(version: 4 | 6, type: number, buf: Uint8Array, addrOff: number, l4: number, end: number): number {
    this.version = version;
    this.addrOff = addrOff;
    let ports = hashTypeHasPorts(type);
    if (ports && (l4 < 0 || l4 + 4 > end)) {
      type = rssHashType(version, 0, this.hashConfig);
      ports = false;
    }
    if (type === M_HASHTYPE_NONE) return FRAME_IP;
    this.hashType = type;
    const tz = this.toeplitz;
    if (ports) {
      this.portsOff = l4;
      this.hash = version === 4 ? tz.hashIPv4PortsAt(buf, addrOff, l4) : tz.hashIPv6PortsAt(buf, addrOff, l4);
    } else {
      this.hash = version === 4 ? tz.hashIPv4At(buf, addrOff) : tz.hashIPv6At(buf, addrOff);
    }
    return FRAME_IP;
  }
}
