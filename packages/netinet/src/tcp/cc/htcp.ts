/**
 * H-TCP (D. Leith, R. Shorten, "H-TCP: TCP for high-speed and long-distance networks",
 * PFLDnet 2004; draft-leith-tcp-htcp-06), after FreeBSD's netinet/cc/cc_htcp.c, in
 * floating point where FreeBSD uses HTCP_SHIFT fixed point and `ticks`.
 *
 * Additive increase per RTT, with Δ the time since the last congestion event:
 *   α(Δ) = 1                                     for Δ ≤ Δ_L = 1 s
 *   α(Δ) = 1 + 10(Δ − Δ_L) + ((Δ − Δ_L)/2)^2     for Δ > Δ_L
 * adaptive backoff: β = RTT_min/RTT_max clamped to [0.5, 0.8], α ← 2(1 − β)α;
 * RTT scaling: α ← (RTT/RTT_ref)·α with the factor clamped to [0.1, 2], RTT_ref = 100 ms.
 * RTTs are the smoothed RTT once HTCP_MIN_RTT_SAMPLES samples were taken
 * (htcp_record_rtt), so no per-ACK sample is needed.
 */
import type { Tcpcb } from '../var.js';
import { TF_CONGRECOVERY, TF_FASTRECOVERY, TCP_MAXWIN, TCP_MAX_WINSHIFT } from '../var.js';
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
import { newreno, rtoFlight, type NewRenoTunables } from './newreno.js';
import { ccModule } from './cc_module.js';

/** Δ_L: 1 s (HTCP_DELTA_L = hz ticks), µs here. */
export const HTCP_DELTA_L_US = 1_000_000;
/** β bounds (HTCP_MINBETA 128/256, HTCP_MAXBETA 204/256 ≈ 0.8). */
export const HTCP_MINBETA = 0.5;
export const HTCP_MAXBETA = 0.8;
/** RTT scaling factor bounds (HTCP_MINROWE ≈ 0.1, HTCP_MAXROWE = 2). */
export const HTCP_MINROWE = 0.1;
export const HTCP_MAXROWE = 2;
/** RTT_ref (HTCP_RTT_REF = 100 ms), µs. */
export const HTCP_RTT_REF_US = 100_000;
/** Don't trust SRTT before this many samples (HTCP_MIN_RTT_SAMPLES). */
export const HTCP_MIN_RTT_SAMPLES = 8;

export interface HtcpTunables extends NewRenoTunables {
  /** net.inet.tcp.cc.htcp.adaptive_backoff: 0 (off). */
  adaptive_backoff: number;
  /** net.inet.tcp.cc.htcp.rtt_scaling: 0 (off). */
  rtt_scaling: number;
}

export const htcpDefaults: HtcpTunables = {
  rfc3465: 1,
  abc_l_var: 2,
  initcwnd_segments: 10,
  adaptive_backoff: 0,
  rtt_scaling: 0,
};

/** ccv keys holding absolute engine-clock times (µs), to rebase on migration. */
export const HTCP_CCV_TIMES = ['t_last_cong'] as const;

/** α(Δ) for Δ in seconds since the last congestion event (before backoff and RTT scaling). */
export function htcpAlphaRaw(deltaSec: number): number {
  const d = deltaSec - HTCP_DELTA_L_US / 1e6;
  return d > 0 ? 1 + 10 * d + (d / 2) * (d / 2) : 1;
}

/** struct htcp, kept in tp.ccv. RTTs in µs, 0 = none yet (FreeBSD TCPTV_SRTTBASE). */
interface HtcpState {
  htcp: number;
  alpha: number;
  beta: number;
  minrtt: number;
  maxrtt: number;
  /** cwnd when the last congestion event began, bytes. */
  prev_cwnd: number;
  /** Time of the last congestion event, µs on the engine clock. */
  t_last_cong: number;
}

