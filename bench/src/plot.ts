/**
 * The scaling study's plot: for each workload, throughput and throughput per busy
 * CPU-second against workers per stack, one line per strategy through the medians, a bar
 * over each point's interval, and the ideal: throughput growing in proportion to the
 * workers from rss-groups' 1-worker median (per busy CPU-second: staying at it). A vega-lite
 * spec compiled to vega and rendered headless to SVG by vega's View (no canvas, no native code).
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderVegaLiteSvg } from './vega-svg.js';
import type { LayerSpec } from 'vega-lite/types_unstable/spec/index.js';
import type { Field } from 'vega-lite/types_unstable/channeldef.js';
import { isBulk, THROUGHPUT_UNIT, type ScalingPoint, type ScalingReport, type Workload } from './result.js';

const TITLE: Record<Workload, string> = {
  bulk: 'bulk TCP, a connection per worker',
  bulk1: 'bulk TCP, one connection',
  rr: 'request/response',
  crr: 'connect/request/response/close',
};

/** Short: an axis title longer than the chart is tall would push the chart down. */
function perCpuTitle(wl: Workload): string {
  return isBulk(wl) ? 'Gbit / CPU-s' : `${wl === 'rr' ? 'transactions' : 'connections'} / CPU-s`;
}

const STRATEGY_DOMAIN = ['rss-groups', 'single', 'unaligned', 'toe'];
/** How far each strategy's points sit from their worker count on the x axis (workers). */
const NUDGE = 0.03;
const OFFSET: Record<string, number> = { 'rss-groups': -NUDGE, single: 0, unaligned: NUDGE, toe: 2 * NUDGE };

function chart(wl: Workload, field: 'throughput' | 'perCpuSecond', workers: number[]): LayerSpec<Field> {
  // `x` is the worker count nudged per strategy (NUDGE), so the three 1-worker bars do not hide each other.
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: 'group workers per stack',
    scale: { domain: [Math.min(...workers) - 2 * NUDGE, Math.max(...workers) + 2 * NUDGE], nice: false },
    axis: { values: workers, format: 'd' },
  };
  const color = { field: 'strategy', type: 'nominal' as const, title: 'strategy', scale: { domain: STRATEGY_DOMAIN } };
  const y = {
    field,
    type: 'quantitative' as const,
    title: field === 'throughput' ? THROUGHPUT_UNIT[wl] : perCpuTitle(wl),
    scale: { zero: true },
  };
  return {
    title: field === 'throughput' ? `throughput (${THROUGHPUT_UNIT[wl]})` : 'throughput per busy CPU-second',
    width: 260,
    height: 180,
    transform: [{ filter: { field: 'workload', equal: wl } }],
    layer: [
      {
        // The ideal, from rss-groups' 1-worker median: a dashed grey line.
        transform: [{ filter: { field: 'kind', equal: `ideal-${field}` } }],
        mark: { type: 'line', strokeDash: [4, 3], color: '#888' },
        encoding: { x, y },
      },
      {
        transform: [{ filter: { field: 'kind', equal: 'point' } }],
        mark: { type: 'rule', strokeWidth: 1.5 },
        encoding: { x, y: { ...y, field: `${field}Lo` }, y2: { field: `${field}Hi` }, color },
      },
      {
        transform: [{ filter: { field: 'kind', equal: 'point' } }],
        mark: { type: 'line', point: { size: 60, filled: true } },
        encoding: {
          x,
          y,
          // `single` runs at one worker only: a shape keeps its point visible where lines start.
          color,
          shape: { field: 'strategy', type: 'nominal', title: 'strategy', scale: { domain: STRATEGY_DOMAIN } },
          tooltip: [
            { field: 'strategy' },
            { field: 'workers' },
            { field, format: '.3~s' },
            { field: `${field}Lo`, format: '.3~s' },
            { field: `${field}Hi`, format: '.3~s' },
          ],
        },
      },
    ],
  };
}

/** The vega-lite spec of a report's plot (data inline). */
export function scalingSpec(r: ScalingReport): TopLevelSpec {
  const values: Record<string, string | number>[] = r.points.map((p: ScalingPoint) => ({
    kind: 'point',
    workload: p.workload,
    strategy: p.strategy,
    workers: p.workers,
    x: p.workers + (OFFSET[p.strategy] ?? 0),
    throughput: p.throughput,
    throughputLo: p.intervals?.throughput.lo ?? p.throughput,
    throughputHi: p.intervals?.throughput.hi ?? p.throughput,
    perCpuSecond: p.perCpuSecond,
    perCpuSecondLo: p.intervals?.perCpuSecond.lo ?? p.perCpuSecond,
    perCpuSecondHi: p.intervals?.perCpuSecond.hi ?? p.perCpuSecond,
  }));
  // Ideal scaling from rss-groups' 1-worker median, over the worker counts the workload ran.
  for (const wl of r.workloads) {
    const one = r.points.find((p) => p.workload === wl && p.strategy === 'rss-groups' && p.workers === 1);
    const counts = [...new Set(r.points.filter((p) => p.workload === wl).map((p) => p.workers))].sort((a, b) => a - b);
    if (!one || counts.length < 2) continue;
    for (const w of counts) {
      values.push({
        kind: 'ideal-throughput',
        workload: wl,
        strategy: 'ideal',
        workers: w,
        x: w,
        throughput: one.throughput * w,
      });
      values.push({
        kind: 'ideal-perCpuSecond',
        workload: wl,
        strategy: 'ideal',
        workers: w,
        x: w,
        perCpuSecond: one.perCpuSecond,
      });
    }
  }
  const workers = [...new Set([1, ...r.points.map((p) => p.workers)])].sort((a, b) => a - b);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'mcstack scaling study',
      subtitle: [
        `a stack and its peer over an in-memory multi-queue link, ${r.machine.cpus} CPUs; medians of ${r.repeats} windows of ${r.seconds} s, bars: their intervals`,
        "dashed: ideal scaling from rss-groups' 1-worker median",
      ],
    },
    background: 'white',
    data: { values },
    vconcat: r.workloads.map((wl) => ({
      title: {
        text:
          TITLE[wl] +
          (r.points.some((p) => p.workload === wl && p.peer === 'synthetic') ? ', against the synthetic peer' : ''),
        anchor: 'middle',
      },
      hconcat: [chart(wl, 'throughput', workers), chart(wl, 'perCpuSecond', workers)],
    })),
  };
}

/** Render a report's plot to an SVG document. */
export function renderScalingSvg(r: ScalingReport): Promise<string> {
  // vega-lite warns that its optimiser stopped after 5 passes over the layered charts: harmless, quiet.
  return renderVegaLiteSvg(scalingSpec(r), true);
}

export { ccSpec, renderCcSvg } from './cc-plot.js';
export { toeSpec, renderToeSvg } from './toe-plot.js';
