/**
 * TCP Vegas (L. Brakmo, L. Peterson, "TCP Vegas: End to End Congestion Avoidance on a
 * Global Internet", IEEE JSAC 13(8), 1995), after FreeBSD's netinet/cc/cc_vegas.c, on
 * h_ertt's once-per-RTT marked measurement:
 *
 *   Expected = marked_snd_cwnd / BaseRTT (minrtt), Actual = bytes_tx_in_marked_rtt / markedpkt_rtt
 *   Diff = (Expected − Actual) · BaseRTT / SMSS   (segments queued in the path)
 *   Diff < α: cwnd += SMSS; Diff > β: cwnd −= SMSS (at least 2 SMSS, and slow start ends)
 *
 * once per RTT (ERTT_NEW_MEASUREMENT); slow start grows every other RTT (the toggle).
 * Loss and timeouts as NewReno. In floating point where cc_vegas.c divides whole bytes
 * by ticks. A connection without h_ertt data (older than the helper) behaves as NewReno.
 */
import { TCP_MAXWIN, TF_CONGRECOVERY, TF_FASTRECOVERY, type Tcpcb } from '../var.js';
import { ERTT_NEW_MEASUREMENT, type Ertt, erttOf } from '../khelp/h_ertt.js';
import type { CcAckInfo, CcAlgo } from './cc.js';
import { ccModule } from './cc_module.js';
import { newreno, type NewRenoTunables } from './newreno.js';

/** The private rate-based congestion signal (CC_VEGAS_RATE). */
export const CC_VEGAS_RATE = 0x04000000;

export interface VegasTunables extends NewRenoTunables {
  /** net.inet.tcp.cc.vegas.alpha: 1 (segments queued below which cwnd grows). */
  alpha: number;
  /** net.inet.tcp.cc.vegas.beta: 3 (segments queued above which cwnd shrinks). */
  beta: number;
}

export const vegasDefaults: VegasTunables = { rfc3465: 1, abc_l_var: 2, initcwnd_segments: 10, alpha: 1, beta: 3 };

const inRecovery = (tp: Tcpcb): boolean => (tp.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY)) !== 0;

/** Vegas with tunables `t`; `ertt` finds a connection's h_ertt data. */
export function vegas(t: VegasTunables, ertt: (tp: Tcpcb) => Ertt | undefined = erttOf): CcAlgo {
  const base = newreno(t);
  const toggle = (tp: Tcpcb): number => tp.ccv.slow_start_toggle ?? 1;

  function congSignal(tp: Tcpcb, ci: CcAckInfo, type: number): void {
    const pre = inRecovery(tp);
    if (type === CC_VEGAS_RATE) {
      if (!inRecovery(tp)) {
        tp.snd_cwnd = Math.max(2 * tp.t_maxseg, tp.snd_cwnd - tp.t_maxseg);
        if (tp.snd_cwnd < tp.snd_ssthresh) tp.snd_ssthresh = tp.snd_cwnd; // leave slow start
      }
    } else {
      base.cong_signal?.(tp, ci, type);
    }
    if (inRecovery(tp) && !pre) tp.ccv.slow_start_toggle = tp.snd_cwnd < tp.snd_ssthresh ? 1 : 0;
  }

  return {
    name: 'vegas',
    cb_init(tp: Tcpcb): void {
      tp.ccv = { slow_start_toggle: 1 };
    },
    cb_destroy(tp: Tcpcb): void {
      tp.ccv = {};
    },
    conn_init(tp: Tcpcb): void {
      base.conn_init?.(tp);
      tp.ccv.slow_start_toggle = 1;
    },
    ack_received(tp: Tcpcb, ci: CcAckInfo, type: number): void {
      const e = ertt(tp);
      if (e !== undefined && (e.flags & ERTT_NEW_MEASUREMENT) !== 0) {
        if (e.minrtt > 0 && e.markedpkt_rtt > 0) {
          const expected = e.marked_snd_cwnd / e.minrtt;
          const actual = e.bytes_tx_in_marked_rtt / e.markedpkt_rtt;
          const ndiff = ((expected - actual) * e.minrtt) / tp.t_maxseg;
          if (ndiff < t.alpha) {
            if (tp.snd_cwnd <= tp.snd_ssthresh) {
              tp.ccv.slow_start_toggle = toggle(tp) ? 0 : 1;
            } else {
              tp.ccv.slow_start_toggle = 0;
              tp.snd_cwnd = Math.min(tp.snd_cwnd + tp.t_maxseg, TCP_MAXWIN * 2 ** tp.snd_scale);
            }
          } else if (ndiff > t.beta) {
            congSignal(tp, ci, CC_VEGAS_RATE);
            tp.ccv.slow_start_toggle = 0;
          }
        }
        e.flags &= ~ERTT_NEW_MEASUREMENT;
      }
      if (e === undefined || toggle(tp)) base.ack_received?.(tp, ci, type);
    },
    cong_signal: congSignal,
    post_recovery: base.post_recovery,
    after_idle: base.after_idle,
  };
}

/** cc_vegas (DECLARE_CC_MODULE(vegas), MODULE_DEPEND(vegas, ertt)). */
export const ccVegasModule = ccModule({
  file: 'cc_vegas',
  description: 'Vegas congestion control (on h_ertt)',
  depends: ['h_ertt'],
  defaults: { alpha: vegasDefaults.alpha, beta: vegasDefaults.beta },
  sysctls: [
    {
      oid: 'net.inet.tcp.cc.vegas.alpha',
      key: 'alpha',
      description: 'vegas alpha, specified as number of "buffers" (0 < alpha < beta)',
      valid: (v, t) => v > 0 && v <= t.beta,
    },
    {
      oid: 'net.inet.tcp.cc.vegas.beta',
      key: 'beta',
      description: 'vegas beta, specified as number of "buffers" (0 < alpha < beta)',
      valid: (v, t) => v > 0 && v >= t.alpha,
    },
  ],
  algo: (_tcp, t) => vegas(t),
});
