/**
 * What the scaling study reports, and the figures derived from raw counts: throughput, CPU
 * per unit of work, throughput per busy CPU-second, hops per packet; the medians of each
 * point's windows with their intervals, the A/A check and the targets' verdicts.
 *
 * Raw counts come from the window between two snapshots (scaling.ts); everything here is
 * pure arithmetic and seeded statistics on them, so the report can be recomputed from its
 * JSON (which keeps every window's figures: `points[].samples`).
 */
import type { Strategy as HostStrategy } from '@mcstack/runtime';
import {
  aaCheck,
  drift,
  median,
  medianCI,
  medianRatioCI,
  verdict,
  type AACheck,
  type Drift,
  type Interval,
  type Verdict,
} from './stats/index.js';

export type { HostStrategy };
/**
 * How a point runs A: a host strategy of the runtime (rss-groups, single, unaligned), or
 * `toe`: rss-groups with A's TOE card (t4_tom loaded) running the workload's client
 * itself, so every connection of the workload is offloaded (the point is A's workers plus
 * the card's thread; the card's CPU is counted apart in `cpu.card`).
 */
export type Strategy = HostStrategy | 'toe';
/**
 * bulk: bulk TCP A→B over as many connections as the study's largest worker count (at
 * least one per worker at every point, the same workload at every point); bulk1: one
 * connection, the single-connection target (a second worker has nothing to do for it, so it
 * runs at one worker only); rr: request/response; crr: connect/request/response/close.
 */
export type Workload = 'bulk' | 'bulk1' | 'rr' | 'crr';
export const STRATEGIES: readonly Strategy[] = ['rss-groups', 'single', 'unaligned', 'toe'];
/** The strategies that are one system at one worker (the A/A check's): all but toe, which adds the card. */
export const HOST_STRATEGIES: readonly HostStrategy[] = ['rss-groups', 'single', 'unaligned'];
export const WORKLOADS: readonly Workload[] = ['bulk', 'bulk1', 'rr', 'crr'];

/** Whether a workload moves bytes (Gbit/s, CPU-s per GB) rather than counting transactions or connections. */
export function isBulk(wl: Workload): wl is 'bulk' | 'bulk1' {
  return wl === 'bulk' || wl === 'bulk1';
}

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
export const DEFAULT_PEER: Readonly<Record<Workload, PeerKind>> = {
  bulk: 'stack',
  bulk1: 'stack',
  rr: 'stack',
  crr: 'synthetic',
};

/**
 * The study `mcstack bench scaling` (and `npm start`) runs without options: 16 points
 * (bulk, rr and crr at rss-groups 1 and 2, single 1, unaligned 1 and 2 workers; bulk1 at 1)
 * × 5 windows = 80 windows of 3.3 to 6.3 s each (stacks started, every rr connection up,
 * warm-up of 1.5 to 4.5 s until CPU per unit settles, window, stop): about 5 minutes on this
 * 2-core machine with the build when it is quiet (4 min 53 s and 5 min 31 s measured), up to 8
 * when every warm-up runs to its limit.
 */
export const DEFAULT_SCALING = {
  workers: [1, 2] as readonly number[],
  strategies: ['rss-groups', 'single', 'unaligned'] as readonly Strategy[],
  workloads: ['bulk', 'bulk1', 'rr', 'crr'] as readonly Workload[],
  // Each window is a median's sample, not the whole figure: 1 s holds 10^5 transactions or
  // a few GB, and five of them cost what one 5 s window did, with an interval besides.
  seconds: 1,
  // Fresh worker isolates take 1-1.5 s to tier up (a bulk connection ramps from ~1 to ~5
  // Gbit/s over it): a 1 s warm-up left some windows on the ramp and made bulk bimodal.
  // crr needs 2*MSL + 1 s = 1.5 s anyway (minWarmup). The shortest warm-up: each window's
  // runs on until its CPU per unit of work settles (scaling.ts warmUp, stats/settle.ts).
  warmupSeconds: 1.5,
  // The least the project accepts; 5 windows give the median an exact interval of 93.75%
  // ([min, max]); 6 would reach 95% at another 20% of the time.
  repeats: 5,
  seed: 1,
} as const;

