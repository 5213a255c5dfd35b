/**
 * TCP control block, states, flags and statistics (FreeBSD netinet/tcp_var.h,
 * tcp_fsm.h). Times in a tcpcb are microseconds on the engine's virtual clock;
 * sequence numbers are unsigned 32-bit values compared with @mcstack/wire's seq*.
 */
import { slabF64Current, slabF64Slot, slabU32 } from '../kern/small_slab.js';
import { Callout } from '../kern/callout.js';
import type { CcAlgo } from './cc/cc.js';
import type { UmaZone } from '../kern/uma.js';
import type { Inpcb } from '../netinet/in_pcb.js';
import { TcpReassQueue } from './reass.js';
import { MAX_SACK_BLKS, SackScoreboard } from './sack.js';

/** tcp_fsm.h numbering (tcpi_state uses the same values). */
export const TCPS_CLOSED = 0;
export const TCPS_LISTEN = 1;
export const TCPS_SYN_SENT = 2;
export const TCPS_SYN_RECEIVED = 3;
export const TCPS_ESTABLISHED = 4;
export const TCPS_CLOSE_WAIT = 5;
export const TCPS_FIN_WAIT_1 = 6;
export const TCPS_CLOSING = 7;
export const TCPS_LAST_ACK = 8;
export const TCPS_FIN_WAIT_2 = 9;
export const TCPS_TIME_WAIT = 10;
export const TCP_NSTATES = 11;

export const tcpstates = [
  'CLOSED',
  'LISTEN',
  'SYN_SENT',
  'SYN_RCVD',
  'ESTABLISHED',
  'CLOSE_WAIT',
  'FIN_WAIT_1',
  'CLOSING',
  'LAST_ACK',
  'FIN_WAIT_2',
  'TIME_WAIT',
] as const;

/** TCPS_HAVERCVDSYN / TCPS_HAVEESTABLISHED / TCPS_HAVERCVDFIN (tcp_fsm.h). */
export const haveRcvdSyn = (s: number): boolean => s >= TCPS_SYN_RECEIVED;
export const haveEstablished = (s: number): boolean => s >= TCPS_ESTABLISHED;
export const haveRcvdFin = (s: number): boolean =>
  s === TCPS_CLOSE_WAIT || s === TCPS_CLOSING || s === TCPS_LAST_ACK || s === TCPS_TIME_WAIT;

/** TCP header flags. */
export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;
export const TH_AE = 0x100;

/** tcp_outflags[state] (tcp_fsm.h): flags to send in each state. */
export const tcp_outflags = [
  TH_RST | TH_ACK,
  0,
  TH_SYN,
  TH_SYN | TH_ACK,
  TH_ACK,
  TH_ACK,
  TH_FIN | TH_ACK,
  TH_FIN | TH_ACK,
  TH_FIN | TH_ACK,
  TH_ACK,
  TH_ACK,
];

/** t_flags (tcp_var.h). */
export const TF_ACKNOW = 0x00000001;
export const TF_DELACK = 0x00000002;
export const TF_NODELAY = 0x00000004;
export const TF_NOOPT = 0x00000008;
export const TF_SENTFIN = 0x00000010;
export const TF_REQ_SCALE = 0x00000020;
export const TF_RCVD_SCALE = 0x00000040;
export const TF_REQ_TSTMP = 0x00000080;
export const TF_RCVD_TSTMP = 0x00000100;
export const TF_SACK_PERMIT = 0x00000200;
export const TF_NEEDSYN = 0x00000400;
export const TF_NEEDFIN = 0x00000800;
export const TF_NOPUSH = 0x00001000;
export const TF_PREVVALID = 0x00002000;
export const TF_MORETOCOME = 0x00010000;
export const TF_LQ_OVERFLOW = 0x00020000;
export const TF_LASTIDLE = 0x00040000;
export const TF_RXWIN0SENT = 0x00080000;
export const TF_FASTRECOVERY = 0x00100000;
export const TF_WASFRECOVERY = 0x00200000;
export const TF_SIGNATURE = 0x00400000;
export const TF_FORCEDATA = 0x00800000;
export const TF_TSO = 0x01000000;
export const TF_TOE = 0x02000000;
export const TF_ECN_PERMIT = 0x04000000;
export const TF_ECN_SND_CWR = 0x08000000;
export const TF_ECN_SND_ECE = 0x10000000;
export const TF_CONGRECOVERY = 0x20000000;
export const TF_WASCRECOVERY = 0x40000000;
export const TF_FASTOPEN = 0x80000000;

