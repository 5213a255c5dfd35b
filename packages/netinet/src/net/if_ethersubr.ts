/**
 * Ethernet input demux and output framing (net/if_ethersubr.c). A received
 * 802.1Q tag is stripped into the frame's metadata (M_VLANTAG, as a NIC with
 * VLAN_HWTAGGING does); frames for other stations are ignored as a NIC without
 * promiscuous mode would. On output the next hop's address comes from ARP or ND
 * (netisr's resolvers), and the finished frame reaches the link as a view that is
 * reused per buffer and length (frameView).
 */
import type { Vnet, FrameViews } from './vnet.js';
import type { Ifnet } from './if.js';
import type { FrameMeta } from './mbuf.js';
import { M_BCAST, M_MCAST, M_VLANTAG, resetFrameMeta } from './mbuf.js';
import type { HeldPacket } from './if_llatbl.js';
import { netisrDispatch } from './netisr.js';
import { get16, get32, set16 } from '@mcstack/wire';
import {
  ETHER_HDR_LEN,
  ETHER_TYPE,
  ETHER_VLAN_ENCAP_LEN,
  ETHER_VLAN_TCI,
  ETHER_VLAN_TYPE,
  ETHERTYPE_IP,
  ETHERTYPE_IPV6,
  ETHERTYPE_ARP,
  ETHERTYPE_VLAN,
} from '@mcstack/wire';

export const ETHER_BCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Output buffers whose frame views frameView keeps. */
const FV_BUFFERS = 4;

export function etherInput(v: Vnet, ifp: Ifnet, frame: Uint8Array, meta: FrameMeta): void {
  const len = frame.length;
  if (len < ETHER_HDR_LEN) {
    ifp.data.ifi_ierrors++;
    return;
  }
  let type = get16(frame, ETHER_TYPE);
  let off = ETHER_HDR_LEN;
  if (type === ETHERTYPE_VLAN) {
    if (len < ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN) {
      ifp.data.ifi_ierrors++;
      return;
    }
    meta.vlanTag = get16(frame, ETHER_VLAN_TCI);
    meta.flags |= M_VLANTAG;
    type = get16(frame, ETHER_VLAN_TYPE);
    off += ETHER_VLAN_ENCAP_LEN;
  }
  if (frame[0]! & 1) {
    let bcast = true;
    for (let i = 0; i < 6; i++)
      if (frame[i] !== 0xff) {
        bcast = false;
        break;
      }
    meta.flags |= bcast ? M_BCAST : M_MCAST;
    ifp.data.ifi_imcasts++;
  } else {
    const my = ifp.lladdr!;
    for (let i = 0; i < 6; i++) {
      if (frame[i] !== my[i]) return; // not for this station
    }
  }
  switch (type) {
    case ETHERTYPE_IP:
      netisrDispatch(v, 4, ifp, frame, off, len - off, meta);
      return;
    case ETHERTYPE_IPV6:
      netisrDispatch(v, 6, ifp, frame, off, len - off, meta);
      return;
    case ETHERTYPE_ARP:
      v.netisr.arp(ifp, frame, off, len - off);
      return;
    default:
      ifp.data.ifi_noproto++;
  }
}

/**
 * ether_output: the IP datagram at buf[off, off+len) toward nexthop (IPv4 u32 or
 * IPv6 bytes). Broadcast and multicast map to their MACs; unicast asks ARP or ND,
 * which may hold the packet until the neighbor answers. 0 or -errno.
 */
export function etherOutput(
  v: Vnet,
  ifp: Ifnet,
  buf: Uint8Array,
  off: number,
  len: number,
  af: 4 | 6,
  nh4: number,
  nh6: Uint8Array | null,
  nh6Off: number,
  meta: FrameMeta,
): number {
  let dst: Uint8Array;
  const dmac = v.scratch6;
  if (af === 4) {
    if (meta.flags & M_BCAST) dst = ETHER_BCAST;
    else if (meta.flags & M_MCAST) {
      etherMapIpMulticast(nh4, dmac, 0);
      dst = dmac;
    } else {
      const r = v.netisr.arpresolve(ifp, nh4, nh4 !== get32(buf, off + 16), buf, off, len, meta);
      if (r === null) return 0;
      if (typeof r === 'number') return r;
      dst = r;
    }
  } else {
    // RFC 4291 §2.7: ff00::/8 is multicast.
    if (nh6![nh6Off] === 0xff) {
      etherMapIp6Multicast(nh6!, nh6Off, dmac, 0);
      dst = dmac;
    } else {
      const r = v.netisr.nd6resolve(ifp, nh6!, nh6Off, buf, off, len, meta);
      if (r === null) return 0;
      if (typeof r === 'number') return r;
      dst = r;
    }
  }
  return etherOutputFrame(v, ifp, buf, off, len, dst, af === 4 ? ETHERTYPE_IP : ETHERTYPE_IPV6, meta);
}

