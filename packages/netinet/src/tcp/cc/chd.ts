/**
 * CAIA-Hamilton Delay (D. A. Hayes, G. Armitage, "Improved Coexistence and Loss Tolerance
 * for Delay Based TCP Congestion Control", IEEE LCN 2010), after FreeBSD's
 * netinet/cc/cc_chd.c. Once per RTT (h_ertt's ERTT_NEW_MEASUREMENT) the queueing delay
 * qdly = (the RTT period's largest RTT, or the last one) − minrtt decides a probabilistic
 * backoff with HD's probability (hd.ts, pmax per RTT); a backoff sets
 * ssthresh = w − max(w/2, 1) segments with w = min(snd_wnd, cwnd), cwnd = ssthresh. A
 * loss is congestion only when qdly > queue_threshold (else ssthresh = cwnd: the window
 * stays); a shadow window tracks what NewReno would have and is restored on loss when the
 * flow seems to compete with loss-based flows (loss_fair). Delays in ticks (ms).
 */
import { TCP_MAXWIN, TF_CONGRECOVERY, TF_FASTRECOVERY, type Tcpcb } from '../var.js';
import { ERTT_NEW_MEASUREMENT, type Ertt, erttOf } from '../khelp/h_ertt.js';
import { CC_ACK, CC_NDUPACK, CCF_ABC_SENTAWND, type CcAckInfo, type CcAlgo } from './cc.js';
import { ccModule } from './cc_module.js';
import { hdBackoffProbability } from './hd.js';
import { newreno, type NewRenoTunables } from './newreno.js';

/** The private delay-based congestion signal (CC_CHD_DELAY). */
export const CC_CHD_DELAY = 0x02000000;

export interface ChdTunables extends NewRenoTunables {
  /** net.inet.tcp.cc.chd.queue_threshold: 20 ticks. */
  qthresh: number;
  /** net.inet.tcp.cc.chd.queue_min: 5 ticks. */
  qmin: number;
  /** net.inet.tcp.cc.chd.pmax: 50 (per-RTT maximum backoff probability, %). */
  pmax: number;
  /** net.inet.tcp.cc.chd.loss_fair: 1 (the shadow window). */
  loss_fair: number;
  /** net.inet.tcp.cc.chd.use_max: 1 (the RTT period's largest RTT, not the last). */
  use_max: number;
}

export const chdDefaults: ChdTunables = {
  rfc3465: 1,
  abc_l_var: 2,
  initcwnd_segments: 10,
  qthresh: 20,
  qmin: 5,
  pmax: 50,
  loss_fair: 1,
  use_max: 1,
};

/** struct chd, in tp.ccv (RTTs µs). */
interface ChdState {
  chd: number;
  shadow_w: number;
  loss_compete: number;
  maxrtt_in_rtt: number;
  prev_backoff_qdly: number;
}

const inRecovery = (tp: Tcpcb): boolean => (tp.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY)) !== 0;

