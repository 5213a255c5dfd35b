/**
 * ip6_output (netinet6/ip6_output.c): route, prepend the IPv6 header in the
 * transport's headroom, finish a delayed checksum unless if_hwassist covers it
 * (in6_delayed_cksum), fragment at the source when allowed (RFC 8200 §4.5; routers
 * never fragment) and hand the datagram to the interface.
 */
import type { Inet6Vnet } from './in6_var.js';
import type { Ifnet } from '../net/if.js';
import { RTF_GATEWAY, rtalloc6 } from '../net/route.js';
import { CSUM_DELAY_DATA_IPV6, CSUM_UDP_IPV6, CSUM_IP6_TSO, M_MCAST, MAX_LINKHDR } from '../net/mbuf.js';
import { ERRNO } from '../kern/errno.js';
import { PFIL_DROPPED, PFIL_PASS } from '../net/pfil.js';
import { set16, set32 } from '@mcstack/wire';
import { IP6_PLEN, IP6_NXT, IP6_HLIM, IP6_SRC, IP6_DST, IP6_HDR_LEN } from '@mcstack/wire';
import { IPPROTO_FRAGMENT, IP6F_LEN } from '@mcstack/wire';
import { IN6_IS_ADDR_MULTICAST, IN6_IS_ADDR_LINKLOCAL, IN6_IS_ADDR_UNSPECIFIED } from '../netinet/in.js';
import { inDelayedCksum } from '../netinet/ip_output.js';
import type { Ip6OutArgs } from './ip6_var.js';
import { IPV6_MAXPACKET } from './ip6_var.js';
import { selectSource6 } from './in6.js';
import { outMeta } from '../net/if_ethersubr.js';
import { ifOutput } from '../net/if_var.js';

/** Write an IPv6 header at buf[ip] (40 bytes) for a payload of `plen` bytes. */
export function fillIp6Header(
  buf: Uint8Array,
  ip: number,
  plen: number,
  nxt: number,
  hlim: number,
  tclass: number,
  flow: number,
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
): void {
  set32(buf, ip, (0x60000000 | ((tclass & 0xff) << 20) | (flow & 0xfffff)) >>> 0);
  set16(buf, ip + IP6_PLEN, plen);
  buf[ip + IP6_NXT] = nxt;
  buf[ip + IP6_HLIM] = hlim;
  // Byte copies: 16 bytes do not pay for a subarray per packet.
  if (src !== buf || srcOff !== ip + IP6_SRC) for (let i = 0; i < 16; i++) buf[ip + IP6_SRC + i] = src[srcOff + i]!;
  if (dst !== buf || dstOff !== ip + IP6_DST) for (let i = 0; i < 16; i++) buf[ip + IP6_DST + i] = dst[dstOff + i]!;
}

/**
 * Send buf[off, off+len) (transport header and payload, MAX_HDR bytes of headroom
 * before it). 0 or -errno: EHOSTUNREACH (no route), ENETDOWN, EADDRNOTAVAIL (no
 * source), EMSGSIZE (over the path MTU with dontfrag, or over 65535).
 */
export function ip6Output(ns: Inet6Vnet, buf: Uint8Array, off: number, len: number, a: Ip6OutArgs): number {
  const st = ns.ip6stat;
  st.ip6s_localout++;
  if (off < IP6_HDR_LEN + MAX_LINKHDR) throw new RangeError(`ip6_output: ${off} bytes of headroom, need MAX_HDR`);
  if (len > IPV6_MAXPACKET) {
    st.ip6s_odropped++;
    return -ERRNO.EMSGSIZE;
  }
  const dst = a.dst;
  const dOff = a.dstOff;
  let ifp: Ifnet;
  let nh: Uint8Array = dst;
  let nhOff = dOff;
  let mtu: number;
  let mflags = 0;
  if (a.ifp !== null && (IN6_IS_ADDR_MULTICAST(dst, dOff) || IN6_IS_ADDR_LINKLOCAL(dst, dOff))) {
    ifp = a.ifp;
    mtu = ifp.mtu;
  } else {
    const rt = rtalloc6(ns, a.fib, dst, dOff);
    if (rt === null) {
      st.ip6s_noroute++;
      return -ERRNO.EHOSTUNREACH;
    }
    ifp = rt.ifp;
    mtu = rt.pathMtu;
    if (rt.flags & RTF_GATEWAY) {
      nh = rt.gw6!;
      nhOff = 0;
    }
  }
  if (!ifp.up) {
    st.ip6s_odropped++;
    return -ERRNO.ENETDOWN;
  }
  if (IN6_IS_ADDR_MULTICAST(dst, dOff)) mflags = M_MCAST;
  const ip = off - IP6_HDR_LEN;
  if (IN6_IS_ADDR_UNSPECIFIED(a.src, a.srcOff)) {
    const e = selectSource6(ns, a.fib, dst, dOff, buf, ip + IP6_SRC, a.ifp);
    if (e < 0) {
      st.ip6s_noroute++;
      return e;
    }
    fillIp6Header(buf, ip, len, a.nxt, a.hlim, a.tclass, a.flowlabel, buf, ip + IP6_SRC, dst, dOff);
  } else {
    fillIp6Header(buf, ip, len, a.nxt, a.hlim, a.tclass, a.flowlabel, a.src, a.srcOff, dst, dOff);
  }
  const total = IP6_HDR_LEN + len;
  // pfil (ip6_output_pfil): a dropped datagram is EACCES to the sender, a consumed one sent.
  const ph = ns.pfil6;
  if (ph.nOut !== 0) {
    const r = ph.runOut(buf, ip, total, ifp, a.inp ?? null);
    if (r !== PFIL_PASS) return r === PFIL_DROPPED ? -ERRNO.EACCES : 0;
  }
  const hw = ifp.hwassist;
  let cf = a.csumFlags;
  // TSO past the MTU only while each piece fits it (ip_output.ts says why).
  const tso =
    (cf & CSUM_IP6_TSO) !== 0 &&
    (hw & CSUM_IP6_TSO) !== 0 &&
    IP6_HDR_LEN + ((buf[off + 12]! >>> 4) << 2) + a.tsoSegsz <= mtu;
  if (total <= mtu || tso) {
    if (cf & CSUM_DELAY_DATA_IPV6 & ~hw) {
      inDelayedCksum(buf, off, len, a.csumOffset, (cf & CSUM_UDP_IPV6) !== 0);
      cf &= ~CSUM_DELAY_DATA_IPV6;
    }
    const meta = outMeta(ns, cf & hw, a.csumOffset, IP6_HDR_LEN, mflags, a);
    if (tso) meta.tsoSegsz = a.tsoSegsz;
    return ifOutput(ns, ifp, buf, ip, total, 6, 0, nh, nhOff, meta);
  }
  if (a.dontfrag || cf & CSUM_IP6_TSO) {
    st.ip6s_cantfrag++;
    return -ERRNO.EMSGSIZE;
  }
  if (cf & CSUM_DELAY_DATA_IPV6) inDelayedCksum(buf, off, len, a.csumOffset, (cf & CSUM_UDP_IPV6) !== 0);
  return ip6Fragment(ns, ifp, buf, ip, total, Math.max(mtu, 1280), nh, nhOff, mflags, a);
}

