/**
 * ICMP (RFC 792, netinet/ip_icmp.c): echo and timestamp replies, errors turned
 * into the quoted protocol's pr_ctlinput, and icmp_error for the errors this host
 * sends (port/protocol unreachable, reassembly time exceeded), rate-limited by
 * badport_bandlim with net.inet.icmp.icmplim per second (also TCP's RSTs, ICMPv6 unreachables).
 */
import type { InetVnet } from './in_var.js';
import type { Ifnet } from '../net/if.js';
import { M_BCAST, M_MCAST, MAX_HDR } from '../net/mbuf.js';
import { LOG_NOTICE } from '../kern/msgbuf.js';
import type { PktInfo } from './ip_var.js';
import { newIpOutArgs } from './ip_var.js';
import { rtredirect4 } from '../net/route.js';
import { newCtlInput } from '../net/protosw.js';
import {
  PRC_UNREACH_NET,
  PRC_MSGSIZE,
  PRC_UNREACH_PORT,
  PRC_UNREACH_ADMIN_PROHIB,
  PRC_TIMXCEED_INTRANS,
  PRC_PARAMPROB,
  PRC_QUENCH,
} from '../net/protosw.js';
import { get16, get32, set16 } from '@mcstack/wire';
import { sumBytes, finish, fold } from '@mcstack/wire';
import {
  IP_HDR_LEN,
  IP_LEN,
  IP_OFF,
  IP_P,
  IP_SRC,
  IP_DST,
  IP_TOS,
  IP_MF,
  IPPROTO_ICMP,
  IPPROTO_TCP,
} from '@mcstack/wire';
import {
  ICMP_ECHOREPLY,
  ICMP_UNREACH,
  ICMP_UNREACH_NET,
  ICMP_UNREACH_HOST,
  ICMP_UNREACH_PROTOCOL,
  ICMP_UNREACH_PORT,
  ICMP_UNREACH_NEEDFRAG,
  ICMP_UNREACH_SRCFAIL,
  ICMP_ECHO,
  ICMP_TIMXCEED,
  ICMP_TIMXCEED_INTRANS,
  ICMP_TIMXCEED_REASS,
  ICMP_MINLEN,
} from '@mcstack/wire';
import { IN_MULTICAST, IN_EXPERIMENTAL, IN_ZERONET, INADDR_BROADCAST, ifaddr4For, isLocal4 } from './in.js';
import { ipOutput } from './ip_output.js';

export const ICMP_UNREACH_NET_UNKNOWN = 6;
export const ICMP_UNREACH_HOST_UNKNOWN = 7;
export const ICMP_UNREACH_ISOLATED = 8;
export const ICMP_UNREACH_NET_PROHIB = 9;
export const ICMP_UNREACH_HOST_PROHIB = 10;
export const ICMP_UNREACH_TOSNET = 11;
export const ICMP_UNREACH_TOSHOST = 12;
export const ICMP_UNREACH_FILTER_PROHIB = 13;
export const ICMP_UNREACH_HOST_PRECEDENCE = 14;
export const ICMP_UNREACH_PRECEDENCE_CUTOFF = 15;
export {
  ICMP_ECHOREPLY,
  ICMP_UNREACH,
  ICMP_UNREACH_NET,
  ICMP_UNREACH_HOST,
  ICMP_UNREACH_PROTOCOL,
  ICMP_UNREACH_PORT,
  ICMP_UNREACH_NEEDFRAG,
  ICMP_UNREACH_SRCFAIL,
  ICMP_ECHO,
  ICMP_TIMXCEED,
  ICMP_TIMXCEED_INTRANS,
  ICMP_TIMXCEED_REASS,
  ICMP_MINLEN,
};
export const ICMP_SOURCEQUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ROUTERADVERT = 9;
export const ICMP_ROUTERSOLICIT = 10;
export const ICMP_PARAMPROB = 12;
export const ICMP_TSTAMP = 13;
export const ICMP_TSTAMPREPLY = 14;
export const ICMP_IREQ = 15;
export const ICMP_IREQREPLY = 16;
export const ICMP_MASKREQ = 17;
export const ICMP_MASKREPLY = 18;
export const ICMP_MAXTYPE = 40;

