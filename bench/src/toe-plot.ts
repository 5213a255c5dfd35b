/**
 * `mcstack bench toe --plot`: offload off and on side by side for each workload — the
 * rate, the host's CPU per unit and the card's — one panel per workload and measure, each
 * with its own scale: a bar at the median of the rounds and a rule over its interval; the
 * targets' verdicts and the live-handoff rate in the subtitle.
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderVegaLiteSvg } from './vega-svg.js';
import { sig } from './table.js';
import { formatRatio, type Estimate } from './rounds.js';
import type { ToeBenchReport } from './toe.js';

export function toeSpec(r: ToeBenchReport): TopLevelSpec {
  const values: { workload: string; measure: string; toe: string; value: number; lo: number; hi: number }[] = [];
  const add = (workload: string, measure: string, toe: string, e: Estimate) =>
    values.push({ workload, measure, toe, value: e.median, lo: e.lo, hi: e.hi });
  for (const row of r.rows) {
    const per = row.workload === 'bulk' ? 'µs/GB' : 'µs/transaction';
    const rate = row.workload === 'bulk' ? 'Gbit/s' : 'transactions/s';
    add(row.workload, `rate (${rate})`, row.mode, row.rate);
    add(row.workload, `host CPU (${per})`, row.mode, row.hostCpu);
    add(row.workload, `card CPU (${per})`, row.mode, row.cardCpu);
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: 'mcstack bench toe: TCP offload off and on',
      subtitle: [
        `medians of ${r.repeats} rounds (seed ${r.seed}), rules over their intervals; live handoffs host → card → host: ${sig(r.handoffs.median)}/s`,
        ...r.targets.map((t) => `${t.what}: ${formatRatio(t)}`),
      ],
    },
    background: 'white',
    data: { values },
    facet: {
      row: { field: 'workload', type: 'nominal', title: null },
      column: { field: 'measure', type: 'nominal', title: null },
    },
    spec: {
      width: 120,
      height: 120,
      encoding: { x: { field: 'toe', type: 'nominal', title: 'toe', sort: ['off', 'on'] } },
      layer: [
        {
          mark: 'bar',
          encoding: {
            y: { field: 'value', type: 'quantitative', title: null },
            color: { field: 'toe', type: 'nominal', scale: { domain: ['off', 'on'] } },
          },
        },
        {
          mark: { type: 'rule', color: 'black' },
          encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

export function renderToeSvg(r: ToeBenchReport): Promise<string> {
  return renderVegaLiteSvg(toeSpec(r));
}
