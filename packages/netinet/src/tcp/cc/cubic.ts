/**
 * CUBIC (RFC 9438) with HyStart++ (RFC 9406) slow start, after FreeBSD's
 * netinet/cc/cc_cubic.c and cc_cubic.h. Windows are bytes in the tcpcb; the RFC's
 * formulas are evaluated in segments (cwnd / SMSS) and seconds, in floating point
 * where FreeBSD uses CUBIC_SHIFT fixed point.
 *
 * Differences from cc_cubic.c, on purpose:
 * - The first congestion event uses β_cubic like every other (RFC 9438 §4.6);
 *   FreeBSD halves ssthresh and sets W_max = β·cwnd the first time.
 * - A congestion-avoidance epoch starts on the first ACK of the stage (RFC 9438 §4.2
 *   "t is the elapsed time from the beginning of the current congestion avoidance
 *   stage"), not at the congestion signal, and the growth is RFC 9438 §4.4's
 *   (target − cwnd)/cwnd per segment acknowledged, with target clamped to
 *   [cwnd, 1.5·cwnd].
 * - HyStart++ gets its per-ACK RTT from CubicAckInfo.rtt_us and counts rounds itself
 *   from sequence numbers (RFC 9406 §4.2 windowEnd); FreeBSD's rttsample/newround
 *   hooks are driven by the RACK stack only.
 *
 * The engine supplies the per-ACK RTT sample (CcAckInfo.rtt_us), ack_received on every
 * ACK (the module checks recovery itself), CC_RTO_ERR on a spurious timeout, and rebases
 * ccv's time fields (ccv_times) on export/import. `cc_cubic` (kldload) at the end.
 */
import { seqGt } from '@mcstack/wire';
import type { Tcpcb } from '../var.js';
import { TF_CONGRECOVERY, TF_FASTRECOVERY, TCP_MAXWIN } from '../var.js';
import {
  CC_ACK,
  CC_ECN,
  CC_NDUPACK,
  CC_RTO,
  CC_RTO_ERR,
  CCF_ABC_SENTAWND,
  CCF_CWND_LIMITED,
  type CcAckInfo,
  type CcAlgo,
} from './cc.js';
import { newreno, rtoFlight, type NewRenoTunables } from './newreno.js';
import { ccModule } from './cc_module.js';

/** RFC 9438 §5 / §4.6: C = 0.4, β_cubic = 0.7 (cc_cubic.h CUBIC_C_FACTOR, CUBIC_BETA). */
export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.7;
/** RFC 9438 §4.3: α_cubic = 3(1 − β_cubic)/(1 + β_cubic). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);
/** RFC 9406 §4.3 MIN_RTT_DIVISOR (FreeBSD: css_lastround_minrtt >> 3). */
export const HYSTART_MIN_RTT_DIVISOR = 8;

export interface CubicTunables extends NewRenoTunables {
  /**
   * HyStart++ in slow start (RFC 9438 §4.10: SHOULD). FreeBSD: the per-connection
   * CCF_HYSTART_ALLOWED flag (RACK's net.inet.tcp.rack.features.hystartplusplus).
   * Default 1; inert until the engine supplies per-ACK RTT samples.
   */
  hystart: number;
  /** net.inet.tcp.cc.hystartplusplus.minrtt_thresh, µs (RFC 9406 MIN_RTT_THRESH): 4000. */
  minrtt_thresh: number;
  /** net.inet.tcp.cc.hystartplusplus.maxrtt_thresh, µs (RFC 9406 MAX_RTT_THRESH): 16000. */
  maxrtt_thresh: number;
  /** net.inet.tcp.cc.hystartplusplus.n_rttsamples (RFC 9406 N_RTT_SAMPLE): 8. */
  n_rttsamples: number;
  /** net.inet.tcp.cc.hystartplusplus.css_growth_div (RFC 9406 CSS_GROWTH_DIVISOR): 4. */
  css_growth_div: number;
  /** net.inet.tcp.cc.hystartplusplus.css_rounds (RFC 9406 CSS_ROUNDS): 5. */
  css_rounds: number;
  /** RFC 9438 §4.7 fast convergence (no FreeBSD sysctl: always on there): 1. */
  fast_convergence: number;
}

