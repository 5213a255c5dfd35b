/**
 * Moving a live TCP connection between engines: its full state — the tcpcb's numbers
 * (sequence space, windows, RTT estimator, congestion state and the CC module's
 * variables, negotiated options in t_flags, scales and timestamps), the timers as
 * remaining times, the SACK scoreboard and the receiver's SACK blocks, the reassembly
 * queue, both socket buffers' contents, the socket options and the pcb's addresses —
 * as a plain object of numbers and ArrayBuffers that can cross threads by postMessage
 * (transfer `exportTransferList(x)`), and the import that lets the connection continue
 * in another engine with the same addresses (a worker taking over an RSS bucket, and
 * later the TOE worker). Neither side sends anything: the peer sees no change.
 *
 * Clocks: absolute times in the tcpcb are sent relative to the exporter's clock and
 * rebased on the importer's; ts_offset is shifted by the difference of the two TCP
 * timestamp clocks so the TSvals the peer sees stay monotonic (RFC 7323 §5.4 PAWS).
 */
import { ERRNO } from '../kern/errno.js';
import { AF_INET6, SS_NOFDREF, type Socket } from '../kern/uipc_socket.js';
import type { Sockbuf } from '../kern/sockbuf.js';
import { inpWlock, inpWunlock, inpWlockAssert, INP_IPV6PROTO } from '../netinet/in_pcb.js';
import { type Tcp, tcpTsGetticks } from './subr.js';
import { type Tcpcb, TCPS_LISTEN, TCPS_CLOSED, TCPS_SYN_SENT, TCPS_TIME_WAIT, TT_N, TCPCB_NUM_FIELDS } from './var.js';
import { setState } from './fsm.js';
import { tcpTimerSchedule, tcpTimerStopAll, timerRemaining } from './timer.js';
import type { CcAlgo } from './cc/cc.js';

export const TCP_EXPORT_VERSION = 1;

/** tcpcb fields holding absolute engine times (µs), rebased on import. */
const TCPCB_TIMES = ['t_rcvtime', 't_starttime', 't_sndtime', 'ts_recent_age'] as const;
/** Absolute times where 0 means "not running" (t_rtttime: no RTT sample being timed). */
const TCPCB_TIMES_OR_ZERO = ['t_rtttime', 't_badrxtwin'] as const;
/** Fields restored by their own rules, not copied. */
const TCPCB_SPECIAL = new Set<string>(['t_state', 'ts_offset', 'rcv_numsacks', ...TCPCB_TIMES, ...TCPCB_TIMES_OR_ZERO]);

/** A copy of ccv with the algorithm's absolute times moved by `by` (to relative on export, back on import). */
function ccvShift(cc: CcAlgo, vars: Record<string, number>, by: number): Record<string, number> {
  const out = { ...vars };
  for (const k of cc.ccv_times ?? []) {
    const v = out[k];
    if (typeof v === 'number') out[k] = v + by;
  }
  return out;
}

export interface SockbufExport {
  hiwat: number;
  lowat: number;
  state: number;
  /** The bytes held (send: from snd_una on; receive: not yet read). */
  data: ArrayBuffer;
}

export interface ReassSegExport {
  seq: number;
  len: number;
  fin: boolean;
  data: ArrayBuffer;
}