/** Shortest error worth looking at: ICMP header + IP header + 8 bytes (ICMP_ADVLENMIN). */
export const ICMP_ADVLENMIN = 8 + IP_HDR_LEN + 8;

/** Is this an informational (query) type, which an error may be sent about? (ICMP_INFOTYPE) */
export function ICMP_INFOTYPE(t: number): boolean {
  return (
    t === ICMP_ECHOREPLY ||
    t === ICMP_ECHO ||
    t === ICMP_ROUTERADVERT ||
    t === ICMP_ROUTERSOLICIT ||
    t === ICMP_TSTAMP ||
    t === ICMP_TSTAMPREPLY ||
    t === ICMP_IREQ ||
    t === ICMP_IREQREPLY ||
    t === ICMP_MASKREQ ||
    t === ICMP_MASKREPLY
  );
}

/** badport_bandlim classes (netinet/icmp_var.h); BANDLIM_UNLIMITED is never limited. */
export const BANDLIM_UNLIMITED = -1;
export const BANDLIM_ICMP_UNREACH = 0;
export const BANDLIM_ICMP_ECHO = 1;
export const BANDLIM_ICMP_TSTAMP = 2;
export const BANDLIM_RST_CLOSEDPORT = 3;
export const BANDLIM_RST_OPENPORT = 4;
export const BANDLIM_ICMP6_UNREACH = 5;
export const BANDLIM_SCTP_OOTB = 6;
export const BANDLIM_MAX = 7;
/** icmp_rate_descrs (ip_icmp.c): the names the rate-limit log message uses. */
const BANDLIM_DESCR = [
  'icmp unreach',
  'icmp ping',
  'icmp tstamp',
  'closed port RST',
  'open port RST',
  'icmp6 unreach',
  'sctp ootb',
];

/** struct icmpstat. */
export class IcmpStat {
  icps_error = 0; // calls to icmp_error
  icps_oldshort = 0; // no error because old ip too short
  icps_oldicmp = 0; // no error because old was icmp
  icps_outhist = new Array<number>(ICMP_MAXTYPE + 1).fill(0);
  icps_badcode = 0; // icmp_code out of range
  icps_tooshort = 0; // packet < ICMP_MINLEN
  icps_checksum = 0; // bad checksum
  icps_badlen = 0; // calculated bound mismatch
  icps_reflect = 0; // number of responses
  icps_inhist = new Array<number>(ICMP_MAXTYPE + 1).fill(0);
  icps_bmcastecho = 0; // b/mcast echo requests dropped
  icps_bmcasttstamp = 0;
  icps_badaddr = 0; // bad return address
  icps_noroute = 0; // no route back
}

export class Icmp {
  readonly stat = new IcmpStat();
  readonly tun = {
    icmplim: 200,
    icmplim_output: 1,
    bmcastecho: 0,
    tstamprepl: 1,
    quotelen: 8,
    /** net.inet.icmp.drop_redirect: ignore redirects (0: act on them, in every FIB). */
    drop_redirect: 0,
  };
  /** Per-class counts for the current one-second window (ppsratecheck). */
  private lim = new Array<number>(BANDLIM_MAX).fill(0);
  private limWindow = new Array<number>(BANDLIM_MAX).fill(-1);
  /** Responses suppressed per class (FreeBSD only logs them). */
  readonly limited = new Array<number>(BANDLIM_MAX).fill(0);
  private readonly ctl = newCtlInput(4);
  private readonly out = newIpOutArgs();

  constructor(private readonly ns: InetVnet) {}

  /**
   * badport_bandlim: true when a response of class `which` must be suppressed because
   * icmplim responses of that class were already sent this second (0 disables the
   * limit). When a second in which responses were suppressed is over, and
   * net.inet.icmp.icmplim_output is set, the first call logs what FreeBSD logs
   * (counter_ratecheck reports the past second's count once it rolls over).
   */
  badportBandlim(which: number): boolean {
    const lim = this.tun.icmplim;
    if (lim <= 0 || which === BANDLIM_UNLIMITED) return false;
    const sec = Math.floor(this.ns.ctx.now() / 1e6);
    if (this.limWindow[which] !== sec) {
      const pps = this.lim[which]!;
      if (pps > lim && this.tun.icmplim_output)
        this.ns.ctx.log?.(LOG_NOTICE, `Limiting ${BANDLIM_DESCR[which]} response from ${pps} to ${lim} packets/sec`);
      this.limWindow[which] = sec;
      this.lim[which] = 0;
    }
    if (++this.lim[which]! > lim) {
      this.limited[which]!++;
      return true;
    }
    return false;
  }

