/**
 * The scaling study's driver. For each workload, strategy and
 * worker count it builds two stacks, A (the client: bulk-sender, rr-client or crr-client)
 * and B (the server: discard or echo), joins them with the in-memory multi-queue link,
 * lets the workload run for a warm-up (V8 tiers the hot functions up in every worker
 * thread), then takes counters and per-thread CPU at both edges of the measured window.
 *
 * CPU is read from the OS (threadcpu.ts): each group worker's thread, the main thread
 * (both coordinators: reservation syncs of active and passive opens, comlink), and the
 * whole process; what the named threads do not account for is V8's helper threads (GC,
 * compilers) and libuv. Against a second stack both stacks' CPU counts. Against the
 * synthetic peer (B replaced by one thread answering as the echo server, ../synpeer) the
 * peer's thread is read by its tid and reported apart; everything else is A's.
 */
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Stack,
  threadCpuAvailable,
  threadCpuNs,
  taskCpuNs,
  processCpuNs,
  type StackStats,
  type AppSpec,
  type WorkerStats,
} from '@mcstack/runtime';
import { SyntheticPeer, type SyntheticPeerStats } from './synpeer/index.js';
import { SysError } from '@mcstack/netinet';
import {
  makePoint,
  poolWindows,
  checkTargets,
  DEFAULT_PEER,
  SYNTHETIC_WORKLOADS,
  type PeerKind,
  type ScalingPoint,
  type ScalingReport,
  type Strategy,
  type Workload,
  type WindowCounts,
} from './result.js';
import { existsSync } from 'node:fs';

export interface ScalingOptions {
  /** Group workers per stack, each a point per strategy ('single' runs once, at 1). */
  workers: number[];
  strategies: Strategy[];
  workloads: Workload[];
  /** Measured window per point (s). */
  seconds: number;
  /** Unreported run before the window (s). */
  warmupSeconds: number;
  /** rr: connections kept open (default 1000, the issue's target). crr: concurrent opens (default 64). */
  connections?: number;
  /** The peer of every workload (default: DEFAULT_PEER's per workload). */
  peer?: PeerKind;
  /** Windows per rss-groups point, run in alternating worker order and pooled (default 1). */
  repeats?: number;
  /** Called with one line of progress at a time. */
  onProgress?: (line: string) => void;
}

const RR_CONNECTIONS = 1000;
const CRR_CONCURRENCY = 64;
/** Request and response bytes of rr and crr (netperf TCP_RR / TCP_CRR default). */
const RR_SIZE = 1;
const PORT = 5001;
const ADDR_A = '10.0.0.1';
const ADDR_B = '10.0.0.2';
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';

/**
 * Sysctls a workload runs with on both stacks. crr: TIME-WAIT is 2*MSL (60 s by default),
 * and a client opening 20k connections/s from one address to one server port holds every
 * ephemeral port (10000-65535) in TIME-WAIT within three seconds, as a FreeBSD or Linux
 * host would; connection-rate benchmarks shorten it (net.inet.tcp.msl) so the ports come
 * back. 250 ms keeps half a second of connections in TIME-WAIT: 25k at 50k/s, under half
 * the range. With 1 s the range ran 97% full at 26k/s, and the coordinator's port probe
 * (in_pcb_lport, for a free port aligned to the worker) took a quarter of the main thread.
 */
const WORKLOAD_SYSCTL: Record<Workload, Record<string, number> | undefined> = {
  bulk: undefined,
  rr: undefined,
  crr: { 'net.inet.tcp.msl': 250 },
};

/**
 * The shortest warm-up of a workload (s). crr's window must see its steady state: until
 * 2*MSL has passed every connection is still in TIME-WAIT, so each connect allocates a new
 * tcpcb and none is recycled, and V8 is still compiling — measured from 1 s, crr's CPU per
 * connection came out a third higher (the V8 helper threads twice as busy) than from 3 s on.
 */
function minWarmup(workload: Workload): number {
  const msl = WORKLOAD_SYSCTL[workload]?.['net.inet.tcp.msl'];
  return msl === undefined ? 0 : (2 * msl) / 1000 + 1;
}

