/**
 * UDP over IPv4 and IPv6 (RFC 768; netinet/udp_usrreq.c, netinet6/udp6_usrreq.c):
 * the pr_usrreqs of datagram sockets (bind, connect, sendto, recvfrom with the
 * sender's address), udp_input with its pcb lookup, checksum and length checks,
 * ICMP port unreachable for closed ports (rate-limited by badport_bandlim, or
 * silent with net.inet.udp.blackhole), and ctlinput turning ICMP errors into
 * so_error on connected sockets, as in_pcbnotify does.
 *
 * Plug it into an engine with `udpAttach(net, sockets, random, sysctl)`.
 */
import type { Inet6Vnet } from '../netinet6/in6_var.js';
import type { CtlInput } from '../net/protosw.js';
import { inetctlerrmap, registerProtocol } from '../net/protosw.js';
import { MAX_HDR, CSUM_UDP, CSUM_UDP_IPV6, CSUM_DATA_VALID, CSUM_PSEUDO_HDR, M_BCAST, M_MCAST } from '../net/mbuf.js';
import type { RandomSource } from '../kern/random.js';
import type { SysctlTree } from '../kern/sysctl.js';
import { ERRNO } from '../kern/errno.js';
import { type UmaZone, itemSize } from '../kern/uma.js';
import {
  type Socket,
  type SocketLayer,
  AF_INET6,
  SO_BROADCAST,
  SOL_SOCKET,
  MSG_PEEK,
  SBS_CANTRCVMORE,
  SBS_CANTSENDMORE,
} from '../kern/uipc_socket.js';
import type { PrUsrreqs, SockAddr, SockoptValue } from '../kern/uipc_socket.js';
import {
  Inpcb,
  InpcbInfo,
  addrIsUnspec,
  addrIsV4Mapped,
  IN6P_IPV6_V6ONLY,
  inPcbSetsockopt,
} from '../netinet/in_pcb.js';
import type { PktInfo } from '../netinet/ip_var.js';
import { newIpOutArgs } from '../netinet/ip_var.js';
import { newIp6OutArgs } from '../netinet6/ip6_var.js';
import {
  inPseudo,
  in6Pseudo,
  inetNtoa,
  ip6Sprintf,
  IN_MULTICAST,
  isLocal4,
  selectSource4,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_UDP,
  IP_TOS,
  IP_TTL,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  IPV6_TCLASS,
} from '../netinet/in.js';
import { ICMP_UNREACH, ICMP_UNREACH_PORT, BANDLIM_ICMP_UNREACH, BANDLIM_ICMP6_UNREACH } from '../netinet/ip_icmp.js';
import { ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT } from '../netinet6/icmp6.js';
import { UdpStat, defaultUdpTunables, UDP_HDR_LEN } from './var.js';
import type { UdpTunables } from './var.js';
import { get16, set16 } from '@mcstack/wire';
import { formatIPv4, formatIPv6 } from '@mcstack/wire';
import { LOG_INFO } from '../kern/msgbuf.js';
import { sumBytes, fold, pseudoHeaderSum4, pseudoHeaderSum6 } from '@mcstack/wire';
import { isLocal6, selectSource6 } from '../netinet6/in6.js';
import { ipOutput } from '../netinet/ip_output.js';
import { ip6Output } from '../netinet6/ip6_output.js';

/** A queued datagram with its sender (what sbappendaddr stores). */
interface Dgram {
  data: Uint8Array;
  from: Uint8Array;
  v4: boolean;
  port: number;
}

/** Per-socket UDP state: the pcb and the datagram queue behind so_rcv. */
class UdpCb {
  readonly q: Dgram[] = [];
  qhead = 0;
  constructor(readonly inp: Inpcb) {}
}

