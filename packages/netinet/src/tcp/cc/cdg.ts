/**
 * CAIA Delay-Gradient (D. A. Hayes, G. Armitage, "Revisiting TCP Congestion Control using
 * Delay Gradients", IFIP Networking 2011), after FreeBSD's netinet/cc/cc_cdg.c. Once per
 * RTT (h_ertt's ERTT_NEW_MEASUREMENT) the gradients of the RTT period's smallest and
 * largest RTT, g_min = τmin(n) − τmin(n−1) and g_max likewise, are smoothed over
 * smoothing_factor periods (a moving average); a positive gradient backs off with
 *
 *   P = 1 − exp(−g / G)      (G = exp_backoff_scale; certain above MAXGRAD·G)
 *
 * setting ssthresh = cwnd·beta_delay/100 and cwnd = ssthresh. The gradients' signs tell
 * the queue's state (empty, rising, falling, full); a loss reduces the window
 * (max(shadow, cwnd·beta_loss/100)) only when the queue seemed full. Congestion
 * avoidance adds one segment per RTT (alpha_inc: one more every alpha_inc RTTs). The
 * probability table (cc_cdg.c probexp, 1 − e^−x in 1/128 steps) is computed once per
 * process when the module loads. Delays in ticks (ms), from h_ertt's µs; gradients in
 * 1/128 ticks (D_P_E) as FreeBSD keeps them.
 */
import { TCP_MAXWIN, TF_CONGRECOVERY, TF_FASTRECOVERY, type Tcpcb } from '../var.js';
import { ERTT_NEW_MEASUREMENT, type Ertt, erttOf } from '../khelp/h_ertt.js';
import { CC_ACK, CC_NDUPACK, type CcAckInfo, type CcAlgo } from './cc.js';
import { ccModule } from './cc_module.js';
import { newreno, type NewRenoTunables } from './newreno.js';

/** The private delay-gradient congestion signal (CC_CDG_DELAY). */
export const CC_CDG_DELAY = 0x01000000;
/** NewReno's loss factor for the shadow window (RENO_BETA, %). */
const RENO_BETA = 50;
/** Queue states. */
export const CDG_Q_EMPTY = 1;
export const CDG_Q_RISING = 2;
export const CDG_Q_FALLING = 3;
export const CDG_Q_FULL = 4;
export const CDG_Q_UNKNOWN = 9999;
/** probexp's precision (EXP_PREC) and its largest gradient (MAXGRAD). */
const EXP_PREC = 15;
export const CDG_MAXGRAD = 5;
/** Gradients carry 2^D_P_E more precision (1/128 tick). */
export const CDG_D_P_E = 7;

export interface CdgTunables extends NewRenoTunables {
  /** net.inet.tcp.cc.cdg.alpha_inc: 0 (one segment per RTT, Reno-like). */
  alpha_inc: number;
  /** net.inet.tcp.cc.cdg.beta_delay: 70 (% kept on a delay backoff). */
  beta_delay: number;
  /** net.inet.tcp.cc.cdg.beta_loss: 50 (% kept on a loss with the queue full). */
  beta_loss: number;
  /** net.inet.tcp.cc.cdg.smoothing_factor: 8 (RTT periods in the moving average). */
  smoothing_factor: number;
  /** net.inet.tcp.cc.cdg.exp_backoff_scale: 3 (G, ticks). */
  exp_backoff_scale: number;
  /** net.inet.tcp.cc.cdg.loss_compete_consec_cong: 5. */
  consec_cong: number;
  /** net.inet.tcp.cc.cdg.loss_compete_hold_backoff: 5. */
  hold_backoff: number;
}

export const cdgDefaults: CdgTunables = {
  rfc3465: 1,
  abc_l_var: 2,
  initcwnd_segments: 10,
  alpha_inc: 0,
  beta_delay: 70,
  beta_loss: 50,
  smoothing_factor: 8,
  exp_backoff_scale: 3,
  consec_cong: 5,
  hold_backoff: 5,
};

/** probexp: (1 − e^(−x)) · 2^EXP_PREC for x = 0 .. MAXGRAD in 2^−D_P_E steps; [0] is 10 as in cc_cdg.c. */
export const probexp = new Int32Array((CDG_MAXGRAD << CDG_D_P_E) + 1);

/** MOD_LOAD: the table, once per process. */
export function cdgModInit(): void {
  for (let i = 0; i < probexp.length; i++)
    probexp[i] = Math.round((1 - Math.exp(-i / (1 << CDG_D_P_E))) * (1 << EXP_PREC));
  probexp[0] = 10;
}

