/**
 * The scaling study as a terminal table: one block per workload, one row per strategy and
 * worker count, then the targets. Everything shown is in the report's JSON.
 */
import {
  STRATEGIES,
  THROUGHPUT_UNIT,
  WORK_UNIT,
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
  return wl === 'bulk' ? sig(p.cpuSecondsPerUnit) : sig(p.cpuSecondsPerUnit * 1e6);
}

/** CPU seconds per measured window (a pooled row shows its windows' mean, so every row reads alike). */
function cpuS(p: ScalingPoint, s: number): string {
  return (s / p.windows).toFixed(2);
}

function threads(p: ScalingPoint, cpu: readonly number[]): string {
  return cpu.map((s) => cpuS(p, s)).join('/');
}

/** One workload's table; `warmup` is the study's warm-up (a longer one of a point is named). */
export function formatWorkload(wl: Workload, points: readonly ScalingPoint[], warmup?: number): string[] {
  const unit = THROUGHPUT_UNIT[wl];
  const per = wl === 'bulk' ? 'CPU-s/GB' : `CPU-µs/${wl === 'rr' ? 'txn' : 'conn'}`;
  const perCpu = wl === 'bulk' ? 'Gbit/CPU-s' : `${wl === 'rr' ? 'txn' : 'conn'}/CPU-s`;
  const rows: string[][] = [
    [
      'strategy',
      'workers',
      unit,
      'busy CPU-s',
      'A workers',
      'B workers',
      'main',
      'other',
      per,
      perCpu,
      'hops/pkt',
      'lock waits',
    ],
  ];
  const synthetic = points.some((p) => p.peer === 'synthetic');
  if (synthetic) rows[0]!.splice(5, 1, 'peer thread', `peer ${per}`);
  const order = [...points].sort(
    (x, y) => STRATEGIES.indexOf(x.strategy) - STRATEGIES.indexOf(y.strategy) || x.workers - y.workers,
  );
  for (const p of order) {
    const b = synthetic
      ? [cpuS(p, p.cpu.peer), wl === 'bulk' ? sig(p.peerCpuSecondsPerUnit) : sig(p.peerCpuSecondsPerUnit * 1e6)]
      : [threads(p, p.cpu.b)];
    rows.push([
      p.strategy,
      String(p.workers),
      sig(p.throughput),
      cpuS(p, p.busyCpuSeconds),
      threads(p, p.cpu.a),
      ...b,
      cpuS(p, p.cpu.main),
      cpuS(p, p.cpu.other),
      cpuPerUnit(wl, p),
      sig(p.perCpuSecond),
      p.hopsPerPacket.toFixed(3),
      String(p.lockWaits),
    ]);
  }
  const first = points[0];
  const what = wl === 'bulk' ? 'bulk TCP A→B' : wl === 'rr' ? 'request/response' : 'connect/request/response/close';
  const head =
    `${what}${synthetic ? ' against the synthetic peer (its thread apart, not in busy CPU-s)' : ''}, ` +
    `${first ? `${first.connections} connection${first.connections === 1 ? '' : 's'}, ` : ''}` +
    `${first ? (first.wallSeconds / first.windows).toFixed(1) : '?'} s measured per window; CPU in seconds per thread per window (${WORK_UNIT[wl]} = unit of work)` +
    (first?.sysctl
      ? `; ${Object.entries(first.sysctl)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : '') +
    (first?.warmupSeconds !== undefined && first.warmupSeconds !== warmup
      ? `; ${first.warmupSeconds} s warm-up (steady TIME-WAIT)`
      : '') +
    pooledNote(points);
  return [head, ...formatColumns(rows, 1)];
}

/** Which rows pool several windows (their figures are totals over them). */
function pooledNote(points: readonly ScalingPoint[]): string {
  const n = Math.max(...points.map((p) => p.windows));
  if (!(n > 1)) return '';
  const which = [...new Set(points.filter((p) => p.windows > 1).map((p) => p.strategy))].join(', ');
  return `; ${which} rows: ${n} windows each, in alternating worker order, pooled (CPU: their mean)`;
}

export function formatReport(r: ScalingReport): string {
  const lines = [
    `mcstack scaling study: stack A joined by an in-memory multi-queue link to stack B or the synthetic peer, ${r.machine.cpus} CPUs, Node ${r.machine.node}` +
      `, ${r.warmupSeconds} s warm-up + ${r.seconds} s measured per window, per-thread CPU from ${r.cpuSource}`,
    '',
  ];
  for (const wl of r.workloads) {
    lines.push(
      ...formatWorkload(
        wl,
        r.points.filter((p) => p.workload === wl),
        r.warmupSeconds,
      ),
      '',
    );
  }
  lines.push(
    "busy CPU-s: the whole process in the window (A/B workers, main, other threads: GC, compiler), less the synthetic peer's thread where it is the peer.",
    '',
  );
  lines.push('targets:');
  lines.push(
    ...formatColumns(
      r.targets.map((t) => [
        t.met === null ? 'n/a' : t.met ? 'met' : 'NOT met',
        t.name,
        t.reached,
        `(target ${t.target})`,
      ]),
      4,
    ).map((l) => `  ${l}`),
  );
  return `${lines.join('\n')}\n`;
}