export class Udp implements PrUsrreqs {
  readonly stat = new UdpStat();
  readonly t: UdpTunables = defaultUdpTunables();
  /** FreeBSD's "udp_inpcb" zone. */
  readonly zone: UmaZone;
  readonly pcbinfo: InpcbInfo;
  private cbs = new WeakMap<Socket, UdpCb>();
  private byInp = new WeakMap<Inpcb, Socket>();
  /** One output buffer for every send: ip_output is synchronous and copies what it keeps. */
  private obuf = new Uint8Array(MAX_HDR + UDP_HDR_LEN + 65535);
  private readonly o4 = newIpOutArgs();
  private readonly o6 = newIp6OutArgs();
  private readonly addr = new Uint8Array(16);
  private readonly src = new Uint8Array(16);
  /**
   * udp_set_kernel_tunneling: datagrams to `port()` (when not 0) go to `input` once
   * their length and checksum are checked, UDP header first (TCP over UDP, tcp/tunnel.ts).
   */
  tunnel: { port(): number; input(m: Uint8Array, off: number, len: number, pi: PktInfo): void } | null = null;

  constructor(
    readonly net: Inet6Vnet,
    readonly sockets: SocketLayer,
    random: RandomSource,
  ) {
    this.pcbinfo = new InpcbInfo(random, 1 << 10);
    this.pcbinfo.range = net.portrange;
    this.zone = sockets.uma.create('udp_inpcb', 0);
    this.o4.proto = IPPROTO_UDP;
    this.o6.nxt = IPPROTO_UDP;
  }

  private cb(so: Socket): UdpCb | null {
    return this.cbs.get(so) ?? null;
  }

  /* ------------------------------------------------------------ pr_usrreqs */

  attach(so: Socket): number {
    // in_pcballoc: ENOBUFS when the zone refuses.
    if (!this.zone.alloc()) return -ERRNO.ENOBUFS;
    const inp = new Inpcb(this.pcbinfo, so, so.domain === AF_INET6);
    if (this.zone.size === 0) this.zone.size = itemSize(inp);
    // in6_pcballoc: new IPv6 sockets are IPv6-only unless net.inet6.ip6.v6only is 0.
    if (inp.isV6 && this.net.tun.ip6_v6only) inp.inp_flags |= IN6P_IPV6_V6ONLY;
    so.so_pcb = inp;
    so.so_snd.reserve(this.t.maxdgram);
    so.so_rcv.reserve(this.t.recvspace);
    this.cbs.set(so, new UdpCb(inp));
    this.byInp.set(inp, so);
    return 0;
  }

  /** in_pcbbind: `addr` is 4 or 16 bytes (alen); port 0 picks an ephemeral port. */
  bind(so: Socket, addr: Uint8Array, alen: number, port: number): number {
    const inp = so.so_pcb;
    if (!inp) return -ERRNO.EINVAL;
    if (inp.inp_lport !== 0 || !addrIsUnspec(inp.inp_laddr)) return -ERRNO.EINVAL;
    const la = this.addr;
    la.fill(0);
    if (alen === 4) {
      la[10] = 0xff;
      la[11] = 0xff;
      la.set(addr.subarray(0, 4), 12);
    } else la.set(addr.subarray(0, 16));
    if (!addrIsUnspec(la) && !this.isLocalOrMcast(la)) return -ERRNO.EADDRNOTAVAIL;
    if (inp.inp_flags & IN6P_IPV6_V6ONLY && addrIsV4Mapped(la)) return -ERRNO.EINVAL;
    if (port === 0) {
      port = this.pcbinfo.allocPort(inp, la, null, 0);
      if (port === 0) return -ERRNO.EADDRNOTAVAIL;
    } else if (this.pcbinfo.bindConflict(inp, la, port, so.so_options)) {
      return -ERRNO.EADDRINUSE;
    }
    inp.setLaddr(la);
    inp.inp_lport = port;
    this.pcbinfo.insPort(inp);
    return 0;
  }

  listen(): number {
    return -ERRNO.EOPNOTSUPP;
  }