export interface TcpExport {
  version: number;
  domain: 'inet' | 'inet6';
  pcb: {
    vflag: number;
    flags: number;
    /** 16-byte in_conninfo form (IPv4 v4-mapped). */
    laddr: ArrayBuffer;
    faddr: ArrayBuffer;
    lport: number;
    fport: number;
    tos: number;
    ttl: number;
    flowid: number;
    flowtype: number;
  };
  socket: { options: number; state: number; error: number; linger: number; snd: SockbufExport; rcv: SockbufExport };
  /** t_state and t_flags (the options negotiated: TF_RCVD_SCALE, TF_RCVD_TSTMP, TF_SACK_PERMIT, ...). */
  state: number;
  /** Every other number (and boolean) of struct tcpcb by name; times relative to export. */
  tcpcb: Record<string, number | boolean>;
  cc: { name: string; vars: Record<string, number> };
  /** Receiver SACK blocks (pairs) and how many are valid. */
  sackblks: ArrayBuffer;
  rcv_numsacks: number;
  /** The sender's scoreboard: holes [start, end) with their retransmit points. */
  scoreboard: {
    start: ArrayBuffer;
    end: ArrayBuffer;
    rxmit: ArrayBuffer;
    nholes: number;
    snd_fack: number;
    sacked_bytes: number;
    sack_bytes_rexmit: number;
    nexthole: number;
  };
  reass: ReassSegExport[];
  /** Remaining µs per timer (TT_DELACK, TT_REXMT, TT_PERSIST, TT_KEEP, TT_2MSL), null when stopped. */
  timers: (number | null)[];
  /** The exporter's TCP timestamp clock (ms) at export. */
  tsClock: number;
}

/** The ArrayBuffers of an export, to pass as postMessage's transfer list. */
export function exportTransferList(x: TcpExport): ArrayBuffer[] {
  const s = x.scoreboard;
  return [
    x.pcb.laddr,
    x.pcb.faddr,
    x.socket.snd.data,
    x.socket.rcv.data,
    x.sackblks,
    s.start,
    s.end,
    s.rxmit,
    ...x.reass.map((r) => r.data),
  ];
}

function copyBuffer(a: Uint8Array | Uint32Array, n = a.length): ArrayBuffer {
  const c = a.slice(0, n);
  return c.buffer as ArrayBuffer;
}

function sbExport(sb: Sockbuf): SockbufExport {
  const data = new Uint8Array(sb.sb_cc);
  sb.copyOut(0, data, 0, sb.sb_cc);
  return { hiwat: sb.sb_hiwat, lowat: sb.sb_lowat, state: sb.sb_state, data: data.buffer };
}

function sbImport(sb: Sockbuf, x: SockbufExport): void {
  sb.drop(sb.sb_cc);
  sb.reserve(x.hiwat);
  sb.sb_lowat = x.lowat;
  sb.sb_state = x.state;
  const d = new Uint8Array(x.data);
  sb.append(d, 0, d.length, true);
}

/**
 * Serialise the connection of socket `so` and take it out of this engine without a
 * word to the peer: timers stopped, pcb out of every table, the tcpcb gone, the
 * socket left without a protocol (the caller closes its descriptor). Returns -errno
 * when there is no connection to move (EINVAL for listeners and closed sockets).
 */