/** t_flags2 bits used here. */
export const TF2_PLPMTU_BLACKHOLE = 0x01;
/** Mark data ECT(1) instead of ECT(0) (DCTCP's net.inet.tcp.cc.dctcp.ect1). */
export const TF2_ECN_USE_ECT1 = 0x00000800;

/** Timer indices (tcp_timer.h TT_*). */
export const TT_DELACK = 0;
export const TT_REXMT = 1;
export const TT_PERSIST = 2;
export const TT_KEEP = 3;
export const TT_2MSL = 4;
/** The number of TCP timers (tcp_timer.h TT_N). */
export const TT_N = 5;

/** tcp_backoff[] (tcp_timer.c): RTO multipliers per retransmission. */
export const tcp_backoff = [1, 2, 4, 8, 16, 32, 64, 64, 64, 64, 64, 64, 64];
/** tcp_totbackoff: sum of tcp_backoff, for keepalive timeouts. */
export const TCP_MAXRXTSHIFT = 12;
export const TCPTV_PERSMIN = 5_000_000;
export const TCPTV_PERSMAX = 60_000_000;
export const TCPTV_REXMTMAX = 64_000_000;
export const TCP_MAXWIN = 65535;
export const TCP_MAX_WINSHIFT = 14;
export const TCP_MAXOLEN = 40;
export const TCP_MAXHLEN = 60;
/** Limit of the reassembly queue per connection (net.inet.tcp.reass.maxqueuelen). */
export const TCP_REASS_MAXQLEN = 100;

/** struct tcpstat: every counter the engine keeps, under FreeBSD's names. */
export function newTcpstat() {
  return {
    tcps_connattempt: 0,
    tcps_accepts: 0,
    tcps_connects: 0,
    tcps_drops: 0,
    tcps_conndrops: 0,
    tcps_minmssdrops: 0,
    tcps_closed: 0,
    tcps_segstimed: 0,
    tcps_rttupdated: 0,
    tcps_delack: 0,
    tcps_timeoutdrop: 0,
    tcps_rexmttimeo: 0,
    tcps_persisttimeo: 0,
    tcps_keeptimeo: 0,
    tcps_keepprobe: 0,
    tcps_keepdrops: 0,
    tcps_sndtotal: 0,
    tcps_sndpack: 0,
    tcps_sndbyte: 0,
    tcps_sndrexmitpack: 0,
    tcps_sndrexmitbyte: 0,
    tcps_sndrexmitbad: 0,
    tcps_sndacks: 0,
    tcps_sndprobe: 0,
    tcps_sndurg: 0,
    tcps_sndwinup: 0,
    tcps_sndctrl: 0,
    tcps_rcvtotal: 0,
    tcps_rcvpack: 0,
    tcps_rcvbyte: 0,
    tcps_rcvbadsum: 0,
    tcps_rcvbadoff: 0,
    tcps_rcvreassfull: 0,
    tcps_rcvshort: 0,
    tcps_rcvduppack: 0,
    tcps_rcvdupbyte: 0,
    tcps_rcvpartduppack: 0,
    tcps_rcvpartdupbyte: 0,
    tcps_rcvoopack: 0,
    tcps_rcvoobyte: 0,
    tcps_rcvpackafterwin: 0,
    tcps_rcvbyteafterwin: 0,
    tcps_rcvafterclose: 0,
    tcps_rcvwinprobe: 0,
    tcps_rcvdupack: 0,
    tcps_rcvacktoomuch: 0,
    tcps_rcvackpack: 0,
    tcps_rcvackbyte: 0,
    tcps_rcvwinupd: 0,
    tcps_pawsdrop: 0,
    tcps_predack: 0,
    tcps_preddat: 0,
    tcps_cachedrtt: 0,
    tcps_cachedrttvar: 0,
    tcps_cachedssthresh: 0,
    tcps_usedrtt: 0,
    tcps_usedrttvar: 0,
    tcps_usedssthresh: 0,
    tcps_persistdrop: 0,
    tcps_badsyn: 0,
    tcps_mturesent: 0,
    tcps_listendrop: 0,
    tcps_badrst: 0,
    tcps_sc_added: 0,
    tcps_sc_retransmitted: 0,
    tcps_sc_dupsyn: 0,
    tcps_sc_dropped: 0,
    tcps_sc_completed: 0,
    tcps_sc_bucketoverflow: 0,
    tcps_sc_cacheoverflow: 0,
    tcps_sc_reset: 0,
    tcps_sc_stale: 0,
    tcps_sc_aborted: 0,
    tcps_sc_badack: 0,
    tcps_sc_unreach: 0,
    tcps_sc_zonefail: 0,
    tcps_sc_sendcookie: 0,
    tcps_sc_recvcookie: 0,
    tcps_hc_added: 0,
    tcps_hc_bucketoverflow: 0,
    tcps_finwait2_drops: 0,
    tcps_sack_recovery_episode: 0,
    tcps_sack_rexmits: 0,
    tcps_sack_rexmit_bytes: 0,
    tcps_sack_rcv_blocks: 0,
    tcps_sack_send_blocks: 0,
    tcps_sack_sboverflow: 0,
    tcps_ecn_ce: 0,
    tcps_ecn_ect0: 0,
    tcps_ecn_ect1: 0,
    tcps_ecn_shs: 0,
    tcps_ecn_rcwnd: 0,
    tcps_sig_rcvgoodsig: 0,
    tcps_sig_rcvbadsig: 0,
    tcps_sig_err_buildsig: 0,
    tcps_sig_err_sigopt: 0,
    tcps_sig_err_nosigopt: 0,
    tcps_ecn_sndect0: 0,
    tcps_ecn_sndect1: 0,
    tcps_rcvmemdrop: 0,
    tcps_rcvoopackdrop: 0,
    tcps_rcvoobytedrop: 0,
    tcps_badrst_chackrst: 0,
    tcps_badsyn_chackrst: 0,
    /** mcstack's own: ACKs the ack-war limiter held back (tcp_ack_war_check). */
    tcps_ack_war_limited: 0,
    tcps_dsack_count: 0,
    tcps_dsack_bytes: 0,
    tcps_rcvghostack: 0,
    tcps_noport: 0,
    tcps_cc_changes: 0,
    tcps_states: new Array<number>(TCP_NSTATES).fill(0),
  };
}
export type Tcpstat = ReturnType<typeof newTcpstat>;