  /** in_pcbconnect: fix the peer; an unbound socket gets its source address and port now. */
  connect(so: Socket, addr: Uint8Array, alen: number, port: number): number {
    const inp = so.so_pcb;
    if (!inp) return -ERRNO.EINVAL;
    if (inp.connected) return -ERRNO.EISCONN;
    const fa = this.addr;
    fa.fill(0);
    if (alen === 4) {
      fa[10] = 0xff;
      fa[11] = 0xff;
      fa.set(addr.subarray(0, 4), 12);
    } else fa.set(addr.subarray(0, 16));
    if (inp.inp_flags & IN6P_IPV6_V6ONLY && addrIsV4Mapped(fa)) return -ERRNO.EAFNOSUPPORT;
    const la = this.src;
    la.set(inp.inp_laddr);
    if (addrIsUnspec(la)) {
      const e = this.selectSource(fa, la, inp.inc_fibnum);
      if (e < 0) return e;
    }
    const lport = this.pcbinfo.connectPort(inp, la, fa, port);
    if (lport < 0) return lport;
    inp.setLaddr(la);
    inp.setFaddr(fa);
    inp.inp_fport = port;
    if (!inp.inPortHash) {
      inp.inp_lport = lport;
      this.pcbinfo.insPort(inp);
    }
    this.pcbinfo.insHash(inp);
    so.isConnected();
    return 0;
  }

  send(): number {
    return -ERRNO.EOPNOTSUPP;
  }
  rcvd(): void {}

  shutdown(so: Socket): number {
    so.cantSendMore();
    return 0;
  }

  close(so: Socket): void {
    this.detach(so);
  }
  abort(so: Socket): void {
    this.detach(so);
  }

  private detach(so: Socket): void {
    const inp = so.so_pcb;
    if (inp) {
      this.pcbinfo.remove(inp);
      this.zone.free();
    }
    const cb = this.cb(so);
    if (cb) {
      cb.q.length = 0;
      cb.qhead = 0;
    }
    so.so_rcv.sb_cc = 0;
    so.so_pcb = null;
  }

  ctloutput(so: Socket, set: boolean, level: number, name: number, value: SockoptValue | undefined): SockoptValue {
    const inp = so.so_pcb;
    if (!inp) return -ERRNO.EINVAL;
    if (level === SOL_SOCKET) {
      if (set) inPcbSetsockopt(inp, name);
      return 0;
    }
    const v = typeof value === 'number' ? value : NaN;
    if (set && !Number.isInteger(v)) return -ERRNO.EINVAL;
    if (level === IPPROTO_IP && !inp.isV6) {
      if (name === IP_TOS) {
        if (!set) return inp.inp_ip_tos;
        if (v < 0 || v > 255) return -ERRNO.EINVAL;
        inp.inp_ip_tos = v;
        return 0;
      }
      if (name === IP_TTL) {
        if (!set) return inp.inp_ip_ttl < 0 ? this.net.tun.ip_defttl : inp.inp_ip_ttl;
        if (v < -1 || v > 255) return -ERRNO.EINVAL;
        inp.inp_ip_ttl = v;
        return 0;
      }
    }
    if (level === IPPROTO_IPV6 && inp.isV6) {
      if (name === IPV6_UNICAST_HOPS) {
        if (!set) return inp.inp_ip_ttl < 0 ? this.net.tun.ip6_defhlim : inp.inp_ip_ttl;
        if (v < -1 || v > 255) return -ERRNO.EINVAL;
        inp.inp_ip_ttl = v;
        return 0;
      }
      if (name === IPV6_TCLASS) {
        if (!set) return inp.inp_ip_tos;
        if (v < -1 || v > 255) return -ERRNO.EINVAL;
        inp.inp_ip_tos = Math.max(v, 0);
        return 0;
      }
      if (name === IPV6_V6ONLY) {
        if (!set) return inp.inp_flags & IN6P_IPV6_V6ONLY ? 1 : 0;
        if (inp.inp_lport !== 0) return -ERRNO.EINVAL;
        if (v) inp.inp_flags |= IN6P_IPV6_V6ONLY;
        else inp.inp_flags &= ~IN6P_IPV6_V6ONLY;
        return 0;
      }
    }
    return -ERRNO.ENOPROTOOPT;
  }

  sockaddr(so: Socket, peer: boolean): SockAddr | number {
    const inp = so.so_pcb;
    if (!inp) return -ERRNO.EINVAL;
    const a = peer ? inp.inp_faddr : inp.inp_laddr;
    return { addr: this.text(a, inp.isV6), port: peer ? inp.inp_fport : inp.inp_lport };
  }

