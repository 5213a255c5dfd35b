/**
 * ip6_input (netinet6/ip6_input.c, dest6.c, route6.c): validate the IPv6 header
 * (RFC 8200 §3), decide whether the datagram is ours, walk the extension headers
 * (hop-by-hop and destination options with the unknown-option actions of §4.2,
 * routing headers per §4.4 and RFC 5095, fragments per §4.5) and hand the
 * payload to the upper protocol. Every drop is counted in ip6stat.
 */
import type { Inet6Vnet } from './in6_var.js';
import type { Ifnet } from '../net/if.js';
import { IFF_LOOPBACK } from '../net/if.js';
import type { FrameMeta } from '../net/mbuf.js';
import { M_MCAST } from '../net/mbuf.js';
import { get16 } from '@mcstack/wire';
import { IP6_PLEN, IP6_NXT, IP6_HLIM, IP6_SRC, IP6_DST, IP6_HDR_LEN } from '@mcstack/wire';
import {
  IPPROTO_HOPOPTS,
  IPPROTO_ROUTING,
  IPPROTO_FRAGMENT,
  IPPROTO_NONE,
  IPPROTO_DSTOPTS,
  IP6OPT_PAD1,
  IP6OPT_PADN,
} from '@mcstack/wire';
import {
  IN6_IS_ADDR_MULTICAST,
  IN6_IS_ADDR_V4MAPPED,
  IN6_IS_ADDR_LOOPBACK,
  IN6_IS_ADDR_UNSPECIFIED,
  IN6_IS_ADDR_LINKLOCAL,
  in6AreEqual,
} from '../netinet/in.js';
import {
  ICMP6_PARAM_PROB,
  ICMP6_PARAMPROB_HEADER,
  ICMP6_PARAMPROB_NEXTHEADER,
  ICMP6_PARAMPROB_OPTION,
} from './icmp6.js';
import { inGroup6, isLocal6 } from './in6.js';
import { pktInfo } from '../netinet/ip_input.js';
import { PFIL_PASS } from '../net/pfil.js';

/** ip6_hdrnestlimit: extension headers processed per datagram before giving up. */
export const IP6_HDR_NESTLIMIT = 15;

