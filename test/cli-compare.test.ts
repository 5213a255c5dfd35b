/**
 * `mcstack bench compare A.json B.json` in process (main with a captured io), on synthetic
 * study reports whose windows are drawn from a seeded generator: one pair with known
 * differences (a point 1.5× faster, one 0.5× slower, one unchanged, one in B only) and one
 * pair of two draws of the same system, which must come out within noise everywhere. Then
 * the same for reports of other kinds: bench toe's (points from rounds.ts roundPoints, as
 * api, rdma and tap write them) and bench http's (its rounds under `all`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type Io } from '@mcstack/cli';
import { createRng, normal, roundPoints, type Rng } from '@mcstack/bench';

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => {
      io.stdout += t;
    },
    err: (t: string) => {
      io.stderr += t;
    },
  };
  return io;
}

/** k windows of a figure around `mid`, 3% noise (lognormal). */
function draws(rng: Rng, mid: number, k = 7): number[] {
  return Array.from({ length: k }, () => mid * Math.exp(0.03 * normal(rng)));
}

/** A study report in the documented shape (what `bench scaling --json` writes, less the rest). */
function study(rng: Rng, mids: Record<string, number>): unknown {
  return {
    points: Object.entries(mids).map(([key, mid]) => ({
      key,
      samples: { throughput: draws(rng, mid), busyCpuSeconds: draws(rng, 1.5) },
      // Fields the comparison does not read are ignored.
      workload: key.split('/')[0],
    })),
  };
}

function files(a: unknown, b: unknown): { dir: string; a: string; b: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mcstack-compare-'));
  writeFileSync(join(dir, 'a.json'), JSON.stringify(a));
  writeFileSync(join(dir, 'b.json'), JSON.stringify(b));
  return { dir, a: join(dir, 'a.json'), b: join(dir, 'b.json') };
}

