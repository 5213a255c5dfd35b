/**
 * TCP's protocol instance and its user requests (FreeBSD tcp_usrreq.c, tcp_subr.c):
 * the `Tcp` object holds what FreeBSD keeps in V_ globals (tcbinfo, tcpstat,
 * tunables, syncache, host cache, CC list, ISN state) and implements pr_usrreqs
 * for stream sockets: attach, bind, listen, connect, send, rcvd, shutdown, close,
 * abort and the IPPROTO_TCP / IPPROTO_IP / IPPROTO_IPV6 socket options.
 */
import { ERRNO } from '../kern/errno.js';
import type { CalloutWheel } from '../kern/callout.js';
import type { RandomSource } from '../kern/random.js';
import {
  type PrUsrreqs, type SockAddr, type SockoptValue, Socket, SocketLayer,
  SO_KEEPALIVE, SO_LINGER, SS_NOFDREF, SOL_SOCKET, AF_INET6, sbMaxAdj,
} from '../kern/uipc_socket.js';
import { SBS_CANTSENDMORE, SB_AUTOSIZE } from '../kern/sockbuf.js';
import { EpochZone } from '../kern/epoch_zone.js';
import {
  Inpcb, InpcbInfo, addrIsUnspec, addrIsV4Mapped, IN6P_IPV6_V6ONLY, INP_IPV4, INP_IPV6, INP_IPV6PROTO,
} from '../netinet/in_pcb.js';
import { formatIPv4, formatIPv6, TcpOptionScan } from '@mcstack/wire';
import {
  Tcpcb, newTcpstat, type Tcpstat, TCPS_CLOSED, TCPS_LISTEN, TCPS_SYN_SENT, TCPS_ESTABLISHED,
  TCPS_CLOSE_WAIT, TCPS_FIN_WAIT_1, TCPS_LAST_ACK, TCPS_FIN_WAIT_2, TCPS_TIME_WAIT, TCPS_SYN_RECEIVED,
  TF_NODELAY, TF_NOOPT, TF_NOPUSH, TF_REQ_SCALE, TF_REQ_TSTMP, TF_SACK_PERMIT, TF_RCVD_SCALE,
  TF_RCVD_TSTMP, TF_ECN_PERMIT, TF_SIGNATURE, TT_KEEP, TT_2MSL, TT_DELACK, TT_REXMT, TT_PERSIST,
  TCP_MAX_WINSHIFT, TCP_MAXWIN, haveRcvdSyn, haveEstablished, TF_FASTRECOVERY,
} from './var.js';
import { setState } from './fsm.js';
import { newTcpTunables, type TcpTunables } from './subr.js';
import { CcRegistry, type CcAckInfo } from './cc/cc.js';
import { newreno } from './cc/newreno.js';
import { IsnGenerator } from './isn.js';
import { TcpHostcache } from './hostcache.js';
import { Syncache } from './syncache.js';
import type { TcpNet } from './netport.js';
import { tcpOutput } from './output.js';
import { tcpTimerFire } from './timer.js';
import { IPPROTO_IP, IPPROTO_TCP, IPPROTO_IPV6, IP_TOS, IP_TTL, IPV6_UNICAST_HOPS, IPV6_V6ONLY, IPV6_TCLASS } from '../netinet/in.js';

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

export interface TcpDeps {
  wheel: CalloutWheel;
  random: RandomSource;
  sockets: SocketLayer;
  now(): number;
  /** log(9) (kern/msgbuf.ts); absent: messages are dropped. */
  log?(priority: number, text: string): void;
}

/** Freed tcpcbs the zone keeps (the rest are left to the garbage collector). */
const TCB_ZONE_MAX = 16384;

