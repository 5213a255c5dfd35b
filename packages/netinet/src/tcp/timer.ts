/**
 * TCP timers (FreeBSD tcp_timer.c) on the engine's callout wheel: delayed ACK,
 * retransmission (RFC 6298 §5 with backoff and FreeBSD's slop), persist
 * (RFC 9293 §3.8.6.1), keepalive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6) and 2MSL.
 */
import { ERRNO } from '../kern/errno.js';
import { SO_KEEPALIVE } from '../kern/uipc_socket.js';
import { type Tcp, tcpClose, tcpDrop } from './subr.js';
import {
  type Tcpcb,
  TT_DELACK,
  TT_REXMT,
  TT_PERSIST,
  TT_KEEP,
  TT_2MSL,
  TT_N,
  TCP_MAXRXTSHIFT,
  tcp_backoff,
  TCPTV_REXMTMAX,
  TCPS_SYN_SENT,
  TCPS_SYN_RECEIVED,
  TCPS_ESTABLISHED,
  TCPS_CLOSING,
  TCPS_FIN_WAIT_2,
  TCPS_TIME_WAIT,
  TF_ACKNOW,
  TF_DELACK,
  TF_REQ_SCALE,
  TF_REQ_TSTMP,
  TF_SACK_PERMIT,
  TF_FORCEDATA,
  TF_FASTRECOVERY,
  TF_CONGRECOVERY,
  TF_PREVVALID,
  TF_RCVD_TSTMP,
  TF_WASCRECOVERY,
  TF_WASFRECOVERY,
  TH_ACK,
} from './var.js';
import { tcpOutput, tcpRespondConn, rangeset, rexmtval, tcpSetpersist } from './output.js';
import { CC_RTO } from './cc/cc.js';

export function tcpTimerFire(tcp: Tcp, tp: Tcpcb, which: number): void {
  switch (which) {
    case TT_DELACK:
      timerDelack(tcp, tp);
      break;
    case TT_REXMT:
      timerRexmt(tcp, tp);
      break;
    case TT_PERSIST:
      timerPersist(tcp, tp);
      break;
    case TT_KEEP:
      timerKeep(tcp, tp);
      break;
    case TT_2MSL:
      timer2msl(tcp, tp);
      break;
  }
}

function timerDelack(tcp: Tcp, tp: Tcpcb): void {
  tp.t_flags |= TF_ACKNOW;
  tp.t_flags &= ~TF_DELACK;
  tcp.stat.tcps_delack++;
  tcpOutput(tcp, tp);
}

