/**
 * The scaling study's report from fixed window counts: derived figures, the medians and
 * intervals of a point's windows, the A/A check, the targets' verdicts, the table and the
 * vega plot. No stacks run here (scaling.ts is exercised by the CLI test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  makePoint,
  checkTargets,
  checkAA,
  assessNoise,
  poolWindows,
  summarise,
  helperShare,
  type ScalingPoint,
  type ScalingReport,
  type Strategy,
  type Workload,
} from '../src/result.js';
import { formatReport, formatColumns, sig } from '../src/table.js';
import { medianRatioCI, helpersQuiet } from '../src/stats/index.js';
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

/**
 * A summarised point from its windows' throughputs (`work` per 2 s window, the unit's count)
 * at `busy` CPU-s each, so throughput per busy CPU-second is work / busy.
 */
function windows(
  workload: Workload,
  strategy: Strategy,
  workers: number,
  works: readonly number[],
  busy = 2,
): ScalingPoint {
  return summarise(
    works.map((w) => point(workload, strategy, workers, w, busy)),
    works.map((_, i) => i + 1),
    CPUS,
  );
}

/** Five windows around `mid` (±2%), for points that are tight. */
const around = (mid: number) => [0.98, 0.99, 1, 1.01, 1.02].map((f) => mid * f);

function report(points: ScalingPoint[], workloads: Workload[]): ScalingReport {
  const aa = checkAA(points, workloads);
  return {
    workloads,
    strategies: ['rss-groups', 'single', 'unaligned'],
    repeats: points[0]?.windows ?? 1,
    workers: [1, 2],
    seconds: 2,
    warmupSeconds: 1,
    seed: 1,
    level: 0.95,
    order: points.map((p) => p.key!),
    machine: { cpus: CPUS, node: '20', platform: 'linux' },
    cpuSource: 'procfs-schedstat',
    pinning: { on: true, cpus: [0, 1], how: 'round robin' },
    points,
    aa,
    noisy: aa.some((x) => !x.check.agree),
    noise: assessNoise(points, aa, CPUS),
    targets: checkTargets(points, workloads, aa),
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
  assert.equal(point('bulk1', 'rss-groups', 1, 1e9, 2).throughput, 4);
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
  const one = summarise([p, p, p], [1, 2, 3], CPUS);
  const two = summarise(
    [1, 2, 3].map(() => synthetic(2, 114_000, 4, 0.9)),
    [4, 5, 6],
    CPUS,
  );
  const t = checkTargets([one, two], ['crr']).find((x) => x.name === 'crr: rss-groups scaling')!;
  assert.ok(Math.abs(t.value! - 0.95) < 1e-12);
  assert.equal(t.verdict, 'met'); // identical windows: the interval is the point 95%
  assert.match(t.reached, /^95\.0% \[95\.0%, 95\.0%\] 95%; synthetic peer: 96\.9% with its thread counted$/);
});

test('poolWindows: windows of a configuration pool into totals, thread by thread', () => {
  const w1 = point('rr', 'rss-groups', 2, 400_000, 4);
  const w2 = point('rr', 'rss-groups', 2, 300_000, 4);
  const pooled = poolWindows([w1, w2]);
  assert.equal(pooled.wallSeconds, 4);
  assert.equal(pooled.work, 700_000);
  assert.equal(pooled.cpu.process, 8);
  assert.deepEqual(pooled.cpu.a, [1.6, 1.6]);
  assert.equal(pooled.lockWaits, 6);
  assert.equal(pooled.timeouts, undefined); // windows without the count pool without it
  // A window stalled by a retransmission timeout is kept visible per window.
  const t1 = { ...w1, timeouts: 0, drops: 0 };
  const t2 = { ...w2, timeouts: 2, drops: 5 };
  assert.equal(poolWindows([t1, t2]).timeouts, 2);
  assert.equal(poolWindows([t1, t2]).drops, 5);
  assert.deepEqual(summarise([t1, t2], [1, 2], CPUS).samples!.timeouts, [0, 2]);
});

