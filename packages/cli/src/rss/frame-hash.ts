/**
 * Hash a batch of captured frames as a NIC's RSS engine would: find the IP header
 * (Ethernet, 802.1Q tags, or raw IP), pick the FreeBSD hash type for (IP version,
 * protocol) and Toeplitz-hash the addresses and, for 4-tuple types, the ports. Packets
 * are grouped into flows (distinct hash type + tuple, per direction: each direction is
 * what some host receives). Runs inline or in a piscina worker (spread-worker.ts).
 */
import {
  ETHERTYPE_IP, ETHERTYPE_IPV6, ETHERTYPE_VLAN, ETHER_HDR_LEN, ETHER_TYPE, ETHER_VLAN_ENCAP_LEN,
  IP6_HDR_LEN, IP6_NXT, IP6_SRC, Ipv6ExtWalker,
} from '@mcstack/wire';
import { LINKTYPE_ETHERNET, isRawIpLinkType } from '@mcstack/wire';
import { hashTypeHasPorts, hashTypeName, rssHashType, type Toeplitz } from '@mcstack/rss';

const ETHERTYPE_QINQ = 0x88a8;
/** LINKTYPE_IPV4 / LINKTYPE_IPV6 (tcpdump.org/linktypes.html): raw IP of one version. */
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;
const IP_SRC = 12;

export interface BatchResult {
  packets: number;
  /** Frames that carry no IPv4/IPv6 (ARP, LLDP...): not hashed, as a NIC gives them no RSS type. */
  nonIp: number;
  /** Frames whose link or IP header is malformed or cut short by the capture length. */
  malformed: number;
  /** Packets per hash type name. */
  hashTypes: Record<string, number>;
  /** One entry per distinct flow in the batch. */
  flowKeys: string[];
  flowHashes: Uint32Array;
  flowPackets: Uint32Array;
}

export function hashFrames(
  tz: Toeplitz, buf: Uint8Array, offsets: ArrayLike<number>, lengths: ArrayLike<number>, linkType: number,
): BatchResult {
  if (linkType !== LINKTYPE_ETHERNET && !isRawIpLinkType(linkType) &&
    linkType !== LINKTYPE_IPV4 && linkType !== LINKTYPE_IPV6) {
    throw Object.assign(new Error(`unsupported link type ${linkType} (Ethernet and raw IP only)`), { code: 'MCSTACK_UNSUPPORTED' });
  }
  const walker = new Ipv6ExtWalker();
  const flowIndex = new Map<string, number>();
  const keys: string[] = [];
  let hashes = new Uint32Array(256);
  let counts = new Uint32Array(256);
  const hashTypes: Record<string, number> = {};
  let nonIp = 0;
  let malformed = 0;
  const n = offsets.length;
  for (let p = 0; p < n; p++) {
    const start = offsets[p]!;
    const end = start + lengths[p]!;
    let o = start;
    let version: number;
    if (linkType === LINKTYPE_ETHERNET) {
      if (o + ETHER_HDR_LEN > end) { malformed++; continue; }
      let type = (buf[o + ETHER_TYPE]! << 8) | buf[o + ETHER_TYPE + 1]!;
      o += ETHER_HDR_LEN;
      while ((type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) && o + ETHER_VLAN_ENCAP_LEN <= end) {
        type = (buf[o + 2]! << 8) | buf[o + 3]!;
        o += ETHER_VLAN_ENCAP_LEN;
      }
      if (type === ETHERTYPE_IP) version = 4;
      else if (type === ETHERTYPE_IPV6) version = 6;
      else { nonIp++; continue; }
    } else {
      if (o >= end) { malformed++; continue; }
      version = buf[o]! >>> 4;
      if ((version !== 4 && version !== 6) || (linkType === LINKTYPE_IPV4 && version !== 4) ||
        (linkType === LINKTYPE_IPV6 && version !== 6)) { nonIp++; continue; }
    }

    let hashType: number;
    let addrOff: number;
    let l4 = -1; // offset of the ports, when the hash type wants them and they are there
    if (version === 4) {
      if (o + 20 > end || buf[o]! >>> 4 !== 4) { malformed++; continue; }
      const hl = (buf[o]! & 0x0f) << 2;
      if (hl < 20 || o + hl > end) { malformed++; continue; }
      // Any fragment hashes as a 2-tuple (RFC 791 §3.2: only the first carries the
      // ports), so all fragments of a datagram land on the same bucket.
      const frag = ((buf[o + 6]! << 8) | buf[o + 7]!) & 0x3fff;
      hashType = rssHashType(4, frag === 0 ? buf[o + 9]! : 0);
      addrOff = o + IP_SRC;
      l4 = o + hl;
    } else {
      if (o + IP6_HDR_LEN > end || buf[o]! >>> 4 !== 6) { malformed++; continue; }
      addrOff = o + IP6_SRC;
      // RFC 8200 §4: walk the extension headers to the upper layer; a fragment or a
      // malformed chain leaves the 2-tuple.
      if (walker.walk(buf, o + IP6_HDR_LEN, buf[o + IP6_NXT]!, end) && !walker.hasFragment) {
        hashType = rssHashType(6, walker.protocol);
        l4 = walker.offset;
      } else {
        hashType = rssHashType(6, 0);
      }
    }
    const withPorts = hashTypeHasPorts(hashType) && l4 >= 0 && l4 + 4 <= end;
    if (!withPorts) hashType = rssHashType(version as 4 | 6, 0);
    let hash: number;
    if (version === 4) hash = withPorts ? tz.hashIPv4PortsAt(buf, addrOff, l4) : tz.hashIPv4At(buf, addrOff);
    else hash = withPorts ? tz.hashIPv6PortsAt(buf, addrOff, l4) : tz.hashIPv6At(buf, addrOff);

    const typeName = hashTypeName(hashType);
    hashTypes[typeName] = (hashTypes[typeName] ?? 0) + 1;
    const key = flowKey(hashType, buf, addrOff, version === 4 ? 8 : 32, withPorts ? l4 : -1);
    let f = flowIndex.get(key);
    if (f === undefined) {
      f = keys.length;
      flowIndex.set(key, f);
      keys.push(key);
      if (f === hashes.length) {
        const h2 = new Uint32Array(f * 2); h2.set(hashes); hashes = h2;
        const c2 = new Uint32Array(f * 2); c2.set(counts); counts = c2;
      }
      hashes[f] = hash;
    }
    counts[f]!++;
  }
  return {
    packets: n, nonIp, malformed, hashTypes, flowKeys: keys,
    flowHashes: hashes.slice(0, keys.length), flowPackets: counts.slice(0, keys.length),
  };
}

/** The hash input itself (with its type) as a compact string: equal keys, same flow. */
function flowKey(hashType: number, buf: Uint8Array, addrOff: number, addrLen: number, portsOff: number): string {
  let s = String.fromCharCode(hashType);
  for (let i = 0; i < addrLen; i += 2) s += String.fromCharCode((buf[addrOff + i]! << 8) | buf[addrOff + i + 1]!);
  if (portsOff >= 0) {
    s += String.fromCharCode((buf[portsOff]! << 8) | buf[portsOff + 1]!, (buf[portsOff + 2]! << 8) | buf[portsOff + 3]!);
  }
  return s;
}