test('bench compare: a known difference is found point by point, an unchanged point is within noise', async () => {
  const rng = createRng(42);
  const A = study(rng, { 'rr/rss-groups/1': 100_000, 'rr/rss-groups/2': 180_000, 'crr/single/1': 20_000 });
  const B = study(rng, {
    'rr/rss-groups/1': 150_000,
    'rr/rss-groups/2': 180_000,
    'crr/single/1': 10_000,
    'bulk/single/1': 4,
  });
  const f = files(A, B);
  try {
    let io = capture();
    assert.equal(await main(['bench', 'compare', f.a, f.b, '--json'], io), 0, io.stderr);
    const r = JSON.parse(io.stdout);
    const by = new Map(r.comparison.points.map((p: { key: string }) => [p.key, p]));
    const rr1 = by.get('rr/rss-groups/1') as { result: string; ratio: { estimate: number; lo: number; hi: number } };
    assert.equal(rr1.result, 'faster');
    assert.ok(rr1.ratio.lo <= 1.5 && 1.5 <= rr1.ratio.hi, `1.5 in [${rr1.ratio.lo}, ${rr1.ratio.hi}]`);
    assert.ok(Math.abs(rr1.ratio.estimate - 1.5) < 0.1);
    assert.equal((by.get('rr/rss-groups/2') as { result: string }).result, 'within noise');
    const crr = by.get('crr/single/1') as { result: string; ratio: { lo: number; hi: number } };
    assert.equal(crr.result, 'slower');
    assert.ok(crr.ratio.lo <= 0.5 && 0.5 <= crr.ratio.hi);
    assert.deepEqual(r.comparison.onlyInB, ['bulk/single/1']);
    assert.deepEqual(r.counts, { 'within noise': 1, faster: 1, slower: 1 });
    assert.equal(r.figure, 'throughput');

    // The table for a terminal: one row per point, the unmatched one after it.
    io = capture();
    assert.equal(await main(['bench', 'compare', f.a, f.b], io), 0, io.stderr);
    assert.match(io.stdout, /^point +median A +median B +B\/A +95% interval +result$/m);
    assert.match(io.stdout, /^rr\/rss-groups\/1 +\d+ +\d+ +1\.\d{3} +1\.\d{3} to 1\.\d{3} +faster$/m);
    assert.match(io.stdout, /^crr\/single\/1 +.* slower$/m);
    assert.match(io.stdout, /^only in B: bulk\/single\/1$/m);
    assert.match(
      io.stdout,
      /^3 points: 1 faster, 1 slower, 1 within noise \(each at 95%: about 1 unchanged point in 20 shows a difference by chance\)$/m,
    );

    // A cost: lower is better, so B's halved rate on crr would be 'faster' if it were a cost.
    io = capture();
    assert.equal(await main(['bench', 'compare', f.a, f.b, '--better', 'lower', '--json'], io), 0);
    const lower = JSON.parse(io.stdout);
    assert.deepEqual(lower.counts, { 'within noise': 1, faster: 1, slower: 1 });
    assert.equal(lower.comparison.points.find((p: { key: string }) => p.key === 'crr/single/1').result, 'faster');
    // The same seed, the same intervals.
    io = capture();
    await main(['bench', 'compare', f.a, f.b, '--json'], io);
    assert.deepEqual(JSON.parse(io.stdout).comparison, r.comparison);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test('bench compare: two runs of the same system differ only within noise', async () => {
  const rng = createRng(7);
  const mids = {
    'rr/rss-groups/1': 100_000,
    'rr/single/1': 100_000,
    'rr/unaligned/2': 80_000,
    'crr/rss-groups/2': 30_000,
  };
  const A = study(rng, mids) as { points: { key: string; samples: Record<string, number[]> }[] };
  // Two draws of the same system (each point at 95%: a chance difference is possible for
  // another seed, as for any two real runs), and the same windows in another order (exact).
  const again = study(rng, mids);
  const reordered = {
    points: A.points.map((p) => ({
      key: p.key,
      samples: { busyCpuSeconds: [...p.samples.busyCpuSeconds!].reverse() },
    })),
  };
  for (const [B, figure] of [
    [again, 'throughput'],
    [reordered, 'busyCpuSeconds'],
  ] as const) {
    const f = files(A, B);
    try {
      const io = capture();
      assert.equal(await main(['bench', 'compare', f.a, f.b, '--figure', figure, '--json'], io), 0, io.stderr);
      const r = JSON.parse(io.stdout);
      assert.equal(r.comparison.points.length, 4);
      assert.deepEqual(r.counts, { 'within noise': 4, faster: 0, slower: 0 }, figure);
      assert.deepEqual(r.comparison.onlyInA, []);
      if (B === reordered)
        for (const p of r.comparison.points) assert.equal(p.ratio.estimate, 1, 'the same windows: the same median');
    } finally {
      rmSync(f.dir, { recursive: true, force: true });
    }
  }
});

test('bench compare: reports without per-window samples, or without the figure, are usage errors', async () => {
  const rng = createRng(3);
  const good = study(rng, { 'rr/single/1': 1 });
  const cases: [unknown, RegExp][] = [
    [{ nothing: true }, /no "points" array/],
    [{ points: [{ workload: 'rr', throughput: 5 }] }, /point 0 has no "key"/],
    [
      { points: [{ key: 'rr/single/1', samples: { other: [1, 2] } }] },
      /has no samples of "throughput" \(it has other\)/,
    ],
  ];
  for (const [bad, msg] of cases) {
    const f = files(good, bad);
    try {
      const io = capture();
      assert.equal(await main(['bench', 'compare', f.a, f.b], io), 2);
      assert.match(io.stderr, /^mcstack: bench compare: B \(/);
      assert.match(io.stderr, msg);
    } finally {
      rmSync(f.dir, { recursive: true, force: true });
    }
  }
  const io = capture();
  assert.equal(await main(['bench', 'compare', 'only-one.json'], io), 2);
  assert.match(io.stderr, /missing B\.json/);
});

/**
 * A bench toe report as runToeBench writes it, less what compare does not read: per-round
 * samples of each point from roundPoints, beside rows and targets. `scale` multiplies one
 * point's throughput (a known difference), `rounds` per point.
 */
function toeReport(rng: Rng, scale: Record<string, number> = {}, rounds = 6): unknown {
  const mids: Record<string, [number, number]> = {
    'bulk/off': [0.4, 3e6],
    'bulk/on': [0.45, 2.3e5],
    'rr/off': [4000, 60],
    'rr/on': [4800, 2.5],
    handoffs: [1000, 40],
  };
  const results = new Map(
    Object.entries(mids).map(([key, [rate, host]]) => {
      const rates = draws(rng, rate * (scale[key] ?? 1), rounds);
      const hosts = draws(rng, host, rounds);
      return [key, rates.map((r, i) => ({ rate: r, host: hosts[i]! }))];
    }),
  );
  return {
    rows: [{ workload: 'bulk', mode: 'off', rate: { median: 0.4, lo: 0.3, hi: 0.5, confidence: 0.97 } }],
    targets: [{ what: 'bulk throughput, toe on / off', ratio: 1.1, verdict: 'inconclusive' }],
    repeats: rounds,
    seed: 1,
    points: roundPoints(results, { throughput: (x) => x.rate, hostCpuPerUnit: (x) => x.host }),
  };
}

test('bench compare reads a bench toe report: a known difference found, the rest within noise, a cost compared the other way', async () => {
  // Each unchanged point at 95%: another seed may show a chance difference, as two real runs may.
  const rng = createRng(12);
  const A = toeReport(rng);
  const B = toeReport(rng, { 'bulk/on': 1.5 });
  const f = files(A, B);
  try {
    let io = capture();
    assert.equal(await main(['bench', 'compare', f.a, f.b, '--json'], io), 0, io.stderr);
    const r = JSON.parse(io.stdout);
    assert.deepEqual(
      r.comparison.points.map((p: { key: string; result: string }) => [p.key, p.result]),
      [
        ['bulk/off', 'within noise'],
        ['bulk/on', 'faster'],
        ['rr/off', 'within noise'],
        ['rr/on', 'within noise'],
        ['handoffs', 'within noise'],
      ],
    );
    const on = r.comparison.points[1];
    assert.ok(on.ratio.lo <= 1.5 && 1.5 <= on.ratio.hi, `1.5 in [${on.ratio.lo}, ${on.ratio.hi}]`);
    // The host's CPU per unit was not changed: within noise everywhere, as a cost.
    io = capture();
    assert.equal(
      await main(['bench', 'compare', f.a, f.b, '--figure', 'hostCpuPerUnit', '--better', 'lower', '--json'], io),
      0,
      io.stderr,
    );
    assert.deepEqual(JSON.parse(io.stdout).counts, { 'within noise': 5, faster: 0, slower: 0 });
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
  // The same report against itself: every ratio exactly 1.
  const g = files(A, A);
  try {
    const io = capture();
    assert.equal(await main(['bench', 'compare', g.a, g.b, '--json'], io), 0, io.stderr);
    const r = JSON.parse(io.stdout);
    assert.deepEqual(r.counts, { 'within noise': 5, faster: 0, slower: 0 });
    for (const p of r.comparison.points) assert.equal(p.ratio.estimate, 1);
  } finally {
    rmSync(g.dir, { recursive: true, force: true });
  }
});

/** A bench http report: summaries without keys under points, every round's run under all. */
function httpReport(rng: Rng, scale = 1, rounds = 6): unknown {
  const all: Record<string, unknown>[] = [];
  const servers: [string, number][] = [
    ['http-lite', 60_000 * scale],
    ['node:http on Linux', 40_000],
  ];
  for (let run = rounds; run >= 1; run--)
    for (const [server, rps] of servers)
      all.push({ server, run, size: 128, connections: 50, rps: draws(rng, rps, 1)[0], p99Us: 2000, cpuUsPerReq: null });
  return {
    points: [{ server: 'http-lite', size: 128, connections: 50, rps: { estimate: 60_000 } }],
    all,
    runs: rounds,
  };
}

test('bench compare reads a bench http report from its rounds: a known difference and none', async () => {
  const rng = createRng(5);
  const A = httpReport(rng);
  for (const [B, lite] of [
    [httpReport(rng, 1.4), 'faster'],
    [httpReport(rng), 'within noise'],
  ] as const) {
    const f = files(A, B);
    try {
      const io = capture();
      assert.equal(await main(['bench', 'compare', f.a, f.b, '--json'], io), 0, io.stderr);
      const r = JSON.parse(io.stdout);
      assert.deepEqual(
        r.comparison.points.map((p: { key: string; result: string }) => [p.key, p.result]),
        [
          ['http-lite/128/50', lite],
          ['node:http on Linux/128/50', 'within noise'],
        ],
      );
      // A figure some run lacks (the CPU not read) is not offered; one every run has is.
      const cpu = capture();
      assert.equal(await main(['bench', 'compare', f.a, f.b, '--figure', 'cpuUsPerReq'], cpu), 2);
      assert.match(cpu.stderr, /has no samples of "cpuUsPerReq" \(it has throughput, p99Us\)/);
    } finally {
      rmSync(f.dir, { recursive: true, force: true });
    }
  }
});
