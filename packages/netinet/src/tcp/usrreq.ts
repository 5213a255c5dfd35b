/**
 * TCP's user requests (FreeBSD tcp_usrreq.c): pr_usrreqs for stream sockets —
 * attach, bind, listen, connect, send, rcvd, shutdown, close, abort — and
 * tcp_ctloutput with the IPPROTO_TCP / IPPROTO_IP / IPPROTO_IPV6 socket options,
 * and tcp_fill_info.
 */
import { ERRNO } from '../kern/errno.js';
import {
  type PrUsrreqs,
  type SockAddr,
  type SockoptValue,
  type Socket,
  SO_KEEPALIVE,
  SO_LINGER,
  SOL_SOCKET,
  AF_INET6,
} from '../kern/uipc_socket.js';
import { SB_AUTOSIZE } from '../kern/sockbuf.js';
import {
  Inpcb,
  addrIsUnspec,
  addrIsV4Mapped,
  IN6P_IPV6_V6ONLY,
  INP_IPV4,
  INP_IPV6,
  INP_IPV6PROTO,
  inPcbSetsockopt,
} from '../netinet/in_pcb.js';
import { formatIPv4, formatIPv6 } from '@mcstack/wire';
import {
  type Tcpcb,
  TCPS_CLOSED,
  TCPS_LISTEN,
  TCPS_SYN_SENT,
  TCPS_ESTABLISHED,
  TCPS_CLOSE_WAIT,
  TCPS_FIN_WAIT_1,
  TCPS_LAST_ACK,
  TCPS_FIN_WAIT_2,
  TCPS_TIME_WAIT,
  TCPS_SYN_RECEIVED,
  TF_NODELAY,
  TF_NOOPT,
  TF_NOPUSH,
  TF_REQ_SCALE,
  TF_REQ_TSTMP,
  TF_SACK_PERMIT,
  TF_RCVD_SCALE,
  TF_RCVD_TSTMP,
  TF_ECN_PERMIT,
  TF_SIGNATURE,
  TT_KEEP,
  TT_2MSL,
  TCP_MAX_WINSHIFT,
  TCP_MAXWIN,
  haveEstablished,
  TF_FASTRECOVERY,
  TF_ACKNOW,
  sendseqinit,
} from './var.js';
import { setState } from './fsm.js';
import { rcvWindow, tcpOutput, windowUpdateDue } from './output.js';
import { type Tcp, newtcpcb, tcpClose, tcpDetachSocket, tcpDrop } from './subr.js';
import { mssFromMtu } from './input.js';
import {
  IPPROTO_IP,
  IPPROTO_TCP,
  IPPROTO_IPV6,
  IP_TOS,
  IP_TTL,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  IPV6_TCLASS,
} from '../netinet/in.js';
import { tcpTimerActivate, tcpTimerActive, tpKeepcnt, tpKeepidle, tpKeepinit, tpKeepintvl } from './timer.js';

/* netinet/tcp.h option names */
export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
export const TCP_NOPUSH = 4;
export const TCP_NOOPT = 8;
export const TCP_MD5SIG = 16;
export const TCP_INFO = 32;
export const TCP_CONGESTION = 64;
export const TCP_KEEPINIT = 128;
export const TCP_KEEPIDLE = 256;
export const TCP_KEEPINTVL = 512;
export const TCP_KEEPCNT = 1024;
export const TCP_REMOTE_UDP_ENCAPS_PORT = 71;
export const TCP_CA_NAME_MAX = 16;
/* netinet/in.h, netinet6/in6.h */
/* tcp_info option bits */
export const TCPI_OPT_TIMESTAMPS = 0x01;
export const TCPI_OPT_SACK = 0x02;
export const TCPI_OPT_WSCALE = 0x04;
export const TCPI_OPT_ECN = 0x08;
export const TCPI_OPT_TOE = 0x10;

