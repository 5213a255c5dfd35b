/**
 * pf (sys/netpfil/pf/pf.c): the filter a pfil hook runs on every IPv4 and IPv6
 * datagram in and out. A packet of a flow with a state passes on the state
 * (pf_find_state, then pf_test_state_tcp / _udp / _icmp); any other is judged by the
 * ruleset, last match wins unless a `quick` rule matched first (pf_test_rule), and a
 * `pass ... keep state` creates a state for its flow (pf_create_state).
 *
 * The state key is pf_state_key's: address family, protocol, both addresses and both
 * ports, stored in one orientation (that of an inbound packet: [0] the remote end, [1]
 * ours), so a packet of either direction finds its flow with one hash lookup. Without
 * NAT the wire and stack keys are one, so the state is its own key here.
 *
 * TCP window tracking (pf_tcp_track_full, after van Rooij's "Real Stateful TCP Packet
 * Filtering"), simplified but with pf's four checks on every segment: its last octet is
 * within what the receiver's advertised window allows (seqhi), it starts no more than
 * one window before the highest octet already seen (retransmissions), and its ACK is
 * neither more than a window ahead of nor more than MAXACKWINDOW behind what the
 * other side sent. Window scaling is honoured when both SYNs carried it. A segment that
 * fails is dropped and counted as `state-mismatch`, and so is an RST whose sequence
 * number is not the one expected next (±1), and an ICMP error whose quoted TCP sequence
 * number is outside its sender's window. pf's sequence modulation is not done.
 *
 * The state link (OpenBSD's inp_pf_sk, FreeBSD's pf_mtag statekey): an incoming
 * packet's state is handed up with the packet and linked to the pcb it reaches, and
 * that pcb's packets go out with it so pf skips the lookup. A state can go away while
 * the pcb lives (expiry, a flush) and its slot serve another flow; the link then
 * names a state that is no longer the flow's, and trusting it makes pf judge a packet
 * against another flow's window: the "state mismatch" the FreeBSD change notes fix by
 * clearing the cached link. Here a link is used only when its state is live and its key
 * is the packet's; otherwise it is cleared and the state looked up (stateOfLink).
 *
 * States live with the engine (one group worker) that sees both directions of their
 * flow (RSS), so nothing of theirs is shared or locked. Only their number is: `set limit
 * states` bounds the stack's states, all its workers together (FreeBSD's limit is the
 * host's), through one counter in shared memory that a new state increments atomically
 * (shareStates). No allocation per packet: the
 * packet descriptor and states come from reused storage (states from a free list up to
 * `set limit states`), and expired states are purged on a callout every `timeout
 * interval` of the virtual clock.
 */
import { formatIPv4, formatIPv6, get16, get32, seqGeq, seqGt } from '@mcstack/wire';
import { Callout, type CalloutWheel } from '../../kern/callout.js';
import { ERRNO } from '../../kern/errno.js';
import { INP_IPV4 } from '../../netinet/in_pcb.js';
// pf's per-peer TCP states are TCP's own (tcp_fsm.h), printed by their tcpstates names.
import {
  TCPS_CLOSED,
  TCPS_CLOSING,
  TCPS_ESTABLISHED,
  TCPS_FIN_WAIT_2,
  TCPS_SYN_SENT,
  TCPS_TIME_WAIT,
  TH_ACK,
  TH_FIN,
  TH_RST,
  TH_SYN,
  tcpstates,
} from '../../tcp/var.js';
import { LOG_INFO } from '../../kern/msgbuf.js';
import {
  PFIL_DROPPED,
  PFIL_IN,
  PFIL_OUT,
  PFIL_PASS,
  type PfilHead,
  type PfilPcbLink,
  type PfilHook,
  type PfilPacket,
  type PfilReturn,
} from '../../net/pfil.js';
import {
  PF_DROP,
  PF_IN,
  PF_INOUT,
  PF_OP_EQ,
  PF_OP_GE,
  PF_OP_GT,
  PF_OP_IRG,
  PF_OP_LE,
  PF_OP_LT,
  PF_OP_NE,
  PF_OP_NONE,
  PF_OP_RRG,
  PF_OP_XRG,
  PF_OUT,
  PF_PASS,
  PF_TIMEOUT_DEFAULTS,
  PFRES_BADOFF,
  PFRES_BADSTATE,
  PFRES_MATCH,
  PFRES_MEMORY,
  PFRES_NAMES,
  PFRES_SHORT,
  PFRES_STATEINS,
  PFSTATE_HIWAT,
  PFUDPS_MULTIPLE,
  PFUDPS_NAMES,
  PFUDPS_NO_TRAFFIC,
  PFUDPS_SINGLE,
  type PfRule,
  type PfRuleAddr,
  type PfRuleCounters,
  type PfRuleset,
  type PfReport,
  type PfStateRecord,
  type PfStatus,
  type PfTimeoutName,
} from './pfvar.js';

/** Timeout indices (PFTM_*), in PF_TIMEOUT_DEFAULTS' order. */
const PFTM_NAMES = Object.keys(PF_TIMEOUT_DEFAULTS) as PfTimeoutName[];
const pftm = (n: PfTimeoutName): number => PFTM_NAMES.indexOf(n);
const PFTM_TCP_FIRST = pftm('tcp.first');
const PFTM_TCP_OPENING = pftm('tcp.opening');
const PFTM_TCP_ESTABLISHED = pftm('tcp.established');
const PFTM_TCP_CLOSING = pftm('tcp.closing');
const PFTM_TCP_FIN_WAIT = pftm('tcp.finwait');
const PFTM_TCP_CLOSED = pftm('tcp.closed');
const PFTM_UDP_FIRST = pftm('udp.first');
const PFTM_UDP_SINGLE = pftm('udp.single');
const PFTM_UDP_MULTIPLE = pftm('udp.multiple');
const PFTM_ICMP_FIRST = pftm('icmp.first');
const PFTM_ICMP_ERROR = pftm('icmp.error');
const PFTM_OTHER_FIRST = pftm('other.first');
const PFTM_OTHER_SINGLE = pftm('other.single');
const PFTM_OTHER_MULTIPLE = pftm('other.multiple');
const PFTM_INTERVAL = pftm('interval');

