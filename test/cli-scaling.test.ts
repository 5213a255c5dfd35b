/**
 * `mcstack bench scaling` through the real binary (spawned), with a tiny run: one workload,
 * one strategy, one worker count, 0.3 s. Checks the report's JSON shape, that its figures
 * agree with each other, and that --plot wrote a well-formed SVG drawn by vega. Speed is
 * not checked (tests never assert timings).
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

test('bench scaling: tiny rr run writes the JSON report and a vega SVG plot', () => {
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
      'rss-groups',
      '--workload',
      'rr',
      '--repeats',
      '1',
      '--json',
      json,
      '--plot',
      svg,
    );
    assert.equal(r.code, 0, r.err);
    // Progress on stderr, the table on stdout.
    assert.match(r.err, /\[scaling\] \[1\/1\] rr rss-groups 1 worker: /);
    assert.match(
      r.out,
      /^strategy +workers +tps +busy CPU-s +A workers +B workers +main +other +CPU-µs\/txn +txn\/CPU-s +hops\/pkt +lock waits$/m,
    );
    assert.match(r.out, /^rss-groups +1 +[\d,.]+ /m);
    assert.match(r.out, /^ +(met|NOT met|n\/a) +rr: request\/response /m);

    const j = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(Object.keys(j).sort(), [
      'cpuSource',
      'machine',
      'points',
      'repeats',
      'seconds',
      'strategies',
      'targets',
      'warmupSeconds',
      'workers',
      'workloads',
    ]);
    assert.equal(j.repeats, 1);
    assert.deepEqual(j.workloads, ['rr']);
    assert.deepEqual(j.strategies, ['rss-groups']);
    assert.deepEqual(j.workers, [1]);
    assert.equal(j.points.length, 1);
    const p = j.points[0];
    assert.deepEqual(Object.keys(p).sort(), [
      'busyCpuSeconds',
      'connections',
      'cpu',
      'cpuSecondsPerUnit',
      'hops',
      'hopsPerPacket',
      'lockWaits',
      'packets',
      'peer',
      'peerCpuSecondsPerUnit',
      'perCpuSecond',
      'setupSeconds',
      'strategy',
      'throughput',
      'unit',
      'utilisation',
      'wallSeconds',
      'warmupSeconds',
      'windows',
      'work',
      'workers',
      'workload',
    ]);
    assert.equal(p.windows, 1);
    assert.equal(p.workload, 'rr');
    // rr runs against a second stack by default: its CPU is counted, no peer thread.
    assert.equal(p.peer, 'stack');
    assert.equal(p.cpu.peer, 0);
    assert.equal(p.peerCpuSecondsPerUnit, 0);
    assert.equal(p.unit, 'tps');
    assert.equal(p.connections, 1000);
    assert.ok(p.wallSeconds > 0);
    assert.ok(p.setupSeconds >= 0);
    assert.ok(p.work > 0, 'transactions completed in the window');
    assert.ok(p.packets > 0);
    // One worker per stack: no sibling to hop to.
    assert.equal(p.hops, 0);
    assert.equal(p.cpu.a.length, 1);
    assert.equal(p.cpu.b.length, 1);
    assert.ok(p.cpu.a[0] > 0 && p.cpu.b[0] > 0, 'both stacks used CPU');
    assert.ok(Math.abs(p.throughput - p.work / p.wallSeconds) < 1e-6 * p.throughput);
    assert.ok(Math.abs(p.perCpuSecond - p.work / p.busyCpuSeconds) < 1e-6 * p.perCpuSecond);
    assert.equal(p.busyCpuSeconds, p.cpu.process);
    assert.ok(j.targets.some((t: { name: string }) => t.name === 'rr: request/response'));

    const text = readFileSync(svg, 'utf8');
    assert.match(text, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal(balanced(text), null);
    // vega's scenegraph classes and the spec's titles.
    assert.match(text, /class="mark-line role-mark/);
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
      '--json',
      json,
    );
    assert.equal(r.code, 0, r.err);
    // rss-groups runs its default 2 windows per point, pooled.
    assert.match(r.err, /\[2\/2\] crr rss-groups 2 workers \(window 2\/2\): /);
    assert.match(r.out, /rss-groups rows: 2 windows each, in alternating worker order, pooled/);
    assert.match(
      r.out,
      /^connect\/request\/response\/close against the synthetic peer \(its thread apart, not in busy CPU-s\)/m,
    );
    assert.match(
      r.out,
      /^strategy +workers +conn\/s +busy CPU-s +A workers +peer thread +peer CPU-µs\/conn +main +other /m,
    );
    const j = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(j.points.length, 1);
    const p = j.points[0];
    assert.equal(p.windows, 2);
    assert.ok(p.wallSeconds > 0.5, 'two windows of 0.3 s pooled');
    assert.equal(p.peer, 'synthetic');
    assert.ok(p.work > 0, 'connections completed in the window');
    assert.deepEqual(p.cpu.b, []);
    assert.equal(p.cpu.a.length, 2);
    assert.ok(p.cpu.peer > 0, 'the peer thread used CPU');
    // The stack's busy CPU is the process's less the peer's thread.
    assert.ok(Math.abs(p.busyCpuSeconds - (p.cpu.process - p.cpu.peer)) < 1e-9);
    assert.ok(Math.abs(p.peerCpuSecondsPerUnit - p.cpu.peer / p.work) < 1e-12);
    assert.equal(p.sysctl['net.inet.tcp.msl'], 250);
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