test("summarise: each window's loop shape, GC and warm-up kept; the loops pooled; unsettled warm-ups counted", () => {
  const loop = (turns: number, sleeps: number, gcSeconds: number) => ({
    turns,
    sleeps,
    woken: sleeps / 2,
    gcs: 2,
    gcMajor: 0,
    gcSeconds,
  });
  const w1 = { ...point('rr', 'single', 1, 400_000, 2), loop: loop(16_000, 800, 0.004), warmupSeconds: 1.5 };
  const w2 = {
    ...point('rr', 'single', 1, 200_000, 2),
    loop: loop(10_000, 1_000, 0.012),
    warmupSeconds: 4.5,
    unsettled: 1,
  };
  const p = summarise([w1, w2], [1, 2], CPUS);
  assert.deepEqual(p.samples!.turnsPerUnit, [0.04, 0.05]);
  assert.deepEqual(p.samples!.sleepsPerUnit, [0.002, 0.005]);
  assert.deepEqual(p.samples!.gcSeconds, [0.004, 0.012]);
  assert.deepEqual(p.samples!.warmupSeconds, [1.5, 4.5]);
  assert.equal(p.warmupSeconds, 4.5); // the longest
  assert.equal(p.unsettled, 1);
  assert.deepEqual(p.loop, { turns: 26_000, sleeps: 1_800, woken: 900, gcs: 4, gcMajor: 0, gcSeconds: 0.016 });
  // Windows without the counts (older reports) pool and summarise without them.
  const old = summarise([point('rr', 'single', 1, 400_000, 2)], [1], CPUS);
  assert.equal(old.loop, undefined);
  assert.equal(old.samples!.turnsPerUnit, undefined);
  assert.equal(old.unsettled, undefined);
});

test('summarise: the medians of the windows with their exact intervals, every window kept', () => {
  // Throughputs 100k..300k tps in a shuffled order; 2 busy CPU-s each.
  const works = [400_000, 200_000, 600_000, 300_000, 500_000];
  const p = summarise(
    works.map((w) => point('rr', 'rss-groups', 1, w, 2)),
    [3, 9, 12, 20, 31],
    CPUS,
  );
  assert.equal(p.key, 'rr/rss-groups/1');
  assert.equal(p.windows, 5);
  assert.deepEqual(p.samples!.throughput, [200_000, 100_000, 300_000, 150_000, 250_000]);
  assert.deepEqual(p.steps, [3, 9, 12, 20, 31]);
  assert.equal(p.throughput, 200_000); // the median (the pooled mean is 200k too here: see below)
  assert.equal(p.perCpuSecond, 200_000); // 400k transactions on 2 busy CPU-s
  // n = 5: the exact interval is [min, max] with 1 − 2/32 = 93.75% confidence.
  assert.deepEqual([p.intervals!.throughput.lo, p.intervals!.throughput.hi], [100_000, 300_000]);
  assert.equal(p.intervals!.throughput.confidence, 0.9375);
  // Counts are pooled: CPU columns are totals over the windows.
  assert.equal(p.work, 2_000_000);
  assert.equal(p.cpu.process, 10);
  // One wild window moves the median little, the mean a lot.
  const wild = summarise(
    [...works.slice(0, 4), 4_000_000].map((w) => point('rr', 'rss-groups', 1, w, 2)),
    [1, 2, 3, 4, 5],
    CPUS,
  );
  assert.equal(wild.throughput, 200_000);
  assert.ok(wild.work / wild.wallSeconds > 500_000);
});

