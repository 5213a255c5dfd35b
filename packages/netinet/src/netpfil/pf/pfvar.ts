/**
 * pf's types and constants (net/pfvar.h): rules as pfctl loads them, the state
 * with its key, the timeouts and the reason counters `pfctl -s info` prints.
 */

export const PF_PASS = 0;
export const PF_DROP = 1;

export const PF_INOUT = 0;
export const PF_IN = 1;
export const PF_OUT = 2;

/** Port operators (pf_rule_addr's port_op). */
export const PF_OP_NONE = 0;
export const PF_OP_IRG = 1; // a >< b: strictly between
export const PF_OP_EQ = 2;
export const PF_OP_NE = 3;
export const PF_OP_LT = 4;
export const PF_OP_LE = 5;
export const PF_OP_GT = 6;
export const PF_OP_GE = 7;
export const PF_OP_XRG = 8; // a <> b: outside
export const PF_OP_RRG = 9; // a:b, inclusive

/** pf.conf's flag letters in th_flags bit order (FSRPAUEW). */
export const PF_FLAG_LETTERS = 'FSRPAUEW';

/** One side of a rule: an address (prefix) or any, and a port condition. */
export interface PfRuleAddr {
  /** `any`: no address condition. */
  any: boolean;
  /** Address bytes (4 or 16 by af) and prefix length. */
  addr: Uint8Array;
  plen: number;
  /** `!` before the address. */
  neg: boolean;
  op: number;
  port1: number;
  port2: number;
}

/** Per-rule counters (pf_krule's evaluations, packets, bytes, states), summed across workers. */
export interface PfRuleCounters {
  evaluations: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  statesCur: number;
  statesTot: number;
}

export interface PfRule {
  /** Position in the ruleset (`@N` in pflog and `pfctl -s rules -vv`). */
  nr: number;
  /** The pf.conf line the rule came from (a list expands into several rules with one line). */
  line: number;
  action: typeof PF_PASS | typeof PF_DROP;
  direction: number;
  quick: boolean;
  log: boolean;
  /** `on IF`: interface name, null for any. */
  ifname: string | null;
  /** 0 (either), 4 or 6. */
  af: 0 | 4 | 6;
  /** IP protocol number, 0 for any. */
  proto: number;
  src: PfRuleAddr;
  dst: PfRuleAddr;
  /** `flags F/S`: (th_flags & flagset) === flags; both 0 for `flags any`. */
  flags: number;
  flagset: number;
  keepState: boolean;
}

/** The timeouts (PFTM_*) by pf.conf name, in seconds, with pf's defaults (pf.conf(5)). */
export const PF_TIMEOUT_DEFAULTS = {
  'tcp.first': 120,
  'tcp.opening': 30,
  'tcp.established': 86400,
  'tcp.closing': 900,
  'tcp.finwait': 45,
  'tcp.closed': 90,
  'udp.first': 60,
  'udp.single': 30,
  'udp.multiple': 60,
  'icmp.first': 20,
  'icmp.error': 10,
  'other.first': 60,
  'other.single': 30,
  'other.multiple': 60,
  interval: 10,
} as const;
export type PfTimeoutName = keyof typeof PF_TIMEOUT_DEFAULTS;
export type PfTimeouts = Record<PfTimeoutName, number>;

/** `set limit states` default (PFSTATE_HIWAT). */
export const PFSTATE_HIWAT = 100000;

/** A loaded ruleset: what `pfctl -f` hands every worker. Plain data (structured-clone safe). */
export interface PfRuleset {
  rules: PfRule[];
  timeouts: PfTimeouts;
  limitStates: number;
}

/**
 * The reason counters (PFRES_*) pf can increment here, with pfctl's names:
 * match (a rule matched), bad-offset, short (truncated header), memory (state limit
 * reached), state-mismatch (a packet outside its state's sequence window, or with a
 * state of another flow), state-insert (a state for a key that already has one).
 */
export const PFRES_NAMES = ['match', 'bad-offset', 'short', 'memory', 'state-mismatch', 'state-insert'] as const;
export const PFRES_MATCH = 0;
export const PFRES_BADOFF = 1;
export const PFRES_SHORT = 2;
export const PFRES_MEMORY = 3;
export const PFRES_BADSTATE = 4;
export const PFRES_STATEINS = 5;

/** The state table's counters (pf_status fcounters: searches, inserts, removals). */
export interface PfStatus {
  running: boolean;
  /** Virtual-clock µs when pf was last enabled (pfctl's "Enabled for"). */
  since: number;
  states: number;
  searches: number;
  inserts: number;
  removals: number;
  counters: number[];
  /** Packets passed and blocked by direction (pf_status pcounters, IPv4 and IPv6 together). */
  passIn: number;
  passOut: number;
  dropIn: number;
  dropOut: number;
}

/** UDP and other protocols' peer states (PFUDPS_* / PFOTHERS_*). */
export const PFUDPS_NAMES = ['NO_TRAFFIC', 'SINGLE', 'MULTIPLE'] as const;
export const PFUDPS_NO_TRAFFIC = 0;
export const PFUDPS_SINGLE = 1;
export const PFUDPS_MULTIPLE = 2;

/** One state as `pfctl -s states` lists it. */
export interface PfStateRecord {
  ifname: string;
  proto: number;
  af: 4 | 6;
  direction: number;
  /** The key: addr/port [0] the remote end, [1] ours (the orientation of an inbound packet). */
  addr0: string;
  port0: number;
  addr1: string;
  port1: number;
  /** Initiator's and responder's peer state names. */
  srcState: string;
  dstState: string;
  /** Seconds since creation and until expiry, packets and bytes (both directions). */
  age: number;
  expiresIn: number;
  packets: number;
  bytes: number;
  rule: number;
}

/** One engine's pf as `pfctl -s` reads it; reports of several workers are summed (tools/pfctl.ts). */
export interface PfReport {
  /** The engine's clock, µs, when read. */
  now: number;
  rules: PfRule[];
  /** Per rule, by rule number. */
  counters: PfRuleCounters[];
  status: PfStatus;
  states: PfStateRecord[];
  timeouts: PfTimeouts;
  limitStates: number;
  /** The states `limitStates` counts: the stack's, all its workers together. */
  statesInUse: number;
}
