/**
 * ip_input (netinet/ip_input.c): validate an IPv4 header, decide whether the
 * datagram is ours, reassemble fragments and hand it to the upper protocol.
 * Every drop is counted in ipstat under FreeBSD's name; nothing throws.
 */
import type { InetVnet } from './in_var.js';
import type { PktInfo } from './ip_var.js';
import type { Ifnet } from '../net/if.js';
import { IFF_LOOPBACK } from '../net/if.js';
import type { FrameMeta } from '../net/mbuf.js';
import { CSUM_IP_CHECKED, CSUM_IP_VALID, M_BCAST, M_MCAST } from '../net/mbuf.js';
import { get16, get32 } from '@mcstack/wire';
import { sumBytes, fold } from '@mcstack/wire';
import {
  IP_HDR_LEN,
  IP_LEN,
  IP_OFF,
  IP_P,
  IP_TTL,
  IP_TOS,
  IP_SRC,
  IP_DST,
  IP_MF,
  IP_OFFMASK,
  countIpv4Options,
} from '@mcstack/wire';
import { IN_MULTICAST, IN_LOOPBACK, INADDR_BROADCAST, INADDR_ANY, INADDR_ALLHOSTS_GROUP, isLocal4 } from './in.js';
import { PFIL_PASS } from '../net/pfil.js';
import { ICMP_UNREACH, ICMP_UNREACH_PROTOCOL } from './ip_icmp.js';

export function ipInput(
  ns: InetVnet,
  ifp: Ifnet,
  buf: Uint8Array,
  off: number,
  len: number,
  meta: FrameMeta | null,
): void {
  const st = ns.ipstat;
  st.ips_total++;
  if (len < IP_HDR_LEN) {
    st.ips_toosmall++;
    return;
  }
  const vhl = buf[off]!;
  if (vhl >>> 4 !== 4) {
    st.ips_badvers++;
    return;
  }
  const hlen = (vhl & 0x0f) << 2;
  if (hlen < IP_HDR_LEN) {
    st.ips_badhlen++;
    return;
  }
  if (hlen > len) {
    st.ips_badhlen++;
    return;
  }
  const cflags = meta ? meta.csumFlags : 0;
  if (cflags & CSUM_IP_CHECKED) {
    if (!(cflags & CSUM_IP_VALID)) {
      st.ips_badsum++;
      return;
    }
  } else if (fold(sumBytes(buf, off, hlen)) !== 0xffff) {
    st.ips_badsum++;
    return;
  }
  const ipLen = get16(buf, off + IP_LEN);
  if (ipLen < hlen) {
    st.ips_badlen++;
    return;
  }
  if (len < ipLen) {
    st.ips_tooshort++;
    return;
  }
  // A longer buffer (Ethernet padding) is trimmed to ip_len.
  len = ipLen;
  const src = get32(buf, off + IP_SRC);
  const dst = get32(buf, off + IP_DST);
  // RFC 1122 §3.2.1.3: 127/8 must not appear on a wire; class E and multicast are not sources.
  if (!(ifp.flags & IFF_LOOPBACK) && (IN_LOOPBACK(src) || IN_LOOPBACK(dst))) {
    st.ips_badaddr++;
    return;
  }
  if (IN_MULTICAST(src) || src === INADDR_BROADCAST) {
    st.ips_badaddr++;
    return;
  }
  if (hlen > IP_HDR_LEN && countIpv4Options(buf, off + IP_HDR_LEN, off + hlen) < 0) {
    st.ips_badoptions++;
    return;
  }

  // Is it for us? (weak host model: any of our addresses on any interface, as FreeBSD)
  let mflags = 0;
  if (IN_MULTICAST(dst)) {
    if (dst !== INADDR_ALLHOSTS_GROUP && !ifp.groups4.has(dst)) {
      st.ips_notmember++;
      return;
    }
    mflags = M_MCAST;
  } else if (dst === INADDR_BROADCAST || dst === INADDR_ANY) {
    mflags = M_BCAST;
  } else if (!isLocal4(ns, dst)) {
    if (isDirectedBroadcast(ifp, dst)) mflags = M_BCAST;
    else {
      st.ips_cantforward++;
      return;
    }
  }

  const ff = get16(buf, off + IP_OFF);
  let pi = pktInfo(ns, ifp, meta);
  if (ff & (IP_MF | IP_OFFMASK)) {
    // RFC 791: every fragment but the last carries a multiple of 8 bytes.
    if (ff & IP_MF && (ipLen - hlen === 0 || ((ipLen - hlen) & 7) !== 0)) {
      st.ips_toosmall++;
      return;
    }
    const whole = ns.ipReass.input(buf, off, hlen, ipLen, mflags);
    if (!whole) return;
    buf = whole;
    off = 0;
    len = whole.length;
    pi = pktInfo(ns, ifp, null);
    pi.reassembled = true;
  }
  pi.af = 4;
  pi.ipOff = off;
  pi.src4 = src;
  pi.dst4 = dst;
  pi.srcOff = off + IP_SRC;
  pi.dstOff = off + IP_DST;
  pi.ttl = buf[off + IP_TTL]!;
  pi.tos = buf[off + IP_TOS]!;
  pi.mflags = mflags;
  // pfil (ip_input.c's pfil_mbuf_in), on the reassembled datagram as pf's default
  // fragment reassembly gives it: a hook's drop or consume ends the packet here.
  const ph = ns.pfil4;
  if (ph.nIn !== 0) {
    if (ph.runIn(buf, off, len, ifp) !== PFIL_PASS) return;
    pi.pf_statekey = ph.pktIn.statekey;
  }
  const proto = buf[off + IP_P]!;
  const hl = (buf[off]! & 0x0f) << 2;
  const pr = ns.protosw4[proto];
  if (!pr) {
    // rip_input with no raw socket: protocol unreachable (RFC 1122 §3.2.2.1), not for broadcasts.
    st.ips_noproto++;
    if (!mflags) ns.icmp.error(buf, off, len, ICMP_UNREACH, ICMP_UNREACH_PROTOCOL, 0, ifp);
    return;
  }
  st.ips_delivered++;
  pr.input(buf, off + hl, len - hl, pi);
}

/** Is `dst` the directed (subnet) broadcast address of one of ifp's networks? */
function isDirectedBroadcast(ifp: Ifnet, dst: number): boolean {
  for (const ia of ifp.addrs4) {
    if (ia.broadcast !== 0 && dst === ia.broadcast) return true;
    // The old all-zeros broadcast of the subnet (4.2BSD), still accepted by FreeBSD.
    if (ia.plen < 31 && dst === (ia.addr & ia.mask) >>> 0) return true;
  }
  return false;
}

/** The reused PktInfo, its pkthdr fields loaded from meta (null: reassembled, nothing verified). */
export function pktInfo(ns: InetVnet, ifp: Ifnet, meta: FrameMeta | null): PktInfo {
  const pi = ns.pi;
  pi.ifp = ifp;
  pi.csumFlags = meta ? meta.csumFlags : 0;
  pi.csumData = meta ? meta.csumData : 0;
  pi.lroNsegs = meta ? (meta.lroNsegs ?? 0) : 0;
  pi.lroSegsz = meta ? (meta.lroSegsz ?? 0) : 0;
  pi.flowid = meta ? meta.flowid : 0;
  pi.hashType = meta ? meta.hashType : 0;
  pi.reassembled = false;
  pi.mflags = 0;
  pi.pf_statekey = null;
  return pi;
}
