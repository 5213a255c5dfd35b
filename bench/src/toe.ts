/**
 * `mcstack bench toe`: the same workloads with TCP offload off and on, in one run, over
 * two stacks joined in memory: A (cxgbe0 a T4 card, `kldload t4_tom`) opens connections
 * through @mcstack/api to B's servers (also @mcstack/api):
 *
 * - bulk: one connection, `bulkBytes` written in 64 KiB chunks until B saw the end
 * - rr: 1-byte request/response on one connection for `seconds`
 * - handoffs: one connection carrying rr moved host → card → host … for `seconds`
 *
 * Each round (rounds.ts) runs bulk and rr with offload off and on and the handoffs once,
 * in an order shuffled from the seed; a row gives each figure's median with its interval.
 * CPU time is read per thread (threadcpu.ts): A's group workers (the host's TCP) and A's
 * card apart. The coordinator shares the main thread with both stacks' API sockets and
 * the workload here, so the main thread is shown apart, not folded into the host figure.
 * Targets (docs/toe.md), each the median of the rounds' on/off ratios with its interval:
 * host CPU per GB with offload ≤ 0.2× without; bulk throughput with offload ≥ 1.0×
 * without. Benchmarks are not tests: nothing is asserted.
 */
import { once } from 'node:events';
import { Stack, threadCpuNs } from '@mcstack/runtime';
import { mcnet, withNet, type McNet, type Socket } from '@mcstack/api';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TOE } from '@mcstack/netinet';
import { formatColumns } from './table.js';
import { DEFAULT_REPEATS } from './stats/order.js';
import { formatConditions, startConditions, type RunConditions } from './conditions.js';
import {
  estimate,
  formatEstimate,
  formatRatio,
  ratioRow,
  roundPoints,
  formatOrder,
  orderOf,
  roundsLine,
  runRounds,
  type Estimate,
  type RatioRow,
  type RoundPoint,
} from './rounds.js';

export interface ToeBenchOptions {
  /** Bytes of each bulk transfer (default 32 MiB). */
  bulkBytes?: number;
  /** Seconds of each request/response and handoff run (default 1). */
  seconds?: number;
  /** Rounds, each running every workload in each mode once (default 5). */
  repeats?: number;
  /** Seed of each round's shuffled order (default 1). */
  seed?: number;
}

export type ToeMode = 'off' | 'on';

export interface ToeBenchRow {
  workload: 'bulk' | 'rr';
  mode: ToeMode;
  /** Gbit/s (bulk) or transactions/s (rr): the median of the rounds with its interval, and each round's. */
  rate: Estimate;
  rates: number[];
  /** A's group workers' CPU time: µs per GB (bulk) or per transaction (rr). */
  hostCpu: Estimate;
  /** A's card thread's CPU time, the same unit. */
  cardCpu: Estimate;
  /** The main thread's (both stacks' API sockets, the coordinators, the workload), the same unit. */
  mainCpu: Estimate;
  /** Connections the card held during the runs (0 with offload off). */
  offloaded: number;
}

/** A target of the bench: an on/off ratio per round, its median, interval and verdict. */
export interface ToeTarget extends RatioRow {
  what: string;
}

export interface ToeBenchReport extends RunConditions {
  rows: ToeBenchRow[];
  bulkBytes: number;
  seconds: number;
  repeats: number;
  seed: number;
  /** The points in the order each round ran them. */
  order: string[][];
  /** Host CPU per GB on/off (≤ 0.2) and bulk throughput on/off (≥ 1.0). */
  targets: ToeTarget[];
  /**
   * Live handoffs per second (host → card → host …) of one connection carrying 1-byte
   * request/response meanwhile: the median of the rounds with its interval, and each round's.
   */
  handoffs: Estimate;
  handoffRates: number[];
  /** Every point's per-round figures, for `bench compare` (studyfile.ts). */
  points: RoundPoint[];
}

export interface Sample {
  rate: number;
  units: number;
  hostUs: number;
  cardUs: number;
  mainUs: number;
}

/** CPU µs of the stacks' group workers and cards, and of this thread, now. */
async function cpu(stacks: readonly Stack[]): Promise<{ host: number; card: number; main: number }> {
  let host = 0;
  let card = 0;
  for (const s of stacks) {
    host += (await s.stats()).workers.reduce((n, w) => n + w.cpuUs, 0);
    card += (await s.cardCounters())?.cpuUs ?? 0;
  }
  return { host, card, main: threadCpuNs() / 1000 };
}