/**
 * Prepend an Ethernet header to buf[off, off+len) (ETHER_HDR_LEN bytes of
 * headroom needed) and send it. Used by IP output, ARP and ND.
 */
export function etherOutputFrame(
  v: Vnet,
  ifp: Ifnet,
  buf: Uint8Array,
  off: number,
  len: number,
  dst: Uint8Array,
  type: number,
  meta: FrameMeta | null,
): number {
  const h = off - ETHER_HDR_LEN;
  if (h < 0) throw new RangeError('ether_output: no headroom for the link header');
  const src = ifp.lladdr!;
  for (let i = 0; i < 6; i++) {
    buf[h + i] = dst[i]!;
    buf[h + 6 + i] = src[i]!;
  }
  set16(buf, h + 12, type);
  const m = meta ?? outMeta(v, 0, 0, 0, 0, null);
  m.l2hlen = ETHER_HDR_LEN;
  if (dst[0]! & 1) ifp.data.ifi_omcasts++;
  // if_transmit refused it (ENOBUFS: the driver's queue is full, as drbr_enqueue fails):
  // an output queue drop, not a packet sent (net/if_ethersubr.c ether_output_frame).
  const e = v.ctx.output(ifp, frameView(v, buf, h, off + len), m);
  if (e < 0) {
    ifp.data.ifi_oqdrops++;
    return e;
  }
  ifp.data.ifi_opackets++;
  ifp.data.ifi_obytes += len + ETHER_HDR_LEN;
  return 0;
}

/** Send a packet held during ARP/ND resolution, now that its link address is known. */
export function etherSendHeld(v: Vnet, ifp: Ifnet, h: HeldPacket, lladdr: Uint8Array, type: number): void {
  const m = resetFrameMeta(v.heldMeta);
  m.csumFlags = h.csumFlags;
  m.csumData = h.csumData;
  m.l3hlen = h.l3hlen;
  m.tsoSegsz = h.tsoSegsz;
  m.flowid = h.flowid;
  m.hashType = h.hashType;
  m.flags = h.flags;
  if (ifp.up) etherOutputFrame(v, ifp, h.buf, h.off, h.len, lladdr, type, m);
}

/** The reused output FrameMeta, filled for one datagram. */
export function outMeta(
  v: Vnet,
  csumFlags: number,
  csumData: number,
  l3hlen: number,
  mflags: number,
  a: { flowid: number; hashType: number } | null,
): FrameMeta {
  const m = resetFrameMeta(v.meta);
  m.csumFlags = csumFlags;
  m.csumData = csumData;
  m.l3hlen = l3hlen;
  m.flags = mflags;
  if (a) {
    m.flowid = a.flowid;
    m.hashType = a.hashType;
  }
  return m;
}

/**
 * buf[start, end) as a view for the link. A frame is valid only during the
 * output call, so the views of the last two shapes (a data segment, an ACK from
 * the same scratch buffer) are reused instead of a subarray per packet.
 */
export function frameView(v: Vnet, buf: Uint8Array, start: number, end: number): Uint8Array {
  // Output is built in a few scratch buffers at a fixed headroom: their views are kept
  // by length (a handful of lengths repeat). Compared by identity, no getters per packet.
  const cache = v.fvCache;
  let c = cache[0];
  if (c === undefined || c.buf !== buf || c.start !== start) {
    let i = 1;
    while (i < cache.length && (cache[i]!.buf !== buf || cache[i]!.start !== start)) i++;
    if (i < cache.length) c = cache[i]!;
    else {
      c = { buf, start, byLen: [] } satisfies FrameViews;
      if (cache.length === FV_BUFFERS) cache.pop();
      i = cache.length;
      cache.push(c);
    }
    // Most recently used first.
    for (let k = i; k > 0; k--) cache[k] = cache[k - 1]!;
    cache[0] = c;
  }
  const len = end - start;
  let view = c.byLen[len];
  if (view === undefined) {
    view = buf.subarray(start, end);
    c.byLen[len] = view;
  }
  return view;
}

/** Ethernet multicast MAC for an IPv4 group (RFC 1112 §6.4): 01:00:5e + low 23 bits. */
export function etherMapIpMulticast(group: number, out: Uint8Array, off: number): void {
  out[off] = 0x01;
  out[off + 1] = 0x00;
  out[off + 2] = 0x5e;
  out[off + 3] = (group >>> 16) & 0x7f;
  out[off + 4] = (group >>> 8) & 0xff;
  out[off + 5] = group & 0xff;
}

/** Ethernet multicast MAC for an IPv6 group (RFC 2464 §7): 33:33 + low 32 bits. */
export function etherMapIp6Multicast(group: Uint8Array, go: number, out: Uint8Array, off: number): void {
  out[off] = 0x33;
  out[off + 1] = 0x33;
  out[off + 2] = group[go + 12]!;
  out[off + 3] = group[go + 13]!;
  out[off + 4] = group[go + 14]!;
  out[off + 5] = group[go + 15]!;
}