/**
 * Defaults. FreeBSD's cc_cubic has no net.inet.tcp.cc.cubic.* sysctls; the HyStart++
 * ones live under net.inet.tcp.cc.hystartplusplus (cc.c). abc_l_var is RFC 9406's L
 * in slow start as FreeBSD uses it (net.inet.tcp.abc_l_var = 2); RFC 9406 §4.3
 * recommends L = 8 for a sender that does not pace, L = ∞ for one that does.
 */
export const cubicDefaults: CubicTunables = {
  rfc3465: 1,
  abc_l_var: 2,
  initcwnd_segments: 10,
  hystart: 1,
  minrtt_thresh: 4000,
  maxrtt_thresh: 16000,
  n_rttsamples: 8,
  css_growth_div: 4,
  css_rounds: 5,
  fast_convergence: 1,
};

/** What ack_received reads beyond CcAckInfo: the RTT sample this ACK gave (µs, 0: none). */
export interface CubicAckInfo extends CcAckInfo {
  rtt_us?: number;
}

/** ccv keys holding absolute engine-clock times (µs), to rebase on migration. */
export const CUBIC_CCV_TIMES = ['t_epoch', 'undo_t_epoch'] as const;

/* cubic flags (cc_cubic.h CUBICFLAG_*) plus EPOCH_PENDING. */
const CONG_EVENT = 0x01;
const IN_SLOWSTART = 0x02;
const IN_APPLIMIT = 0x04;
const RTO_EVENT = 0x08;
const HYSTART_ENABLED = 0x10;
const HYSTART_IN_CSS = 0x20;
/** A new congestion-avoidance stage begins with the next CA ACK. */
const EPOCH_PENDING = 0x100;
/** "Infinity" for the HyStart++ RTT minima (FreeBSD 0xffffffff). */
const RTT_INF = 0xffffffff;

/** Per-connection state, kept in tp.ccv (numbers only, so export/migrate carries it). */
interface CubicState {
  cubic: number;
  flags: number;
  /** Bytes. W_max, cwnd_prior, cwnd_epoch (RFC 9438 §4.1); W_est may be fractional. */
  W_max: number;
  cwnd_prior: number;
  cwnd_epoch: number;
  W_est: number;
  /** K in seconds (RFC 9438 Figure 2). */
  K: number;
  /** Start of the current CA stage, µs on the engine clock. */
  t_epoch: number;
  /** Growth below one byte carried to the next ACK. */
  frac: number;
  undo_W_max: number;
  undo_cwnd_prior: number;
  undo_cwnd_epoch: number;
  undo_W_est: number;
  undo_K: number;
  undo_t_epoch: number;
  undo_flags: number;
  /* HyStart++ (RFC 9406 §4.2), RTTs in µs. */
  css_baseline_minrtt: number;
  css_current_round_minrtt: number;
  css_lastround_minrtt: number;
  css_rttsample_count: number;
  css_current_round: number;
  css_entered_at_round: number;
  /** windowEnd: SND.NXT when the round began; round 0 means none began yet. */
  css_window_end: number;
}

/**
 * The CUBIC algorithm with tunables `t`; `now` is the engine's clock in µs
 * (Tcp.now()), which the KPI's hooks do not carry (FreeBSD reads `ticks`).
 */
