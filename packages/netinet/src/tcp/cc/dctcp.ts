/**
 * DCTCP (RFC 8257), after FreeBSD's netinet/cc/cc_dctcp.c, with α in floating point
 * where FreeBSD keeps it in 1/1024ths (MAX_ALPHA_VALUE).
 *
 * Sender (RFC 8257 §3.3): count the bytes acknowledged and the bytes acknowledged
 * with ECE over each window of data; when an ACK passes the window's end (SND.NXT when
 * it began), α ← (1 − g)·α + g·F with F = marked/acknowledged and g = 2^−shift_g; on
 * ECE, at most once per window, cwnd ← cwnd·(1 − α/2). Loss and timeouts are handled as
 * by NewReno (§3.5).
 *
 * Receiver (§3.2): ecnpkt_handler, which tcp_input calls for each segment: ECE
 * follows the CE codepoint of each data segment exactly, and an ACK goes out at once
 * when the CE state changes while an ACK is being delayed.
 *
 * The once-per-window guard is the module's own (cwr, cwr_end) rather than
 * TF_CONGRECOVERY as in cc_dctcp.c: the engine calls ack_received only outside
 * recovery, and DCTCP must count every ACK of the window for F.
 */
import { seqGeq, seqGt } from '@mcstack/wire';
import type { Tcpcb } from '../var.js';
import {
  TF_CONGRECOVERY,
  TF_ECN_PERMIT,
  TF_ECN_SND_CWR,
  TF_ECN_SND_ECE,
  TF_FASTRECOVERY,
  TF2_ECN_USE_ECT1,
} from '../var.js';
import {
  CC_ACK,
  CC_DUPACK,
  CC_ECN,
  CC_NDUPACK,
  CC_RTO,
  CCF_ACKNOW,
  CCF_DELACK,
  CCF_IPHDR_CE,
  CCF_TCPHDR_CWR,
  type CcAckInfo,
  type CcAlgo,
} from './cc.js';
import { newreno, type NewRenoTunables } from './newreno.js';
import { ccModule } from './cc_module.js';

/** α's scale in FreeBSD's sysctl (MAX_ALPHA_VALUE): net.inet.tcp.cc.dctcp.alpha = 1024 is α = 1. */
export const DCTCP_MAX_ALPHA = 1024;

export interface DctcpTunables extends NewRenoTunables {
  /**
   * net.inet.tcp.cc.dctcp.alpha: the initial α in 1/1024ths, 0..1024. FreeBSD's default
   * is 0 (throughput first); RFC 8257 §3.3 initializes DCTCP.Alpha to 1 (1024).
   */
  alpha: number;
  /** net.inet.tcp.cc.dctcp.shift_g: g = 1/2^shift_g, default 4 (g = 1/16, RFC 8257 §3.3). */
  shift_g: number;
  /** net.inet.tcp.cc.dctcp.slowstart: halve cwnd on the first ECE (α = 1 once), default 0. */
  slowstart: number;
  /** net.inet.tcp.cc.dctcp.ect1: send ECT(1) (TF2_ECN_USE_ECT1), default 0. */
  ect1: number;
}

export const dctcpDefaults: DctcpTunables = {
  rfc3465: 1,
  abc_l_var: 2,
  initcwnd_segments: 10,
  alpha: 0,
  shift_g: 4,
  slowstart: 0,
  ect1: 0,
};

/** The KPI with the ecnpkt_handler hook DCTCP always has. */
export interface DctcpAlgo extends CcAlgo {
  /**
   * RFC 8257 §3.2, per received data segment on an ECN connection: ci.flags carries
   * CCF_IPHDR_CE (the segment's IP CE), CCF_TCPHDR_CWR and CCF_DELACK (an ACK is being
   * delayed); sets or clears TF_ECN_SND_ECE and sets CCF_ACKNOW when the ACK must go now.
   */
  ecnpkt_handler(tp: Tcpcb, ci: CcAckInfo): void;
}

/** struct dctcp, kept in tp.ccv. */
interface DctcpState {
  dctcp: number;
  /** α in [0, 1]. */
  alpha: number;
  bytes_ecn: number;
  bytes_total: number;
  /** Receiver: CE state of the last data segment. */
  ce_prev: number;
  /** End of the current observation window (DCTCP.WindowEnd). */
  save_sndnxt: number;
  /** This ACK carried ECE / the previous one did. */
  ece_curr: number;
  ece_prev: number;
  num_cong_events: number;
  /** cwnd before the last ECE reduction (FreeBSD's tcpcb snd_cwnd_prev). */
  cwnd_prev: number;
  /** A reduction was made for the window ending at cwr_end. */
  cwr: number;
  cwr_end: number;
}

