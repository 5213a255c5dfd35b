/**
 * The scaling study as a terminal table: one block per workload, one row per strategy and
 * worker count with the medians of its windows and their intervals, the workload's A/A
 * check, then the targets' verdicts. Everything shown is in the report's JSON.
 */
import { native } from '@mcstack/runtime';
import type { Interval } from './stats/index.js';
import { NO_CONCURRENT_RECOMPILATION } from './v8flags.js';
import {
  isBulk,
  STRATEGIES,
  THROUGHPUT_UNIT,
  WORK_UNIT,
  type AAResult,
  type ScalingPoint,
  type ScalingReport,
  type Workload,
} from './result.js';

/** Columns padded to their widest cell; the first `left` columns left-aligned, the rest right-aligned. */
export function formatColumns(rows: readonly (readonly string[])[], left = 1): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, c) => {
      widths[c] = Math.max(widths[c] ?? 0, cell.length);
    });
  return rows.map((row) =>
    row
      .map((cell, c) => (c < left ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** Three significant digits, without exponent for the magnitudes the study sees. */
export function sig(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(Math.max(0, 2 - Math.floor(Math.log10(a))));
}

/** CPU seconds per unit in a readable unit: CPU-s per GB for bulk, CPU-µs per transaction/connection. */
function cpuPerUnit(wl: Workload, p: ScalingPoint): string {
  return isBulk(wl) ? sig(p.cpuSecondsPerUnit) : sig(p.cpuSecondsPerUnit * 1e6);
}

/** CPU seconds per measured window (a pooled row shows its windows' mean, so every row reads alike). */
function cpuS(p: ScalingPoint, s: number): string {
  return (s / p.windows).toFixed(2);
}

function threads(p: ScalingPoint, cpu: readonly number[]): string {
  return cpu.map((s) => cpuS(p, s)).join('/');
}

/** An interval's ends in the table's figures: `lo–hi`. */
function ends(iv: Interval | undefined): string {
  return iv ? `${sig(iv.lo)}–${sig(iv.hi)}` : '-';
}

/** The confidence the rows' intervals have (exact order-statistic: 93.75% for 5 windows), as a header. */
function confidenceOf(points: readonly ScalingPoint[]): string {
  const c = points.map((p) => p.intervals?.throughput.confidence).filter((x): x is number => x !== undefined);
  if (c.length === 0) return 'interval';
  const lo = Math.min(...c),
    hi = Math.max(...c);
  const pct = (x: number) => `${Number((x * 100).toFixed(2))}%`;
  return lo === hi ? `${pct(lo)} interval` : `${pct(lo)}-${pct(hi)} interval`;
}

/** One workload's table, with how long its windows' warm-ups ran. */
export function formatWorkload(wl: Workload, points: readonly ScalingPoint[]): string[] {
  const unit = THROUGHPUT_UNIT[wl];
  const bulk = isBulk(wl);
  const per = bulk ? 'CPU-s/GB' : `CPU-µs/${wl === 'rr' ? 'txn' : 'conn'}`;
  const perCpu = bulk ? 'Gbit/CPU-s' : `${wl === 'rr' ? 'txn' : 'conn'}/CPU-s`;
  const ci = confidenceOf(points);
  const rows: string[][] = [
    [
      'strategy',
      'workers',
      unit,
      ci,
      perCpu,
      ci,
      'busy CPU-s',
      'A workers',
      'B workers',
      'main',
      'other',
      'others',
      per,
      'hops/pkt',
      'lock waits',
    ],
  ];
  const synthetic = points.some((p) => p.peer === 'synthetic');
  if (synthetic) rows[0]!.splice(8, 1, 'peer thread', `peer ${per}`);
  // The toe strategy's card thread (A's), after A's workers.
  const card = points.some((p) => p.cpu.card !== undefined);
  if (card) rows[0]!.splice(8, 0, 'A card');
  const order = [...points].sort(
    (x, y) => STRATEGIES.indexOf(x.strategy) - STRATEGIES.indexOf(y.strategy) || x.workers - y.workers,
  );
  for (const p of order) {
    const b = synthetic
      ? [cpuS(p, p.cpu.peer), bulk ? sig(p.peerCpuSecondsPerUnit) : sig(p.peerCpuSecondsPerUnit * 1e6)]
      : [threads(p, p.cpu.b)];
    rows.push([
      p.strategy,
      String(p.workers),
      sig(p.throughput),
      ends(p.intervals?.throughput),
      sig(p.perCpuSecond),
      ends(p.intervals?.perCpuSecond),
      cpuS(p, p.busyCpuSeconds),
      threads(p, p.cpu.a),
      ...(card ? [p.cpu.card === undefined ? '-' : cpuS(p, p.cpu.card)] : []),
      ...b,
      cpuS(p, p.cpu.main),
      cpuS(p, p.cpu.other),
      p.cpu.others === undefined ? '-' : cpuS(p, p.cpu.others),
      cpuPerUnit(wl, p),
      p.hopsPerPacket.toFixed(3),
      String(Math.round(p.lockWaits / p.windows)),
    ]);
  }
  const first = points[0];
  const what =
    wl === 'bulk'
      ? 'bulk TCP A→B'
      : wl === 'bulk1'
        ? 'bulk TCP A→B on one connection'
        : wl === 'rr'
          ? 'request/response'
          : 'connect/request/response/close';
  const n = first?.windows ?? 1;
  const head =
    `${what}${synthetic ? ' against the synthetic peer (its thread apart, not in busy CPU-s)' : ''}, ` +
    `${first ? `${first.connections} connection${first.connections === 1 ? '' : 's'}, ` : ''}` +
    `${n} window${n === 1 ? '' : 's'} of ${first ? (first.wallSeconds / first.windows).toFixed(1) : '?'} s per point: ` +
    `${unit} and ${perCpu} are the windows' medians with their exact intervals; CPU in seconds per thread and lock waits, mean per window (${WORK_UNIT[wl]} = unit of work)` +
    (first?.sysctl
      ? `; ${Object.entries(first.sysctl)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : '') +
    warmupNote(points);
  return [head, ...formatColumns(rows, 1)];
}

/**
 * How long the warm-ups of a workload's windows ran (each until CPU per unit of work
 * settled), and how many reached their limit first.
 */
function warmupNote(points: readonly ScalingPoint[]): string {
  const ws = points.flatMap((p) => p.samples?.warmupSeconds ?? []);
  if (ws.length === 0) return '';
  const unsettled = points.reduce((x, p) => x + (p.unsettled ?? 0), 0);
  const retries = points.reduce((x, p) => x + (p.helperRetries ?? 0), 0);
  const busy = points.reduce((x, p) => x + (p.helpersBusy ?? 0), 0);
  const unit = WORK_UNIT[points[0]!.workload];
  return (
    `; warm-ups ${Math.min(...ws).toFixed(1)} to ${Math.max(...ws).toFixed(1)} s (until CPU per ${unit} settled)` +
    (unsettled > 0 ? `, ${unsettled} window${unsettled === 1 ? '' : 's'} measured unsettled` : '') +
    (retries > 0
      ? `; ${retries} measured window${retries === 1 ? '' : 's'} taken again, V8's helper threads busy in ${retries === 1 ? 'it' : 'them'}` +
        (busy > 0 ? ` (${busy} still busy)` : '')
      : '')
  );
}

/** The A/A lines of a workload: its 1-worker configurations, one system, on each figure. */
export function formatAA(aa: readonly AAResult[], wl: Workload): string[] {
  return aa
    .filter((x) => x.workload === wl)
    .map((x) => `${x.figure === 'throughput' ? 'throughput' : 'per busy CPU-s'} ${x.check.message}`);
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

export function formatReport(r: ScalingReport): string {
  const pin = r.pinning.on
    ? `pinning: on (cpus ${native.formatCpuList(r.pinning.cpus)}: ${r.pinning.how})`
    : `pinning: off (${r.pinning.reason})`;
  const lines = [
    `mcstack scaling study: stack A joined by an in-memory multi-queue link to stack B or the synthetic peer, ${r.machine.cpus} CPUs, Node ${r.machine.node}` +
      `, warm-up of at least ${r.warmupSeconds} s until CPU per unit of work settles + ${r.seconds} s measured per window, fresh stacks per window, per-thread CPU from ${r.cpuSource}`,
    `${plural(r.points.length, 'point')} × ${plural(r.repeats, 'window')} in ${plural(r.repeats, 'round')}, each round shuffled (seed ${r.seed}; the order is in the JSON)` +
      (r.studySeconds !== undefined ? `; ${Math.round(r.studySeconds)} s in all` : ''),
    pin,
    ...(r.flowControl === undefined
      ? []
      : [
          `flow control: ${r.flowControl ? 'on (cxgbe0 mediaopt rxpause,txpause: a full ring holds frames in the sender)' : 'off (a full ring drops: drops and RTOs are counted per point)'}`,
        ]),
    ...(r.v8Flags === undefined
      ? []
      : [
          `V8 flags of the worker isolates: ${r.v8Flags.join(' ')} (${r.v8Flags.includes(NO_CONCURRENT_RECOMPILATION) ? 'each isolate optimises on its own thread' : 'optimised on background compiler threads; a window they were busy in is taken again'})`,
        ]),
    '',
  ];
  for (const wl of r.workloads) {
    lines.push(
      ...formatWorkload(
        wl,
        r.points.filter((p) => p.workload === wl),
      ),
    );
    const aa = formatAA(r.aa, wl);
    if (aa.length > 0) lines.push(...aa.map((l) => `  ${l}`));
    lines.push('');
  }
  lines.push(
    "busy CPU-s: the whole process in the window (A/B workers, main, other threads: GC, compiler), less the synthetic peer's thread where it is the peer; others: every other process on the machine.",
    "A/A: at one worker rss-groups, single and unaligned are the same system; they agree when the interval of each pair's ratio of medians holds 1.",
    ...(r.strategies.includes('toe')
      ? [
          "toe: A is rss-groups with its TOE card running the client (every connection offloaded); A card: the card's thread, in busy CPU-s; not one system with the others at one worker.",
        ]
      : []),
    '',
  );
  lines.push(r.noise.message, '');
  lines.push(`targets (${Math.round(r.level * 100)}% bootstrap intervals for ratios; medians' exact intervals):`);
  lines.push(
    ...formatColumns(
      r.targets.map((t) => [
        t.verdict === 'not met' ? 'NOT met' : t.verdict,
        t.name,
        t.reached,
        `(target ${t.target})`,
      ]),
      4,
    ).map((l) => `  ${l}`),
  );
  return `${lines.join('\n')}\n`;
}
