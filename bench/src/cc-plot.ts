/**
 * The congestion-control study's plot: cwnd (segments) over virtual time, one line per
 * flow, one panel per run. Series are thinned to at most 600 points per flow.
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderVegaLiteSvg } from './vega-svg.js';
import type { CcStudyReport } from './cc.js';

const MAX_POINTS = 600;

export function ccSpec(r: CcStudyReport): TopLevelSpec {
  const values: { run: string; flow: string; t: number; cwnd: number }[] = [];
  for (const run of r.runs) {
    const times = run.result.sampleTimesMs;
    const step = Math.max(1, Math.ceil(times.length / MAX_POINTS));
    run.result.flows.forEach((f, i) => {
      for (let k = 0; k < f.cwnd.length; k += step)
        values.push({ run: run.label, flow: `${i} ${f.algorithm}`, t: times[k]! / 1000, cwnd: f.cwnd[k]! });
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values },
    facet: { row: { field: 'run', type: 'nominal', title: null } },
    spec: {
      width: 640,
      height: 160,
      mark: { type: 'line', strokeWidth: 1 },
      encoding: {
        x: { field: 't', type: 'quantitative', title: 'virtual time (s)' },
        y: { field: 'cwnd', type: 'quantitative', title: 'cwnd (segments)' },
        color: { field: 'flow', type: 'nominal', title: 'flow' },
      },
    },
    resolve: { scale: { color: 'independent' } },
  };
}

export function renderCcSvg(r: CcStudyReport): Promise<string> {
  return renderVegaLiteSvg(ccSpec(r));
}