test('checkTargets: ratios with their intervals; met, not met and inconclusive at the target', () => {
  // rss-groups 2 workers at 95% of 1 worker per busy CPU-s, every window within ±2%.
  const pts = [
    windows('rr', 'rss-groups', 1, around(200_000), 2), // 100k txn per CPU-s
    windows('rr', 'rss-groups', 2, around(380_000), 4), // 95k: 95%
    windows('rr', 'unaligned', 2, around(300_000), 4), // 75k
    windows('rr', 'single', 1, around(200_000), 2),
  ];
  const t = checkTargets(pts, ['rr']);
  const by = new Map(t.map((x) => [x.name, x]));
  const scaling = by.get('rr: rss-groups scaling')!;
  assert.ok(Math.abs(scaling.value! - 0.95) < 1e-12);
  // The interval is the bootstrap's: the same one the statistics give for these windows.
  const iv = medianRatioCI(pts[1]!.samples!.perCpuSecond, pts[0]!.samples!.perCpuSecond, { seed: 1 });
  assert.deepEqual([scaling.interval!.lo, scaling.interval!.hi], [iv.lo, iv.hi]);
  assert.ok(scaling.interval!.lo >= 0.9);
  assert.equal(scaling.verdict, 'met');
  assert.equal(by.get('rr: rss-groups vs unaligned')!.verdict, 'met');
  const rr = by.get('rr: request/response')!;
  assert.equal(rr.value, 190_000); // best median: 380k over 2 s
  assert.equal(rr.verdict, 'not met'); // its interval [186k, 194k] is below 200k
  assert.match(
    rr.reached,
    /^190,000 tps \[186,200, 193,800\] 93\.75% over 1000 connections \(rss-groups, 2 workers\)$/,
  );

  // Windows spread ±25% around 90%: the interval spans the target: inconclusive.
  const wide = (mid: number) => [0.75, 0.9, 1, 1.1, 1.25].map((f) => mid * f);
  const noisy = checkTargets(
    [windows('crr', 'rss-groups', 1, around(40_000), 2), windows('crr', 'rss-groups', 2, wide(72_000), 4)],
    ['crr'],
  );
  const ns = noisy.find((x) => x.name === 'crr: rss-groups scaling')!;
  assert.ok(ns.interval!.lo < 0.9 && ns.interval!.hi > 0.9);
  assert.equal(ns.verdict, 'inconclusive');
  // Clearly below: not met.
  const low = checkTargets(
    [windows('crr', 'rss-groups', 1, around(40_000), 2), windows('crr', 'rss-groups', 2, around(60_000), 4)],
    ['crr'],
  );
  assert.equal(low.find((x) => x.name === 'crr: rss-groups scaling')!.verdict, 'not met');

  // "Ahead of unaligned" is strict: equal windows give an interval [1, 1], not a lead.
  const tie = checkTargets(
    [windows('rr', 'rss-groups', 2, around(300_000), 4), windows('rr', 'unaligned', 2, around(300_000), 4)],
    ['rr'],
  );
  const lead = tie.find((x) => x.name === 'rr: rss-groups vs unaligned')!;
  assert.equal(lead.verdict, 'inconclusive');

  // bulk judges scaling and the lead; one-connection bulk the 2 Gbit/s target.
  const lone = checkTargets([windows('bulk', 'rss-groups', 1, around(1e9))], ['bulk', 'bulk1']);
  assert.equal(lone.find((x) => x.name === 'bulk: rss-groups scaling')!.verdict, 'n/a');
  assert.equal(lone.find((x) => x.name === 'bulk1: one connection')!.verdict, 'n/a');
  const one = checkTargets([windows('bulk1', 'rss-groups', 1, around(1e9))], ['bulk1']);
  assert.deepEqual(
    one.map((x) => [x.name, x.verdict]),
    [['bulk1: one connection', 'met']], // 4 Gbit/s ± 2%
  );
});

