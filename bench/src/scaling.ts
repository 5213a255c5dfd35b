/**
 * The scaling study's driver. For each workload, strategy and worker count (a point) it
 * measures `repeats` windows, every window of every point interleaved in rounds whose order
 * is shuffled from a seed (stats/order.ts). A window builds two stacks, A (the client:
 * bulk-sender, rr-client or crr-client) and B (the server: discard or echo) or the
 * synthetic peer, joins them with the in-memory multi-queue link, pins their threads to
 * cores when it can (affinity.ts), lets the workload run for a warm-up (V8 tiers the hot
 * functions up in every worker thread and in the main thread's coordinators; it lasts until
 * CPU per unit of work has settled, warmUp below), then takes counters and per-thread CPU
 * at both edges of the measured window, and stops the stacks.
 *
 * Why fresh stacks per window: every window then starts from the same state — new worker
 * isolates warmed up to a steady CPU per unit, the main isolate just collected (gc before
 * each window) — so no window is the first or the fifth of its stacks, and a point's
 * windows are independent draws, which the intervals assume. Keeping a configuration's stacks up across its windows
 * would need all points' stacks alive at once (their apps never pause) to interleave them.
 *
 * CPU is read from the OS (threadcpu.ts): each group worker's thread by the tid it reports
 * (threadapp.ts), the main thread (both coordinators: reservation syncs of active and
 * passive opens, comlink), and the whole process; what the named threads do not account for
 * is V8's helper threads (GC, compilers) and libuv. Against a second stack both stacks' CPU
 * counts. Against the synthetic peer (B replaced by one thread answering as the echo
 * server, ../synpeer) the peer's thread is read by its tid and reported apart; everything
 * else is A's.
 *
 * The `toe` strategy (not in the default study; --strategies): A is rss-groups with its TOE
 * card (cxgbe0 a T4, t4_tom loaded) and the workload's client runs on the card's processor
 * (StackOptions.toe.apps), so every connection of the workload is offloaded and A's group
 * workers carry none of it; the card's thread CPU (read in that thread) is part of busy CPU
 * and shown apart. Its peer must be a stack (the card matches its TIDs on Stack.join's link).
 */
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Stack,
  native,
  threadCpuAvailable,
  threadCpuNs,
  taskCpuNs,
  processCpuNs,
  type StackStats,
  type AppSpec,
  type WorkerStats,
} from '@mcstack/runtime';
import { SyntheticPeer, type SyntheticPeerStats } from './synpeer/index.js';
import { SysError, IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TSO, IFCAP_LRO, IFCAP_TOE } from '@mcstack/netinet';
import {
  makePoint,
  summarise,
  checkTargets,
  checkAA,
  assessNoise,
  helperShare,
  pointKey,
  isBulk,
  DEFAULT_PEER,
  DEFAULT_SCALING,
  SYNTHETIC_WORKLOADS,
  type PeerKind,
  type PinningReport,
  type ScalingPoint,
  type ScalingReport,
  type Strategy,
  type Workload,
  type WindowCounts,
} from './result.js';
import { existsSync, readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { measurementPlan, formatPlan, settled, helpersQuiet, DEFAULT_LEVEL } from './stats/index.js';
import { THREAD_APP, threadAppSpec } from './threadapp.js';
import { assignCpus, loadPinner, usableCpus, type Pinner } from './affinity.js';
import { applyV8Flags, studyV8Flags } from './v8flags.js';

export interface ScalingOptions {
  /** Group workers per stack, each a point per strategy ('single' runs once, at 1). */
  workers: number[];
  strategies: Strategy[];
  workloads: Workload[];
  /** Measured window per point (s). */
  seconds: number;
  /** Unreported run before the window (s). */
  warmupSeconds: number;
  /** rr: connections kept open (default 1000, the issue's target). crr: concurrent opens (default 64). bulk: connections (default the largest worker count). */
  connections?: number;
  /** The peer of every workload (default: DEFAULT_PEER's per workload). */
  peer?: PeerKind;
  /** Windows per point, interleaved over the points in shuffled rounds (default 5). */
  repeats?: number;
  /** Seed of the order and of the bootstrap intervals (default 1). */
  seed?: number;
  /**
   * CPUs the worker threads are pinned to, round robin (A's workers, then B's or the
   * synthetic peer's thread); undefined: every CPU the process may use; null or []: no pinning.
   */
  cpus?: number[] | null;
  /** Called with one line of progress at a time. */
  onProgress?: (line: string) => void;
  /**
   * Both stacks' cxgbe0 with checksum offload (IPv4 and IPv6), TSO and LRO enabled; off:
   * none, as before. Needs the stack peer (the synthetic peer models no card offloads).
   */
  offload?: boolean;
  /**
   * 802.3x flow control on the link (cxgbe0 mediaopt rxpause,txpause; default on): a full
   * receive ring holds the sender's frames in its transmit queue instead of losing them.
   * Off: a receiver descheduled for a few ms loses the tail of a window (the A/A noise).
   */
  flowControl?: boolean;
  /**
   * V8 optimises the worker isolates' code on background compiler threads (V8's default, on);
   * off: on the worker's own thread (v8flags.ts, docs/scaling-noise.md).
   */
  concurrentRecompilation?: boolean;
}

/** cxgbe0's offloads under `offload`: checksums both ways and families, TSO4/6, LRO. */
const OFFLOAD_CAPS = IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TSO | IFCAP_LRO;

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
  bulk1: undefined,
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

/**
 * A's TOE card for the toe strategy: cxgbe0 a T4 with t4_tom loaded at start, running the
 * client `app` itself; TIDs and card memory for every connection the workload holds at
 * once (crr: the concurrent opens, and those in TIME_WAIT still hold theirs for a moment).
 */
function toeCard(app: AppSpec, connections: number, caps: number) {
  const ntids = Math.max(1024, 4 * connections);
  return {
    capabilities: caps | IFCAP_TOE,
    modules: ['t4_tom'],
    // 96 KiB a connection (toecard.ts TOE_CONN_MEMORY): FreeBSD's default buffers.
    toe: { ntids, memory: ntids * 98304, apps: [app] },
  };
}

/** The apps of each side for a workload: A's client, B's server. */
function appsFor(workload: Workload, connections: number): { a: AppSpec; b: AppSpec; appA: string; appB: string } {
  switch (workload) {
    case 'bulk':
    case 'bulk1':
      return {
        a: {
          name: 'bulk-sender',
          options: { addr: ADDR_B, port: PORT, connections, bytes: Number.MAX_SAFE_INTEGER },
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
    case 'bulk1':
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
    const [{ st: sa }, sb] = await Promise.all([stackStats(a), b?.stats() ?? null]);
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

/**
 * CPU time the whole machine spent busy (every CPU, every process: user, nice, system, irq,
 * softirq, steal of /proc/stat's `cpu` line), in ns; NaN without procfs. Less this
 * process's own CPU, it is what other processes took from the study in a window: the
 * noise of a shared machine, measured rather than guessed.
 */
function machineBusyNs(): number {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0);
    return Number.isFinite(busy) ? busy * (1e9 / USER_HZ) : NaN;
  } catch {
    return NaN;
  }
}
/** /proc/stat's tick (USER_HZ, 100 on every architecture Node runs on). */
const USER_HZ = 100;

interface Snapshot {
  t: number;
  /** machineBusyNs() at the snapshot. */
  machine: number;
  process: number;
  main: number;
  a: StackStats;
  /** B's stats, or null against the synthetic peer. */
  b: StackStats | null;
  /** CPU ns of each worker by stack, read by tid when the worker reports one, else its own cpuUs. */
  cpuA: number[];
  /** CPU ns of A's TOE card's thread (the toe strategy), else null. */
  card: number | null;
  cpuB: number[];
  /** The synthetic peer's counters and CPU, when it is the peer. */
  peer: SyntheticPeerStats | null;
}

/** The worker's kernel thread id, from the study's probe app (threadapp.ts); -1 when unknown. */
function workerTid(w: WorkerStats): number {
  const tid = w.apps[THREAD_APP]?.tid;
  return typeof tid === 'number' && tid > 0 ? tid : -1;
}

function workerCpuNs(w: WorkerStats): number {
  const tid = workerTid(w);
  if (tid > 0) {
    const ns = taskCpuNs(tid);
    if (Number.isFinite(ns)) return ns;
  }
  return w.cpuUs * 1000;
}

/**
 * A stack's stats with its TOE card's folded in when the card runs (the toe strategy): the
 * card's own apps' counters, the frames it sent, its TCP counters; and its thread's CPU.
 */
async function stackStats(s: Stack): Promise<{ st: StackStats; cardNs: number | null }> {
  const [st, card] = await Promise.all([s.stats(), s.cardAlive ? s.cardCounters() : null]);
  if (card === null) return { st, cardNs: null };
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  for (const [name, x] of Object.entries(card.apps)) add((st.apps[name] ??= {}), x);
  add(st.total, { txFrames: card.txFrames, txDrops: card.txDrops });
  add(st.tcpstat, card.tcpstat);
  return { st, cardNs: card.cpuUs * 1000 };
}

async function snapshot(a: Stack, b: Stack | SyntheticPeer): Promise<Snapshot> {
  const [{ st: sa, cardNs }, sb] = await Promise.all([stackStats(a), b instanceof Stack ? b.stats() : null]);
  // Main-thread and process clocks after the replies, with the worker clocks by tid: the
  // same instant at both edges of the window.
  const t = performance.now();
  const cpuA = sa.workers.map(workerCpuNs);
  const cpuB = sb?.workers.map(workerCpuNs) ?? [];
  const peer = b instanceof SyntheticPeer ? b.stats() : null;
  return {
    t,
    machine: machineBusyNs(),
    process: processCpuNs(),
    main: threadCpuNs(),
    a: sa,
    b: sb,
    cpuA,
    cpuB,
    card: cardNs,
    peer,
  };
}

function window(s0: Snapshot, s1: Snapshot, workload: Workload): WindowCounts {
  const d = (x: Record<string, number>, y: Record<string, number>, k: string) => (y[k] ?? 0) - (x[k] ?? 0);
  const sum = (k: string) => d(s0.a.total, s1.a.total, k) + (s0.b && s1.b ? d(s0.b.total, s1.b.total, k) : 0);
  const none = {};
  const probe = (k: string) =>
    d(s0.a.apps[THREAD_APP] ?? none, s1.a.apps[THREAD_APP] ?? none, k) +
    (s0.b && s1.b ? d(s0.b.apps[THREAD_APP] ?? none, s1.b.apps[THREAD_APP] ?? none, k) : 0);
  const a = s1.cpuA.map((ns, i) => (ns - (s0.cpuA[i] ?? ns)) / 1e9);
  const b = s1.cpuB.map((ns, i) => (ns - (s0.cpuB[i] ?? ns)) / 1e9);
  // Unreadable peer CPU (no procfs) counts as 0: charged to the stack, never a NaN in the sums.
  const peerNs = s0.peer && s1.peer ? s1.peer.cpuNs - s0.peer.cpuNs : 0;
  const peer = Number.isFinite(peerNs) ? peerNs / 1e9 : 0;
  const main = (s1.main - s0.main) / 1e9;
  const proc = (s1.process - s0.process) / 1e9;
  const machine = (s1.machine - s0.machine) / 1e9;
  const card = s0.card !== null && s1.card !== null ? (s1.card - s0.card) / 1e9 : null;
  const named = a.reduce((x, y) => x + y, 0) + b.reduce((x, y) => x + y, 0) + main + peer + (card ?? 0);
  return {
    wallSeconds: (s1.t - s0.t) / 1000,
    work: workOf(workload, s1.a, s1.b) - workOf(workload, s0.a, s0.b),
    // Frames each side put on the link (hops travel on the stack's own sibling rings).
    packets: sum('txFrames') + (s0.peer && s1.peer ? s1.peer.opackets - s0.peer.opackets : 0),
    hops: sum('hops'),
    lockWaits: sum('lockWaits'),
    drops: sum('txDrops') + sum('hopDrops'),
    loop: {
      turns: sum('loops'),
      sleeps: sum('sleeps'),
      woken: sum('sleepsWoken'),
      gcs: probe('gcCount'),
      gcMajor: probe('gcMajor'),
      gcSeconds: probe('gcUs') / 1e6,
    },
    timeouts:
      d(s0.a.tcpstat, s1.a.tcpstat, 'tcps_rexmttimeo') +
      (s0.b && s1.b ? d(s0.b.tcpstat, s1.b.tcpstat, 'tcps_rexmttimeo') : 0),
    cpu: {
      a,
      b,
      peer,
      ...(card !== null ? { card } : {}),
      main,
      other: Math.max(0, proc - named),
      process: proc,
      // Clamped: the machine's ticks (10 ms) and the process's clock (µs) disagree by a tick or two.
      ...(Number.isFinite(machine) ? { others: Math.max(0, machine - proc) } : {}),
    },
  };
}

/** The work's total in a readable form for progress lines. */
function brief(p: ScalingPoint): string {
  const t = isBulk(p.workload)
    ? `${p.throughput.toFixed(2)} Gbit/s`
    : `${Math.round(p.throughput).toLocaleString('en-US')} ${p.unit}`;
  return (
    `${t}, ${p.busyCpuSeconds.toFixed(2)} busy CPU-s, ${p.hopsPerPacket.toFixed(3)} hops/pkt` +
    (p.warmupSeconds !== undefined
      ? `, warm-up ${p.warmupSeconds.toFixed(2)} s${p.unsettled ? ' (unsettled)' : ''}`
      : '') +
    (p.helperRetries ? `, measured again ${p.helperRetries}× (V8 helpers busy${p.helpersBusy ? ', still' : ''})` : '') +
    (p.cpu.others !== undefined ? `, other processes ${p.cpu.others.toFixed(2)} CPU-s` : '') +
    (p.timeouts ? `, ${p.timeouts} retransmission timeout${p.timeouts > 1 ? 's' : ''}` : '')
  );
}

/**
 * Measured windows a point's window may take again when V8's helper threads were busy in it
 * (more than HELPERS_QUIET_SHARE of the stacks' CPU): a compile that landed after the warm-up
 * settled. At most two, so a window costs at most two more seconds of the study.
 */
const HELPER_RETRIES = 2;

/** A warm-up's sampling slice (s): short enough to end it soon after it settles. */
const WARMUP_SLICE = 0.25;
/**
 * The longest warm-up past the minimum, as a multiple of it: a run that never settles is
 * measured anyway and says so (1.5 s by default: at most 4.5 s in all). A short warm-up
 * asked for stays short (the CLI tests' 0.2 s: at most 0.6 s).
 */
const WARMUP_EXTRA = 2;

/**
 * Run the workload unmeasured for at least `min` seconds and until it has settled (stats/
 * settle.ts): its CPU per unit of work steady and V8's helper threads (compilers, GC) quiet,
 * at most WARMUP_EXTRA times `min` longer. V8 tiers a fresh isolate's hot code up by work
 * done, so on a machine that gives the stacks less CPU the ramp lasts longer in wall time;
 * and a plateau of CPU per unit while the compilers still work is not the steady state.
 * The warm-up it took and whether it settled.
 */
async function warmUp(
  workload: Workload,
  a: Stack,
  b: Stack | SyntheticPeer,
  min: number,
): Promise<{ seconds: number; settled: boolean }> {
  const stackB = b instanceof Stack ? b : null;
  const t0 = performance.now();
  const perUnit: number[] = [];
  const helpers: number[] = [];
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  // CPU of the measured stacks (the process less the synthetic peer's thread) and of the
  // process's unnamed threads (V8's compilers and GC, libuv), as window() splits them.
  const read = async () => {
    const [{ st, cardNs }, sb] = await Promise.all([stackStats(a), stackB?.stats() ?? null]);
    const proc = processCpuNs();
    const peerNs = b instanceof SyntheticPeer ? b.stats().cpuNs : 0;
    const peer = Number.isFinite(peerNs) ? peerNs : 0;
    const named =
      sum(st.workers.map(workerCpuNs)) + sum(sb?.workers.map(workerCpuNs) ?? []) + threadCpuNs() + peer + (cardNs ?? 0);
    return { work: workOf(workload, st, sb), cpu: proc - peer, helpers: proc - named };
  };
  let prev = await read();
  for (;;) {
    await sleep(WARMUP_SLICE * 1000);
    const cur = await read();
    const work = cur.work - prev.work;
    const cpu = cur.cpu - prev.cpu;
    perUnit.push(work > 0 ? cpu / work : Infinity);
    helpers.push(cpu > 0 ? Math.max(0, cur.helpers - prev.helpers) / cpu : 1);
    prev = cur;
    const t = (performance.now() - t0) / 1000;
    const done = settled(perUnit) && helpersQuiet(helpers);
    if (t >= min && (done || t >= min * (1 + WARMUP_EXTRA))) return { seconds: t, settled: done };
  }
}

/** How a window's threads were pinned: 'on', 'off' (not asked), or the failure. */
export type WindowPinning = { pinned: true; cpus: number[] } | { pinned: false; reason: string };

/**
 * Pin a window's threads (A's workers, then B's or the peer's thread) round robin over
 * `cpus`. The first failure stops it: the window runs unpinned (its threads already pinned
 * keep their core) and says why.
 */
async function pinWindow(
  pinner: Pinner,
  cpus: readonly number[],
  a: Stack,
  b: Stack | SyntheticPeer,
): Promise<WindowPinning> {
  const [sa, sb] = await Promise.all([a.stats(), b instanceof Stack ? b.stats() : null]);
  const tids = [...sa.workers.map(workerTid), ...(sb ? sb.workers.map(workerTid) : [(b as SyntheticPeer).threadId])];
  if (tids.some((t) => !(t > 0))) return { pinned: false, reason: 'a thread did not report its tid (no procfs?)' };
  const where = assignCpus(tids.length, cpus);
  for (let i = 0; i < tids.length; i++) {
    const e = pinner.pin(tids[i]!, [where[i]!]);
    if (e !== null) return { pinned: false, reason: `sched_setaffinity(${tids[i]}, CPU ${where[i]}): ${e}` };
  }
  return { pinned: true, cpus: where };
}

/**
 * Run one window of a point: stack A and its peer (stack B or the synthetic peer), pinned
 * when `pin` is given, warm-up, measured window, teardown.
 */
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
    pin?: { pinner: Pinner; cpus: readonly number[] };
    offload?: boolean;
    flowControl?: boolean;
  },
): Promise<ScalingPoint & { pinning: WindowPinning }> {
  const peerKind = o.peer ?? DEFAULT_PEER[workload];
  if (o.offload && peerKind !== 'stack') {
    throw new SysError(
      'EINVAL',
      `offloads need the stack peer (${workload} runs against ${peerKind})`,
      'bench scaling',
    );
  }
  const caps = {
    ...(o.offload ? { capabilities: OFFLOAD_CAPS, capenable: OFFLOAD_CAPS } : {}),
    ...(o.flowControl === false ? { flowControl: false } : {}),
  };
  if (peerKind === 'synthetic' && !SYNTHETIC_WORKLOADS.includes(workload)) {
    throw new SysError(
      'EINVAL',
      `the synthetic peer plays the echo server of ${SYNTHETIC_WORKLOADS.join(' and ')}, not ${workload}: use a stack peer`,
      'bench scaling',
    );
  }
  const toe = strategy === 'toe';
  if (toe && peerKind !== 'stack') {
    throw new SysError(
      'EINVAL',
      `the toe strategy needs the stack peer (${workload} runs against ${peerKind}: --peer stack)`,
      'bench scaling',
    );
  }
  const apps = appsFor(workload, o.connections);
  const sysctl = WORKLOAD_SYSCTL[workload];
  const host = toe ? 'rss-groups' : strategy;
  // The probe first: its start() is immediate, and it reports the tid before the workload's apps start.
  const a = Stack.create({
    name: 'A',
    workers,
    strategy: host,
    mac: MAC_A,
    addrs: [`${ADDR_A}/24`],
    // toe: the client runs on the card, its connections all offloaded (toeCard below).
    apps: toe ? [threadAppSpec()] : [threadAppSpec(), apps.a],
    sysctl,
    seed: o.seed ?? 1,
    ...caps,
    ...(toe ? toeCard(apps.a, o.connections, caps.capabilities ?? 0) : {}),
  });
  const b =
    peerKind === 'stack'
      ? Stack.create({
          name: 'B',
          workers,
          strategy: host,
          mac: MAC_B,
          addrs: [`${ADDR_B}/24`],
          apps: [threadAppSpec(), apps.b],
          sysctl,
          seed: (o.seed ?? 1) + 1,
          ...caps,
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
    const pinning: WindowPinning = o.pin
      ? await pinWindow(o.pin.pinner, o.pin.cpus, a, b)
      : { pinned: false, reason: 'not asked' };
    setupMs = await started(workload, a, stackB, o.connections, errors);
    const warm = await warmUp(workload, a, b, Math.max(o.warmupSeconds, minWarmup(workload)));
    let s0 = await snapshot(a, b);
    await sleep(o.seconds * 1000);
    let s1 = await snapshot(a, b);
    let counts = window(s0, s1, workload);
    // A compiler job that finished inside the window: the code ran slow until it landed, and
    // the job's thread took CPU (docs/scaling-noise.md). Measure the next window instead.
    let retries = 0;
    for (; retries < HELPER_RETRIES && !helpersQuiet([helperShare(counts.cpu)], { slices: 1 }); retries++) {
      s0 = s1;
      await sleep(o.seconds * 1000);
      s1 = await snapshot(a, b);
      counts = window(s0, s1, workload);
    }
    const busyHelpers = !helpersQuiet([helperShare(counts.cpu)], { slices: 1 });
    if (errors.length > 0) throw errors[0];
    return {
      ...makePoint(
        { workload, strategy, workers, connections: o.connections, peer: peerKind },
        counts,
        availableParallelism(),
      ),
      key: pointKey({ workload, strategy, workers }),
      setupSeconds: setupMs / 1000,
      warmupSeconds: warm.seconds,
      ...(warm.settled ? {} : { unsettled: 1 }),
      ...(retries > 0 ? { helperRetries: retries } : {}),
      ...(busyHelpers ? { helpersBusy: 1 } : {}),
      ...(sysctl ? { sysctl } : {}),
      ...(o.offload ? { offload: true } : {}),
      ...(o.flowControl === false ? { flowControl: false } : {}),
      pinning,
    };
  } finally {
    await Promise.allSettled([a.stop(), b.stop()]);
  }
}

function cpuSource(): string {
  if (!threadCpuAvailable()) return 'unavailable';
  return existsSync('/proc/thread-self/schedstat') ? 'procfs schedstat' : 'procfs stat';
}

/** A point of the study: one configuration, measured `repeats` times. */
export interface StudyPoint {
  workload: Workload;
  strategy: Strategy;
  workers: number;
  key: string;
}

/**
 * The points of a study: per workload, per strategy, per worker count ('single' once, at 1).
 * bulk1 (one connection) runs one point, at one worker with the first strategy listed: a
 * second worker has nothing to do for one connection, and at one worker every strategy is
 * the same system.
 */
export function studyPoints(o: Pick<ScalingOptions, 'workers' | 'strategies' | 'workloads'>): StudyPoint[] {
  const out: StudyPoint[] = [];
  for (const workload of o.workloads) {
    const strategies = workload === 'bulk1' ? o.strategies.slice(0, 1) : o.strategies;
    for (const strategy of strategies) {
      const counts = strategy === 'single' || workload === 'bulk1' ? [1] : o.workers;
      for (const workers of counts)
        out.push({ workload, strategy, workers, key: pointKey({ workload, strategy, workers }) });
    }
  }
  return out;
}

/** One measured window of a study. */
export interface PlanStep extends StudyPoint {
  /** 1-based round: every round measures every point once, in its own shuffled order. */
  round: number;
}

/**
 * The windows a study runs, in order: `repeats` rounds over every point (of every
 * workload), each round in an order shuffled from the seed (stats/order.ts), so a drift of
 * the machine's speed or the carry-over of one window into the next falls on every point
 * alike. The same options and seed give the same order.
 */
export function studyPlan(
  o: Pick<ScalingOptions, 'workers' | 'strategies' | 'workloads' | 'repeats' | 'seed'>,
): PlanStep[] {
  const points = new Map(studyPoints(o).map((p) => [p.key, p]));
  const plan = measurementPlan(
    [...points.keys()],
    o.seed ?? DEFAULT_SCALING.seed,
    Math.max(1, o.repeats ?? DEFAULT_SCALING.repeats),
  );
  return plan.steps.map((s) => ({ ...points.get(s.key)!, round: s.round }));
}

/** The plan as printed before a study runs. */
export function formatStudyPlan(
  o: Pick<ScalingOptions, 'workers' | 'strategies' | 'workloads' | 'repeats' | 'seed'>,
): string {
  return formatPlan(
    measurementPlan(
      studyPoints(o).map((p) => p.key),
      o.seed ?? DEFAULT_SCALING.seed,
      Math.max(1, o.repeats ?? DEFAULT_SCALING.repeats),
    ),
  );
}

/**
 * The main isolate's collector, so every window starts with its garbage collected (a major
 * GC in the coordinators' thread mid-window stalls every open and every stats reply). Node
 * exposes it only under --expose-gc; the flag set at run time takes effect in a new context.
 */
function collector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/** Connections of a workload: rr 1000, crr 64 concurrent opens, bulk one per worker of the largest count, bulk1 one. */
function connectionsFor(workload: Workload, o: Pick<ScalingOptions, 'connections' | 'workers'>): number {
  if (workload === 'bulk1') return 1;
  if (o.connections !== undefined) return o.connections;
  if (workload === 'bulk') return Math.max(1, ...o.workers);
  return workload === 'crr' ? CRR_CONCURRENCY : RR_CONNECTIONS;
}

/** Whether and where the study pins, decided once before the first window. */
async function pinningFor(cpus: number[] | null | undefined): Promise<{
  report: PinningReport;
  pin?: { pinner: Pinner; cpus: number[] };
}> {
  if (cpus === null || (cpus !== undefined && cpus.length === 0))
    return { report: { on: false, reason: 'not asked (--cpus none)' } };
  const pinner = loadPinner();
  if (typeof pinner === 'string') return { report: { on: false, reason: pinner } };
  const use = usableCpus(cpus ?? pinner.allowed, pinner.allowed);
  if (typeof use === 'string') return { report: { on: false, reason: use } };
  // A trial on the calling thread with the mask it already has: EPERM (a seccomp filter,
  // a container that forbids it) shows here, before any window.
  const e = pinner.pin(0, pinner.allowed);
  if (e !== null) return { report: { on: false, reason: `sched_setaffinity: ${e}` } };
  return {
    report: {
      on: true,
      cpus: use,
      how: `each window's worker threads (A's, then B's or the synthetic peer's) one per CPU round robin over ${native.formatCpuList(use)}; the main thread and V8's helpers unpinned`,
    },
    pin: { pinner, cpus: use },
  };
}

export async function runScaling(o: ScalingOptions): Promise<ScalingReport> {
  const t0 = performance.now();
  const progress = o.onProgress ?? (() => {});
  // Refused before any window runs (runPoint refuses too, for callers that go straight there).
  const noToe = o.strategies.includes('toe')
    ? o.workloads.find((w) => w !== 'bulk1' && (o.peer ?? DEFAULT_PEER[w]) !== 'stack')
    : undefined;
  if (noToe !== undefined) {
    throw new SysError(
      'EINVAL',
      `the toe strategy needs the stack peer (${noToe} runs against the synthetic peer: --peer stack)`,
      'bench scaling',
    );
  }
  const noCard = o.offload ? o.workloads.find((w) => (o.peer ?? DEFAULT_PEER[w]) !== 'stack') : undefined;
  if (noCard !== undefined) {
    throw new SysError(
      'EINVAL',
      `offloads need the stack peer (${noCard} runs against the synthetic peer)`,
      'bench scaling',
    );
  }
  const repeats = Math.max(1, o.repeats ?? DEFAULT_SCALING.repeats);
  const seed = o.seed ?? DEFAULT_SCALING.seed;
  const opts = { ...o, repeats, seed };
  const points = studyPoints(opts);
  const plan = studyPlan(opts);
  const pinning = await pinningFor(o.cpus);
  const gc = collector();
  const v8Flags = studyV8Flags(o.concurrentRecompilation !== false);
  const perWindow = Math.max(...o.workloads.map((w) => Math.max(o.warmupSeconds, minWarmup(w)))) + o.seconds + 0.8;
  progress(
    `${points.length} points × ${repeats} windows = ${plan.length} windows; ${o.warmupSeconds} s warm-up + ${o.seconds} s measured each, ` +
      `fresh stacks per window (about ${Math.ceil((plan.length * perWindow) / 60)} min)`,
  );
  progress(
    `pinning: ${pinning.report.on ? `on (cpus ${native.formatCpuList(pinning.report.cpus)})` : `off (${pinning.report.reason})`}`,
  );
  progress(`V8 flags of the worker isolates: ${v8Flags.join(' ')}`);
  for (const line of formatStudyPlan(opts).trimEnd().split('\n')) progress(line);
  const windows = new Map<string, ScalingPoint[]>(points.map((p) => [p.key, []]));
  const steps = new Map<string, number[]>(points.map((p) => [p.key, []]));
  const unpinned: string[] = [];
  let k = 0;
  // Before the first window's workers: V8 reads its flags when an isolate is created.
  const restoreV8 = applyV8Flags(v8Flags);
  try {
    for (const step of plan) {
      k++;
      gc?.();
      const w0 = performance.now();
      const p = await runPoint(step.workload, step.strategy, step.workers, {
        seconds: o.seconds,
        warmupSeconds: o.warmupSeconds,
        connections: connectionsFor(step.workload, o),
        ...(o.peer ? { peer: o.peer } : {}),
        ...(pinning.pin ? { pin: pinning.pin } : {}),
        ...(o.offload ? { offload: true } : {}),
        ...(o.flowControl === false ? { flowControl: false } : {}),
      });
      if (pinning.pin && !p.pinning.pinned) unpinned.push(p.pinning.reason);
      const { pinning: _, ...point } = p;
      windows.get(step.key)!.push(point);
      steps.get(step.key)!.push(k);
      const elapsed = (performance.now() - t0) / 1000;
      const left = ((plan.length - k) * elapsed) / k;
      progress(
        `[${k}/${plan.length}] round ${step.round}: ${step.workload} ${step.strategy} ${step.workers} worker${step.workers > 1 ? 's' : ''}: ` +
          `${brief(p)} (${((performance.now() - w0) / 1000).toFixed(1)} s; ~${Math.round(left)} s left)`,
      );
    }
  } finally {
    restoreV8();
  }
  const cpus = availableParallelism();
  const summarised = points.map((p) => summarise(windows.get(p.key)!, steps.get(p.key)!, cpus, DEFAULT_LEVEL));
  const aa = checkAA(summarised, o.workloads, { seed, level: DEFAULT_LEVEL });
  let pinReport = pinning.report;
  if (pinReport.on && unpinned.length > 0)
    pinReport = {
      on: false,
      cpus: pinReport.cpus,
      reason: `${unpinned.length} of ${plan.length} windows ran unpinned: ${unpinned[0]}`,
    };
  return {
    workloads: [...o.workloads],
    strategies: [...o.strategies],
    repeats,
    workers: [...o.workers],
    seconds: o.seconds,
    warmupSeconds: o.warmupSeconds,
    seed,
    level: DEFAULT_LEVEL,
    order: plan.map((s) => s.key),
    machine: { cpus, node: process.versions.node, platform: process.platform },
    cpuSource: cpuSource(),
    pinning: pinReport,
    flowControl: o.flowControl !== false,
    v8Flags,
    points: summarised,
    aa,
    noisy: aa.some((x) => !x.check.agree),
    noise: assessNoise(summarised, aa, cpus, seed),
    targets: checkTargets(summarised, o.workloads, aa, { seed, level: DEFAULT_LEVEL }),
    studySeconds: (performance.now() - t0) / 1000,
  };
}