/** struct tcpcb (tcp_var.h), the per-connection TCP state. */
declare module '../netinet/in_pcb.js' {
  /** An inpcb's inp_ppcb is its Tcpcb. */
  interface InpPpcb extends Tcpcb {}
}

/**
 * The CC state of a connection whose algorithm keeps none (newreno): shared and frozen — an
 * algorithm that keeps state gives the connection its own object in cb_init.
 */
const NO_CCV: Record<string, number> = Object.freeze({});
/** No khelp data: shared until a helper is attached (khelpInitOsd gets an array of its own). */
const NO_OSD: unknown[] = Object.freeze([]) as unknown as unknown[];
/** No SACK blocks yet (rcv_numsacks 0): shared and empty; Tcpcb.sackBlocks allocates. */
const NO_SACKBLKS = new Uint32Array(0);
/** The reassembly queue of every tcpcb without one: always empty (only reassQueue's queues take segments). */
const NO_REASS = new TcpReassQueue();

/**
 * A tcpcb is its own callout (t_callout, armed at the earliest timer): FreeBSD embeds struct
 * callout in struct tcpcb, and a separate object would cost another header and pointer.
 */
export class Tcpcb extends Callout {
  t_state = TCPS_CLOSED;
  t_flags = 0;
  /** The peer's UDP port when the connection runs over UDP (TCP_REMOTE_UDP_ENCAPS_PORT), else 0. */
  declare t_port: number;
  declare t_flags2: number;
  t_maxseg = 536;
  /** if_hw_tsomax of the route's interface when TF_TSO (tcp_mss's cap.tsomax). */
  declare t_tsomax: number;
  /** MSS offered by the peer in its SYN (0: none). */
  declare t_peermss: number;
  /** The MSS we offer in our SYN (tcp_mssopt), from the route MTU. */
  declare t_mssopt: number;

  /* send sequence variables (RFC 9293 §3.3.1) */
  declare snd_una: number;
  declare snd_max: number;
  declare snd_nxt: number;
  declare snd_up: number;
  declare snd_wl1: number;
  declare snd_wl2: number;
  declare iss: number;
  declare snd_wnd: number;
  declare snd_recover: number;
  /* receive sequence variables */
  declare rcv_wnd: number;
  declare rcv_nxt: number;
  declare rcv_up: number;
  declare irs: number;
  declare rcv_adv: number;
  declare last_ack_sent: number;