/** CHD with tunables `t`; `rand` uniform in [0, 1). */
export function chd(t: ChdTunables, rand: () => number, ertt: (tp: Tcpcb) => Ertt | undefined = erttOf): CcAlgo {
  const base = newreno(t);

  function st(tp: Tcpcb): ChdState {
    const s = tp.ccv as unknown as Partial<ChdState>;
    if (s.chd === 1) return s as ChdState;
    const f: ChdState = { chd: 1, shadow_w: 0, loss_compete: 0, maxrtt_in_rtt: 0, prev_backoff_qdly: 0 };
    tp.ccv = f as unknown as Record<string, number>;
    return f;
  }

  /** chd_window_decrease: ssthresh = w − max(w/2, 1) segments, at least 2. */
  function windowDecrease(tp: Tcpcb): void {
    let win = Math.floor(Math.min(tp.snd_wnd, tp.snd_cwnd) / tp.t_maxseg);
    win -= Math.max(Math.floor(win / 2), 1);
    tp.snd_ssthresh = Math.max(win, 2) * tp.t_maxseg;
  }

  /** should_backoff, which also judges whether the flow competes with loss-based ones. */
  function shouldBackoff(s: ChdState, qdly: number, maxqdly: number): boolean {
    const r = rand();
    const p = hdBackoffProbability(t, qdly, maxqdly);
    if (qdly < t.qthresh || qdly === t.qthresh) s.loss_compete = 0;
    else if (t.loss_fair && r < p) s.loss_compete = 1;
    return r < p;
  }

  /** chd_window_increase: NewReno's growth, the shadow window alongside. */
  function windowIncrease(tp: Tcpcb, s: ChdState, ci: CcAckInfo, newMeasurement: boolean): void {
    const mss = tp.t_maxseg;
    let incr = 0;
    if (tp.snd_cwnd <= tp.snd_ssthresh) {
      if (t.rfc3465) incr = Math.min(ci.bytes_this_ack, tp.snd_nxt === tp.snd_max ? t.abc_l_var * mss : mss);
      else incr = mss;
    } else if (t.rfc3465) {
      if ((ci.flags & CCF_ABC_SENTAWND) !== 0) {
        ci.flags &= ~CCF_ABC_SENTAWND;
        incr = mss;
      }
    } else if (newMeasurement) {
      incr = mss;
    }
    const cap = TCP_MAXWIN * 2 ** tp.snd_scale;
    if (s.shadow_w > 0) s.shadow_w = Math.min(s.shadow_w + incr, cap);
    tp.snd_cwnd = Math.min(tp.snd_cwnd + incr, cap);
  }

  function congSignal(tp: Tcpcb, ci: CcAckInfo, type: number): void {
    const s = st(tp);
    const e = ertt(tp);
    const qdly = e !== undefined ? (Math.max(e.rtt, s.maxrtt_in_rtt) - e.minrtt) / 1000 : 0;
    switch (type) {
      case CC_CHD_DELAY:
        windowDecrease(tp);
        tp.snd_cwnd = tp.snd_ssthresh;
        tp.snd_recover = tp.snd_max;
        tp.t_flags |= TF_CONGRECOVERY;
        break;
      case CC_NDUPACK:
        if (!inRecovery(tp) && qdly > t.qthresh) {
          // Competing with loss-based flows: restore the backoffs first.
          if (s.loss_compete) tp.snd_cwnd = Math.max(tp.snd_cwnd, s.shadow_w);
          windowDecrease(tp);
        } else {
          // Not a congestion loss, or recovering already.
          tp.snd_ssthresh = tp.snd_cwnd;
          tp.snd_recover = tp.snd_max;
        }
        if (s.shadow_w > 0) s.shadow_w = Math.max(Math.floor(s.shadow_w / tp.t_maxseg / 2), 2) * tp.t_maxseg;
        tp.t_flags |= TF_FASTRECOVERY;
        break;
      default:
        base.cong_signal?.(tp, ci, type);
    }
  }

  return {
    name: 'chd',
    cb_init(tp: Tcpcb): void {
      tp.ccv = {};
      st(tp);
    },
    cb_destroy(tp: Tcpcb): void {
      tp.ccv = {};
    },
    conn_init(tp: Tcpcb): void {
      base.conn_init?.(tp);
      const s = st(tp);
      s.prev_backoff_qdly = 0;
      s.maxrtt_in_rtt = 0;
      s.loss_compete = 0;
      // Competing with loss-based flows from the start, perhaps.
      s.shadow_w = tp.snd_cwnd;
    },
    ack_received(tp: Tcpcb, ci: CcAckInfo, type: number): void {
      const e = ertt(tp);
      if (e === undefined) {
        base.ack_received?.(tp, ci, type);
        return;
      }
      const s = st(tp);
      const newMeasurement = (e.flags & ERTT_NEW_MEASUREMENT) !== 0;
      let backoff = false;
      let qdly = 0;
      s.maxrtt_in_rtt = Math.max(e.rtt, s.maxrtt_in_rtt);
      if (newMeasurement) {
        const rtt = t.use_max ? s.maxrtt_in_rtt : e.rtt;
        s.maxrtt_in_rtt = 0;
        if (rtt > 0 && e.minrtt > 0 && !inRecovery(tp)) {
          qdly = (rtt - e.minrtt) / 1000;
          if (qdly > t.qmin) backoff = shouldBackoff(s, qdly, (e.maxrtt - e.minrtt) / 1000);
          else s.loss_compete = 0;
        }
        e.flags &= ~ERTT_NEW_MEASUREMENT;
      }
      if (backoff) {
        // More delay than at the last backoff: perhaps loss-based flows share the path.
        if (s.loss_compete || qdly > s.prev_backoff_qdly) s.shadow_w = Math.max(tp.snd_cwnd, s.shadow_w);
        else s.shadow_w = 0;
        s.prev_backoff_qdly = qdly;
        congSignal(tp, ci, CC_CHD_DELAY);
      } else if (type === CC_ACK) {
        windowIncrease(tp, s, ci, newMeasurement);
      }
    },
    cong_signal: congSignal,
    post_recovery: base.post_recovery,
    after_idle: base.after_idle,
  };
}

/** cc_chd (DECLARE_CC_MODULE(chd), MODULE_DEPEND(chd, ertt)). */
export const ccChdModule = ccModule({
  file: 'cc_chd',
  description: 'CAIA-Hamilton delay-based congestion control (on h_ertt)',
  depends: ['h_ertt'],
  defaults: {
    qthresh: chdDefaults.qthresh,
    qmin: chdDefaults.qmin,
    pmax: chdDefaults.pmax,
    loss_fair: chdDefaults.loss_fair,
    use_max: chdDefaults.use_max,
  },
  sysctls: [
    {
      oid: 'net.inet.tcp.cc.chd.loss_fair',
      key: 'loss_fair',
      description: 'Flag to enable shadow window functionality.',
      min: 0,
      max: 1,
    },
    {
      oid: 'net.inet.tcp.cc.chd.pmax',
      key: 'pmax',
      description: 'Per RTT maximum backoff probability as a percentage',
      valid: (v) => v > 0 && v <= 100,
    },
    {
      oid: 'net.inet.tcp.cc.chd.queue_threshold',
      key: 'qthresh',
      description: 'Queueing congestion threshold in ticks',
      valid: (v, t) => v > t.qmin,
    },
    {
      oid: 'net.inet.tcp.cc.chd.queue_min',
      key: 'qmin',
      description: 'Minimum queueing delay threshold in ticks',
      min: 0,
    },
    {
      oid: 'net.inet.tcp.cc.chd.use_max',
      key: 'use_max',
      description:
        'Use the maximum RTT seen within the measurement period (RTT) as the basic delay measurement for the algorithm.',
      min: 0,
      max: 1,
    },
  ],
  algo: (tcp, t) => chd(t, () => tcp.random.u32() / 2 ** 32),
});