/** Throughput unit of each workload: application goodput, request/response transactions, connections set up and torn down. */
export const THROUGHPUT_UNIT = { bulk: 'Gbit/s', bulk1: 'Gbit/s', rr: 'tps', crr: 'conn/s' } as const;
/** The work unit CPU is charged to: a gigabyte (10^9 application bytes), a transaction, a connection. */
export const WORK_UNIT = { bulk: 'GB', bulk1: 'GB', rr: 'transaction', crr: 'connection' } as const;
/** CPU seconds used during the measured window, by thread. */
export interface CpuSplit {
  /** Each group worker of stack A (the client side: bulk sender, rr/crr client), by worker index. */
  a: number[];
  /** Each group worker of stack B (the server side: discard / echo); none against the synthetic peer. */
  b: number[];
  /** The synthetic peer's thread (0 against a stack: B's CPU is in `b`). */
  peer: number;
  /** A's TOE card's thread (the `toe` strategy; absent otherwise): part of busy CPU, shown apart. */
  card?: number;
  /** The main thread: both coordinators and this driver. */
  main: number;
  /** Every other thread of the process: V8's GC and compiler threads, libuv (process − the above). */
  other: number;
  /** The whole process, read from the OS, the cross-check of the per-thread sum. */
  process: number;
  /**
   * Other processes on the machine (/proc/stat's busy time less this process's): what a
   * shared machine took from the study during the window. Absent without procfs.
   */
  others?: number;
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
  /** Frames dropped on a full ring (to the peer or to a sibling), both stacks. */
  drops?: number;
  /** TCP retransmission timeouts (tcps_rexmttimeo), both stacks: a lost frame costs a whole RTO of idle link. */
  timeouts?: number;
  /** The group workers' loops over the window, both stacks (absent in older reports). */
  loop?: LoopCounts;
  cpu: CpuSplit;
}

/**
 * What the group workers' loops did in a window, summed over both stacks: the shape of
 * the run (how much work a turn of the loop found, how often a worker slept and was woken)
 * and the collector's share, to explain a window's CPU per unit of work.
 */
export interface LoopCounts {
  /** Turns of the worker loops (WorkerCounters.loops). */
  turns: number;
  /** Sleeps on the doorbell. */
  sleeps: number;
  /** Sleeps a producer's doorbell ended (the rest ran to their timeout). */
  woken: number;
  /** Garbage collections in the worker isolates (the probe's `gc` entries). */
  gcs: number;
  /** Of them, major (mark-compact). */
  gcMajor: number;
  /** Time in them (s, wall). */
  gcSeconds: number;
}

export interface ScalingPoint extends WindowCounts {
  workload: Workload;
  strategy: Strategy;
  /** What A was joined to. */
  peer: PeerKind;
  /** Group workers per stack (two stacks run, so twice this many worker threads). */
  workers: number;
  /** Connections the workload keeps (bulk: the study's largest worker count, bulk1: 1, rr many, crr: concurrent opens). */
  connections: number;
  /** A summarised point: the median of its windows' throughputs (one window: its own). */
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
  /** Work per busy CPU-second, in the throughput unit (Gbit, transactions, connections per CPU-second); a summarised point: the windows' median. */
  perCpuSecond: number;
  hopsPerPacket: number;
  /** Measured windows of this point (each a fresh pair of stacks, in the study's shuffled order). */
  windows: number;
  /**
   * `workload/strategy/workers`: what `bench compare` and the A/A check match points on.
   * Set by summarise(); a single window's point has it too.
   */
  key?: string;
  /**
   * Every window's figures, in the order they ran: the shape `bench compare` reads, one
   * number per window under each figure's name (studyfile.ts).
   */
  samples?: PointWindows;
  /** The 1-based position of each window in the study's order (`order`), to look for a drift. */
  steps?: number[];
  /** Median and interval of throughput and of throughput per busy CPU-second over the windows. */
  intervals?: { throughput: Interval; perCpuSecond: Interval };
  /** From the stacks' start until the workload ran in full (rr: every connection up), before the warm-up (s); the longest when pooled. */
  setupSeconds?: number;
  /**
   * The warm-up this point had (s): at least the study's (or the workload's minimum when
   * longer, crr: 2*MSL + 1), then until CPU per unit of work settled; pooled: the longest.
   */
  warmupSeconds?: number;
  /** Windows whose warm-up reached its limit before CPU per unit of work settled (absent: none). */
  unsettled?: number;
  /**
   * Measured windows taken again because V8's helper threads (a compiler finishing a job)
   * took more than HELPERS_QUIET_SHARE of the stacks' CPU in them (absent: none); pooled: the sum.
   */
  helperRetries?: number;
  /** Windows still measured with the helpers busy after the last retry (absent: none). */
  helpersBusy?: number;
  /** Sysctls both stacks ran with beyond the defaults (crr: a shorter TIME-WAIT). */
  sysctl?: Record<string, number>;
  /** Both stacks ran with checksum offload, TSO and LRO on (`--offload`). */
  offload?: boolean;
  /** The link ran without 802.3x flow control (`--flow-control off`): full rings dropped. */
  flowControl?: boolean;
}

