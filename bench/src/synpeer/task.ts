/** What the main thread hands the synthetic peer's thread, and where its counters sit in shared memory. */
import type { Strategy } from '@mcstack/runtime';

export interface PeerTask {
  /** Rings from each worker of the stack under test. */
  rx: SharedArrayBuffer[];
  /** Rings to each worker of the stack (its RX rings from this peer). */
  tx: SharedArrayBuffer[];
  /** The stack's worker doorbells, its indirection table and strategy (how its NIC places frames). */
  bells: SharedArrayBuffer[];
  indirection: SharedArrayBuffer;
  strategy: Strategy;
  /** The peer's own doorbell: the stack's senders ring it; a signal stops the peer. */
  bell: SharedArrayBuffer;
  /** Float64 counters in PEER_STAT_KEYS order, written by the peer after every batch. */
  stats: SharedArrayBuffer;
  /** Int32 word the peer sets to its thread id (and notifies) when its loop starts. */
  ready: SharedArrayBuffer;
  addr: number[];
  mac: number[];
  port: number;
  key: number[];
}

/** The responder's counters, in the order they sit in `stats`. */
export const RESPONDER_STAT_KEYS = [
  'ipackets',
  'opackets',
  'syns',
  'requests',
  'fins',
  'rstsOut',
  'rstsIn',
  'badsum',
  'malformed',
  'ignored',
  'unsupported',
] as const;
/** Then the loop's own. */
export const PEER_STAT_KEYS = [...RESPONDER_STAT_KEYS, 'loops', 'sleeps', 'txDrops'] as const;
export type PeerStatKey = (typeof PEER_STAT_KEYS)[number];
export const PEER_STATS_BYTES = PEER_STAT_KEYS.length * 8;
