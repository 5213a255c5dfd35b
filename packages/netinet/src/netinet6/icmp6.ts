/**
 * ICMPv6 (RFC 4443, netinet6/icmp6.c): echo replies, errors turned into the
 * quoted protocol's pr_ctlinput, neighbor discovery messages handed to nd6, and
 * icmp6_error for the errors this host sends (rate-limited to
 * net.inet6.icmp6.errppslimit per second, RFC 4443 §2.4(f)).
 */
import type { Inet6Vnet } from './in6_var.js';
import type { Ifnet } from '../net/if.js';
import { M_MCAST, MAX_HDR } from '../net/mbuf.js';
import type { PktInfo } from '../netinet/ip_var.js';
import { newCtlInput } from '../net/protosw.js';
import {
  PRC_UNREACH_NET,
  PRC_UNREACH_ADMIN_PROHIB,
  PRC_PARAMPROB,
  PRC_UNREACH_PORT,
  PRC_MSGSIZE,
  PRC_TIMXCEED_INTRANS,
  PRC_UNREACH_PROTOCOL,
} from '../net/protosw.js';
import { get16, get32, set16 } from '@mcstack/wire';
import { sumBytes, finish, fold, pseudoHeaderSum6 } from '@mcstack/wire';
import { IP6_NXT, IP6_SRC, IP6_DST, IP6_HDR_LEN } from '@mcstack/wire';
import { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_DSTOPTS, IPPROTO_AH } from '@mcstack/wire';
import {
  ICMP6_DST_UNREACH,
  ICMP6_DST_UNREACH_NOROUTE,
  ICMP6_DST_UNREACH_ADMIN,
  ICMP6_DST_UNREACH_ADDR,
  ICMP6_DST_UNREACH_NOPORT,
  ICMP6_PACKET_TOO_BIG,
  ICMP6_TIME_EXCEEDED,
  ICMP6_PARAM_PROB,
  ICMP6_ECHO_REQUEST,
  ICMP6_ECHO_REPLY,
  ND_NEIGHBOR_SOLICIT,
  ND_NEIGHBOR_ADVERT,
  ICMP6_HDR_LEN,
} from '@mcstack/wire';
import { IN6_IS_ADDR_MULTICAST, IN6_IS_ADDR_UNSPECIFIED, in6Pseudo, IPPROTO_ICMPV6 } from '../netinet/in.js';
import { ip6OutputOn, ip6Output } from './ip6_output.js';
import { IPV6_MMTU, newIp6OutArgs } from './ip6_var.js';
import { ERRNO } from '../kern/errno.js';
import { RTF_GATEWAY, rtalloc6 } from '../net/route.js';
import { isLocal6, selectSource6 } from './in6.js';

export {
  ICMP6_DST_UNREACH,
  ICMP6_DST_UNREACH_NOROUTE,
  ICMP6_DST_UNREACH_ADMIN,
  ICMP6_DST_UNREACH_ADDR,
  ICMP6_DST_UNREACH_NOPORT,
  ICMP6_PACKET_TOO_BIG,
  ICMP6_TIME_EXCEEDED,
  ICMP6_PARAM_PROB,
  ICMP6_ECHO_REQUEST,
  ICMP6_ECHO_REPLY,
  ND_NEIGHBOR_SOLICIT,
  ND_NEIGHBOR_ADVERT,
  ICMP6_HDR_LEN,
};
export const ICMP6_DST_UNREACH_BEYONDSCOPE = 2;
export const ICMP6_TIME_EXCEED_TRANSIT = 0;
export const ICMP6_TIME_EXCEED_REASSEMBLY = 1;
export const ICMP6_PARAMPROB_HEADER = 0;
export const ICMP6_PARAMPROB_NEXTHEADER = 1;
export const ICMP6_PARAMPROB_OPTION = 2;
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_REDIRECT = 137;
export const ICMP6_INFOMSG_MASK = 0x80;