/** One number per window under each figure's name, the windows in the order they ran. */
export interface PointWindows {
  throughput: number[];
  perCpuSecond: number[];
  busyCpuSeconds: number[];
  wallSeconds: number[];
  /** Each window's warm-up (s): it lasts until CPU per unit of work settles. */
  warmupSeconds?: number[];
  /** CPU-s other processes used in each window (absent without procfs). */
  othersCpuSeconds?: number[];
  /** Retransmission timeouts in each window: a window with some ran on a stalled link for part of it. */
  timeouts?: number[];
  /** Worker loop turns (both stacks) per unit of work in each window: how much a turn found to do. */
  turnsPerUnit?: number[];
  /** Worker sleeps on the doorbell (both stacks) per unit of work in each window. */
  sleepsPerUnit?: number[];
  /** Seconds the worker isolates spent in GC in each window. */
  gcSeconds?: number[];
  /** CPU-s of A's group workers per unit of work in each window: the host CPU TOE saves (toe vs rss-groups). */
  aCpuSecondsPerUnit?: number[];
  /**
   * CPU-s of the process's unnamed threads (V8's compilers and GC, libuv: `cpu.other`) per
   * unit of work in each window: a compiler still busy after the warm-up shows here.
   */
  helperCpuSecondsPerUnit?: number[];
}

/** Whether the worker threads ran pinned, on which CPUs, or why not (affinity.ts). */
export type PinningReport = { on: true; cpus: number[]; how: string } | { on: false; reason: string; cpus?: number[] };

/** One of the targets, judged from an interval (stats/verdict.ts). */
export interface TargetCheck {
  name: string;
  /** The target as the issue states it. */
  target: string;
  /** The figure's estimate: a median, or a ratio of medians (null when the run had no point that bears on it). */
  value: number | null;
  /** Its interval (order-statistic for one median, bootstrap for a ratio). */
  interval: Interval | null;
  /** What the value is, with its unit and interval. */
  reached: string;
  /**
   * met / not met: the whole interval is on one side of the target; inconclusive: it spans
   * the target, or the workload's A/A check failed (then `measured` is what the interval
   * alone said); n/a: no point bears on it.
   */
  verdict: Verdict | 'n/a';
  /** The interval's verdict before the A/A check overruled it. */
  measured?: Verdict;
}

/** The A/A check of one workload and figure: its 1-worker configurations are one system. */
export interface AAResult {
  workload: Workload;
  figure: 'throughput' | 'perCpuSecond';
  check: AACheck;
}

export interface ScalingReport {
  workloads: Workload[];
  strategies: Strategy[];
  /** Windows per point. */
  repeats: number;
  workers: number[];
  seconds: number;
  warmupSeconds: number;
  /** Seed of the order and of every bootstrap interval. */
  seed: number;
  /** Confidence level of the intervals. */
  level: number;
  /** The points' keys in the order their windows ran (repeats rounds, each shuffled). */
  order: string[];
  machine: { cpus: number; node: string; platform: string };
  /** How per-thread CPU was read ('procfs-schedstat' | 'procfs-stat' | 'unavailable'). */
  cpuSource: string;
  pinning: PinningReport;
  /** The link's 802.3x flow control (`--flow-control`); absent in reports made before it existed. */
  flowControl?: boolean;
  /** V8 flags the study set for its worker isolates (v8flags.ts); absent in reports made before it set any. */
  v8Flags?: string[];
  points: ScalingPoint[];
  /** Per workload with two or more 1-worker configurations, on both figures. */
  aa: AAResult[];
  /** Some A/A check failed: the machine was too noisy for the verdicts it touches. */
  noisy: boolean;
  /** How noisy the machine was, measured, and what that means for the verdicts. */
  noise: NoiseReport;
  targets: TargetCheck[];
  /** Wall time of the whole study (s). */
  studySeconds?: number;
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
  const bulk = isBulk(base.workload);
  // The unit of work: bulk counts bytes, reported per GB and in Gbit/s.
  const units = bulk ? w.work / 1e9 : w.work;
  const throughput = bulk ? (w.work * 8) / s / 1e9 : w.work / s;
  const perCpuSecond = bulk ? (w.work * 8) / 1e9 / busy : w.work / busy;
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
    ...(ws.every((w) => w.drops !== undefined) ? { drops: sum((w) => w.drops!) } : {}),
    ...(ws.every((w) => w.timeouts !== undefined) ? { timeouts: sum((w) => w.timeouts!) } : {}),
    ...(ws.every((w) => w.loop !== undefined) ? { loop: poolLoops(ws.map((w) => w.loop!)) } : {}),
    cpu: {
      a: threads((w) => w.cpu.a),
      b: threads((w) => w.cpu.b),
      peer: sum((w) => w.cpu.peer),
      ...(ws.every((w) => w.cpu.card !== undefined) ? { card: sum((w) => w.cpu.card!) } : {}),
      main: sum((w) => w.cpu.main),
      other: sum((w) => w.cpu.other),
      process: sum((w) => w.cpu.process),
      ...(ws.every((w) => w.cpu.others !== undefined) ? { others: sum((w) => w.cpu.others!) } : {}),
    },
  };
}

