/**
 * TCP's helper hook points (FreeBSD tcp_var.h HHOOK_TCP_EST_IN/OUT and struct
 * tcp_hhook_data, tcp_input.c hhook_run_tcp_est_in, tcp_output.c hhook_run_tcp_est_out):
 * one reused context per engine, so running the hooks allocates nothing. The callers test
 * the head's nhooks first.
 */
import { HHOOK_TYPE_TCP, HhookHead } from '../kern/hhook.js';
import type { Tcpcb } from './var.js';
import type { Tcp } from './subr.js';

export const HHOOK_TCP_EST_IN = 0;
export const HHOOK_TCP_EST_OUT = 1;

/** struct tcp_hhook_data, with the fields of th and to the helpers read. */
export interface TcpHhookData {
  tp: Tcpcb;
  /** The engine's clock, µs (FreeBSD's hooks read `ticks`). */
  now: number;
  th_seq: number;
  th_ack: number;
  th_flags: number;
  /** TOF_TS when the segment carries a timestamp option. */
  to_flags: number;
  to_tsval: number;
  to_tsecr: number;
  /** Payload length (outbound). */
  len: number;
  /** TSO was used (outbound). */
  tso: number;
}

/** The heads of one engine (V_tcp_hhh) and the context they are run with. */
export function newTcpHhooks(): { heads: HhookHead<TcpHhookData>[]; data: TcpHhookData } {
  return {
    heads: [new HhookHead(HHOOK_TYPE_TCP, HHOOK_TCP_EST_IN), new HhookHead(HHOOK_TYPE_TCP, HHOOK_TCP_EST_OUT)],
    data: {
      tp: null as unknown as Tcpcb,
      now: 0,
      th_seq: 0,
      th_ack: 0,
      th_flags: 0,
      to_flags: 0,
      to_tsval: 0,
      to_tsecr: 0,
      len: 0,
      tso: 0,
    },
  };
}

/** The context of one segment: its fields into the engine's reused record. */
function fill(
  tcp: Tcp,
  tp: Tcpcb,
  seq: number,
  ack: number,
  flags: number,
  toFlags: number,
  tsval: number,
  tsecr: number,
  len: number,
  tso: number,
): TcpHhookData {
  const d = tcp.hhooks.data;
  d.tp = tp;
  d.now = tcp.now();
  d.th_seq = seq;
  d.th_ack = ack;
  d.th_flags = flags;
  d.to_flags = toFlags;
  d.to_tsval = tsval;
  d.to_tsecr = tsecr;
  d.len = len;
  d.tso = tso;
  return d;
}

/** hhook_run_tcp_est_in: an ACK on a synchronized connection, before the ACK is processed. */
export function hhookRunTcpEstIn(
  tcp: Tcp,
  tp: Tcpcb,
  seq: number,
  ack: number,
  flags: number,
  toFlags: number,
  tsval: number,
  tsecr: number,
): void {
  const d = fill(tcp, tp, seq, ack, flags, toFlags, tsval, tsecr, 0, 0);
  tcp.hhooks.heads[HHOOK_TCP_EST_IN]!.run(d, tp.osd);
}

/** hhook_run_tcp_est_out: a segment built by tcp_output, before it is sent. */
export function hhookRunTcpEstOut(
  tcp: Tcp,
  tp: Tcpcb,
  seq: number,
  flags: number,
  toFlags: number,
  tsval: number,
  tsecr: number,
  len: number,
  tso: number,
): void {
  const d = fill(tcp, tp, seq, 0, flags, toFlags, tsval, tsecr, len, tso);
  tcp.hhooks.heads[HHOOK_TCP_EST_OUT]!.run(d, tp.osd);
}
