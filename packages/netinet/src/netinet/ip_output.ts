/**
 * ip_output (netinet/ip_output.c): route, prepend the IPv4 header in the
 * headroom the transport left, finish a delayed transport checksum in software
 * unless the interface's if_hwassist covers it (in_delayed_cksum), fragment when
 * allowed (ip_fragment) and hand the datagram to the interface.
 */
import type { InetVnet } from './in_var.js';
import type { Ifnet } from '../net/if.js';
import { RTF_GATEWAY, rtalloc4 } from '../net/route.js';
import { CSUM_IP, CSUM_DELAY_DATA, CSUM_UDP, CSUM_IP_TSO, M_BCAST, M_MCAST, MAX_LINKHDR } from '../net/mbuf.js';
import { ERRNO } from '../kern/errno.js';
import { PFIL_DROPPED, PFIL_PASS } from '../net/pfil.js';
import { set16, set32 } from '@mcstack/wire';
import { sumBytes, finish } from '@mcstack/wire';
import {
  IP_HDR_LEN,
  IP_TOS,
  IP_LEN,
  IP_ID,
  IP_OFF,
  IP_TTL,
  IP_P,
  IP_SUM,
  IP_SRC,
  IP_DST,
  IP_DF,
  IP_MF,
} from '@mcstack/wire';
import { IN_MULTICAST, INADDR_BROADCAST, INADDR_ANY, ifaddr4For, isBroadcast4 } from './in.js';
import type { IpOutArgs } from './ip_var.js';
import { IP_MAXPACKET } from './ip_var.js';
import { outMeta } from '../net/if_ethersubr.js';
import { ifOutput } from '../net/if_var.js';

/**
 * in_delayed_cksum: the transport stored the pseudo-header sum in its checksum
 * field; sum the whole L4 segment over it and store the complement. A UDP sum of
 * zero is sent as 0xffff (RFC 768: zero means "no checksum").
 */
export function inDelayedCksum(buf: Uint8Array, off: number, len: number, csumOffset: number, udp: boolean): void {
  let c = finish(sumBytes(buf, off, len));
  if (udp && c === 0) c = 0xffff;
  set16(buf, off + csumOffset, c);
}

/**
 * Send buf[off, off+len) (transport header and payload, with at least MAX_HDR
 * bytes of headroom before `off`). Returns 0 or -errno: EHOSTUNREACH (no route),
 * ENETDOWN (interface down), EACCES (broadcast not allowed), EMSGSIZE (too big
 * with DF set, or over IP_MAXPACKET), EADDRNOTAVAIL (no source address).
 */
export function ipOutput(ns: InetVnet, buf: Uint8Array, off: number, len: number, a: IpOutArgs): number {
  const st = ns.ipstat;
  st.ips_localout++;
  if (off < IP_HDR_LEN + MAX_LINKHDR) throw new RangeError(`ip_output: ${off} bytes of headroom, need MAX_HDR`);
  const dst = a.dst;
  let ifp: Ifnet;
  let nexthop = dst;
  let mtu: number;
  let mflags = 0;
  if (a.ifp !== null && (IN_MULTICAST(dst) || dst === INADDR_BROADCAST)) {
    ifp = a.ifp;
    mtu = ifp.mtu;
  } else {
    const rt = rtalloc4(ns, a.fib, dst);
    if (rt === null) {
      st.ips_noroute++;
      return -ERRNO.EHOSTUNREACH;
    }
    ifp = rt.ifp;
    mtu = rt.pathMtu;
    if (rt.flags & RTF_GATEWAY) nexthop = rt.gw4;
  }
  if (!ifp.up) {
    st.ips_odropped++;
    return -ERRNO.ENETDOWN;
  }
  if (IN_MULTICAST(dst)) mflags = M_MCAST;
  else if (dst === INADDR_BROADCAST || (nexthop === dst && isBroadcast4(ifp, dst))) {
    if (!a.broadcast) return -ERRNO.EACCES;
    mflags = M_BCAST;
  }
  let src = a.src;
  if (src === INADDR_ANY) {
    const ia = ifaddr4For(ifp, dst);
    if (ia === null) {
      st.ips_noroute++;
      return -ERRNO.EADDRNOTAVAIL;
    }
    src = ia.addr;
  }
  const total = IP_HDR_LEN + len;
  if (total > IP_MAXPACKET) {
    st.ips_toolong++;
    return -ERRNO.EMSGSIZE;
  }
  const ip = off - IP_HDR_LEN;
  buf[ip] = 0x45;
  buf[ip + IP_TOS] = a.tos;
  set16(buf, ip + IP_LEN, total);
  set16(buf, ip + IP_ID, ipId(ns, a.df));
  set16(buf, ip + IP_OFF, a.df ? IP_DF : 0);
  buf[ip + IP_TTL] = a.ttl;
  buf[ip + IP_P] = a.proto;
  set16(buf, ip + IP_SUM, 0);
  set32(buf, ip + IP_SRC, src);
  set32(buf, ip + IP_DST, dst);
  // pfil (ip_output_pfil): a dropped datagram is EACCES to the sender, a consumed one sent.
  const ph = ns.pfil4;
  if (ph.nOut !== 0) {
    const r = ph.runOut(buf, ip, total, ifp, a.inp ?? null);
    if (r !== PFIL_PASS) return r === PFIL_DROPPED ? -ERRNO.EACCES : 0;
  }

  const hw = ifp.hwassist;
  let cf = a.csumFlags;
  // TSO past the MTU only while each piece fits it (the MTU may have gone down since
  // tcp_mss chose the MSS): otherwise EMSGSIZE, and tcp_output learns the new MTU.
  const tso =
    (cf & CSUM_IP_TSO) !== 0 &&
    (hw & CSUM_IP_TSO) !== 0 &&
    IP_HDR_LEN + ((buf[off + 12]! >>> 4) << 2) + a.tsoSegsz <= mtu;
  if (total <= mtu || tso) {
    if (cf & CSUM_DELAY_DATA & ~hw) {
      inDelayedCksum(buf, off, len, a.csumOffset, (cf & CSUM_UDP) !== 0);
      cf &= ~CSUM_DELAY_DATA;
    }
    if (hw & CSUM_IP) cf |= CSUM_IP;
    else set16(buf, ip + IP_SUM, finish(sumBytes(buf, ip, IP_HDR_LEN)));
    const meta = outMeta(ns, cf & (hw | CSUM_IP), a.csumOffset, IP_HDR_LEN, mflags, a);
    if (tso) meta.tsoSegsz = a.tsoSegsz;
    return ifOutput(ns, ifp, buf, ip, total, 4, nexthop, null, 0, meta);
  }
  if (a.df || cf & CSUM_IP_TSO) {
    st.ips_cantfrag++;
    return -ERRNO.EMSGSIZE;
  }
  // ip_fragment: the checksum covers the whole datagram, so finish it before cutting.
  if (cf & CSUM_DELAY_DATA) inDelayedCksum(buf, off, len, a.csumOffset, (cf & CSUM_UDP) !== 0);
  return ipFragment(ns, ifp, buf, ip, total, mtu, nexthop, mflags, a);
}