  /** pr_input for IPPROTO_ICMP. */
  input(m: Uint8Array, off: number, len: number, pi: PktInfo): void {
    const st = this.stat;
    if (len < ICMP_MINLEN) {
      st.icps_tooshort++;
      return;
    }
    if (fold(sumBytes(m, off, len)) !== 0xffff) {
      st.icps_checksum++;
      return;
    }
    const type = m[off]!;
    let code = m[off + 1]!;
    if (type <= ICMP_MAXTYPE) st.icps_inhist[type]!++;
    switch (type) {
      case ICMP_UNREACH:
        switch (code) {
          case ICMP_UNREACH_NET:
          case ICMP_UNREACH_HOST:
          case ICMP_UNREACH_SRCFAIL:
          case ICMP_UNREACH_NET_UNKNOWN:
          case ICMP_UNREACH_HOST_UNKNOWN:
          case ICMP_UNREACH_ISOLATED:
          case ICMP_UNREACH_TOSNET:
          case ICMP_UNREACH_TOSHOST:
          case ICMP_UNREACH_HOST_PRECEDENCE:
          case ICMP_UNREACH_PRECEDENCE_CUTOFF:
            code = PRC_UNREACH_NET;
            break;
          case ICMP_UNREACH_NEEDFRAG:
            code = PRC_MSGSIZE;
            break;
          // RFC 1122 §3.2.2.1, §4.2.3.9: protocol and port unreachable are hard errors.
          case ICMP_UNREACH_PROTOCOL:
          case ICMP_UNREACH_PORT:
            code = PRC_UNREACH_PORT;
            break;
          case ICMP_UNREACH_NET_PROHIB:
          case ICMP_UNREACH_HOST_PROHIB:
          case ICMP_UNREACH_FILTER_PROHIB:
            code = PRC_UNREACH_ADMIN_PROHIB;
            break;
          default:
            st.icps_badcode++;
            return;
        }
        this.deliver(m, off, len, type, code);
        return;
      case ICMP_TIMXCEED:
        if (code > 1) {
          st.icps_badcode++;
          return;
        }
        this.deliver(m, off, len, type, PRC_TIMXCEED_INTRANS + code);
        return;
      case ICMP_PARAMPROB:
        if (code > 1) {
          st.icps_badcode++;
          return;
        }
        this.deliver(m, off, len, type, PRC_PARAMPROB);
        return;
      case ICMP_SOURCEQUENCH:
        // Delivered as FreeBSD does; RFC 6633 says transports ignore it, and TCP does.
        if (code !== 0) {
          st.icps_badcode++;
          return;
        }
        this.deliver(m, off, len, type, PRC_QUENCH);
        return;
      case ICMP_ECHO:
        if (!this.tun.bmcastecho && pi.mflags & (M_BCAST | M_MCAST)) {
          st.icps_bmcastecho++;
          return;
        }
        if (this.badportBandlim(BANDLIM_ICMP_ECHO)) return;
        this.reflect(m, off, len, pi, ICMP_ECHOREPLY);
        return;
      case ICMP_TSTAMP:
        if (!this.tun.tstamprepl) return;
        if (!this.tun.bmcastecho && pi.mflags & (M_BCAST | M_MCAST)) {
          st.icps_bmcasttstamp++;
          return;
        }
        if (len < 20) {
          st.icps_badlen++;
          return;
        }
        if (this.badportBandlim(BANDLIM_ICMP_TSTAMP)) return;
        this.reflect(m, off, 20, pi, ICMP_TSTAMPREPLY);
        return;
      case ICMP_REDIRECT: {
        if (code > 3) {
          st.icps_badcode++;
          return;
        }
        if (this.tun.drop_redirect) return;
        const q = off + ICMP_MINLEN;
        if (len < ICMP_ADVLENMIN || (m[q]! & 0x0f) << 2 < IP_HDR_LEN || len < ICMP_MINLEN + ((m[q]! & 0x0f) << 2) + 8) {
          st.icps_badlen++;
          return;
        }
        // icmp_input: a host redirect for the quoted datagram's destination, in every FIB
        // (the multiple-FIB change notes: redirect information goes to all of them).
        const gw = get32(m, off + 4);
        const dst = get32(m, q + IP_DST);
        const src = get32(m, pi.srcOff);
        for (let fib = 0; fib < this.ns.fibs.length; fib++) rtredirect4(this.ns, fib, dst, gw, src);
        return;
      }
      default:
        // Replies, router discovery: raw sockets only.
        return;
    }
  }