/** One run of a workload with the CPU the stacks' workers, their cards and this thread spent in it. */
export async function measure(
  stacks: readonly Stack[],
  run: () => Promise<{ rate: number; units: number }>,
): Promise<Sample> {
  const c0 = await cpu(stacks);
  const r = await run();
  const c1 = await cpu(stacks);
  return { ...r, hostUs: c1.host - c0.host, cardUs: c1.card - c0.card, mainUs: c1.main - c0.main };
}

async function dial(net: McNet, port: number): Promise<Socket> {
  const c = net.connect({ port, host: '10.0.0.2', noDelay: true });
  await once(c, 'connect');
  return c;
}

/** One connection to `port`, `bytes` written in 64 KiB chunks until B saw the end: Gbit/s, GB. */
export async function bulk(netA: McNet, port: number, ended: () => Promise<void>, bytes: number) {
  const c = await dial(netA, port);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const done = ended();
  const t0 = performance.now();
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, chunk.length);
    left -= n;
    if (!c.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await once(c, 'drain');
  }
  c.end();
  await done;
  const s = (performance.now() - t0) / 1000;
  c.destroy();
  return { rate: (bytes * 8) / s / 1e9, units: bytes / 1e9 };
}

/** 1-byte request/response on one connection to `port` for `seconds`: transactions/s, transactions. */
export async function rr(netA: McNet, port: number, seconds: number) {
  const c = await dial(netA, port);
  const one = Buffer.from('x');
  let n = 0;
  let running = true;
  const t0 = performance.now();
  const finished = new Promise<void>((resolve) => {
    c.on('data', () => {
      n++;
      if (running) c.write(one);
      else resolve();
    });
  });
  c.write(one);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  await finished;
  const s = (performance.now() - t0) / 1000;
  c.destroy();
  return { rate: n / s, units: n };
}

/**
 * Move one echo connection host → card → host … for `seconds` while it carries 1-byte
 * request/response (each move waits for the last): moves per second, moves.
 */
async function handoffs(netA: McNet, port: number, seconds: number, cardIndex: number) {
  const c = await dial(netA, port);
  const one = Buffer.from('x');
  let running = true;
  const finished = new Promise<void>((resolve) => {
    c.on('data', () => {
      if (running) c.write(one);
      else resolve();
    });
  });
  c.write(one);
  let moves = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    await netA.handoff(c, c.worker !== cardIndex);
    moves++;
  }
  const s = (performance.now() - t0) / 1000;
  running = false;
  await finished;
  c.destroy();
  return { rate: moves / s, units: moves };
}

/**
 * B's servers through its API: discard on port 9 (`ended()` resolves at the next
 * connection's end of data) and a no-delay echo on port 7.
 */
export async function servers(netB: McNet): Promise<{ ended: () => Promise<void>; close(): void }> {
  let onEnd: (() => void) | null = null;
  const discard = netB.createServer((s) => {
    s.on('data', () => {});
    s.on('end', () => {
      onEnd?.();
      s.end();
    });
  });
  discard.listen(9);
  const echo = netB.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => s.write(d));
  });
  echo.listen(7);
  await Promise.all([once(discard, 'listening'), once(echo, 'listening')]);
  return {
    ended: () =>
      new Promise<void>((r) => {
        onEnd = r;
      }),
    close: () => {
      discard.close();
      echo.close();
    },
  };
}

/** The points of a round: each workload in each mode, and the handoffs. */
const TOE_POINTS = ['bulk/off', 'bulk/on', 'rr/off', 'rr/on', 'handoffs'] as const;
const TOE_TARGETS = [
  {
    what: 'host CPU per GB, toe on / off',
    figure: (x: Sample) => x.hostUs / x.units,
    direction: 'at most',
    value: 0.2,
  },
  { what: 'bulk throughput, toe on / off', figure: (x: Sample) => x.rate, direction: 'at least', value: 1.0 },
] as const;

