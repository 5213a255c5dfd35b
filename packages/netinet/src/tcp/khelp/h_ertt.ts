/**
 * Enhanced RTT (FreeBSD sys/netinet/khelp/h_ertt.c, h_ertt.h): the first khelp helper.
 * On the way out (HHOOK_TCP_EST_OUT) each data segment's sequence, length, send time and
 * timestamps are queued; on the way in (HHOOK_TCP_EST_IN) the ACK is matched to them —
 * by timestamp echo where the peer's timestamps can be trusted — and an RTT taken,
 * guessing whether the receiver delays ACKs (a delayed ACK of one segment would inflate
 * it). One segment per round is marked: its RTT (markedpkt_rtt), the bytes sent during it
 * (bytes_tx_in_marked_rtt) and cwnd when it was measured (marked_snd_cwnd), with
 * ERTT_NEW_MEASUREMENT set for the delay-based algorithms (Vegas, HD, CHD, CDG).
 *
 * Times are µs on the engine clock where FreeBSD counts `ticks` (and adds one tick so a
 * sample is never 0: here a sample is at least 1 µs). The queue is a ring of typed arrays
 * that grows with the window (FreeBSD: a UMA zone of txseginfo), so a segment allocates
 * nothing. The engine has no sackhint.last_sack_ack: RTTs come from cumulative ACKs only.
 */
import { seqGt, seqLeq, TOF_TS } from '@mcstack/wire';
import {
  HELPER_CLASS_TCP,
  HELPER_NEEDS_OSD,
  type Helper,
  type HelperExport,
  khelpGetOsd,
  khelpModule,
} from '../../kern/khelp.js';
import { HHOOK_TYPE_TCP } from '../../kern/hhook.js';
import type { Osd } from '../../kern/osd.js';
import { timeRel } from '../../kern/callout.js';
import { HHOOK_TCP_EST_IN, HHOOK_TCP_EST_OUT, type TcpHhookData } from '../tcp_hhook.js';
import { TF_NOOPT, type Tcpcb } from '../var.js';

/** ertt flags (h_ertt.h). */
export const ERTT_NEW_MEASUREMENT = 0x01;
export const ERTT_MEASUREMENT_IN_PROGRESS = 0x02;
export const ERTT_TSO_DISABLED = 0x04;

/** Smoothing of the delayed-ACK guess (DLYACK_SMOOTH). */
const DLYACK_SMOOTH = 5;
/** Timestamp errors after which timestamps are no longer trusted (MAX_TS_ERR). */
const MAX_TS_ERR = 10;

/* txseginfo flags */
const TXSI_TSO = 0x01;
const TXSI_RTT_MEASURE_START = 0x02;

/* marked_packet_rtt modes */
const MULTI_ACK = 0x01;
const OLD_TXSI = 0x02;
const CORRECT_ACK = 0x04;
const FORCED_MEASUREMENT = 0x08;

/** struct ertt: a connection's measurements (read by the delay-based algorithms). */
export class Ertt {
  /** The last RTT, the smallest and largest seen (µs; 0: none yet). */
  rtt = 0;
  minrtt = 0;
  maxrtt = 0;
  /** The marked segment's RTT, the bytes sent in it, and cwnd when it was measured. */
  markedpkt_rtt = 0;
  bytes_tx_in_marked_rtt = 0;
  marked_snd_cwnd = 0;
  bytes_tx_in_rtt = 0;
  flags = 0;
  dlyack_rx = 0;
  timestamp_errors = 0;
  /* The queue of timed segments (txsegi_q), a ring. */
  head = 0;
  count = 0;
  seq = new Uint32Array(16);
  len = new Int32Array(16);
  txFlags = new Uint8Array(16);
  /** Send time, µs. */
  txTime = new Float64Array(16);
  /** The TSval and TSecr the segment carried (0, 0 without timestamps). */
  txTs = new Uint32Array(16);
  rxTs = new Uint32Array(16);

  slot(i: number): number {
    return (this.head + i) & (this.seq.length - 1);
  }

  push(): number {
    if (this.count === this.seq.length) this.grow();
    const k = this.slot(this.count);
    this.count++;
    return k;
  }

  shift(): void {
    this.head = (this.head + 1) & (this.seq.length - 1);
    this.count--;
  }

  private grow(): void {
    const n = this.seq.length * 2;
    const seq = new Uint32Array(n);
    const len = new Int32Array(n);
    const fl = new Uint8Array(n);
    const tt = new Float64Array(n);
    const ts = new Uint32Array(n);
    const rs = new Uint32Array(n);
    for (let i = 0; i < this.count; i++) {
      const k = this.slot(i);
      seq[i] = this.seq[k]!;
      len[i] = this.len[k]!;
      fl[i] = this.txFlags[k]!;
      tt[i] = this.txTime[k]!;
      ts[i] = this.txTs[k]!;
      rs[i] = this.rxTs[k]!;
    }
    this.seq = seq;
    this.len = len;
    this.txFlags = fl;
    this.txTime = tt;
    this.txTs = ts;
    this.rxTs = rs;
    this.head = 0;
  }
}

const tsLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const tsGt = (a: number, b: number): boolean => ((a - b) | 0) > 0;

/** Scratch of one measurement pass (marked_packet_rtt's pointer arguments). */
const m = { measurenext: 0, measurenextLen: 0, rttBytesAdjust: 0 };

/** marked_packet_rtt: the marked segment's RTT, or the next one's when this one cannot be measured well. */
function markedPacketRtt(e: Ertt, k: number, cwnd: number, now: number, mflag: number): void {
  if ((mflag & (MULTI_ACK | OLD_TXSI)) !== 0) {
    m.measurenext = e.txTime[k]!;
    m.measurenextLen = e.len[k]!;
    m.rttBytesAdjust += m.measurenextLen;
    return;
  }
  if ((mflag & FORCED_MEASUREMENT) !== 0) {
    e.markedpkt_rtt = Math.max(1, now - m.measurenext);
    e.bytes_tx_in_marked_rtt = e.bytes_tx_in_rtt + m.measurenextLen - m.rttBytesAdjust;
  } else {
    e.markedpkt_rtt = Math.max(1, now - e.txTime[k]!);
    e.bytes_tx_in_marked_rtt = e.bytes_tx_in_rtt - m.rttBytesAdjust;
  }
  e.marked_snd_cwnd = cwnd;
  e.flags &= ~ERTT_MEASUREMENT_IN_PROGRESS;
  e.flags |= ERTT_NEW_MEASUREMENT;
}

/** ertt_packet_measurement_hook (HHOOK_TCP_EST_IN). */
function packetMeasurement(now: number, d: TcpHhookData, e: Ertt): void {
  const tp = d.tp;
  const acked = (d.th_ack - tp.snd_una) | 0;
  if (acked <= 0) return;
  const ack = d.th_ack;
  m.measurenext = 0;
  m.measurenextLen = 0;
  m.rttBytesAdjust = 0;
  let multiack = false;
  let k = -1;
  while (e.count > 0) {
    k = e.slot(0);
    const flags = e.txFlags[k]!;
    const marked = (flags & TXSI_RTT_MEASURE_START) !== 0 || m.measurenext !== 0;
    // The ACK covers more than this segment.
    if (seqGt(ack, (e.seq[k]! + e.len[k]!) >>> 0)) {
      if (marked) markedPacketRtt(e, k, tp.snd_cwnd, now, MULTI_ACK);
      e.shift();
      k = -1;
      continue;
    }
    // Guess whether the receiver delays ACKs (h_ertt.c: "a simple heuristic").
    if (acked > tp.t_maxseg || acked > e.len[k]!) {
      if (e.dlyack_rx < DLYACK_SMOOTH) e.dlyack_rx++;
      multiack = true;
    } else if ((acked === tp.t_maxseg || acked === e.len[k]!) && e.dlyack_rx > 0) {
      e.dlyack_rx--;
    }
    // Timestamps only match the ACK to the segment.
    if (e.timestamp_errors < MAX_TS_ERR && (d.to_flags & TOF_TS) !== 0 && d.to_tsecr !== 0 && e.txTs[k] !== 0) {
      const rts = d.to_tsecr;
      if (e.dlyack_rx === 0 && tsLt(rts, e.txTs[k]!)) break;
      if (tsGt(rts, e.txTs[k]!)) {
        // Echoes a later segment: this one is old.
        if (marked) markedPacketRtt(e, k, tp.snd_cwnd, now, OLD_TXSI);
        e.shift();
        k = -1;
        continue;
      }
      if (rts === e.txTs[k] && tsLt(d.to_tsval, e.rxTs[k]!)) e.timestamp_errors++;
    }
    if (seqLeq(ack, e.seq[k]!)) break;
    // A single delayed-ACKed segment would overstate the RTT: measure only otherwise.
    if (e.dlyack_rx === 0 || multiack) {
      e.rtt = Math.max(1, now - e.txTime[k]!);
      if (e.rtt < e.minrtt || e.minrtt === 0) e.minrtt = e.rtt;
      if (e.rtt > e.maxrtt || e.maxrtt === 0) e.maxrtt = e.rtt;
    }
    if ((flags & TXSI_RTT_MEASURE_START) !== 0 || m.measurenext !== 0)
      markedPacketRtt(e, k, tp.snd_cwnd, now, CORRECT_ACK);
    if ((flags & TXSI_TSO) !== 0 && e.len[k]! - acked > 0) {
      e.len[k] = e.len[k]! - acked;
      e.seq[k] = (e.seq[k]! + acked) >>> 0;
      e.txFlags[k] = flags & ~TXSI_RTT_MEASURE_START;
      break;
    }
    e.shift();
    break;
  }
  if (m.measurenext !== 0) markedPacketRtt(e, k, tp.snd_cwnd, now, FORCED_MEASUREMENT);
}

