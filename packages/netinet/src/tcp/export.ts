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
 * Clocks: an export carries no engine's clock. Absolute times (the tcpcb's, the CC
 * module's ccv_times, h_ertt's send times) travel as µs relative to the export; the
 * timestamp clock's (rfbuf_ts) as ms relative to it; ts_offset as the TSval the
 * connection would send at the export, so the TSvals the peer sees go on from there
 * whatever the importer's clock (RFC 7323 §5.4 PAWS). The shape is documented in
 * docs/handoff.md.
 */
import { M_HASHTYPE_NONE } from '../net/mbuf.js';
import { ERRNO } from '../kern/errno.js';
import type { PfStateExport } from '../netpfil/pf/pf.js';
import { AF_INET6, SS_NOFDREF, type Socket } from '../kern/uipc_socket.js';
import type { Sockbuf } from '../kern/sockbuf.js';
import type { SockbufZone } from '../kern/sockbuf_zone.js';
import { inpWlock, inpWunlock, inpWlockAssert, INP_IPV6PROTO } from '../netinet/in_pcb.js';
import { type Tcp, tcpTsGetticks } from './subr.js';
import {
  type Tcpcb,
  TCPS_LISTEN,
  TCPS_CLOSED,
  TCPS_SYN_SENT,
  TCPS_TIME_WAIT,
  TF_SIGNATURE,
  TF_TOE,
  TT_N,
  TCPCB_NUM_FIELDS,
} from './var.js';
import { type Helper, type HelperExport, khelpDestroyOsd } from '../kern/khelp.js';
import { osdGet, osdSet } from '../kern/osd.js';
import { setState } from './fsm.js';
import { timeRel } from '../kern/callout.js';
import { tcpTimerSchedule, tcpTimerStopAll } from './timer.js';
import type { CcAlgo } from './cc/cc.js';
import { MAX_SACK_BLKS } from './sack.js';

export const TCP_EXPORT_VERSION = 2;

/** tcpcb fields holding absolute engine times (µs), rebased on import. */
const TCPCB_TIMES = ['t_rcvtime', 't_starttime', 't_sndtime', 'ts_recent_age'] as const;
/**
 * Absolute times where 0 means "not running" (t_rtttime: no RTT sample being timed;
 * t_challenge_ack_end: no ACK-war epoch yet).
 */
const TCPCB_TIMES_OR_ZERO = ['t_rtttime', 't_badrxtwin', 't_challenge_ack_end'] as const;
/** Times on the TCP timestamp clock (ms, tcp_ts_getticks), 0 for none: rebased like ts_offset. */
const TCPCB_TICKS_OR_ZERO = ['rfbuf_ts'] as const;
/** Fields restored by their own rules, not copied. */
const TCPCB_SPECIAL = new Set<string>([
  't_state',
  'ts_offset',
  'rcv_numsacks',
  ...TCPCB_TIMES,
  ...TCPCB_TIMES_OR_ZERO,
  ...TCPCB_TICKS_OR_ZERO,
]);

/** A copy of ccv with the algorithm's absolute times moved by `by` (to relative on export, back on import). */
function ccvShift(cc: CcAlgo, vars: Record<string, number>, by: number): Record<string, number> {
  const out = { ...vars };
  for (const k of cc.ccv_times ?? []) {
    const v = out[k];
    if (typeof v === 'number') out[k] = by < 0 ? timeRel(v, -by) : v + by;
  }
  return out;
}

export interface SockbufExport {
  hiwat: number;
  lowat: number;
  state: number;
  /** sb_flags: SB_AUTOSIZE (autotuning still allowed; SO_SNDBUF/SO_RCVBUF clear it). */
  flags: number;
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
  /** The flow's pf state (netpfil/pf), moved by Engine.exportConnection; absent or null when none. */
  pf?: PfStateExport | null;
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
    /** inp_inc.inc_fibnum: the connection keeps its FIB where it goes (EINVAL past the importer's net.fibs). */
    fib: number;
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
  /** The khelp helpers' data by helper name (h_ertt: the RTT measurements Vegas, HD, CHD and CDG read). */
  khelp: { name: string; data: HelperExport }[];
  /**
   * The exporter's net.inet.tcp.udp_tunneling_port when the connection runs over UDP
   * (tcpcb.t_port ≠ 0), else 0: the importer must send from the same port.
   */
  udpTunnelingPort: number;
  /** Remaining µs per timer (TT_DELACK, TT_REXMT, TT_PERSIST, TT_KEEP, TT_2MSL), null when stopped. */
  timers: (number | null)[];
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
    ...x.khelp.flatMap((h) => Object.values(h.data.bufs)),
  ];
}