export class Tcp implements PrUsrreqs {
  readonly t: TcpTunables = newTcpTunables();
  readonly stat: Tcpstat = newTcpstat();
  readonly pcbinfo: InpcbInfo;
  readonly cc: CcRegistry;
  readonly isn: IsnGenerator;
  readonly hostcache: TcpHostcache;
  readonly syncache: Syncache;
  readonly wheel: CalloutWheel;
  readonly sockets: SocketLayer;
  readonly random: RandomSource;
  net: TcpNet | null = null;
  /** Live tcpcbs (for leak checks and netstat). */
  readonly tcbs = new Set<Tcpcb>();
  /** Scratch for building segments: MAX_HDR headroom + 60-byte header + up to 64 KiB. */
  readonly outbuf = new Uint8Array(128 + 60 + 65536);
  readonly opt = new TcpOptionScan();
  readonly ccinfo: CcAckInfo = { flags: 0, bytes_this_ack: 0, curack: 0, nsegs: 1 };
  readonly now: () => number;
  /** log(9) for log_in_vain (absent: not logged). */
  readonly log: ((priority: number, text: string) => void) | undefined;
  private readonly fire: (tp: Tcpcb, which: number) => void;

  constructor(d: TcpDeps) {
    this.log = d.log;
    this.wheel = d.wheel;
    this.random = d.random;
    this.sockets = d.sockets;
    this.now = d.now;
    this.pcbinfo = new InpcbInfo(d.random);
    this.cc = new CcRegistry(newreno(this.t));
    this.isn = new IsnGenerator(d.random);
    this.hostcache = new TcpHostcache(this.t);
    this.syncache = new Syncache(this);
    this.fire = (tp, which) => tcpTimerFire(this, tp, which);
  }

  /** tcp_ts_getticks(): the millisecond clock timestamps are drawn from. */
  tsNow(): number { return Math.floor(this.now() / 1000) >>> 0; }

  /**
   * The tcpcb zone (FreeBSD's "tcpcb" UMA zone): freed tcpcbs, reused by newtcpcb so a
   * stream of short connections allocates none; frees take effect at the end of the
   * engine's epoch (kern/epoch_zone.ts).
   */
  readonly tcbZone = new EpochZone<Tcpcb>(TCB_ZONE_MAX);

  /** End of an epoch (Engine.input, Engine.advance): tcpcbs and SYN-cache entries freed since may be reused. */
  reclaim(): void {
    this.tcbZone.reclaim();
    this.syncache.zone.reclaim();
  }

  /** tcp_newtcpcb */
  newtcpcb(inp: Inpcb): Tcpcb {
    let tp = this.tcbZone.take();
    if (tp === undefined) tp = new Tcpcb(inp, this.cc.default, this.fire);
    else {
      tp.inp = inp;
      tp.cc = this.cc.default;
      tp.init();
      tp.sack.reset(0);
    }
    inp.inp_ppcb = tp;
    tp.cc.cb_init?.(tp);
    const t = this.t;
    tp.t_maxseg = inp.isV6 ? t.v6mssdflt : t.mssdflt;
    if (t.rfc1323) tp.t_flags |= TF_REQ_SCALE | TF_REQ_TSTMP;
    if (t.sack_enable) tp.t_flags |= TF_SACK_PERMIT;
    tp.t_rttmin = t.rexmit_min * 1000;
    // RFC 6298 §2.1: RTO = 1 s until a measurement; srtt 0 means "no sample yet".
    tp.t_srtt = 0;
    tp.t_rttvar = (t.rexmit_initial * 1000) / 4;
    tp.t_rxtcur = t.rexmit_initial * 1000;
    tp.snd_cwnd = TCP_MAXWIN << TCP_MAX_WINSHIFT;
    tp.snd_ssthresh = TCP_MAXWIN << TCP_MAX_WINSHIFT;
    tp.t_rcvtime = this.now();
    this.tcbs.add(tp);
    this.stat.tcps_states[TCPS_CLOSED]!++;
    return tp;
  }

  timerActivate(tp: Tcpcb, which: number, delta: number): void {
    const c = tp.timers[which]!;
    if (delta <= 0) this.wheel.stop(c);
    else this.wheel.reset(c, this.now() + delta);
  }

  timerActive(tp: Tcpcb, which: number): boolean { return tp.timers[which]!.pending; }

