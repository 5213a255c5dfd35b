/**
 * `mcstack bench toe --plot` (toe-plot.ts): a report's SVG has a panel per workload and
 * measure, off and on in each with its interval, and the targets' verdicts and the handoff
 * rate in its subtitle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderToeSvg, toeSpec } from '../src/toe-plot.js';
import { estimate, ratioRow } from '../src/rounds.js';
import type { ToeBenchReport, ToeBenchRow } from '../src/toe.js';

const row = (workload: 'bulk' | 'rr', mode: 'off' | 'on', rate: number, hostCpu: number): ToeBenchRow => ({
  workload,
  mode,
  rate: estimate([rate * 0.9, rate, rate * 1.1]),
  rates: [rate * 0.9, rate, rate * 1.1],
  hostCpu: estimate([hostCpu]),
  cardCpu: estimate([mode === 'on' ? hostCpu * 4 : 1]),
  mainCpu: estimate([10]),
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
  repeats: 3,
  seed: 1,
  order: [['bulk/off', 'bulk/on', 'rr/off', 'rr/on', 'handoffs']],
  targets: [
    { what: 'host CPU per GB, toe on / off', ...ratioRow([1.6e6], [1.4e7], { direction: 'at most', value: 0.2 }) },
    { what: 'bulk throughput, toe on / off', ...ratioRow([0.09], [0.08], { direction: 'at least', value: 1 }) },
  ],
  handoffs: estimate([847]),
  handoffRates: [847],
  points: [],
  cores: 2,
  loadBefore: 1,
  loadAfter: 1,
};

test('toe plot: six panels of off and on with intervals, the verdicts and handoff rate in the subtitle', async () => {
  const spec = toeSpec(report) as { data: { values: { toe: string; lo: number; hi: number }[] } };
  assert.equal(spec.data.values.length, 12);
  assert.ok(
    spec.data.values.some((v) => v.lo < v.hi),
    'an interval to draw',
  );
  const svg = await renderToeSvg(report);
  assert.match(svg, /^<svg/);
  assert.match(svg, /live handoffs host → card → host: 847\/s/);
  assert.match(svg, /host CPU per GB, toe on \/ off: 0\.114 \[0\.114–0\.114\] \(0%\), target ≤ 0\.2: met/);
  for (const m of ['rate (Gbit/s)', 'host CPU (µs/GB)', 'card CPU (µs/transaction)']) assert.ok(svg.includes(m), m);
});