  /** Hand an ICMP error to the protocol of the datagram it quotes. */
  private deliver(m: Uint8Array, off: number, len: number, type: number, prc: number): void {
    const st = this.stat;
    const q = off + ICMP_MINLEN;
    const qhl = len >= ICMP_MINLEN + 1 ? (m[q]! & 0x0f) << 2 : 0;
    if (len < ICMP_ADVLENMIN || qhl < IP_HDR_LEN || len < ICMP_MINLEN + qhl + 8 || m[q]! >>> 4 !== 4) {
      st.icps_badlen++;
      return;
    }
    const qdst = get32(m, q + IP_DST);
    if (IN_MULTICAST(qdst)) {
      st.icps_badcode++;
      return;
    }
    const pr = this.ns.protosw4[m[q + IP_P]!];
    if (!pr?.ctlinput) return;
    const c = this.ctl;
    c.af = 4;
    c.icmpType = type;
    c.icmpCode = m[off + 1]!;
    c.mtu = prc === PRC_MSGSIZE ? get16(m, off + 6) : 0;
    c.buf = m;
    c.ipOff = q;
    c.src4 = get32(m, q + IP_SRC);
    c.dst4 = qdst;
    c.srcOff = q + IP_SRC;
    c.dstOff = q + IP_DST;
    c.off = q + qhl;
    c.len = len - ICMP_MINLEN - qhl;
    pr.ctlinput(prc, c);
  }

  /** icmp_reflect: answer a query with `replyType`, addresses swapped. */
  private reflect(m: Uint8Array, off: number, len: number, pi: PktInfo, replyType: number): void {
    const st = this.stat;
    const src = pi.src4;
    if (IN_MULTICAST(src) || IN_EXPERIMENTAL(src) || IN_ZERONET(src)) {
      st.icps_badaddr++;
      return;
    }
    // Answer from the address asked, or for a broadcast/multicast from the receiving interface.
    let from = pi.dst4;
    if (pi.mflags & (M_BCAST | M_MCAST)) {
      const ia = ifaddr4For(pi.ifp, src);
      if (ia === null) {
        st.icps_noroute++;
        return;
      }
      from = ia.addr;
    }
    const r = new Uint8Array(MAX_HDR + len);
    r.set(m.subarray(off, off + len), MAX_HDR);
    r[MAX_HDR] = replyType;
    if (replyType === ICMP_TSTAMPREPLY) {
      const ms = Math.floor(this.ns.ctx.now() / 1000) % 86400000; // iptime(): ms since midnight UT
      set16(r, MAX_HDR + 12, ms >>> 16);
      set16(r, MAX_HDR + 14, ms & 0xffff);
      set16(r, MAX_HDR + 16, ms >>> 16);
      set16(r, MAX_HDR + 18, ms & 0xffff);
    }
    set16(r, MAX_HDR + 2, 0);
    set16(r, MAX_HDR + 2, finish(sumBytes(r, MAX_HDR, len)));
    st.icps_reflect++;
    st.icps_outhist[replyType]!++;
    this.send(r, MAX_HDR, len, from, src, pi.tos, pi.ifp.fib);
  }

  /** ip_output of a reply or an error, in the FIB of the packet that drew it (icmp_reflect's M_GETFIB). */
  private send(r: Uint8Array, off: number, len: number, src: number, dst: number, tos: number, fib: number): number {
    const o = this.out;
    o.src = src;
    o.dst = dst;
    o.proto = IPPROTO_ICMP;
    o.ttl = this.ns.tun.ip_defttl;
    o.tos = tos;
    o.df = false;
    o.csumFlags = 0;
    o.csumOffset = 0;
    o.fib = fib;
    const e = ipOutput(this.ns, r, off, len, o);
    if (e < 0) this.stat.icps_noroute++;
    return e;
  }