export function cubic(t: CubicTunables, now: () => number): CcAlgo {
  const base = newreno(t);

  function fresh(tp: Tcpcb): CubicState {
    const s: CubicState = {
      cubic: 1,
      flags: t.hystart ? HYSTART_ENABLED : 0,
      W_max: tp.snd_cwnd,
      cwnd_prior: tp.snd_cwnd,
      cwnd_epoch: tp.snd_cwnd,
      W_est: tp.snd_cwnd,
      K: 0,
      t_epoch: now(),
      frac: 0,
      undo_W_max: 0,
      undo_cwnd_prior: 0,
      undo_cwnd_epoch: 0,
      undo_W_est: 0,
      undo_K: 0,
      undo_t_epoch: 0,
      undo_flags: 0,
      css_baseline_minrtt: RTT_INF,
      css_current_round_minrtt: RTT_INF,
      css_lastround_minrtt: RTT_INF,
      css_rttsample_count: 0,
      css_current_round: 0,
      css_entered_at_round: 0,
      css_window_end: 0,
    };
    tp.ccv = s as unknown as Record<string, number>;
    return s;
  }

  /** The state, created on first use if cb_init did not run (e.g. after TCP_CONGESTION). */
  function st(tp: Tcpcb): CubicState {
    const s = tp.ccv as unknown as Partial<CubicState>;
    return s.cubic === 1 ? (s as CubicState) : fresh(tp);
  }

  /** RFC 9438 Figure 2: K = cbrt((W_max − cwnd_epoch)/C), in seconds; 0 when W_max ≤ cwnd_epoch. */
  function kOf(wmaxSegs: number, epochSegs: number): number {
    return wmaxSegs <= epochSegs ? 0 : Math.cbrt((wmaxSegs - epochSegs) / CUBIC_C);
  }

  /** RFC 9438 Figure 1: W_cubic(t) = C(t − K)^3 + W_max, segments, t in seconds. */
  function wCubic(s: CubicState, mss: number, tsec: number): number {
    const d = tsec - s.K;
    return CUBIC_C * d * d * d + s.W_max / mss;
  }

  function maxwin(tp: Tcpcb): number {
    return TCP_MAXWIN * 2 ** tp.snd_scale;
  }

  /** Begin a congestion-avoidance stage at cwnd (RFC 9438 §4.2, §4.3 "W_est = cwnd_epoch"). */
  function startEpoch(tp: Tcpcb, s: CubicState): void {
    const mss = tp.t_maxseg;
    if ((s.flags & RTO_EVENT) !== 0) {
      // RFC 9438 §4.8: first CA stage after a timeout: W_max = cwnd at its start, K = 0.
      s.W_max = tp.snd_cwnd;
    } else if ((s.flags & CONG_EVENT) === 0 && s.W_max <= tp.snd_cwnd) {
      // RFC 9438 §4.10: slow start left without a congestion event (HyStart++, a cached
      // ssthresh): cwnd_prior = cwnd, W_max = cwnd at the stage's start, K = 0.
      s.W_max = tp.snd_cwnd;
      s.cwnd_prior = tp.snd_cwnd;
    }
    s.flags &= ~(RTO_EVENT | IN_SLOWSTART | IN_APPLIMIT | EPOCH_PENDING);
    s.t_epoch = now();
    s.cwnd_epoch = tp.snd_cwnd;
    s.W_est = tp.snd_cwnd;
    s.frac = 0;
    s.K = kOf(s.W_max / mss, s.cwnd_epoch / mss);
  }

  /** RFC 9438 §4.6 multiplicative decrease with §4.7 fast convergence (cubic_ssthresh_update). */
  function decrease(tp: Tcpcb, s: CubicState): void {
    const mss = tp.t_maxseg;
    const cwnd = tp.snd_cwnd;
    saveUndo(s);
    s.W_max = t.fast_convergence && cwnd < s.W_max ? (cwnd * (1 + CUBIC_BETA)) / 2 : cwnd;
    s.cwnd_prior = cwnd;
    // ssthresh = cwnd·β_cubic, at least 2 SMSS (RFC 9438 §4.6 Figure 5).
    tp.snd_ssthresh = Math.max(Math.floor(cwnd * CUBIC_BETA), 2 * mss);
    s.flags |= CONG_EVENT | EPOCH_PENDING;
  }

  function saveUndo(s: CubicState): void {
    s.undo_W_max = s.W_max;
    s.undo_cwnd_prior = s.cwnd_prior;
    s.undo_cwnd_epoch = s.cwnd_epoch;
    s.undo_W_est = s.W_est;
    s.undo_K = s.K;
    s.undo_t_epoch = s.t_epoch;
    s.undo_flags = s.flags;
  }

  /** RFC 9406 §4.3: "if loss or ECN-marking is observed ... enter congestion avoidance". */
  function hystartOff(s: CubicState): void {
    s.flags &= ~(HYSTART_ENABLED | HYSTART_IN_CSS);
  }

  /**
   * RFC 9406 §4.2 rounds: windowEnd = SND.NXT when a round begins; the first ACK beyond
   * it (the window sent in that round acknowledged) begins the next.
   */
  function hystartRound(tp: Tcpcb, s: CubicState, ci: CcAckInfo): void {
    if (s.css_current_round !== 0 && !seqGt(ci.curack, s.css_window_end)) return;
    s.css_lastround_minrtt = s.css_current_round_minrtt;
    s.css_current_round_minrtt = RTT_INF;
    s.css_rttsample_count = 0;
    s.css_current_round++;
    s.css_window_end = tp.snd_nxt;
    if ((s.flags & HYSTART_IN_CSS) !== 0 && s.css_current_round - s.css_entered_at_round >= t.css_rounds) {
      // CSS_ROUNDS done: "enter congestion avoidance by setting the ssthresh to the current cwnd".
      tp.snd_ssthresh = tp.snd_cwnd;
      hystartOff(s);
    }
  }

  /** Slow start (cubic_does_slow_start): RFC 3465 with L, divided in CSS (RFC 9406 §4.2). */
  function slowStart(tp: Tcpcb, s: CubicState, ci: CcAckInfo): void {
    const mss = tp.t_maxseg;
    s.flags |= IN_SLOWSTART;
    let incr: number;
    if (!t.rfc3465) incr = mss;
    else if (tp.snd_nxt === tp.snd_max) incr = Math.min(ci.bytes_this_ack, ci.nsegs * t.abc_l_var * mss);
    else incr = Math.min(ci.bytes_this_ack, mss); // slow start after an RTO: L = 1
    if ((s.flags & HYSTART_IN_CSS) !== 0) incr = Math.floor(incr / t.css_growth_div);
    if (incr > 0) tp.snd_cwnd = Math.min(tp.snd_cwnd + incr, maxwin(tp));
    const rtt = (ci as CubicAckInfo).rtt_us ?? 0;
    if ((s.flags & HYSTART_ENABLED) === 0 || rtt <= 0) return;
    if (rtt < s.css_current_round_minrtt) s.css_current_round_minrtt = rtt;
    s.css_rttsample_count++;
    if (s.css_rttsample_count < t.n_rttsamples || s.css_lastround_minrtt === RTT_INF) return;
    if ((s.flags & HYSTART_IN_CSS) === 0) {
      // RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR, MAX_RTT_THRESH)).
      const thresh = Math.max(
        t.minrtt_thresh,
        Math.min(s.css_lastround_minrtt / HYSTART_MIN_RTT_DIVISOR, t.maxrtt_thresh),
      );
      if (s.css_current_round_minrtt >= s.css_lastround_minrtt + thresh) {
        s.css_baseline_minrtt = s.css_current_round_minrtt;
        s.css_entered_at_round = s.css_current_round;
        s.flags |= HYSTART_IN_CSS;
      }
    } else if (s.css_current_round_minrtt < s.css_baseline_minrtt) {
      // The delay increase was spurious: back to standard slow start.
      s.css_baseline_minrtt = RTT_INF;
      s.flags &= ~HYSTART_IN_CSS;
    }
  }

  /** Congestion avoidance on one ACK: RFC 9438 §4.2-§4.5. */
  function congAvoid(tp: Tcpcb, s: CubicState, ci: CcAckInfo): void {
    const mss = tp.t_maxseg;
    if ((s.flags & HYSTART_IN_CSS) !== 0) hystartOff(s); // slipped into CA while in CSS
    if ((s.flags & (EPOCH_PENDING | IN_SLOWSTART | IN_APPLIMIT)) !== 0) startEpoch(tp, s);
    ci.flags &= ~CCF_ABC_SENTAWND;
    const cwnd = tp.snd_cwnd;
    const tsec = (now() - s.t_epoch) / 1e6;
    // RFC 9438 §4.3 Figure 4: W_est += α_cubic · segments_acked / cwnd, α = 1 once W_est ≥ cwnd_prior.
    const alpha = s.W_est >= s.cwnd_prior ? 1 : CUBIC_ALPHA;
    s.W_est += (alpha * ci.bytes_this_ack * mss) / cwnd;
    if (wCubic(s, mss, tsec) * mss < s.W_est) {
      // Reno-friendly region (§4.3): cwnd = W_est.
      if (s.W_est > cwnd) tp.snd_cwnd = Math.min(Math.floor(s.W_est), maxwin(tp));
      return;
    }
    // Concave (§4.4) or convex (§4.5) region: target = W_cubic(t + RTT), in [cwnd, 1.5·cwnd].
    const rtt = tp.t_srtt / 1e6;
    const target = Math.min(Math.max(wCubic(s, mss, tsec + rtt) * mss, cwnd), 1.5 * cwnd);
    // cwnd += (target − cwnd)/cwnd per SMSS acknowledged.
    s.frac += ((target - cwnd) * ci.bytes_this_ack) / cwnd;
    const whole = Math.floor(s.frac);
    if (whole > 0) {
      s.frac -= whole;
      tp.snd_cwnd = Math.min(cwnd + whole, maxwin(tp));
    }
  }

  return {
    name: 'cubic',
    ccv_times: CUBIC_CCV_TIMES,

    cb_init(tp: Tcpcb): void {
      fresh(tp);
    },

    cb_destroy(tp: Tcpcb): void {
      tp.ccv = {};
    },

    /** The initial window (NewReno's) and W_max = cwnd (cubic_conn_init). */
    conn_init(tp: Tcpcb): void {
      base.conn_init?.(tp);
      const s = st(tp);
      s.W_max = tp.snd_cwnd;
      s.cwnd_prior = tp.snd_cwnd;
    },

    ack_received(tp: Tcpcb, ci: CcAckInfo, type: number): void {
      if (type !== CC_ACK || (tp.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY)) !== 0) return;
      const s = st(tp);
      if ((ci.flags & CCF_CWND_LIMITED) === 0) {
        // Application-limited: the next CA ACK starts a new epoch (FreeBSD CUBICFLAG_IN_APPLIMIT).
        s.flags |= IN_APPLIMIT;
        return;
      }
      if ((s.flags & HYSTART_ENABLED) !== 0 && tp.snd_cwnd <= tp.snd_ssthresh) hystartRound(tp, s, ci);
      if (tp.snd_cwnd <= tp.snd_ssthresh) slowStart(tp, s, ci);
      else congAvoid(tp, s, ci);
    },

    cong_signal(tp: Tcpcb, _ci: CcAckInfo, type: number): void {
      const s = st(tp);
      const mss = tp.t_maxseg;
      switch (type) {
        case CC_NDUPACK:
          hystartOff(s);
          if ((tp.t_flags & TF_FASTRECOVERY) === 0) {
            if ((tp.t_flags & TF_CONGRECOVERY) === 0) decrease(tp, s);
            tp.t_flags |= TF_FASTRECOVERY | TF_CONGRECOVERY;
          }
          break;
        case CC_ECN:
          // RFC 9438 §4.6 / RFC 3168 §6.1.2: once per window of data.
          hystartOff(s);
          if ((tp.t_flags & TF_CONGRECOVERY) === 0) {
            decrease(tp, s);
            tp.snd_cwnd = tp.snd_ssthresh;
            tp.t_flags |= TF_CONGRECOVERY;
            // cc.c cc_cong_signal's part (tcp_input does it too): the window ends at snd_max.
            tp.snd_recover = tp.snd_max;
          }
          break;
        case CC_RTO: {
          // RFC 9438 §4.8: Reno's reduction to one segment, ssthresh from β_cubic.
          if (tp.t_rxtshift <= 1) {
            saveUndo(s);
            const flight = rtoFlight(tp, t);
            tp.snd_ssthresh =
              Math.max(2, Math.floor(Math.floor(Math.min(tp.snd_wnd, flight) * CUBIC_BETA) / mss)) * mss;
            s.cwnd_prior = tp.snd_cwnd;
          }
          s.flags |= CONG_EVENT | RTO_EVENT;
          s.flags &= ~EPOCH_PENDING;
          tp.snd_cwnd = mss;
          break;
        }
        case CC_RTO_ERR:
          // RFC 9438 §4.9: the timeout was spurious; restore the state before it.
          s.W_max = s.undo_W_max;
          s.cwnd_prior = s.undo_cwnd_prior;
          s.cwnd_epoch = s.undo_cwnd_epoch;
          s.W_est = s.undo_W_est;
          s.K = s.undo_K;
          s.t_epoch = s.undo_t_epoch;
          s.flags = s.undo_flags & ~RTO_EVENT;
          break;
      }
    },

    /** RFC 6582 §3.2 step 3 on leaving fast recovery, else cwnd = ssthresh (cubic_post_recovery). */
    post_recovery(tp: Tcpcb, ci: CcAckInfo): void {
      const s = st(tp);
      if ((tp.t_flags & TF_FASTRECOVERY) !== 0) {
        const pipe = (tp.snd_max - ci.curack) >>> 0;
        if (pipe < tp.snd_ssthresh) tp.snd_cwnd = Math.max(pipe, tp.t_maxseg) + tp.t_maxseg;
        else tp.snd_cwnd = Math.max(tp.snd_ssthresh, 2 * tp.t_maxseg);
      }
      s.flags |= EPOCH_PENDING;
    },

    /** cubic_after_idle: keep W_max ≥ cwnd, re-enable HyStart++, restart window, new epoch. */
    after_idle(tp: Tcpcb): void {
      const s = st(tp);
      s.W_max = Math.max(s.W_max, tp.snd_cwnd);
      if (t.hystart && (s.flags & HYSTART_ENABLED) === 0) {
        s.flags = (s.flags & ~HYSTART_IN_CSS) | HYSTART_ENABLED;
        s.css_current_round = 0;
      }
      base.after_idle?.(tp);
      s.flags |= EPOCH_PENDING;
    },
  };
}