/** struct tcp_info (netinet/tcp.h); times in µs as FreeBSD reports them. */
export interface TcpInfo {
  tcpi_state: number;
  tcpi_ca_state: number;
  tcpi_retransmits: number;
  tcpi_probes: number;
  tcpi_backoff: number;
  tcpi_options: number;
  tcpi_snd_wscale: number;
  tcpi_rcv_wscale: number;
  tcpi_rto: number;
  tcpi_ato: number;
  tcpi_snd_mss: number;
  tcpi_rcv_mss: number;
  tcpi_unacked: number;
  tcpi_sacked: number;
  tcpi_lost: number;
  tcpi_retrans: number;
  tcpi_fackets: number;
  tcpi_last_data_sent: number;
  tcpi_last_ack_sent: number;
  tcpi_last_data_recv: number;
  tcpi_last_ack_recv: number;
  tcpi_pmtu: number;
  tcpi_rcv_ssthresh: number;
  tcpi_rtt: number;
  tcpi_rttvar: number;
  tcpi_snd_ssthresh: number;
  tcpi_snd_cwnd: number;
  tcpi_advmss: number;
  tcpi_reordering: number;
  tcpi_rcv_rtt: number;
  tcpi_rcv_space: number;
  tcpi_snd_wnd: number;
  tcpi_snd_bwnd: number;
  tcpi_snd_nxt: number;
  tcpi_rcv_nxt: number;
  tcpi_toe_tid: number;
  tcpi_snd_rexmitpack: number;
  tcpi_rcv_ooopack: number;
  tcpi_snd_zerowin: number;
}

export class TcpUsrreqs implements PrUsrreqs {
  constructor(private readonly tcp: Tcp) {}

  /** tcp_usrclosed: the user will send no more (RFC 9293 §3.10.4 CLOSE). */
  usrclosed(tp: Tcpcb): Tcpcb | null {
    switch (tp.t_state) {
      case TCPS_CLOSED:
      case TCPS_LISTEN:
        // RFC 9293 §3.10.4: LISTEN — delete the TCB.
        return tcpClose(this.tcp, tp);
      case TCPS_SYN_SENT:
        // RFC 9293 §3.10.4: SYN-SENT — delete the TCB.
        return tcpClose(this.tcp, tp);
      case TCPS_SYN_RECEIVED:
        // RFC 9293 §3.10.4: SYN-RECEIVED — queue the FIN until ESTABLISHED... FreeBSD sends it now.
        tp.t_flags |= 0x800; // TF_NEEDFIN
        return tp;
      case TCPS_ESTABLISHED:
        // RFC 9293 §3.10.4: ESTABLISHED — send FIN, enter FIN-WAIT-1.
        setState(this.tcp.stat, tp, TCPS_FIN_WAIT_1);
        return tp;
      case TCPS_CLOSE_WAIT:
        // RFC 9293 §3.10.4: CLOSE-WAIT — send FIN, enter LAST-ACK.
        setState(this.tcp.stat, tp, TCPS_LAST_ACK);
        return tp;
      default:
        return tp;
    }
  }

  /* ---------------- pr_usrreqs ---------------- */

  attach(so: Socket): number {
    const inp = new Inpcb(this.tcp.pcbinfo, so, so.domain === AF_INET6);
    so.so_pcb = inp;
    // tcp_usr_attach: both buffers start autosized (net.inet.tcp.sendbuf_auto / recvbuf_auto).
    so.so_snd.sb_flags |= SB_AUTOSIZE;
    so.so_rcv.sb_flags |= SB_AUTOSIZE;
    newtcpcb(this.tcp, inp);
    return 0;
  }

  private tp(so: Socket): Tcpcb | null {
    return so.so_pcb?.inp_ppcb ?? null;
  }

  /** in_pcbbind: explicit address/port, or an ephemeral port when 0. */
  bind(so: Socket, addr: Uint8Array, alen: number, port: number): number {
    const inp = so.so_pcb;
    if (inp === null || inp.inp_ppcb === null) return -ERRNO.EINVAL;
    if (inp.inp_lport !== 0) return -ERRNO.EINVAL;
    const la = new Uint8Array(16);
    setForm(la, addr, alen);
    if (alen === 4 && (inp.inp_vflag & INP_IPV6PROTO) !== 0 && (inp.inp_flags & IN6P_IPV6_V6ONLY) !== 0)
      return -ERRNO.EADDRNOTAVAIL;
    if (!addrIsUnspec(la) && this.tcp.net !== null && !this.tcp.net.isLocal(alen === 4, la))
      return -ERRNO.EADDRNOTAVAIL;
    if (port === 0) {
      port = this.tcp.pcbinfo.allocPort(inp, la, null, 0);
      if (port === 0) return -ERRNO.EADDRNOTAVAIL;
    } else if (this.tcp.pcbinfo.bindConflict(inp, la, port, so.so_options)) {
      return -ERRNO.EADDRINUSE;
    }
    inp.setLaddr(la);
    inp.inp_lport = port;
    if (alen === 4 && (inp.inp_vflag & INP_IPV6PROTO) !== 0 && !addrIsUnspec(la)) {
      inp.inp_vflag = (inp.inp_vflag & ~INP_IPV6) | INP_IPV4;
    }
    this.tcp.pcbinfo.insPort(inp);
    return 0;
  }