  /**
   * icmp_error: send an error of `type`/`code` about the datagram whose IPv4 header
   * is at buf[ipOff] (with `len` bytes of it available). `arg` is the next-hop MTU
   * for ICMP_UNREACH_NEEDFRAG or the pointer for ICMP_PARAMPROB. Not sent about
   * ICMP errors, non-first fragments, broadcasts/multicasts or impossible sources
   * (RFC 1122 §3.2.2).
   */
  error(
    buf: Uint8Array,
    ipOff: number,
    len: number,
    type: number,
    code: number,
    arg: number,
    ifp: Ifnet | null,
    mflags = 0,
  ): void {
    const st = this.stat;
    st.icps_error++;
    const hl = (buf[ipOff]! & 0x0f) << 2;
    if (get16(buf, ipOff + IP_OFF) & ~(IP_MF | 0x4000)) return; // not fragment zero
    if (mflags & (M_BCAST | M_MCAST)) return;
    const osrc = get32(buf, ipOff + IP_SRC);
    const odst = get32(buf, ipOff + IP_DST);
    if (IN_MULTICAST(osrc) || IN_EXPERIMENTAL(osrc) || IN_ZERONET(osrc) || osrc === INADDR_BROADCAST) return;
    if (IN_MULTICAST(odst) || odst === INADDR_BROADCAST) return;
    if (len < hl + ICMP_MINLEN) {
      st.icps_oldshort++;
      return;
    }
    if (buf[ipOff + IP_P] === IPPROTO_ICMP && type !== ICMP_REDIRECT && !ICMP_INFOTYPE(buf[ipOff + hl]!)) {
      st.icps_oldicmp++;
      return;
    }
    const ipLen = get16(buf, ipOff + IP_LEN);
    let elen = Math.min(this.tun.quotelen, ipLen - hl);
    // Quote the whole TCP header when there is one, so the sender can match it (FreeBSD).
    if (buf[ipOff + IP_P] === IPPROTO_TCP && len >= hl + 13) {
      const thl = (buf[ipOff + hl + 12]! >>> 4) << 2;
      elen = Math.max(elen, Math.min(thl, ipLen - hl));
    }
    elen = Math.min(elen, len - hl);
    const icmpLen = ICMP_MINLEN + hl + elen;
    const r = new Uint8Array(MAX_HDR + icmpLen);
    const o = MAX_HDR;
    r[o] = type;
    r[o + 1] = code;
    if (type === ICMP_UNREACH && code === ICMP_UNREACH_NEEDFRAG) set16(r, o + 6, arg);
    else if (type === ICMP_PARAMPROB) r[o + 4] = arg;
    r.set(buf.subarray(ipOff, ipOff + hl + elen), o + ICMP_MINLEN);
    set16(r, o + 2, finish(sumBytes(r, o, icmpLen)));
    st.icps_outhist[type]!++;
    // Source: the address the offending datagram was sent to if it is ours (icmp_reflect).
    const from = isLocal4(this.ns, odst) ? odst : 0;
    this.send(r, o, icmpLen, from, osrc, buf[ipOff + IP_TOS]! & 0xfc, ifp?.fib ?? 0);
  }
}

/** The MTU plateaus of RFC 1191 §7, with 1280 added (IPv6's minimum, common on tunnels), as FreeBSD's table. */
const MTUTAB = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1280, 1006, 508, 296, 68, 0];

/**
 * ip_next_mtu: the next plateau below `mtu` (dir >= 0) or above it (dir < 0); 0 when
 * there is none.
 */
export function ipNextMtu(mtu: number, dir: number): number {
  if (dir >= 0) {
    for (const m of MTUTAB) if (mtu > m) return m;
  } else {
    for (let i = MTUTAB.length - 1; i >= 0; i--) if (mtu < MTUTAB[i]!) return MTUTAB[i]!;
    if (mtu === MTUTAB[0]) return MTUTAB[0];
  }
  return 0;
}