export function dctcp(t: DctcpTunables): DctcpAlgo {
  const base = newreno(t);
  const alpha0 = (): number => Math.min(Math.max(t.alpha, 0), DCTCP_MAX_ALPHA) / DCTCP_MAX_ALPHA;

  function fresh(tp: Tcpcb): DctcpState {
    const s: DctcpState = {
      dctcp: 1,
      alpha: alpha0(),
      bytes_ecn: 0,
      bytes_total: 0,
      ce_prev: 0,
      save_sndnxt: tp.snd_nxt,
      ece_curr: 0,
      ece_prev: 0,
      num_cong_events: 0,
      cwnd_prev: 0,
      cwr: 0,
      cwr_end: 0,
    };
    tp.ccv = s as unknown as Record<string, number>;
    return s;
  }

  function st(tp: Tcpcb): DctcpState {
    const s = tp.ccv as unknown as Partial<DctcpState>;
    return s.dctcp === 1 ? (s as DctcpState) : fresh(tp);
  }

  /** dctcp_update_alpha: α ← (1 − g)α + g·F at the end of a window (RFC 8257 §3.3). */
  function updateAlpha(tp: Tcpcb, s: DctcpState): void {
    const g = 2 ** -t.shift_g;
    const f = s.bytes_ecn / Math.max(s.bytes_total, 1);
    s.alpha = Math.min((1 - g) * s.alpha + g * f, 1);
    s.bytes_ecn = 0;
    s.bytes_total = 0;
    s.save_sndnxt = tp.snd_nxt;
  }

  const ecn = (tp: Tcpcb): boolean => (tp.t_flags & TF_ECN_PERMIT) !== 0;

  return {
    name: 'dctcp',

    cb_init(tp: Tcpcb): void {
      fresh(tp);
    },

    cb_destroy(tp: Tcpcb): void {
      tp.ccv = {};
    },

    conn_init(tp: Tcpcb): void {
      base.conn_init?.(tp);
      const s = st(tp);
      if (ecn(tp)) {
        s.save_sndnxt = tp.snd_nxt;
        if (t.ect1) tp.t_flags2 |= TF2_ECN_USE_ECT1;
      }
    },

    ack_received(tp: Tcpcb, ci: CcAckInfo, type: number): void {
      base.ack_received?.(tp, ci, type);
      if (!ecn(tp)) return;
      const s = st(tp);
      const mss = tp.t_maxseg;
      const acked = type === CC_ACK ? ci.bytes_this_ack : type === CC_DUPACK ? mss : 0;
      s.bytes_total += acked;
      // Bytes acknowledged with ECE; on a change of ECE state, one segment of a stretch
      // ACK is counted with the previous state (a delayed ACK covered both).
      if (s.ece_curr) {
        s.bytes_ecn += !s.ece_prev && acked > mss ? acked - mss : acked;
        s.ece_prev = 1;
      } else {
        if (s.ece_prev && acked > mss) s.bytes_ecn += mss;
        s.ece_prev = 0;
      }
      s.ece_curr = 0;
      if (s.cwr && seqGeq(ci.curack, s.cwr_end)) s.cwr = 0;
      const fast = (tp.t_flags & TF_FASTRECOVERY) !== 0;
      if ((fast && seqGeq(ci.curack, tp.snd_recover)) || (!fast && seqGt(ci.curack, s.save_sndnxt))) updateAlpha(tp, s);
    },

    cong_signal(tp: Tcpcb, _ci: CcAckInfo, type: number): void {
      const s = st(tp);
      const mss = tp.t_maxseg;
      const win = tp.snd_cwnd;
      switch (type) {
        case CC_NDUPACK:
          // RFC 8257 §3.5: a loss halves the window as in NewReno; within an ECE
          // reduction's window, from the cwnd before that reduction.
          if ((tp.t_flags & TF_FASTRECOVERY) === 0) {
            if (!s.cwr) {
              tp.snd_ssthresh = Math.max(Math.floor(win / 2 / mss), 2) * mss;
              s.num_cong_events++;
            } else {
              tp.snd_ssthresh = Math.max(Math.floor(s.cwnd_prev / 2 / mss), 2) * mss;
            }
            tp.t_flags |= TF_FASTRECOVERY | TF_CONGRECOVERY;
          }
          break;
        case CC_ECN:
          s.cwnd_prev = win;
          if (!s.cwr) {
            if (t.slowstart && s.num_cong_events++ === 0) {
              // First ECE after slow start: halve and assume α = 1.
              tp.snd_ssthresh = Math.max(Math.floor(win / 2 / mss), 2) * mss;
              s.alpha = 1;
              s.bytes_ecn = 0;
              s.bytes_total = 0;
              s.save_sndnxt = tp.snd_nxt;
            } else {
              // RFC 8257 §3.3: cwnd = cwnd × (1 − DCTCP.Alpha / 2), whole segments, at least 2.
              tp.snd_ssthresh = Math.max(Math.floor((win - (win * s.alpha) / 2) / mss), 2) * mss;
            }
            tp.snd_cwnd = tp.snd_ssthresh;
            s.cwr = 1;
            s.cwr_end = tp.snd_max;
          }
          s.ece_curr = 1;
          break;
        case CC_RTO:
          base.cong_signal?.(tp, _ci, type);
          s.cwr = 0;
          if (ecn(tp)) {
            tp.t_flags |= TF_ECN_SND_CWR;
            updateAlpha(tp, s);
            s.save_sndnxt = (s.save_sndnxt + mss) >>> 0;
            s.num_cong_events++;
          }
          break;
      }
    },

    post_recovery(tp: Tcpcb, ci: CcAckInfo): void {
      base.post_recovery?.(tp, ci);
      if (ecn(tp)) updateAlpha(tp, st(tp));
    },

    /** Start the estimate over after idle (dctcp_after_idle), then NewReno's restart window. */
    after_idle(tp: Tcpcb): void {
      const s = st(tp);
      s.bytes_ecn = 0;
      s.bytes_total = 0;
      s.save_sndnxt = tp.snd_nxt;
      s.alpha = alpha0();
      s.ece_curr = 0;
      s.ece_prev = 0;
      s.num_cong_events = 0;
      base.after_idle?.(tp);
    },

    ecnpkt_handler(tp: Tcpcb, ci: CcAckInfo): void {
      const s = st(tp);
      const f = ci.flags;
      let delayAck = true;
      if ((f & CCF_IPHDR_CE) !== 0) {
        // CE now, not before: ACK at once so the sender sees where marking began.
        if (!s.ce_prev && (f & CCF_DELACK) !== 0) delayAck = false;
        s.ce_prev = 1;
        tp.t_flags |= TF_ECN_SND_ECE;
      } else {
        if (s.ce_prev && (f & CCF_DELACK) !== 0) delayAck = false;
        s.ce_prev = 0;
        tp.t_flags &= ~TF_ECN_SND_ECE;
      }
      // A segment with CWR may be delayed-ACKed as usual.
      if ((f & CCF_DELACK) !== 0 && (f & CCF_TCPHDR_CWR) !== 0) delayAck = true;
      if (delayAck) ci.flags &= ~CCF_ACKNOW;
      else ci.flags |= CCF_ACKNOW;
    },
  };
}