/**
 * Source fragmentation (RFC 8200 §4.5): the unfragmentable part is the IPv6
 * header (this stack adds no extension headers); each fragment carries a
 * Fragment header with a random 32-bit identification and a multiple of 8 bytes.
 */
function ip6Fragment(
  ns: Inet6Vnet,
  ifp: Ifnet,
  buf: Uint8Array,
  ip: number,
  total: number,
  mtu: number,
  nh: Uint8Array,
  nhOff: number,
  mflags: number,
  a: Ip6OutArgs,
): number {
  const st = ns.ip6stat;
  const nxt = buf[ip + IP6_NXT]!;
  const dataLen = total - IP6_HDR_LEN;
  const chunk = (mtu - IP6_HDR_LEN - IP6F_LEN) & ~7;
  const id = ns.ctx.random.u32();
  let error = 0;
  let n = 0;
  for (let fo = 0; fo < dataLen; fo += chunk) {
    const flen = Math.min(chunk, dataLen - fo);
    const last = fo + flen >= dataLen;
    const f = new Uint8Array(MAX_LINKHDR + IP6_HDR_LEN + IP6F_LEN + flen);
    const fi = MAX_LINKHDR;
    f.set(buf.subarray(ip, ip + IP6_HDR_LEN), fi);
    set16(f, fi + IP6_PLEN, IP6F_LEN + flen);
    f[fi + IP6_NXT] = IPPROTO_FRAGMENT;
    const fh = fi + IP6_HDR_LEN;
    f[fh] = nxt;
    f[fh + 1] = 0;
    set16(f, fh + 2, fo | (last ? 0 : 1));
    set32(f, fh + 4, id);
    f.set(buf.subarray(ip + IP6_HDR_LEN + fo, ip + IP6_HDR_LEN + fo + flen), fh + IP6F_LEN);
    n++;
    const meta = outMeta(ns, 0, 0, IP6_HDR_LEN + IP6F_LEN, mflags, a);
    const e = ifOutput(ns, ifp, f, fi, IP6_HDR_LEN + IP6F_LEN + flen, 6, 0, nh, nhOff, meta);
    if (e < 0 && error === 0) error = e;
  }
  st.ip6s_ofragments += n;
  if (error === 0) st.ip6s_fragmented++;
  return error;
}

/**
 * Send a link-scoped datagram (ND, ICMPv6 errors on a known interface) without a
 * route lookup: the IPv6 header is written before buf[off] and the datagram goes
 * out on ifp toward `nexthop` (the destination itself).
 */
export function ip6OutputOn(
  ns: Inet6Vnet,
  ifp: Ifnet,
  buf: Uint8Array,
  off: number,
  len: number,
  nxt: number,
  hlim: number,
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
): number {
  ns.ip6stat.ip6s_localout++;
  const ip = off - IP6_HDR_LEN;
  fillIp6Header(buf, ip, len, nxt, hlim, 0, 0, src, srcOff, dst, dstOff);
  const meta = outMeta(ns, 0, 0, IP6_HDR_LEN, IN6_IS_ADDR_MULTICAST(dst, dstOff) ? M_MCAST : 0, null);
  return ifOutput(ns, ifp, buf, ip, IP6_HDR_LEN + len, 6, 0, buf, ip + IP6_DST, meta);
}