/** pf.c's MAXACKWINDOW: how far an ACK may trail what the other side sent. */
const MAXACKWINDOW = 65535 + 1500;
const PF_WSCALE_FLAG = 0x80;
const PF_WSCALE_MASK = 0x0f;

/** One direction of a state (pf_state_peer). */
class PfStatePeer {
  seqlo = 0;
  seqhi = 0;
  maxWin = 0;
  /** PF_WSCALE_FLAG | shift when the SYN carried a window scale option. */
  wscale = 0;
  state = 0;
  reset(): void {
    this.seqlo = 0;
    this.seqhi = 0;
    this.maxWin = 0;
    this.wscale = 0;
    this.state = 0;
  }
}

/** A state and its key (pf_kstate with its pf_state_key). */
export class PfState {
  live = false;
  af: 4 | 6 = 4;
  proto = 0;
  /** The key, in an inbound packet's orientation: [0] remote, [1] local. */
  readonly addr0 = new Uint8Array(16);
  readonly addr1 = new Uint8Array(16);
  port0 = 0;
  port1 = 0;
  hash = 0;
  hnext: PfState | null = null;
  /** The direction of the packet that created the state: its sender is `src`. */
  direction = PF_IN;
  readonly src = new PfStatePeer();
  readonly dst = new PfStatePeer();
  rule = -1;
  timeout = 0;
  creation = 0;
  /** Last activity (µs): the state expires `timeout` after it. */
  expire = 0;
  packets = 0;
  bytes = 0;
}

/** The packet being judged (pf_pdesc), reused. */
class PfPdesc {
  buf: Uint8Array = new Uint8Array(0);
  af: 4 | 6 = 4;
  dir = PF_IN;
  proto = 0;
  srcOff = 0;
  dstOff = 0;
  alen = 4;
  /** Offset and length of the transport header and everything after it; -1 when not parsed (a later fragment). */
  l4 = -1;
  l4len = 0;
  totLen = 0;
  sport = 0;
  dport = 0;
  thFlags = 0;
  seq = 0;
  ack = 0;
  win = 0;
  /** TCP payload length. */
  pLen = 0;
  /** TCP header length. */
  thLen = 0;
  icmpType = -1;
}

function isIcmpQuery(af: 4 | 6, type: number): boolean {
  return af === 4 ? type === 8 || type === 0 || type === 13 || type === 14 : type === 128 || type === 129;
}
function isIcmpError(af: 4 | 6, type: number): boolean {
  return af === 4 ? type === 3 || type === 11 || type === 12 : type >= 1 && type <= 4;
}

/** testQuoted's answers besides a PFRES_* reason (>= 0). */
const QUOTED_NONE = -2;
const QUOTED_PASS = -1;

/** pf_match_port. */
function matchPort(op: number, a1: number, a2: number, p: number): boolean {
  switch (op) {
    case PF_OP_IRG:
      return p > a1 && p < a2;
    case PF_OP_XRG:
      return p < a1 || p > a2;
    case PF_OP_RRG:
      return p >= a1 && p <= a2;
    case PF_OP_EQ:
      return p === a1;
    case PF_OP_NE:
      return p !== a1;
    case PF_OP_LT:
      return p < a1;
    case PF_OP_LE:
      return p <= a1;
    case PF_OP_GT:
      return p > a1;
    case PF_OP_GE:
      return p >= a1;
  }
  return true;
}

/** PF_MATCHA: the prefix of `a` against buf[off..]. */
function matchAddr(a: PfRuleAddr, buf: Uint8Array, off: number): boolean {
  let ok = true;
  const full = a.plen >>> 3;
  for (let i = 0; i < full; i++)
    if (buf[off + i] !== a.addr[i]) {
      ok = false;
      break;
    }
  const rem = a.plen & 7;
  if (ok && rem !== 0) {
    const mask = (0xff00 >> rem) & 0xff;
    ok = (buf[off + full]! & mask) === a.addr[full];
  }
  return ok !== a.neg;
}

/** Bytes of the shared state count for a stack of `workers` (Pf.shareStates). */
export function pfSharedBytes(workers: number): number {
  return 4 * (1 + workers);
}

/**
 * A worker that died took its states with it: its share leaves the stack's count, so the
 * limit does not stay taken by states that no longer exist.
 */
export function pfSharedRelease(sab: SharedArrayBuffer, worker: number): void {
  const w = new Int32Array(sab);
  Atomics.sub(w, 0, Atomics.exchange(w, 1 + worker, 0));
}

export interface PfOptions {
  callouts: CalloutWheel;
  now(): number;
  log?(priority: number, text: string): void;
}

/** What pf reads of a pcb to move its flow's state: the family, addresses, ports and link. */
export interface PfPcb extends PfilPcbLink {
  inp_vflag: number;
  readonly inp_laddr: Uint8Array;
  readonly inp_faddr: Uint8Array;
  inp_lport: number;
  inp_fport: number;
}

/** One side of a moving state: seqlo, seqhi, max_win, wscale, state. */
export type PfPeerExport = [number, number, number, number, number];

/** A state moving with its connection (structured-clone safe); times are relative to the export. */
export interface PfStateExport {
  af: 4 | 6;
  proto: number;
  addr0: Uint8Array;
  addr1: Uint8Array;
  port0: number;
  port1: number;
  direction: number;
  src: PfPeerExport;
  dst: PfPeerExport;
  timeout: number;
  /** µs since creation and since the last packet, at export. */
  age: number;
  idle: number;
  packets: number;
  bytes: number;
}