  /* keepalive parameters in µs (TP_KEEPINIT etc.) */
  keepinit(tp: Tcpcb): number { return tp.t_keepinit || this.t.keepinit * 1000; }
  keepidle(tp: Tcpcb): number { return tp.t_keepidle || this.t.keepidle * 1000; }
  keepintvl(tp: Tcpcb): number { return tp.t_keepintvl || this.t.keepintvl * 1000; }
  keepcnt(tp: Tcpcb): number { return tp.t_keepcnt || this.t.keepcnt; }

  /** tcp_drop: abort with an RST when the peer knows us, and report `errno`. */
  drop(tp: Tcpcb, errno: number): null {
    const so = tp.inp.inp_socket;
    if (haveRcvdSyn(tp.t_state)) {
      setState(this.stat, tp, TCPS_CLOSED);
      tcpOutput(this, tp);
      this.stat.tcps_drops++;
    } else {
      this.stat.tcps_conndrops++;
    }
    if (so !== null) {
      if (errno === ERRNO.ETIMEDOUT && tp.t_softerror) errno = tp.t_softerror;
      so.so_error = errno;
    }
    // A dropped connection still queued on a listener leaves the queue.
    if (so !== null && so.so_head !== null) {
      const q = so.so_head.so_comp;
      const i = q.indexOf(so);
      if (i >= 0) q.splice(i, 1);
      so.so_head = null;
    }
    return this.tcpClose(tp);
  }

  /** tcp_usrclosed: the user will send no more (RFC 9293 §3.10.4 CLOSE). */
  usrclosed(tp: Tcpcb): Tcpcb | null {
    switch (tp.t_state) {
      case TCPS_CLOSED:
      case TCPS_LISTEN:
        // RFC 9293 §3.10.4: LISTEN — delete the TCB.
        return this.tcpClose(tp);
      case TCPS_SYN_SENT:
        // RFC 9293 §3.10.4: SYN-SENT — delete the TCB.
        return this.tcpClose(tp);
      case TCPS_SYN_RECEIVED:
        // RFC 9293 §3.10.4: SYN-RECEIVED — queue the FIN until ESTABLISHED... FreeBSD sends it now.
        tp.t_flags |= 0x800; // TF_NEEDFIN
        return tp;
      case TCPS_ESTABLISHED:
        // RFC 9293 §3.10.4: ESTABLISHED — send FIN, enter FIN-WAIT-1.
        setState(this.stat, tp, TCPS_FIN_WAIT_1);
        return tp;
      case TCPS_CLOSE_WAIT:
        // RFC 9293 §3.10.4: CLOSE-WAIT — send FIN, enter LAST-ACK.
        setState(this.stat, tp, TCPS_LAST_ACK);
        return tp;
      default:
        return tp;
    }
  }

  /* ---------------- pr_usrreqs ---------------- */

  attach(so: Socket): number {
    const inp = new Inpcb(this.pcbinfo, so, so.domain === AF_INET6);
    so.so_pcb = inp;
    // tcp_usr_attach: both buffers start autosized (net.inet.tcp.sendbuf_auto / recvbuf_auto).
    so.so_snd.sb_flags |= SB_AUTOSIZE;
    so.so_rcv.sb_flags |= SB_AUTOSIZE;
    this.newtcpcb(inp);
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
    if (alen === 4 && (inp.inp_vflag & INP_IPV6PROTO) !== 0 && (inp.inp_flags & IN6P_IPV6_V6ONLY) !== 0) return -ERRNO.EADDRNOTAVAIL;
    if (!addrIsUnspec(la) && this.net !== null && !this.net.isLocal(alen === 4, la)) return -ERRNO.EADDRNOTAVAIL;
    const reuse = so.reuseaddr();
    if (port === 0) {
      port = this.pcbinfo.allocPort(inp, la, null, 0);
      if (port === 0) return -ERRNO.EADDRNOTAVAIL;
    } else if (this.pcbinfo.bindConflict(inp, la, port, reuse)) {
      return -ERRNO.EADDRINUSE;
    }
    inp.setLaddr(la);
    inp.inp_lport = port;
    if (alen === 4 && (inp.inp_vflag & INP_IPV6PROTO) !== 0 && !addrIsUnspec(la)) {
      inp.inp_vflag = (inp.inp_vflag & ~INP_IPV6) | INP_IPV4;
    }
    this.pcbinfo.insPort(inp);
    return 0;
  }