function copyBuffer(a: Uint8Array | Uint32Array, n = a.length): ArrayBuffer {
  const c = a.slice(0, n);
  return c.buffer as ArrayBuffer;
}

function sbExport(sb: Sockbuf): SockbufExport {
  const data = new Uint8Array(sb.sb_cc);
  sb.copyOut(0, data, 0, sb.sb_cc);
  return { hiwat: sb.sb_hiwat, lowat: sb.sb_lowat, state: sb.sb_state, flags: sb.sb_flags, data: data.buffer };
}

function sbImport(sb: Sockbuf, x: SockbufExport, zone: SockbufZone): void {
  sb.drop(sb.sb_cc);
  sb.reserve(x.hiwat);
  sb.sb_lowat = x.lowat;
  sb.sb_state = x.state;
  sb.sb_flags = x.flags;
  const d = new Uint8Array(x.data);
  sb.append(d, 0, d.length, zone, true);
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
  // A helper whose data cannot travel keeps the connection here.
  for (const h of tcp.khelps)
    if (osdGet(tp.osd, h.id) !== undefined && h.dexport === undefined) return -ERRNO.EOPNOTSUPP;
  inpWlock(inp);
  const now = tcp.now();
  const ticks = tcpTsGetticks(tcp);
  const nums: Record<string, number | boolean> = {};
  const rec = tp as unknown as Record<string, unknown>;
  for (const k of TCPCB_NUM_FIELDS) {
    const v = rec[k];
    if (typeof v === 'number' && !TCPCB_SPECIAL.has(k)) nums[k] = v;
  }
  for (const k of TCPCB_TIMES) nums[k] = timeRel(tp[k], now);
  for (const k of TCPCB_TIMES_OR_ZERO) nums[k] = tp[k] === 0 ? 0 : timeRel(tp[k], now);
  for (const k of TCPCB_TICKS_OR_ZERO) nums[k] = tp[k] === 0 ? 0 : (tp[k] - ticks) | 0;
  // The TSval this connection sends now: the export holds no trace of the exporter's clock.
  nums.ts_offset = (ticks + tp.ts_offset) >>> 0;
  // Where it was offloaded is the exporter's business (tcpImport's opts.toe says for the importer).
  nums.t_flags = tp.t_flags & ~TF_TOE;
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
      fib: inp.inc_fibnum,
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
    khelp: [],
    udpTunnelingPort: tp.t_port !== 0 ? tcp.t.udp_tunneling_port : 0,
    timers: Array.from({ length: TT_N }, (_, i) => {
      const when = tp.tv[tp.tvo + i]!;
      return when === Infinity ? null : Math.max(0, timeRel(when, now));
    }),
  };
  for (const h of tcp.khelps) {
    const d = osdGet(tp.osd, h.id);
    if (d !== undefined && h.dexport !== undefined) x.khelp.push({ name: h.name, data: h.dexport(d, now) });
  }
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
  if (tp.osd.length > 0) khelpDestroyOsd(tcp.khelps, tp.osd);
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

const isNum = (v: unknown): v is number => typeof v === 'number';
const isBuf = (v: unknown, bytes?: number): v is ArrayBuffer =>
  v instanceof ArrayBuffer && (bytes === undefined || v.byteLength === bytes);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const sbOk = (b: unknown): boolean =>
  isRecord(b) && isNum(b.hiwat) && isNum(b.lowat) && isNum(b.state) && isNum(b.flags) && isBuf(b.data);