/** One engine's pf: its ruleset copy, its states and counters, its pfil hooks. */
export class Pf {
  private rules: PfRule[] = [];
  private ruleCounters: PfRuleCounters[] = [];
  /** Timeouts in µs by PFTM index. */
  private tmo = new Float64Array(PFTM_NAMES.length);
  private limitStates = PFSTATE_HIWAT;
  private readonly timeouts = { ...PF_TIMEOUT_DEFAULTS } as Record<PfTimeoutName, number>;
  private pool: PfState[] = [];
  private free: PfState[] = [];
  private table: (PfState | null)[] = [];
  private mask = 0;
  private readonly pd = new PfPdesc();
  /** A key built from a pcb: remote address at 0, local at 16. */
  private readonly pcbKey = new Uint8Array(32);
  private readonly purgeCallout: Callout;
  readonly status: PfStatus = {
    running: false,
    since: 0,
    states: 0,
    searches: 0,
    inserts: 0,
    removals: 0,
    counters: PFRES_NAMES.map(() => 0),
    passIn: 0,
    passOut: 0,
    dropIn: 0,
    dropOut: 0,
  };
  /**
   * States in use: [0] the stack's (every worker's engine adds its own into it: what `set
   * limit states` bounds), [slot] this engine's share of it, for the stack to take back if
   * the worker dies (pfSharedRelease). Private to the engine until shareStates.
   */
  private shared: Int32Array<ArrayBufferLike> = new Int32Array(2);
  private slot = 1;
  private readonly hook: PfilHook;

  constructor(
    private readonly o: PfOptions,
    private readonly heads: readonly PfilHead[],
  ) {
    this.hook = { modname: 'pf', rulname: 'default', func: (b, off, len, pkt) => this.test(b, off, len, pkt) };
    this.purgeCallout = new Callout(() => this.purge());
    this.setTimeouts(this.timeouts);
  }

  /* ------------------------------------------------------------ control (pf_ioctl.c) */

  /** DIOCSTART: hook into every head (hook_pf). -EEXIST when running. */
  start(): number {
    if (this.status.running) return -ERRNO.EEXIST;
    for (const h of this.heads) h.addHook(this.hook, PFIL_IN | PFIL_OUT);
    this.status.running = true;
    this.status.since = this.o.now();
    this.armPurge();
    return 0;
  }

  /** DIOCSTOP: unhook (dehook_pf). -ENOENT when not running. States stay until they expire. */
  stop(): number {
    if (!this.status.running) return -ERRNO.ENOENT;
    for (const h of this.heads) h.removeHook(this.hook);
    this.status.running = false;
    return 0;
  }

  /**
   * DIOCXCOMMIT: replace the ruleset, its timeouts and limits at once. Existing states
   * stay and keep passing their flows; they no longer count for any rule.
   */
  load(rs: PfRuleset): void {
    this.rules = rs.rules;
    this.ruleCounters = rs.rules.map(() => ({
      evaluations: 0,
      packetsIn: 0,
      packetsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      statesCur: 0,
      statesTot: 0,
    }));
    for (const s of this.pool) s.rule = -1;
    this.limitStates = rs.limitStates;
    this.setTimeouts(rs.timeouts);
    if (this.table.length === 0 || this.table.length < Math.min(rs.limitStates, 1 << 16) / 4) {
      let n = 1024;
      while (n < Math.min(rs.limitStates, 1 << 16) && n < 1 << 16) n <<= 1;
      this.rehash(n);
    }
    this.armPurge();
  }

  get ruleset(): readonly PfRule[] {
    return this.rules;
  }

  get counters(): readonly PfRuleCounters[] {
    return this.ruleCounters;
  }

  /** DIOCCLRSTATES (`pfctl -F states`): the number removed. */
  flushStates(): number {
    let n = 0;
    for (const s of this.pool)
      if (s.live) {
        this.remove(s);
        n++;
      }
    return n;
  }

  /** DIOCGETSTATES: every live state as `pfctl -s states` lists it. */
  states(): PfStateRecord[] {
    const format = (b: Uint8Array, af: 4 | 6): string => (af === 4 ? formatIPv4(b) : formatIPv6(b));
    const now = this.o.now();
    const out: PfStateRecord[] = [];
    for (const s of this.pool) {
      if (!s.live) continue;
      const names: readonly string[] = s.proto === 6 ? tcpstates : PFUDPS_NAMES;
      const alen = s.af === 4 ? 4 : 16;
      out.push({
        ifname: 'all',
        proto: s.proto,
        af: s.af,
        direction: s.direction,
        addr0: format(s.addr0.subarray(0, alen), s.af),
        port0: s.port0,
        addr1: format(s.addr1.subarray(0, alen), s.af),
        port1: s.port1,
        srcState: names[s.src.state] ?? String(s.src.state),
        dstState: names[s.dst.state] ?? String(s.dst.state),
        age: Math.floor((now - s.creation) / 1e6),
        expiresIn: Math.max(0, Math.ceil((s.expire + this.tmo[s.timeout]! - now) / 1e6)),
        packets: s.packets,
        bytes: s.bytes,
        rule: s.rule,
      });
    }
    return out;
  }

  /** What `pfctl -s` reads from this engine (plain data for the control plane). */
  report(): PfReport {
    return {
      now: this.o.now(),
      rules: this.rules,
      counters: this.ruleCounters.map((c) => ({ ...c })),
      status: { ...this.status, counters: [...this.status.counters] },
      states: this.states(),
      timeouts: { ...this.timeouts },
      limitStates: this.limitStates,
      statesInUse: this.statesInUse,
    };
  }

  /**
   * Count this engine's states in the stack's shared counter (`sab` of pfSharedBytes(workers),
   * the same for every worker; `worker` this engine's index), so `set limit states` holds
   * for the stack as one limit.
   */
  shareStates(sab: SharedArrayBuffer, worker: number): void {
    const w = new Int32Array(sab);
    if (worker < 0 || 1 + worker >= w.length) throw new RangeError(`pf: worker ${worker} has no slot`);
    const n = this.status.states;
    Atomics.add(w, 0, n);
    Atomics.add(w, 1 + worker, n);
    this.shared = w;
    this.slot = 1 + worker;
  }

  /** The states the limit counts now: the stack's, every worker's together when shared. */
  get statesInUse(): number {
    return Atomics.load(this.shared, 0);
  }

  /** One more state, if the limit allows it (pf_state_insert's check against PF_LIMIT_STATES). */
  private reserveState(): boolean {
    const w = this.shared;
    if (Atomics.add(w, 0, 1) >= this.limitStates) {
      Atomics.sub(w, 0, 1);
      return false;
    }
    Atomics.add(w, this.slot, 1);
    return true;
  }