  listen(so: Socket, _backlog: number): number {
    const inp = so.so_pcb;
    const tp = inp?.inp_ppcb;
    if (!inp || !tp) return -ERRNO.EINVAL;
    if (tp.t_state !== TCPS_CLOSED && tp.t_state !== TCPS_LISTEN) return -ERRNO.EINVAL;
    if (inp.inp_lport === 0) {
      const any = new Uint8Array(16);
      if (!inp.isV6 || (inp.inp_vflag & INP_IPV6PROTO) === 0) {
        any[10] = 0xff;
        any[11] = 0xff;
      }
      const e = this.bind(so, any, 16, 0);
      if (e < 0) return e;
    }
    setState(this.tcp.stat, tp, TCPS_LISTEN);
    return 0;
  }

  /** tcp_connect / tcp6_connect: pick the route and source, the port, the ISN; send the SYN. */
  connect(so: Socket, addr: Uint8Array, alen: number, port: number): number {
    const inp = so.so_pcb;
    const tp = inp?.inp_ppcb;
    if (!inp || !tp) return -ERRNO.EINVAL;
    if (tp.t_state !== TCPS_CLOSED) return -ERRNO.EISCONN;
    const v4 = alen === 4;
    if (v4 && (inp.inp_vflag & INP_IPV6PROTO) !== 0 && (inp.inp_flags & IN6P_IPV6_V6ONLY) !== 0)
      return -ERRNO.EAFNOSUPPORT;
    const fa = connFaddr;
    setForm(fa, addr, alen);
    if (addrIsUnspec(fa)) return -ERRNO.EADDRNOTAVAIL;
    if (this.tcp.net === null) return -ERRNO.ENETUNREACH;
    const src = connSrc;
    src.fill(0);
    const mtu = this.tcp.net.route(v4, fa, inp.inp_laddr, src, inp.inc_fibnum);
    if (mtu < 0) return mtu;
    const la = addrIsUnspec(inp.inp_laddr) ? src : inp.inp_laddr;
    const lport = this.tcp.pcbinfo.connectPort(inp, la, fa, port);
    if (lport < 0) return lport;
    inp.setLaddr(la);
    inp.inp_lport = lport;
    inp.setFaddr(fa);
    inp.inp_fport = port;
    if (v4) inp.inp_vflag = (inp.inp_vflag & ~INP_IPV6) | INP_IPV4;
    this.tcp.pcbinfo.insPort(inp);
    this.tcp.pcbinfo.insHash(inp);
    // tcp_connect: window scale we will ask for (RFC 7323 §2.2): enough for sb_max (kern.ipc.maxsockbuf).
    tp.request_r_scale = 0;
    while (tp.request_r_scale < TCP_MAX_WINSHIFT && TCP_MAXWIN << tp.request_r_scale < this.tcp.t.maxsockbuf)
      tp.request_r_scale++;
    so.isConnecting();
    this.tcp.stat.tcps_connattempt++;
    setState(this.tcp.stat, tp, TCPS_SYN_SENT);
    tcpTimerActivate(this.tcp, tp, TT_KEEP, tpKeepinit(this.tcp, tp));
    tp.iss = this.tcp.isn.newIsn(inp, this.tcp.now());
    if (tp.t_flags & TF_REQ_TSTMP) tp.ts_offset = this.tcp.isn.tsOffset(inp);
    sendseqinit(tp);
    // tcp_mssopt: the MSS we offer from the route; tcp_mss_update later caps the peer's offer
    // by it. Until the SYN-ACK, t_maxseg stays the default MSS, as in FreeBSD (so a
    // fragmentation-needed in SYN_SENT offers nothing below it and is ignored). Over UDP
    // (tcp/tunnel.ts) the UDP header comes off it: net.inet.tcp.udp_tunneling_overhead.
    tp.t_mssopt = mssFromMtu(this.tcp, inp, mtu) - (tp.t_port !== 0 ? this.tcp.t.udp_tunneling_overhead : 0);
    const e = tcpOutput(this.tcp, tp);
    if (e < 0 && (tp.t_state as number) === TCPS_SYN_SENT && e !== -ERRNO.ENOBUFS) {
      // The SYN could not even leave: report at once, as FreeBSD does for EHOSTUNREACH.
      tcpDrop(this.tcp, tp, -e);
      so.so_error = 0;
      return e;
    }
    return -ERRNO.EINPROGRESS;
  }

