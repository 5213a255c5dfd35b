/**
 * `mcstack bench engine` and `mcstack bench api` through the real binary (spawned) with
 * small runs: the JSON has the documented shape and its figures agree with each other.
 * Speed is not checked (tests never assert timings).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to test/dist/; paths from the repository root.
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/cli/bin/mcstack.js');

function mcstack(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

for (const family of ['inet', 'inet6'] as const) {
  test(`bench engine --json (${family}): shape and consistent figures`, () => {
    const bytes = 200_000;
    const r = mcstack('bench', 'engine', '--bytes', String(bytes), '--seconds', '0', '--family', family, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(Object.keys(j).sort(), [
      'bytes',
      'checksums',
      'family',
      'goodputGbps',
      'met',
      'runs',
      'segments',
      'segmentsPerSecond',
      'targetGbps',
      'totalBytes',
      'virtualUs',
      'wallSeconds',
      'warmupBytes',
    ]);
    assert.equal(j.family, family);
    assert.equal(j.bytes, bytes);
    assert.equal(j.runs, 1);
    assert.equal(j.totalBytes, bytes);
    assert.equal(j.checksums, 'software');
    assert.equal(j.targetGbps, 3);
    assert.equal(j.met, j.goodputGbps >= 3);
    assert.ok(j.wallSeconds > 0);
    // Goodput and segment rate are the counts over the same wall time.
    assert.ok(Math.abs(j.goodputGbps - (bytes * 8) / j.wallSeconds / 1e9) < 1e-9 * Math.max(1, j.goodputGbps));
    assert.ok(Math.abs(j.segmentsPerSecond - j.segments / j.wallSeconds) < 1e-6 * j.segmentsPerSecond);
    // Full-sized segments (MSS 1448 / 1428 with timestamps) carry the data: no fewer than that, no tinygrams.
    const mss = family === 'inet' ? 1448 : 1428;
    assert.ok(
      j.segments >= Math.ceil(bytes / mss) && j.segments <= 2 * Math.ceil(bytes / mss),
      `segments ${j.segments}`,
    );
    assert.ok(Number.isInteger(j.virtualUs) && j.virtualUs >= 0);
  });
}

test('bench engine --offload --json: each offload beside none, TSO and LRO used only where on', () => {
  const r = mcstack('bench', 'engine', '--bytes', '300000', '--seconds', '0', '--offload', '--json');
  assert.equal(r.code, 0, r.err);
  const rows = JSON.parse(r.out).offload as {
    name: string;
    ratio: number;
    ratioMin: number;
    ratioMax: number;
    rounds: number;
    tsoWrs: number;
    lroQueued: number;
  }[];
  assert.deepEqual(
    rows.map((o) => o.name),
    ['none', 'csum', 'csum+tso', 'csum+lro', 'csum+tso+lro'],
  );
  for (const o of rows) {
    assert.equal(o.tsoWrs > 0, o.name.includes('tso'), `${o.name}: tso_wrs ${o.tsoWrs}`);
    assert.equal(o.lroQueued > 0, o.name.includes('lro'), `${o.name}: lro_queued ${o.lroQueued}`);
    assert.ok(o.rounds >= 5 && o.ratioMin <= o.ratio && o.ratio <= o.ratioMax, JSON.stringify(o));
  }
  assert.equal(rows[0]!.ratio, 1);
});

test('bench engine: human output names goodput, segments/s, virtual time and the target', () => {
  const r = mcstack('bench', 'engine', '--bytes', '100000', '--seconds', '0');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^goodput +\d+\.\d+ Gbit\/s$/m);
  assert.match(r.out, /^segments\/s +\d+\.\d+ M \(\d+ data segments\)$/m);
  assert.match(r.out, /^virtual +\d+ µs$/m);
  assert.match(r.out, /^target +3 Gbit\/s: (met|not met)$/m);
});

test('bench engine --seconds: transfers repeat until the time has passed', () => {
  const r = mcstack('bench', 'engine', '--bytes', '100000', '--seconds', '0.2', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.ok(j.wallSeconds >= 0.2, `wall ${j.wallSeconds}`);
  assert.equal(j.totalBytes, j.runs * 100000);
});

test('bench engine: bad arguments exit 2', () => {
  for (const args of [
    ['--family', 'ipx'],
    ['--seconds', 'soon'],
    ['--bytes', '0'],
  ]) {
    const r = mcstack('bench', 'engine', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^mcstack: bench engine: --/);
  }
});

test('bench cc --json: each algorithm alone and mixed, the same figures from the same seed; bad options exit 2', () => {
  const args = ['bench', 'cc', '--algorithms', 'newreno,cubic', '--flows', '2', '--rate', '10M', '--rtt', '20'];
  const r = mcstack(...args, '--queue', '40', '--seconds', '4', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(
    j.runs.map((x: { label: string }) => x.label),
    ['newreno', 'cubic', 'mixed'],
  );
  const mixed = j.runs[2].result;
  assert.deepEqual(
    mixed.flows.map((f: { algorithm: string }) => f.algorithm),
    ['newreno', 'newreno', 'cubic', 'cubic'],
  );
  for (const run of j.runs) {
    const res = run.result;
    assert.ok(res.jain > 0 && res.jain <= 1);
    assert.ok(res.utilization > 0.5 && res.utilization <= 1, `utilization ${res.utilization}`);
    assert.ok(res.queueDelayMs.p50 <= res.queueDelayMs.p95 && res.queueDelayMs.p95 <= res.queueDelayMs.p99);
    for (const f of res.flows) assert.equal(f.cwnd.length, res.sampleTimesMs.length);
  }
  const again = mcstack(...args, '--queue', '40', '--seconds', '4', '--json');
  assert.equal(again.out, r.out, 'virtual clock and seed: the same report');
  for (const bad of [
    ['--algorithms', 'reno'],
    ['--aqm', 'pie'],
    ['--rate', 'fast'],
  ]) {
    const b = mcstack('bench', 'cc', ...bad);
    assert.equal(b.code, 2, bad.join(' '));
  }
});

test('bench http: bad arguments exit 2 before anything is set up', () => {
  for (const args of [
    ['--sizes', '2000000'],
    ['--sizes', '1k'],
    ['--connections', '0'],
    ['--seconds', '0'],
    ['--runs', '0'],
    ['--seed', '-1'],
    ['--seed', 'x'],
  ]) {
    const r = mcstack('bench', 'http', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^mcstack: bench http: --/);
  }
});

test('bench api --json: every workload once, its ratio and verdict from its figures', { timeout: 120000 }, () => {
  const r = mcstack(
    'bench',
    'api',
    '--bytes',
    '1048576',
    '--seconds',
    '1',
    '--messages',
    '200',
    '--repeats',
    '1',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as {
    rows: {
      workload: string;
      node: number;
      mcstack: number;
      ratio: number;
      ratioLo: number;
      ratioHi: number;
      ratios: number[];
      target: number;
      met: boolean;
      verdict: string;
    }[];
    bulkBytes: number;
    seconds: number;
    wsMessages: number;
    repeats: number;
    offload: boolean;
    bulkCost: { mainCpuUs: number; senderCpuUs: number; receiverCpuUs: number; records: number };
  };
  // mcstack's bulk cost per MB: CPU on all three threads, and the sender's data read as
  // records of one ring slot (16 KiB) at most.
  const c = j.bulkCost;
  assert.ok(c.mainCpuUs > 0 && c.senderCpuUs > 0 && c.receiverCpuUs > 0, JSON.stringify(c));
  assert.ok(c.records >= 1e6 / 16384, JSON.stringify(c));
  assert.deepEqual(
    j.rows.map((x) => [x.workload, x.target]),
    [
      ['bulk', 0.5],
      ['rr1', 0.33],
      ['rr100', 2],
      ['writes', 0.5],
      ['ws', 0.5],
    ],
  );
  assert.deepEqual([j.bulkBytes, j.seconds, j.wsMessages, j.repeats, j.offload], [1048576, 1, 200, 1, false]);
  for (const x of j.rows) {
    assert.ok(x.node > 0 && x.mcstack > 0, x.workload);
    // One round: the ratio is that round's, its interval the point itself.
    assert.ok(Math.abs(x.ratio - x.mcstack / x.node) < 1e-9 * x.ratio);
    assert.deepEqual(x.ratios, [x.ratio]);
    assert.deepEqual([x.ratioLo, x.ratioHi], [x.ratio, x.ratio]);
    assert.equal(x.met, x.ratio >= x.target);
    assert.equal(x.verdict, x.met ? 'met' : 'not met');
  }
});

test('bench api --workloads --offload: only those, each round running both sides; the ratio is the median of the rounds', {
  timeout: 60000,
}, () => {
  const r = mcstack('bench', 'api', '--workloads', 'writes', '--repeats', '3', '--offload', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as {
    rows: { workload: string; ratio: number; ratios: number[]; ratioLo: number; ratioHi: number }[];
    offload: boolean;
    bulkCost?: unknown;
  };
  assert.equal(j.offload, true);
  assert.equal(j.bulkCost, undefined, 'no bulk run, no bulk cost');
  assert.deepEqual(
    j.rows.map((x) => x.workload),
    ['writes'],
  );
  const x = j.rows[0]!;
  assert.equal(x.ratios.length, 3);
  assert.equal(x.ratio, [...x.ratios].sort((a, b) => a - b)[1]);
  assert.ok(x.ratioLo <= x.ratio && x.ratio <= x.ratioHi);
});

test('bench api: a bad count is a usage error (exit 2)', () => {
  const r = mcstack('bench', 'api', '--seconds', '0');
  assert.equal(r.code, 2);
  assert.match(r.err, /--seconds: must be positive/);
  for (const [args, re] of [
    [['--repeats', '0'], /--repeats: must be positive/],
    [['--workloads', 'bulk,nope'], /--workloads: no workload nope/],
  ] as const) {
    const r2 = mcstack('bench', 'api', ...args);
    assert.equal(r2.code, 2, args.join(' '));
    assert.match(r2.err, re);
  }
});

test('bad words of this release’s commands: exit 2 with one line that names the command once', () => {
  for (const args of [
    ['rdma', 'foo'],
    ['jexec', 'j1', 'echo', 'port'],
    ['pfctl', '-s', 'nope'],
    ['bench', 'rdma', '--repeats', '0'],
    ['bench', 'scaling', '--strategies', 'toe', '--workload', 'crr'],
  ]) {
    const r = mcstack(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.err.trimEnd().split('\n').length, 1, `${args.join(' ')}: ${r.err}`);
    assert.doesNotMatch(r.err, /(\w+): \1:/, args.join(' '));
  }
});
