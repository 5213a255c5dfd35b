/**
 * TCP's per-stack state and the life of a tcpcb (FreeBSD tcp_subr.c): the `Tcp`
 * record holds what FreeBSD keeps in V_ globals (tcbinfo, tcpstat, tunables,
 * syncache, host cache, CC list, ISN state, the tcpcb zone) and is passed to the
 * functions that use it; newtcpcb, tcp_drop, tcp_close, the socket's release and
 * tcp_inptoxtp are here.
 */
import { ERRNO } from '../kern/errno.js';
import type { CalloutWheel } from '../kern/callout.js';
import type { RandomSource } from '../kern/random.js';
import { type Socket, type SocketLayer, SS_NOFDREF } from '../kern/uipc_socket.js';
import { type UmaRegistry, type UmaZone, itemSize } from '../kern/uma.js';
import { Inpcb, InpcbInfo } from '../netinet/in_pcb.js';
import { TcpOptionScan } from '@mcstack/wire';
import {
  Tcpcb,
  newTcpstat,
  type Tcpstat,
  TCPS_CLOSED,
  TCPS_TIME_WAIT,
  TF_REQ_SCALE,
  TF_REQ_TSTMP,
  TF_SACK_PERMIT,
  TCP_MAX_WINSHIFT,
  TCP_MAXWIN,
  haveRcvdSyn,
  tcpstates,
  TT_REXMT,
  TT_PERSIST,
  TT_KEEP,
  TT_2MSL,
  TT_DELACK,
  TCPCB_TV_BYTES,
} from './var.js';
import { setState } from './fsm.js';
import { newTcpTunables, type TcpTunables } from './sysctl.js';
import { CcRegistry, type CcAckInfo } from './cc/cc.js';
import { newreno } from './cc/newreno.js';
import { IsnGenerator } from './isn.js';
import { newTcpHhooks } from './tcp_hhook.js';
import { HELPER_CLASS_TCP, type Helper, khelpDestroyOsd, khelpInitOsd } from '../kern/khelp.js';
import { TcpHostcache, newHcMetricsLite } from './hostcache.js';
import { Callout } from '../kern/callout.js';
import { Syncache } from './syncache.js';
import type { TcpNet } from './netport.js';
import { KeyDb } from '../netipsec/key.js';
import { tcpOutput } from './output.js';
import { tcpTimerEnter, tcpTimerStopAll, timerRemaining } from './timer.js';
import type { PcbRecord } from '../netinet/in_pcblist.js';

export interface TcpDeps {
  wheel: CalloutWheel;
  random: RandomSource;
  sockets: SocketLayer;
  now(): number;
  /** The engine's zones (kern/uma.ts). */
  uma: UmaRegistry;
  /** log(9) (kern/msgbuf.ts); absent: messages are dropped. */
  log?(priority: number, text: string): void;
  /** The stack's security associations (netipsec/key.ts); absent: an empty one of TCP's own. */
  keydb?: KeyDb;
  /** The host cache's memory (tcp/hostcache.ts hostcacheCreate), shared by a stack's workers. */
  hostcache: SharedArrayBuffer | ArrayBuffer;
}

/** uma_core.c UMA_TIMEOUT: how often zones give back what stayed unused (µs). */
const UMA_TIMEOUT = 20_000_000;

/** Freed tcpcbs the zone keeps (the rest are left to the garbage collector). */
const TCB_ZONE_MAX = 16384;