  /**
   * Take the state of a TCP connection's flow out of this engine, its connection moving to
   * another (tcp/export.ts): from the pcb's link when it still names the flow, else by the
   * pcb's addresses and ports. null when the flow has no state here.
   */
  exportState(inp: PfPcb): PfStateExport | null {
    const v4 = (inp.inp_vflag & INP_IPV4) !== 0;
    const af = v4 ? 4 : 6;
    const k = this.pcbKey;
    const from = v4 ? 12 : 0;
    k.set(inp.inp_faddr.subarray(from, 16), 0);
    k.set(inp.inp_laddr.subarray(from, 16), 16);
    const linked = inp.inp_pf_sk as PfState | null;
    let st = linked !== null && this.keyMatches(linked, af, 6, k, 0, 16, inp.inp_fport, inp.inp_lport) ? linked : null;
    if (st === null) {
      const h = this.hashKey(af, 6, k, 0, k, 16, inp.inp_fport, inp.inp_lport);
      st = this.lookup(h, af, 6, k, 0, 16, inp.inp_fport, inp.inp_lport);
    }
    inp.inp_pf_sk = null;
    if (st === null) return null;
    const now = this.o.now();
    const peer = (p: PfStatePeer): PfPeerExport => [p.seqlo, p.seqhi, p.maxWin, p.wscale, p.state];
    const x: PfStateExport = {
      af: st.af,
      proto: st.proto,
      addr0: st.addr0.slice(),
      addr1: st.addr1.slice(),
      port0: st.port0,
      port1: st.port1,
      direction: st.direction,
      src: peer(st.src),
      dst: peer(st.dst),
      timeout: st.timeout,
      age: now - st.creation,
      idle: now - st.expire,
      packets: st.packets,
      bytes: st.bytes,
    };
    this.remove(st);
    return x;
  }

  /**
   * Continue a state exported with its connection (exportState), linked to the connection's
   * new pcb. It counts for no rule here. -EEXIST when the flow already has a state, -ENOBUFS
   * at the state limit.
   */
  importState(x: PfStateExport, inp: PfPcb): number {
    const alen = x.af === 4 ? 4 : 16;
    const h = this.hashKey(x.af, x.proto, x.addr0, 0, x.addr1, 0, x.port0, x.port1);
    const k = this.pcbKey;
    k.set(x.addr0.subarray(0, alen), 0);
    k.set(x.addr1.subarray(0, alen), 16);
    if (this.lookup(h, x.af, x.proto, k, 0, 16, x.port0, x.port1) !== null) return -ERRNO.EEXIST;
    if (!this.reserveState()) return -ERRNO.ENOBUFS;
    const s = this.free.pop() ?? this.grow();
    const now = this.o.now();
    s.live = true;
    s.af = x.af;
    s.proto = x.proto;
    s.addr0.set(x.addr0.subarray(0, 16));
    s.addr1.set(x.addr1.subarray(0, 16));
    s.port0 = x.port0;
    s.port1 = x.port1;
    s.hash = h;
    s.direction = x.direction;
    s.rule = -1;
    s.timeout = x.timeout;
    s.creation = now - x.age;
    s.expire = now - x.idle;
    s.packets = x.packets;
    s.bytes = x.bytes;
    for (const [p, v] of [
      [s.src, x.src],
      [s.dst, x.dst],
    ] as const) {
      [p.seqlo, p.seqhi, p.maxWin, p.wscale, p.state] = v;
    }
    this.link(s);
    this.status.states++;
    this.status.inserts++;
    this.armPurge();
    inp.inp_pf_sk = s;
    return 0;
  }

  private grow(): PfState {
    const s = new PfState();
    this.pool.push(s);
    return s;
  }

  private setTimeouts(t: Record<PfTimeoutName, number>): void {
    for (let i = 0; i < PFTM_NAMES.length; i++) {
      const name = PFTM_NAMES[i]!;
      this.timeouts[name] = t[name];
      this.tmo[i] = t[name] * 1e6;
    }
  }

  private rehash(n: number): void {
    const old = this.table;
    this.table = new Array<PfState | null>(n).fill(null);
    this.mask = n - 1;
    for (let h of old)
      while (h !== null) {
        const next = h.hnext;
        this.link(h);
        h = next;
      }
  }

  private armPurge(): void {
    if (this.status.states > 0 && !this.purgeCallout.pending)
      this.o.callouts.reset(this.purgeCallout, this.o.now() + this.tmo[PFTM_INTERVAL]!);
  }

  /** pf_purge_expired_states: every `timeout interval`, the states idle past their timeout go. */
  private purge(): void {
    const now = this.o.now();
    for (const s of this.pool) if (s.live && now - s.expire >= this.tmo[s.timeout]!) this.remove(s);
    this.armPurge();
  }

  /* ------------------------------------------------------------ state table */

  private hashKey(
    af: number,
    proto: number,
    b0: Uint8Array,
    o0: number,
    b1: Uint8Array,
    o1: number,
    p0: number,
    p1: number,
  ): number {
    const alen = af === 4 ? 4 : 16;
    let h = (0x811c9dc5 ^ (proto << 8) ^ af) >>> 0;
    for (let i = 0; i < alen; i++) h = Math.imul(h ^ b0[o0 + i]!, 0x01000193);
    for (let i = 0; i < alen; i++) h = Math.imul(h ^ b1[o1 + i]!, 0x01000193);
    h = Math.imul(h ^ ((p0 << 16) | p1), 0x01000193);
    return (h ^ (h >>> 15)) >>> 0;
  }

  private link(s: PfState): void {
    const i = s.hash & this.mask;
    s.hnext = this.table[i] ?? null;
    this.table[i] = s;
  }