/** struct cdg, in tp.ccv; the two moving-average queues as qmin_i / qmax_i keys (numbers only, for export). */
interface CdgState {
  cdg: number;
  max_qtrend: number;
  min_qtrend: number;
  window_incr: number;
  rtt_count: number;
  maxrtt_in_rtt: number;
  maxrtt_in_prevrtt: number;
  minrtt_in_rtt: number;
  minrtt_in_prevrtt: number;
  consec_cong_cnt: number;
  shadow_w: number;
  sample_q_size: number;
  num_samples: number;
  /** Index of the oldest sample in the queues. */
  q_head: number;
  queue_state: number;
}

/** Key names of the queues' slots, made once. */
const qminKeys: string[] = [];
const qmaxKeys: string[] = [];
function qkeys(n: number): void {
  for (let i = qminKeys.length; i < n; i++) {
    qminKeys.push(`qmin_${i}`);
    qmaxKeys.push(`qmax_${i}`);
  }
}

const inRecovery = (tp: Tcpcb): boolean => (tp.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY)) !== 0;

/** CDG with tunables `t`; `rand` uniform in [0, 1). */
export function cdg(t: CdgTunables, rand: () => number, ertt: (tp: Tcpcb) => Ertt | undefined = erttOf): CcAlgo {
  const base = newreno(t);
  if (probexp[1] === 0) cdgModInit();

  function fresh(tp: Tcpcb): CdgState {
    const s: CdgState = {
      cdg: 1,
      max_qtrend: 0,
      min_qtrend: 0,
      window_incr: 0,
      rtt_count: 0,
      maxrtt_in_rtt: 0,
      maxrtt_in_prevrtt: 0,
      minrtt_in_rtt: Number.MAX_SAFE_INTEGER,
      minrtt_in_prevrtt: 0,
      consec_cong_cnt: 0,
      shadow_w: 0,
      sample_q_size: t.smoothing_factor,
      num_samples: 0,
      q_head: 0,
      queue_state: CDG_Q_UNKNOWN,
    };
    qkeys(s.sample_q_size);
    tp.ccv = s as unknown as Record<string, number>;
    return s;
  }

  function st(tp: Tcpcb): CdgState {
    const s = tp.ccv as unknown as Partial<CdgState>;
    return s.cdg === 1 ? (s as CdgState) : fresh(tp);
  }

  /** cdg_window_decrease: min(snd_wnd, w)·beta/100. */
  const windowDecrease = (tp: Tcpcb, owin: number, beta: number): number =>
    Math.floor((Math.min(tp.snd_wnd, owin) * beta) / 100);

  /** cdg_window_increase */
  function windowIncrease(tp: Tcpcb, s: CdgState, newMeasurement: boolean): void {
    const mss = tp.t_maxseg;
    let incr = 0;
    let swIncr = 0;
    if (tp.snd_cwnd <= tp.snd_ssthresh) {
      incr = mss;
      swIncr = mss;
      s.window_incr = 0;
      s.rtt_count = 0;
    } else if (newMeasurement) {
      swIncr = mss;
      if (t.alpha_inc === 0) {
        incr = mss;
      } else {
        if (++s.rtt_count >= t.alpha_inc) {
          s.window_incr++;
          s.rtt_count = 0;
        }
        incr = mss * s.window_incr;
      }
    }
    const cap = TCP_MAXWIN * 2 ** tp.snd_scale;
    if (s.shadow_w > 0) s.shadow_w = Math.min(s.shadow_w + swIncr, cap);
    tp.snd_cwnd = Math.min(tp.snd_cwnd + incr, cap);
  }

  /** prob_backoff: P = 1 − exp(−qtrend/G) from the table, qtrend in 1/128 ticks. */
  function probBackoff(qtrend: number): boolean {
    const g = t.exp_backoff_scale;
    if (qtrend > (CDG_MAXGRAD * g) << CDG_D_P_E) return true;
    const idx = g > 1 ? Math.floor((qtrend + Math.floor(g / 2)) / g) : Math.floor(qtrend);
    return rand() < probexp[Math.min(idx, probexp.length - 1)]! / (1 << EXP_PREC);
  }

  /** calc_moving_average over the last sample_q_size periods (integer division as cc_cdg.c). */
  function movingAverage(tp: Tcpcb, s: CdgState, qdiffMax: number, qdiffMin: number): void {
    const v = tp.ccv;
    const n = s.sample_q_size;
    if (s.num_samples >= n) {
      const k = s.q_head;
      s.min_qtrend += Math.trunc((qdiffMin - v[qminKeys[k]!]!) / n);
      s.max_qtrend += Math.trunc((qdiffMax - v[qmaxKeys[k]!]!) / n);
      v[qminKeys[k]!] = qdiffMin;
      v[qmaxKeys[k]!] = qdiffMax;
      s.q_head = (k + 1) % n;
    } else {
      const k = (s.q_head + s.num_samples) % n;
      s.min_qtrend += Math.trunc(qdiffMin / n);
      s.max_qtrend += Math.trunc(qdiffMax / n);
      v[qminKeys[k]!] = qdiffMin;
      v[qmaxKeys[k]!] = qdiffMax;
      s.num_samples++;
    }
  }

  function congSignal(tp: Tcpcb, ci: CcAckInfo, type: number): void {
    const s = st(tp);
    switch (type) {
      case CC_CDG_DELAY:
        tp.snd_ssthresh = windowDecrease(tp, tp.snd_cwnd, t.beta_delay);
        tp.snd_cwnd = tp.snd_ssthresh;
        tp.snd_recover = tp.snd_max;
        s.window_incr = 0;
        s.rtt_count = 0;
        tp.t_flags |= TF_CONGRECOVERY;
        break;
      case CC_NDUPACK:
        if ((tp.t_flags & TF_CONGRECOVERY) !== 0 || s.queue_state < CDG_Q_FULL) {
          // Responding already, or no full queue inferred: not a congestion loss.
          tp.snd_ssthresh = tp.snd_cwnd;
          tp.snd_recover = tp.snd_max;
        } else {
          // The queue is full: the shadow window reacts as NewReno would.
          if (s.shadow_w > 0) s.shadow_w = windowDecrease(tp, s.shadow_w, RENO_BETA);
          tp.snd_ssthresh = Math.max(s.shadow_w, windowDecrease(tp, tp.snd_cwnd, t.beta_loss));
          s.window_incr = 0;
          s.rtt_count = 0;
        }
        tp.t_flags |= TF_FASTRECOVERY | TF_CONGRECOVERY;
        break;
      default:
        base.cong_signal?.(tp, ci, type);
    }
  }

  return {
    name: 'cdg',
    cb_init(tp: Tcpcb): void {
      fresh(tp);
    },
    cb_destroy(tp: Tcpcb): void {
      tp.ccv = {};
    },
    conn_init(tp: Tcpcb): void {
      base.conn_init?.(tp);
      st(tp).shadow_w = tp.snd_cwnd;
    },
    ack_received(tp: Tcpcb, ci: CcAckInfo, type: number): void {
      const e = ertt(tp);
      if (e === undefined) {
        base.ack_received?.(tp, ci, type);
        return;
      }
      const s = st(tp);
      const newMeasurement = (e.flags & ERTT_NEW_MEASUREMENT) !== 0;
      let congestion = false;
      // RTTs in ticks with 1/128 precision kept by the shift below.
      const rtt = e.rtt / 1000;
      s.maxrtt_in_rtt = Math.max(rtt, s.maxrtt_in_rtt);
      s.minrtt_in_rtt = Math.min(rtt, s.minrtt_in_rtt);
      if (newMeasurement) {
        const slowstart = tp.snd_cwnd <= tp.snd_ssthresh;
        if (s.maxrtt_in_prevrtt) {
          const qdiffMax = Math.trunc((s.maxrtt_in_rtt - s.maxrtt_in_prevrtt) * (1 << CDG_D_P_E));
          const qdiffMin = Math.trunc((s.minrtt_in_rtt - s.minrtt_in_prevrtt) * (1 << CDG_D_P_E));
          if (s.sample_q_size === 0) {
            s.max_qtrend = qdiffMax;
            s.min_qtrend = qdiffMin;
          } else {
            movingAverage(tp, s, qdiffMax, qdiffMin);
          }
          // Probabilistic backoff on the gradient.
          if (slowstart && qdiffMin > 0) congestion = probBackoff(qdiffMin);
          else if (s.min_qtrend > 0) congestion = probBackoff(s.min_qtrend);
          else if (slowstart && qdiffMax > 0) congestion = probBackoff(qdiffMax);
          else if (s.max_qtrend > 0) congestion = probBackoff(s.max_qtrend);
          // The queue's state from the gradients' signs.
          if (s.min_qtrend > 0 && s.max_qtrend <= 0) {
            s.queue_state = CDG_Q_FULL;
          } else if (s.min_qtrend >= 0 && s.max_qtrend < 0) {
            s.queue_state = CDG_Q_EMPTY;
            s.shadow_w = 0;
          } else if (s.min_qtrend > 0 && s.max_qtrend > 0) {
            s.queue_state = CDG_Q_RISING;
          } else if (s.min_qtrend < 0 && s.max_qtrend < 0) {
            s.queue_state = CDG_Q_FALLING;
          }
          if (s.min_qtrend < 0 || s.max_qtrend < 0) s.consec_cong_cnt = 0;
        }
        s.minrtt_in_prevrtt = s.minrtt_in_rtt;
        s.minrtt_in_rtt = Number.MAX_SAFE_INTEGER;
        s.maxrtt_in_prevrtt = s.maxrtt_in_rtt;
        s.maxrtt_in_rtt = 0;
        e.flags &= ~ERTT_NEW_MEASUREMENT;
      }
      if (congestion) {
        s.consec_cong_cnt++;
        if (!inRecovery(tp)) {
          if (s.consec_cong_cnt <= t.consec_cong) congSignal(tp, ci, CC_CDG_DELAY);
          // Backing off without the queue falling: loss-based flows compete; hold off a while.
          else if (s.consec_cong_cnt >= t.consec_cong + t.hold_backoff) s.consec_cong_cnt = 0;
          // The effect shows from the second RTT on.
          s.maxrtt_in_prevrtt = 0;
          s.shadow_w = Math.max(tp.snd_cwnd, s.shadow_w);
        }
      } else if (type === CC_ACK) {
        windowIncrease(tp, s, newMeasurement);
      }
    },
    cong_signal: congSignal,
    post_recovery: base.post_recovery,
    after_idle: base.after_idle,
  };
}