/** struct icmp6stat (the fields this stack uses). */
export class Icmp6Stat {
  icp6s_error = 0; // calls to icmp6_error
  icp6s_canterror = 0; // no error because the old packet was an ICMPv6 error
  icp6s_toofreq = 0; // no error because of the rate limit
  icp6s_outhist = new Array<number>(256).fill(0);
  icp6s_badcode = 0;
  icp6s_tooshort = 0;
  icp6s_checksum = 0;
  icp6s_badlen = 0;
  icp6s_dropped = 0; // packets dropped waiting for neighbor resolution
  icp6s_reflect = 0; // echo replies sent
  icp6s_inhist = new Array<number>(256).fill(0);
  icp6s_nd_toomanyopt = 0;
  icp6s_badns = 0;
  icp6s_badna = 0;
  icp6s_badredirect = 0;
  icp6s_nd_badopt = 0;
  icp6s_invlhlim = 0; // ND message with a hop limit other than 255
  icp6s_pmtuchg = 0; // path MTU changes (packet too big believed by TCP)
}

export class Icmp6 {
  readonly stat = new Icmp6Stat();
  readonly tun = { errppslimit: 100 };
  private errWindow = -1;
  private errCount = 0;
  private readonly ctl = newCtlInput(6);

  constructor(private readonly ns: Inet6Vnet) {}

  /** pr_input for IPPROTO_ICMPV6. */
  input(m: Uint8Array, off: number, len: number, pi: PktInfo): void {
    const st = this.stat;
    if (len < ICMP6_HDR_LEN) {
      st.icp6s_tooshort++;
      return;
    }
    const sum = pseudoHeaderSum6(m, pi.srcOff, pi.dstOff, IPPROTO_ICMPV6, len);
    if (fold(sumBytes(m, off, len, sum)) !== 0xffff) {
      st.icp6s_checksum++;
      return;
    }
    const type = m[off]!;
    const code = m[off + 1]!;
    st.icp6s_inhist[type]!++;
    let prc: number;
    switch (type) {
      case ICMP6_DST_UNREACH:
        switch (code) {
          case ICMP6_DST_UNREACH_NOROUTE:
          case ICMP6_DST_UNREACH_ADDR:
            prc = PRC_UNREACH_NET;
            break;
          case ICMP6_DST_UNREACH_ADMIN:
            prc = PRC_UNREACH_ADMIN_PROHIB;
            break;
          case ICMP6_DST_UNREACH_BEYONDSCOPE:
            prc = PRC_PARAMPROB;
            break; // "source address was incorrect"
          case ICMP6_DST_UNREACH_NOPORT:
            prc = PRC_UNREACH_PORT;
            break;
          default:
            st.icp6s_badcode++;
            return;
        }
        break;
      case ICMP6_PACKET_TOO_BIG:
        prc = PRC_MSGSIZE;
        break;
      case ICMP6_TIME_EXCEEDED:
        if (code > 1) {
          st.icp6s_badcode++;
          return;
        }
        prc = PRC_TIMXCEED_INTRANS + code;
        break;
      case ICMP6_PARAM_PROB:
        if (code > 2) {
          st.icp6s_badcode++;
          return;
        }
        prc = code === ICMP6_PARAMPROB_NEXTHEADER ? PRC_UNREACH_PROTOCOL : PRC_PARAMPROB;
        break;
      case ICMP6_ECHO_REQUEST:
        if (code !== 0) {
          st.icp6s_badcode++;
          return;
        }
        this.echoReply(m, off, len, pi);
        return;
      case ND_NEIGHBOR_SOLICIT:
        this.ns.nd6.nsInput(pi.ifp, m, pi.ipOff, off, len, pi.mflags);
        return;
      case ND_NEIGHBOR_ADVERT:
        this.ns.nd6.naInput(pi.ifp, m, pi.ipOff, off, len, pi.mflags);
        return;
      case ND_REDIRECT:
        this.ns.nd6.redirectInput(pi.ifp, m, pi.ipOff, off, len);
        return;
      default:
        // Echo replies, MLD, router discovery: no listener here (static configuration).
        return;
    }
    this.notify(m, off, len, type, code, prc);
  }

