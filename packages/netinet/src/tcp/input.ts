/**
 * tcp_input / tcp_do_segment (FreeBSD tcp_input.c) following RFC 9293 §3.10.7
 * ("SEGMENT ARRIVES") with RFC 5961 (challenge ACKs), RFC 7323 (PAWS, window
 * scaling), RFC 2018/6675 (SACK), RFC 3168 (ECN) and RFC 5681/6582 (congestion
 * control through the CC module). Bad input is counted and dropped, never thrown.
 */
import { seqGt, seqGeq, seqLt, seqLeq } from '@mcstack/wire';
import { sumBytes, fold } from '@mcstack/wire';
import { CSUM_DATA_VALID, CSUM_PSEUDO_HDR, M_BCAST, M_MCAST, M_HASHTYPE_NONE } from '../net/mbuf.js';
import {
  inPcblookupMbuf,
  inpWunlock,
  INPLOOKUP_WILDCARD,
  INPLOOKUP_WLOCKPCB,
  INP_IPV4,
  type Inpcb,
} from '../netinet/in_pcb.js';
import type { PktInfo } from '../netinet/ip_var.js';
import { ERRNO } from '../kern/errno.js';
import { LOG_INFO } from '../kern/msgbuf.js';
import { SS_NOFDREF, type Socket, sbMaxAdj } from '../kern/uipc_socket.js';
import { SBS_CANTRCVMORE, SB_AUTOSIZE } from '../kern/sockbuf.js';
import { TOF_MSS, TOF_SCALE, TOF_SACKPERM, TOF_TS, TOF_SACK, TOF_SIGNATURE } from '@mcstack/wire';
import { type Tcp, tcpAckWarCheck, tcpClose, tcpDrop, tcpTsGetticks } from './subr.js';
import { newHcMetricsLite } from './hostcache.js';
import { BANDLIM_RST_CLOSEDPORT, BANDLIM_RST_OPENPORT, BANDLIM_UNLIMITED } from '../netinet/ip_icmp.js';
import {
  type Tcpcb,
  TCPS_CLOSED,
  TCPS_LISTEN,
  TCPS_SYN_SENT,
  TCPS_SYN_RECEIVED,
  TCPS_ESTABLISHED,
  TCPS_CLOSE_WAIT,
  TCPS_FIN_WAIT_1,
  TCPS_CLOSING,
  TCPS_LAST_ACK,
  TCPS_FIN_WAIT_2,
  TCPS_TIME_WAIT,
  haveRcvdFin,
  haveEstablished,
  TH_FIN,
  TH_PUSH,
  TH_SYN,
  TH_RST,
  TH_ACK,
  TH_URG,
  TH_ECE,
  TH_CWR,
  TF_ACKNOW,
  TF_TSO,
  TF_SIGNATURE,
  TF_DELACK,
  TF_NEEDSYN,
  TF_NEEDFIN,
  TF_REQ_SCALE,
  TF_RCVD_SCALE,
  TF_REQ_TSTMP,
  TF_RCVD_TSTMP,
  TF_SACK_PERMIT,
  TF_SENTFIN,
  TF_FASTRECOVERY,
  TF_CONGRECOVERY,
  TF_ECN_PERMIT,
  TF_ECN_SND_ECE,
  TF_RXWIN0SENT,
  TT_DELACK,
  TT_REXMT,
  TT_PERSIST,
  TT_KEEP,
  TT_2MSL,
  TCP_MAXWIN,
  TCP_REASS_MAXQLEN,
  TcpSeg,
  rcvseqinit,
} from './var.js';
import { setState } from './fsm.js';
import { twstart, twcheck } from './timewait.js';
import { tcpOutput, tcpRespond, tcpRespondConn, rangeset, rexmtval, tcpMaxseg } from './output.js';
import { CC_DUPACK, CC_NDUPACK } from './cc/cc.js';
import { ccAckReceived, ccBadRxt, ccEcnSignal, ccEcnpktHandler, ccRtoErr } from './cc/cc_hooks.js';
import { HHOOK_TCP_EST_IN, hhookRunTcpEstIn } from './tcp_hhook.js';
import { tcpSignatureRstPass, tcpSignatureVerify } from './signature.js';
import { updateSackList, updateDsackList, cleanSackList } from './sack.js';
import { TCPTV_REXMTMAX, tcpstates } from './var.js';
import { type LogAddrs, tcpLogDebug, tcpLogPrefix } from './log_addrs.js';
import { tcpTimerActivate, tcpTimerActive, tpKeepidle } from './timer.js';

const TCPREXMTTHRESH = 3;

/** The segment being processed: one record, reused by every tcp_input call. */
const seg = new TcpSeg();
const la = new Uint8Array(16);
const fa = new Uint8Array(16);

export function copyForm(dst: Uint8Array, buf: Uint8Array, off: number, v4: boolean): void {
  if (v4) {
    dst.fill(0, 0, 10);
    dst[10] = 0xff;
    dst[11] = 0xff;
    dst[12] = buf[off]!;
    dst[13] = buf[off + 1]!;
    dst[14] = buf[off + 2]!;
    dst[15] = buf[off + 3]!;
  } else {
    for (let i = 0; i < 16; i++) dst[i] = buf[off + i]!;
  }
}

/** pr_input for IPPROTO_TCP; `port`: the UDP source port of a tunneled segment (tcp/tunnel.ts). */
export function tcpInput(tcp: Tcp, m: Uint8Array, off: number, len: number, pi: PktInfo, port = 0): void {
  const st = tcp.stat;
  st.tcps_rcvtotal++;
  if (len < 20) {
    st.tcps_rcvshort++;
    return;
  }
  const v4 = pi.af === 4;
  const alen = v4 ? 4 : 16;
  // Checksum (RFC 9293 §3.1) unless the interface verified it (CSUM_DATA_VALID|CSUM_PSEUDO_HDR),
  // or the segment came over UDP, whose checksum covered it (tcp_input_with_port).
  if (
    port === 0 &&
    !(
      (pi.csumFlags & (CSUM_DATA_VALID | CSUM_PSEUDO_HDR)) === (CSUM_DATA_VALID | CSUM_PSEUDO_HDR) &&
      pi.csumData === 0xffff
    )
  ) {
    let s = 6 + len;
    for (let i = 0; i < alen; i += 2) {
      s += ((m[pi.srcOff + i]! << 8) | m[pi.srcOff + i + 1]!) + ((m[pi.dstOff + i]! << 8) | m[pi.dstOff + i + 1]!);
    }
    if (fold(sumBytes(m, off, len, s)) !== 0xffff) {
      st.tcps_rcvbadsum++;
      return;
    }
  }
  const thoff = (m[off + 12]! >>> 4) << 2;
  if (thoff < 20 || thoff > len) {
    st.tcps_rcvbadoff++;
    return;
  }
  // RFC 1122 §4.2.3.10: no TCP to broadcast or multicast destinations.
  if ((pi.mflags & (M_BCAST | M_MCAST)) !== 0) {
    st.tcps_noport++;
    return;
  }
  seg.buf = m;
  seg.th = off;
  seg.data = off + thoff;
  seg.tlen = len - thoff;
  seg.flags = m[off + 13]!;
  seg.sport = (m[off]! << 8) | m[off + 1]!;
  seg.dport = (m[off + 2]! << 8) | m[off + 3]!;
  seg.seq = ((m[off + 4]! << 24) | (m[off + 5]! << 16) | (m[off + 6]! << 8) | m[off + 7]!) >>> 0;
  seg.ack = ((m[off + 8]! << 24) | (m[off + 9]! << 16) | (m[off + 10]! << 8) | m[off + 11]!) >>> 0;
  seg.win = (m[off + 14]! << 8) | m[off + 15]!;
  seg.iptos = pi.tos;
  seg.v4 = v4;
  seg.srcOff = pi.srcOff;
  seg.dstOff = pi.dstOff;
  seg.port = port;
  seg.nsegs = Math.max(pi.lroNsegs, 1);
  seg.segsz = seg.nsegs > 1 ? pi.lroSegsz : 0;
  // M_GETFIB: the receiving interface's FIB, for what is answered without a connection.
  seg.fib = pi.ifp.fib;
  const thflags = seg.flags;
  // net.inet.tcp.drop_synfin: SYN|FIN segments are dropped in every state (tcp_input.c).
  if ((thflags & (TH_SYN | TH_FIN)) === (TH_SYN | TH_FIN) && tcp.t.drop_synfin) return;
  tcp.opt.scan(m, off + 20, off + thoff, (thflags & TH_SYN) !== 0);

  for (let pass = 0; pass < 2; pass++) {
    // in_pcblookup_mbuf: the group's table, then the listeners; the pcb comes back write-locked.
    const inp = inPcblookupMbuf(
      tcp.pcbinfo,
      m,
      pi.srcOff,
      seg.sport,
      pi.dstOff,
      seg.dport,
      alen,
      INPLOOKUP_WILDCARD | INPLOOKUP_WLOCKPCB,
      pi.hashType,
      pi.flowid,
    );
    const tp = inp?.inp_ppcb ?? null;
    if (tp === null || tp.t_state === TCPS_CLOSED) {
      if (inp !== null) inpWunlock(inp);
      // No one listens here (RFC 9293 §3.10.7.1): RST unless blackholed.
      // net.inet.tcp.log_in_vain: 1 logs SYNs to closed ports, 2 every segment (tcp_log_vain).
      if (tcp.t.log_in_vain === 2 || (tcp.t.log_in_vain === 1 && (thflags & TH_SYN) !== 0)) logInVain(tcp, seg);
      st.tcps_noport++;
      if (tcp.t.blackhole === 2 || (tcp.t.blackhole === 1 && (thflags & TH_SYN) !== 0)) return;
      // A bound socket answers for itself (tcp_dropwithreset with its tcpcb): its TOS,
      // and its signature under TCP_MD5SIG.
      dropWithReset(tcp, tp, seg, BANDLIM_RST_CLOSEDPORT);
      return;
    }
    // TCP over UDP: a synchronized connection takes segments only from the UDP port it
    // started with (none: not tunneled); others are answered with an RST to where they
    // came from, the connection untouched (tcp_input_with_port).
    if (tp.t_port !== seg.port && tp.t_state > TCPS_LISTEN) {
      inpWunlock(inp!);
      dropWithReset(tcp, tp, seg);
      return;
    }
    // RFC 2385 §3.0: a TCP_MD5SIG connection or listener drops segments without a valid
    // signature, any other one signed segments (tcp_signature_verify); in SYN-SENT an
    // RST still goes on to be judged by its ACK.
    if (
      ((tp.t_flags & TF_SIGNATURE) !== 0 || (tcp.opt.flags & TOF_SIGNATURE) !== 0) &&
      !tcpSignatureVerify(tcp, seg, tp.t_flags) &&
      !tcpSignatureRstPass(tp, seg)
    ) {
      inpWunlock(inp!);
      return;
    }
    if (tp.t_state === TCPS_TIME_WAIT) {
      const again = twcheck(tcp, tp, seg);
      inpWunlock(inp!);
      if (again) continue; // the SYN may open a new connection: look again
      return;
    }
    if (tp.t_state === TCPS_LISTEN) {
      // syncache_expand: the handshake's ACK made a connection; the segment goes on with it.
      const ntp = tcp.syncache.input(tp, seg, pi);
      inpWunlock(inp!);
      if (ntp !== null) doSegment(tcp, ntp, seg);
      return;
    }
    // The connection's RSS hash, from its first hashed segment (tcp_input).
    if (inp!.inp_flowtype === M_HASHTYPE_NONE && pi.hashType !== M_HASHTYPE_NONE) {
      inp!.inp_flowid = pi.flowid;
      inp!.inp_flowtype = pi.hashType;
    }
    // The filter's state for this flow, linked to the pcb for its output (pf_inp_link).
    if (pi.pf_statekey !== null) inp!.inp_pf_sk = pi.pf_statekey;
    if (seg.segsz > 0 && (seg.seq !== tp.rcv_nxt || tp.reass.length > 0)) doSegmentPieces(tcp, tp, seg);
    else doSegment(tcp, tp, seg);
    inpWunlock(inp!);
    return;
  }
}