export function tcpExport(tcp: Tcp, so: Socket): TcpExport | number {
  const inp = so.so_pcb;
  const tp = inp?.inp_ppcb ?? null;
  if (inp === null || tp === null) return -ERRNO.ECONNRESET;
  if (so.listening || tp.t_state === TCPS_LISTEN || tp.t_state === TCPS_CLOSED) return -ERRNO.EINVAL;
  inpWlock(inp);
  const now = tcp.now();
  const nums: Record<string, number | boolean> = {};
  const rec = tp as unknown as Record<string, unknown>;
  for (const k of TCPCB_NUM_FIELDS) {
    const v = rec[k];
    if (typeof v === 'number' && !TCPCB_SPECIAL.has(k)) nums[k] = v;
  }
  for (const k of TCPCB_TIMES) nums[k] = tp[k] - now;
  for (const k of TCPCB_TIMES_OR_ZERO) nums[k] = tp[k] === 0 ? 0 : tp[k] - now;
  nums.ts_offset = tp.ts_offset;
  const sb = tp.sack;
  const x: TcpExport = {
    version: TCP_EXPORT_VERSION,
    domain: so.domain === AF_INET6 ? 'inet6' : 'inet',
    pcb: {
      vflag: inp.inp_vflag,
      flags: inp.inp_flags,
      laddr: copyBuffer(inp.inp_laddr),
      faddr: copyBuffer(inp.inp_faddr),
      lport: inp.inp_lport,
      fport: inp.inp_fport,
      tos: inp.inp_ip_tos,
      ttl: inp.inp_ip_ttl,
      flowid: inp.inp_flowid,
      flowtype: inp.inp_flowtype,
    },
    socket: {
      options: so.so_options,
      state: so.so_state,
      error: so.so_error,
      linger: so.so_linger,
      snd: sbExport(so.so_snd),
      rcv: sbExport(so.so_rcv),
    },
    state: tp.t_state,
    tcpcb: nums,
    cc: { name: tp.cc.name, vars: ccvShift(tp.cc, tp.ccv, -now) },
    sackblks: copyBuffer(tp.sackblks),
    rcv_numsacks: tp.rcv_numsacks,
    scoreboard: {
      start: copyBuffer(sb.start, sb.nholes),
      end: copyBuffer(sb.end, sb.nholes),
      rxmit: copyBuffer(sb.rxmit, sb.nholes),
      nholes: sb.nholes,
      snd_fack: sb.snd_fack,
      sacked_bytes: sb.sacked_bytes,
      sack_bytes_rexmit: sb.sack_bytes_rexmit,
      nexthole: sb.nexthole,
    },
    reass: tp.reass.segs.map((r) => ({ seq: r.seq, len: r.len, fin: r.fin, data: copyBuffer(r.data) })),
    timers: Array.from({ length: TT_N }, (_, i) => timerRemaining(tp, i, now)),
    tsClock: tcpTsGetticks(tcp),
  };
  detach(tcp, tp, so);
  inpWunlock(inp);
  return x;
}

/** The connection leaves this engine quietly (tcp_close without the close: no RST, no FIN, no host cache update). */
function detach(tcp: Tcp, tp: Tcpcb, so: Socket): void {
  const inp = tp.inp;
  inpWlockAssert(inp);
  tcpTimerStopAll(tcp, tp);
  tp.reass.flush();
  tp.cc.cb_destroy?.(tp);
  if (tcp.tcbs.delete(tp)) {
    tcp.stat.tcps_states[tp.t_state]!--;
    tcp.tcbZone.free();
  }
  tcp.pcbinfo.remove(inp);
  inp.inp_ppcb = null;
  inp.inp_socket = null;
  so.so_pcb = null;
  so.layer.sofree(so);
}

/**
 * Install an exported connection on `so`, a stream socket just made in this engine
 * (same family, never bound). Checks everything before changing anything: EINVAL
 * for a bad export or socket, ENOENT for a congestion-control module this engine
 * lacks, EADDRNOTAVAIL when the local address is not ours, EADDRINUSE when the
 * 4-tuple is taken. Returns 0; the connection runs on from its timers and the next
 * segment.
 */