/** The H-TCP algorithm with tunables `t`; `now` is the engine's clock in µs (Tcp.now()). */
export function htcp(t: HtcpTunables, now: () => number): CcAlgo {
  const base = newreno(t);

  function fresh(tp: Tcpcb): HtcpState {
    const s: HtcpState = {
      htcp: 1,
      alpha: 1,
      beta: HTCP_MINBETA,
      minrtt: 0,
      maxrtt: 0,
      prev_cwnd: 0,
      t_last_cong: now(),
    };
    tp.ccv = s as unknown as Record<string, number>;
    return s;
  }

  function st(tp: Tcpcb): HtcpState {
    const s = tp.ccv as unknown as Partial<HtcpState>;
    return s.htcp === 1 ? (s as HtcpState) : fresh(tp);
  }

  /** htcp_record_rtt: min and max SRTT once enough samples were taken. */
  function recordRtt(tp: Tcpcb, s: HtcpState): void {
    const srtt = tp.t_srtt;
    if (tp.t_rttupdated < HTCP_MIN_RTT_SAMPLES || srtt <= 0) return;
    if (srtt < s.minrtt || s.minrtt === 0) s.minrtt = srtt;
    if (srtt > s.maxrtt) s.maxrtt = srtt;
  }

  /** htcp_recalc_beta: adaptive backoff β = RTT_min/RTT_max in [0.5, 0.8], else 0.5. */
  function recalcBeta(s: HtcpState): void {
    s.beta =
      t.adaptive_backoff && s.minrtt !== 0 && s.maxrtt !== 0
        ? Math.min(Math.max(HTCP_MINBETA, s.minrtt / s.maxrtt), HTCP_MAXBETA)
        : HTCP_MINBETA;
  }

  /** htcp_recalc_alpha: α(Δ), then 2(1 − β)α and (RTT/RTT_ref)α when enabled, at least 1. */
  function recalcAlpha(tp: Tcpcb, s: HtcpState): void {
    const n = now();
    if (n < s.t_last_cong) s.t_last_cong = n - HTCP_DELTA_L_US;
    let alpha = htcpAlphaRaw((n - s.t_last_cong) / 1e6);
    if (alpha > 1) {
      if (t.adaptive_backoff) alpha = Math.max(1, 2 * (1 - s.beta) * alpha);
      if (t.rtt_scaling) {
        const rowe = Math.min(Math.max(HTCP_MINROWE, tp.t_srtt / HTCP_RTT_REF_US), HTCP_MAXROWE);
        alpha = Math.max(1, rowe * alpha);
      }
    }
    s.alpha = alpha;
  }

  /** htcp_ssthresh_update: cwnd/2 on the first congestion event, cwnd·β after. */
  function ssthreshUpdate(tp: Tcpcb, s: HtcpState): void {
    // The first event also leaves β at 0.5 for post_recovery, which cc_htcp.c does not.
    if (tp.snd_ssthresh === TCP_MAXWIN << TCP_MAX_WINSHIFT) s.beta = HTCP_MINBETA;
    else recalcBeta(s);
    // RFC 5681 §3.1's floor of 2 SMSS (cc_htcp.c has none).
    tp.snd_ssthresh = Math.max(Math.floor(tp.snd_cwnd * s.beta), 2 * tp.t_maxseg);
  }

  /** Congestion: maxrtt hysteresis so RTT decreases show (95 %), new ssthresh, Δ restarts. */
  function congestion(tp: Tcpcb, s: HtcpState): void {
    s.maxrtt = s.minrtt + (s.maxrtt - s.minrtt) * 0.95;
    ssthreshUpdate(tp, s);
    s.t_last_cong = now();
    s.prev_cwnd = tp.snd_cwnd;
  }

  return {
    name: 'htcp',
    ccv_times: HTCP_CCV_TIMES,

    cb_init(tp: Tcpcb): void {
      fresh(tp);
    },

    cb_destroy(tp: Tcpcb): void {
      tp.ccv = {};
    },

    conn_init(tp: Tcpcb): void {
      base.conn_init?.(tp);
      st(tp).t_last_cong = now();
    },

    ack_received(tp: Tcpcb, ci: CcAckInfo, type: number): void {
      const s = st(tp);
      recordRtt(tp, s);
      // A regular ACK outside recovery while cwnd-limited, and with RFC 3465 either slow
      // start or a cwnd's worth of bytes acknowledged (CCF_ABC_SENTAWND).
      if (
        type !== CC_ACK ||
        (tp.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY)) !== 0 ||
        (ci.flags & CCF_CWND_LIMITED) === 0
      )
        return;
      if (t.rfc3465 && tp.snd_cwnd > tp.snd_ssthresh && (ci.flags & CCF_ABC_SENTAWND) === 0) return;
      recalcBeta(s);
      recalcAlpha(tp, s);
      if (s.alpha === 1 || tp.snd_cwnd <= tp.snd_ssthresh) {
        // Slow start, and the first Δ_L after a congestion event: NewReno.
        base.ack_received?.(tp, ci, type);
        return;
      }
      const mss = tp.t_maxseg;
      const cap = TCP_MAXWIN * 2 ** tp.snd_scale;
      if (t.rfc3465) {
        // α segments per window of data acknowledged.
        tp.snd_cwnd = Math.min(tp.snd_cwnd + Math.floor(s.alpha * mss), cap);
        ci.flags &= ~CCF_ABC_SENTAWND;
      } else {
        // α/cwnd segments per ACK, about α per RTT.
        tp.snd_cwnd = Math.min(tp.snd_cwnd + Math.floor((s.alpha * mss * mss) / tp.snd_cwnd), cap);
      }
    },

    cong_signal(tp: Tcpcb, _ci: CcAckInfo, type: number): void {
      const s = st(tp);
      const mss = tp.t_maxseg;
      switch (type) {
        case CC_NDUPACK:
          if ((tp.t_flags & TF_FASTRECOVERY) === 0) {
            if ((tp.t_flags & TF_CONGRECOVERY) === 0) congestion(tp, s);
            tp.t_flags |= TF_FASTRECOVERY | TF_CONGRECOVERY;
          }
          break;
        case CC_ECN:
          if ((tp.t_flags & TF_CONGRECOVERY) === 0) {
            congestion(tp, s);
            tp.snd_cwnd = tp.snd_ssthresh;
            tp.t_flags |= TF_CONGRECOVERY;
            // cc.c cc_cong_signal's part (tcp_input does it too): the window ends at snd_max.
            tp.snd_recover = tp.snd_max;
          }
          break;
        case CC_RTO:
          // RFC 5681 §3.1 eq. (4), LW = 1 SMSS; only a repeated timeout restarts Δ
          // (the first one may be a false alarm).
          if (tp.t_rxtshift <= 1)
            tp.snd_ssthresh = Math.max(Math.floor(Math.min(tp.snd_wnd, rtoFlight(tp, t)) / 2 / mss), 2) * mss;
          tp.snd_cwnd = mss;
          if (tp.t_rxtshift >= 2) s.t_last_cong = now();
          break;
      }
    },

    /** RFC 6582 §3.2 step 3 when little is in flight, else cwnd = β·prev_cwnd (htcp_post_recovery). */
    post_recovery(tp: Tcpcb, ci: CcAckInfo): void {
      if ((tp.t_flags & TF_FASTRECOVERY) === 0) return;
      const s = st(tp);
      const mss = tp.t_maxseg;
      const pipe = (tp.snd_max - ci.curack) >>> 0;
      if (pipe < tp.snd_ssthresh) tp.snd_cwnd = Math.max(pipe, mss) + mss;
      else tp.snd_cwnd = Math.max(1, Math.floor((s.beta * s.prev_cwnd) / mss)) * mss;
    },

    after_idle(tp: Tcpcb): void {
      base.after_idle?.(tp);
    },
  };
}

/** cc_htcp (DECLARE_CC_MODULE(htcp)) with its net.inet.tcp.cc.htcp sysctls. */
export const ccHtcpModule = ccModule({
  file: 'cc_htcp',
  description: 'H-TCP congestion control',
  defaults: { adaptive_backoff: htcpDefaults.adaptive_backoff, rtt_scaling: htcpDefaults.rtt_scaling },
  sysctls: [
    {
      oid: 'net.inet.tcp.cc.htcp.adaptive_backoff',
      key: 'adaptive_backoff',
      description: 'enable H-TCP adaptive backoff',
      min: 0,
      max: 1,
    },
    {
      oid: 'net.inet.tcp.cc.htcp.rtt_scaling',
      key: 'rtt_scaling',
      description: 'enable H-TCP RTT scaling',
      min: 0,
      max: 1,
    },
  ],
  algo: (tcp, t) => htcp(t, tcp.now),
});