/** tcp_timer_rexmt */
function timerRexmt(tcp: Tcp, tp: Tcpcb): void {
  const t = tcp.t;
  if (++tp.t_rxtshift > TCP_MAXRXTSHIFT) {
    tp.t_rxtshift = TCP_MAXRXTSHIFT;
    tcp.stat.tcps_timeoutdrop++;
    tcpDrop(tcp, tp, tp.t_softerror ? tp.t_softerror : ERRNO.ETIMEDOUT);
    return;
  }
  if (tp.t_state === TCPS_SYN_SENT) {
    // The SYN was lost: cc_conn_init will start with one segment (RFC 5681 §3.1).
    tp.snd_cwnd = 1;
  } else if (tp.t_rxtshift === 1) {
    // Remember the state before the first timeout for a spurious-timeout undo
    // (tcp_timer_rexmt): an ACK of what was sent before now (by its timestamp echo, or
    // within half an RTT without timestamps) restores it with CC_RTO_ERR (tcp_input.ts).
    tp.snd_cwnd_prev = tp.snd_cwnd;
    tp.snd_ssthresh_prev = tp.snd_ssthresh;
    tp.snd_recover_prev = tp.snd_recover;
    if ((tp.t_flags & TF_FASTRECOVERY) !== 0) tp.t_flags |= TF_WASFRECOVERY;
    else tp.t_flags &= ~TF_WASFRECOVERY;
    if ((tp.t_flags & TF_CONGRECOVERY) !== 0) tp.t_flags |= TF_WASCRECOVERY;
    else tp.t_flags &= ~TF_WASCRECOVERY;
    const now = tcp.now();
    tp.t_badrxtwin = (tp.t_flags & TF_RCVD_TSTMP) !== 0 ? now : now + tp.t_srtt / 2;
    tp.t_flags |= TF_PREVVALID;
  } else {
    tp.t_flags &= ~TF_PREVVALID;
  }
  tcp.stat.tcps_rexmttimeo++;
  const rexmt =
    tp.t_state === TCPS_SYN_SENT || tp.t_state === TCPS_SYN_RECEIVED
      ? t.rexmit_initial * 1000 * tcp_backoff[tp.t_rxtshift]!
      : rexmtval(tp) * tcp_backoff[tp.t_rxtshift]!;
  tp.t_rxtcur = rangeset(tcp, Math.floor(rexmt), tp.t_rttmin, TCPTV_REXMTMAX);
  // net.inet.tcp.rexmit_drop_options: the 3rd SYN goes without options.
  if (t.rexmit_drop_options && tp.t_state === TCPS_SYN_SENT && tp.t_rxtshift === 3) {
    tp.t_flags &= ~(TF_REQ_SCALE | TF_REQ_TSTMP | TF_SACK_PERMIT);
  }
  // RFC 6298 §5.7-ish: after several backoffs the RTT estimate is suspect.
  if (tp.t_rxtshift > TCP_MAXRXTSHIFT / 4) {
    tp.t_rttvar += tp.t_srtt / 4;
    tp.t_srtt = 0;
  }
  tp.snd_nxt = tp.snd_una;
  tp.snd_recover = tp.snd_max;
  tp.t_flags |= TF_ACKNOW;
  // Karn: no RTT from a retransmitted segment.
  tp.t_rtttime = 0;
  if (tp.t_state >= TCPS_ESTABLISHED || tp.t_state === TCPS_SYN_RECEIVED) {
    tcp.ccinfo.curack = tp.snd_una;
    tp.cc.cong_signal?.(tp, tcp.ccinfo, CC_RTO);
  }
  tp.t_flags &= ~(TF_FASTRECOVERY | TF_CONGRECOVERY);
  tp.sackReset(tp.snd_una);
  tp.t_dupacks = 0;
  tcpOutput(tcp, tp);
}

/** tcp_timer_persist: probe a zero window. */
function timerPersist(tcp: Tcp, tp: Tcpcb): void {
  tcp.stat.tcps_persisttimeo++;
  // Give up like the retransmit timer would (tcp_maxpersistidle / backoff sum).
  const idle = tcp.now() - tp.t_rcvtime;
  if (tp.t_rxtshift >= TCP_MAXRXTSHIFT && idle >= 2 * 3600 * 1_000_000) {
    tcp.stat.tcps_persistdrop++;
    tcpDrop(tcp, tp, ERRNO.ETIMEDOUT);
    return;
  }
  tcpSetpersist(tcp, tp);
  tp.t_flags |= TF_FORCEDATA;
  tcpOutput(tcp, tp);
  tp.t_flags &= ~TF_FORCEDATA;
}

/**
 * tcp_timer_keep: during the handshake it is keepinit; afterwards keepalive
 * probes (seq = snd_una - 1, RFC 1122 §4.2.3.6) every keepintvl after keepidle of
 * silence, dropping after keepcnt unanswered probes. Segments do not re-arm this
 * timer; it re-arms itself from t_rcvtime, which is cheaper per packet.
 */
function timerKeep(tcp: Tcp, tp: Tcpcb): void {
  const so = tp.inp.inp_socket;
  const now = tcp.now();
  if (tp.t_state < TCPS_ESTABLISHED) {
    tcp.stat.tcps_keeptimeo++;
    tcp.stat.tcps_keepdrops++;
    tcpDrop(tcp, tp, ERRNO.ETIMEDOUT);
    return;
  }
  const idle = now - tp.t_rcvtime;
  const keepidle = tpKeepidle(tcp, tp);
  if (idle < keepidle) {
    tcpTimerActivate(tcp, tp, TT_KEEP, keepidle - idle);
    return;
  }
  tcp.stat.tcps_keeptimeo++;
  if ((tcp.t.always_keepalive || (so !== null && (so.so_options & SO_KEEPALIVE) !== 0)) && tp.t_state <= TCPS_CLOSING) {
    if (idle >= keepidle + tpKeepcnt(tcp, tp) * tpKeepintvl(tcp, tp)) {
      tcp.stat.tcps_keepdrops++;
      tcpDrop(tcp, tp, ERRNO.ETIMEDOUT);
      return;
    }
    tcp.stat.tcps_keepprobe++;
    tcpRespondConn(tcp, tp, (tp.snd_una - 1) >>> 0, tp.rcv_nxt, TH_ACK, 0);
    tcpTimerActivate(tcp, tp, TT_KEEP, tpKeepintvl(tcp, tp));
  } else {
    tcpTimerActivate(tcp, tp, TT_KEEP, keepidle);
  }
}