  /* congestion control */
  declare snd_cwnd: number;
  declare snd_ssthresh: number;
  declare t_bytes_acked: number;
  /** The window before the first timeout, restored when it proves spurious (CC_RTO_ERR). */
  declare snd_cwnd_prev: number;
  declare snd_ssthresh_prev: number;
  declare snd_recover_prev: number;
  /** snd_una at the SACK scoreboard's last reset while it is not allocated (Tcpcb.sack). */
  declare t_sackreset: number;
  cc: CcAlgo;
  /** Per-connection CC state (struct cc_var's cc_data). */
  ccv: Record<string, number> = NO_CCV;
  /**
   * Object-specific data: the khelp helpers' per-connection state (kern/osd.ts); the shared
   * empty NO_OSD until newtcpcb finds a helper attached.
   */
  osd: unknown[] = NO_OSD;
  declare t_dupacks: number;
  /** Segments sent by RFC 3042 limited transmit (snd_limited). */
  declare snd_limited: number;
  /** sackhint.prr_out and friends for RFC 6675 recovery. */
  declare sack_newdata: number;

  /* RTT estimation (RFC 6298), µs */
  declare t_rtttime: number;
  declare t_rtseq: number;
  declare t_srtt: number;
  declare t_rttvar: number;
  declare t_rttmin: number;
  declare t_rttupdated: number;
  declare t_rxtcur: number;
  declare t_rxtshift: number;
  declare t_badrxtwin: number;
  declare t_rcvtime: number;
  declare t_starttime: number;

  /* window scaling (RFC 7323 §2) */
  declare snd_scale: number;
  declare rcv_scale: number;
  declare request_r_scale: number;
  /* timestamps (RFC 7323 §3, §4) */
  declare ts_recent: number;
  declare ts_recent_age: number;
  declare ts_offset: number;
  /** Highest window we advertised, for SWS avoidance. */
  declare max_sndwnd: number;

  /* keepalive parameters (0 = system default) */
  declare t_keepinit: number;
  declare t_keepidle: number;
  declare t_keepintvl: number;
  declare t_keepcnt: number;
  /** Data on the send buffer offset since the last send-window probe. */
  declare t_softerror: number;
  declare t_sndzerowin: number;
  declare t_rcvoopack: number;
  declare t_sndrexmitpack: number;
  /** Time the last segment was sent (idle detection, µs). */
  declare t_sndtime: number;
  /** Receive-buffer autotuning: start of the measuring period (ms timestamp clock, 0: none), bytes in it. */
  declare rfbuf_ts: number;
  declare rfbuf_cnt: number;

  /** Receive-side SACK blocks to report, most recent first (RFC 2018 §4). */
  sackblks: Uint32Array = NO_SACKBLKS;
  declare rcv_numsacks: number;
  /** The reassembly queue: the shared, always empty NO_REASS until reassQueue() gives it one. */
  reass: TcpReassQueue = NO_REASS;
  /** The SACK scoreboard once allocated (see `sack`). */
  private sb: SackScoreboard | null = null;

  /**
   * The numeric state, off the V8 heap in a slab (kern/small_slab.ts): slots [0, TT_N) are
   * FreeBSD 14's t_timers[TT_N] deadlines (µs; Infinity when off), one callout armed at the
   * earliest of them (tcp_timer.c); the fields declared above follow (TCPCB_NUMS), read and
   * written through accessors, but for the few plain fields of TCPCB_SMI_FIELDS. In-object, sequence numbers and µs times past 2^31 are each a
   * boxed heap number (16 bytes more); here every field is 8 bytes and the tcpcb object holds
   * pointers only. The slab's view is shared by the tcpcbs carved from it (a view of its own
   * would cost ~96 bytes of heap); `tvo` is where this tcpcb's slots begin in it.
   */
  readonly tvo: number = slabF64Slot(TV_LEN);
  readonly tv: Float64Array = slabF64Current();

  /** ECN: an ECE must be echoed until CWR is seen; set when CE arrived. */
  declare t_ecn_ce: number;
  /** ACK-war epoch (tcp_ack_war_check): its end (µs) and the ACKs sent in it. */
  declare t_challenge_ack_end: number;
  declare t_challenge_ack_cnt: number;