/**
 * tcp_recv_udp_tunneled_packet: the datagram at [off, off+len) (UDP header first, its
 * length checked by UDP) as a TCP segment from its source port; tcp_input counts one too
 * short for a TCP header (tcps_rcvshort).
 */
export function tcpTunnelInput(tcp: Tcp, m: Uint8Array, off: number, len: number, pi: PktInfo): void {
  const sport = (m[off]! << 8) | m[off + 1]!;
  tcpInput(tcp, m, off + 8, len - 8, pi, sport);
}

/** The remote/local addresses of the current segment in 16-byte form. */
export function segAddrs(s: TcpSeg): { laddr: Uint8Array; faddr: Uint8Array } {
  copyForm(la, s.buf, s.dstOff, s.v4);
  copyForm(fa, s.buf, s.srcOff, s.v4);
  return { laddr: la, faddr: fa };
}

/**
 * tcp_dropwithreset (RFC 9293 §3.10.7.1): answer a segment with an RST — seq = its
 * ACK when it has one, else RST|ACK acknowledging it. Never for an RST.
 */
export function dropWithReset(
  tcp: Tcp,
  tp: Tcpcb | null,
  s: TcpSeg,
  rstreason = tp !== null ? BANDLIM_RST_OPENPORT : BANDLIM_RST_CLOSEDPORT,
): void {
  if ((s.flags & TH_RST) !== 0) return;
  // Perform bandwidth limiting (tcp_dropwithreset): net.inet.icmp.icmplim RSTs a second.
  if (tcp.net?.badportBandlim(rstreason)) return;
  segAddrs(s);
  if ((s.flags & TH_ACK) !== 0) {
    tcpRespond(tcp, tp, s.v4, la, fa, s.dport, s.sport, s.ack, 0, TH_RST, null, s.port, tp?.inp.inc_fibnum ?? s.fib);
  } else {
    let ack = (s.seq + s.tlen) >>> 0;
    if (s.flags & TH_SYN) ack = (ack + 1) >>> 0;
    if (s.flags & TH_FIN) ack = (ack + 1) >>> 0;
    tcpRespond(
      tcp,
      tp,
      s.v4,
      la,
      fa,
      s.dport,
      s.sport,
      0,
      ack,
      TH_RST | TH_ACK,
      null,
      s.port,
      tp?.inp.inc_fibnum ?? s.fib,
    );
  }
}

/**
 * tcp_send_challenge_ack (RFC 5961 §3.2, §4.2, §5.2): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>,
 * at most net.inet.tcp.ack_war_cnt per ack_war_timewindow (RFC 5961 §7's throttle).
 */
function challengeAck(tcp: Tcp, tp: Tcpcb): void {
  if (!tcpAckWarCheck(tcp, tp)) return;
  tcpRespondConn(tcp, tp, tp.snd_nxt, tp.rcv_nxt, TH_ACK, tcp.opt.flags & TOF_TS ? tcp.opt.tsVal : 0);
  tp.last_ack_sent = tp.rcv_nxt;
}

/**
 * tcp_mss: the peer's MSS offer (or mssdflt without one), capped by our route,
 * sets t_maxseg; socket buffers are rounded up to whole segments (FreeBSD).
 */
export function tcpMss(tcp: Tcp, tp: Tcpcb, offer: number): void {
  const inp = tp.inp;
  const v4 = (inp.inp_vflag & 1) !== 0;
  if (offer === 0) offer = v4 ? tcp.t.mssdflt : tcp.t.v6mssdflt;
  else offer = Math.max(offer, tcp.t.minmss);
  tp.t_peermss = offer;
  let mss = tp.t_mssopt > 0 ? Math.min(tp.t_mssopt, offer) : offer;
  // Without path MTU discovery only a peer on an attached network gets more than the
  // default MSS (tcp_mss_update), unless the host cache knows the path.
  if (
    !tcp.t.path_mtu_discovery &&
    !tcp.net?.onLink(v4, inp.inp_faddr, inp.inc_fibnum) &&
    tcp.hostcache.getmtu(inp.inp_faddr) === 0
  )
    mss = Math.min(mss, v4 ? tcp.t.mssdflt : tcp.t.v6mssdflt);
  mss = Math.max(mss, 64);
  tp.t_maxseg = mss;
  // TSO when the interface toward the peer offers it (tcp_mss: cap.ifcap & CSUM_TSO).
  const tsomax = tcp.net?.hwTsoMax?.(v4, inp.inp_faddr, inp.inc_fibnum) ?? 0;
  if (tsomax > 0) {
    tp.t_flags |= TF_TSO;
    tp.t_tsomax = tsomax;
  } else {
    tp.t_flags &= ~TF_TSO;
    tp.t_tsomax = 0;
  }
  const so = inp.inp_socket;
  if (so === null) return;
  const sbMax = sbMaxAdj(tcp.t.maxsockbuf);
  for (const sb of [so.so_snd, so.so_rcv]) {
    const bufsize = sb.sb_hiwat;
    if (bufsize < mss) continue;
    let r = Math.ceil(bufsize / mss) * mss;
    if (r > sbMax) r = sbMax;
    if (r > sb.sb_hiwat) sb.reserve(r);
  }
}

/**
 * The MSS we offer / start with from the route's MTU (tcp_mssopt / tcp_maxmtu):
 * MTU minus the IP and TCP headers, at least net.inet.tcp.minmss; the host
 * cache's path MTU, when known, caps it (tcp_hc_getmtu).
 */
export function mssFromMtu(tcp: Tcp, inp: Inpcb, mtu: number): number {
  const v4 = (inp.inp_vflag & INP_IPV4) !== 0;
  const hcmtu = tcp.hostcache.getmtu(inp.inp_faddr);
  if (hcmtu > 0 && hcmtu < mtu) mtu = hcmtu;
  const mss = mtu - (v4 ? 20 : 40) - 20;
  return Math.max(mss, tcp.t.minmss);
}

/**
 * tcp_mss_update with an MTU offer (from ICMP, or ip_output's EMSGSIZE): the new MSS is
 * the least of the offer, the host cache's path MTU and the route's MTU, less the headers.
 * The offer is used as given, so the MSS drops even when the host cache had no room for
 * it (the change notes: otherwise each retransmission at the old size draws another ICMP,
 * at wire speed). Returns the MSS.
 */
export function tcpMssUpdate(tcp: Tcp, tp: Tcpcb, mtuoffer: number): number {
  const inp = tp.inp;
  const v4 = (inp.inp_vflag & INP_IPV4) !== 0;
  const minProtoh = v4 ? 40 : 60;
  const offer = Math.max(mtuoffer - minProtoh, tcp.t.minmss);
  const maxmtu = tcp.net?.route(v4, inp.inp_faddr, inp.inp_laddr, mssSrc, inp.inc_fibnum) ?? 0;
  if (maxmtu <= 0) {
    // No route: the default MSS.
    tp.t_maxseg = v4 ? tcp.t.mssdflt : tcp.t.v6mssdflt;
    return tp.t_maxseg;
  }
  const hcmtu = tcp.hostcache.getmtu(inp.inp_faddr);
  let mss = (hcmtu > 0 ? Math.min(hcmtu, maxmtu) : maxmtu) - minProtoh;
  // Never above what the peer offered on its SYN.
  if (tp.t_peermss > 0) mss = Math.min(mss, tp.t_peermss);
  mss = Math.max(Math.min(mss, offer), 64);
  tp.t_maxseg = mss;
  return mss;
}
const mssSrc = new Uint8Array(16);