/** Is `x` an export of this version, every field of its type (it may come from another thread)? */
function wellFormed(x: TcpExport): boolean {
  const y = x as unknown as Record<string, unknown>;
  if (!isRecord(y) || y.version !== TCP_EXPORT_VERSION || (x.domain !== 'inet' && x.domain !== 'inet6')) return false;
  const { pcb, socket: so, cc, scoreboard: sb } = x;
  if (!isRecord(pcb) || !isBuf(pcb.laddr, 16) || !isBuf(pcb.faddr, 16)) return false;
  if (![pcb.vflag, pcb.flags, pcb.lport, pcb.fport, pcb.tos, pcb.ttl, pcb.flowid, pcb.flowtype].every(isNum))
    return false;
  if (!isRecord(so) || !sbOk(so.snd) || !sbOk(so.rcv) || ![so.options, so.state, so.error, so.linger].every(isNum))
    return false;
  if (!isNum(x.state) || !isRecord(x.tcpcb) || !isRecord(cc) || typeof cc.name !== 'string' || !isRecord(cc.vars))
    return false;
  if (!Object.values(x.tcpcb).every((v) => isNum(v) || typeof v === 'boolean')) return false;
  if (
    !Object.values(cc.vars).every(isNum) ||
    !(isBuf(x.sackblks, 0) || isBuf(x.sackblks, 8 * MAX_SACK_BLKS)) ||
    !isNum(x.rcv_numsacks)
  )
    return false;
  if (!isRecord(sb) || !isNum(sb.nholes) || sb.nholes < 0) return false;
  if (![sb.start, sb.end, sb.rxmit].every((b) => isBuf(b, sb.nholes * 4))) return false;
  if (![sb.snd_fack, sb.sacked_bytes, sb.sack_bytes_rexmit, sb.nexthole].every(isNum)) return false;
  if (!Array.isArray(x.reass) || !x.reass.every((r) => isRecord(r) && isNum(r.seq) && isBuf(r.data, r.len)))
    return false;
  if (!Array.isArray(x.khelp) || !x.khelp.every((k) => isRecord(k) && typeof k.name === 'string' && isRecord(k.data)))
    return false;
  if (!x.khelp.every((k) => isRecord(k.data.nums) && isRecord(k.data.bufs))) return false;
  if (!isNum(x.udpTunnelingPort) || !Array.isArray(x.timers) || x.timers.length !== TT_N) return false;
  return x.timers.every((t) => t === null || isNum(t));
}

export interface TcpImportOptions {
  /** The importer is a TOE card: the connection is offloaded here (TF_TOE; netstat shows toe4/toe6). */
  toe?: boolean;
}

/**
 * Install an exported connection on `so`, a stream socket just made in this engine
 * (same family, never bound). Checks everything before changing anything: EINVAL
 * for a bad export or socket or a flow whose RSS bucket is another group's, ENOENT for a congestion-control module, khelp helper or
 * TCP-MD5 SA this engine lacks, EADDRNOTAVAIL when the local address is not ours,
 * EADDRINUSE when the 4-tuple is taken, ENOBUFS when the reassembly zone cannot take the
 * out-of-order segments. Returns 0; the connection runs on from its timers and the
 * next segment.
 */
