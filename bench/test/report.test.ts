/**
 * The scaling study's report from fixed window counts: derived figures, the targets, the
 * table and the vega plot. No stacks run here (scaling.ts is exercised by the CLI test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  makePoint,
  checkTargets,
  poolWindows,
  type ScalingPoint,
  type ScalingReport,
  type Strategy,
  type Workload,
} from '../src/result.js';
import { formatReport, formatColumns, sig } from '../src/table.js';
import { renderScalingSvg, scalingSpec } from '../src/plot.js';

const CPUS = 2;

function point(
  workload: Workload,
  strategy: Strategy,
  workers: number,
  work: number,
  busy: number,
  hops = 0,
): ScalingPoint {
  const a = Array.from({ length: workers }, () => (busy * 0.4) / workers);
  const b = Array.from({ length: workers }, () => (busy * 0.4) / workers);
  return makePoint(
    { workload, strategy, workers, connections: workload === 'rr' ? 1000 : 1, peer: 'stack' },
    {
      wallSeconds: 2,
      work,
      packets: 1000,
      hops,
      lockWaits: 3,
      cpu: { a, b, peer: 0, main: busy * 0.05, other: busy * 0.15, process: busy },
    },
    CPUS,
  );
}

/** A crr point against the synthetic peer: `busy` is A's CPU, `peer` the peer thread's. */
function synthetic(workers: number, work: number, busy: number, peer: number): ScalingPoint {
  const a = Array.from({ length: workers }, () => (busy * 0.8) / workers);
  return makePoint(
    { workload: 'crr', strategy: 'rss-groups', workers, connections: 64, peer: 'synthetic' },
    {
      wallSeconds: 2,
      work,
      packets: 1000,
      hops: 0,
      lockWaits: 0,
      cpu: { a, b: [], peer, main: busy * 0.1, other: busy * 0.1, process: busy + peer },
    },
    CPUS,
  );
}

function report(points: ScalingPoint[], workloads: Workload[]): ScalingReport {
  return {
    workloads,
    strategies: ['rss-groups', 'single', 'unaligned'],
    repeats: 1,
    workers: [1, 2],
    seconds: 2,
    warmupSeconds: 1,
    machine: { cpus: CPUS, node: '20', platform: 'linux' },
    cpuSource: 'procfs-schedstat',
    points,
    targets: checkTargets(points, workloads),
  };
}

test('makePoint: bulk throughput in Gbit/s, CPU per GB, Gbit per busy CPU-second, hops per packet', () => {
  const p = point('bulk', 'rss-groups', 1, 1e9, 2, 250); // 1 GB in 2 s using 2 CPU-s
  assert.equal(p.throughput, 4);
  assert.equal(p.unit, 'Gbit/s');
  assert.equal(p.cpuSecondsPerUnit, 2);
  assert.equal(p.perCpuSecond, 4);
  assert.equal(p.utilisation, 0.5);
  assert.equal(p.hopsPerPacket, 0.25);
  const rr = point('rr', 'rss-groups', 2, 400_000, 4);
  assert.equal(rr.throughput, 200_000);
  assert.equal(rr.unit, 'tps');
  assert.equal(rr.cpuSecondsPerUnit, 1e-5);
  assert.equal(rr.perCpuSecond, 100_000);
});

test('makePoint: against the synthetic peer its thread is reported apart, not charged to the stack', () => {
  const p = synthetic(1, 60_000, 2, 0.5); // 30k conn/s on 2 CPU-s of A, 0.5 of the peer
  assert.equal(p.peer, 'synthetic');
  assert.equal(p.busyCpuSeconds, 2);
  assert.equal(p.perCpuSecond, 30_000);
  assert.ok(Math.abs(p.peerCpuSecondsPerUnit - 0.5 / 60_000) < 1e-15);
  assert.equal(point('crr', 'rss-groups', 1, 60_000, 2).peerCpuSecondsPerUnit, 0);
  // The scaling target is judged on the stack's CPU; the ratio with the peer counted is shown.
  const t = checkTargets([p, synthetic(2, 114_000, 4, 0.9)], ['crr']).find(
    (x) => x.name === 'crr: rss-groups scaling',
  )!;
  assert.ok(Math.abs(t.value! - 0.95) < 1e-12);
  assert.equal(t.met, true);
  assert.match(t.reached, /^95\.0% \(synthetic peer; 96\.9% with its thread counted\)$/);
});

test('poolWindows: two windows of a configuration pool into totals, thread by thread', () => {
  const w1 = point('rr', 'rss-groups', 2, 400_000, 4); // 200k tps, 100k txn per CPU-s
  const w2 = point('rr', 'rss-groups', 2, 300_000, 4); // a slower window: 75k txn per CPU-s
  const pooled = poolWindows([w1, w2]);
  assert.equal(pooled.wallSeconds, 4);
  assert.equal(pooled.work, 700_000);
  assert.equal(pooled.cpu.process, 8);
  assert.deepEqual(pooled.cpu.a, [1.6, 1.6]);
  assert.equal(pooled.lockWaits, 6);
  const p = makePoint(
    { workload: 'rr', strategy: 'rss-groups', workers: 2, connections: 1000, peer: 'stack', windows: 2 },
    pooled,
    CPUS,
  );
  assert.equal(p.windows, 2);
  assert.equal(p.throughput, 175_000);
  assert.equal(p.perCpuSecond, 87_500);
  assert.equal(w1.windows, 1);
});

