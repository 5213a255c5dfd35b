/**
 * The scaling study's plot: for each workload, throughput and throughput per busy
 * CPU-second against workers per stack, one line per strategy. A vega-lite spec compiled to
 * vega and rendered headless to SVG by vega's View (no canvas, no native code).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { FacetedUnitSpec } from 'vega-lite/types_unstable/spec/unit.js';
import type { Field } from 'vega-lite/types_unstable/channeldef.js';
import { THROUGHPUT_UNIT, type ScalingPoint, type ScalingReport, type Workload } from './result.js';

const TITLE: Record<Workload, string> = {
  bulk: 'bulk TCP, one connection',
  rr: 'request/response',
  crr: 'connect/request/response/close',
};

/** Short: an axis title longer than the chart is tall would push the chart down. */
function perCpuTitle(wl: Workload): string {
  return wl === 'bulk' ? 'Gbit / CPU-s' : `${wl === 'rr' ? 'transactions' : 'connections'} / CPU-s`;
}

const STRATEGY_DOMAIN = ['rss-groups', 'single', 'unaligned'];

function chart(wl: Workload, field: 'throughput' | 'perCpuSecond', workers: number[]): FacetedUnitSpec<Field> {
  return {
    title: field === 'throughput' ? `throughput (${THROUGHPUT_UNIT[wl]})` : 'throughput per busy CPU-second',
    width: 260,
    height: 180,
    transform: [{ filter: { field: 'workload', equal: wl } }],
    mark: { type: 'line', point: { size: 60, filled: true } },
    encoding: {
      x: {
        field: 'workers',
        type: 'quantitative',
        title: 'group workers per stack',
        scale: { domain: [Math.min(...workers), Math.max(...workers)] },
        axis: { values: workers, format: 'd' },
      },
      y: {
        field,
        type: 'quantitative',
        title: field === 'throughput' ? THROUGHPUT_UNIT[wl] : perCpuTitle(wl),
        scale: { zero: true },
      },
      // `single` runs at one worker only: a shape keeps its point visible where lines start.
      color: { field: 'strategy', type: 'nominal', title: 'strategy', scale: { domain: STRATEGY_DOMAIN } },
      shape: { field: 'strategy', type: 'nominal', title: 'strategy', scale: { domain: STRATEGY_DOMAIN } },
      tooltip: [{ field: 'strategy' }, { field: 'workers' }, { field, format: '.3~s' }],
    },
  };
}

/** The vega-lite spec of a report's plot (data inline). */
export function scalingSpec(r: ScalingReport): TopLevelSpec {
  const values = r.points.map((p: ScalingPoint) => ({
    workload: p.workload,
    strategy: p.strategy,
    workers: p.workers,
    throughput: p.throughput,
    perCpuSecond: p.perCpuSecond,
  }));
  const workers = [...new Set([1, ...r.points.map((p) => p.workers)])].sort((a, b) => a - b);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'mcstack scaling study',
      subtitle: `a stack and its peer over an in-memory multi-queue link, ${r.machine.cpus} CPUs, ${r.seconds} s per point`,
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
export async function renderScalingSvg(r: ScalingReport): Promise<string> {
  const spec = compile(scalingSpec(r)).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export { ccSpec, renderCcSvg } from './cc-plot.js';