/**
 * tcp_mtudisc: a smaller path MTU is known: take the MSS down, forget any SACK recovery,
 * and resend everything unacknowledged at once at the new size (tcps_mturesent).
 */
export function tcpMtudisc(tcp: Tcp, tp: Tcpcb, mtuoffer: number): void {
  tcpMssUpdate(tcp, tp, mtuoffer);
  const so = tp.inp.inp_socket;
  if (so !== null && so.so_snd.sb_hiwat < tp.t_maxseg) tp.t_maxseg = so.so_snd.sb_hiwat;
  tcp.stat.tcps_mturesent++;
  tp.t_rtttime = 0;
  tp.snd_nxt = tp.snd_una;
  tp.sackReset(tp.snd_una);
  tp.snd_recover = tp.snd_max;
  if ((tp.t_flags & TF_SACK_PERMIT) !== 0) tp.t_flags &= ~TF_FASTRECOVERY;
  tcpOutput(tcp, tp);
}

const hcMetrics = newHcMetricsLite();

/**
 * cc_conn_init: a new connection starts from what the host cache remembers of the peer
 * (tcp_hc_get): its smoothed RTT and variance (with the conservative first RTO FreeBSD
 * derives from them) and, where a loss once set it, ssthresh; then the algorithm's own
 * initial window.
 */
export function ccConnInit(tcp: Tcp, tp: Tcpcb): void {
  const m = hcMetrics;
  tcp.hostcache.get(tp.inp.inp_faddr, m);
  if (tp.t_srtt === 0 && m.rmx_rtt !== 0) {
    tp.t_srtt = m.rmx_rtt;
    tcp.stat.tcps_usedrtt++;
    if (m.rmx_rttvar !== 0) {
      tp.t_rttvar = m.rmx_rttvar;
      tcp.stat.tcps_usedrttvar++;
    } else {
      // The default variation is ± one RTT.
      tp.t_rttvar = tp.t_srtt / 2;
    }
    // ((t_srtt >> 2) + t_rttvar) >> 1 in FreeBSD's scaled units: 4·srtt + 8·rttvar.
    tp.t_rxtcur = rangeset(tcp, Math.floor(4 * tp.t_srtt + 8 * tp.t_rttvar), tp.t_rttmin, TCPTV_REXMTMAX);
  }
  if (m.rmx_ssthresh !== 0) {
    // A gateway or interface buffer limit on the path: no less than two segments.
    tp.snd_ssthresh = Math.max(2 * tp.t_maxseg, m.rmx_ssthresh);
    tcp.stat.tcps_usedssthresh++;
  }
  tp.cc.conn_init?.(tp);
}

/** tcp_xmit_timer: fold one RTT sample (µs) into srtt/rttvar (RFC 6298 §2). */
function xmitTimer(tcp: Tcp, tp: Tcpcb, rtt: number): void {
  tcp.stat.tcps_rttupdated++;
  tp.t_rttupdated++;
  if (rtt < 1000) rtt = 1000; // one tick: FreeBSD's clock granularity G (ms)
  if (tp.t_srtt !== 0) {
    const delta = rtt - tp.t_srtt;
    tp.t_srtt += delta / 8;
    tp.t_rttvar += (Math.abs(delta) - tp.t_rttvar) / 4;
  } else {
    // RFC 6298 §2.2: first measurement.
    tp.t_srtt = rtt;
    tp.t_rttvar = rtt / 2;
  }
  tp.t_rtttime = 0;
  tp.t_rxtshift = 0;
  tp.t_rxtcur = rangeset(tcp, Math.floor(rexmtval(tp)), Math.max(tp.t_rttmin, rtt + 2000), TCPTV_REXMTMAX);
  tp.t_softerror = 0;
}

/**
 * tcp_autorcvbuf: receive-buffer autotuning for in-order data. Over periods of half a
 * smoothed RTT (from the first segment we sent, rfbuf_ts), count the bytes that arrive;
 * when a period brought more than 3/8 of the buffer, grow it to twice that count while it
 * is below net.inet.tcp.recvbuf_max. The advertised window follows (tcp_output reads
 * sbspace), so the sender is not capped by the initial 64 KB.
 */
function autorcvbuf(tcp: Tcp, tp: Tcpcb, so: Socket, tlen: number): void {
  const sb = so.so_rcv;
  if (
    tcp.t.recvbuf_auto &&
    (sb.sb_flags & SB_AUTOSIZE) !== 0 &&
    tp.t_srtt !== 0 &&
    tp.rfbuf_ts !== 0 &&
    (tcpTsGetticks(tcp) - tp.rfbuf_ts) >>> 0 > tp.t_srtt / 2000
  ) {
    if (tp.rfbuf_cnt > Math.floor(Math.floor(sb.sb_hiwat / 2) / 4) * 3 && sb.sb_hiwat < tcp.t.recvbuf_max) {
      // Past sb_max_adj the reserve fails: then stop autosizing this buffer.
      if (!sb.reserveMax(Math.max(sb.sb_hiwat, tp.rfbuf_cnt * 2), sbMaxAdj(tcp.t.maxsockbuf)))
        sb.sb_flags &= ~SB_AUTOSIZE;
    }
    // Start over with the next RTT.
    tp.rfbuf_ts = 0;
    tp.rfbuf_cnt = 0;
  } else {
    tp.rfbuf_cnt += tlen;
  }
}

/** tcp_log_vain + log(LOG_INFO): "TCP: [src]:sport to [dst]:dport tcpflags 0x2<SYN>; tcp_input: ...". */
function logInVain(tcp: Tcp, s: TcpSeg): void {
  const log = tcp.log;
  if (log === undefined) return;
  log(LOG_INFO, `${tcpLogPrefix(segLogAddrs(s), s.flags)}; tcp_input: Connection attempt to closed port`);
}

/** tcp_log_addrs for a segment, under net.inet.tcp.log_debug (tcp/log_addrs.ts). */
export function logDebugSeg(tcp: Tcp, s: TcpSeg, func: string, msg: string): void {
  if (tcp.t.log_debug === 0) return;
  tcpLogDebug(tcp, segLogAddrs(s), s.flags, func, msg);
}

/** A segment's in_conninfo for a log line (made only when a line is logged). */
function segLogAddrs(s: TcpSeg): LogAddrs {
  const { laddr, faddr } = segAddrs(s);
  return { v4: s.v4, faddr, fport: s.sport, laddr, lport: s.dport };
}

/**
 * The ACKs the sender would have had for an in-order segment LRO (or the kernel's GRO)
 * merged from `s.nsegs` of its segments: one at the end of every second segment (every
 * one with net.inet.tcp.delayed_ack off), before the ACK for the whole that DELAY_ACK
 * sends at once (tlen > t_maxseg). FreeBSD's tcp_input sends that last ACK only; a
 * sender clocked by ACKs then sees one per receive batch — RFC 5681 §4.2's "at least
 * every second full-sized segment" broken into stretch ACKs (RFC 2525 §2.13), its
 * slow start growing by one ACK's worth per batch (RFC 3465's L) and every lost ACK
 * an RTO. `start` is the segment's first sequence number; rcv_nxt is already past it.
 */
function ackMergedSegments(tcp: Tcp, tp: Tcpcb, start: number, tlen: number, s: TcpSeg): void {
  const step = s.segsz * (tcp.t.delayed_ack !== 0 ? 2 : 1);
  if (step <= 0 || step >= tlen) return;
  const end = tp.rcv_nxt;
  for (let off = step; off < tlen; off += step) {
    tp.rcv_nxt = (start + off) >>> 0;
    tp.t_flags |= TF_ACKNOW;
    tcpOutput(tcp, tp);
  }
  tp.rcv_nxt = end;
  // The ACK for the whole is still owed (tcp_output cleared the flag for the pieces').
  tp.t_flags |= TF_ACKNOW;
}

/**
 * A merged segment that does not continue the stream in order (a hole before it, or
 * holes still being filled) goes through tcp_do_segment as the segments it was made
 * of: each one out of order is a duplicate ACK with its own SACK block for the sender
 * (RFC 5681 §4.2, RFC 6675 §5), which one merged segment would fold into one. The
 * pieces are views of the merged bytes; FIN and PSH stay on the last (tso.ts's rule).
 */
function doSegmentPieces(tcp: Tcp, tp: Tcpcb, s: TcpSeg): void {
  const segsz = s.segsz;
  const tlen = s.tlen;
  const data = s.data;
  const seq = s.seq;
  const flags = s.flags;
  s.nsegs = 1;
  s.segsz = 0;
  for (let off = 0; off < tlen && tp.t_state !== TCPS_CLOSED; off += segsz) {
    const last = off + segsz >= tlen;
    s.data = data + off;
    s.seq = (seq + off) >>> 0;
    s.tlen = last ? tlen - off : segsz;
    s.flags = last ? flags : flags & ~(TH_FIN | TH_PUSH);
    doSegment(tcp, tp, s);
  }
}

/** DELAY_ACK (tcp_input.c): may the ACK for this segment wait? */
function delayAck(tcp: Tcp, tp: Tcpcb, tlen: number): boolean {
  return (
    !tcpTimerActive(tp, TT_DELACK) &&
    (tp.t_flags & TF_RXWIN0SENT) === 0 &&
    tlen <= tp.t_maxseg &&
    (tcp.t.delayed_ack !== 0 || (tp.t_flags & TF_NEEDSYN) !== 0)
  );
}