  send(so: Socket, _flags: number): number {
    const tp = this.tp(so);
    if (!tp) return -ERRNO.ECONNRESET;
    return tcpOutput(this.tcp, tp);
  }

  rcvd(so: Socket): void {
    const tp = this.tp(so);
    if (tp && haveEstablished(tp.t_state)) tcpOutput(this.tcp, tp);
  }

  /** pru_soreceive: soreceive_stream under net.inet.tcp.soreceive_stream (set at start), else the generic path. */
  soreceive?: PrUsrreqs['soreceive'];

  /**
   * For soreceive_stream: would tcp_output, run after this read, send anything? Only a
   * window update can be new, and only in ESTABLISHED with nothing left to send, no ACK
   * owed and no idle restart due; then its own test (windowUpdateDue) decides.
   */
  rcvdWanted(so: Socket): boolean {
    const tp = this.tp(so);
    if (tp === null || !haveEstablished(tp.t_state)) return false;
    if (tp.t_state !== TCPS_ESTABLISHED || so.so_snd.sb_cc !== 0 || (tp.t_flags & TF_ACKNOW) !== 0) return true;
    if (this.tcp.now() - tp.t_rcvtime >= tp.t_rxtcur) return true;
    return windowUpdateDue(tp, so, rcvWindow(tp, so));
  }

  shutdown(so: Socket): number {
    so.cantSendMore();
    const tp = this.tp(so);
    if (!tp) return 0;
    const r = this.usrclosed(tp);
    if (r !== null) tcpOutput(this.tcp, r);
    return 0;
  }

  /** tcp_usr_close → tcp_disconnect (RFC 9293 §3.10.4, with SO_LINGER 0 an abort §3.10.5). */
  close(so: Socket): void {
    const tp = this.tp(so);
    if (!tp) {
      // The connection ended before its descriptor (an RST, a drop): the socket goes now.
      if (so.so_pcb !== null) tcpDetachSocket(so.so_pcb, so);
      return;
    }
    if (tp.t_state === TCPS_LISTEN) {
      this.tcp.syncache.dropListener(so.so_pcb!);
      tcpClose(this.tcp, tp);
      return;
    }
    if (tp.t_state < TCPS_ESTABLISHED && tp.t_state !== TCPS_SYN_RECEIVED) {
      tcpClose(this.tcp, tp);
      return;
    }
    if ((so.so_options & SO_LINGER) !== 0 && so.so_linger === 0) {
      tcpDrop(this.tcp, tp, 0);
      return;
    }
    so.isDisconnecting();
    so.so_rcv.drop(so.so_rcv.sb_cc);
    const r = this.usrclosed(tp);
    if (r !== null) {
      tcpOutput(this.tcp, r);
      // FIN_WAIT_2 with no fd: don't hang forever (tcp_finwait2_timeout).
      if (r.t_state === TCPS_FIN_WAIT_2) tcpTimerActivate(this.tcp, r, TT_2MSL, this.tcp.t.finwait2_timeout * 1000);
    }
  }

  abort(so: Socket): void {
    const tp = this.tp(so);
    so.so_head = null;
    if (tp) tcpDrop(this.tcp, tp, ERRNO.ECONNABORTED);
  }