  private remove(s: PfState): void {
    const i = s.hash & this.mask;
    let p = this.table[i] ?? null;
    if (p === s) this.table[i] = s.hnext;
    else
      while (p !== null) {
        if (p.hnext === s) {
          p.hnext = s.hnext;
          break;
        }
        p = p.hnext;
      }
    s.hnext = null;
    s.live = false;
    const c = s.rule >= 0 ? this.ruleCounters[s.rule] : undefined;
    if (c !== undefined) c.statesCur--;
    this.status.states--;
    Atomics.sub(this.shared, 0, 1);
    Atomics.sub(this.shared, this.slot, 1);
    this.status.removals++;
    this.free.push(s);
  }

  /** Does state `s` have the key (af, proto, b[remoteOff..], b[localOff..], rport, lport)? */
  private keyMatches(
    s: PfState,
    af: 4 | 6,
    proto: number,
    b: Uint8Array,
    remoteOff: number,
    localOff: number,
    rport: number,
    lport: number,
  ): boolean {
    if (!s.live || s.af !== af || s.proto !== proto || s.port0 !== rport || s.port1 !== lport) return false;
    const alen = af === 4 ? 4 : 16;
    for (let i = 0; i < alen; i++) if (s.addr0[i] !== b[remoteOff + i] || s.addr1[i] !== b[localOff + i]) return false;
    return true;
  }

  /** The state of a key whose hash is `h`, or null. */
  private lookup(
    h: number,
    af: 4 | 6,
    proto: number,
    b: Uint8Array,
    remoteOff: number,
    localOff: number,
    rport: number,
    lport: number,
  ): PfState | null {
    for (let s = this.table[h & this.mask] ?? null; s !== null; s = s.hnext)
      if (s.hash === h && this.keyMatches(s, af, proto, b, remoteOff, localOff, rport, lport)) return s;
    return null;
  }

  /** pf_find_state: the state of the packet in pd whose key is (remote, local, rport, lport) in pd's buffer. */
  private find(pd: PfPdesc, remoteOff: number, localOff: number, rport: number, lport: number): PfState | null {
    this.status.searches++;
    const h = this.hashKey(pd.af, pd.proto, pd.buf, remoteOff, pd.buf, localOff, rport, lport);
    return this.lookup(h, pd.af, pd.proto, pd.buf, remoteOff, localOff, rport, lport);
  }

  /* ------------------------------------------------------------ pf_test */

  /** The pfil hook: parse, then state or rules. */
  private test(buf: Uint8Array, off: number, len: number, pkt: PfilPacket): PfilReturn {
    const pd = this.pd;
    const dir = pkt.dir === PFIL_IN ? PF_IN : PF_OUT;
    pd.buf = buf;
    pd.dir = dir;
    pd.totLen = len;
    const reason = this.parse(buf, off, len);
    if (reason >= 0) return this.drop(reason, dir);
    // Both orientations of a key: an inbound packet's source is the remote end.
    const inb = dir === PF_IN;
    const remoteOff = inb ? pd.srcOff : pd.dstOff;
    const localOff = inb ? pd.dstOff : pd.srcOff;
    const rport = inb ? pd.sport : pd.dport;
    const lport = inb ? pd.dport : pd.sport;
    let s: PfState | null = null;
    if (pd.l4 >= 0) {
      if (pd.icmpType >= 0 && isIcmpError(pd.af, pd.icmpType)) {
        // An ICMP error about a flow with a state passes on it when what it quotes fits
        // the state (pf_test_state_icmp); about no state, the rules judge it.
        const q = this.testQuoted(pd);
        if (q === QUOTED_PASS) return this.pass(dir);
        if (q >= 0) return this.drop(q, dir);
      } else {
        const link = pkt.inp;
        if (link !== null && link.inp_pf_sk !== null) s = this.stateOfLink(link, remoteOff, localOff, rport, lport);
        s ??= this.find(pd, remoteOff, localOff, rport, lport);
      }
    }
    if (s !== null) {
      if (!this.testState(s, pd)) return this.drop(PFRES_BADSTATE, dir);
      s.packets++;
      s.bytes += len;
      pkt.statekey = s;
      return this.pass(dir);
    }
    return this.testRule(pd, pkt, remoteOff, localOff, rport, lport, len);
  }

  /**
   * The state a pcb's link names, when it is still the packet's flow; else the link is
   * cleared (the change notes' fix: a stale link would judge the packet against another
   * flow's state) and null tells the caller to look the state up.
   */
  private stateOfLink(
    link: PfilPcbLink,
    remoteOff: number,
    localOff: number,
    rport: number,
    lport: number,
  ): PfState | null {
    const pd = this.pd;
    const cached = link.inp_pf_sk as PfState;
    if (this.keyMatches(cached, pd.af, pd.proto, pd.buf, remoteOff, localOff, rport, lport)) return cached;
    link.inp_pf_sk = null;
    return null;
  }

  private pass(dir: number): PfilReturn {
    if (dir === PF_IN) this.status.passIn++;
    else this.status.passOut++;
    return PFIL_PASS;
  }

  private drop(reason: number, dir: number): PfilReturn {
    this.status.counters[reason]!++;
    if (dir === PF_IN) this.status.dropIn++;
    else this.status.dropOut++;
    return PFIL_DROPPED;
  }