export function tcpImport(tcp: Tcp, so: Socket, x: TcpExport, opts: TcpImportOptions = {}): number {
  const inp = so.so_pcb;
  const tp = inp?.inp_ppcb ?? null;
  if (inp === null || tp === null || tp.t_state !== TCPS_CLOSED || inp.inp_lport !== 0) return -ERRNO.EINVAL;
  if (!wellFormed(x) || (x.domain === 'inet6') !== (so.domain === AF_INET6)) return -ERRNO.EINVAL;
  // An IPv6 socket's pcb (INP_IPV6PROTO, possibly dual-stack) goes only to an IPv6 socket.
  if (((x.pcb.vflag & INP_IPV6PROTO) !== 0) !== (so.domain === AF_INET6)) return -ERRNO.EINVAL;
  if (x.state < TCPS_SYN_SENT || x.state > TCPS_TIME_WAIT) return -ERRNO.EINVAL;
  if (!Number.isInteger(x.pcb.fib) || x.pcb.fib < 0 || x.pcb.fib >= (so.layer.defaults.numfibs?.() ?? 1))
    return -ERRNO.EINVAL;
  const cc = tcp.cc.get(x.cc.name);
  if (cc === undefined) return -ERRNO.ENOENT;
  const laddr = new Uint8Array(x.pcb.laddr);
  const faddr = new Uint8Array(x.pcb.faddr);
  const v4 = laddr[10] === 0xff && laddr[11] === 0xff && laddr.subarray(0, 10).every((b) => b === 0);
  if (tcp.net !== null && !tcp.net.isLocal(v4, laddr)) return -ERRNO.EADDRNOTAVAIL;
  if (tcp.pcbinfo.tupleInUse(laddr, x.pcb.lport, faddr, x.pcb.fport)) return -ERRNO.EADDRINUSE;
  // A flow RSS has hashed goes only to the group owning its bucket (in_pcbgroup.c): frames
  // for it never reach another group's worker.
  if (x.pcb.flowtype !== M_HASHTYPE_NONE && !tcp.pcbinfo.group.pcbgroup.owns(x.pcb.flowid)) return -ERRNO.EINVAL;
  // TCP-MD5 moves by reference: the SAs (setkey) must be in this engine's database both
  // ways, or every segment would fail to sign (tcp_ipsec_output's ENOENT) or verify.
  if (((x.tcpcb.t_flags as number) & TF_SIGNATURE) !== 0) {
    const off = v4 ? 12 : 0;
    const alen = v4 ? 4 : 16;
    if (
      tcp.keydb.lookup(laddr, off, faddr, off, alen) === null ||
      tcp.keydb.lookup(faddr, off, laddr, off, alen) === null
    )
      return -ERRNO.ENOENT;
  }
  // TCP over UDP: the peer knows the tunnel by its source port.
  if ((x.tcpcb.t_port as number) !== 0 && x.udpTunnelingPort !== tcp.t.udp_tunneling_port) return -ERRNO.EINVAL;
  const helpers: Helper[] = [];
  for (const k of x.khelp) {
    const h = tcp.khelps.find((a) => a.name === k.name);
    if (h?.dimport === undefined) return -ERRNO.ENOENT;
    helpers.push(h);
  }
  const now = tcp.now();
  // Each helper rebuilds its data (undefined: not its shape).
  const hdata: unknown[] = [];
  for (let i = 0; i < helpers.length; i++) {
    const d = helpers[i]!.dimport?.(x.khelp[i]!.data, now);
    if (d === undefined) {
      for (let j = 0; j < i; j++) helpers[j]!.dtor?.(hdata[j]);
      return -ERRNO.EINVAL;
    }
    hdata.push(d);
  }
  // The out-of-order segments take reassembly entries here (tcp_reass_zone); the exporter
  // gave its own back. A zone at its limit keeps the connection where it is.
  const rz = tcp.reassZone;
  if (rz !== null) {
    for (let i = 0; i < x.reass.length; i++) {
      if (rz.alloc()) continue;
      for (let j = 0; j < i; j++) rz.free();
      for (let j = 0; j < helpers.length; j++) helpers[j]!.dtor?.(hdata[j]);
      return -ERRNO.ENOBUFS;
    }
  }

  inpWlock(inp);
  // The pcb: addresses, then the reservation (port hash) and the group table.
  inp.inp_vflag = x.pcb.vflag;
  inp.inp_flags = x.pcb.flags;
  inp.setLaddr(laddr);
  inp.setFaddr(faddr);
  inp.inp_lport = x.pcb.lport;
  inp.inp_fport = x.pcb.fport;
  inp.inp_ip_tos = x.pcb.tos;
  inp.inc_fibnum = so.so_fibnum = x.pcb.fib;
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
  // Offload is where the connection lives, not what it negotiated: the importer says.
  tp.t_flags = opts.toe === true ? tp.t_flags | TF_TOE : tp.t_flags & ~TF_TOE;
  for (const k of TCPCB_TIMES) tp[k] = now + (x.tcpcb[k] as number);
  for (const k of TCPCB_TIMES_OR_ZERO) {
    const d = x.tcpcb[k] as number;
    tp[k] = d === 0 ? 0 : Math.max(1, now + d);
  }
  // TSval = tsNow() + ts_offset continues where the exporter left it.
  const ticks = tcpTsGetticks(tcp);
  tp.ts_offset = ((x.tcpcb.ts_offset as number) - ticks) >>> 0;
  for (const k of TCPCB_TICKS_OR_ZERO) {
    const d = x.tcpcb[k] as number;
    // 0 means "not measuring": a start that falls on tick 0 here is kept as 2^32, the
    // same tick modulo 2^32 (every use subtracts it with >>> 0), so a round trip is exact.
    tp[k] = d === 0 ? 0 : (ticks + d) >>> 0 || 0x100000000;
  }
  // The helpers' data is the exporter's: none where the connection had none.
  if (tp.osd.length > 0) khelpDestroyOsd(tcp.khelps, tp.osd);
  for (let i = 0; i < helpers.length; i++) osdSet(tp.osd, helpers[i]!.id, hdata[i]);
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
    const q = tp.reassQueue(tcp.reassZone); // its zone entries were taken above
    q.segs.push({ seq: r.seq, len: r.len, fin: r.fin, data: new Uint8Array(r.data) });
    q.bytes += r.len;
  }
  for (let i = 0; i < x.timers.length; i++) {
    const left = x.timers[i];
    if (left !== null && left !== undefined) tp.tv[tp.tvo + i] = now + Math.max(0, left);
  }
  tcpTimerSchedule(tcp, tp);
  setState(tcp.stat, tp, x.state);

  // The socket: options, state (it has a descriptor here), buffers.
  so.so_options = x.socket.options;
  so.so_state = x.socket.state & ~SS_NOFDREF;
  so.so_error = x.socket.error;
  so.so_linger = x.socket.linger;
  sbImport(so.so_snd, x.socket.snd, so.layer.sbzone);
  sbImport(so.so_rcv, x.socket.rcv, so.layer.sbzone);
  inpWunlock(inp);
  so.layer.wakeup(so);
  return 0;
}