function sackBlkStart(i: number): number {
  return sackOpt!.sackStart(i);
}
function sackBlkEnd(i: number): number {
  return sackOpt!.sackEnd(i);
}
let sackOpt: Tcp['opt'] | null = null;
/** Whether the ACK being processed changed the SACK scoreboard (tcp_sack_doack's sack_changed). */
let sackChanged = false;

/** tcp_do_segment: the segment for an existing, non-LISTEN connection. */
export function doSegment(tcp: Tcp, tp: Tcpcb, s: TcpSeg): void {
  const st = tcp.stat;
  const t = tcp.t;
  const to = tcp.opt;
  const inp = tp.inp;
  const so = inp.inp_socket;
  let thflags = s.flags;
  let tlen = s.tlen;
  let needoutput = false;
  let ourfinisacked = false;
  const now = tcp.now();

  tp.t_rcvtime = now;
  if (tlen > 0) {
    st.tcps_rcvpack += 0;
  }

  // RFC 3168 §6.1: ECN signals on a synchronized connection.
  if ((tp.t_flags & TF_ECN_PERMIT) !== 0) {
    if (thflags & TH_CWR) tp.t_flags &= ~TF_ECN_SND_ECE;
    switch (s.iptos & 3) {
      case 3:
        tp.t_flags |= TF_ECN_SND_ECE;
        st.tcps_ecn_ce++;
        break;
      case 2:
        st.tcps_ecn_ect0++;
        break;
      case 1:
        st.tcps_ecn_ect1++;
        break;
    }
    ccEcnpktHandler(tcp, tp, s.iptos, (thflags & TH_CWR) !== 0);
    if ((thflags & TH_ECE) !== 0 && (thflags & TH_ACK) !== 0 && seqLeq(s.ack, tp.snd_max) && seqGt(s.ack, tp.snd_una))
      ccEcnSignal(tcp, tp, s.ack);
  }

  // Window scaling (RFC 7323 §2.3): not on a SYN.
  const tiwin = thflags & TH_SYN ? s.win : s.win << tp.snd_scale;

  // The keepalive timer restarts on any segment once established (lazily: see timer.ts).
  if (haveEstablished(tp.t_state) && !tcpTimerActive(tp, TT_KEEP))
    tcpTimerActivate(tcp, tp, TT_KEEP, tpKeepidle(tcp, tp));

  // RFC 7323 §3.2: TS negotiated but missing on a non-RST segment: drop (FreeBSD 12+).
  if ((tp.t_flags & TF_RCVD_TSTMP) !== 0 && (to.flags & TOF_TS) === 0 && tp.t_state !== TCPS_SYN_SENT) {
    if ((thflags & TH_RST) === 0 && !t.tolerate_missing_ts) {
      logDebugSeg(tcp, s, 'tcp_do_segment', 'Timestamp missing, segment silently dropped');
      return;
    }
    logDebugSeg(tcp, s, 'tcp_do_segment', 'Timestamp missing, segment processed normally');
  }
  // RFC 7323 §3.2: TS not negotiated but present: ignored.
  if ((tp.t_flags & TF_RCVD_TSTMP) === 0 && (to.flags & TOF_TS) !== 0 && tp.t_state !== TCPS_SYN_SENT)
    logDebugSeg(tcp, s, 'tcp_do_segment', 'Timestamp not expected, segment processed normally');

  // Options on our SYN's answer (tcp_input's "SYN_SENT && SYN" block).
  // Not for a SYN-ACK whose ACK is unacceptable: it is answered with an RST below and
  // the retransmitted SYN must still carry every option (FreeBSD suite, rcv-syn-ack-syn-sent).
  if (
    tp.t_state === TCPS_SYN_SENT &&
    (thflags & TH_SYN) !== 0 &&
    !((thflags & TH_ACK) !== 0 && (seqLeq(s.ack, tp.iss) || seqGt(s.ack, tp.snd_max)))
  ) {
    if ((thflags & TH_ACK) === 0 && (thflags & (TH_CWR | TH_ECE)) === (TH_CWR | TH_ECE) && t.ecn_enable) {
      tp.t_flags |= TF_ECN_PERMIT;
      st.tcps_ecn_shs++;
    }
    if ((to.flags & TOF_SCALE) !== 0 && (tp.t_flags & TF_REQ_SCALE) !== 0) {
      tp.t_flags |= TF_RCVD_SCALE;
      tp.snd_scale = to.wscale;
    } else {
      tp.t_flags &= ~TF_REQ_SCALE;
    }
    if ((to.flags & TOF_TS) !== 0 && (tp.t_flags & TF_REQ_TSTMP) !== 0) {
      tp.t_flags |= TF_RCVD_TSTMP;
      tp.ts_recent = to.tsVal;
      tp.ts_recent_age = now;
    } else {
      tp.t_flags &= ~TF_REQ_TSTMP;
    }
    tcpMss(tcp, tp, (to.flags & TOF_MSS) !== 0 ? to.mss : 0);
    if ((tp.t_flags & TF_SACK_PERMIT) !== 0 && (to.flags & TOF_SACKPERM) === 0) tp.t_flags &= ~TF_SACK_PERMIT;
  }

  // ---------------- header prediction (tcp_input.c fast path) ----------------
  if (
    tp.t_state === TCPS_ESTABLISHED &&
    (thflags & (TH_SYN | TH_FIN | TH_RST | TH_URG | TH_ACK)) === TH_ACK &&
    ((to.flags & TOF_TS) === 0 || seqGeq(to.tsVal, tp.ts_recent)) &&
    s.seq === tp.rcv_nxt &&
    tiwin !== 0 &&
    tiwin === tp.snd_wnd &&
    (tp.t_flags & (TF_NEEDSYN | TF_NEEDFIN)) === 0 &&
    tp.snd_nxt === tp.snd_max &&
    (tp.t_flags & TF_ECN_PERMIT) === 0
  ) {
    if ((to.flags & TOF_TS) !== 0 && seqLeq(s.seq, tp.last_ack_sent)) {
      tp.ts_recent_age = now;
      tp.ts_recent = to.tsVal;
    }
    if (tlen === 0) {
      if (
        seqGt(s.ack, tp.snd_una) &&
        seqLeq(s.ack, tp.snd_max) &&
        (tp.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY)) === 0 &&
        tp.sackHoles() === 0 &&
        (to.flags & TOF_SACK) === 0 &&
        so !== null
      ) {
        // Pure ACK for outstanding data.
        st.tcps_predack++;
        ackAdvance(tcp, tp, s.ack, to.flags & TOF_TS ? to.tsEcr : 0, now, true);
        if (so.so_snd.sb_cc > 0 || tp.t_flags & TF_ACKNOW) tcpOutput(tcp, tp);
        return;
      }
    } else if (
      s.ack === tp.snd_una &&
      tp.reass.length === 0 &&
      so !== null &&
      tlen <= so.so_rcv.space() &&
      (so.so_rcv.sb_state & SBS_CANTRCVMORE) === 0
    ) {
      // Pure in-sequence data.
      st.tcps_preddat++;
      tp.rcv_nxt = (tp.rcv_nxt + tlen) >>> 0;
      if (tp.rcv_numsacks > 0) tp.rcv_numsacks = cleanSackList(tp.sackblks, tp.rcv_numsacks, tp.rcv_nxt);
      st.tcps_rcvpack += s.nsegs;
      st.tcps_rcvbyte += tlen;
      autorcvbuf(tcp, tp, so, tlen);
      so.so_rcv.append(s.buf, s.data, tlen, so.layer.sbzone, true);
      tcp.sockets.wakeup(so);
      if (s.nsegs > 1) ackMergedSegments(tcp, tp, s.seq, tlen, s);
      if (delayAck(tcp, tp, tlen)) {
        tp.t_flags |= TF_DELACK;
        tcpTimerActivate(tcp, tp, TT_DELACK, t.delacktime * 1000);
      } else {
        tp.t_flags |= TF_ACKNOW;
        tcpOutput(tcp, tp);
      }
      return;
    }
  }

  // Receive window (RFC 9293 §3.8.6.2.2): never shrink what we advertised.
  {
    let win = so !== null ? so.so_rcv.space() : 0;
    const adv = (tp.rcv_adv - tp.rcv_nxt) | 0;
    if (win < 0) win = 0;
    tp.rcv_wnd = Math.max(win, adv);
  }

  switch (tp.t_state) {
    case TCPS_SYN_SENT: {
      // RFC 9293 §3.10.7.3 SYN-SENT, first: check the ACK.
      if ((thflags & TH_ACK) !== 0 && (seqLeq(s.ack, tp.iss) || seqGt(s.ack, tp.snd_max))) {
        dropWithReset(tcp, tp, s);
        return;
      }
      // Second: the RST bit. Acceptable only with an acceptable ACK.
      if ((thflags & (TH_ACK | TH_RST)) === (TH_ACK | TH_RST)) {
        tcpDrop(tcp, tp, ERRNO.ECONNREFUSED);
        return;
      }
      if (thflags & TH_RST) return;
      // Fourth: the SYN bit; without it, drop.
      if ((thflags & TH_SYN) === 0) return;
      tp.irs = s.seq;
      rcvseqinit(tp);
      if (thflags & TH_ACK) {
        // Our SYN is acknowledged: ESTABLISHED (RFC 9293 §3.10.7.3 fourth, "SND.UNA > ISS").
        st.tcps_connects++;
        if ((tp.t_flags & (TF_RCVD_SCALE | TF_REQ_SCALE)) === (TF_RCVD_SCALE | TF_REQ_SCALE))
          tp.rcv_scale = tp.request_r_scale;
        tp.rcv_adv = (tp.rcv_adv + Math.min(tp.rcv_wnd, TCP_MAXWIN * 2 ** tp.rcv_scale)) >>> 0;
        tp.snd_una = (tp.snd_una + 1) >>> 0;
        // As FreeBSD: arm the delayed-ACK timer for data on the SYN-ACK; step six then
        // finds it running (DELAY_ACK false) and ACKs at once.
        if (delayAck(tcp, tp, tlen) && tlen !== 0) {
          tcpTimerActivate(tcp, tp, TT_DELACK, t.delacktime * 1000);
        } else {
          tp.t_flags |= TF_ACKNOW;
        }
        // RFC 3168 §6.1.1: a SYN-ACK with ECE (and no CWR) agrees to ECN.
        if ((thflags & (TH_ECE | TH_CWR)) === TH_ECE && t.ecn_enable && tp.t_rxtshift <= t.ecn_maxretries + 0 + 99) {
          if (t.ecn_enable === 1 || (tp.t_flags & TF_ECN_PERMIT) !== 0) {
            tp.t_flags |= TF_ECN_PERMIT;
            st.tcps_ecn_shs++;
          }
        }
        tp.t_starttime = now;
        if (tp.t_flags & TF_NEEDFIN) {
          setState(st, tp, TCPS_FIN_WAIT_1);
          tp.t_flags &= ~TF_NEEDFIN;
          thflags &= ~TH_SYN;
        } else {
          setState(st, tp, TCPS_ESTABLISHED);
          tcpTimerActivate(tcp, tp, TT_KEEP, tpKeepidle(tcp, tp));
        }
        ccConnInit(tcp, tp);
        if (tp.t_rtttime !== 0 && seqGt(s.ack, tp.t_rtseq) && (to.flags & TOF_TS) === 0)
          xmitTimer(tcp, tp, now - tp.t_rtttime);
        else if ((to.flags & TOF_TS) !== 0 && to.tsEcr !== 0)
          xmitTimer(tcp, tp, (tcpTsGetticks(tcp) - ((to.tsEcr - tp.ts_offset) >>> 0) + 1) * 1000);
        tcpTimerActivate(tcp, tp, TT_REXMT, 0);
      } else {
        // RFC 9293 §3.10.7.3 fourth, simultaneous open: SYN-RECEIVED, send SYN,ACK.
        // "<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>": the SYN is resent from ISS.
        tp.t_flags |= TF_ACKNOW | TF_NEEDSYN;
        tcpTimerActivate(tcp, tp, TT_REXMT, 0);
        tp.snd_nxt = tp.snd_una;
        setState(st, tp, TCPS_SYN_RECEIVED);
      }
      // Advance past the SYN; trim data beyond the window.
      s.seq = (s.seq + 1) >>> 0;
      if (tlen > tp.rcv_wnd) {
        const todrop = tlen - tp.rcv_wnd;
        tlen = tp.rcv_wnd;
        thflags &= ~TH_FIN;
        st.tcps_rcvpackafterwin++;
        st.tcps_rcvbyteafterwin += todrop;
      }
      tp.snd_wl1 = (s.seq - 1) >>> 0;
      tp.rcv_up = s.seq;
      // Only the window update and the data remain (FreeBSD "goto step6").
      stepSix(tcp, tp, s, thflags, tiwin, tlen, false);
      return;
    }
    default:
      break;
  }

  // ---------------- RFC 9293 §3.10.7.4: synchronized states ----------------

  // First (RFC 5961 §3.2): the RST bit.
  if (thflags & TH_RST) {
    if (
      (seqGeq(s.seq, tp.last_ack_sent) && seqLt(s.seq, (tp.last_ack_sent + tp.rcv_wnd) >>> 0)) ||
      (tp.rcv_wnd === 0 && tp.last_ack_sent === s.seq)
    ) {
      if (t.insecure_rst || tp.last_ack_sent === s.seq) {
        st.tcps_drops++;
        switch (tp.t_state) {
          case TCPS_SYN_RECEIVED:
            // RFC 9293 §3.10.7.4 SYN-RECEIVED (active open): "connection refused".
            if (so) so.so_error = ERRNO.ECONNREFUSED;
            tcpClose(tcp, tp);
            return;
          case TCPS_ESTABLISHED:
          case TCPS_FIN_WAIT_1:
          case TCPS_FIN_WAIT_2:
          case TCPS_CLOSE_WAIT:
            // RFC 9293 §3.10.7.4: "connection reset", enter CLOSED.
            if (so) {
              so.so_error = ERRNO.ECONNRESET;
              if (so.so_head !== null) {
                const q = so.so_head.so_comp;
                const i = q.indexOf(so);
                if (i >= 0) q.splice(i, 1);
                so.so_head = null;
              }
            }
            tcpClose(tcp, tp);
            return;
          case TCPS_CLOSING:
          case TCPS_LAST_ACK:
            // RFC 9293 §3.10.7.4 CLOSING/LAST-ACK: delete the TCB; FreeBSD still reports
            // ECONNRESET to a socket that is open.
            if (so) so.so_error = ERRNO.ECONNRESET;
            tcpClose(tcp, tp);
            return;
          default:
            return;
        }
      } else {
        st.tcps_badrst_chackrst++;
        challengeAck(tcp, tp);
      }
    } else {
      st.tcps_badrst++;
    }
    return;
  }

  // Second (RFC 5961 §4.2): a SYN in a synchronized state.
  if ((thflags & TH_SYN) !== 0) {
    if (t.insecure_syn && seqGeq(s.seq, tp.last_ack_sent) && seqLt(s.seq, (tp.last_ack_sent + tp.rcv_wnd) >>> 0)) {
      tcpDrop(tcp, tp, ERRNO.ECONNRESET);
    } else {
      st.tcps_badsyn_chackrst++;
      challengeAck(tcp, tp);
    }
    return;
  }

  // RFC 7323 §5.3 PAWS: reject old duplicates by timestamp.
  if (
    (to.flags & TOF_TS) !== 0 &&
    (tp.t_flags & TF_RCVD_TSTMP) !== 0 &&
    tp.ts_recent !== 0 &&
    seqLt(to.tsVal, tp.ts_recent)
  ) {
    if (now - tp.ts_recent_age > 24 * 24 * 3600 * 1_000_000) {
      tp.ts_recent = 0;
    } else {
      st.tcps_rcvduppack++;
      st.tcps_rcvdupbyte += tlen;
      st.tcps_pawsdrop++;
      if (tlen) dropAfterAck(tcp, tp, s, thflags);
      return;
    }
  }

  // SYN-RECEIVED with an unacceptable ACK: RST (RFC 9293 §3.10.7.4 fifth).
  if (
    tp.t_state === TCPS_SYN_RECEIVED &&
    (thflags & TH_ACK) !== 0 &&
    (seqLeq(s.ack, tp.snd_una) || seqGt(s.ack, tp.snd_max))
  ) {
    dropWithReset(tcp, tp, s);
    return;
  }

  // First, continued: trim what we already have (RFC 9293 §3.10.7.4 "segment acceptability").
  let todrop = (tp.rcv_nxt - s.seq) | 0;
  if (todrop > 0) {
    if (todrop > tlen || (todrop === tlen && (thflags & TH_FIN) === 0)) {
      // Complete duplicate: ACK it (it may be a lost-ACK retransmission).
      thflags &= ~TH_FIN;
      tp.t_flags |= TF_ACKNOW;
      todrop = tlen;
      st.tcps_rcvduppack++;
      st.tcps_rcvdupbyte += todrop;
    } else {
      st.tcps_rcvpartduppack++;
      st.tcps_rcvpartdupbyte += todrop;
    }
    // RFC 2883 §4: report the duplicate part as a D-SACK block, and ACK now since the
    // next in-sequence segment would clear it again.
    if (todrop > 0 && (tp.t_flags & TF_SACK_PERMIT) !== 0) {
      tp.rcv_numsacks = updateSackList(tp.sackBlocks(), tp.rcv_numsacks, tp.rcv_nxt, s.seq, (s.seq + todrop) >>> 0);
      tp.t_flags |= TF_ACKNOW;
    }
    s.data += todrop;
    s.seq = (s.seq + todrop) >>> 0;
    tlen -= todrop;
    // Its merged pieces no longer start at s.seq: acknowledged as a whole.
    if (todrop > 0) s.segsz = 0;
  }

  // Data for a socket the user closed: RST (RFC 9293 §3.10.7.4 seventh; tcp_input "after close").
  if (so !== null && (so.so_state & SS_NOFDREF) !== 0 && tp.t_state > TCPS_CLOSE_WAIT && tlen > 0) {
    if (t.log_debug)
      logDebugSeg(
        tcp,
        s,
        'tcp_do_segment',
        `${tcpstates[tp.t_state]}: Received ${tlen} bytes of data after socket was closed, sending RST and removing tcpcb`,
      );
    st.tcps_rcvafterclose++;
    tcpClose(tcp, tp);
    dropWithReset(tcp, null, s, BANDLIM_UNLIMITED);
    return;
  } else if (so === null && tp.t_state > TCPS_CLOSE_WAIT && tlen > 0) {
    st.tcps_rcvafterclose++;
    tcpClose(tcp, tp);
    dropWithReset(tcp, null, s, BANDLIM_UNLIMITED);
    return;
  }

  // Trim what lies beyond the window.
  todrop = (s.seq + tlen - ((tp.rcv_nxt + tp.rcv_wnd) >>> 0)) | 0;
  if (todrop > 0) {
    st.tcps_rcvpackafterwin++;
    if (todrop >= tlen) {
      st.tcps_rcvbyteafterwin += tlen;
      if (tp.rcv_wnd === 0 && s.seq === tp.rcv_nxt) {
        // A window probe: ACK with our (zero) window.
        tp.t_flags |= TF_ACKNOW;
        st.tcps_rcvwinprobe++;
      } else {
        dropAfterAck(tcp, tp, s, thflags);
        return;
      }
    } else {
      st.tcps_rcvbyteafterwin += todrop;
    }
    tlen -= todrop;
    thflags &= ~TH_FIN;
  }

  // RFC 7323 §4.3: remember the timestamp of the segment that advances the left edge.
  if (
    (to.flags & TOF_TS) !== 0 &&
    seqLeq(s.seq, tp.last_ack_sent) &&
    seqLeq(tp.last_ack_sent, (s.seq + tlen + (thflags & (TH_SYN | TH_FIN) ? 1 : 0)) >>> 0)
  ) {
    tp.ts_recent_age = now;
    tp.ts_recent = to.tsVal;
  }

  // Fifth: the ACK field. Without ACK, drop (unless half-synchronized).
  if ((thflags & TH_ACK) === 0) {
    if (tp.t_state === TCPS_SYN_RECEIVED || (tp.t_flags & TF_NEEDSYN) !== 0) {
      stepSix(tcp, tp, s, thflags, tiwin, tlen, false);
    } else if (tp.t_flags & TF_ACKNOW) {
      dropAfterAck(tcp, tp, s, thflags);
    }
    return;
  }

  if (tp.t_state === TCPS_SYN_RECEIVED) {
    // RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: acceptable ACK → ESTABLISHED.
    st.tcps_connects++;
    if ((tp.t_flags & (TF_RCVD_SCALE | TF_REQ_SCALE)) === (TF_RCVD_SCALE | TF_REQ_SCALE)) {
      tp.rcv_scale = tp.request_r_scale;
    }
    tp.snd_wnd = tiwin;
    tp.t_starttime = now;
    if (tp.t_flags & TF_NEEDFIN) {
      setState(st, tp, TCPS_FIN_WAIT_1);
      tp.t_flags &= ~TF_NEEDFIN;
    } else {
      setState(st, tp, TCPS_ESTABLISHED);
      tcpTimerActivate(tcp, tp, TT_KEEP, tpKeepidle(tcp, tp));
    }
    ccConnInit(tcp, tp);
    if (tp.t_flags & TF_NEEDSYN) {
      tp.t_flags &= ~TF_NEEDSYN;
    }
    tp.snd_wl1 = (s.seq - 1) >>> 0;
    // Data queued while SYN-RECEIVED is delivered now; as in FreeBSD a FIN queued
    // with it is not acted on (tcp_reass(tp, NULL, ...) ignores the flags).
    if (tlen === 0 && (thflags & TH_FIN) === 0 && tp.reass.length > 0) reassPresent(tcp, tp);
  }
  // RFC 9293 then continues with the ESTABLISHED processing of this ACK.
  switch (tp.t_state) {
    case TCPS_SYN_RECEIVED:
    case TCPS_ESTABLISHED:
    case TCPS_FIN_WAIT_1:
    case TCPS_FIN_WAIT_2:
    case TCPS_CLOSE_WAIT:
    case TCPS_CLOSING:
    case TCPS_LAST_ACK: {
      // RFC 5961 §5.2 / RFC 9293: an ACK for data never sent is answered and dropped.
      if (seqGt(s.ack, tp.snd_max)) {
        st.tcps_rcvacktoomuch++;
        dropAfterAck(tcp, tp, s, thflags);
        return;
      }
      if (seqLt(s.ack, (tp.snd_una - tp.max_sndwnd) >>> 0) && tp.max_sndwnd > 0) {
        st.tcps_rcvghostack++;
        dropAfterAck(tcp, tp, s, thflags);
        return;
      }
      // SACK scoreboard update (RFC 6675 §5 "Update()").
      sackChanged = false;
      if ((tp.t_flags & TF_SACK_PERMIT) !== 0 && ((to.flags & TOF_SACK) !== 0 || tp.sackHoles() > 0)) {
        sackOpt = to;
        const n = (to.flags & TOF_SACK) !== 0 ? to.nsacks : 0;
        st.tcps_sack_rcv_blocks += n;
        const ackTop = seqGt(s.ack, tp.snd_una) ? s.ack : tp.snd_una;
        const sacked = tp.sack.sacked_bytes;
        const fack = tp.sack.snd_fack;
        tp.sack.doack(n, sackBlkStart, sackBlkEnd, ackTop, tp.snd_max, t.sack_maxholes, st);
        sackChanged = tp.sack.sacked_bytes !== sacked || tp.sack.snd_fack !== fack;
      }
      // Helper hooks (tcp_input.c hhook_run_tcp_est_in): h_ertt matches the ACK to what it timed.
      if (tcp.hhooks.heads[HHOOK_TCP_EST_IN]!.nhooks > 0)
        hhookRunTcpEstIn(tcp, tp, s.seq, s.ack, thflags, to.flags, to.tsVal, to.tsEcr);
      if (seqLeq(s.ack, tp.snd_una)) {
        // Duplicate ACK (RFC 5681 §2 definition) and fast retransmit/recovery (§3.2).
        // With SACK a window change does not disqualify it (tcp_input.c): the out-of-order
        // data it SACKs may have moved the window (a whole LRO batch at once).
        const sameWin = tiwin === tp.snd_wnd || (tp.t_flags & TF_SACK_PERMIT) !== 0;
        if (tlen === 0 && sameWin && (thflags & TH_FIN) === 0 && tp.snd_max !== tp.snd_una) {
          st.tcps_rcvdupack++;
          const ci = tcp.ccinfo;
          ci.curack = s.ack;
          ci.nsegs = 1;
          ci.bytes_this_ack = 0;
          ci.rtt_us = 0;
          // An ACK with SACK but nothing new in it is no evidence of loss (tcp_input.c).
          if ((tp.t_flags & TF_SACK_PERMIT) !== 0 && !sackChanged && s.ack === tp.snd_una) break;
          if (!tcpTimerActive(tp, TT_REXMT) || s.ack !== tp.snd_una) {
            tp.t_dupacks = 0;
          } else if (++tp.t_dupacks > TCPREXMTTHRESH || (tp.t_flags & TF_FASTRECOVERY) !== 0) {
            tp.cc.ack_received?.(tp, ci, CC_DUPACK);
            if ((tp.t_flags & TF_SACK_PERMIT) !== 0 && (tp.t_flags & TF_FASTRECOVERY) !== 0) {
              // The data in flight (net.inet.tcp.rfc6675_pipe: RFC 6675's pipe, else what
              // was sent past the highest SACKed byte plus the retransmissions).
              const awnd =
                t.do_rfc6675_pipe !== 0
                  ? tp.sack.pipe(tp.snd_una, tp.snd_max, tp.t_maxseg, true, tp.snd_nxt)
                  : ((tp.snd_nxt - tp.sack.snd_fack) | 0) + tp.sack.sack_bytes_rexmit;
              if (awnd < tp.snd_ssthresh) {
                tp.snd_cwnd += tcpMaxseg(tp);
                if (tp.snd_cwnd > tp.snd_ssthresh) tp.snd_cwnd = tp.snd_ssthresh;
              }
            } else {
              tp.snd_cwnd += tp.t_maxseg;
            }
            tcpOutput(tcp, tp);
            return;
          } else if (
            tp.t_dupacks === TCPREXMTTHRESH ||
            // RFC 6675 §5's trigger (net.inet.tcp.sack.revised): more than (DupThresh - 1) *
            // SMSS bytes SACKed, however few ACKs said so (a receiver's LRO merges them).
            ((tp.t_flags & TF_SACK_PERMIT) !== 0 &&
              t.do_newsack !== 0 &&
              tp.sack.sacked_bytes > (TCPREXMTTHRESH - 1) * tp.t_maxseg)
          ) {
            tp.t_dupacks = TCPREXMTTHRESH;
            const onxt = tp.snd_nxt;
            if ((tp.t_flags & TF_SACK_PERMIT) !== 0) {
              if ((tp.t_flags & TF_FASTRECOVERY) !== 0) {
                tp.t_dupacks = 0;
                break;
              }
            } else if (seqLeq(s.ack, tp.snd_recover)) {
              tp.t_dupacks = 0;
              break;
            }
            // Enter recovery (cc_cong_signal CC_NDUPACK): RFC 6582 §3.2 step 2.
            if ((tp.t_flags & TF_FASTRECOVERY) === 0) tp.snd_recover = tp.snd_max;
            tp.cc.cong_signal?.(tp, ci, CC_NDUPACK);
            tcpTimerActivate(tcp, tp, TT_REXMT, 0);
            tp.t_rtttime = 0;
            if ((tp.t_flags & TF_SACK_PERMIT) !== 0) {
              st.tcps_sack_recovery_episode++;
              tp.sack_newdata = tp.snd_nxt;
              tp.snd_cwnd = tcpMaxseg(tp);
              tcpOutput(tcp, tp);
              return;
            }
            tp.snd_nxt = s.ack;
            tp.snd_cwnd = tp.t_maxseg;
            tcpOutput(tcp, tp);
            tp.snd_cwnd = tp.snd_ssthresh + tp.t_maxseg * (tp.t_dupacks - tp.snd_limited);
            if (seqGt(onxt, tp.snd_nxt)) tp.snd_nxt = onxt;
            return;
          } else {
            // RFC 3042 limited transmit: one new segment for each of the first two dupacks.
            tp.cc.ack_received?.(tp, ci, CC_DUPACK);
            const oldcwnd = tp.snd_cwnd;
            const oldsndmax = tp.snd_max;
            if (tp.t_dupacks === 1) tp.snd_limited = 0;
            tp.snd_cwnd = ((tp.snd_nxt - tp.snd_una) >>> 0) + (tp.t_dupacks - tp.snd_limited) * tp.t_maxseg;
            const avail = (so ? so.so_snd.sb_cc : 0) - ((tp.snd_nxt - tp.snd_una) >>> 0);
            if (avail > 0) tcpOutput(tcp, tp);
            const sent = (tp.snd_max - oldsndmax) >>> 0;
            if (sent > tp.t_maxseg) tp.snd_limited = 2;
            else if (sent > 0) tp.snd_limited++;
            tp.snd_cwnd = oldcwnd;
            return;
          }
        } else {
          tp.t_dupacks = 0;
        }
        break;
      }
      // A new ACK of what was sent before a first timeout: the timeout was spurious.
      if (ccBadRxt(tp, (to.flags & TOF_TS) !== 0 && to.tsEcr !== 0 ? (to.tsEcr - tp.ts_offset) >>> 0 : -1, now))
        ccRtoErr(tcp, tp, s.ack);
      // A new ACK: recovery bookkeeping first (RFC 6582 §3.2 steps 5-6).
      const ci = tcp.ccinfo;
      ci.curack = s.ack;
      ci.nsegs = 1;
      ci.bytes_this_ack = (s.ack - tp.snd_una) >>> 0;
      if ((tp.t_flags & TF_FASTRECOVERY) !== 0) {
        if (seqLt(s.ack, tp.snd_recover)) {
          if ((tp.t_flags & TF_SACK_PERMIT) !== 0) sackPartialAck(tcp, tp, s.ack);
          else newrenoPartialAck(tcp, tp, s.ack);
        } else {
          tp.cc.post_recovery?.(tp, ci);
          tp.t_flags &= ~(TF_FASTRECOVERY | TF_CONGRECOVERY);
          tp.t_bytes_acked = 0;
        }
      } else if ((tp.t_flags & TF_CONGRECOVERY) !== 0 && seqGeq(s.ack, tp.snd_recover)) {
        tp.t_flags &= ~TF_CONGRECOVERY;
      }
      tp.t_dupacks = 0;
      if (tp.t_flags & TF_NEEDSYN) {
        // Half-synchronized: our SYN is acknowledged now.
        tp.t_flags &= ~TF_NEEDSYN;
        tp.snd_una = (tp.snd_una + 1) >>> 0;
      }
      st.tcps_rcvackpack++;
      st.tcps_rcvackbyte += ci.bytes_this_ack;
      ourfinisacked = ackAdvance(tcp, tp, s.ack, (to.flags & TOF_TS) !== 0 ? to.tsEcr : 0, now);
      needoutput = true;
      switch (tp.t_state) {
        case TCPS_FIN_WAIT_1:
          // RFC 9293 §3.10.7.4 FIN-WAIT-1: our FIN acknowledged → FIN-WAIT-2.
          if (ourfinisacked) {
            if (so === null || (so.so_rcv.sb_state & SBS_CANTRCVMORE) !== 0) {
              so?.isDisconnected();
              tcpTimerActivate(tcp, tp, TT_2MSL, t.finwait2_timeout * 1000);
            }
            setState(st, tp, TCPS_FIN_WAIT_2);
          }
          break;
        case TCPS_CLOSING:
          // RFC 9293 §3.10.7.4 CLOSING: our FIN acknowledged → TIME-WAIT.
          if (ourfinisacked) {
            twstart(tcp, tp);
            return;
          }
          break;
        case TCPS_LAST_ACK:
          // RFC 9293 §3.10.7.4 LAST-ACK: our FIN acknowledged → CLOSED.
          if (ourfinisacked) {
            tcpClose(tcp, tp);
            return;
          }
          break;
      }
      break;
    }
  }
  stepSix(tcp, tp, s, thflags, tiwin, tlen, needoutput);
}