/** cc_cdg (DECLARE_CC_MODULE(cdg), MODULE_DEPEND(cdg, ertt)). */
export const ccCdgModule = ccModule({
  file: 'cc_cdg',
  description: 'CAIA delay-gradient congestion control (on h_ertt)',
  depends: ['h_ertt'],
  load: cdgModInit,
  defaults: {
    alpha_inc: cdgDefaults.alpha_inc,
    beta_delay: cdgDefaults.beta_delay,
    beta_loss: cdgDefaults.beta_loss,
    smoothing_factor: cdgDefaults.smoothing_factor,
    exp_backoff_scale: cdgDefaults.exp_backoff_scale,
    consec_cong: cdgDefaults.consec_cong,
    hold_backoff: cdgDefaults.hold_backoff,
  },
  strings: [
    {
      oid: 'net.inet.tcp.cc.cdg.version',
      value: '0.1',
      description: 'Current algorithm/implementation version number',
    },
  ],
  sysctls: [
    {
      oid: 'net.inet.tcp.cc.cdg.alpha_inc',
      key: 'alpha_inc',
      description:
        'Increment the window increase factor alpha by 1 MSS segment every alpha_inc RTTs during congestion avoidance mode.',
      min: 0,
    },
    {
      oid: 'net.inet.tcp.cc.cdg.beta_delay',
      key: 'beta_delay',
      description:
        'Delay-based window decrease factor as a percentage (on delay-based backoff, w = w * beta_delay / 100)',
      min: 1,
      max: 100,
    },
    {
      oid: 'net.inet.tcp.cc.cdg.beta_loss',
      key: 'beta_loss',
      description: 'Loss-based window decrease factor as a percentage (on loss-based backoff, w = w * beta_loss / 100)',
      min: 1,
      max: 100,
    },
    {
      oid: 'net.inet.tcp.cc.cdg.exp_backoff_scale',
      key: 'exp_backoff_scale',
      description: 'Scaling parameter for the probabilistic exponential backoff',
      min: 1,
    },
    {
      oid: 'net.inet.tcp.cc.cdg.smoothing_factor',
      key: 'smoothing_factor',
      description: 'Number of samples used for moving average smoothing (0 = no smoothing)',
      min: 0,
      max: 1024,
    },
    {
      oid: 'net.inet.tcp.cc.cdg.loss_compete_consec_cong',
      key: 'consec_cong',
      description:
        'Number of consecutive delay-gradient based congestion episodes which will trigger loss based CC compatibility',
      min: 0,
    },
    {
      oid: 'net.inet.tcp.cc.cdg.loss_compete_hold_backoff',
      key: 'hold_backoff',
      description:
        'Number of consecutive delay-gradient based congestion episodes to hold the window backoff for loss based CC compatibility',
      min: 0,
    },
  ],
  algo: (tcp, t) => cdg(t, () => tcp.random.u32() / 2 ** 32),
});