export async function runToeBench(o: ToeBenchOptions = {}): Promise<ToeBenchReport> {
  const bulkBytes = o.bulkBytes ?? 32 << 20;
  const seconds = o.seconds ?? 1;
  const repeats = o.repeats ?? DEFAULT_REPEATS;
  const seed = o.seed ?? 1;
  const conditions = startConditions();
  const A = Stack.create(
    withNet({
      name: 'A',
      workers: 2,
      mac: '02:00:00:00:00:0a',
      addrs: ['10.0.0.1/24'],
      capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE,
      capenable: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6,
      toe: { ntids: 64 },
    }),
  );
  const B = Stack.create(withNet({ name: 'B', workers: 2, mac: '02:00:00:00:00:0b', addrs: ['10.0.0.2/24'] }));
  Stack.join(A, B);
  await Promise.all([A.start(), B.start()]);
  const netA = mcnet(A);
  const netB = mcnet(B);
  let rounds: Awaited<ReturnType<typeof runRounds<Sample>>>;
  try {
    const srv = await servers(netB);
    await A.kldload('t4_tom');
    const ended = srv.ended;
    rounds = await runRounds(TOE_POINTS, { seed, repeats }, async (key) => {
      // Handoffs need the card on; each workload runs in its own mode.
      await A.ifconfig(['cxgbe0', key.endsWith('/off') ? '-toe' : 'toe']);
      if (key === 'handoffs') return measure([A], () => handoffs(netA, 7, seconds, A.workers));
      return measure([A], () => (key.startsWith('bulk') ? bulk(netA, 9, ended, bulkBytes) : rr(netA, 7, seconds)));
    });
    await A.ifconfig(['cxgbe0', '-toe']);
    srv.close();
  } finally {
    netA.close();
    netB.close();
    await Promise.all([A.stop(), B.stop()]);
  }
  const offloaded = A.toeStats.offloaded;
  const of = (key: string): Sample[] => rounds.results.get(key) ?? [];
  const rows: ToeBenchRow[] = [];
  for (const workload of ['bulk', 'rr'] as const)
    for (const mode of ['off', 'on'] as const) {
      const s = of(`${workload}/${mode}`);
      rows.push({
        workload,
        mode,
        rate: estimate(s.map((x) => x.rate)),
        rates: s.map((x) => x.rate),
        hostCpu: estimate(s.map((x) => x.hostUs / x.units)),
        cardCpu: estimate(s.map((x) => x.cardUs / x.units)),
        mainCpu: estimate(s.map((x) => x.mainUs / x.units)),
        offloaded: mode === 'on' ? offloaded : 0,
      });
    }
  const targets = TOE_TARGETS.map((t) => ({
    what: t.what,
    ...ratioRow(of('bulk/on').map(t.figure), of('bulk/off').map(t.figure), { direction: t.direction, value: t.value }),
  }));
  const moves = of('handoffs').map((x) => x.rate);
  return {
    rows,
    bulkBytes,
    seconds,
    repeats,
    seed,
    order: orderOf(rounds.plan),
    targets,
    handoffs: estimate(moves),
    handoffRates: moves,
    points: roundPoints(rounds.results, SAMPLE_FIGURES),
    ...conditions(),
  };
}

/** The figures of a Sample that `bench compare` can read (rate: higher is better; CPU per unit: lower). */
export const SAMPLE_FIGURES = {
  throughput: (x: Sample) => x.rate,
  hostCpuPerUnit: (x: Sample) => x.hostUs / x.units,
  cardCpuPerUnit: (x: Sample) => x.cardUs / x.units,
  mainCpuPerUnit: (x: Sample) => x.mainUs / x.units,
};

export function formatToeBench(r: ToeBenchReport): string {
  const table = formatColumns(
    [
      ['workload', 'toe', 'rate', 'unit', 'host CPU', 'card CPU', 'main thread', 'per'],
      ...r.rows.map((x) => [
        x.workload,
        x.mode,
        formatEstimate(x.rate),
        x.workload === 'bulk' ? 'Gbit/s' : 'transactions/s',
        formatEstimate(x.hostCpu),
        formatEstimate(x.cardCpu),
        formatEstimate(x.mainCpu),
        x.workload === 'bulk' ? 'µs/GB' : 'µs/transaction',
      ]),
    ],
    2,
  );
  return (
    `bulk ${r.bulkBytes} B, rr and handoffs ${r.seconds} s; ${roundsLine(r)}; host = A's group workers, card = A's card thread\n` +
    `${formatOrder(r.order)}` +
    `${table.join('\n')}\n` +
    r.targets.map((t) => `${t.what}: ${formatRatio(t)}\n`).join('') +
    `live handoffs (host → card → host …, under 1-byte rr): ${formatEstimate(r.handoffs)}/s\n` +
    `${formatConditions(r)}\n`
  );
}