test('checkAA: one system under three names agrees; a 2× slot disagrees and makes the verdicts inconclusive', () => {
  const same = [
    windows('rr', 'rss-groups', 1, [190_000, 200_000, 210_000, 205_000, 195_000]),
    windows('rr', 'single', 1, [200_000, 192_000, 208_000, 198_000, 203_000]),
    windows('rr', 'unaligned', 1, [205_000, 196_000, 201_000, 193_000, 209_000]),
  ];
  const ok = checkAA(same, ['rr']);
  assert.deepEqual(
    ok.map((x) => [x.workload, x.figure, x.check.agree]),
    [
      ['rr', 'throughput', true],
      ['rr', 'perCpuSecond', true],
    ],
  );
  const two = windows('rr', 'rss-groups', 2, around(380_000), 4);
  const quiet = checkTargets([...same, two], ['rr'], ok);
  assert.equal(quiet.find((x) => x.name === 'rr: rss-groups scaling')!.verdict, 'met');

  // unaligned at one worker ran at half speed: the machine, not the stack.
  const slow = [same[0]!, same[1]!, windows('rr', 'unaligned', 1, around(100_000))];
  const bad = checkAA(slow, ['rr']);
  assert.ok(bad.every((x) => !x.check.agree));
  assert.match(bad[0]!.check.message, /too noisy/);
  assert.ok(bad[0]!.check.spread > 1.9);
  const t = checkTargets([...slow, two], ['rr', 'bulk1'], bad);
  const scaling = t.find((x) => x.name === 'rr: rss-groups scaling')!;
  assert.equal(scaling.verdict, 'inconclusive');
  assert.equal(scaling.measured, 'met');
  assert.match(scaling.reached, /A\/A check failed/);
  // bulk1 has no A/A of its own: it follows the run's.
  assert.equal(t.find((x) => x.name === 'bulk1: one connection')!.verdict, 'n/a');
  const b1 = checkTargets([windows('bulk1', 'rss-groups', 1, around(1e9))], ['bulk1'], bad);
  assert.equal(b1[0]!.verdict, 'inconclusive');
  assert.equal(b1[0]!.measured, 'met');
  // Agreement only within ±40%: ratio verdicts and a missed rate are inconclusive, a rate met stays met.
  const loose = [
    windows('rr', 'rss-groups', 1, around(200_000)),
    windows('rr', 'single', 1, [280_000, 160_000, 200_000, 120_000, 240_000]),
    windows('rr', 'unaligned', 1, [120_000, 200_000, 280_000, 240_000, 160_000]),
  ];
  const wide = checkAA(loose, ['rr']);
  assert.ok(wide.every((x) => x.check.agree));
  const lt = checkTargets([...loose, two], ['rr', 'crr'], wide);
  const ls = lt.find((x) => x.name === 'rr: rss-groups scaling')!;
  assert.equal(ls.verdict, 'inconclusive');
  assert.match(ls.reached, /the machine was too noisy \(one system's A\/A ratio reached \d+%\)/);
  const rate = lt.find((x) => x.name === 'rr: request/response')!;
  assert.equal(rate.measured, 'not met'); // 190k ± 2%, below 200k
  assert.equal(rate.verdict, 'inconclusive');
  const fast = checkTargets([...loose, windows('crr', 'rss-groups', 2, around(60_000), 4)], ['crr'], wide);
  assert.equal(fast.find((x) => x.name === 'crr: connection setup')!.verdict, 'met'); // 30k ± 2% ≥ 20k
  // A workload with one 1-worker configuration has no A/A.
  assert.deepEqual(checkAA([same[0]!, two], ['rr']), []);
});

test('formatReport: medians with intervals per row, the A/A lines, pinning, and every verdict', () => {
  const pts = [
    windows('bulk', 'rss-groups', 1, around(1e9)),
    windows('bulk', 'rss-groups', 2, around(1.8e9), 3.8),
    windows('bulk', 'single', 1, around(1e9)),
    windows('bulk', 'unaligned', 2, around(1.2e9), 3.8),
  ];
  const text = formatReport(report(pts, ['bulk']));
  assert.match(
    text,
    /^strategy +workers +Gbit\/s +93\.75% interval +Gbit\/CPU-s +93\.75% interval +busy CPU-s +A workers +B workers +main +other +others +CPU-s\/GB +hops\/pkt +lock waits$/m,
  );
  // 7.20 Gbit/s median of 7.06..7.34; per CPU-s 3.79 of 3.71..3.86; CPU a mean per window.
  assert.match(
    text,
    /^rss-groups +2 +7\.20 +7\.06–7\.34 +3\.79 +3\.71–3\.87 +3\.80 +0\.76\/0\.76 +0\.76\/0\.76 +0\.19 +0\.57 +- +2\.11 +0\.000 +3$/m,
  );
  assert.match(text, /^pinning: on \(cpus 0-1: round robin\)$/m);
  assert.match(text, /^ {2}throughput A\/A: bulk\/rss-groups\/1, bulk\/single\/1 agree/m);
  assert.match(text, /^A\/A passed: one system agreed with itself within \d%/m);
  assert.match(text, /^ +met +bulk: rss-groups scaling +94\.7% \[/m);
  assert.match(text, /^ +met +bulk: rss-groups vs unaligned +1\.50× unaligned/m);
  const noisy = formatReport(report([...pts.slice(0, 2), windows('bulk', 'single', 1, around(2e9))], ['bulk']));
  assert.match(noisy, /^A\/A FAILED for bulk: .*too noisy for this run's verdicts/m);
  // Agreement bought with wide windows is no quiet machine: the run says it cannot resolve 10%.
  const wide = [0.6, 0.8, 1, 1.25, 1.6];
  const loose = formatReport(
    report(
      [
        windows(
          'bulk',
          'rss-groups',
          1,
          wide.map((f) => f * 1e9),
        ),
        windows(
          'bulk',
          'single',
          1,
          [...wide].reverse().map((f) => f * 1.05e9),
        ),
      ],
      ['bulk'],
    ),
  );
  assert.match(
    loose,
    /^A\/A agreed, but only within (\d+%|a factor of [\d.]+): .*too noisy to resolve the 10% the scaling target needs/m,
  );
  assert.match(noisy, /^ +inconclusive +bulk: rss-groups scaling .*A\/A check failed/m);
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

test('renderScalingSvg: a line per strategy, interval bars and the ideal-scaling line', async () => {
  const pts = [
    windows('bulk', 'rss-groups', 1, around(1e9)),
    windows('bulk', 'rss-groups', 2, around(1.8e9), 3.8),
    windows('bulk', 'single', 1, around(1e9)),
    windows('bulk', 'unaligned', 1, around(1e9)),
    windows('bulk', 'unaligned', 2, around(1.2e9), 3.8),
    windows('rr', 'rss-groups', 1, around(200_000)),
    windows('rr', 'rss-groups', 2, around(380_000), 4),
  ];
  const r = report(pts, ['bulk', 'rr']);
  const spec = scalingSpec(r) as {
    vconcat: { hconcat: unknown[] }[];
    data: { values: { kind: string; workload: string; workers: number; throughput?: number }[] };
  };
  assert.equal(spec.vconcat.length, 2);
  assert.equal(spec.vconcat[0]!.hconcat.length, 2);
  // The ideal from rss-groups' 1-worker median (4 Gbit/s): 8 at two workers.
  const ideal = spec.data.values.filter((v) => v.kind === 'ideal-throughput' && v.workload === 'bulk');
  assert.deepEqual(
    ideal.map((v) => [v.workers, v.throughput]),
    [
      [1, 4],
      [2, 8],
    ],
  );
  const svg = await renderScalingSvg(r);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>$/);
  for (const s of [
    'rss-groups',
    'single',
    'unaligned',
    'bulk TCP, a connection per worker',
    'throughput (Gbit/s)',
    'request/response',
    'throughput (tps)',
    'group workers per stack',
    'ideal scaling',
  ]) {
    assert.ok(svg.includes(s), `SVG lacks ${s}`);
  }
  assert.ok((svg.match(/class="mark-rule/g) ?? []).length >= 4, 'interval bars drawn as rules');
  // Line groups: per chart the strategies' lines and the dashed ideal.
  const lines = svg.match(/class="mark-line/g) ?? [];
  assert.ok(lines.length >= 8, `${lines.length} line mark groups`);
  assert.match(svg, /stroke-dasharray="4,3"/);
});

test("assessNoise: the other processes' share of the machine, and the A/A resolution", () => {
  const w = (others: number[]) => {
    const ps = others.map((o) => {
      const p = point('rr', 'single', 1, 200_000, 2);
      return { ...p, cpu: { ...p.cpu, others: o } };
    });
    return summarise(
      ps,
      ps.map((_, i) => i + 1),
      CPUS,
    );
  };
  // 2 s windows on 2 CPUs: 4 CPU-s; others used 0.4, 1, 2, 2, 3 → shares 10%..75%, median 50%.
  const p = w([0.4, 1, 2, 2, 3]);
  assert.deepEqual(p.samples!.othersCpuSeconds, [0.4, 1, 2, 2, 3]);
  assert.equal(p.cpu.others, 8.4);
  const n = assessNoise([p], [], CPUS);
  assert.equal(n.othersShare, 0.5);
  assert.equal(n.resolution, null);
  assert.equal(n.tooNoisy, true);
  assert.match(n.message, /cannot tell how noisy.* Other processes used 50% of the 2 CPUs/);
  // Identical windows under two names: resolution 0, a quiet machine.
  const a = windows('rr', 'rss-groups', 1, [200_000, 200_000, 200_000]);
  const b = windows('rr', 'single', 1, [200_000, 200_000, 200_000]);
  const quiet = assessNoise([a, b], checkAA([a, b], ['rr']), CPUS);
  assert.equal(quiet.resolution, 0);
  assert.equal(quiet.tooNoisy, false);
  assert.equal(quiet.othersShare, null);
  // Windows from 2% to 100% of the median's: agreement within a factor, said as one.
  const c = windows('rr', 'rss-groups', 1, [4_000, 100_000, 200_000, 300_000, 400_000]);
  const d = windows('rr', 'single', 1, [400_000, 300_000, 200_000, 100_000, 4_000]);
  const loose = assessNoise([c, d], checkAA([c, d], ['rr']), CPUS);
  assert.ok(loose.resolution! > 1);
  assert.equal(loose.tooNoisy, true);
  assert.match(loose.message, /^A\/A agreed, but only within a factor of \d+\.\d: /);
});

/** A toe window: A's workers almost idle, the card doing A's part (`busy` CPU-s in all). */
function toeWindow(workload: Workload, workers: number, work: number, busy: number): ScalingPoint {
  const a = Array.from({ length: workers }, () => (busy * 0.01) / workers);
  const b = Array.from({ length: workers }, () => (busy * 0.4) / workers);
  return makePoint(
    { workload, strategy: 'toe', workers, connections: 1000, peer: 'stack' },
    {
      wallSeconds: 2,
      work,
      packets: 1000,
      hops: 0,
      lockWaits: 0,
      cpu: { a, b, peer: 0, card: busy * 0.39, main: busy * 0.05, other: busy * 0.15, process: busy },
    },
    CPUS,
  );
}

test('the toe strategy: judged against rss-groups at the same worker count (host CPU, throughput), outside the A/A check', () => {
  const toe = summarise(
    around(400_000).map((w) => toeWindow('rr', 2, w, 4)),
    [1, 2, 3, 4, 5],
    CPUS,
  );
  const pts = [
    windows('rr', 'rss-groups', 1, around(200_000), 2),
    windows('rr', 'single', 1, around(200_000), 2),
    windows('rr', 'rss-groups', 2, around(380_000), 4),
    toe,
  ];
  assert.equal(toe.cpu.card, 5 * 4 * 0.39, 'the card pooled apart');
  const aa = checkAA(pts, ['rr']);
  assert.ok(aa.every((x) => x.check.pairs.every((p) => !`${p.a}${p.b}`.includes('toe'))));
  const t = checkTargets(pts, ['rr'], aa);
  const by = new Map(t.map((x) => [x.name, x]));
  // A's workers: 1% of 4 CPU-s against rss-groups' 40%, both per transaction: 0.024×.
  const cpu = by.get('rr: toe host CPU')!;
  assert.ok(Math.abs(cpu.value! - 0.04 / 400_000 / (1.6 / 380_000)) < 1e-9, String(cpu.value));
  assert.equal(cpu.verdict, 'met');
  assert.match(cpu.reached, /rss-groups' \[.*\] 95% at 2 workers$/);
  const tput = by.get('rr: toe throughput')!;
  assert.ok(Math.abs(tput.value! - 400_000 / 380_000) < 1e-9);
  assert.equal(tput.verdict, 'met');
  // Half the throughput: not met; no rss-groups at its worker count: n/a.
  const slow = summarise(
    around(190_000).map((w) => toeWindow('rr', 2, w, 4)),
    [1, 2, 3, 4, 5],
    CPUS,
  );
  const t2 = checkTargets([pts[2]!, slow], ['rr']);
  assert.equal(t2.find((x) => x.name === 'rr: toe throughput')!.verdict, 'not met');
  const t3 = checkTargets([pts[0]!, slow], ['rr']);
  assert.equal(t3.find((x) => x.name === 'rr: toe throughput')!.verdict, 'n/a');
  // The table gives the card its own column and says what toe is.
  const r = { ...report(pts, ['rr']), strategies: ['rss-groups', 'single', 'toe'] as Strategy[] };
  const text = formatReport(r);
  assert.match(text, /A workers +A card +B workers/);
  assert.match(text, /^toe +2 .* 0\.02\/0\.02 +1\.56 +0\.80\/0\.80 /m);
  assert.match(text, /^toe: A is rss-groups with its TOE card running the client/m);
});

test('the toe host CPU target holds when A’s idle workers read 0 CPU-s (per-thread clocks tick in 10 ms)', () => {
  // An idle thread's CPU from /proc is a whole number of clock ticks: 0 in a short window.
  const idle = (w: number) => {
    const p = toeWindow('rr', 2, w, 4);
    return { ...p, cpu: { ...p.cpu, a: [0, 0] } };
  };
  const toe = summarise(around(400_000).map(idle), [1, 2, 3, 4, 5], CPUS);
  const pts = [windows('rr', 'rss-groups', 2, around(380_000), 4), toe];
  const cpu = checkTargets(pts, ['rr']).find((x) => x.name === 'rr: toe host CPU')!;
  assert.equal(cpu.value, 0);
  assert.equal(cpu.verdict, 'met');
});

test("helperShare: V8's helper threads' share of the stacks' busy CPU, the synthetic peer's thread left out", () => {
  const cpu = { a: [0.4], b: [0.3], peer: 0, main: 0.05, other: 0.25, process: 1 };
  assert.equal(helperShare(cpu), 0.25);
  // Against the synthetic peer the busy CPU is the process less the peer's thread.
  assert.equal(helperShare({ ...cpu, b: [], peer: 0.5 }), 0.5);
  // process − named threads can come out a hair below 0 (clocks read at slightly different instants).
  assert.equal(helperShare({ ...cpu, other: -0.001 }), 0);
  assert.equal(helperShare({ ...cpu, process: 0, other: 0 }), 0);
  // The retry rule's boundary: a share of exactly HELPERS_QUIET_SHARE is quiet, above it is not.
  assert.equal(helpersQuiet([helperShare({ ...cpu, other: 0.2 })], { slices: 1 }), true);
  assert.equal(helpersQuiet([helperShare({ ...cpu, other: 0.21 })], { slices: 1 }), false);
});