/** ertt_add_tx_segment_info_hook (HHOOK_TCP_EST_OUT). */
function addTxSegmentInfo(now: number, d: TcpHhookData, e: Ertt): void {
  if (d.len <= 0) return;
  const tp = d.tp;
  // A retransmission of data already timed: FreeBSD queues it too; the older entry is
  // dropped when the ACK passes it.
  const k = e.push();
  let flags = d.tso ? TXSI_TSO : 0;
  e.seq[k] = d.th_seq;
  e.len[k] = d.len;
  if ((e.flags & ERTT_MEASUREMENT_IN_PROGRESS) !== 0) {
    e.bytes_tx_in_rtt += d.len;
  } else {
    flags |= TXSI_RTT_MEASURE_START;
    e.flags |= ERTT_MEASUREMENT_IN_PROGRESS;
    e.bytes_tx_in_rtt = d.len;
  }
  e.txFlags[k] = flags;
  e.txTime[k] = now;
  const ts = (tp.t_flags & TF_NOOPT) === 0 && (d.to_flags & TOF_TS) !== 0;
  e.txTs[k] = ts ? d.to_tsval : 0;
  e.rxTs[k] = ts ? d.to_tsecr : 0;
}

/** struct ertt's numbers, as a connection export carries them. */
const ERTT_NUMS = [
  'rtt',
  'minrtt',
  'maxrtt',
  'markedpkt_rtt',
  'bytes_tx_in_marked_rtt',
  'marked_snd_cwnd',
  'bytes_tx_in_rtt',
  'flags',
  'dlyack_rx',
  'timestamp_errors',
] as const;
/** The queue's columns, oldest entry first. */
const ERTT_QUEUE = ['seq', 'len', 'txFlags', 'txTime', 'txTs', 'rxTs'] as const;

/** The data for a connection handoff: the queue unrolled from its ring, send times relative to `now`. */
function erttExport(e: Ertt, now: number): HelperExport {
  const nums: Record<string, number> = { count: e.count };
  for (const k of ERTT_NUMS) nums[k] = e[k];
  const bufs: Record<string, ArrayBuffer> = {};
  for (const c of ERTT_QUEUE) {
    const src = e[c];
    const out = new (src.constructor as Float64ArrayConstructor)(e.count);
    for (let i = 0; i < e.count; i++) {
      const v = src[e.slot(i)]!;
      out[i] = c === 'txTime' ? timeRel(v, now) : v;
    }
    bufs[c] = out.buffer as ArrayBuffer;
  }
  return { nums, bufs };
}

/**
 * The inverse of erttExport on this engine's clock, the ring sized to a power of two as
 * grow() keeps it; undefined when `x` is not an export of it.
 */
function erttImport(x: HelperExport, now: number): Ertt | undefined {
  const count = x.nums.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) return undefined;
  if (!ERTT_NUMS.every((k) => typeof x.nums[k] === 'number')) return undefined;
  const e = new Ertt();
  for (const c of ERTT_QUEUE) {
    const b = x.bufs[c];
    if (!(b instanceof ArrayBuffer) || b.byteLength !== count * e[c].BYTES_PER_ELEMENT) return undefined;
  }
  for (const k of ERTT_NUMS) e[k] = x.nums[k] ?? 0;
  let cap = e.seq.length;
  while (cap < count) cap *= 2;
  for (const c of ERTT_QUEUE) {
    const Ctor = e[c].constructor as Float64ArrayConstructor;
    const a = new Ctor(cap);
    const buf = x.bufs[c];
    if (buf !== undefined) a.set(new Ctor(buf));
    if (c === 'txTime') for (let i = 0; i < count; i++) a[i]! += now;
    (e as unknown as Record<string, Float64Array>)[c] = a;
  }
  e.head = 0;
  e.count = count;
  return e;
}

/** The helper (struct helper ertt_helper with its two hookinfos). */
export const erttHelper: Helper<Ertt> = {
  name: 'ertt',
  flags: HELPER_NEEDS_OSD,
  classes: HELPER_CLASS_TCP,
  id: 0,
  ctor: () => new Ertt(),
  dexport: erttExport,
  dimport: erttImport,
  hooks: [
    {
      hook_type: HHOOK_TYPE_TCP,
      hook_id: HHOOK_TCP_EST_IN,
      hook_func: (_t, _i, _u, ctx, hdata, _o: Osd) => {
        packetMeasurement(ctx.now, ctx, hdata as Ertt);
        return 0;
      },
    },
    {
      hook_type: HHOOK_TYPE_TCP,
      hook_id: HHOOK_TCP_EST_OUT,
      hook_func: (_t, _i, _u, ctx, hdata, _o: Osd) => {
        addTxSegmentInfo(ctx.now, ctx, hdata as Ertt);
        return 0;
      },
    },
  ],
};

/** A connection's h_ertt data, undefined when h_ertt is not loaded or the connection predates it. */
export function erttOf(tp: Tcpcb): Ertt | undefined {
  return khelpGetOsd(tp.osd, erttHelper.id) as Ertt | undefined;
}

export const hErttModule = khelpModule('h_ertt', 'Enhanced round trip time (ERTT) helper', erttHelper);