export class Tcp {
  readonly t: TcpTunables = newTcpTunables();
  readonly stat: Tcpstat = newTcpstat();
  readonly pcbinfo: InpcbInfo;
  readonly cc: CcRegistry;
  readonly isn: IsnGenerator;
  readonly hostcache: TcpHostcache;
  /**
   * The host cache's prune callout (tcp_hc_callout). Every engine sharing the cache arms
   * one; each period's run is claimed by one of them (TcpHostcache.claimPrune).
   */
  readonly hcCallout: Callout;
  /** Prune periods this engine has seen. */
  hcRuns = 0;
  readonly syncache: Syncache;
  readonly wheel: CalloutWheel;
  readonly sockets: SocketLayer;
  readonly random: RandomSource;
  net: TcpNet | null = null;
  /** TCP-MD5 keys (tcp/signature.ts): the stack's SA database. */
  readonly keydb: KeyDb;
  /** Live tcpcbs (for leak checks and netstat). */
  readonly tcbs = new Set<Tcpcb>();
  /** Scratch for building segments: MAX_HDR headroom + 60-byte header + up to 64 KiB. */
  readonly outbuf = new Uint8Array(128 + 60 + 65536);
  readonly opt = new TcpOptionScan();
  /** The helper hook points HHOOK_TCP_EST_IN/OUT (V_tcp_hhh) and their reused context. */
  readonly hhooks = newTcpHhooks();
  /** The khelp helpers attached to this engine (kern/khelp.ts). */
  readonly khelps: Helper[] = [];
  readonly ccinfo: CcAckInfo = { flags: 0, bytes_this_ack: 0, curack: 0, nsegs: 1, rtt_us: 0 };
  readonly now: () => number;
  /** log(9) for log_in_vain (absent: not logged). */
  readonly log: ((priority: number, text: string) => void) | undefined;
  /** The callout handler every tcpcb timer is armed with (tcp_timer.c). */
  readonly fire: (tp: Tcpcb) => void;
  readonly uma: UmaRegistry;
  /**
   * The tcpcb zone: FreeBSD 14's "tcp_inpcb" (struct tcpcb with its inpcb, tcp_subr.c):
   * freed tcpcbs, reused by newtcpcb so a stream of short connections allocates none;
   * frees take effect at the end of the engine's epoch (kern/epoch_zone.ts).
   */
  readonly tcbZone: UmaZone<Tcpcb>;
  /** tcp_reass_zone ("tcpreass"): reassembly queue entries, counted as each queue takes and frees them. */
  readonly reassZone: UmaZone;
  /** What a zone-cached tcpcb's inp points at until newtcpcb gives it a real one. */
  private readonly noInp: Inpcb;
  /** Engine time (µs) of the next zone trim (UMA_TIMEOUT). */
  zoneTrimAt = 0;

  constructor(d: TcpDeps) {
    this.log = d.log;
    this.keydb = d.keydb ?? new KeyDb();
    this.wheel = d.wheel;
    this.random = d.random;
    this.sockets = d.sockets;
    this.now = d.now;
    this.uma = d.uma;
    this.tcbZone = d.uma.create<Tcpcb>('tcp_inpcb', 0, {
      keep: TCB_ZONE_MAX,
      // A cached tcpcb points at no pcb: a closed pcb keeps its list link for pcblist
      // cursors (in_pcb.ts), so one pinned pcb would pin every pcb closed after it.
      fini: (tp) => {
        tp.inp = this.noInp;
      },
    });
    // struct tseg_qent: queue links, seq, length, flags and the data's reference.
    this.reassZone = d.uma.create('tcpreass', itemSize({ seq: 0, len: 0, fin: false, data: null }));
    this.pcbinfo = new InpcbInfo(d.random);
    this.noInp = new Inpcb(this.pcbinfo, null, false);
    this.cc = new CcRegistry(newreno(this.t));
    this.isn = new IsnGenerator(d.random);
    this.hostcache = new TcpHostcache(d.hostcache, this.stat);
    this.hcCallout = new Callout(() => tcpHcPurge(this));
    // A shared cache is pruned on FreeBSD's fixed schedule (other workers insert unseen).
    if (d.hostcache instanceof SharedArrayBuffer) tcpHcArm(this);
    this.syncache = new Syncache(this);
    this.fire = (tp) => tcpTimerEnter(this, tp);
  }
}

/** Arm the prune callout `prune` seconds on, unless it is pending. */
export function tcpHcArm(tcp: Tcp, restart = false): void {
  if (tcp.hcCallout.pending && !restart) return;
  tcp.wheel.reset(tcp.hcCallout, tcp.now() + tcp.hostcache.knobs.prune * 1_000_000);
}

/**
 * tcp_hc_purge, the prune callout: expire entries and re-arm. A private cache's callout
 * stops when the cache is empty, so an idle engine has nothing pending (its next insert
 * arms it again); a shared one runs on, as FreeBSD's.
 */
function tcpHcPurge(tcp: Tcp): void {
  const hc = tcp.hostcache;
  // One run per period for the whole cache, whichever engine's callout comes first; an
  // engine that finds the period run already catches its count up. So the cache ages at
  // FreeBSD's pace with any number of workers, and on while any one of them runs.
  if (hc.claimPrune(++tcp.hcRuns)) hc.pruneRun();
  else tcp.hcRuns = Math.max(tcp.hcRuns, hc.pruneRuns);
  if (tcp.hostcache.buf instanceof SharedArrayBuffer || tcp.hostcache.count > 0) tcpHcArm(tcp);
}

/** sysctl_tcp_hc_purgenow: empty the cache and restart the prune schedule. */
export function tcpHcPurgeNow(tcp: Tcp): void {
  tcp.hostcache.purge(true);
  if (tcp.hcCallout.pending) tcpHcArm(tcp, true);
}

const hcScratch = newHcMetricsLite();