/** cc_dctcp (DECLARE_CC_MODULE(dctcp)) with its net.inet.tcp.cc.dctcp sysctls. */
export const ccDctcpModule = ccModule({
  file: 'cc_dctcp',
  description: 'DCTCP congestion control (RFC 8257)',
  defaults: {
    alpha: dctcpDefaults.alpha,
    shift_g: dctcpDefaults.shift_g,
    slowstart: dctcpDefaults.slowstart,
    ect1: dctcpDefaults.ect1,
  },
  sysctls: [
    {
      oid: 'net.inet.tcp.cc.dctcp.alpha',
      key: 'alpha',
      description: 'dctcp alpha parameter',
      min: 0,
      max: DCTCP_MAX_ALPHA,
    },
    { oid: 'net.inet.tcp.cc.dctcp.shift_g', key: 'shift_g', description: 'dctcp shift parameter', min: 0, max: 8 },
    {
      oid: 'net.inet.tcp.cc.dctcp.slowstart',
      key: 'slowstart',
      description: 'half CWND reduction after the first slow start',
      min: 0,
      max: 1,
    },
    { oid: 'net.inet.tcp.cc.dctcp.ect1', key: 'ect1', description: 'Send ECT(1)', min: 0, max: 1 },
  ],
  algo: (_tcp, t) => dctcp(t),
});