/**
 * Process a new cumulative ACK: RTT sample, retransmission timer, CC window growth,
 * drop acknowledged bytes, wake writers. Returns whether our FIN is acknowledged.
 * `predicted`: tcp_input's header prediction, where the window is known unchanged
 * (tiwin == snd_wnd) and stays as it is, snd_wl2 pulled up to the ACK; the slow path
 * takes the acknowledged bytes off snd_wnd until step 6 updates it. Taking them off in
 * the fast path too made the next duplicate ACK look like a window change, so fast
 * retransmit never came on a connection without SACK.
 */
function ackAdvance(tcp: Tcp, tp: Tcpcb, ack: number, tsEcr: number, now: number, predicted = false): boolean {
  const so = tp.inp.inp_socket;
  const acked = (ack - tp.snd_una) >>> 0;
  // RFC 6298 §3 / RFC 7323 §4: one RTT sample per ACK.
  let rtt = 0;
  if (tsEcr !== 0 && (tp.t_flags & TF_RCVD_TSTMP) !== 0) {
    const ms = (tcpTsGetticks(tcp) - ((tsEcr - tp.ts_offset) >>> 0)) | 0;
    if (ms >= 0 && ms < 3600_000) rtt = (ms + 1) * 1000;
  } else if (tp.t_rtttime !== 0 && seqGt(ack, tp.t_rtseq)) {
    rtt = now - tp.t_rtttime;
  }
  if (rtt > 0) xmitTimer(tcp, tp, rtt);
  // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
  if (ack === tp.snd_max) {
    tcpTimerActivate(tcp, tp, TT_REXMT, 0);
  } else if (!tcpTimerActive(tp, TT_PERSIST)) {
    tcpTimerActivate(tcp, tp, TT_REXMT, tp.t_rxtcur);
  }
  // CC: window growth (cc_ack_received, on every ACK: the algorithm checks recovery).
  if (acked > 0) ccAckReceived(tcp, tp, ack, acked, rtt);
  let ourfin = false;
  if (so !== null) {
    const snd = so.so_snd;
    const dropped = Math.min(acked, snd.sb_cc);
    if (acked > snd.sb_cc) ourfin = true;
    snd.drop(dropped);
    if (predicted) tp.snd_wl2 = ack;
    else tp.snd_wnd = Math.max(0, tp.snd_wnd - dropped);
    tcp.sockets.wakeup(so);
  } else if (acked > 0) {
    ourfin = (tp.t_flags & 0x10) !== 0 && ack === tp.snd_max;
  }
  tp.snd_una = ack;
  if (seqLt(tp.snd_nxt, tp.snd_una)) tp.snd_nxt = tp.snd_una;
  if ((tp.t_flags & 0x10) !== 0 && ack === tp.snd_max) ourfin = true;
  return ourfin;
}