/**
 * ip_fragment: cut the datagram at buf[ip, ip+total) into fragments of at most
 * `mtu` bytes whose data lengths are multiples of 8 (RFC 791 §2.3), each in its
 * own buffer with link headroom. Fragments are not the hot path.
 */
export function ipFragment(
  ns: InetVnet,
  ifp: Ifnet,
  buf: Uint8Array,
  ip: number,
  total: number,
  mtu: number,
  nexthop: number,
  mflags: number,
  a: IpOutArgs,
): number {
  const st = ns.ipstat;
  const hlen = (buf[ip]! & 0x0f) << 2;
  const chunk = (mtu - hlen) & ~7;
  if (chunk < 8) {
    st.ips_cantfrag++;
    return -ERRNO.EMSGSIZE;
  }
  const baseOff = ((buf[ip + IP_OFF]! << 8) | buf[ip + IP_OFF + 1]!) & 0x1fff;
  const origMf = (buf[ip + IP_OFF]! << 8) & IP_MF;
  const dataLen = total - hlen;
  let error = 0;
  let n = 0;
  for (let fo = 0; fo < dataLen; fo += chunk) {
    const flen = Math.min(chunk, dataLen - fo);
    const last = fo + flen >= dataLen;
    const f = new Uint8Array(MAX_LINKHDR + hlen + flen);
    const fi = MAX_LINKHDR;
    f.set(buf.subarray(ip, ip + hlen), fi);
    f.set(buf.subarray(ip + hlen + fo, ip + hlen + fo + flen), fi + hlen);
    set16(f, fi + IP_LEN, hlen + flen);
    set16(f, fi + IP_OFF, (last ? origMf : IP_MF) | (baseOff + (fo >>> 3)));
    set16(f, fi + IP_SUM, 0);
    set16(f, fi + IP_SUM, finish(sumBytes(f, fi, hlen)));
    n++;
    const meta = outMeta(ns, 0, 0, hlen, mflags, a);
    const e = ifOutput(ns, ifp, f, fi, hlen + flen, 4, nexthop, null, 0, meta);
    if (e < 0 && error === 0) error = e;
  }
  st.ips_ofragments += n;
  if (error === 0) st.ips_fragmented++;
  return error;
}

/** ip_id for a new datagram (RFC 6864: 0 for atomic datagrams when net.inet.ip.rfc6864). */
export function ipId(ns: InetVnet, df: boolean): number {
  if (df && ns.tun.rfc6864) return 0;
  if (ns.tun.random_id) return ns.ctx.random.u32() & 0xffff;
  ns.ipIdCounter = (ns.ipIdCounter + 1) & 0xffff;
  return ns.ipIdCounter;
}
