/**
 * Driving a congestion-control module through its hooks without an engine: a real
 * Tcpcb (no pcb, no timers armed), a virtual clock, and ACKs fed the way tcp_input
 * feeds them (RFC 3465 byte counting into CCF_ABC_SENTAWND, then ack_received).
 */
import { Tcpcb, TCP_MAXWIN, TCP_MAX_WINSHIFT } from '../src/tcp/var.js';
import type { Inpcb } from '../src/netinet/in_pcb.js';
import { CC_ACK, CCF_ABC_SENTAWND, CCF_CWND_LIMITED, type CcAckInfo, type CcAlgo } from '../src/tcp/cc/cc.js';

export const MSS = 1000;
export const ISS = 1000;

export class Clock {
  t = 10_000_000;
  readonly now = (): number => this.t;
}

/** A tcpcb as tcp_newtcpcb leaves it, then cb_init and conn_init (IW = 10 segments). */
export function makeTp(algo: CcAlgo, flags = 0): Tcpcb {
  const tp = new Tcpcb({} as Inpcb, algo, () => {});
  tp.t_maxseg = MSS;
  tp.t_flags |= flags;
  tp.snd_scale = TCP_MAX_WINSHIFT;
  tp.snd_wnd = 1 << 30;
  tp.snd_cwnd = TCP_MAXWIN << TCP_MAX_WINSHIFT;
  tp.snd_ssthresh = TCP_MAXWIN << TCP_MAX_WINSHIFT;
  tp.snd_una = tp.snd_nxt = tp.snd_max = ISS;
  algo.cb_init?.(tp);
  algo.conn_init?.(tp);
  tp.snd_nxt = tp.snd_max = ISS + tp.snd_cwnd;
  return tp;
}

export interface AckOpts {
  /** Not cwnd-limited (the application ran dry). */
  appLimited?: boolean;
  /** RTT sample carried by this ACK, µs (CubicAckInfo.rtt_us). */
  rtt_us?: number;
  /** Keep this many bytes in flight after the ACK instead of a full cwnd. */
  flight?: number;
}

/** One new cumulative ACK of `bytes`, as ackAdvance hands it over; the sender then fills cwnd (or `flight`). */
export function ack(tp: Tcpcb, bytes: number, o: AckOpts = {}): CcAckInfo & { rtt_us?: number } {
  const ci: CcAckInfo & { rtt_us?: number } = {
    flags: o.appLimited ? 0 : CCF_CWND_LIMITED,
    bytes_this_ack: bytes,
    curack: (tp.snd_una + bytes) >>> 0,
    nsegs: 1,
  };
  if (o.rtt_us !== undefined) ci.rtt_us = o.rtt_us;
  if (tp.snd_cwnd > tp.snd_ssthresh) {
    tp.t_bytes_acked += Math.min(bytes, 2 * MSS);
    if (tp.t_bytes_acked >= tp.snd_cwnd) {
      tp.t_bytes_acked -= tp.snd_cwnd;
      ci.flags |= CCF_ABC_SENTAWND;
    }
  } else {
    tp.t_bytes_acked = 0;
  }
  tp.snd_una = ci.curack;
  tp.cc.ack_received?.(tp, ci, CC_ACK);
  const top = (tp.snd_una + (o.flight ?? tp.snd_cwnd)) >>> 0;
  if (((top - tp.snd_max) | 0) > 0) tp.snd_nxt = tp.snd_max = top;
  return ci;
}

/**
 * One round trip: the window outstanding at its start acknowledged in MSS-sized ACKs
 * (the last one carries the remainder), spread evenly over `rttUs` of virtual time.
 */
export function roundTrip(tp: Tcpcb, clock: Clock, rttUs: number, o: AckOpts = {}): void {
  let left = (tp.snd_max - tp.snd_una) >>> 0;
  const n = Math.ceil(left / MSS);
  for (let i = 0; i < n; i++) {
    clock.t += rttUs / n;
    const b = Math.min(MSS, left);
    left -= b;
    ack(tp, b, o);
  }
}