/** The apps of each side for a workload: A's client, B's server. */
function appsFor(workload: Workload, connections: number): { a: AppSpec; b: AppSpec; appA: string; appB: string } {
  switch (workload) {
    case 'bulk':
      return {
        a: {
          name: 'bulk-sender',
          options: { addr: ADDR_B, port: PORT, connections: 1, bytes: Number.MAX_SAFE_INTEGER },
        },
        b: { name: 'discard', port: PORT },
        appA: 'bulk-sender',
        appB: 'discard',
      };
    case 'rr':
      return {
        a: { name: 'rr-client', options: { addr: ADDR_B, port: PORT, connections, size: RR_SIZE } },
        b: { name: 'echo', port: PORT },
        appA: 'rr-client',
        appB: 'echo',
      };
    case 'crr':
      return {
        a: { name: 'crr-client', options: { addr: ADDR_B, port: PORT, concurrency: connections, size: RR_SIZE } },
        b: { name: 'echo', port: PORT },
        appA: 'crr-client',
        appB: 'echo',
      };
  }
}

/** The cumulative count of work done: bytes the server received, transactions, connections completed. */
function workOf(workload: Workload, a: StackStats, b: StackStats | null): number {
  const n = (o: Record<string, number> | undefined, k: string) => o?.[k] ?? 0;
  switch (workload) {
    case 'bulk':
      return n(b?.apps.discard, 'bytesIn');
    case 'rr':
      return n(a.apps['rr-client'], 'transactions');
    case 'crr':
      return n(a.apps['crr-client'], 'connections');
  }
}

/** How long a workload may take to get going (all rr connections up, first bytes, first connection). */
const START_TIMEOUT_MS = 60_000;

/**
 * Whether the workload runs in full: rr has every connection established (setting up 1000
 * connections is crr's measure, not rr's), bulk and crr have done some work.
 */
function running(workload: Workload, a: StackStats, b: StackStats | null, connections: number): boolean {
  if (workload === 'rr') return (a.apps['rr-client']?.established ?? 0) >= connections;
  return workOf(workload, a, b) > 0;
}

/** Wait until the workload runs; the time it took (ms). */
async function started(
  workload: Workload,
  a: Stack,
  b: Stack | null,
  connections: number,
  errors: readonly Error[],
): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    // A thread that failed while starting: say so now, not after the timeout.
    if (errors.length > 0) throw errors[0];
    const [sa, sb] = await Promise.all([a.stats(), b?.stats() ?? null]);
    if (running(workload, sa, sb, connections)) return performance.now() - t0;
    if (performance.now() - t0 > START_TIMEOUT_MS) {
      const c = sa.apps[appsFor(workload, connections).appA] ?? {};
      throw Object.assign(
        new Error(`${workload} did not get going in ${START_TIMEOUT_MS / 1000} s: client ${JSON.stringify(c)}`),
        { code: 'ETIMEDOUT' },
      );
    }
    await sleep(20);
  }
}

interface Snapshot {
  t: number;
  process: number;
  main: number;
  a: StackStats;
  /** B's stats, or null against the synthetic peer. */
  b: StackStats | null;
  /** CPU ns of each worker by stack, read by tid when the worker reports one, else its own cpuUs. */
  cpuA: number[];
  cpuB: number[];
  /** The synthetic peer's counters and CPU, when it is the peer. */
  peer: SyntheticPeerStats | null;
}

function workerCpuNs(w: WorkerStats): number {
  const tid = (w as { tid?: number }).tid;
  if (typeof tid === 'number' && tid > 0) {
    const ns = taskCpuNs(tid);
    if (Number.isFinite(ns)) return ns;
  }
  return w.cpuUs * 1000;
}

async function snapshot(a: Stack, b: Stack | SyntheticPeer): Promise<Snapshot> {
  const [sa, sb] = await Promise.all([a.stats(), b instanceof Stack ? b.stats() : null]);
  // Main-thread and process clocks after the replies, with the worker clocks by tid: the
  // same instant at both edges of the window.
  const t = performance.now();
  const cpuA = sa.workers.map(workerCpuNs);
  const cpuB = sb?.workers.map(workerCpuNs) ?? [];
  const peer = b instanceof SyntheticPeer ? b.stats() : null;
  return { t, process: processCpuNs(), main: threadCpuNs(), a: sa, b: sb, cpuA, cpuB, peer };
}

