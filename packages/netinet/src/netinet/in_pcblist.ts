/**
 * The pcb list sysctls (FreeBSD tcp_pcblist / udp_pcblist, the xinpgen/xtcpcb records
 * netstat reads) as plain records, listable in chunks while connections come and go.
 *
 * Consistency by generation counts, as the kernel's: the listing notes each
 * protocol's ipi_gencnt when it starts and shows only pcbs that entered at or before
 * that generation (inp_gencnt ≤ xig_gen), each once, walking ipi_listhead in
 * generation order. A pcb that lived through the whole listing is shown exactly once;
 * one that came or went meanwhile may or may not be, and the closing xinpgen differs
 * from the opening one, so the reader knows to retry if it needs a still picture.
 * Sizing: the pcb count plus a slop of max(n/8, 10) for the re-entry window (a plain
 * n/8 gave no slop at all below 8 pcbs).
 */
import { formatIPv4, formatIPv6 } from '@mcstack/wire';
import { type Inpcb, type InpcbInfo, INP_DROPPED, INP_IPV4, inpRlock, inpRunlock } from './in_pcb.js';

/** struct xinpgen: the header before and after a listing. */
export interface Xinpgen {
  /** Pcbs in the protocols listed. */
  xig_count: number;
  /** Sum of the protocols' generation counts. */
  xig_gen: number;
}

/** Time left on each TCP timer (µs; null when stopped), xtcp_timer. */
export interface PcbTimers {
  tt_rexmt: number | null;
  tt_persist: number | null;
  tt_keep: number | null;
  tt_2msl: number | null;
  tt_delack: number | null;
}

/** One pcb as netstat shows it (struct xtcpcb / xinpcb). */
export interface PcbRecord {
  proto: 'tcp' | 'udp';
  /** 4 or 6: the family the pcb uses now. */
  family: 4 | 6;
  laddr: string;
  lport: number;
  faddr: string;
  fport: number;
  /** TCP state name as netstat prints it (tcpstates[]), '' for UDP. */
  state: string;
  /** Bytes queued to read and to send (Recv-Q, Send-Q). */
  rcvq: number;
  sndq: number;
  /** TCP timers; null for UDP. */
  timers: PcbTimers | null;
  /** The connection group (worker) holding the pcb. */
  group: number;
  /** RSS hash and M_HASHTYPE_* of the connection's segments (0 before the first). */
  flowid: number;
  flowtype: number;
  inp_gencnt: number;
  /** The socket's descriptor, -1 without one (closed by the application, or never accepted). */
  fd: number;
}

export interface PcbListProto {
  proto: 'tcp' | 'udp';
  info: InpcbInfo;
  /** The protocol's part of a record (tcp_inptoxtp: state and timers), filled in place. */
  fill?(inp: Inpcb, now: number, rec: PcbRecord): void;
}

/** pcblist's memory estimate (the `req->oldptr == NULL` pass): count plus slop. */
export function pcblistEstimate(count: number): number {
  return count + Math.max(Math.floor(count / 8), 10);
}

function header(protos: readonly PcbListProto[]): Xinpgen {
  let xig_count = 0;
  let xig_gen = 0;
  for (const p of protos) {
    xig_count += p.info.count;
    xig_gen += p.info.ipi_gencnt;
  }
  return { xig_count, xig_gen };
}

function record(p: PcbListProto, inp: Inpcb, now: number): PcbRecord {
  const v4 = (inp.inp_vflag & INP_IPV4) !== 0;
  const fmt = (a: Uint8Array) => (v4 ? formatIPv4(a, 12) : formatIPv6(a, 0));
  const so = inp.inp_socket;
  const rec: PcbRecord = {
    proto: p.proto,
    family: v4 ? 4 : 6,
    laddr: fmt(inp.inp_laddr),
    lport: inp.inp_lport,
    faddr: fmt(inp.inp_faddr),
    fport: inp.inp_fport,
    state: '',
    rcvq: so?.so_rcv.sb_cc ?? 0,
    sndq: so?.so_snd.sb_cc ?? 0,
    timers: null,
    group: inp.info.group.pcbgroup.id,
    flowid: inp.inp_flowid,
    flowtype: inp.inp_flowtype,
    inp_gencnt: inp.inp_gencnt,
    fd: so?.fd ?? -1,
  };
  p.fill?.(inp, now, rec);
  return rec;
}

/**
 * A listing in progress. `next(max)` returns up to `max` more records (an empty array
 * when done); between calls the engine may run and connections may come and go.
 */
export class PcbListCursor {
  /** The opening xinpgen. */
  readonly begin: Xinpgen;
  private readonly gens: number[];
  private readonly pos: (Inpcb | null)[];
  private i = 0;

  constructor(
    private readonly protos: readonly PcbListProto[],
    private readonly now: () => number,
  ) {
    this.begin = header(protos);
    this.gens = protos.map((p) => p.info.ipi_gencnt);
    this.pos = protos.map((p) => p.info.listHead);
  }

  get done(): boolean {
    return this.i >= this.protos.length;
  }

  next(max = Infinity): PcbRecord[] {
    const out: PcbRecord[] = [];
    const now = this.now();
    while (out.length < max && this.i < this.protos.length) {
      const inp = this.pos[this.i]!;
      if (inp === null || inp.inp_gencnt > this.gens[this.i]!) {
        // Everything further on entered after the listing began.
        this.i++;
        continue;
      }
      this.pos[this.i] = inp.listNext;
      if ((inp.inp_flags & INP_DROPPED) !== 0) continue;
      inpRlock(inp);
      out.push(record(this.protos[this.i]!, inp, now));
      inpRunlock(inp);
    }
    return out;
  }

  /** The closing xinpgen: different from `begin` when pcbs came or went meanwhile. */
  end(): Xinpgen {
    return header(this.protos);
  }
}