  constructor(
    public inp: Inpcb,
    cc: CcAlgo,
    fire: (tp: Tcpcb) => void,
  ) {
    super(fire);
    this.arg = this;
    this.cc = cc;
    this.tv.set(TV_INIT, this.tvo);
  }

  /** The connection's one callout (tcp_timer.c t_callout): the tcpcb itself. */
  get t_callout(): Callout {
    return this;
  }

  /**
   * Back to a new connection's state when the zone hands out a freed tcpcb (Tcp.newtcpcb):
   * the numeric fields from TV_INIT, the sub-objects emptied. tcp-tcb-zone.test.ts fails if
   * a reused tcpcb differs from a new one.
   */
  init(): void {
    this.tv.set(TV_INIT, this.tvo);
    this.t_state = TCPS_CLOSED;
    this.t_flags = 0;
    this.t_maxseg = 536;
    // The callout is stopped (index -1): its deadline and arming order lived in the wheel.
    this.sackblks = NO_SACKBLKS;
    this.reass = NO_REASS;
    this.sb = null;
    this.ccv = NO_CCV;
    this.osd = NO_OSD;
  }

  /** The reassembly queue to insert into, made at the first out-of-order segment (counted in `zone`). */
  reassQueue(zone: UmaZone | null): TcpReassQueue {
    if (this.reass === NO_REASS) {
      this.reass = new TcpReassQueue();
      this.reass.zone = zone;
    }
    return this.reass;
  }

  /**
   * The sender's SACK scoreboard (RFC 6675), allocated when first used: until then it is in
   * its reset state, which only the snd_una of the last reset (t_sackreset) tells apart.
   */
  get sack(): SackScoreboard {
    if (this.sb === null) {
      this.sb = new SackScoreboard();
      this.sb.reset(this.t_sackreset);
    }
    return this.sb;
  }

  /** sack.nholes without allocating the scoreboard (read on every ACK). */
  sackHoles(): number {
    return this.sb === null ? 0 : this.sb.nholes;
  }

  /** The scoreboard's reset (tcp_free_sackholes, sackhint cleared): nothing to allocate for one never used. */
  sackReset(sndUna: number): void {
    if (this.sb === null) this.t_sackreset = sndUna;
    else this.sb.reset(sndUna);
  }

  /**
   * The SACK blocks to report, allocated at the first (MAX_SACK_BLKS pairs): most connections
   * never receive out of order, and until then share the empty NO_SACKBLKS.
   */
  sackBlocks(): Uint32Array {
    if (this.sackblks === NO_SACKBLKS) this.sackblks = slabU32(2 * MAX_SACK_BLKS);
    return this.sackblks;
  }

  inFastRecovery(): boolean {
    return (this.t_flags & TF_FASTRECOVERY) !== 0;
  }
  inCongRecovery(): boolean {
    return (this.t_flags & TF_CONGRECOVERY) !== 0;
  }
  inRecovery(): boolean {
    return (this.t_flags & (TF_FASTRECOVERY | TF_CONGRECOVERY)) !== 0;
  }
}

/**
 * The tcpcb's numeric fields in their tv slots (after the timers) with a new connection's
 * values: sequence numbers, µs times and all else but TCPCB_SMI_FIELDS.
 */