test('checkTargets: scaling ratio, lead over unaligned and the absolute targets', () => {
  const pts = [
    point('rr', 'rss-groups', 1, 200_000, 2), // 100k txn per CPU-s
    point('rr', 'rss-groups', 2, 380_000, 4), // 95k: 95%
    point('rr', 'unaligned', 2, 300_000, 4), // 75k
    point('rr', 'single', 1, 190_000, 2),
  ];
  const t = checkTargets(pts, ['rr']);
  const by = new Map(t.map((x) => [x.name, x]));
  assert.equal(by.get('rr: rss-groups scaling')!.met, true);
  assert.ok(Math.abs(by.get('rr: rss-groups scaling')!.value! - 0.95) < 1e-12);
  assert.equal(by.get('rr: rss-groups vs unaligned')!.met, true);
  assert.equal(by.get('rr: request/response')!.value, 190_000); // best: 380k over 2 s
  assert.equal(by.get('rr: request/response')!.met, false);
  assert.match(by.get('rr: request/response')!.reached, /190,000 tps over 1000 connections \(rss-groups, 2 workers\)/);

  const lone = checkTargets([point('bulk', 'rss-groups', 1, 1e9, 2)], ['bulk']);
  assert.equal(lone.find((x) => x.name === 'bulk: rss-groups scaling')!.met, null);
  assert.equal(lone.find((x) => x.name === 'bulk: one connection')!.met, true);
  const slow = checkTargets([point('crr', 'rss-groups', 2, 30_000, 2)], ['crr']);
  assert.equal(slow.find((x) => x.name === 'crr: connection setup')!.met, false);
});

test('formatReport: one row per point with per-thread CPU, and every target', () => {
  const pts = [
    point('bulk', 'rss-groups', 1, 1e9, 2),
    point('bulk', 'rss-groups', 2, 1.8e9, 3.8, 0),
    point('bulk', 'unaligned', 2, 1.2e9, 3.8, 900),
  ];
  const text = formatReport(report(pts, ['bulk']));
  assert.match(
    text,
    /^strategy +workers +Gbit\/s +busy CPU-s +A workers +B workers +main +other +CPU-s\/GB +Gbit\/CPU-s +hops\/pkt +lock waits$/m,
  );
  assert.match(
    text,
    /^rss-groups +2 +7\.20 +3\.80 +0\.76\/0\.76 +0\.76\/0\.76 +0\.19 +0\.57 +2\.11 +3\.79 +0\.000 +3$/m,
  );
  assert.match(text, /^unaligned +2 .* 0\.900 +3$/m);
  assert.match(text, /^ +met +bulk: rss-groups scaling +94\.7%/m);
  assert.match(text, /^ +met +bulk: one connection +7\.20 Gbit\/s \(rss-groups, 2 workers\)/m);
  assert.deepEqual(
    formatColumns([
      ['a', '1'],
      ['bbb', '22'],
    ]),
    ['a     1', 'bbb  22'],
  );
  assert.equal(sig(0.012345), '0.0123');
  assert.equal(sig(123456), '123,456');
  assert.equal(sig(Infinity), '-');
});

test('renderScalingSvg: vega draws one line per strategy for each workload', async () => {
  const pts = [
    point('bulk', 'rss-groups', 1, 1e9, 2),
    point('bulk', 'rss-groups', 2, 1.8e9, 3.8),
    point('bulk', 'single', 1, 1e9, 2),
    point('bulk', 'unaligned', 1, 1e9, 2),
    point('bulk', 'unaligned', 2, 1.2e9, 3.8),
    point('rr', 'rss-groups', 1, 200_000, 2),
    point('rr', 'rss-groups', 2, 380_000, 4),
  ];
  const r = report(pts, ['bulk', 'rr']);
  const spec = scalingSpec(r) as { vconcat: { hconcat: unknown[] }[] };
  assert.equal(spec.vconcat.length, 2);
  assert.equal(spec.vconcat[0]!.hconcat.length, 2);
  const svg = await renderScalingSvg(r);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>$/);
  for (const s of [
    'rss-groups',
    'single',
    'unaligned',
    'bulk TCP, one connection',
    'throughput (Gbit/s)',
    'request/response',
    'throughput (tps)',
    'group workers per stack',
  ]) {
    assert.ok(svg.includes(s), `SVG lacks ${s}`);
  }
  // vega's line marks: one path per (chart, strategy with points in that workload).
  const lines = svg.match(/role-mark[^"]*marktype-line|class="mark-line/g) ?? [];
  assert.ok(lines.length >= 4, `${lines.length} line mark groups`);
});