function window(s0: Snapshot, s1: Snapshot, workload: Workload): WindowCounts {
  const d = (x: Record<string, number>, y: Record<string, number>, k: string) => (y[k] ?? 0) - (x[k] ?? 0);
  const sum = (k: string) => d(s0.a.total, s1.a.total, k) + (s0.b && s1.b ? d(s0.b.total, s1.b.total, k) : 0);
  const a = s1.cpuA.map((ns, i) => (ns - (s0.cpuA[i] ?? ns)) / 1e9);
  const b = s1.cpuB.map((ns, i) => (ns - (s0.cpuB[i] ?? ns)) / 1e9);
  // Unreadable peer CPU (no procfs) counts as 0: charged to the stack, never a NaN in the sums.
  const peerNs = s0.peer && s1.peer ? s1.peer.cpuNs - s0.peer.cpuNs : 0;
  const peer = Number.isFinite(peerNs) ? peerNs / 1e9 : 0;
  const main = (s1.main - s0.main) / 1e9;
  const proc = (s1.process - s0.process) / 1e9;
  const named = a.reduce((x, y) => x + y, 0) + b.reduce((x, y) => x + y, 0) + main + peer;
  return {
    wallSeconds: (s1.t - s0.t) / 1000,
    work: workOf(workload, s1.a, s1.b) - workOf(workload, s0.a, s0.b),
    // Frames each side put on the link (hops travel on the stack's own sibling rings).
    packets: sum('txFrames') + (s0.peer && s1.peer ? s1.peer.opackets - s0.peer.opackets : 0),
    hops: sum('hops'),
    lockWaits: sum('lockWaits'),
    cpu: { a, b, peer, main, other: Math.max(0, proc - named), process: proc },
  };
}

/** The work's total in a readable form for progress lines. */
function brief(p: ScalingPoint): string {
  const t =
    p.workload === 'bulk'
      ? `${p.throughput.toFixed(2)} Gbit/s`
      : `${Math.round(p.throughput).toLocaleString('en-US')} ${p.unit}`;
  return `${t}, ${p.busyCpuSeconds.toFixed(2)} busy CPU-s, ${p.hopsPerPacket.toFixed(3)} hops/pkt`;
}

/** Run one point: stack A and its peer (stack B or the synthetic peer), warm-up, measured window, teardown. */
export async function runPoint(
  workload: Workload,
  strategy: Strategy,
  workers: number,
  o: {
    seconds: number;
    warmupSeconds: number;
    connections: number;
    seed?: number;
    peer?: PeerKind;
  },
): Promise<ScalingPoint> {
  const peerKind = o.peer ?? DEFAULT_PEER[workload];
  if (peerKind === 'synthetic' && !SYNTHETIC_WORKLOADS.includes(workload)) {
    throw new SysError(
      'EINVAL',
      `the synthetic peer plays the echo server of ${SYNTHETIC_WORKLOADS.join(' and ')}, not ${workload}: use a stack peer`,
      'bench scaling',
    );
  }
  const apps = appsFor(workload, o.connections);
  const sysctl = WORKLOAD_SYSCTL[workload];
  const a = Stack.create({
    name: 'A',
    workers,
    strategy,
    mac: MAC_A,
    addrs: [`${ADDR_A}/24`],
    apps: [apps.a],
    sysctl,
    seed: o.seed ?? 1,
  });
  const b =
    peerKind === 'stack'
      ? Stack.create({
          name: 'B',
          workers,
          strategy,
          mac: MAC_B,
          addrs: [`${ADDR_B}/24`],
          apps: [apps.b],
          sysctl,
          seed: (o.seed ?? 1) + 1,
        })
      : SyntheticPeer.create({ addr: ADDR_B, mac: MAC_B, port: PORT, seed: (o.seed ?? 1) + 1 });
  if (b instanceof Stack) Stack.join(a, b);
  else b.attach(a);
  const errors: Error[] = [];
  let setupMs = 0;
  a.on('worker-error', (e: Error) => errors.push(e));
  b.on('worker-error', (e: Error) => errors.push(e));
  const stackB = b instanceof Stack ? b : null;
  try {
    await b.start();
    await a.start();
    setupMs = await started(workload, a, stackB, o.connections, errors);
    const warmup = Math.max(o.warmupSeconds, minWarmup(workload));
    await sleep(warmup * 1000);
    const s0 = await snapshot(a, b);
    await sleep(o.seconds * 1000);
    const s1 = await snapshot(a, b);
    if (errors.length > 0) throw errors[0];
    const connections = workload === 'bulk' ? 1 : o.connections;
    return {
      ...makePoint(
        { workload, strategy, workers, connections, peer: peerKind },
        window(s0, s1, workload),
        availableParallelism(),
      ),
      setupSeconds: setupMs / 1000,
      warmupSeconds: warmup,
      ...(sysctl ? { sysctl } : {}),
    };
  } finally {
    await Promise.allSettled([a.stop(), b.stop()]);
  }
}

