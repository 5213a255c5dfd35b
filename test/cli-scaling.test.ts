/**
 * `mcstack bench scaling` through the real binary (spawned), with tiny runs: one workload,
 * one or two strategies, one worker count, windows of 0.3 s. Checks the report's JSON shape,
 * that the order run is the order printed, that its figures agree with each other and with
 * the windows kept, and that --plot wrote a well-formed SVG drawn by vega. Speed is not
 * checked (tests never assert timings).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to test/dist/; paths from the repository root.
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/cli/bin/mcstack.js');

function mcstack(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** Tags balance (every element closed in order): the SVG is well-formed XML as far as elements go. */
function balanced(svg: string): string | null {
  const open: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (!close) open.push(name!);
    else if (open.pop() !== name) return `</${name}> closes ${open.at(-1) ?? 'nothing'}`;
  }
  return open.length === 0 ? null : `unclosed <${open.at(-1)}>`;
}

test('bench scaling: tiny rr run, windows interleaved in the printed order, writes the JSON report and a vega SVG plot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcstack-scaling-'));
  try {
    const json = join(dir, 'scaling.json');
    const svg = join(dir, 'scaling.svg');
    const r = mcstack(
      'bench',
      'scaling',
      '--seconds',
      '0.3',
      '--warmup',
      '0.2',
      '--workers',
      '1',
      '--strategies',
      'rss-groups,single',
      '--workload',
      'rr',
      '--repeats',
      '2',
      '--seed',
      '5',
      '--json',
      json,
      '--plot',
      svg,
    );
    assert.equal(r.code, 0, r.err);
    // Progress on stderr: the plan, then each window with its round; the table on stdout.
    assert.match(r.err, /\[scaling\] order \(seed 5\): 2 points × 2 rounds, each round shuffled/);
    assert.match(r.err, /\[scaling\] pinning: (on \(cpus [\d,-]+\)|off \(.+\))$/m);
    assert.match(r.err, /\[scaling\] \[4\/4\] round 2: rr (rss-groups|single) 1 worker: /);
    assert.match(
      r.out,
      /^strategy +workers +tps +50% interval +txn\/CPU-s +50% interval +busy CPU-s +A workers +B workers +main +other +others +CPU-µs\/txn +hops\/pkt +lock waits$/m,
    );
    assert.match(r.out, /^rss-groups +1 +[\d,.]+ +[\d,.]+–[\d,.]+ /m);
    assert.match(
      r.out,
      /^ {2}throughput A\/A: rr\/rss-groups\/1 and rr\/single\/1 |^ {2}throughput A\/A: rr\/rss-groups\/1, rr\/single\/1 agree/m,
    );
    assert.match(r.out, /^pinning: (on|off) \(/m);
    assert.match(r.out, /^ +(met|NOT met|inconclusive|n\/a) +rr: request\/response /m);

    const j = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(Object.keys(j).sort(), [
      'aa',
      'cpuSource',
      'flowControl',
      'level',
      'machine',
      'noise',
      'noisy',
      'order',
      'pinning',
      'points',
      'repeats',
      'seconds',
      'seed',
      'strategies',
      'studySeconds',
      'targets',
      'v8Flags',
      'warmupSeconds',
      'workers',
      'workloads',
    ]);
    // The run names the V8 flags its worker isolates had (v8flags.ts): V8's default here.
    assert.deepEqual(j.v8Flags, ['--concurrent-recompilation']);
    assert.match(r.out, /^V8 flags of the worker isolates: --concurrent-recompilation \(/m);
    assert.match(r.err, /^\[scaling\] V8 flags of the worker isolates: --concurrent-recompilation$/m);
    assert.equal(j.repeats, 2);
    assert.equal(j.seed, 5);
    assert.deepEqual(j.workloads, ['rr']);
    assert.deepEqual(j.workers, [1]);
    // The order printed is the order run: each round lists both points once.
    assert.equal(j.order.length, 4);
    const rounds = [...r.err.matchAll(/^\[scaling\] {3}round \d: (.+)$/gm)];
    assert.equal(rounds.length, 2);
    assert.deepEqual(rounds.map((m) => m[1]).join(', '), j.order.join(', '));
    assert.equal(typeof j.pinning.on, 'boolean');
    if (!j.pinning.on) assert.ok(j.pinning.reason.length > 0);
    assert.equal(j.points.length, 2);
    for (const p of j.points) {
      assert.equal(p.key, `rr/${p.strategy}/1`);
      assert.equal(p.windows, 2);
      assert.equal(p.samples.throughput.length, 2);
      assert.equal(p.samples.perCpuSecond.length, 2);
      assert.equal(p.samples.busyCpuSeconds.length, 2);
      // V8's helper threads per transaction, each window: where a compiler still busy shows.
      assert.equal(p.samples.helperCpuSecondsPerUnit.length, 2);
      assert.ok(p.samples.helperCpuSecondsPerUnit.every(Number.isFinite));
      // Windows ran at the positions of the point's key in the order.
      assert.deepEqual(
        p.steps.map((k: number) => j.order[k - 1]),
        [p.key, p.key],
      );
      // The median of two windows is their mean; the figures agree with the samples.
      const [x, y] = p.samples.throughput;
      assert.ok(Math.abs(p.throughput - (x + y) / 2) <= 1e-6 * p.throughput);
      assert.equal(p.intervals.throughput.lo, Math.min(x, y));
      assert.equal(p.intervals.throughput.hi, Math.max(x, y));
      assert.equal(p.intervals.throughput.method, 'order-statistic');
      assert.equal(p.peer, 'stack');
      assert.equal(p.connections, 1000);
      assert.ok(p.work > 0, 'transactions completed in the windows');
      // One worker per stack: no sibling to hop to.
      assert.equal(p.hops, 0);
      assert.equal(p.cpu.a.length, 1);
      assert.equal(p.cpu.b.length, 1);
      assert.ok(p.cpu.a[0] > 0 && p.cpu.b[0] > 0, 'both stacks used CPU');
      for (let i = 0; i < 2; i++) {
        const t = p.samples.throughput[i],
          c = p.samples.perCpuSecond[i],
          b = p.samples.busyCpuSeconds[i],
          w = p.samples.wallSeconds[i];
        assert.ok(Math.abs(t * w - c * b) <= 1e-6 * t * w, 'work = throughput × wall = per-CPU × busy');
      }
    }
    // Two 1-worker configurations: an A/A check on each figure whose windows all did work (a
    // 0.3 s window on a starved machine can complete none, and a ratio needs positive values).
    const checkable = ['throughput', 'perCpuSecond'].filter((f) =>
      j.points.every((p: { samples: Record<string, number[]> }) => p.samples[f]!.every((x) => x > 0)),
    );
    assert.deepEqual(
      j.aa.map((a: { workload: string; figure: string }) => `${a.workload} ${a.figure}`),
      checkable.map((f) => `rr ${f}`),
    );
    assert.equal(
      j.noisy,
      j.aa.some((a: { check: { agree: boolean } }) => !a.check.agree),
    );
    const rr = j.targets.find((t: { name: string }) => t.name === 'rr: request/response');
    assert.ok(['met', 'not met', 'inconclusive'].includes(rr.verdict));
    assert.equal(typeof rr.interval.lo, 'number');

    const text = readFileSync(svg, 'utf8');
    assert.match(text, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal(balanced(text), null);
    // vega's scenegraph classes and the spec's titles.
    assert.match(text, /class="mark-line role-mark/);
    assert.match(text, /class="mark-rule role-mark/);
    assert.match(text, /request\/response/);
    assert.match(text, /group workers per stack/);
    assert.match(text, /rss-groups/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench scaling: crr runs against the synthetic peer by default, its thread reported apart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcstack-scaling-'));
  try {
    const json = join(dir, 'scaling.json');
    const r = mcstack(
      'bench',
      'scaling',
      '--seconds',
      '0.3',
      '--warmup',
      '0.2',
      '--workers',
      '2',
      '--strategies',
      'rss-groups',
      '--workload',
      'crr',
      '--repeats',
      '1',
      '--json',
      json,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /\[1\/1\] round 1: crr rss-groups 2 workers: /);
    assert.match(
      r.out,
      /^connect\/request\/response\/close against the synthetic peer \(its thread apart, not in busy CPU-s\)/m,
    );
    assert.match(
      r.out,
      /^strategy +workers +conn\/s +0% interval +conn\/CPU-s +0% interval +busy CPU-s +A workers +peer thread +peer CPU-µs\/conn +main +other /m,
    );
    // One 1-worker configuration at most: no A/A, and the run says it cannot tell its noise.
    assert.match(r.out, /^No workload ran two 1-worker configurations: the run cannot tell how noisy it was\./m);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(j.points.length, 1);
    const p = j.points[0];
    assert.equal(p.windows, 1);
    assert.equal(p.peer, 'synthetic');
    assert.ok(p.work > 0, 'connections completed in the window');
    assert.deepEqual(p.cpu.b, []);
    assert.equal(p.cpu.a.length, 2);
    assert.ok(p.cpu.peer > 0, 'the peer thread used CPU');
    // The stack's busy CPU is the process's less the peer's thread.
    assert.ok(Math.abs(p.busyCpuSeconds - (p.cpu.process - p.cpu.peer)) < 1e-9);
    assert.ok(Math.abs(p.peerCpuSecondsPerUnit - p.cpu.peer / p.work) < 1e-12);
    assert.equal(p.sysctl['net.inet.tcp.msl'], 250);
    assert.deepEqual(j.aa, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bench scaling --strategies rss-groups,toe: the toe point offloads the client to A's card, its CPU apart, judged against rss-groups", () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcstack-scaling-toe-'));
  try {
    const json = join(dir, 'scaling.json');
    const tiny = '--seconds 0.3 --warmup 0.2 --workers 1 --repeats 1 --cpus none --quiet';
    const r = mcstack(
      'bench',
      'scaling',
      ...tiny.split(' '),
      '--strategies',
      'rss-groups,toe',
      '--workload',
      'bulk',
      '--json',
      json,
    );
    assert.equal(r.code, 0, r.err);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as {
      points: { strategy: string; work: number; cpu: { a: number[]; card?: number } }[];
      targets: { name: string; verdict: string; value: number | null }[];
    };
    const toe = rep.points.find((p) => p.strategy === 'toe')!;
    const rss = rep.points.find((p) => p.strategy === 'rss-groups')!;
    assert.ok(toe.work > 0, 'the card ran the client');
    assert.ok(toe.cpu.card !== undefined && toe.cpu.card > 0, "the card's thread CPU");
    assert.equal(rss.cpu.card, undefined);
    const names = rep.targets.map((t) => t.name);
    assert.ok(names.includes('bulk: toe host CPU') && names.includes('bulk: toe throughput'), names.join(', '));
    assert.ok(rep.targets.find((t) => t.name === 'bulk: toe throughput')!.value! > 0);
    assert.match(r.out, /A workers +A card +B workers/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench scaling: bad arguments exit 2 before any stack starts', () => {
  for (const args of [
    ['--workers', '0'],
    ['--workers', '1,x'],
    ['--strategies', 'rss'],
    ['--workload', 'udp'],
    ['--seconds', '-1'],
    ['--seconds', '0'],
    ['--peer', 'linux'],
    ['--peer', 'synthetic', '--workload', 'rr,bulk'],
    ['--repeats', '0'],
    ['--repeats', 'x'],
    ['--seed', '-1'],
    ['--cpus', '1-0'],
    ['--cpus', 'x'],
    ['--concurrent-recompilation', 'yes'],
    ['--offload', '--workload', 'crr'],
    ['--offload', '--peer', 'synthetic', '--workload', 'rr'],
    ['--strategies', 'rss-groups,toe', '--workload', 'crr'],
    ['--strategies', 'toe', '--peer', 'synthetic', '--workload', 'rr'],
  ]) {
    const r = mcstack('bench', 'scaling', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^mcstack: bench scaling: --/);
  }
});

test('bench scaling --help: --json takes a FILE here', () => {
  const r = mcstack('bench', 'scaling', '--help');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^usage: mcstack bench scaling .*\[--json FILE\] \[--plot FILE\.svg\]/m);
  assert.doesNotMatch(r.out, /\[--json\]/);
});