/**
 * tcp_sack_partialack: keep retransmitting holes, window as FreeBSD computes it — in
 * segments as tcp_output sends them (tcp_maxseg), as every SACK recovery cwnd step is.
 */
function sackPartialAck(tcp: Tcp, tp: Tcpcb, ack: number): void {
  tcpTimerActivate(tcp, tp, TT_REXMT, 0);
  tp.t_rtttime = 0;
  tp.snd_cwnd = tp.sack.sack_bytes_rexmit + ((tp.snd_nxt - tp.sack_newdata) | 0) + 2 * tcpMaxseg(tp);
  if (tp.snd_cwnd > tp.snd_ssthresh) tp.snd_cwnd = tp.snd_ssthresh;
  tp.t_flags |= TF_ACKNOW;
  // RFC 6675's rescue retransmission (net.inet.tcp.sack.revised): a partial ACK that
  // leaves the scoreboard empty says the rest of the window below the recovery point has
  // nothing SACKed above it — a lost tail no hole describes, which only a timeout would
  // repair. Its last segment becomes a hole and goes now; its SACK then shows the rest.
  if (tcp.t.do_newsack !== 0 && tp.sack.nholes === 0 && seqGt(ack, tp.snd_una)) {
    let high = (tp.t_flags & TF_SENTFIN) !== 0 ? (tp.snd_max - 1) >>> 0 : tp.snd_max;
    if (seqGt(high, tp.snd_recover)) high = tp.snd_recover;
    if (seqGt(high, ack)) {
      // One segment as tcp_output cuts it (tcp_maxseg: less the options), or the hole's
      // remainder goes again later as a segment of a dozen bytes.
      const seg = tcpMaxseg(tp);
      const from = seqGt((high - seg) >>> 0, ack) ? (high - seg) >>> 0 : ack;
      if (!tp.sack.rescue(ack, from, high, tcp.t.sack_maxholes)) tcp.stat.tcps_sack_sboverflow++;
    }
  }
  tcpOutput(tcp, tp);
}

