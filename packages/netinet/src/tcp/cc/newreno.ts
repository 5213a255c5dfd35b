/**
 * NewReno (RFC 5681 with RFC 6582's recovery, RFC 3465 byte counting), the
 * built-in default algorithm (FreeBSD netinet/cc/cc_newreno.c).
 */
import type { Tcpcb } from '../var.js';
import { TF_CONGRECOVERY, TF_FASTRECOVERY, TCP_MAXWIN } from '../var.js';
import {
  CC_ACK,
  CC_ECN,
  CC_NDUPACK,
  CC_RTO,
  CCF_ABC_SENTAWND,
  CCF_CWND_LIMITED,
  type CcAckInfo,
  type CcAlgo,
} from './cc.js';

export interface NewRenoTunables {
  rfc3465: number;
  abc_l_var: number;
  initcwnd_segments: number;
  /** net.inet.tcp.rfc6675_pipe: which FlightSize estimate a timeout halves (default 1). */
  do_rfc6675_pipe?: number;
}

/**
 * FlightSize at a retransmission timeout as FreeBSD's cc modules take it (CC_RTO in
 * newreno_cc_cong_signal, htcp, cubic): tcp_compute_pipe with the SACK scoreboard
 * (RFC 6675 §4), else what was sent past the highest SACKed byte plus what was
 * retransmitted. Not cwnd: inside SACK recovery cwnd is a segment or two while the pipe
 * still holds the window, and halving cwnd there leaves ssthresh at 2 segments.
 */
export function rtoFlight(tp: Tcpcb, t: NewRenoTunables): number {
  // The timer has already pulled snd_nxt back to snd_una: what was sent reaches snd_max.
  return tp.sack.pipe(tp.snd_una, tp.snd_max, tp.t_maxseg, (t.do_rfc6675_pipe ?? 1) !== 0, tp.snd_max);
}

export function newreno(t: NewRenoTunables): CcAlgo {
  return {
    name: 'newreno',

    /** RFC 5681 §3.1 / RFC 6928: IW = min(10*SMSS, max(2*SMSS, 14600)) (cc_conn_init). */
    conn_init(tp: Tcpcb): void {
      const mss = tp.t_maxseg;
      if (tp.snd_cwnd === 1) {
        // The SYN (or SYN-ACK) was retransmitted: RFC 5681 §3.1 allows one segment.
        tp.snd_cwnd = mss;
      } else if (t.initcwnd_segments) {
        tp.snd_cwnd = Math.min(t.initcwnd_segments * mss, Math.max(2 * mss, t.initcwnd_segments * 1460));
      } else if (mss > 2190) {
        tp.snd_cwnd = 2 * mss;
      } else if (mss > 1095) {
        tp.snd_cwnd = 3 * mss;
      } else {
        tp.snd_cwnd = 4 * mss;
      }
    },

    ack_received(tp: Tcpcb, ci: CcAckInfo, type: number): void {
      if (
        type !== CC_ACK ||
        (tp.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY)) !== 0 ||
        (ci.flags & CCF_CWND_LIMITED) === 0
      )
        return;
      const cw = tp.snd_cwnd;
      let incr = tp.t_maxseg;
      if (cw > tp.snd_ssthresh) {
        // Congestion avoidance (RFC 5681 §3.1): one SMSS per window of data acknowledged.
        if (t.rfc3465) {
          if ((ci.flags & CCF_ABC_SENTAWND) !== 0) ci.flags &= ~CCF_ABC_SENTAWND;
          else incr = 0;
        } else {
          incr = Math.max(Math.floor((incr * incr) / cw), 1);
        }
      } else if (t.rfc3465) {
        // Slow start with RFC 3465 byte counting, limited to L*SMSS per ACK.
        incr = Math.min(ci.bytes_this_ack, ci.nsegs * t.abc_l_var * tp.t_maxseg);
      }
      if (incr > 0) tp.snd_cwnd = Math.min(cw + incr, TCP_MAXWIN * 2 ** tp.snd_scale);
    },

    cong_signal(tp: Tcpcb, _ci: CcAckInfo, type: number): void {
      const mss = tp.t_maxseg;
      // RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS), FreeBSD uses cwnd.
      const win = Math.max(Math.floor(tp.snd_cwnd / 2 / mss), 2) * mss;
      switch (type) {
        case CC_NDUPACK:
          if ((tp.t_flags & TF_FASTRECOVERY) === 0) {
            if ((tp.t_flags & TF_CONGRECOVERY) === 0) tp.snd_ssthresh = win;
            tp.t_flags |= TF_FASTRECOVERY | TF_CONGRECOVERY;
          }
          break;
        case CC_ECN:
          // RFC 3168 §6.1.2: halve once per window.
          if ((tp.t_flags & TF_CONGRECOVERY) === 0) {
            tp.snd_ssthresh = win;
            tp.snd_cwnd = win;
            tp.t_flags |= TF_CONGRECOVERY;
          }
          break;
        case CC_RTO:
          // RFC 5681 §3.1 eq. (4), ssthresh = max(FlightSize / 2, 2·SMSS), only when the
          // segment "has not yet been resent by way of the retransmission timer" (the
          // first timeout; a backed-off one keeps it); LW = 1 SMSS.
          if (tp.t_rxtshift <= 1)
            tp.snd_ssthresh = Math.max(2, Math.floor(Math.min(tp.snd_wnd, rtoFlight(tp, t)) / 2 / mss)) * mss;
          tp.snd_cwnd = mss;
          break;
      }
    },

    /** RFC 6582 §3.2 step 3: deflate the window on leaving fast recovery. */
    post_recovery(tp: Tcpcb, ci: CcAckInfo): void {
      if ((tp.t_flags & TF_FASTRECOVERY) === 0) return;
      const pipe = (tp.snd_max - ci.curack) >>> 0;
      if (pipe < tp.snd_ssthresh) tp.snd_cwnd = Math.max(pipe, tp.t_maxseg) + tp.t_maxseg;
      else tp.snd_cwnd = tp.snd_ssthresh;
    },

    /** RFC 5681 §4.1: after an idle period longer than the RTO, restart from the initial window. */
    after_idle(tp: Tcpcb): void {
      const rw = Math.min(t.initcwnd_segments * tp.t_maxseg, Math.max(2 * tp.t_maxseg, t.initcwnd_segments * 1460));
      tp.snd_cwnd = Math.min(rw, tp.snd_cwnd);
    },
  };
}