/**
 * cc_cubic (DECLARE_CC_MODULE(cubic)). FreeBSD keeps the HyStart++ tunables in cc.c
 * under net.inet.tcp.cc.hystartplusplus; only CUBIC uses them here, so they come and go
 * with this module.
 */
export const ccCubicModule = ccModule({
  file: 'cc_cubic',
  description: 'CUBIC congestion control (RFC 9438) with HyStart++ (RFC 9406)',
  defaults: {
    hystart: cubicDefaults.hystart,
    minrtt_thresh: cubicDefaults.minrtt_thresh,
    maxrtt_thresh: cubicDefaults.maxrtt_thresh,
    n_rttsamples: cubicDefaults.n_rttsamples,
    css_growth_div: cubicDefaults.css_growth_div,
    css_rounds: cubicDefaults.css_rounds,
    fast_convergence: cubicDefaults.fast_convergence,
  },
  sysctls: [
    {
      oid: 'net.inet.tcp.cc.hystartplusplus.minrtt_thresh',
      key: 'minrtt_thresh',
      description: 'HyStarts++ minimum RTT thresh used in clamp (in microseconds)',
      min: 0,
    },
    {
      oid: 'net.inet.tcp.cc.hystartplusplus.maxrtt_thresh',
      key: 'maxrtt_thresh',
      description: 'HyStarts++ maximum RTT thresh used in clamp (in microseconds)',
      min: 0,
    },
    {
      oid: 'net.inet.tcp.cc.hystartplusplus.n_rttsamples',
      key: 'n_rttsamples',
      description: 'The number of RTT samples that must be seen to consider HyStart++',
      min: 1,
    },
    {
      oid: 'net.inet.tcp.cc.hystartplusplus.css_growth_div',
      key: 'css_growth_div',
      description: 'The divisor to the growth when in Hystart++ CSS',
      min: 1,
    },
    {
      oid: 'net.inet.tcp.cc.hystartplusplus.css_rounds',
      key: 'css_rounds',
      description: 'The number of rounds HyStart++ lasts in CSS before falling to CA',
      min: 1,
    },
  ],
  algo: (tcp, t) => cubic(t, tcp.now),
});