  listen(so: Socket, _backlog: number): number {
    const inp = so.so_pcb;
    const tp = inp?.inp_ppcb;
    if (!inp || !tp) return -ERRNO.EINVAL;
    if (tp.t_state !== TCPS_CLOSED && tp.t_state !== TCPS_LISTEN) return -ERRNO.EINVAL;
    if (inp.inp_lport === 0) {
      const any = new Uint8Array(16);
      if (!inp.isV6 || (inp.inp_vflag & INP_IPV6PROTO) === 0) { any[10] = 0xff; any[11] = 0xff; }
      const e = this.bind(so, any, 16, 0);
      if (e < 0) return e;
    }
    setState(this.stat, tp, TCPS_LISTEN);
    return 0;
  }

  /** tcp_connect / tcp6_connect: pick the route and source, the port, the ISN; send the SYN. */
  connect(so: Socket, addr: Uint8Array, alen: number, port: number): number {
    const inp = so.so_pcb;
    const tp = inp?.inp_ppcb;
    if (!inp || !tp) return -ERRNO.EINVAL;
    if (tp.t_state !== TCPS_CLOSED) return -ERRNO.EISCONN;
    const v4 = alen === 4;
    if (v4 && (inp.inp_vflag & INP_IPV6PROTO) !== 0 && (inp.inp_flags & IN6P_IPV6_V6ONLY) !== 0) return -ERRNO.EAFNOSUPPORT;
    const fa = connFaddr;
    setForm(fa, addr, alen);
    if (addrIsUnspec(fa)) return -ERRNO.EADDRNOTAVAIL;
    if (this.net === null) return -ERRNO.ENETUNREACH;
    const src = connSrc;
    src.fill(0);
    const mtu = this.net.route(v4, fa, inp.inp_laddr, src);
    if (mtu < 0) return mtu;
    const la = addrIsUnspec(inp.inp_laddr) ? src : inp.inp_laddr;
    const lport = this.pcbinfo.connectPort(inp, la, fa, port);
    if (lport < 0) return lport;
    inp.setLaddr(la);
    inp.inp_lport = lport;
    inp.setFaddr(fa);
    inp.inp_fport = port;
    if (v4) inp.inp_vflag = (inp.inp_vflag & ~INP_IPV6) | INP_IPV4;
    this.pcbinfo.insPort(inp);
    this.pcbinfo.insHash(inp);
    // tcp_connect: window scale we will ask for (RFC 7323 §2.2): enough for sb_max (kern.ipc.maxsockbuf).
    tp.request_r_scale = 0;
    while (tp.request_r_scale < TCP_MAX_WINSHIFT && (TCP_MAXWIN << tp.request_r_scale) < this.t.maxsockbuf) tp.request_r_scale++;
    so.isConnecting();
    this.stat.tcps_connattempt++;
    setState(this.stat, tp, TCPS_SYN_SENT);
    this.timerActivate(tp, TT_KEEP, this.keepinit(tp));
    tp.iss = this.isn.newIsn(inp, this.now());
    if (tp.t_flags & TF_REQ_TSTMP) tp.ts_offset = this.isn.tsOffset(inp);
    sendseqinit(tp);
    // tcp_mssopt: the MSS we offer from the route; tcp_mss_update later caps the peer's offer by it.
    tp.t_mssopt = tp.t_maxseg = mssFromMtu(this, inp, mtu);
    const e = tcpOutput(this, tp);
    if (e < 0 && (tp.t_state as number) === TCPS_SYN_SENT && e !== -ERRNO.ENOBUFS) {
      // The SYN could not even leave: report at once, as FreeBSD does for EHOSTUNREACH.
      this.drop(tp, -e);
      so.so_error = 0;
      return e;
    }
    return -ERRNO.EINPROGRESS;
  }