  private text(a: Uint8Array, v6sock: boolean): string {
    if (addrIsV4Mapped(a) || (!v6sock && addrIsUnspec(a))) {
      const v = ((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0;
      return v6sock ? `::ffff:${inetNtoa(v)}` : inetNtoa(v);
    }
    return ip6Sprintf(a);
  }

  private isLocalOrMcast(a: Uint8Array): boolean {
    if (addrIsV4Mapped(a)) {
      const v = ((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0;
      return IN_MULTICAST(v) || isLocal4(this.net, v);
    }
    return a[0] === 0xff || isLocal6(this.net, a, 0);
  }

  /** The source address toward fa (16-byte form) into out; 0 or -errno. */
  private selectSource(fa: Uint8Array, out: Uint8Array, fib: number): number {
    if (addrIsV4Mapped(fa)) {
      const s = selectSource4(this.net, fib, ((fa[12]! << 24) | (fa[13]! << 16) | (fa[14]! << 8) | fa[15]!) >>> 0);
      if (s < 0) return s;
      out.fill(0);
      out[10] = 0xff;
      out[11] = 0xff;
      out[12] = s >>> 24;
      out[13] = s >>> 16;
      out[14] = s >>> 8;
      out[15] = s;
      return 0;
    }
    return selectSource6(this.net, fib, fa, 0, out, 0);
  }

  /**
   * udp_send / udp_output: one datagram to `to` (or the connected peer). Returns
   * the length sent or -errno: EMSGSIZE (over SO_SNDBUF, net.inet.udp.maxdgram),
   * EISCONN (address on a connected socket), ENOTCONN (no address), EACCES
   * (broadcast without SO_BROADCAST), routing errors from ip_output.
   */
  sosend(so: Socket, data: Uint8Array, off: number, len: number, _flags: number, to: SockAddr | undefined): number {
    const inp = so.so_pcb;
    if (!inp) return -ERRNO.EINVAL;
    if (so.so_snd.sb_state & SBS_CANTSENDMORE) return -ERRNO.EPIPE;
    if (len > so.so_snd.sb_hiwat || len + UDP_HDR_LEN > 65535) return -ERRNO.EMSGSIZE;
    const fa = this.addr;
    let fport: number;
    if (to !== undefined) {
      if (inp.connected) return -ERRNO.EISCONN;
      const alen = this.sockets.parseAddr(so, to.addr, fa as Uint8Array<ArrayBuffer>);
      if (alen < 0) return alen;
      if (alen === 4) {
        fa.copyWithin(12, 0, 4);
        fa.fill(0, 0, 10);
        fa[10] = 0xff;
        fa[11] = 0xff;
      }
      if (!Number.isInteger(to.port) || to.port <= 0 || to.port > 65535) return -ERRNO.EADDRNOTAVAIL;
      fport = to.port;
      if (inp.inp_flags & IN6P_IPV6_V6ONLY && addrIsV4Mapped(fa)) return -ERRNO.EAFNOSUPPORT;
    } else {
      if (!inp.connected) return -ERRNO.ENOTCONN;
      fa.set(inp.inp_faddr);
      fport = inp.inp_fport;
    }
    // Report a pending asynchronous error (an ICMP error on a connected socket) first.
    if (so.so_error !== 0) {
      const e = so.so_error;
      so.so_error = 0;
      return -e;
    }
    const la = this.src;
    la.set(inp.inp_laddr);
    if (addrIsUnspec(la)) {
      const e = this.selectSource(fa, la, inp.inc_fibnum);
      if (e < 0) return e;
    }
    if (inp.inp_lport === 0) {
      // An implicit bind to the wildcard address and an ephemeral port (in_pcbbind).
      const p = this.pcbinfo.allocPort(inp, inp.inp_laddr, null, 0);
      if (p === 0) return -ERRNO.EADDRNOTAVAIL;
      inp.inp_lport = p;
      this.pcbinfo.insPort(inp);
    }
    const b = this.obuf;
    const o = MAX_HDR;
    const ulen = UDP_HDR_LEN + len;
    set16(b, o, inp.inp_lport);
    set16(b, o + 2, fport);
    set16(b, o + 4, ulen);
    b.set(data.subarray(off, off + len), o + UDP_HDR_LEN);
    this.stat.udps_opackets++;
    let e: number;
    if (addrIsV4Mapped(fa)) {
      const a = this.o4;
      a.src = ((la[12]! << 24) | (la[13]! << 16) | (la[14]! << 8) | la[15]!) >>> 0;
      a.dst = ((fa[12]! << 24) | (fa[13]! << 16) | (fa[14]! << 8) | fa[15]!) >>> 0;
      a.ttl = inp.inp_ip_ttl >= 0 ? inp.inp_ip_ttl : IN_MULTICAST(a.dst) ? 1 : this.net.tun.ip_defttl;
      a.tos = inp.inp_ip_tos;
      a.broadcast = (so.so_options & SO_BROADCAST) !== 0;
      a.fib = inp.inc_fibnum;
      if (this.t.checksum) {
        // The transport stores only the pseudo-header sum; ip_output or the NIC finishes it.
        set16(b, o + 6, inPseudo(a.src, a.dst, IPPROTO_UDP + ulen));
        a.csumFlags = CSUM_UDP;
        a.csumOffset = 6;
      } else {
        set16(b, o + 6, 0);
        a.csumFlags = 0;
      }
      e = ipOutput(this.net, b, o, ulen, a);
    } else {
      const a = this.o6;
      a.src = la;
      a.dst = fa;
      a.hlim = inp.inp_ip_ttl >= 0 ? inp.inp_ip_ttl : this.net.tun.ip6_defhlim;
      a.tclass = inp.inp_ip_tos;
      a.fib = inp.inc_fibnum;
      set16(b, o + 6, in6Pseudo(la, 0, fa, 0, IPPROTO_UDP, ulen));
      a.csumFlags = CSUM_UDP_IPV6;
      a.csumOffset = 6;
      e = ip6Output(this.net, b, o, ulen, a);
    }
    return e < 0 ? e : len;
  }

  /**
   * soreceive_dgram: the next datagram (truncated to `len`, the rest discarded
   * unless MSG_PEEK), its sender written into `from`. -EAGAIN when none.
   */
  soreceive(so: Socket, buf: Uint8Array, off: number, len: number, flags: number, from: SockAddr | undefined): number {
    const cb = this.cb(so);
    if (!cb) return -ERRNO.EBADF;
    const rcv = so.so_rcv;
    // shutdown(SHUT_RD) emptied so_rcv: forget the queued datagrams with it.
    if (rcv.sb_cc === 0 && cb.qhead < cb.q.length) {
      cb.q.length = 0;
      cb.qhead = 0;
    }
    if (cb.qhead >= cb.q.length) {
      if (so.so_error !== 0) {
        const e = so.so_error;
        if ((flags & MSG_PEEK) === 0) so.so_error = 0;
        return -e;
      }
      if (rcv.sb_state & SBS_CANTRCVMORE) return 0;
      return -ERRNO.EAGAIN;
    }
    const d = cb.q[cb.qhead]!;
    const n = Math.min(len, d.data.length);
    buf.set(d.data.subarray(0, n), off);
    if (from !== undefined) {
      from.addr = this.text(d.from, so.domain === AF_INET6);
      from.port = d.port;
    }
    if ((flags & MSG_PEEK) === 0) {
      cb.q[cb.qhead++] = undefined as unknown as Dgram;
      if (cb.qhead === cb.q.length) {
        cb.q.length = 0;
        cb.qhead = 0;
      }
      rcv.sb_cc = Math.max(0, rcv.sb_cc - d.data.length - 1);
      this.sockets.wakeup(so);
    }
    return n;
  }

  /* ------------------------------------------------------------ input */

  /** udp_input / udp6_input. */
  input(m: Uint8Array, off: number, len: number, pi: PktInfo): void {
    const st = this.stat;
    st.udps_ipackets++;
    if (len < UDP_HDR_LEN) {
      st.udps_hdrops++;
      return;
    }
    const ulen = get16(m, off + 4);
    // A shorter UDP length than the IP payload is trimmed; longer (or shorter than the header) is bad.
    if (ulen > len || ulen < UDP_HDR_LEN) {
      st.udps_badlen++;
      return;
    }
    const v4 = pi.af === 4;
    const sum = get16(m, off + 6);
    if (sum === 0) {
      st.udps_nosum++;
      // RFC 8200 §8.1: a zero UDP checksum is invalid over IPv6.
      if (!v4) return;
    } else if ((pi.csumFlags & (CSUM_DATA_VALID | CSUM_PSEUDO_HDR)) === (CSUM_DATA_VALID | CSUM_PSEUDO_HDR)) {
      if (pi.csumData !== 0xffff) {
        st.udps_badsum++;
        return;
      }
    } else {
      const ph = v4
        ? pseudoHeaderSum4(m, pi.srcOff, pi.dstOff, IPPROTO_UDP, ulen)
        : pseudoHeaderSum6(m, pi.srcOff, pi.dstOff, IPPROTO_UDP, ulen);
      if (fold(sumBytes(m, off, ulen, ph)) !== 0xffff) {
        st.udps_badsum++;
        return;
      }
    }
    const sport = get16(m, off);
    const dport = get16(m, off + 2);
    const alen = v4 ? 4 : 16;
    const tun = this.tunnel;
    if (tun !== null && dport !== 0 && dport === tun.port() && (pi.mflags & (M_BCAST | M_MCAST)) === 0) {
      tun.input(m, off, ulen, pi);
      return;
    }
    if (pi.mflags & (M_BCAST | M_MCAST)) {
      // Broadcast and multicast go to every socket bound to the port that matches.
      let n = 0;
      for (const inp of this.pcbinfo.all()) {
        if (inp.inp_lport !== dport) continue;
        if (v4 ? (inp.inp_flags & IN6P_IPV6_V6ONLY) !== 0 : !inp.isV6) continue;
        if (!addrIsUnspec(inp.inp_laddr) && !sameAddr(inp.inp_laddr, m, pi.dstOff, alen)) continue;
        if (inp.connected && (inp.inp_fport !== sport || !sameAddr(inp.inp_faddr, m, pi.srcOff, alen))) continue;
        this.deliver(inp, m, off, ulen, pi, alen, sport);
        n++;
      }
      if (n === 0) {
        st.udps_noport++;
        if (pi.mflags & M_BCAST) st.udps_noportbcast++;
        else st.udps_noportmcast++;
      }
      return;
    }
    let inp = this.pcbinfo.lookupExact(m, pi.srcOff, sport, pi.dstOff, dport, alen);
    if (inp === null) {
      st.udpps_pcbhashmiss++;
      inp = this.pcbinfo.lookupWild(m, pi.dstOff, dport, alen);
    }
    if (inp === null) {
      // net.inet.udp.log_in_vain (udp_input / udp6_input).
      if (this.t.log_in_vain) {
        const to = v4 ? `${formatIPv4(m, pi.dstOff)}:${dport}` : `[${formatIPv6(m, pi.dstOff)}]:${dport}`;
        const from = v4 ? `${formatIPv4(m, pi.srcOff)}:${sport}` : `[${formatIPv6(m, pi.srcOff)}]:${sport}`;
        this.net.ctx.log?.(LOG_INFO, `Connection attempt to UDP ${to} from ${from}`);
      }
      st.udps_noport++;
      if (this.t.blackhole) return;
      const ip = pi.ipOff;
      if (v4) {
        if (this.net.icmp.badportBandlim(BANDLIM_ICMP_UNREACH)) return;
        this.net.icmp.error(m, ip, off + len - ip, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, pi.ifp, pi.mflags);
      } else {
        if (this.net.icmp.badportBandlim(BANDLIM_ICMP6_UNREACH)) return;
        this.net.icmp6.error(m, ip, off + len - ip, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, pi.ifp, pi.mflags);
      }
      return;
    }
    this.deliver(inp, m, off, ulen, pi, alen, sport);
  }

  /** udp_append: queue the payload with its sender (sbappendaddr), or count udps_fullsock. */
  private deliver(
    inp: Inpcb,
    m: Uint8Array,
    off: number,
    ulen: number,
    pi: PktInfo,
    alen: number,
    sport: number,
  ): void {
    const so = this.byInp.get(inp);
    const cb = so ? this.cb(so) : null;
    if (!so || !cb) return;
    const rcv = so.so_rcv;
    const dlen = ulen - UDP_HDR_LEN;
    // Each datagram also accounts one byte for its address (FreeBSD counts the sockaddr mbuf).
    if (rcv.sb_state & SBS_CANTRCVMORE || rcv.sb_cc + dlen + 1 > rcv.sb_hiwat) {
      this.stat.udps_fullsock++;
      return;
    }
    const from = new Uint8Array(16);
    if (alen === 4) {
      from[10] = 0xff;
      from[11] = 0xff;
      from.set(m.subarray(pi.srcOff, pi.srcOff + 4), 12);
    } else from.set(m.subarray(pi.srcOff, pi.srcOff + 16));
    cb.q.push({ data: m.slice(off + UDP_HDR_LEN, off + ulen), from, v4: alen === 4, port: sport });
    rcv.sb_cc += dlen + 1;
    this.sockets.wakeup(so);
  }

  /**
   * udp_ctlinput / udp6_ctlinput: an ICMP error about a datagram we sent becomes
   * so_error on the connected socket it came from (in_pcbnotify, udp_notify).
   */
  ctlinput(cmd: number, ctl: CtlInput): void {
    if (cmd < 0 || cmd >= inetctlerrmap.length) return;
    const errno = inetctlerrmap[cmd]!;
    if (errno === 0 || ctl.len < UDP_HDR_LEN) return;
    const b = ctl.buf;
    const sport = get16(b, ctl.off);
    const dport = get16(b, ctl.off + 2);
    const inp = this.pcbinfo.lookupExact(b, ctl.dstOff, dport, ctl.srcOff, sport, ctl.af === 4 ? 4 : 16);
    if (inp === null) return;
    const so = this.byInp.get(inp);
    if (!so) return;
    so.so_error = errno;
    this.sockets.wakeup(so);
  }

  /** net.inet.udp.* sysctls. */
  registerSysctls(s: SysctlTree): void {
    s.int('net.inet.udp.checksum', this.t, 'checksum', 'compute udp checksum', { min: 0, max: 1 });
    s.int('net.inet.udp.maxdgram', this.t, 'maxdgram', 'Maximum outgoing UDP datagram size', { min: 1, max: 65535 });
    s.int('net.inet.udp.recvspace', this.t, 'recvspace', 'Maximum space for incoming UDP datagrams', { min: 1 });
    s.int('net.inet.udp.blackhole', this.t, 'blackhole', 'Do not send port unreachables for refused connects', {
      min: 0,
      max: 1,
    });
    s.int('net.inet.udp.log_in_vain', this.t, 'log_in_vain', 'Log all incoming UDP packets', { min: 0, max: 1 });
  }
}

function sameAddr(a: Uint8Array, m: Uint8Array, off: number, alen: number): boolean {
  if (alen === 4)
    return (
      addrIsV4Mapped(a) && a[12] === m[off] && a[13] === m[off + 1] && a[14] === m[off + 2] && a[15] === m[off + 3]
    );
  for (let i = 0; i < 16; i++) if (a[i] !== m[off + i]) return false;
  return true;
}

/**
 * Plug UDP into an engine: the protocol switch for IPPROTO_UDP (both families),
 * the socket layer's inet/inet6 dgram entries, and net.inet.udp.* sysctls.
 */
export function udpAttach(net: Inet6Vnet, sockets: SocketLayer, random: RandomSource, sysctl: SysctlTree): Udp {
  const udp = new Udp(net, sockets, random);
  registerProtocol(net, IPPROTO_UDP, udp);
  sockets.register('inet', 'dgram', udp);
  sockets.register('inet6', 'dgram', udp);
  udp.registerSysctls(sysctl);
  return udp;
}
