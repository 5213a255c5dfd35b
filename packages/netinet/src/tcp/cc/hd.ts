/**
 * Hamilton Delay (D. Leith, R. Shorten, G. McCullagh, L. Dunn, F. Baker, "Making Available
 * Base-RTT for Use in Congestion Control Applications", IEEE Communications Letters
 * 12(6), 2008), after FreeBSD's netinet/cc/cc_hd.c: NewReno, plus a probabilistic backoff
 * on each ACK when h_ertt's queueing delay qdly = rtt − minrtt exceeds queue_min:
 *
 *   p = pmax · (qdly − qmin)/(qth − qmin)              for qdly < qth
 *   p = pmax                                           for qdly = qth
 *   p = pmax · (maxqdly − qdly)/(maxqdly − qth)        for qdly > qth  (maxqdly = maxrtt − minrtt)
 *
 * and a backoff is NewReno's reaction to ECN (cwnd halved, once per window). Delays are in
 * ticks (ms) as FreeBSD's sysctls give them, from h_ertt's µs; p in floating point.
 */
import { TF_CONGRECOVERY, TF_FASTRECOVERY, type Tcpcb } from '../var.js';
import { type Ertt, erttOf } from '../khelp/h_ertt.js';
import { CC_ACK, CC_ECN, type CcAckInfo, type CcAlgo } from './cc.js';
import { ccModule } from './cc_module.js';
import { newreno, type NewRenoTunables } from './newreno.js';

export interface HdTunables extends NewRenoTunables {
  /** net.inet.tcp.cc.hd.queue_threshold: 20 ticks (qth). */
  qthresh: number;
  /** net.inet.tcp.cc.hd.queue_min: 5 ticks (qmin). */
  qmin: number;
  /** net.inet.tcp.cc.hd.pmax: 5 (per-packet maximum backoff probability, %). */
  pmax: number;
}

export const hdDefaults: HdTunables = {
  rfc3465: 1,
  abc_l_var: 2,
  initcwnd_segments: 10,
  qthresh: 20,
  qmin: 5,
  pmax: 5,
};

/** HD's backoff probability for a queueing delay `qdly` and the largest seen `maxqdly` (ms). */
export function hdBackoffProbability(t: HdTunables, qdly: number, maxqdly: number): number {
  const pmax = t.pmax / 100;
  if (qdly < t.qthresh) return (pmax * (qdly - t.qmin)) / (t.qthresh - t.qmin);
  if (qdly > t.qthresh) return (pmax * (maxqdly - qdly)) / (maxqdly - t.qthresh);
  return pmax;
}

/** HD with tunables `t`; `rand` uniform in [0, 1) from the engine's seeded source. */
export function hd(t: HdTunables, rand: () => number, ertt: (tp: Tcpcb) => Ertt | undefined = erttOf): CcAlgo {
  const base = newreno(t);
  return {
    name: 'hd',
    conn_init: base.conn_init,
    ack_received(tp: Tcpcb, ci: CcAckInfo, type: number): void {
      const e = type === CC_ACK ? ertt(tp) : undefined;
      if (e !== undefined && e.rtt > 0 && e.minrtt > 0 && t.qthresh > 0) {
        const qdly = (e.rtt - e.minrtt) / 1000;
        if (qdly > t.qmin && (tp.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY)) === 0) {
          if (rand() < hdBackoffProbability(t, qdly, (e.maxrtt - e.minrtt) / 1000)) {
            // Back off as NewReno does on ECN (not as on a loss).
            base.cong_signal?.(tp, ci, CC_ECN);
            return;
          }
        }
      }
      base.ack_received?.(tp, ci, type);
    },
    cong_signal: base.cong_signal,
    post_recovery: base.post_recovery,
    after_idle: base.after_idle,
  };
}

/** cc_hd (DECLARE_CC_MODULE(hd), MODULE_DEPEND(hd, ertt)). */
export const ccHdModule = ccModule({
  file: 'cc_hd',
  description: 'Hamilton delay-based congestion control (on h_ertt)',
  depends: ['h_ertt'],
  defaults: { qthresh: hdDefaults.qthresh, qmin: hdDefaults.qmin, pmax: hdDefaults.pmax },
  sysctls: [
    {
      oid: 'net.inet.tcp.cc.hd.queue_threshold',
      key: 'qthresh',
      description: 'queueing congestion threshold (qth) in ticks',
      valid: (v, t) => v >= 1 && v >= t.qmin,
    },
    {
      oid: 'net.inet.tcp.cc.hd.pmax',
      key: 'pmax',
      description: 'per packet maximum backoff probability as a percentage',
      valid: (v) => v > 0 && v <= 100,
    },
    {
      oid: 'net.inet.tcp.cc.hd.queue_min',
      key: 'qmin',
      description: 'minimum queueing delay threshold (qmin) in ticks',
      valid: (v, t) => v >= 0 && v <= t.qthresh,
    },
  ],
  algo: (tcp, t) => hd(t, () => tcp.random.u32() / 2 ** 32),
});