  sockaddr(so: Socket, peer: boolean): SockAddr | number {
    const inp = so.so_pcb;
    if (!inp) return -ERRNO.ECONNRESET;
    const a = peer ? inp.inp_faddr : inp.inp_laddr;
    const port = peer ? inp.inp_fport : inp.inp_lport;
    if (so.domain !== AF_INET6) return { addr: formatIPv4(a, 12), port };
    if (!inp.isV6 || ((inp.inp_vflag & INP_IPV4) !== 0 && addrIsV4Mapped(a))) {
      return { addr: addrIsUnspec(a) && !addrIsV4Mapped(a) ? '::' : `::ffff:${formatIPv4(a, 12)}`, port };
    }
    return { addr: formatIPv6(a, 0), port };
  }

  /** tcp_ctloutput, falling through to ip_ctloutput / ip6_ctloutput. */
  ctloutput(so: Socket, set: boolean, level: number, name: number, value: SockoptValue | undefined): SockoptValue {
    const inp = so.so_pcb;
    if (inp === null) return -ERRNO.ECONNRESET;
    const tp = inp.inp_ppcb;
    if (level === SOL_SOCKET) {
      // SO_KEEPALIVE toggled: re-arm the keepalive timer as tcp_ctloutput's caller does.
      if (set && name === SO_KEEPALIVE && tp && haveEstablished(tp.t_state) && tp.t_state <= TCPS_TIME_WAIT) {
        tcpTimerActivate(this.tcp, tp, TT_KEEP, tpKeepidle(this.tcp, tp));
      }
      if (set) inPcbSetsockopt(inp, name);
      return 0;
    }
    const v = typeof value === 'number' ? value : NaN;
    if (level === IPPROTO_IP) {
      if (inp.isV6 && (inp.inp_vflag & INP_IPV4) === 0) return -ERRNO.EINVAL;
      switch (name) {
        case IP_TOS:
          if (!set) return inp.inp_ip_tos;
          if (!Number.isInteger(v) || v < 0 || v > 255) return -ERRNO.EINVAL;
          inp.inp_ip_tos = v;
          return 0;
        case IP_TTL:
          if (!set) return inp.inp_ip_ttl < 0 ? 64 : inp.inp_ip_ttl;
          if (!Number.isInteger(v) || v < -1 || v > 255) return -ERRNO.EINVAL;
          inp.inp_ip_ttl = v;
          return 0;
        default:
          return -ERRNO.ENOPROTOOPT;
      }
    }
    if (level === IPPROTO_IPV6) {
      if (so.domain !== AF_INET6) return -ERRNO.ENOPROTOOPT;
      switch (name) {
        case IPV6_TCLASS:
          if (!set) return inp.inp_ip_tos;
          if (!Number.isInteger(v) || v < -1 || v > 255) return -ERRNO.EINVAL;
          inp.inp_ip_tos = Math.max(v, 0);
          return 0;
        case IPV6_UNICAST_HOPS:
          if (!set) return inp.inp_ip_ttl < 0 ? 64 : inp.inp_ip_ttl;
          if (!Number.isInteger(v) || v < -1 || v > 255) return -ERRNO.EINVAL;
          inp.inp_ip_ttl = v;
          return 0;
        case IPV6_V6ONLY:
          if (!set) return (inp.inp_flags & IN6P_IPV6_V6ONLY) !== 0 ? 1 : 0;
          // Only before bind (in6_pcbbind has decided the families by then).
          if (inp.inp_lport !== 0) return -ERRNO.EINVAL;
          if (v) inp.inp_flags |= IN6P_IPV6_V6ONLY;
          else inp.inp_flags &= ~IN6P_IPV6_V6ONLY;
          return 0;
        default:
          return -ERRNO.ENOPROTOOPT;
      }
    }
    if (level !== IPPROTO_TCP) return -ERRNO.ENOPROTOOPT;
    // FreeBSD: TCP options on a connection already gone (TIME_WAIT is a tcptw) fail.
    if (tp === null || tp.t_state === TCPS_TIME_WAIT) return -ERRNO.ECONNRESET;
    if (name === TCP_CONGESTION) {
      if (!set) return tp.cc.name;
      if (typeof value !== 'string') return -ERRNO.EINVAL;
      const a = this.tcp.cc.get(value.slice(0, TCP_CA_NAME_MAX - 1));
      if (!a) return -ERRNO.ENOENT;
      if (a !== tp.cc) {
        tp.cc.cb_destroy?.(tp);
        tp.ccv = {};
        tp.cc = a;
        a.cb_init?.(tp);
        if (haveEstablished(tp.t_state)) a.conn_init?.(tp);
        this.tcp.stat.tcps_cc_changes++;
      }
      return 0;
    }
    if (name === TCP_INFO) {
      if (set) return -ERRNO.EINVAL;
      return tcpFillInfo(this.tcp, tp) as unknown as Record<string, number>;
    }
    const flagOpt = (flag: number): SockoptValue => {
      if (!set) return (tp.t_flags & flag) !== 0 ? 1 : 0;
      if (!Number.isInteger(v)) return -ERRNO.EINVAL;
      if (v) tp.t_flags |= flag;
      else tp.t_flags &= ~flag;
      return 0;
    };
    switch (name) {
      // tcp_usrreq.c: setting TCP_NODELAY only changes what the next tcp_output decides.
      case TCP_NODELAY:
        return flagOpt(TF_NODELAY);
      case TCP_NOPUSH: {
        // tcp_usrreq.c: clearing a set TCP_NOPUSH calls tcp_output, which sends what the
        // option held (the last short segment still under Nagle unless idle or TCP_NODELAY).
        const was = (tp.t_flags & TF_NOPUSH) !== 0;
        const r = flagOpt(TF_NOPUSH);
        if (set && r === 0 && !v && was && haveEstablished(tp.t_state)) tcpOutput(this.tcp, tp);
        return r;
      }
      case TCP_NOOPT:
        return flagOpt(TF_NOOPT);
      case TCP_MD5SIG:
        return flagOpt(TF_SIGNATURE);
      case TCP_REMOTE_UDP_ENCAPS_PORT:
        // TCP over UDP (tcp/tunnel.ts): the peer's UDP port, set before the connection
        // starts and only while net.inet.tcp.udp_tunneling_port is set.
        if (!set) return tp.t_port;
        if (!Number.isInteger(v) || v < 0 || v > 65535) return -ERRNO.EINVAL;
        if (this.tcp.t.udp_tunneling_port === 0 && v !== 0) return -ERRNO.EINVAL;
        if (tp.t_state !== TCPS_CLOSED) return -ERRNO.EINVAL;
        tp.t_port = v;
        return 0;
      case TCP_MAXSEG:
        if (!set) return tp.t_maxseg;
        // tcp_ctloutput: only lowering, and not below minmss.
        if (!Number.isInteger(v) || v < this.tcp.t.minmss || v > 65535) return -ERRNO.EINVAL;
        if (v < tp.t_maxseg) tp.t_maxseg = v;
        return 0;
      case TCP_KEEPINIT:
      case TCP_KEEPIDLE:
      case TCP_KEEPINTVL: {
        const key = name === TCP_KEEPINIT ? 't_keepinit' : name === TCP_KEEPIDLE ? 't_keepidle' : 't_keepintvl';
        if (!set) {
          const us =
            name === TCP_KEEPINIT
              ? tpKeepinit(this.tcp, tp)
              : name === TCP_KEEPIDLE
                ? tpKeepidle(this.tcp, tp)
                : tpKeepintvl(this.tcp, tp);
          return Math.floor(us / 1_000_000);
        }
        // Seconds, as FreeBSD's TCP_KEEP* options take them.
        if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff / 1000) return -ERRNO.EINVAL;
        tp[key] = v * 1_000_000;
        if (name === TCP_KEEPIDLE && tcpTimerActive(tp, TT_KEEP) && haveEstablished(tp.t_state)) {
          tcpTimerActivate(this.tcp, tp, TT_KEEP, tpKeepidle(this.tcp, tp));
        }
        if (name === TCP_KEEPINIT && tp.t_state === TCPS_SYN_SENT)
          tcpTimerActivate(this.tcp, tp, TT_KEEP, tpKeepinit(this.tcp, tp));
        return 0;
      }
      case TCP_KEEPCNT:
        if (!set) return tpKeepcnt(this.tcp, tp);
        if (!Number.isInteger(v) || v < 1) return -ERRNO.EINVAL;
        tp.t_keepcnt = v;
        return 0;
      default:
        return -ERRNO.ENOPROTOOPT;
    }
  }
}

