/**
 * `mcstack bench toe --plot`: offload off and on side by side for each workload — the
 * rate, the host's CPU per unit and the card's — one panel per workload and measure, each
 * with its own scale, and the live-handoff rate in the subtitle.
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderVegaLiteSvg } from './vega-svg.js';
import { sig } from './table.js';
import type { ToeBenchReport } from './toe.js';

export function toeSpec(r: ToeBenchReport): TopLevelSpec {
  const values: { workload: string; measure: string; toe: string; value: number }[] = [];
  for (const row of r.rows) {
    const per = row.workload === 'bulk' ? 'µs/GB' : 'µs/transaction';
    const rate = row.workload === 'bulk' ? 'Gbit/s' : 'transactions/s';
    values.push({ workload: row.workload, measure: `rate (${rate})`, toe: row.mode, value: row.rate });
    values.push({ workload: row.workload, measure: `host CPU (${per})`, toe: row.mode, value: row.hostCpu });
    values.push({ workload: row.workload, measure: `card CPU (${per})`, toe: row.mode, value: row.cardCpu });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: 'mcstack bench toe: TCP offload off and on',
      subtitle: [
        `medians of ${r.repeats} runs; live handoffs host → card → host: ${sig(r.handoffs)}/s`,
        `host CPU per GB on / off ${r.hostCpuPerGbRatio.toFixed(3)} (target ≤ 0.2), bulk throughput on / off ${r.bulkThroughputRatio.toFixed(3)} (target ≥ 1.0)`,
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
      mark: 'bar',
      encoding: {
        x: { field: 'toe', type: 'nominal', title: 'toe', sort: ['off', 'on'] },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'toe', type: 'nominal', scale: { domain: ['off', 'on'] } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

export function renderToeSvg(r: ToeBenchReport): Promise<string> {
  return renderVegaLiteSvg(toeSpec(r));
}