  /** icmp6_notify_error: find the quoted datagram's upper protocol and call its ctlinput. */
  private notify(m: Uint8Array, off: number, len: number, type: number, code: number, prc: number): void {
    const st = this.stat;
    if (len < ICMP6_HDR_LEN + IP6_HDR_LEN) {
      st.icp6s_tooshort++;
      return;
    }
    const q = off + ICMP6_HDR_LEN;
    const qend = off + len;
    let nxt = m[q + IP6_NXT]!;
    let p = q + IP6_HDR_LEN;
    for (;;) {
      if (nxt === IPPROTO_HOPOPTS || nxt === IPPROTO_DSTOPTS || nxt === IPPROTO_ROUTING || nxt === IPPROTO_AH) {
        if (p + 2 > qend) {
          st.icp6s_tooshort++;
          return;
        }
        const hl = nxt === IPPROTO_AH ? (m[p + 1]! + 2) << 2 : (m[p + 1]! + 1) << 3;
        nxt = m[p]!;
        p += hl;
        continue;
      }
      if (nxt === IPPROTO_FRAGMENT) {
        if (p + 8 > qend) {
          st.icp6s_tooshort++;
          return;
        }
        if (get16(m, p + 2) & 0xfff8) return; // not the first fragment: no transport header
        nxt = m[p]!;
        p += 8;
        continue;
      }
      break;
    }
    if (p > qend) {
      st.icp6s_tooshort++;
      return;
    }
    const pr = this.ns.protosw6[nxt];
    if (!pr?.ctlinput) return;
    const c = this.ctl;
    c.af = 6;
    c.icmpType = type;
    c.icmpCode = code;
    c.mtu = prc === PRC_MSGSIZE ? get32(m, off + 4) : 0;
    c.buf = m;
    c.ipOff = q;
    c.src4 = 0;
    c.dst4 = 0;
    c.srcOff = q + IP6_SRC;
    c.dstOff = q + IP6_DST;
    c.off = p;
    c.len = qend - p;
    pr.ctlinput(prc, c);
  }

  private echoReply(m: Uint8Array, off: number, len: number, pi: PktInfo): void {
    const ns = this.ns;
    const r = new Uint8Array(MAX_HDR + len);
    const o = MAX_HDR;
    r.set(m.subarray(off, off + len), o);
    r[o] = ICMP6_ECHO_REPLY;
    // Reply from the address asked; for a multicast echo, from a source we choose (RFC 4443 §4.2).
    const src = new Uint8Array(16);
    if (pi.mflags & M_MCAST) {
      if (selectSource6(ns, 0, m, pi.srcOff, src, 0, pi.ifp) < 0) return;
    } else {
      src.set(m.subarray(pi.dstOff, pi.dstOff + 16));
    }
    this.stat.icp6s_reflect++;
    this.sendOn(pi.ifp, r, o, len, src, 0, m, pi.srcOff, ns.tun.ip6_defhlim, true);
  }

  /**
   * Checksum the ICMPv6 message at r[o, o+len) and send it to dst. Replies go back
   * through the routing table (`routed`), except link-local/multicast peers which
   * are answered on the interface the request came in on.
   */
  sendOn(
    ifp: Ifnet | null,
    r: Uint8Array,
    o: number,
    len: number,
    src: Uint8Array,
    so: number,
    dst: Uint8Array,
    dOff: number,
    hlim: number,
    routed: boolean,
  ): number {
    const ns = this.ns;
    set16(r, o + 2, 0);
    set16(r, o + 2, finish(sumBytes(r, o, len, in6Pseudo(src, so, dst, dOff, IPPROTO_ICMPV6, len))));
    this.stat.icp6s_outhist[r[o]!]!++;
    let oif = ifp;
    if (routed) {
      const ll = dst[dOff] === 0xfe && (dst[dOff + 1]! & 0xc0) === 0x80;
      if (!ll || oif === null) {
        const rt = rtalloc6(ns, 0, dst, dOff);
        if (rt === null) {
          ns.ip6stat.ip6s_noroute++;
          return -ERRNO.EHOSTUNREACH;
        }
        oif = rt.ifp;
        if (rt.flags & RTF_GATEWAY) {
          // Through a gateway: use the full output path for next-hop resolution.
          const a = this.outArgs;
          a.src = src;
          a.srcOff = so;
          a.dst = dst;
          a.dstOff = dOff;
          a.nxt = IPPROTO_ICMPV6;
          a.hlim = hlim;
          return ip6Output(ns, r, o, len, a);
        }
      }
    }
    if (oif === null) return -ERRNO.EHOSTUNREACH;
    return ip6OutputOn(ns, oif, r, o, len, IPPROTO_ICMPV6, hlim, src, so, dst, dOff);
  }