const TCPCB_NUMS: readonly (readonly [string, number])[] = [
  ['t_port', 0],
  ['t_flags2', 0],
  ['t_tsomax', 0],
  ['t_peermss', 0],
  ['t_mssopt', 0],
  ['snd_una', 0],
  ['snd_max', 0],
  ['snd_nxt', 0],
  ['snd_up', 0],
  ['snd_wl1', 0],
  ['snd_wl2', 0],
  ['iss', 0],
  ['snd_wnd', 0],
  ['snd_recover', 0],
  ['rcv_wnd', 0],
  ['rcv_nxt', 0],
  ['rcv_up', 0],
  ['irs', 0],
  ['rcv_adv', 0],
  ['last_ack_sent', 0],
  ['snd_cwnd', 0],
  ['snd_ssthresh', 0],
  ['t_bytes_acked', 0],
  ['snd_cwnd_prev', 0],
  ['snd_ssthresh_prev', 0],
  ['snd_recover_prev', 0],
  ['t_sackreset', 0],
  ['t_dupacks', 0],
  ['snd_limited', 0],
  ['sack_newdata', 0],
  ['t_rtttime', 0],
  ['t_rtseq', 0],
  ['t_srtt', 0],
  ['t_rttvar', 0],
  ['t_rttmin', 30_000],
  ['t_rttupdated', 0],
  ['t_rxtcur', 1_000_000],
  ['t_rxtshift', 0],
  ['t_badrxtwin', 0],
  ['t_rcvtime', 0],
  ['t_starttime', 0],
  ['snd_scale', 0],
  ['rcv_scale', 0],
  ['request_r_scale', 0],
  ['ts_recent', 0],
  ['ts_recent_age', 0],
  ['ts_offset', 0],
  ['max_sndwnd', 0],
  ['t_keepinit', 0],
  ['t_keepidle', 0],
  ['t_keepintvl', 0],
  ['t_keepcnt', 0],
  ['t_softerror', 0],
  ['t_sndzerowin', 0],
  ['t_rcvoopack', 0],
  ['t_sndrexmitpack', 0],
  ['t_sndtime', 0],
  ['rfbuf_ts', 0],
  ['rfbuf_cnt', 0],
  ['rcv_numsacks', 0],
  ['t_ecn_ce', 0],
  ['t_challenge_ack_end', 0],
  ['t_challenge_ack_cnt', 0],
];
/**
 * The tcpcb's fields kept in the object, the integers below 2^31 read most on every segment:
 * V8 stores them unboxed (Smi) in the object at the 8 bytes a slot costs, and reads them
 * without an accessor. Only integers may be stored in them (a fraction or a value past 2^31
 * would box the field in every tcpcb); init() resets each.
 */
const TCPCB_SMI_FIELDS: readonly string[] = ['t_state', 't_flags', 't_maxseg'];
/** The names of the tcpcb's numeric fields (what export copies; they are accessors, not own keys). */
export const TCPCB_NUM_FIELDS: readonly string[] = [...TCPCB_NUMS.map(([name]) => name), ...TCPCB_SMI_FIELDS];
const TV_LEN = TT_N + TCPCB_NUMS.length;
/** Bytes of a tcpcb's slots in the slab it shares (what it holds there, for the zone's item size). */
export const TCPCB_TV_BYTES = TV_LEN * 8;
/** A new connection's tv: no timer armed, each field at its initial value (newtcpcb, and init on reuse). */
const TV_INIT = new Float64Array(TV_LEN).fill(Infinity, 0, TT_N);
for (let i = 0; i < TCPCB_NUMS.length; i++) {
  const [name, init] = TCPCB_NUMS[i] as readonly [string, number];
  const slot = TT_N + i;
  TV_INIT[slot] = init;
  Object.defineProperty(Tcpcb.prototype, name, {
    get(this: Tcpcb): number {
      return this.tv[this.tvo + slot] as number;
    },
    set(this: Tcpcb, v: number) {
      this.tv[this.tvo + slot] = v;
    },
  });
}

/**
 * A received segment as tcp_input parsed it (struct tcphdr and the payload's
 * place), handed explicitly to the functions that process it.
 */
export class TcpSeg {
  buf: Uint8Array = new Uint8Array(0);
  /** TCP header offset, payload offset (moves as it is trimmed). */
  th = 0;
  data = 0;
  tlen = 0;
  flags = 0;
  seq = 0;
  ack = 0;
  win = 0;
  sport = 0;
  dport = 0;
  iptos = 0;
  v4 = true;
  srcOff = 0;
  dstOff = 0;
  /** The UDP source port it was tunneled from (tcp_input_with_port), else 0. */
  port = 0;
  /** Segments on the wire this one stands for: LRO's lro_nsegs, at least 1 (tcp_input's nsegs). */
  nsegs = 1;
  /** With nsegs > 1: the payload of each merged segment but the last (lro.ts), else 0. */
  segsz = 0;
  /** The receiving interface's FIB (M_GETFIB). */
  fib = 0;
}

/** tcp_sendseqinit (tcp_seq.h) */
export function sendseqinit(tp: Tcpcb): void {
  tp.snd_una = tp.snd_nxt = tp.snd_max = tp.snd_up = tp.snd_recover = tp.iss;
}

/** tcp_rcvseqinit */
export function rcvseqinit(tp: Tcpcb): void {
  tp.rcv_adv = tp.rcv_nxt = (tp.irs + 1) >>> 0;
}