function poolLoops(ls: readonly LoopCounts[]): LoopCounts {
  const sum = (k: keyof LoopCounts) => ls.reduce((x, l) => x + l[k], 0);
  return {
    turns: sum('turns'),
    sleeps: sum('sleeps'),
    woken: sum('woken'),
    gcs: sum('gcs'),
    gcMajor: sum('gcMajor'),
    gcSeconds: sum('gcSeconds'),
  };
}

/** The key a point is matched on across reports: `workload/strategy/workers`. */
export function pointKey(p: { workload: Workload; strategy: Strategy; workers: number }): string {
  return `${p.workload}/${p.strategy}/${p.workers}`;
}

/**
 * The windows of one configuration as one point: counts pooled (CPU columns, hops, lock
 * waits: totals over the windows), throughput and throughput per busy CPU-second the
 * medians of the windows' own, with their exact order-statistic intervals, and every
 * window's figures kept in `samples`. `steps`: each window's position in the study's order.
 */
export function summarise(
  windows: readonly ScalingPoint[],
  steps: readonly number[],
  cpus: number,
  level = 0.95,
): ScalingPoint {
  const first = windows[0];
  if (first === undefined) throw new RangeError('summarise: no windows');
  const { workload, strategy, workers, connections, peer } = first;
  const pooled = makePoint(
    { workload, strategy, workers, connections, peer, windows: windows.length },
    poolWindows(windows),
    cpus,
  );
  const samples: PointWindows = {
    throughput: windows.map((w) => w.throughput),
    perCpuSecond: windows.map((w) => w.perCpuSecond),
    busyCpuSeconds: windows.map((w) => w.busyCpuSeconds),
    wallSeconds: windows.map((w) => w.wallSeconds),
    ...(windows.every((w) => w.warmupSeconds !== undefined)
      ? { warmupSeconds: windows.map((w) => w.warmupSeconds!) }
      : {}),
    ...(windows.every((w) => w.cpu.others !== undefined)
      ? { othersCpuSeconds: windows.map((w) => w.cpu.others!) }
      : {}),
    ...(windows.every((w) => w.timeouts !== undefined) ? { timeouts: windows.map((w) => w.timeouts!) } : {}),
    ...(windows.every((w) => w.loop !== undefined)
      ? {
          turnsPerUnit: windows.map((w) => perUnit(w, w.loop!.turns)),
          sleepsPerUnit: windows.map((w) => perUnit(w, w.loop!.sleeps)),
          gcSeconds: windows.map((w) => w.loop!.gcSeconds),
        }
      : {}),
    aCpuSecondsPerUnit: windows.map(aCpuPerUnit),
    helperCpuSecondsPerUnit: windows.map((w) => perUnit(w, w.cpu.other)),
  };
  const throughput = medianCI(samples.throughput, level);
  const perCpuSecond = medianCI(samples.perCpuSecond, level);
  return {
    ...pooled,
    key: pointKey(first),
    throughput: throughput.estimate,
    perCpuSecond: perCpuSecond.estimate,
    samples,
    steps: [...steps],
    intervals: { throughput, perCpuSecond },
    setupSeconds: Math.max(...windows.map((p) => p.setupSeconds ?? 0)),
    ...(first.warmupSeconds !== undefined
      ? { warmupSeconds: Math.max(...windows.map((p) => p.warmupSeconds ?? 0)) }
      : {}),
    ...(windows.some((p) => p.unsettled) ? { unsettled: windows.filter((p) => p.unsettled).length } : {}),
    ...(windows.some((p) => p.helperRetries)
      ? { helperRetries: windows.reduce((x, p) => x + (p.helperRetries ?? 0), 0) }
      : {}),
    ...(windows.some((p) => p.helpersBusy) ? { helpersBusy: windows.filter((p) => p.helpersBusy).length } : {}),
    ...(first.sysctl ? { sysctl: first.sysctl } : {}),
    ...(first.offload ? { offload: true } : {}),
    ...(first.flowControl === false ? { flowControl: false } : {}),
  };
}