function cpuSource(): string {
  if (!threadCpuAvailable()) return 'unavailable';
  return existsSync('/proc/thread-self/schedstat') ? 'procfs schedstat' : 'procfs stat';
}

/** One measured window of a study: a configuration, and which of its `of` windows this is. */
export interface PlanStep {
  workload: Workload;
  strategy: Strategy;
  workers: number;
  window: number;
  of: number;
}

/**
 * The windows a study runs, in order: per workload, per strategy, per worker count ('single'
 * once at 1). rss-groups — what the scaling targets compare across worker counts — runs
 * `repeats` passes over the worker counts, alternating direction (1, 2, 2, 1 for two), so a
 * drift in the machine's speed weighs on every count alike; the windows are pooled after.
 */
export function studyPlan(o: Pick<ScalingOptions, 'workers' | 'strategies' | 'workloads' | 'repeats'>): PlanStep[] {
  const plan: PlanStep[] = [];
  for (const workload of o.workloads) {
    for (const strategy of o.strategies) {
      const counts = strategy === 'single' ? [1] : o.workers;
      const of = strategy === 'rss-groups' ? Math.max(1, o.repeats ?? 1) : 1;
      for (let pass = 0; pass < of; pass++) {
        for (const workers of pass % 2 === 0 ? counts : [...counts].reverse())
          plan.push({ workload, strategy, workers, window: pass + 1, of });
      }
    }
  }
  return plan;
}

/** The windows of one configuration as one point (counts summed; setup the longest). */
function pooled(ps: readonly ScalingPoint[]): ScalingPoint {
  const first = ps[0]!;
  if (ps.length === 1) return first;
  const { workload, strategy, workers, connections, peer } = first;
  return {
    ...makePoint(
      { workload, strategy, workers, connections, peer, windows: ps.length },
      poolWindows(ps),
      availableParallelism(),
    ),
    setupSeconds: Math.max(...ps.map((p) => p.setupSeconds ?? 0)),
    ...(first.warmupSeconds !== undefined ? { warmupSeconds: first.warmupSeconds } : {}),
    ...(first.sysctl ? { sysctl: first.sysctl } : {}),
  };
}

export async function runScaling(o: ScalingOptions): Promise<ScalingReport> {
  const progress = o.onProgress ?? (() => {});
  const plan = studyPlan(o);
  const repeats = Math.max(1, o.repeats ?? 1);
  progress(
    `${plan.length} windows (workloads ${o.workloads.join(',')}; strategies ${o.strategies.join(',')}; workers ${o.workers.join(',')}` +
      `${repeats > 1 && o.strategies.includes('rss-groups') ? `; rss-groups ${repeats} times each, alternating order` : ''}), ${o.warmupSeconds} s warm-up + ${o.seconds} s each`,
  );
  // Windows by configuration, in the order configurations first ran.
  const byConfig = new Map<string, ScalingPoint[]>();
  let k = 0;
  for (const step of plan) {
    k++;
    const connections = o.connections ?? (step.workload === 'crr' ? CRR_CONCURRENCY : RR_CONNECTIONS);
    const t0 = performance.now();
    const p = await runPoint(step.workload, step.strategy, step.workers, {
      seconds: o.seconds,
      warmupSeconds: o.warmupSeconds,
      connections,
      ...(o.peer ? { peer: o.peer } : {}),
    });
    const key = `${step.workload}/${step.strategy}/${step.workers}`;
    byConfig.set(key, [...(byConfig.get(key) ?? []), p]);
    progress(
      `[${k}/${plan.length}] ${step.workload} ${step.strategy} ${step.workers} worker${step.workers > 1 ? 's' : ''}` +
        `${step.of > 1 ? ` (window ${step.window}/${step.of})` : ''}: ${brief(p)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  const points = [...byConfig.values()].map(pooled);
  return {
    workloads: [...o.workloads],
    strategies: [...o.strategies],
    repeats,
    workers: [...o.workers],
    seconds: o.seconds,
    warmupSeconds: o.warmupSeconds,
    machine: { cpus: availableParallelism(), node: process.versions.node, platform: process.platform },
    cpuSource: cpuSource(),
    points,
    targets: checkTargets(points, o.workloads),
  };
}