/** tcp_newreno_partial_ack (RFC 6582 §3.2 step 5): retransmit the next unacked segment. */
function newrenoPartialAck(tcp: Tcp, tp: Tcpcb, ack: number): void {
  const onxt = tp.snd_nxt;
  const ocwnd = tp.snd_cwnd;
  const acked = (ack - tp.snd_una) >>> 0;
  tcpTimerActivate(tcp, tp, TT_REXMT, 0);
  tp.t_rtttime = 0;
  tp.snd_nxt = ack;
  tp.snd_cwnd = tp.t_maxseg + acked;
  tp.t_flags |= TF_ACKNOW;
  tcpOutput(tcp, tp);
  tp.snd_cwnd = ocwnd;
  if (seqGt(onxt, tp.snd_nxt)) tp.snd_nxt = onxt;
  tp.snd_cwnd = tp.snd_cwnd > acked ? tp.snd_cwnd - acked : 0;
  tp.snd_cwnd += tp.t_maxseg;
}

/** dropafterack: answer with an ACK and drop the segment. */
function dropAfterAck(tcp: Tcp, tp: Tcpcb, s: TcpSeg, thflags: number): void {
  if (
    tp.t_state === TCPS_SYN_RECEIVED &&
    (thflags & TH_ACK) !== 0 &&
    (seqGt(tp.snd_una, s.ack) || seqGt(s.ack, tp.snd_max))
  ) {
    dropWithReset(tcp, tp, s);
    return;
  }
  // Two ends that each find the other's ACK unacceptable would answer each other forever
  // (an ACK war, e.g. after one forged in-window segment): limited as a challenge ACK.
  if (!tcpAckWarCheck(tcp, tp)) return;
  tp.t_flags |= TF_ACKNOW;
  tcpOutput(tcp, tp);
}