/**
 * The host cache part of tcp_discardcb: after at least four RTT samples (enough for the
 * srtt filter to converge), store the RTT, its variance, cwnd and, if a loss set it
 * below half the send buffer, ssthresh rounded to whole packets (headers included).
 * A connection entering TIME_WAIT is saved there, while its socket buffer still exists
 * (tcp_twstart called tcp_discardcb so in FreeBSD before 14).
 */
export function tcpHcSave(tcp: Tcp, tp: Tcpcb): void {
  if (tp.t_rttupdated < 4) return;
  const inp = tp.inp;
  const m = hcScratch;
  const so = inp.inp_socket;
  let ssthresh = tp.snd_ssthresh;
  if (so !== null && ssthresh !== 0 && ssthresh < so.so_snd.sb_hiwat / 2) {
    const maxseg = tp.t_maxseg;
    ssthresh = Math.max(2, Math.floor((ssthresh + Math.floor(maxseg / 2)) / maxseg));
    ssthresh *= maxseg + (inp.isV6 ? 40 + 20 : 20 + 20);
  } else ssthresh = 0;
  m.rmx_ssthresh = ssthresh;
  m.rmx_rtt = Math.round(tp.t_srtt);
  m.rmx_rttvar = Math.round(tp.t_rttvar);
  m.rmx_cwnd = tp.snd_cwnd;
  m.rmx_mtu = 0;
  m.rmx_sendpipe = 0;
  m.rmx_recvpipe = 0;
  tcp.hostcache.update(inp.inp_faddr, m);
  tcpHcArm(tcp);
}

/** tcp_ts_getticks(): the millisecond clock timestamps are drawn from. */
export function tcpTsGetticks(tcp: Tcp): number {
  return Math.floor(tcp.now() / 1000) >>> 0;
}

/**
 * tcp_ack_war_check (tcp_subr.c): may this connection send one more challenge ACK, or
 * ACK an unacceptable segment? At most net.inet.tcp.ack_war_cnt in each
 * net.inet.tcp.ack_war_timewindow ms (either 0 turns the limit off); RFC 5961 §7.
 */
export function tcpAckWarCheck(tcp: Tcp, tp: Tcpcb): boolean {
  const win = tcp.t.ack_war_timewindow;
  const cnt = tcp.t.ack_war_cnt;
  if (win === 0 || cnt === 0) return true;
  const now = tcp.now();
  if (tp.t_challenge_ack_end < now) {
    tp.t_challenge_ack_cnt = 0;
    tp.t_challenge_ack_end = now + win * 1000;
  }
  if (tp.t_challenge_ack_cnt < cnt) {
    tp.t_challenge_ack_cnt++;
    return true;
  }
  tcp.stat.tcps_ack_war_limited++;
  return false;
}

/** End of an epoch (Engine.input, Engine.advance): tcpcbs and SYN-cache entries freed since may be reused. */
export function tcpReclaim(tcp: Tcp): void {
  tcp.uma.reclaim();
  const now = tcp.now();
  if (now >= tcp.zoneTrimAt) {
    tcp.zoneTrimAt = now + UMA_TIMEOUT;
    tcp.uma.trim();
  }
}

/** tcp_newtcpcb */
export function newtcpcb(tcp: Tcp, inp: Inpcb): Tcpcb {
  const z = tcp.tcbZone;
  z.alloc();
  let tp = z.take();
  if (tp === undefined) {
    tp = new Tcpcb(inp, tcp.cc.default, tcp.fire);
    // Its own slots, not the whole slab its tv view spans.
    if (z.size === 0) z.size = itemSize(tp) - tp.tv.byteLength + TCPCB_TV_BYTES;
  } else {
    tp.inp = inp;
    tp.cc = tcp.cc.default;
    tp.init();
  }
  inp.inp_ppcb = tp;
  if (tcp.khelps.length > 0) {
    tp.osd = [];
    khelpInitOsd(HELPER_CLASS_TCP, tcp.khelps, tp.osd);
  }
  tp.cc.cb_init?.(tp);
  const t = tcp.t;
  tp.t_maxseg = inp.isV6 ? t.v6mssdflt : t.mssdflt;
  if (t.rfc1323) tp.t_flags |= TF_REQ_SCALE | TF_REQ_TSTMP;
  if (t.sack_enable) tp.t_flags |= TF_SACK_PERMIT;
  tp.t_rttmin = t.rexmit_min * 1000;
  // RFC 6298 §2.1: RTO = 1 s until a measurement; srtt 0 means "no sample yet".
  tp.t_srtt = 0;
  tp.t_rttvar = (t.rexmit_initial * 1000) / 4;
  tp.t_rxtcur = t.rexmit_initial * 1000;
  tp.snd_cwnd = TCP_MAXWIN << TCP_MAX_WINSHIFT;
  tp.snd_ssthresh = TCP_MAXWIN << TCP_MAX_WINSHIFT;
  tp.t_rcvtime = tcp.now();
  tcp.tcbs.add(tp);
  tcp.stat.tcps_states[TCPS_CLOSED]!++;
  return tp;
}

