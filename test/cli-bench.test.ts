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

test('bench api --json: every workload once, its ratio and verdict from its figures', { timeout: 120000 }, () => {
  const r = mcstack('bench', 'api', '--bytes', '1048576', '--seconds', '1', '--messages', '200', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as {
    rows: { workload: string; node: number; mcstack: number; ratio: number; target: number; met: boolean }[];
    bulkBytes: number;
    seconds: number;
    wsMessages: number;
  };
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
  assert.deepEqual([j.bulkBytes, j.seconds, j.wsMessages], [1048576, 1, 200]);
  for (const x of j.rows) {
    assert.ok(x.node > 0 && x.mcstack > 0, x.workload);
    assert.ok(Math.abs(x.ratio - x.mcstack / x.node) < 1e-9 * x.ratio);
    assert.equal(x.met, x.ratio >= x.target);
  }
});

test('bench api: a bad count is a usage error (exit 2)', () => {
  const r = mcstack('bench', 'api', '--seconds', '0');
  assert.equal(r.code, 2);
  assert.match(r.err, /--seconds: must be positive/);
});