  /** Fill pd from the datagram; a PFRES_* reason to drop it, or -1. */
  private parse(buf: Uint8Array, off: number, len: number): number {
    const pd = this.pd;
    pd.l4 = -1;
    pd.sport = 0;
    pd.dport = 0;
    pd.thFlags = 0;
    pd.icmpType = -1;
    let nxt: number;
    let l4: number;
    const end = off + len;
    if (buf[off]! >>> 4 === 4) {
      pd.af = 4;
      pd.alen = 4;
      pd.srcOff = off + 12;
      pd.dstOff = off + 16;
      nxt = buf[off + 9]!;
      l4 = off + ((buf[off]! & 0x0f) << 2);
      // A later fragment has no transport header: rules without ports judge it.
      if ((get16(buf, off + 6) & 0x1fff) !== 0) {
        pd.proto = nxt;
        return -1;
      }
    } else {
      pd.af = 6;
      pd.alen = 16;
      pd.srcOff = off + 8;
      pd.dstOff = off + 24;
      nxt = buf[off + 6]!;
      l4 = off + 40;
      // Hop-by-hop, routing and destination options, and an atomic fragment header.
      for (let n = 0; n < 8 && (nxt === 0 || nxt === 43 || nxt === 60 || nxt === 44); n++) {
        if (l4 + 8 > end) return PFRES_SHORT;
        if (nxt === 44) {
          if ((get16(buf, l4 + 2) & 0xfff9) !== 0) {
            pd.proto = buf[l4]!;
            return -1;
          }
          nxt = buf[l4]!;
          l4 += 8;
        } else {
          const hl = (buf[l4 + 1]! + 1) << 3;
          nxt = buf[l4]!;
          l4 += hl;
        }
      }
    }
    pd.proto = nxt;
    const rem = end - l4;
    if (nxt === 6) {
      if (rem < 20) return PFRES_SHORT;
      const thLen = (buf[l4 + 12]! >>> 4) << 2;
      if (thLen < 20 || thLen > rem) return PFRES_BADOFF;
      pd.sport = get16(buf, l4);
      pd.dport = get16(buf, l4 + 2);
      pd.seq = get32(buf, l4 + 4);
      pd.ack = get32(buf, l4 + 8);
      pd.thFlags = buf[l4 + 13]!;
      pd.win = get16(buf, l4 + 14);
      pd.thLen = thLen;
      pd.pLen = rem - thLen;
    } else if (nxt === 17) {
      if (rem < 8) return PFRES_SHORT;
      pd.sport = get16(buf, l4);
      pd.dport = get16(buf, l4 + 2);
    } else if ((nxt === 1 && pd.af === 4) || (nxt === 58 && pd.af === 6)) {
      if (rem < 8) return PFRES_SHORT;
      pd.icmpType = buf[l4]!;
      // A query's id stands for both ports (pf's ICMP state key).
      if (isIcmpQuery(pd.af, pd.icmpType)) {
        pd.sport = get16(buf, l4 + 4);
        pd.dport = pd.sport;
      }
    }
    pd.l4 = l4;
    pd.l4len = rem;
    return -1;
  }

  /**
   * pf_test_state_icmp for an error: the state of the flow its quoted datagram belongs
   * to. QUOTED_NONE when there is none (the rules decide), QUOTED_PASS when it fits, else
   * the PFRES_* reason to drop it. A quoted TCP segment must carry the first 8 octets of
   * its header (RFC 792, RFC 4443 §2.4 quote at least that much; pf_pull_hdr's `short`),
   * and its sequence number must lie within what its sender may have sent: from one
   * window of its peer before seqlo up to seqhi (pf.c's "BAD ICMP" check, state-mismatch).
   * No ACK check: the quote may end after th_seq.
   */
  private testQuoted(pd: PfPdesc): number {
    const b = pd.buf;
    const q = pd.l4 + 8;
    const end = pd.l4 + pd.l4len;
    let qproto: number;
    let qsrc: number;
    let qdst: number;
    let ql4: number;
    if (pd.af === 4) {
      if (q + 20 > end) return QUOTED_NONE;
      qproto = b[q + 9]!;
      qsrc = q + 12;
      qdst = q + 16;
      ql4 = q + ((b[q]! & 0x0f) << 2);
    } else {
      if (q + 40 > end) return QUOTED_NONE;
      qproto = b[q + 6]!;
      qsrc = q + 8;
      qdst = q + 24;
      ql4 = q + 40;
    }
    if ((qproto !== 6 && qproto !== 17) || ql4 + 4 > end) return QUOTED_NONE;
    const qs = get16(b, ql4);
    const qd = get16(b, ql4 + 2);
    // The quoted datagram went the other way: seen in its own direction, its
    // source is local when the error comes in.
    const saveProto = pd.proto;
    pd.proto = qproto;
    const inb = pd.dir === PF_IN;
    const s = inb ? this.find(pd, qdst, qsrc, qd, qs) : this.find(pd, qsrc, qdst, qs, qd);
    pd.proto = saveProto;
    if (s === null) return QUOTED_NONE;
    if (qproto !== 6) return QUOTED_PASS;
    if (ql4 + 8 > end) return PFRES_SHORT;
    // The quoted segment's sender: the state's responder when the error travels the
    // way the state's first packet did, its initiator otherwise.
    const src = pd.dir === s.direction ? s.dst : s.src;
    const dst = pd.dir === s.direction ? s.src : s.dst;
    const dws = src.wscale & PF_WSCALE_FLAG && dst.wscale & PF_WSCALE_FLAG ? dst.wscale & PF_WSCALE_MASK : 0;
    const seq = get32(b, ql4 + 4);
    if (!seqGeq(src.seqhi, seq) || !seqGeq(seq, (src.seqlo - (dst.maxWin << dws)) >>> 0)) return PFRES_BADSTATE;
    return QUOTED_PASS;
  }