  send(so: Socket, _flags: number): number {
    const tp = this.tp(so);
    if (!tp) return -ERRNO.ECONNRESET;
    return tcpOutput(this, tp);
  }

  rcvd(so: Socket): void {
    const tp = this.tp(so);
    if (tp && haveEstablished(tp.t_state)) tcpOutput(this, tp);
  }

  shutdown(so: Socket): number {
    so.cantSendMore();
    const tp = this.tp(so);
    if (!tp) return 0;
    const r = this.usrclosed(tp);
    if (r !== null) tcpOutput(this, r);
    return 0;
  }

  /** tcp_usr_close → tcp_disconnect (RFC 9293 §3.10.4, with SO_LINGER 0 an abort §3.10.5). */
  close(so: Socket): void {
    const tp = this.tp(so);
    if (!tp) return;
    if (tp.t_state === TCPS_LISTEN) {
      this.syncache.dropListener(so.so_pcb!);
      this.tcpClose(tp);
      return;
    }
    if (tp.t_state < TCPS_ESTABLISHED && tp.t_state !== TCPS_SYN_RECEIVED) {
      this.tcpClose(tp);
      return;
    }
    if ((so.so_options & SO_LINGER) !== 0 && so.so_linger === 0) {
      this.drop(tp, 0);
      return;
    }
    so.isDisconnecting();
    so.so_rcv.drop(so.so_rcv.sb_cc);
    const r = this.usrclosed(tp);
    if (r !== null) {
      tcpOutput(this, r);
      // FIN_WAIT_2 with no fd: don't hang forever (tcp_finwait2_timeout).
      if (r.t_state === TCPS_FIN_WAIT_2) this.timerActivate(r, TT_2MSL, this.t.finwait2_timeout * 1000);
    }
  }

  abort(so: Socket): void {
    const tp = this.tp(so);
    so.so_head = null;
    if (tp) this.drop(tp, ERRNO.ECONNABORTED);
  }

  /** tcp_close: the connection is gone; the pcb leaves every table. */
  tcpClose(tp: Tcpcb): null {
    const inp = tp.inp;
    for (let i = 0; i < tp.timers.length; i++) this.wheel.stop(tp.timers[i]!);
    tp.reass.flush();
    if (tp.t_rttupdated >= 4 && tp.t_srtt > 0) {
      this.hostcache.update(inp.inp_faddr, {
        rtt: tp.t_srtt, rttvar: tp.t_rttvar,
        ssthresh: tp.snd_ssthresh < (TCP_MAXWIN << TCP_MAX_WINSHIFT) ? tp.snd_ssthresh : 0, cwnd: 0,
      }, this.now());
    }
    tp.cc.cb_destroy?.(tp);
    if (tp.t_state !== TCPS_CLOSED) setState(this.stat, tp, TCPS_CLOSED);
    const wasLive = this.tcbs.delete(tp);
    if (wasLive) {
      this.stat.tcps_closed++;
      this.stat.tcps_states[TCPS_CLOSED]!--;
    }
    this.pcbinfo.remove(inp);
    inp.inp_ppcb = null;
    const so = inp.inp_socket;
    if (so !== null) {
      so.isDisconnected();
      if ((so.so_state & SS_NOFDREF) !== 0 && so.so_head === null) this.detachSocket(inp, so);
    }
    // Into the zone once: a second tcp_close of the same tcpcb must not hand it out twice.
    if (wasLive) this.tcbZone.release(tp);
    return null;
  }