/** tcp_fill_info */

/** tcp_fill_info */
export function tcpFillInfo(tcp: Tcp, tp: Tcpcb): TcpInfo {
  let opts = 0;
  if (tp.t_flags & TF_REQ_TSTMP && tp.t_flags & TF_RCVD_TSTMP) opts |= TCPI_OPT_TIMESTAMPS;
  if (
    tp.t_flags & TF_SACK_PERMIT &&
    tp.t_state !== TCPS_LISTEN &&
    tp.t_state !== TCPS_CLOSED &&
    tp.t_state !== TCPS_SYN_SENT
  )
    opts |= TCPI_OPT_SACK;
  if (tp.t_flags & TF_REQ_SCALE && tp.t_flags & TF_RCVD_SCALE) opts |= TCPI_OPT_WSCALE;
  if (tp.t_flags & TF_ECN_PERMIT) opts |= TCPI_OPT_ECN;
  const now = tcp.now();
  const so = tp.inp.inp_socket;
  return {
    tcpi_state: tp.t_state,
    tcpi_ca_state: tp.t_flags & TF_FASTRECOVERY ? 3 : 0,
    tcpi_retransmits: tp.t_rxtshift,
    tcpi_probes: 0,
    tcpi_backoff: tp.t_rxtshift,
    tcpi_options: opts,
    tcpi_snd_wscale: opts & TCPI_OPT_WSCALE ? tp.snd_scale : 0,
    tcpi_rcv_wscale: opts & TCPI_OPT_WSCALE ? tp.rcv_scale : 0,
    tcpi_rto: tp.t_rxtcur,
    tcpi_ato: tcp.t.delacktime * 1000,
    tcpi_snd_mss: tp.t_maxseg,
    tcpi_rcv_mss: tp.t_maxseg,
    tcpi_unacked: (tp.snd_max - tp.snd_una) >>> 0,
    tcpi_sacked: tp.sack.sacked_bytes,
    tcpi_lost: 0,
    tcpi_retrans: 0,
    tcpi_fackets: 0,
    tcpi_last_data_sent: 0,
    tcpi_last_ack_sent: 0,
    tcpi_last_data_recv: Math.floor((now - tp.t_rcvtime) / 1000),
    tcpi_last_ack_recv: 0,
    tcpi_pmtu: 0,
    tcpi_rcv_ssthresh: 0,
    tcpi_rtt: tp.t_srtt,
    tcpi_rttvar: tp.t_rttvar,
    tcpi_snd_ssthresh: tp.snd_ssthresh,
    tcpi_snd_cwnd: tp.snd_cwnd,
    tcpi_advmss: tp.t_maxseg,
    tcpi_reordering: 0,
    tcpi_rcv_rtt: 0,
    tcpi_rcv_space: tp.rcv_wnd,
    tcpi_snd_wnd: tp.snd_wnd,
    tcpi_snd_bwnd: 0,
    tcpi_snd_nxt: (tp.snd_nxt - tp.iss) >>> 0,
    tcpi_rcv_nxt: (tp.rcv_nxt - tp.irs) >>> 0,
    tcpi_toe_tid: 0,
    tcpi_snd_rexmitpack: tp.t_sndrexmitpack,
    tcpi_rcv_ooopack: tp.t_rcvoopack,
    tcpi_snd_zerowin: tp.t_sndzerowin + (so ? 0 : 0),
  };
}

function setForm(dst: Uint8Array, a: Uint8Array, alen: number): void {
  dst.fill(0);
  if (alen === 4) {
    dst[10] = 0xff;
    dst[11] = 0xff;
    for (let i = 0; i < 4; i++) dst[12 + i] = a[i]!;
  } else for (let i = 0; i < 16; i++) dst[i] = a[i]!;
}

/** connect()'s foreign and source addresses: copied into the pcb, so one pair serves every call. */
const connFaddr = new Uint8Array(16);
const connSrc = new Uint8Array(16);
