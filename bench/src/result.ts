/**
 * What the scaling study reports, and the figures derived from raw counts: throughput, CPU
 * per unit of work, throughput per busy CPU-second, hops per packet, and the targets
 * (the first scaling study).
 *
 * Raw counts come from the window between two snapshots (scaling.ts); everything here is
 * pure arithmetic on them, so the report can be recomputed from its JSON.
 */
import type { Strategy } from '@mcstack/runtime';

export type { Strategy };
export type Workload = 'bulk' | 'rr' | 'crr';
export const STRATEGIES: readonly Strategy[] = ['rss-groups', 'single', 'unaligned'];
export const WORKLOADS: readonly Workload[] = ['bulk', 'rr', 'crr'];

/**
 * The far end of the link: a second mcstack stack (B, measured with A), or the synthetic
 * peer (one thread, a stateless responder: ../synpeer), whose CPU is read apart and not
 * charged to the stack measured. The issue allows either, "as long as the peer's cost is
 * measured and reported".
 */
export type PeerKind = 'stack' | 'synthetic';
export const PEER_KINDS: readonly PeerKind[] = ['stack', 'synthetic'];
/** What the synthetic peer can play: the echo server of rr and crr. */
export const SYNTHETIC_WORKLOADS: readonly Workload[] = ['rr', 'crr'];
/**
 * The peer each workload runs against by default. crr: the synthetic peer — with a second
 * stack, 2 workers per stack put 4 worker threads and the coordinators on 2 cores, and crr
 * (the most thread hops per unit of work) measured the oversubscription more than the
 * stack. bulk and rr against a second stack.
 */
export const DEFAULT_PEER: Readonly<Record<Workload, PeerKind>> = { bulk: 'stack', rr: 'stack', crr: 'synthetic' };

/** The study `mcstack bench scaling` runs without options (under two minutes on 2 cores). */
export const DEFAULT_SCALING = {
  workers: [1, 2] as readonly number[],
  strategies: ['rss-groups', 'single', 'unaligned'] as readonly Strategy[],
  workloads: ['bulk', 'rr', 'crr'] as readonly Workload[],
  seconds: 2,
  // Fresh worker isolates take 1-1.5 s to tier up (a bulk connection ramps from ~1 to ~5
  // Gbit/s over it): a 1 s warm-up left some windows on the ramp and made bulk bimodal.
  warmupSeconds: 2,
  // The rss-groups points, which the scaling targets compare, are measured twice in ABBA
  // order (1, 2, 2, 1 workers) and pooled: on a shared machine whose speed drifts over a
  // minute, one window each made the 2-worker ratio swing by ±10% from run to run.
  repeats: 2,
} as const;

/** Throughput unit of each workload: application goodput, request/response transactions, connections set up and torn down. */
export const THROUGHPUT_UNIT = { bulk: 'Gbit/s', rr: 'tps', crr: 'conn/s' } as const;
/** The work unit CPU is charged to: a gigabyte (10^9 application bytes), a transaction, a connection. */
export const WORK_UNIT = { bulk: 'GB', rr: 'transaction', crr: 'connection' } as const;

/** CPU seconds used during the measured window, by thread. */
export interface CpuSplit {
  /** Each group worker of stack A (the client side: bulk sender, rr/crr client), by worker index. */
  a: number[];
  /** Each group worker of stack B (the server side: discard / echo); none against the synthetic peer. */
  b: number[];
  /** The synthetic peer's thread (0 against a stack: B's CPU is in `b`). */
  peer: number;
  /** The main thread: both coordinators and this driver. */
  main: number;
  /** Every other thread of the process: V8's GC and compiler threads, libuv (process − the above). */
  other: number;
  /** The whole process, read from the OS, the cross-check of the per-thread sum. */
  process: number;
}

/** Counts over one measured window, before any division. */
export interface WindowCounts {
  wallSeconds: number;
  /** Application bytes delivered (bulk), transactions completed (rr), connections completed (crr). */
  work: number;
  /** Frames carried by the link between the stacks, both directions. */
  packets: number;
  /** Frames a worker passed to another worker of its stack (owner not the receiving group). */
  hops: number;
  /** Times a worker found a group's lock held and waited for it. */
  lockWaits: number;
  cpu: CpuSplit;
}