export function ip6Input(
  ns: Inet6Vnet,
  ifp: Ifnet,
  buf: Uint8Array,
  ip: number,
  len: number,
  meta: FrameMeta | null,
): void {
  const st = ns.ip6stat;
  st.ip6s_total++;
  if (len < IP6_HDR_LEN) {
    st.ip6s_toosmall++;
    return;
  }
  if (buf[ip]! >>> 4 !== 6) {
    st.ip6s_badvers++;
    return;
  }
  st.ip6s_nxthist[buf[ip + IP6_NXT]!]!++;
  const src = ip + IP6_SRC;
  const dst = ip + IP6_DST;
  // RFC 4291 §2.7: a multicast source is impossible; v4-mapped addresses never
  // appear on the wire (RFC 4038 §4.2); ::1 never arrives from outside (§2.5.3).
  if (
    IN6_IS_ADDR_MULTICAST(buf, src) ||
    IN6_IS_ADDR_UNSPECIFIED(buf, dst) ||
    IN6_IS_ADDR_V4MAPPED(buf, src) ||
    IN6_IS_ADDR_V4MAPPED(buf, dst)
  ) {
    st.ip6s_badscope++;
    return;
  }
  if (!(ifp.flags & IFF_LOOPBACK) && (IN6_IS_ADDR_LOOPBACK(buf, src) || IN6_IS_ADDR_LOOPBACK(buf, dst))) {
    st.ip6s_badscope++;
    return;
  }
  const plen = get16(buf, ip + IP6_PLEN);
  if (plen === 0 && buf[ip + IP6_NXT] === IPPROTO_HOPOPTS) {
    st.ip6s_badoptions++;
    return;
  } // jumbograms unsupported
  if (IP6_HDR_LEN + plen > len) {
    st.ip6s_tooshort++;
    return;
  }
  let end = ip + IP6_HDR_LEN + plen; // Ethernet padding beyond the payload is trimmed

  let mflags = 0;
  if (IN6_IS_ADDR_MULTICAST(buf, dst)) {
    if (!inGroup6(ifp, buf, dst)) {
      st.ip6s_notmember++;
      return;
    }
    mflags = M_MCAST;
  } else if (IN6_IS_ADDR_LINKLOCAL(buf, dst)) {
    // A link-local destination must be ours on the interface it arrived on (its zone).
    let ok = (ifp.flags & IFF_LOOPBACK) !== 0 && isLocal6(ns, buf, dst);
    for (const ia of ifp.addrs6)
      if (in6AreEqual(ia.addr, 0, buf, dst)) {
        ok = true;
        break;
      }
    if (!ok) {
      st.ip6s_cantforward++;
      return;
    }
  } else if (!isLocal6(ns, buf, dst)) {
    st.ip6s_cantforward++;
    return;
  }

  let pi = pktInfo(ns, ifp, meta);
  let off = ip + IP6_HDR_LEN;
  let nxtOff = ip + IP6_NXT; // where the current "next header" value lives
  let nxt = buf[nxtOff]!;
  for (let nest = 0; ; nest++) {
    if (nest > IP6_HDR_NESTLIMIT) {
      st.ip6s_toomanyhdr++;
      return;
    }
    switch (nxt) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_DSTOPTS: {
        // RFC 8200 §4.1: hop-by-hop options only immediately after the IPv6 header.
        if (nxt === IPPROTO_HOPOPTS && nxtOff !== ip + IP6_NXT) {
          st.ip6s_badoptions++;
          ns.icmp6.error(buf, ip, end - ip, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER, nxtOff - ip, ifp, mflags);
          return;
        }
        if (off + 2 > end) {
          st.ip6s_tooshort++;
          return;
        }
        const hlen = (buf[off + 1]! + 1) << 3;
        if (off + hlen > end) {
          st.ip6s_tooshort++;
          return;
        }
        if (!processOptions(ns, ifp, buf, ip, off + 2, off + hlen, end, mflags)) return;
        nxtOff = off;
        nxt = buf[off]!;
        off += hlen;
        continue;
      }
      case IPPROTO_ROUTING: {
        if (off + 4 > end) {
          st.ip6s_tooshort++;
          return;
        }
        const hlen = (buf[off + 1]! + 1) << 3;
        if (off + hlen > end) {
          st.ip6s_tooshort++;
          return;
        }
        // RFC 8200 §4.4: with segments left, an unknown (and RFC 5095's deprecated type 0)
        // routing header is a parameter problem pointing at its type; we route nothing.
        if (buf[off + 3] !== 0) {
          st.ip6s_badoptions++;
          ns.icmp6.error(buf, ip, end - ip, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, off + 2 - ip, ifp, mflags);
          return;
        }
        nxtOff = off;
        nxt = buf[off]!;
        off += hlen;
        continue;
      }
      case IPPROTO_FRAGMENT: {
        if (off + 8 > end) {
          st.ip6s_tooshort++;
          return;
        }
        const offlg = get16(buf, off + 2);
        if ((offlg & 0xfff9) === 0) {
          // RFC 6946: an atomic fragment is processed as the datagram it is.
          st.ip6s_atomicfrags++;
          nxtOff = off;
          nxt = buf[off]!;
          off += 8;
          continue;
        }
        const whole = ns.frag6.input(buf, ip, off, nxtOff, end, ifp, mflags);
        if (whole === null) return;
        // Continue in the reassembled datagram: same unfragmentable part, now at 0.
        nxtOff -= ip;
        off -= ip;
        buf = whole;
        ip = 0;
        end = whole.length;
        nxt = buf[nxtOff]!;
        pi = pktInfo(ns, ifp, null);
        pi.reassembled = true;
        continue;
      }
      case IPPROTO_NONE:
        return; // RFC 8200 §4.7: nothing follows
      default: {
        pi.af = 6;
        pi.ipOff = ip;
        pi.src4 = 0;
        pi.dst4 = 0;
        pi.srcOff = ip + IP6_SRC;
        pi.dstOff = ip + IP6_DST;
        pi.ttl = buf[ip + IP6_HLIM]!;
        pi.tos = (get16(buf, ip) >>> 4) & 0xff;
        pi.mflags = mflags;
        // pfil (ip6_input.c's pfil_mbuf_in), after reassembly as in ip_input.
        const ph = ns.pfil6;
        if (ph.nIn !== 0) {
          if (ph.runIn(buf, ip, end - ip, ifp) !== PFIL_PASS) return;
          pi.pf_statekey = ph.pktIn.statekey;
        }
        const pr = ns.protosw6[nxt];
        if (pr === undefined) {
          // rip6_input with no socket: unrecognized next header (RFC 8200 §4, ICMPv6 code 1).
          ns.rip6stat.rip6s_nosock++;
          if (mflags & M_MCAST) ns.rip6stat.rip6s_nosockmcast++;
          ns.icmp6.error(buf, ip, end - ip, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER, nxtOff - ip, ifp, mflags);
          return;
        }
        st.ip6s_delivered++;
        pr.input(buf, off, end - off, pi);
        return;
      }
    }
  }
}

/**
 * Walk a hop-by-hop or destination options area [o, oend). Unknown options act
 * on their two high bits (RFC 8200 §4.2): 00 skip, 01 discard, 10 discard and
 * send a parameter problem (code 2), 11 the same unless the destination was
 * multicast. Returns false when the datagram was dropped.
 */
function processOptions(
  ns: Inet6Vnet,
  ifp: Ifnet,
  buf: Uint8Array,
  ip: number,
  o: number,
  oend: number,
  end: number,
  mflags: number,
): boolean {
  const st = ns.ip6stat;
  while (o < oend) {
    const t = buf[o]!;
    if (t === IP6OPT_PAD1) {
      o++;
      continue;
    }
    if (o + 2 > oend) {
      st.ip6s_toosmall++;
      return false;
    }
    const olen = buf[o + 1]! + 2;
    if (o + olen > oend) {
      st.ip6s_toosmall++;
      return false;
    }
    // PadN and Router Alert (RFC 2711, type 5) are understood; everything else is unknown here.
    if (t !== IP6OPT_PADN && t !== 5) {
      const action = t >>> 6;
      if (action !== 0) {
        st.ip6s_badoptions++;
        if (action === 2 || (action === 3 && !(mflags & M_MCAST))) {
          ns.icmp6.error(buf, ip, end - ip, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_OPTION, o - ip, ifp, 0);
        }
        return false;
      }
    }
    o += olen;
  }
  return true;
}