  private readonly outArgs = newIp6OutArgs();

  /** ppsratecheck for errors (RFC 4443 §2.4(f)). */
  private rateLimited(): boolean {
    const lim = this.tun.errppslimit;
    if (lim <= 0) return false;
    const sec = Math.floor(this.ns.ctx.now() / 1e6);
    if (sec !== this.errWindow) {
      this.errWindow = sec;
      this.errCount = 0;
    }
    return ++this.errCount > lim;
  }

  /**
   * icmp6_error: send an error about the datagram whose IPv6 header is at
   * buf[ip] (`len` bytes of it available). Not sent about ICMPv6 errors or
   * redirects, to multicast or unspecified sources, or (except packet too big and
   * unknown-option parameter problems) about multicast destinations (RFC 4443 §2.4(e)).
   */
  error(
    buf: Uint8Array,
    ip: number,
    len: number,
    type: number,
    code: number,
    param: number,
    ifp: Ifnet | null,
    mflags: number,
  ): void {
    const st = this.stat;
    st.icp6s_error++;
    if (len < IP6_HDR_LEN) return;
    if (mflags & M_MCAST || IN6_IS_ADDR_MULTICAST(buf, ip + IP6_DST)) {
      if (!(type === ICMP6_PACKET_TOO_BIG || (type === ICMP6_PARAM_PROB && code === ICMP6_PARAMPROB_OPTION))) return;
    }
    if (IN6_IS_ADDR_MULTICAST(buf, ip + IP6_SRC) || IN6_IS_ADDR_UNSPECIFIED(buf, ip + IP6_SRC)) return;
    // Is the offending packet itself an ICMPv6 error or a redirect?
    let nxt = buf[ip + IP6_NXT]!;
    let p = ip + IP6_HDR_LEN;
    const end = ip + len;
    while ((nxt === IPPROTO_HOPOPTS || nxt === IPPROTO_DSTOPTS || nxt === IPPROTO_ROUTING) && p + 2 <= end) {
      const hl = (buf[p + 1]! + 1) << 3;
      nxt = buf[p]!;
      p += hl;
    }
    if (nxt === IPPROTO_ICMPV6 && p < end && (buf[p]! < ICMP6_INFOMSG_MASK || buf[p] === ND_REDIRECT)) {
      st.icp6s_canterror++;
      return;
    }
    if (this.rateLimited()) {
      st.icp6s_toofreq++;
      return;
    }
    // Quote as much as fits in the minimum MTU (RFC 4443 §2.4(c)).
    const qlen = Math.min(len, IPV6_MMTU - IP6_HDR_LEN - ICMP6_HDR_LEN);
    const mlen = ICMP6_HDR_LEN + qlen;
    const r = new Uint8Array(MAX_HDR + mlen);
    const o = MAX_HDR;
    r[o] = type;
    r[o + 1] = code;
    r[o + 4] = param >>> 24;
    r[o + 5] = param >>> 16;
    r[o + 6] = param >>> 8;
    r[o + 7] = param;
    r.set(buf.subarray(ip, ip + qlen), o + ICMP6_HDR_LEN);
    // Source: the offending datagram's destination if it was a unicast address of ours.
    const src = new Uint8Array(16);
    const odst = ip + IP6_DST;
    if (!IN6_IS_ADDR_MULTICAST(buf, odst) && isLocal6(this.ns, buf, odst)) src.set(buf.subarray(odst, odst + 16));
    else if (selectSource6(this.ns, 0, buf, ip + IP6_SRC, src, 0, ifp) < 0) return;
    const dst = buf.slice(ip + IP6_SRC, ip + IP6_SRC + 16);
    this.sendOn(ifp, r, o, mlen, src, 0, dst, 0, this.ns.tun.ip6_defhlim, true);
  }
}