export interface ScalingPoint extends WindowCounts {
  workload: Workload;
  strategy: Strategy;
  /** What A was joined to. */
  peer: PeerKind;
  /** Group workers per stack (two stacks run, so twice this many worker threads). */
  workers: number;
  /** Connections the workload keeps (bulk 1, rr many, crr: concurrent opens). */
  connections: number;
  throughput: number;
  unit: (typeof THROUGHPUT_UNIT)[Workload];
  /**
   * CPU the stacks measured used in the window, what the OS says was not idle: the whole
   * process against a stack peer; the process less the synthetic peer's thread against it.
   */
  busyCpuSeconds: number;
  /** The synthetic peer's CPU per unit of work, in the unit of cpuSecondsPerUnit (0 against a stack). */
  peerCpuSecondsPerUnit: number;
  /** busyCpuSeconds over the CPU the machine had in the window (cores × wall). */
  utilisation: number;
  /** busy CPU-seconds per GB (bulk), per transaction (rr), per connection (crr). */
  cpuSecondsPerUnit: number;
  /** Work per busy CPU-second, in the throughput unit (Gbit, transactions, connections per CPU-second). */
  perCpuSecond: number;
  hopsPerPacket: number;
  /** Measured windows pooled into this point (each a fresh pair of stacks; rss-groups: `repeats`, in ABBA order). */
  windows: number;
  /** From the stacks' start until the workload ran in full (rr: every connection up), before the warm-up (s); the longest when pooled. */
  setupSeconds?: number;
  /** The warm-up this point had (s): the study's, or the workload's minimum when longer (crr: 2*MSL + 1). */
  warmupSeconds?: number;
  /** Sysctls both stacks ran with beyond the defaults (crr: a shorter TIME-WAIT). */
  sysctl?: Record<string, number>;
}

/** One of the targets, checked against the points that bear on it. */
export interface TargetCheck {
  name: string;
  /** The target as the issue states it. */
  target: string;
  /** The figure reached (null when the run had no point that bears on it). */
  value: number | null;
  /** What the value is, with its unit. */
  reached: string;
  met: boolean | null;
}

export interface ScalingReport {
  workloads: Workload[];
  strategies: Strategy[];
  /** Windows per rss-groups point (ABBA order, pooled). */
  repeats: number;
  workers: number[];
  seconds: number;
  warmupSeconds: number;
  machine: { cpus: number; node: string; platform: string };
  /** How per-thread CPU was read ('procfs-schedstat' | 'procfs-stat' | 'unavailable'). */
  cpuSource: string;
  points: ScalingPoint[];
  targets: TargetCheck[];
}

/** Derive a point's figures from its window counts. */
export function makePoint(
  base: {
    workload: Workload;
    strategy: Strategy;
    workers: number;
    connections: number;
    peer: PeerKind;
    windows?: number;
  },
  w: WindowCounts,
  cpus: number,
): ScalingPoint {
  const s = w.wallSeconds;
  const busy = Math.max(0, w.cpu.process - w.cpu.peer);
  // The unit of work: bulk counts bytes, reported per GB and in Gbit/s.
  const units = base.workload === 'bulk' ? w.work / 1e9 : w.work;
  const throughput = base.workload === 'bulk' ? (w.work * 8) / s / 1e9 : w.work / s;
  const perCpuSecond = base.workload === 'bulk' ? (w.work * 8) / 1e9 / busy : w.work / busy;
  return {
    ...base,
    windows: base.windows ?? 1,
    ...w,
    throughput: s > 0 ? throughput : 0,
    unit: THROUGHPUT_UNIT[base.workload],
    busyCpuSeconds: busy,
    utilisation: s > 0 ? busy / (cpus * s) : 0,
    cpuSecondsPerUnit: units > 0 ? busy / units : Infinity,
    peerCpuSecondsPerUnit: units > 0 ? w.cpu.peer / units : 0,
    perCpuSecond: busy > 0 ? perCpuSecond : 0,
    hopsPerPacket: w.packets > 0 ? w.hops / w.packets : 0,
  };
}

/** Windows of one configuration pooled: every count summed (CPU per thread, thread by thread). */
export function poolWindows(ws: readonly WindowCounts[]): WindowCounts {
  const sum = (f: (w: WindowCounts) => number) => ws.reduce((x, w) => x + f(w), 0);
  const threads = (f: (w: WindowCounts) => number[]) => {
    const out: number[] = [];
    for (const w of ws)
      f(w).forEach((v, i) => {
        out[i] = (out[i] ?? 0) + v;
      });
    return out;
  };
  return {
    wallSeconds: sum((w) => w.wallSeconds),
    work: sum((w) => w.work),
    packets: sum((w) => w.packets),
    hops: sum((w) => w.hops),
    lockWaits: sum((w) => w.lockWaits),
    cpu: {
      a: threads((w) => w.cpu.a),
      b: threads((w) => w.cpu.b),
      peer: sum((w) => w.cpu.peer),
      main: sum((w) => w.cpu.main),
      other: sum((w) => w.cpu.other),
      process: sum((w) => w.cpu.process),
    },
  };
}