  /** pf_test_rule: last match wins, `quick` ends the walk. */
  private testRule(
    pd: PfPdesc,
    pkt: PfilPacket,
    remoteOff: number,
    localOff: number,
    rport: number,
    lport: number,
    len: number,
  ): PfilReturn {
    const rules = this.rules;
    let match = -1;
    const ifname = pkt.ifp.name;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      this.ruleCounters[i]!.evaluations++;
      if (r.direction !== PF_INOUT && r.direction !== pd.dir) continue;
      if (r.ifname !== null && r.ifname !== ifname) continue;
      if (r.af !== 0 && r.af !== pd.af) continue;
      if (r.proto !== 0 && r.proto !== pd.proto) continue;
      if (!r.src.any && !matchAddr(r.src, pd.buf, pd.srcOff)) continue;
      if (!r.dst.any && !matchAddr(r.dst, pd.buf, pd.dstOff)) continue;
      if (r.src.op !== PF_OP_NONE && (pd.l4 < 0 || !matchPort(r.src.op, r.src.port1, r.src.port2, pd.sport))) continue;
      if (r.dst.op !== PF_OP_NONE && (pd.l4 < 0 || !matchPort(r.dst.op, r.dst.port1, r.dst.port2, pd.dport))) continue;
      // flags S/SA tests TCP segments only (pf.c's pf_test_rule): other protocols match without.
      if (r.flagset !== 0 && pd.proto === 6 && (pd.l4 < 0 || (pd.thFlags & r.flagset) !== r.flags)) continue;
      match = i;
      if (r.quick) break;
    }
    const r = match >= 0 ? rules[match]! : null;
    const dir = pd.dir;
    if (r !== null) {
      this.status.counters[PFRES_MATCH]!++;
      const c = this.ruleCounters[match]!;
      if (dir === PF_IN) {
        c.packetsIn++;
        c.bytesIn += len;
      } else {
        c.packetsOut++;
        c.bytesOut += len;
      }
      if (r.log) this.pflog(r, pd, pkt);
      if (r.action === PF_DROP) {
        // A block rule's drop is counted as its match (above), not twice.
        if (dir === PF_IN) this.status.dropIn++;
        else this.status.dropOut++;
        return PFIL_DROPPED;
      }
      if (r.keepState && pd.l4 >= 0 && !(pd.icmpType >= 0 && !isIcmpQuery(pd.af, pd.icmpType))) {
        const s = this.createState(pd, match, remoteOff, localOff, rport, lport, len);
        if (s === null) return PFIL_DROPPED;
        pkt.statekey = s;
      }
    }
    return this.pass(dir);
  }

  /** pflog: the packet and the rule, through log(9) (`dmesg`), as tcpdump -i pflog0 shows it. */
  private pflog(r: PfRule, pd: PfPdesc, pkt: PfilPacket): void {
    if (this.o.log === undefined) return;
    const a = (off: number): string =>
      pd.af === 4
        ? `${pd.buf[off]}.${pd.buf[off + 1]}.${pd.buf[off + 2]}.${pd.buf[off + 3]}`
        : Array.from({ length: 8 }, (_, i) => get16(pd.buf, off + 2 * i).toString(16)).join(':');
    const ports = pd.l4 >= 0 && (pd.proto === 6 || pd.proto === 17);
    this.o.log(
      LOG_INFO,
      `pf: rule ${r.nr}/0(match): ${r.action === PF_PASS ? 'pass' : 'block'} ${pd.dir === PF_IN ? 'in' : 'out'} on ${pkt.ifp.name}: ` +
        `${a(pd.srcOff)}${ports ? `.${pd.sport}` : ''} > ${a(pd.dstOff)}${ports ? `.${pd.dport}` : ''}: proto ${pd.proto} len ${pd.totLen}`,
    );
  }

  /** pf_create_state (and pf_state_insert). null when the state limit is reached. */
  private createState(
    pd: PfPdesc,
    rule: number,
    remoteOff: number,
    localOff: number,
    rport: number,
    lport: number,
    len: number,
  ): PfState | null {
    const h = this.hashKey(pd.af, pd.proto, pd.buf, remoteOff, pd.buf, localOff, rport, lport);
    if (this.lookup(h, pd.af, pd.proto, pd.buf, remoteOff, localOff, rport, lport) !== null) {
      this.drop(PFRES_STATEINS, pd.dir);
      return null;
    }
    if (!this.reserveState()) {
      this.drop(PFRES_MEMORY, pd.dir);
      return null;
    }
    const s = this.free.pop() ?? this.grow();
    const now = this.o.now();
    s.live = true;
    s.af = pd.af;
    s.proto = pd.proto;
    for (let i = 0; i < pd.alen; i++) {
      s.addr0[i] = pd.buf[remoteOff + i]!;
      s.addr1[i] = pd.buf[localOff + i]!;
    }
    s.port0 = rport;
    s.port1 = lport;
    s.hash = h;
    s.direction = pd.dir;
    s.rule = rule;
    s.creation = now;
    s.expire = now;
    s.packets = 1;
    s.bytes = len;
    s.src.reset();
    s.dst.reset();
    if (pd.proto === 6) {
      const src = s.src;
      src.seqlo = pd.seq;
      src.seqhi = (pd.seq + pd.pLen + 1) >>> 0;
      src.maxWin = Math.max(pd.win, 1);
      if (pd.thFlags & TH_SYN) {
        src.seqhi = (src.seqhi + 1) >>> 0;
        src.wscale = this.wscale(pd);
        if (src.wscale & PF_WSCALE_MASK) {
          // The window of a SYN is never scaled (RFC 7323 §2.2): store it unscaled.
          const shift = src.wscale & PF_WSCALE_MASK;
          src.maxWin = (src.maxWin + (1 << shift) - 1) >>> shift;
        }
      }
      if (pd.thFlags & TH_FIN) src.seqhi = (src.seqhi + 1) >>> 0;
      s.dst.seqhi = 1;
      s.dst.maxWin = 1;
      src.state = TCPS_SYN_SENT;
      s.dst.state = TCPS_CLOSED;
      s.timeout = PFTM_TCP_FIRST;
    } else {
      s.src.state = PFUDPS_SINGLE;
      s.dst.state = PFUDPS_NO_TRAFFIC;
      s.timeout = pd.proto === 17 ? PFTM_UDP_FIRST : pd.icmpType >= 0 ? PFTM_ICMP_FIRST : PFTM_OTHER_FIRST;
    }
    this.link(s);
    this.status.states++;
    this.status.inserts++;
    const c = this.ruleCounters[rule]!;
    c.statesCur++;
    c.statesTot++;
    this.armPurge();
    return s;
  }

  /** pf_get_wscale: PF_WSCALE_FLAG | shift from a SYN's window scale option (RFC 7323 §2.3), else 0. */
  private wscale(pd: PfPdesc): number {
    const b = pd.buf;
    let o = pd.l4 + 20;
    const end = pd.l4 + pd.thLen;
    while (o < end) {
      const kind = b[o]!;
      if (kind === 0) break;
      if (kind === 1) {
        o++;
        continue;
      }
      if (o + 1 >= end) break;
      const olen = b[o + 1]!;
      if (olen < 2 || o + olen > end) break;
      if (kind === 3 && olen === 3) return PF_WSCALE_FLAG | Math.min(b[o + 2]!, 14);
      o += olen;
    }
    return 0;
  }

  /** pf_test_state_*: does the packet fit its state? Updates the state when it does. */
  private testState(s: PfState, pd: PfPdesc): boolean {
    const fromSrc = pd.dir === s.direction;
    const src = fromSrc ? s.src : s.dst;
    const dst = fromSrc ? s.dst : s.src;
    s.expire = this.o.now();
    if (s.proto === 6) return this.trackTcp(s, pd, src, dst);
    // pf_test_state_udp / _other / _icmp: SINGLE until the other side answers.
    if (src.state < PFUDPS_SINGLE) src.state = PFUDPS_SINGLE;
    if (dst.state === PFUDPS_SINGLE) dst.state = PFUDPS_MULTIPLE;
    const both = src.state === PFUDPS_MULTIPLE && dst.state === PFUDPS_MULTIPLE;
    if (s.proto === 17) s.timeout = both ? PFTM_UDP_MULTIPLE : PFTM_UDP_SINGLE;
    else if ((s.af === 4 && s.proto === 1) || (s.af === 6 && s.proto === 58))
      s.timeout = both ? PFTM_ICMP_ERROR : PFTM_ICMP_FIRST;
    else s.timeout = both ? PFTM_OTHER_MULTIPLE : PFTM_OTHER_SINGLE;
    return true;
  }

  /** pf_tcp_track_full, simplified (see the file's comment for what is checked). */
  private trackTcp(s: PfState, pd: PfPdesc, src: PfStatePeer, dst: PfStatePeer): boolean {
    const flags = pd.thFlags;
    // A SYN on a closed state is a new connection on the same ports: pf removes the
    // old state and drops the SYN; its retransmission makes a new state.
    if (flags & TH_SYN && src.state >= TCPS_FIN_WAIT_2 && dst.state >= TCPS_FIN_WAIT_2) {
      this.remove(s);
      return false;
    }
    let sws = 0;
    let dws = 0;
    if (src.wscale & PF_WSCALE_FLAG && dst.wscale & PF_WSCALE_FLAG && !(flags & TH_SYN)) {
      sws = src.wscale & PF_WSCALE_MASK;
      dws = dst.wscale & PF_WSCALE_MASK;
    }
    const origSeq = pd.seq;
    let seq = origSeq;
    let ack = pd.ack;
    const win = pd.win;
    let end: number;
    if (src.state === TCPS_CLOSED) {
      // The first packet from this end (the answer to the SYN): set its side up.
      if (flags & TH_SYN) {
        if (dst.wscale & PF_WSCALE_FLAG) {
          src.wscale = this.wscale(pd);
          // Scaling only when both SYNs offered it (RFC 7323 §2.2).
          if (!(src.wscale & PF_WSCALE_FLAG)) dst.wscale = 0;
        }
      }
      end = (seq + pd.pLen + (flags & TH_SYN ? 1 : 0) + (flags & TH_FIN ? 1 : 0)) >>> 0;
      src.seqlo = seq;
      if (src.state < TCPS_SYN_SENT) src.state = TCPS_SYN_SENT;
      src.seqhi = (end + Math.max(1, dst.maxWin << dws)) >>> 0;
      if (win > src.maxWin) src.maxWin = win;
    } else {
      end = (seq + pd.pLen + (flags & TH_SYN ? 1 : 0) + (flags & TH_FIN ? 1 : 0)) >>> 0;
    }
    if (!(flags & TH_ACK) || dst.state < TCPS_SYN_SENT) ack = dst.seqlo;
    else if (ack === 0 && (flags & (TH_ACK | TH_RST)) === (TH_ACK | TH_RST)) ack = dst.seqlo;
    if (seq === end) {
      // No data: only the ACK matters.
      seq = src.seqlo;
      end = seq;
    }
    const ackskew = (dst.seqlo - ack) | 0;
    if (
      seqGeq(src.seqhi, end) &&
      seqGeq(seq, (src.seqlo - (dst.maxWin << dws)) >>> 0) &&
      ackskew >= -MAXACKWINDOW &&
      ackskew <= MAXACKWINDOW << sws &&
      // An RST only at the sequence number expected next, ±1 (pf.c's "exact/+1 match on
      // resets"; pf always sees reassembled datagrams here): a blind RST (RFC 5961 §3) that
      // is merely inside the window does not end the state.
      (!(flags & TH_RST) ||
        origSeq === src.seqlo ||
        origSeq === (src.seqlo + 1) >>> 0 ||
        (origSeq + 1) >>> 0 === src.seqlo)
    ) {
      if (src.maxWin < win) src.maxWin = win;
      if (seqGt(end, src.seqlo)) src.seqlo = end;
      if (flags & TH_ACK && seqGeq((ack + (win << sws)) >>> 0, dst.seqhi))
        dst.seqhi = (ack + Math.max(win << sws, 1)) >>> 0;
      if (flags & TH_SYN && src.state < TCPS_SYN_SENT) src.state = TCPS_SYN_SENT;
      if (flags & TH_FIN && src.state < TCPS_CLOSING) src.state = TCPS_CLOSING;
      if (flags & TH_ACK) {
        if (dst.state === TCPS_SYN_SENT) dst.state = TCPS_ESTABLISHED;
        else if (dst.state === TCPS_CLOSING) dst.state = TCPS_FIN_WAIT_2;
      }
      if (flags & TH_RST) {
        src.state = TCPS_TIME_WAIT;
        dst.state = TCPS_TIME_WAIT;
      }
      // The timeout follows the pair of peer states (pf_tcp_track_full's end).
      if (src.state >= TCPS_FIN_WAIT_2 && dst.state >= TCPS_FIN_WAIT_2) s.timeout = PFTM_TCP_CLOSED;
      else if (src.state >= TCPS_CLOSING && dst.state >= TCPS_CLOSING) s.timeout = PFTM_TCP_FIN_WAIT;
      else if (src.state < TCPS_ESTABLISHED || dst.state < TCPS_ESTABLISHED) s.timeout = PFTM_TCP_OPENING;
      else if (src.state >= TCPS_CLOSING || dst.state >= TCPS_CLOSING) s.timeout = PFTM_TCP_CLOSING;
      else s.timeout = PFTM_TCP_ESTABLISHED;
      return true;
    }
    return false;
  }
}