/** `n` per unit of work (GB, transaction, connection) of a window; Infinity without work. */
/**
 * The share of the stacks' busy CPU that V8's helper threads (the process's unnamed threads:
 * compilers, GC) took in a window; 0 for a window without busy CPU.
 */
export function helperShare(cpu: CpuSplit): number {
  const busy = cpu.process - cpu.peer;
  return busy > 0 ? Math.max(0, cpu.other) / busy : 0;
}

function perUnit(p: ScalingPoint, n: number): number {
  const units = isBulk(p.workload) ? p.work / 1e9 : p.work;
  return units > 0 ? n / units : Infinity;
}

/** CPU-s of A's group workers per unit of work (GB, transaction, connection) of a point. */
export function aCpuPerUnit(p: ScalingPoint): number {
  const units = isBulk(p.workload) ? p.work / 1e9 : p.work;
  return units > 0 ? p.cpu.a.reduce((x, y) => x + y, 0) / units : Infinity;
}

/** The targets for this 2-core machine. */
export const TARGETS = {
  /** rss-groups throughput per busy CPU-second at 2 workers over that at 1. */
  efficiency2v1: 0.9,
  bulkGbps: 2,
  rrTps: 200_000,
  rrConnections: 1000,
  crrCps: 20_000,
  /** TOE: A's host CPU per unit with offload at most this share of rss-groups'. */
  toeHostCpu: 0.2,
  /** TOE: throughput with offload at least this multiple of rss-groups'. */
  toeThroughput: 1,
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

/** An interval in the figure's own format, with the confidence it has. */
function span(iv: Interval, f: (x: number) => string): string {
  return `[${f(iv.lo)}, ${f(iv.hi)}] ${(iv.confidence * 100).toFixed(iv.confidence * 100 === Math.round(iv.confidence * 100) ? 0 : 2)}%`;
}

/** The per-window values of a figure, when every one is a positive number (a ratio needs them). */
function positive(p: ScalingPoint | undefined, figure: 'throughput' | 'perCpuSecond'): number[] | null {
  const xs = p?.samples?.[figure] ?? (p ? [p[figure]] : null);
  return xs && xs.length > 0 && xs.every((x) => x > 0 && Number.isFinite(x)) ? xs : null;
}

/** Against the synthetic peer: the same ratio with the peer's thread counted too (pooled windows). */
function withPeer(one: ScalingPoint, two: ScalingPoint): string {
  if (one.peer !== 'synthetic' || two.peer !== 'synthetic') return '';
  const all = (p: ScalingPoint) => p.work / (p.cpu.process || Infinity);
  const r = all(one) > 0 ? all(two) / all(one) : 0;
  return `; synthetic peer: ${(r * 100).toFixed(1)}% with its thread counted`;
}

/** The 1-worker configurations of a workload: the same system under every strategy (one worker, nothing to forward). */
export function sameSystem(points: readonly ScalingPoint[], wl: Workload): ScalingPoint[] {
  return HOST_STRATEGIES.map((s) => at(points, wl, s, 1)).filter((p): p is ScalingPoint => p !== undefined);
}

/**
 * The A/A checks of a report: per workload with at least two 1-worker configurations (all
 * one system), on throughput and on throughput per busy CPU-second. Seeded.
 */
export function checkAA(
  points: readonly ScalingPoint[],
  workloads: readonly Workload[],
  o: { seed?: number; level?: number } = {},
): AAResult[] {
  const out: AAResult[] = [];
  for (const wl of workloads) {
    const same = sameSystem(points, wl);
    if (same.length < 2) continue;
    for (const figure of ['throughput', 'perCpuSecond'] as const) {
      const configs = same.map((p) => ({ key: p.key ?? pointKey(p), samples: positive(p, figure) }));
      if (configs.some((c) => c.samples === null)) continue;
      const check = aaCheck(configs as { key: string; samples: number[] }[], {
        seed: o.seed ?? 1,
        level: o.level ?? 0.95,
      });
      out.push({ workload: wl, figure, check });
    }
  }
  return out;
}

/**
 * Check every target the report's points bear on; the others are listed as n/a. A
 * workload's verdicts become inconclusive when its A/A check failed (a workload without
 * one, bulk1, follows the run's: any failure anywhere): the windows of one system differed
 * by more than their intervals allow, so an interval from those windows understates the
 * noise and its verdict is not to be trusted. When the A/A checks agreed but only within
 * more than RESOLUTION_NEEDED (aaResolution), the ratio verdicts and the rate targets
 * missed become inconclusive too; a rate target met stays met.
 */
export function checkTargets(
  points: readonly ScalingPoint[],
  workloads: readonly Workload[],
  aa: readonly AAResult[] = [],
  o: { seed?: number; level?: number } = {},
): TargetCheck[] {
  const level = o.level ?? 0.95;
  const seed = o.seed ?? 1;
  const runNoisy = aa.some((x) => !x.check.agree);
  const resolution = aaResolution(aa);
  const loose = resolution !== null && resolution > RESOLUTION_NEEDED;
  const out: TargetCheck[] = [];
  for (const wl of workloads) {
    const own = aa.filter((x) => x.workload === wl);
    const noisy = own.length > 0 ? own.some((x) => !x.check.agree) : runNoisy;
    const judge = (
      name: string,
      target: string,
      iv: Interval | null,
      goal: number,
      reached: string,
      kind: { strict?: boolean; absolute?: boolean; atMost?: boolean } = {},
    ): TargetCheck => {
      if (iv === null) return { name, target, value: null, interval: null, reached, verdict: 'n/a' };
      // "ahead of" is strict: an interval touching 1 cannot say rss-groups leads.
      let v = verdict(iv, { direction: kind.atMost ? 'at most' : 'at least', value: goal });
      if (kind.strict && v === 'met' && iv.lo <= goal) v = 'inconclusive';
      const c: TargetCheck = { name, target, value: iv.estimate, interval: iv, reached, verdict: v };
      const overrule = (why: string) => {
        c.measured = v;
        c.verdict = 'inconclusive';
        c.reached += ` — ${why}`;
      };
      if (v === 'inconclusive') return c;
      if (noisy) overrule('A/A check failed: too noisy to judge');
      // One system's windows differed by more than the 10% a ratio verdict needs: a ratio
      // clearing its target is no better than that. A rate target that is met stays met —
      // other processes on the machine can only have taken CPU from the stack — but one
      // missed may have been missed for the machine, not the stack.
      else if (loose && (!kind.absolute || v === 'not met'))
        overrule(`the machine was too noisy (one system's A/A ratio reached ${spreadText(resolution)})`);
      return c;
    };
    if (wl !== 'bulk1') {
      const one = at(points, wl, 'rss-groups', 1);
      const two = at(points, wl, 'rss-groups', 2);
      const x1 = positive(one, 'perCpuSecond'),
        x2 = positive(two, 'perCpuSecond');
      const ratio = x1 && x2 ? medianRatioCI(x2, x1, { level, seed }) : null;
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      out.push(
        judge(
          `${wl}: rss-groups scaling`,
          `throughput per busy CPU-second at 2 workers ≥ ${TARGETS.efficiency2v1 * 100}% of 1 worker`,
          ratio,
          TARGETS.efficiency2v1,
          ratio !== null
            ? `${pct(ratio.estimate)} ${span(ratio, pct)}${withPeer(one!, two!)}`
            : one && two
              ? 'no work done at 1 or 2 workers'
              : 'needs rss-groups at 1 and 2 workers',
        ),
      );
      const un = at(points, wl, 'unaligned', 2);
      const xu = positive(un, 'perCpuSecond');
      const lead = x2 && xu ? medianRatioCI(x2, xu, { level, seed }) : null;
      const times = (x: number) => `${x.toFixed(2)}×`;
      out.push(
        judge(
          `${wl}: rss-groups vs unaligned`,
          'rss-groups throughput per busy CPU-second at 2 workers ahead of unaligned',
          lead,
          1,
          lead !== null
            ? `${times(lead.estimate)} unaligned ${span(lead, times)}`
            : two && un
              ? 'no work done by one of them'
              : 'needs rss-groups and unaligned at 2 workers',
          { strict: true },
        ),
      );
    }
    if (wl !== 'bulk1') out.push(...toeTargets(points, wl, { level, seed }, judge));
    if (wl === 'bulk') continue;
    // The absolute targets: the point with the highest median throughput, and its interval.
    const best = points
      .filter((p) => p.workload === wl)
      .reduce<ScalingPoint | undefined>((b, p) => (b === undefined || p.throughput > b.throughput ? p : b), undefined);
    const where = best ? ` (${best.strategy}, ${best.workers} worker${best.workers > 1 ? 's' : ''})` : '';
    const iv = best ? (best.intervals?.throughput ?? medianCI([best.throughput], level)) : null;
    const unit = THROUGHPUT_UNIT[wl];
    const shown = iv ? `${fmt(iv.estimate, unit)} ${span(iv, (x) => fmt(x, '').trim())}` : '';
    if (wl === 'bulk1') {
      out.push(
        judge(
          'bulk1: one connection',
          `≥ ${TARGETS.bulkGbps} Gbit/s on one connection`,
          iv,
          TARGETS.bulkGbps,
          iv ? shown + where : 'no bulk1 point',
          { absolute: true },
        ),
      );
    } else if (wl === 'rr') {
      const conns = best?.connections ?? 0;
      const c = judge(
        'rr: request/response',
        `≥ ${TARGETS.rrTps / 1000}k transactions/s over ${TARGETS.rrConnections} connections`,
        iv,
        TARGETS.rrTps,
        iv ? `${shown} over ${conns} connections${where}` : 'no rr point',
        { absolute: true },
      );
      // Fewer connections than the target's is not the target's workload, whatever the rate.
      if (iv && conns < TARGETS.rrConnections) c.verdict = 'not met';
      out.push(c);
    } else {
      out.push(
        judge(
          'crr: connection setup',
          `≥ ${TARGETS.crrCps / 1000}k connections/s`,
          iv,
          TARGETS.crrCps,
          iv ? shown + where : 'no crr point',
          { absolute: true },
        ),
      );
    }
  }
  return out;
}

type Judge = (
  name: string,
  target: string,
  iv: Interval | null,
  goal: number,
  reached: string,
  kind?: { strict?: boolean; absolute?: boolean; atMost?: boolean },
) => TargetCheck;

/**
 * The TOE targets where the run has toe points: at the largest worker count where
 * both toe and rss-groups ran, A's host CPU per unit of work (its group workers') with
 * offload at most 0.2× rss-groups', and throughput at least 1.0× — ratios of medians with
 * bootstrap intervals, judged as the other ratios (A/A noise included).
 */
function toeTargets(
  points: readonly ScalingPoint[],
  wl: Workload,
  o: { level: number; seed: number },
  judge: Judge,
): TargetCheck[] {
  const toes = points.filter((p) => p.workload === wl && p.strategy === 'toe');
  if (toes.length === 0) return [];
  const n = Math.max(0, ...toes.filter((p) => at(points, wl, 'rss-groups', p.workers)).map((p) => p.workers));
  const toe = at(points, wl, 'toe', n);
  const rss = at(points, wl, 'rss-groups', n);
  const times = (x: number) => `${x.toFixed(2)}×`;
  const where = toe ? ` at ${n} worker${n > 1 ? 's' : ''}` : '';
  const need = 'needs toe and rss-groups at one worker count';
  const samples = (p: ScalingPoint | undefined) => {
    const xs = p?.samples?.aCpuSecondsPerUnit;
    return xs && xs.length > 0 && xs.every((x) => x >= 0 && Number.isFinite(x)) ? xs : null;
  };
  const ct = samples(toe);
  // A ratio needs a positive denominator: rss-groups' workers always carry the workload.
  const cr = samples(rss)?.every((x) => x > 0) === true ? samples(rss) : null;
  const cpu = ct && cr ? medianRatioCI(ct, cr, o) : null;
  const xt = positive(toe, 'throughput');
  const xr = positive(rss, 'throughput');
  const tput = xt && xr ? medianRatioCI(xt, xr, o) : null;
  return [
    judge(
      `${wl}: toe host CPU`,
      `A's group-worker CPU per ${WORK_UNIT[wl]} with offload ≤ ${TARGETS.toeHostCpu}× rss-groups'`,
      cpu,
      TARGETS.toeHostCpu,
      cpu !== null
        ? `${times(cpu.estimate)} rss-groups' ${span(cpu, times)}${where}`
        : toe && rss
          ? 'no work done'
          : need,
      { atMost: true },
    ),
    judge(
      `${wl}: toe throughput`,
      `throughput with offload ≥ ${TARGETS.toeThroughput.toFixed(1)}× rss-groups'`,
      tput,
      TARGETS.toeThroughput,
      tput !== null
        ? `${times(tput.estimate)} rss-groups' ${span(tput, times)}${where}`
        : toe && rss
          ? 'no work done'
          : need,
    ),
  ];
}

/** The significance at which the noise line reports a drift of the machine's speed. */
export const DRIFT_ALPHA = 0.05;

/** The precision the scaling target needs: it asks for 90%, so a run must resolve 10%. */
export const RESOLUTION_NEEDED = 1 - TARGETS.efficiency2v1;

export interface NoiseReport {
  /** Median over every window of the CPU other processes used, as a share of the machine (cpus × wall). */
  othersShare: number | null;
  /**
   * The A/A check's resolution: the largest relative difference between one system's
   * configurations that its ratio intervals allow (max over pairs and figures of hi − 1 and
   * 1/lo − 1); null without an A/A check.
   */
  resolution: number | null;
  /** A/A failed, or agreed only within more than RESOLUTION_NEEDED. */
  tooNoisy: boolean;
  /**
   * Whether the machine's speed drifted: the lag-1 autocorrelation of every window's
   * throughput per busy CPU-second (relative to its point's median) in run order, with its
   * permutation p (stats/drift.ts); null with too few windows.
   */
  drift?: Drift | null;
  /** One plain line for the study's output. */
  message: string;
}

/** What the A/A checks and the other processes' CPU say about the run's machine. */
export function assessNoise(
  points: readonly ScalingPoint[],
  aa: readonly AAResult[],
  cpus: number,
  seed = 1,
): NoiseReport {
  const shares: number[] = [];
  for (const p of points) {
    const o = p.samples?.othersCpuSeconds;
    const w = p.samples?.wallSeconds;
    if (o && w) for (const [i, x] of o.entries()) shares.push(x / (cpus * (w[i] ?? 1)));
  }
  const othersShare = shares.length > 0 ? median(shares) : null;
  const d = drift(
    points.flatMap((p) =>
      (p.samples?.perCpuSecond ?? []).map((value, i) => ({ step: p.steps?.[i] ?? 0, key: p.key ?? '', value })),
    ),
    seed,
  );
  // Neighbours in time alike across points: the machine, not the stack (the rounds spread it over every point).
  const drifted =
    d !== null && d.p < DRIFT_ALPHA
      ? ` Windows next to each other in time ran alike across different points (lag-1 autocorrelation ${d.r.toFixed(2)}, p ${d.p.toFixed(4)}): the machine's speed drifted during the run.`
      : '';
  const resolution = aaResolution(aa);
  const failed = [...new Set(aa.filter((x) => !x.check.agree).map((x) => x.workload))];
  const others =
    othersShare === null
      ? ''
      : ` Other processes used ${(othersShare * 100).toFixed(0)}% of the ${cpus} CPUs during a typical window.`;
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  let message: string;
  let tooNoisy = true;
  if (resolution === null)
    message = `No workload ran two 1-worker configurations: the run cannot tell how noisy it was.${others}`;
  else if (failed.length > 0)
    message =
      `A/A FAILED for ${failed.join(', ')}: configurations that are the same system differed beyond their intervals. ` +
      `The machine was too noisy for this run's verdicts; those of the workloads it touches are inconclusive.${others}`;
  else if (resolution > RESOLUTION_NEEDED)
    message =
      `A/A agreed, but only within ${spreadText(resolution)}: the windows of one system spread that widely. ` +
      `The machine was too noisy to resolve the ${pct(RESOLUTION_NEEDED)} the scaling target needs: ` +
      `the ratio verdicts, and rate targets missed, are inconclusive.${others}`;
  else {
    tooNoisy = false;
    message = `A/A passed: one system agreed with itself within ${pct(resolution)} in every workload.${others}`;
  }
  return { othersShare, resolution, tooNoisy, message: message + drifted, drift: d };
}

/**
 * The A/A checks' resolution: the largest relative difference between one system's
 * configurations that their ratio intervals allow (max over pairs and figures of hi − 1 and
 * 1/lo − 1); null without an A/A check.
 */
export function aaResolution(aa: readonly AAResult[]): number | null {
  const pairs = aa.flatMap((x) => x.check.pairs);
  return pairs.length > 0 ? Math.max(...pairs.map((p) => Math.max(p.ratio.hi - 1, 1 / p.ratio.lo - 1))) : null;
}

/** A relative difference as a percentage, or as a factor once it passes 100%. */
function spreadText(r: number): string {
  return r > 1 ? `a factor of ${(1 + r).toFixed(1)}` : `${(r * 100).toFixed(0)}%`;
}