export function tcpImport(tcp: Tcp, so: Socket, x: TcpExport): number {
  const inp = so.so_pcb;
  const tp = inp?.inp_ppcb ?? null;
  if (inp === null || tp === null || tp.t_state !== TCPS_CLOSED || inp.inp_lport !== 0) return -ERRNO.EINVAL;
  if (x.version !== TCP_EXPORT_VERSION || (x.domain === 'inet6') !== (so.domain === AF_INET6)) return -ERRNO.EINVAL;
  // An IPv6 socket's pcb (INP_IPV6PROTO, possibly dual-stack) goes only to an IPv6 socket.
  if (((x.pcb.vflag & INP_IPV6PROTO) !== 0) !== (so.domain === AF_INET6)) return -ERRNO.EINVAL;
  if (x.state < TCPS_SYN_SENT || x.state > TCPS_TIME_WAIT) return -ERRNO.EINVAL;
  if (x.pcb.laddr.byteLength !== 16 || x.pcb.faddr.byteLength !== 16 || x.timers.length !== TT_N) return -ERRNO.EINVAL;
  const cc = tcp.cc.get(x.cc.name);
  if (cc === undefined) return -ERRNO.ENOENT;
  const laddr = new Uint8Array(x.pcb.laddr);
  const faddr = new Uint8Array(x.pcb.faddr);
  const v4 = laddr[10] === 0xff && laddr[11] === 0xff && laddr.subarray(0, 10).every((b) => b === 0);
  if (tcp.net !== null && !tcp.net.isLocal(v4, laddr)) return -ERRNO.EADDRNOTAVAIL;
  if (tcp.pcbinfo.tupleInUse(laddr, x.pcb.lport, faddr, x.pcb.fport)) return -ERRNO.EADDRINUSE;

  inpWlock(inp);
  const now = tcp.now();
  // The pcb: addresses, then the reservation (port hash) and the group table.
  inp.inp_vflag = x.pcb.vflag;
  inp.inp_flags = x.pcb.flags;
  inp.setLaddr(laddr);
  inp.setFaddr(faddr);
  inp.inp_lport = x.pcb.lport;
  inp.inp_fport = x.pcb.fport;
  inp.inp_ip_tos = x.pcb.tos;
  inp.inp_ip_ttl = x.pcb.ttl;
  inp.inp_flowid = x.pcb.flowid;
  inp.inp_flowtype = x.pcb.flowtype;
  tcp.pcbinfo.insPort(inp);
  tcp.pcbinfo.insHash(inp);

  // The tcpcb.
  const rec = tp as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(x.tcpcb)) {
    if (!TCPCB_SPECIAL.has(k) && typeof rec[k] === typeof v) rec[k] = v;
  }
  for (const k of TCPCB_TIMES) tp[k] = now + (x.tcpcb[k] as number);
  for (const k of TCPCB_TIMES_OR_ZERO) {
    const d = x.tcpcb[k] as number;
    tp[k] = d === 0 ? 0 : Math.max(1, now + d);
  }
  // TSval = tsNow() + ts_offset continues where the exporter left it.
  tp.ts_offset = ((x.tcpcb.ts_offset as number) + x.tsClock - tcpTsGetticks(tcp)) >>> 0;
  if (cc !== tp.cc) {
    tp.cc.cb_destroy?.(tp);
    tp.cc = cc;
  }
  tp.ccv = ccvShift(cc, x.cc.vars, now);
  const blks = tp.sackBlocks();
  blks.set(new Uint32Array(x.sackblks).subarray(0, blks.length));
  tp.rcv_numsacks = x.rcv_numsacks;
  const s = x.scoreboard;
  const sb = tp.sack;
  const cap = Math.max(sb.start.length, s.nholes);
  for (const [name, buf] of [
    ['start', s.start],
    ['end', s.end],
    ['rxmit', s.rxmit],
  ] as const) {
    const a = new Uint32Array(cap);
    a.set(new Uint32Array(buf));
    sb[name] = a;
  }
  sb.nholes = s.nholes;
  sb.snd_fack = s.snd_fack;
  sb.sacked_bytes = s.sacked_bytes;
  sb.sack_bytes_rexmit = s.sack_bytes_rexmit;
  sb.nexthole = s.nexthole;
  tp.reass.flush();
  for (const r of x.reass) {
    const q = tp.reassQueue(tcp.reassZone);
    q.zone?.alloc(); // counted as the exporting engine's queue freed it
    q.segs.push({ seq: r.seq, len: r.len, fin: r.fin, data: new Uint8Array(r.data) });
    q.bytes += r.len;
  }
  for (let i = 0; i < x.timers.length; i++) {
    const left = x.timers[i];
    if (left !== null && left !== undefined) tp.tv[i] = now + Math.max(0, left);
  }
  tcpTimerSchedule(tcp, tp);
  setState(tcp.stat, tp, x.state);

  // The socket: options, state (it has a descriptor here), buffers.
  so.so_options = x.socket.options;
  so.so_state = x.socket.state & ~SS_NOFDREF;
  so.so_error = x.socket.error;
  so.so_linger = x.socket.linger;
  sbImport(so.so_snd, x.socket.snd);
  sbImport(so.so_rcv, x.socket.rcv);
  inpWunlock(inp);
  so.layer.wakeup(so);
  return 0;
}