/** tcp_timer_2msl: TIME-WAIT is over, or FIN-WAIT-2 of a closed socket timed out. */
function timer2msl(tcp: Tcp, tp: Tcpcb): void {
  if (tp.t_state === TCPS_TIME_WAIT) {
    tcpClose(tcp, tp);
    return;
  }
  if (tp.t_state === TCPS_FIN_WAIT_2) {
    const idle = tcp.now() - tp.t_rcvtime;
    const limit = tcp.t.finwait2_timeout * 1000;
    if (idle < limit) {
      tcpTimerActivate(tcp, tp, TT_2MSL, limit - idle);
      return;
    }
    tcp.stat.tcps_finwait2_drops++;
    tcpClose(tcp, tp);
  }
}

/** Time left on timer `which` (µs, 0 when due), or null when it is not running. */
export function timerRemaining(tp: Tcpcb, which: number, now: number): number | null {
  const when = tp.tv[tp.tvo + which]!;
  return when === Infinity ? null : Math.max(0, when - now);
}

/** tcp_timer_schedule: the callout follows the earliest deadline (stopped when none is set). */
export function tcpTimerSchedule(tcp: Tcp, tp: Tcpcb): void {
  const t = tp.tv;
  const o = tp.tvo;
  let when = t[o]!;
  for (let i = o + 1; i < o + TT_N; i++) if (t[i]! < when) when = t[i]!;
  if (when === Infinity) tcp.wheel.stop(tp.t_callout);
  else tcp.wheel.reset(tp.t_callout, when);
}

/**
 * tcp_timer_enter: the callout fired — the earliest due timer runs (ties in TT_* order),
 * then the callout is armed for the next, which may be due at once.
 */
export function tcpTimerEnter(tcp: Tcp, tp: Tcpcb): void {
  const t = tp.tv;
  const o = tp.tvo;
  let which = o;
  for (let i = o + 1; i < o + TT_N; i++) if (t[i]! < t[which]!) which = i;
  if (t[which]! <= tcp.now()) {
    t[which] = Infinity;
    tcpTimerFire(tcp, tp, which - o);
  }
  tcpTimerSchedule(tcp, tp);
}

/** tcp_timer_activate: arm timer `which` for `delta` µs, or stop it (delta ≤ 0). */
export function tcpTimerActivate(tcp: Tcp, tp: Tcpcb, which: number, delta: number): void {
  tp.tv[tp.tvo + which] = delta <= 0 ? Infinity : tcp.now() + delta;
  tcpTimerSchedule(tcp, tp);
}

/** tcp_timer_stop for every timer (tcp_close, TIME-WAIT, a connection moving away). */
export function tcpTimerStopAll(tcp: Tcp, tp: Tcpcb): void {
  tp.tv.fill(Infinity, tp.tvo, tp.tvo + TT_N);
  tcp.wheel.stop(tp.t_callout);
}

export function tcpTimerActive(tp: Tcpcb, which: number): boolean {
  return tp.tv[tp.tvo + which]! !== Infinity;
}

/** TP_KEEPINIT and the other keepalive parameters, µs (the socket's value or net.inet.tcp.*). */
export function tpKeepinit(tcp: Tcp, tp: Tcpcb): number {
  return tp.t_keepinit || tcp.t.keepinit * 1000;
}
export function tpKeepidle(tcp: Tcp, tp: Tcpcb): number {
  return tp.t_keepidle || tcp.t.keepidle * 1000;
}
export function tpKeepintvl(tcp: Tcp, tp: Tcpcb): number {
  return tp.t_keepintvl || tcp.t.keepintvl * 1000;
}
export function tpKeepcnt(tcp: Tcp, tp: Tcpcb): number {
  return tp.t_keepcnt || tcp.t.keepcnt;
}