  /** The pcb and a socket without a descriptor part (sofree): its buffers go back to the zone. */
  detachSocket(inp: Inpcb, so: Socket): void {
    inp.inp_socket = null;
    so.so_pcb = null;
    so.so_rcv.release();
    so.so_snd.release();
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
        this.timerActivate(tp, TT_KEEP, this.keepidle(tp));
      }
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
        default: return -ERRNO.ENOPROTOOPT;
      }
    }
    if (level === IPPROTO_IPV6) {
      if (so.domain !== AF_INET6) return -ERRNO.ENOPROTOOPT;
      switch (name) {
        case IPV6_TCLASS:
          if (!set) return inp.inp_ip_tos;
          if (!Number.isInteger(v) || v < -1 || v > 255) return -ERRNO.EINVAL;
          inp.inp_ip_tos = v < 0 ? 0 : v;
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
          if (v) inp.inp_flags |= IN6P_IPV6_V6ONLY; else inp.inp_flags &= ~IN6P_IPV6_V6ONLY;
          return 0;
        default: return -ERRNO.ENOPROTOOPT;
      }
    }
    if (level !== IPPROTO_TCP) return -ERRNO.ENOPROTOOPT;
    // FreeBSD: TCP options on a connection already gone (TIME_WAIT is a tcptw) fail.
    if (tp === null || tp.t_state === TCPS_TIME_WAIT) return -ERRNO.ECONNRESET;
    if (name === TCP_CONGESTION) {
      if (!set) return tp.cc.name;
      if (typeof value !== 'string') return -ERRNO.EINVAL;
      const a = this.cc.get(value.slice(0, TCP_CA_NAME_MAX - 1));
      if (!a) return -ERRNO.ENOENT;
      if (a !== tp.cc) {
        tp.cc.cb_destroy?.(tp);
        tp.ccv = {};
        tp.cc = a;
        a.cb_init?.(tp);
        if (haveEstablished(tp.t_state)) a.conn_init?.(tp);
        this.stat.tcps_cc_changes++;
      }
      return 0;
    }
    if (name === TCP_INFO) {
      if (set) return -ERRNO.EINVAL;
      return this.info(tp) as unknown as Record<string, number>;
    }
    const flagOpt = (flag: number): SockoptValue => {
      if (!set) return (tp.t_flags & flag) !== 0 ? 1 : 0;
      if (!Number.isInteger(v)) return -ERRNO.EINVAL;
      if (v) tp.t_flags |= flag; else tp.t_flags &= ~flag;
      return 0;
    };
    switch (name) {
      case TCP_NODELAY: {
        const r = flagOpt(TF_NODELAY);
        if (set && v) tcpOutput(this, tp);
        return r;
      }
      case TCP_NOPUSH: {
        const r = flagOpt(TF_NOPUSH);
        if (set && !v && haveEstablished(tp.t_state)) tcpOutput(this, tp);
        return r;
      }
      case TCP_NOOPT: return flagOpt(TF_NOOPT);
      case TCP_MD5SIG: return flagOpt(TF_SIGNATURE);
      case TCP_MAXSEG:
        if (!set) return tp.t_maxseg;
        // tcp_ctloutput: only lowering, and not below minmss.
        if (!Number.isInteger(v) || v < this.t.minmss || v > 65535) return -ERRNO.EINVAL;
        if (v < tp.t_maxseg) tp.t_maxseg = v;
        return 0;
      case TCP_KEEPINIT: case TCP_KEEPIDLE: case TCP_KEEPINTVL: {
        const key = name === TCP_KEEPINIT ? 't_keepinit' : name === TCP_KEEPIDLE ? 't_keepidle' : 't_keepintvl';
        if (!set) {
          const us = name === TCP_KEEPINIT ? this.keepinit(tp) : name === TCP_KEEPIDLE ? this.keepidle(tp) : this.keepintvl(tp);
          return Math.floor(us / 1_000_000);
        }
        // Seconds, as FreeBSD's TCP_KEEP* options take them.
        if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff / 1000) return -ERRNO.EINVAL;
        tp[key] = v * 1_000_000;
        if (name === TCP_KEEPIDLE && this.timerActive(tp, TT_KEEP) && haveEstablished(tp.t_state)) {
          this.timerActivate(tp, TT_KEEP, this.keepidle(tp));
        }
        if (name === TCP_KEEPINIT && tp.t_state === TCPS_SYN_SENT) this.timerActivate(tp, TT_KEEP, this.keepinit(tp));
        return 0;
      }
      case TCP_KEEPCNT:
        if (!set) return this.keepcnt(tp);
        if (!Number.isInteger(v) || v < 1) return -ERRNO.EINVAL;
        tp.t_keepcnt = v;
        return 0;
      default: return -ERRNO.ENOPROTOOPT;
    }
  }

  /** tcp_fill_info */
  info(tp: Tcpcb): TcpInfo {
    let opts = 0;
    if ((tp.t_flags & TF_REQ_TSTMP) && (tp.t_flags & TF_RCVD_TSTMP)) opts |= TCPI_OPT_TIMESTAMPS;
    if (tp.t_flags & TF_SACK_PERMIT && tp.t_state !== TCPS_LISTEN && tp.t_state !== TCPS_CLOSED && tp.t_state !== TCPS_SYN_SENT) opts |= TCPI_OPT_SACK;
    if ((tp.t_flags & TF_REQ_SCALE) && (tp.t_flags & TF_RCVD_SCALE)) opts |= TCPI_OPT_WSCALE;
    if (tp.t_flags & TF_ECN_PERMIT) opts |= TCPI_OPT_ECN;
    const now = this.now();
    const so = tp.inp.inp_socket;
    return {
      tcpi_state: tp.t_state,
      tcpi_ca_state: (tp.t_flags & TF_FASTRECOVERY) ? 3 : 0,
      tcpi_retransmits: tp.t_rxtshift,
      tcpi_probes: 0,
      tcpi_backoff: tp.t_rxtshift,
      tcpi_options: opts,
      tcpi_snd_wscale: (opts & TCPI_OPT_WSCALE) ? tp.snd_scale : 0,
      tcpi_rcv_wscale: (opts & TCPI_OPT_WSCALE) ? tp.rcv_scale : 0,
      tcpi_rto: tp.t_rxtcur,
      tcpi_ato: this.t.delacktime * 1000,
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

  /** The receive/send buffer limit (sb_max_adj) for autosize and SO_*BUF. */
  sbMaxAdj(): number { return sbMaxAdj(this.t.maxsockbuf); }
}

/** tcp_sendseqinit (tcp_seq.h) */
export function sendseqinit(tp: Tcpcb): void {
  tp.snd_una = tp.snd_nxt = tp.snd_max = tp.snd_up = tp.snd_recover = tp.iss;
}

/** tcp_rcvseqinit */
export function rcvseqinit(tp: Tcpcb): void {
  tp.rcv_adv = tp.rcv_nxt = (tp.irs + 1) >>> 0;
}

function setForm(dst: Uint8Array, a: Uint8Array, alen: number): void {
  dst.fill(0);
  if (alen === 4) { dst[10] = 0xff; dst[11] = 0xff; for (let i = 0; i < 4; i++) dst[12 + i] = a[i]!; }
  else for (let i = 0; i < 16; i++) dst[i] = a[i]!;
}

/** connect()'s foreign and source addresses: copied into the pcb, so one pair serves every call. */
const connFaddr = new Uint8Array(16);
const connSrc = new Uint8Array(16);

/**
 * The MSS we offer / start with from the route's MTU (tcp_mssopt / tcp_maxmtu):
 * MTU minus the IP and TCP headers, at least net.inet.tcp.minmss; the host
 * cache's path MTU, when known, caps it.
 */
export function mssFromMtu(tcp: Tcp, inp: Inpcb, mtu: number): number {
  const v4 = (inp.inp_vflag & INP_IPV4) !== 0;
  const hc = tcp.hostcache.get(inp.inp_faddr, tcp.now());
  if (hc && hc.rmx_mtu > 0 && hc.rmx_mtu < mtu) mtu = hc.rmx_mtu;
  const mss = mtu - (v4 ? 20 : 40) - 20;
  return Math.max(mss, tcp.t.minmss);
}

export { TT_2MSL, TT_DELACK, TT_REXMT, TT_PERSIST, TCPS_SYN_RECEIVED, TCPS_FIN_WAIT_2, TF_NOPUSH };