/** The targets for this 2-core machine. */
export const TARGETS = {
  /** rss-groups throughput per busy CPU-second at 2 workers over that at 1. */
  efficiency2v1: 0.9,
  bulkGbps: 2,
  rrTps: 200_000,
  rrConnections: 1000,
  crrCps: 20_000,
} as const;

function at(
  points: readonly ScalingPoint[],
  workload: Workload,
  strategy: Strategy,
  workers: number,
): ScalingPoint | undefined {
  return points.find((p) => p.workload === workload && p.strategy === strategy && p.workers === workers);
}

function fmt(x: number, unit: string): string {
  return `${x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3)} ${unit}`;
}

/** Against the synthetic peer: the same ratio with the peer's thread counted too. */
function withPeer(one: ScalingPoint, two: ScalingPoint): string {
  if (one.peer !== 'synthetic' || two.peer !== 'synthetic') return '';
  const all = (p: ScalingPoint) => p.work / (p.cpu.process || Infinity);
  const r = all(one) > 0 ? all(two) / all(one) : 0;
  return ` (synthetic peer; ${(r * 100).toFixed(1)}% with its thread counted)`;
}

/** Check every target that the report's points bear on; the others are listed with value null. */
export function checkTargets(points: readonly ScalingPoint[], workloads: readonly Workload[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const wl of workloads) {
    const one = at(points, wl, 'rss-groups', 1);
    const two = at(points, wl, 'rss-groups', 2);
    const ratio = one && two && one.perCpuSecond > 0 ? two.perCpuSecond / one.perCpuSecond : null;
    out.push({
      name: `${wl}: rss-groups scaling`,
      target: `throughput per busy CPU-second at 2 workers ≥ ${TARGETS.efficiency2v1 * 100}% of 1 worker`,
      value: ratio,
      reached:
        ratio !== null
          ? `${(ratio * 100).toFixed(1)}%${withPeer(one!, two!)}`
          : one && two
            ? 'no work done at 1 worker'
            : 'needs rss-groups at 1 and 2 workers',
      met: ratio === null ? null : ratio >= TARGETS.efficiency2v1,
    });
    const un = at(points, wl, 'unaligned', 2);
    const lead = two && un && un.perCpuSecond > 0 ? two.perCpuSecond / un.perCpuSecond : null;
    out.push({
      name: `${wl}: rss-groups vs unaligned`,
      target: 'rss-groups throughput per busy CPU-second at 2 workers ahead of unaligned',
      value: lead,
      reached:
        lead !== null
          ? `${lead.toFixed(2)}× unaligned`
          : two && un
            ? 'no work done by unaligned'
            : 'needs rss-groups and unaligned at 2 workers',
      met: lead === null ? null : lead > 1,
    });
    const best = points
      .filter((p) => p.workload === wl)
      .reduce<ScalingPoint | undefined>((b, p) => (b === undefined || p.throughput > b.throughput ? p : b), undefined);
    const where = best ? ` (${best.strategy}, ${best.workers} worker${best.workers > 1 ? 's' : ''})` : '';
    const v = best?.throughput ?? null;
    if (wl === 'bulk') {
      out.push({
        name: 'bulk: one connection',
        target: `≥ ${TARGETS.bulkGbps} Gbit/s on one connection`,
        value: v,
        reached: v === null ? 'no bulk point' : fmt(v, 'Gbit/s') + where,
        met: v === null ? null : v >= TARGETS.bulkGbps,
      });
    } else if (wl === 'rr') {
      const conns = best?.connections ?? 0;
      const ok = v !== null && conns >= TARGETS.rrConnections;
      out.push({
        name: 'rr: request/response',
        target: `≥ ${TARGETS.rrTps / 1000}k transactions/s over ${TARGETS.rrConnections} connections`,
        value: v,
        reached: v === null ? 'no rr point' : `${fmt(v, 'tps')} over ${conns} connections${where}`,
        met: v === null ? null : ok && v >= TARGETS.rrTps,
      });
    } else {
      out.push({
        name: 'crr: connection setup',
        target: `≥ ${TARGETS.crrCps / 1000}k connections/s`,
        value: v,
        reached: v === null ? 'no crr point' : fmt(v, 'conn/s') + where,
        met: v === null ? null : v >= TARGETS.crrCps,
      });
    }
  }
  return out;
}
