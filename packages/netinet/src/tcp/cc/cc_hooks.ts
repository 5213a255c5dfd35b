/**
 * The framework's side of the congestion-control KPI, as FreeBSD's tcp_input.c and cc.c
 * call the modules (cc_ack_received, cc_cong_signal, cc_ecnpkt_handler): the engine's own
 * bookkeeping first, then the algorithm's hook, which decides for itself whether to act
 * (in recovery, say). tcp.ccinfo is the scratch struct cc_var of the segment at hand.
 */
import type { Tcp } from '../subr.js';
import {
  type Tcpcb,
  TF_CONGRECOVERY,
  TF_ECN_SND_CWR,
  TF_FASTRECOVERY,
  TF_PREVVALID,
  TF_WASCRECOVERY,
  TF_WASFRECOVERY,
  TF_ACKNOW,
  TT_DELACK,
} from '../var.js';
import { tcpTimerActivate, tcpTimerActive } from '../timer.js';
import {
  CC_ACK,
  CC_ECN,
  CC_RTO_ERR,
  CCF_ABC_SENTAWND,
  CCF_ACKNOW,
  CCF_CWND_LIMITED,
  CCF_DELACK,
  CCF_IPHDR_CE,
  CCF_TCPHDR_CWR,
} from './cc.js';

/**
 * cc_ack_received(CC_ACK) for a new cumulative ACK of `acked` bytes, on every such ACK,
 * in recovery too: RFC 3465 byte counting into CCF_ABC_SENTAWND, then the algorithm.
 * `rtt` is the RTT sample this ACK gave (µs, 0: none).
 */
export function ccAckReceived(tcp: Tcp, tp: Tcpcb, ack: number, acked: number, rtt: number): void {
  const ci = tcp.ccinfo;
  ci.curack = ack;
  ci.nsegs = 1;
  ci.bytes_this_ack = acked;
  ci.rtt_us = rtt;
  ci.flags = tp.snd_cwnd <= tp.snd_wnd ? CCF_CWND_LIMITED : 0;
  if (tp.snd_cwnd > tp.snd_ssthresh) {
    tp.t_bytes_acked += Math.min(acked, ci.nsegs * tcp.t.abc_l_var * tp.t_maxseg);
    if (tp.t_bytes_acked >= tp.snd_cwnd) {
      tp.t_bytes_acked -= tp.snd_cwnd;
      ci.flags |= CCF_ABC_SENTAWND;
    }
  } else {
    tp.t_bytes_acked = 0;
  }
  tp.cc.ack_received?.(tp, ci, CC_ACK);
}

/**
 * cc_cong_signal(CC_ECN) for an ACK with ECE (RFC 3168 §6.1.2): once per window the
 * window's end is snd_max and CWR goes out; the algorithm sees every ECE (DCTCP counts them).
 */
export function ccEcnSignal(tcp: Tcp, tp: Tcpcb, ack: number): void {
  if ((tp.t_flags & TF_CONGRECOVERY) === 0) {
    tcp.stat.tcps_ecn_rcwnd++;
    tp.snd_recover = tp.snd_max;
    tp.t_flags |= TF_ECN_SND_CWR;
  }
  const ci = tcp.ccinfo;
  ci.curack = ack;
  ci.rtt_us = 0;
  tp.cc.cong_signal?.(tp, ci, CC_ECN);
}

/**
 * cc_ecnpkt_handler: the IP CE codepoint and the CWR flag of a segment to an algorithm
 * that wants each one (DCTCP's receiver, RFC 8257 §3.2); an ACK it wants now goes now.
 */
export function ccEcnpktHandler(tcp: Tcp, tp: Tcpcb, iptos: number, cwr: boolean): void {
  const h = tp.cc.ecnpkt_handler;
  if (h === undefined) return;
  const ci = tcp.ccinfo;
  ci.flags = ((iptos & 3) === 3 ? CCF_IPHDR_CE : 0) | (cwr ? CCF_TCPHDR_CWR : 0);
  if (tcpTimerActive(tp, TT_DELACK)) ci.flags |= CCF_DELACK;
  h.call(tp.cc, tp, ci);
  if ((ci.flags & CCF_ACKNOW) !== 0) {
    tcpTimerActivate(tcp, tp, TT_DELACK, 0);
    tp.t_flags |= TF_ACKNOW;
  }
}

/**
 * The first retransmission timeout was spurious (tcp_input.c's t_badrxtwin test): the
 * ACK echoes a timestamp from before the timeout, or, without timestamps, came within
 * half an RTT of it. `tsecrMs` is the echo on our millisecond clock (-1: none).
 */
export function ccBadRxt(tp: Tcpcb, tsecrMs: number, now: number): boolean {
  if (tp.t_rxtshift !== 1 || (tp.t_flags & TF_PREVVALID) === 0 || tp.t_badrxtwin === 0) return false;
  if (tsecrMs >= 0) return ((tsecrMs - Math.floor(tp.t_badrxtwin / 1000)) | 0) < 0;
  return now < tp.t_badrxtwin;
}

/** cc_cong_signal(CC_RTO_ERR): undo the timeout's window (RFC 5682-style), then the algorithm's own undo. */
export function ccRtoErr(tcp: Tcp, tp: Tcpcb, ack: number): void {
  tcp.stat.tcps_sndrexmitbad++;
  tp.snd_cwnd = tp.snd_cwnd_prev;
  tp.snd_ssthresh = tp.snd_ssthresh_prev;
  tp.snd_recover = tp.snd_recover_prev;
  if ((tp.t_flags & TF_WASFRECOVERY) !== 0) tp.t_flags |= TF_FASTRECOVERY;
  if ((tp.t_flags & TF_WASCRECOVERY) !== 0) tp.t_flags |= TF_CONGRECOVERY;
  tp.snd_nxt = tp.snd_max;
  tp.t_flags &= ~TF_PREVVALID;
  tp.t_rxtshift = 0;
  tp.t_badrxtwin = 0;
  const ci = tcp.ccinfo;
  ci.curack = ack;
  ci.rtt_us = 0;
  tp.cc.cong_signal?.(tp, ci, CC_RTO_ERR);
}