/** tcp_drop: abort with an RST when the peer knows us, and report `errno`. */
export function tcpDrop(tcp: Tcp, tp: Tcpcb, errno: number): null {
  const so = tp.inp.inp_socket;
  if (haveRcvdSyn(tp.t_state)) {
    setState(tcp.stat, tp, TCPS_CLOSED);
    tcpOutput(tcp, tp);
    tcp.stat.tcps_drops++;
  } else {
    tcp.stat.tcps_conndrops++;
  }
  if (so !== null) {
    if (errno === ERRNO.ETIMEDOUT && tp.t_softerror) errno = tp.t_softerror;
    so.so_error = errno;
  }
  // A dropped connection still queued on a listener leaves the queue.
  if (so !== null && so.so_head !== null) {
    const q = so.so_head.so_comp;
    const i = q.indexOf(so);
    if (i >= 0) q.splice(i, 1);
    so.so_head = null;
  }
  return tcpClose(tcp, tp);
}

/** tcp_close: the connection is gone; the pcb leaves every table. */
export function tcpClose(tcp: Tcp, tp: Tcpcb): null {
  const inp = tp.inp;
  tcpTimerStopAll(tcp, tp);
  tp.reass.flush();
  if (tp.t_state !== TCPS_TIME_WAIT) tcpHcSave(tcp, tp);
  tp.cc.cb_destroy?.(tp);
  if (tp.osd.length > 0) khelpDestroyOsd(tcp.khelps, tp.osd);
  if (tp.t_state !== TCPS_CLOSED) setState(tcp.stat, tp, TCPS_CLOSED);
  const wasLive = tcp.tcbs.delete(tp);
  if (wasLive) {
    tcp.stat.tcps_closed++;
    tcp.stat.tcps_states[TCPS_CLOSED]!--;
  }
  tcp.pcbinfo.remove(inp);
  inp.inp_ppcb = null;
  const so = inp.inp_socket;
  if (so !== null) {
    so.isDisconnected();
    if ((so.so_state & SS_NOFDREF) !== 0 && so.so_head === null) tcpDetachSocket(inp, so);
  }
  // Into the zone once: a second tcp_close of the same tcpcb must not hand it out twice.
  if (wasLive) tcp.tcbZone.free(tp);
  return null;
}

/** The pcb and a socket without a descriptor part (sofree): its buffers go back to the zone. */
export function tcpDetachSocket(inp: Inpcb, so: Socket): void {
  inp.inp_socket = null;
  so.so_pcb = null;
  so.layer.sofree(so);
}

/** tcp_inptoxtp: the TCP part of a pcb list record, its state name and time left on each timer. */
export function tcpInpToXtp(inp: Inpcb, now: number, rec: PcbRecord): void {
  const tp = inp.inp_ppcb;
  if (tp === null) {
    rec.state = 'CLOSED';
    return;
  }
  rec.state = tcpstates[tp.t_state]!;
  rec.timers = {
    tt_rexmt: timerRemaining(tp, TT_REXMT, now),
    tt_persist: timerRemaining(tp, TT_PERSIST, now),
    tt_keep: timerRemaining(tp, TT_KEEP, now),
    tt_2msl: timerRemaining(tp, TT_2MSL, now),
    tt_delack: timerRemaining(tp, TT_DELACK, now),
  };
}

/**
 * tcp_destroy (tcp_subr.c), the vnet going away, freeing what is easy first: the SYN
 * cache, the connections in TIME_WAIT, then every connection left dropped with an RST so
 * its peer learns at once (tcp_drop), the listeners with them. FreeBSD's processes are
 * gone before it runs, so it can empty the host cache first; here the drops happen inside
 * and each may save its RTT there (tcp_discardcb), so the host cache (a private one; a
 * cache the stack's workers share is the stack's) and its prune callout go last. The pcb
 * list, the zones and the wheel are then empty.
 */
export function tcpDestroy(tcp: Tcp): void {
  tcp.syncache.destroy();
  for (const tp of [...tcp.tcbs]) if (tp.t_state === TCPS_TIME_WAIT) tcpClose(tcp, tp);
  for (const tp of [...tcp.tcbs]) tcpDrop(tcp, tp, ERRNO.ECONNABORTED);
  // The host cache last (tcp_hc_destroy after the pcbs): a dropped connection with enough
  // RTT samples saves into it and re-arms the prune callout (tcp_discardcb).
  if (!(tcp.hostcache.buf instanceof SharedArrayBuffer)) tcp.hostcache.purge(true);
  tcp.wheel.stop(tcp.hcCallout);
}
