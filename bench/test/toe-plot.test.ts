/**
 * `mcstack bench toe --plot` (toe-plot.ts): a report's SVG has a panel per workload and
 * measure, off and on in each, and the handoff rate in its subtitle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderToeSvg, toeSpec } from '../src/toe-plot.js';
import type { ToeBenchReport, ToeBenchRow } from '../src/toe.js';

const row = (workload: 'bulk' | 'rr', mode: 'off' | 'on', rate: number, hostCpu: number): ToeBenchRow => ({
  workload,
  mode,
  rate,
  rates: [rate],
  hostCpu,
  cardCpu: mode === 'on' ? hostCpu * 4 : 1,
  mainCpu: 10,
  offloaded: mode === 'on' ? 2 : 0,
});

const report: ToeBenchReport = {
  rows: [
    row('bulk', 'off', 0.08, 1.4e7),
    row('bulk', 'on', 0.09, 1.6e6),
    row('rr', 'off', 1400, 160),
    row('rr', 'on', 3100, 4.6),
  ],
  bulkBytes: 1 << 20,
  seconds: 1,
  repeats: 1,
  hostCpuPerGbRatio: 0.114,
  bulkThroughputRatio: 1.125,
  handoffs: 847,
  handoffRates: [847],
  cores: 2,
  loadBefore: 1,
  loadAfter: 1,
};

test('toe plot: six panels of off and on, the handoff rate in the subtitle', async () => {
  const spec = toeSpec(report) as { data: { values: { toe: string }[] } };
  assert.equal(spec.data.values.length, 12);
  const svg = await renderToeSvg(report);
  assert.match(svg, /^<svg/);
  assert.match(svg, /live handoffs host → card → host: 847\/s/);
  for (const m of ['rate (Gbit/s)', 'host CPU (µs/GB)', 'card CPU (µs/transaction)']) assert.ok(svg.includes(m), m);
});