/**
 * Sixth to eighth steps of RFC 9293 §3.10.7.4: window update (SND.WL1/WL2 rule),
 * segment text (in order to the socket, out of order to the reassembly queue,
 * SACK blocks), FIN; then output and the delayed-ACK timer.
 */
function stepSix(
  tcp: Tcp,
  tp: Tcpcb,
  s: TcpSeg,
  thflags: number,
  tiwin: number,
  tlen: number,
  needoutput: boolean,
): void {
  const st = tcp.stat;
  const so = tp.inp.inp_socket;
  // Sixth: window update.
  if (
    (thflags & TH_ACK) !== 0 &&
    (seqLt(tp.snd_wl1, s.seq) ||
      (tp.snd_wl1 === s.seq && (seqLt(tp.snd_wl2, s.ack) || (tp.snd_wl2 === s.ack && tiwin > tp.snd_wnd))))
  ) {
    if (tlen === 0 && tp.snd_wl2 === s.ack && tiwin > tp.snd_wnd) st.tcps_rcvwinupd++;
    tp.snd_wnd = tiwin;
    tp.snd_wl1 = s.seq;
    tp.snd_wl2 = s.ack;
    if (tp.snd_wnd > tp.max_sndwnd) tp.max_sndwnd = tp.snd_wnd;
    needoutput = true;
  }
  // Seventh: segment text.
  if ((tlen > 0 || (thflags & TH_FIN) !== 0) && !haveRcvdFin(tp.t_state)) {
    const saveStart = s.seq;
    const saveRnxt = tp.rcv_nxt;
    const saveTlen = tlen;
    if (s.seq === tp.rcv_nxt && tp.reass.length === 0 && haveEstablished(tp.t_state)) {
      if (delayAck(tcp, tp, tlen) && tlen > 0) tp.t_flags |= TF_DELACK;
      else tp.t_flags |= TF_ACKNOW;
      tp.rcv_nxt = (tp.rcv_nxt + tlen) >>> 0;
      if (tlen > 0) {
        st.tcps_rcvpack += s.nsegs;
        st.tcps_rcvbyte += tlen;
        if (so !== null && (so.so_rcv.sb_state & SBS_CANTRCVMORE) === 0) {
          autorcvbuf(tcp, tp, so, tlen);
          so.so_rcv.append(s.buf, s.data, tlen, so.layer.sbzone, true);
          tcp.sockets.wakeup(so);
        }
        if (s.nsegs > 1) ackMergedSegments(tcp, tp, s.seq, tlen, s);
      }
    } else {
      thflags = reass(tcp, tp, s, thflags, tlen);
      if (reassDropped) tlen = 0;
      tp.t_flags |= TF_ACKNOW;
    }
    // SACK and D-SACK blocks for this segment (tcp_input.c after tcp_reass; RFC 2018 §4,
    // RFC 2883 §4).
    if ((tp.t_flags & TF_SACK_PERMIT) !== 0 && saveTlen > 0 && haveEstablished(tp.t_state)) {
      const blks = tp.sackBlocks();
      if (tlen === 0 && seqLt(saveStart, saveRnxt)) {
        tp.rcv_numsacks = updateSackList(blks, tp.rcv_numsacks, tp.rcv_nxt, saveStart, (saveStart + saveTlen) >>> 0);
      } else if (tlen > 0 && seqGt(tp.rcv_nxt, saveRnxt)) {
        if (tp.rcv_numsacks >= 1 && blks[1] === saveStart) {
          // Partial overlap, recorded by the trim above.
          tp.rcv_numsacks = updateSackList(blks, tp.rcv_numsacks, tp.rcv_nxt, blks[0]!, blks[1]);
        } else {
          tp.rcv_numsacks = updateDsackList(blks, tp.rcv_numsacks, tp.rcv_nxt, saveStart, (saveStart + tlen) >>> 0);
        }
      } else if (tlen >= saveTlen) {
        tp.rcv_numsacks = updateDsackList(blks, tp.rcv_numsacks, tp.rcv_nxt, saveStart, (saveStart + saveTlen) >>> 0);
      } else if (tlen > 0) {
        tp.rcv_numsacks = updateDsackList(blks, tp.rcv_numsacks, tp.rcv_nxt, saveStart, (saveStart + tlen) >>> 0);
      }
    }
  } else {
    thflags &= ~TH_FIN;
  }
  // Eighth: FIN.
  if (thflags & TH_FIN) {
    if (!haveRcvdFin(tp.t_state)) {
      so?.cantRcvMore();
      tp.t_flags |= TF_ACKNOW;
      tp.rcv_nxt = (tp.rcv_nxt + 1) >>> 0;
    }
    switch (tp.t_state) {
      case TCPS_SYN_RECEIVED:
      case TCPS_ESTABLISHED:
        // RFC 9293 §3.10.7.4 eighth: SYN-RECEIVED/ESTABLISHED → CLOSE-WAIT.
        setState(st, tp, TCPS_CLOSE_WAIT);
        break;
      case TCPS_FIN_WAIT_1:
        // FIN-WAIT-1: our FIN not yet acknowledged → CLOSING.
        setState(st, tp, TCPS_CLOSING);
        break;
      case TCPS_FIN_WAIT_2:
        // FIN-WAIT-2 → TIME-WAIT; the ACK goes out first.
        tcpOutput(tcp, tp);
        twstart(tcp, tp);
        return;
    }
  }
  if (needoutput || (tp.t_flags & TF_ACKNOW) !== 0) tcpOutput(tcp, tp);
  if ((tp.t_flags & TF_DELACK) !== 0 && tp.t_state !== TCPS_CLOSED) {
    tp.t_flags &= ~TF_DELACK;
    if (!tcpTimerActive(tp, TT_DELACK)) tcpTimerActivate(tcp, tp, TT_DELACK, tcp.t.delacktime * 1000);
  }
}

/**
 * tcp_reass: queue an out-of-order segment (or deliver an in-order one and
 * whatever it unblocks). Returns the flags with TH_FIN only if the FIN is now
 * in sequence.
 */
/** Set by reass when the queue was full and the segment dropped (tcp_reass's *tlenp = 0). */
let reassDropped = false;

function reass(tcp: Tcp, tp: Tcpcb, s: TcpSeg, thflags: number, tlen: number): number {
  reassDropped = false;
  const st = tcp.stat;
  const so = tp.inp.inp_socket;
  const fin = (thflags & TH_FIN) !== 0;
  // Before ESTABLISHED even in-order data waits in the queue (tcp_reass "present":
  // nothing is delivered to a socket that is not yet connected).
  if (s.seq !== tp.rcv_nxt || !haveEstablished(tp.t_state)) {
    // Out of order: keep it (the segment at rcv_nxt is always accepted, this one may not be).
    const maxq = Math.min(tcp.t.reass_maxqueuelen, TCP_REASS_MAXQLEN * 100);
    if (tlen > 0 || fin) {
      const r = tp.reassQueue(tcp.reassZone).insert(s.seq, s.buf, s.data, tlen, fin, maxq);
      if (r < 0) {
        logDebugSeg(tcp, s, 'tcp_reass', 'queue limit reached, segment dropped');
        st.tcps_rcvreassfull++;
        st.tcps_rcvmemdrop++;
        reassDropped = true;
        return thflags & ~TH_FIN;
      }
      st.tcps_rcvoopack++;
      st.tcps_rcvoobyte += tlen;
      tp.t_rcvoopack++;
    }
    return thflags & ~TH_FIN;
  }
  // In order: deliver it, then every queued segment it joins up with.
  let gotFin = fin;
  if (tlen > 0) {
    tp.rcv_nxt = (tp.rcv_nxt + tlen) >>> 0;
    st.tcps_rcvpack += s.nsegs;
    st.tcps_rcvbyte += tlen;
    if (so !== null && (so.so_rcv.sb_state & SBS_CANTRCVMORE) === 0)
      so.so_rcv.append(s.buf, s.data, tlen, so.layer.sbzone, true);
  }
  if (!gotFin) gotFin = reassPresent(tcp, tp);
  else if (so !== null) tcp.sockets.wakeup(so);
  return gotFin ? thflags | TH_FIN : thflags & ~TH_FIN;
}

/** tcp_reass's "present": deliver queued segments that join rcv_nxt; true when a FIN did. */
function reassPresent(tcp: Tcp, tp: Tcpcb): boolean {
  const so = tp.inp.inp_socket;
  let gotFin = false;
  while (!gotFin) {
    const q = tp.reass.first();
    if (q === undefined || seqGt(q.seq, tp.rcv_nxt)) break;
    tp.reass.shift();
    const skip = (tp.rcv_nxt - q.seq) >>> 0;
    if (skip < q.len) {
      const n = q.len - skip;
      tp.rcv_nxt = (tp.rcv_nxt + n) >>> 0;
      if (so !== null && (so.so_rcv.sb_state & SBS_CANTRCVMORE) === 0)
        so.so_rcv.append(q.data, skip, n, so.layer.sbzone, true);
    }
    if (q.fin) gotFin = true;
  }
  if (so !== null) tcp.sockets.wakeup(so);
  return gotFin;
}

export { tcpMaxseg, TT_PERSIST };
