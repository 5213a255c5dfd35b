/**
 * The HTTP bench's reading of wrk and its verdicts, on wrk 4.1's own output: units,
 * errors counted, the targets judged from the points (no wrk needed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWrk, formatHttpBench, pointSeconds, procCpuUs } from '../src/http.js';
import { httpTargets, summarizeHttp, type HttpBenchPoint } from '../src/http-summary.js';
import { studySamples } from '../src/studyfile.js';

const WRK = `Running 3s test @ http://10.79.0.2:80/128
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.99ms    1.02ms  16.85ms   90.10%
    Req/Sec    27.02k     1.10k   28.40k    76.67%
  Latency Distribution
     50%    1.49ms
     75%    2.08ms
     90%    3.46ms
     99%  805.00us
  80652 requests in 3.00s, 13.31MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  26884.12
Transfer/sec:      4.44MB
`;

test('parseWrk reads rate, percentiles in µs whatever the unit, and every error', () => {
  const f = parseWrk(WRK);
  assert.equal(f.requests, 80652);
  assert.equal(f.rps, 26884.12);
  assert.equal(f.meanUs, 1990);
  assert.equal(f.maxUs, 16850);
  assert.equal(f.p50Us, 1490);
  assert.equal(f.p90Us, 3460);
  assert.equal(f.p99Us, 805);
  assert.equal(f.errors, 7);
  assert.equal(parseWrk(WRK.replace(/ {2}Socket errors.*\n {2}Non-2xx.*\n/, '')).errors, 0);
  assert.throws(() => parseWrk('unable to connect to 10.79.0.2:80 Connection refused'), /no result/);
});

function point(
  server: HttpBenchPoint['server'],
  size: number,
  connections: number,
  rps: number,
  p99Us: number,
  run = 1,
): HttpBenchPoint {
  return {
    server,
    run,
    size,
    connections,
    seconds: 3,
    requests: rps * 3,
    rps,
    meanUs: 1,
    p50Us: 1,
    p75Us: 1,
    p90Us: 1,
    p99Us,
    maxUs: p99Us,
    errors: 0,
    cpuUsPerReq: 12.5,
  };
}

test('targets: http-lite against the kernel at 50 connections for 0 and 128 B; every p99 under 10 ms', () => {
  const pts = [
    point('http-lite', 0, 50, 40000, 2000),
    point('node:http on Linux', 0, 50, 30000, 3000),
    point('http-lite', 128, 50, 20000, 2000),
    point('node:http on Linux', 128, 50, 30000, 12000),
    point('http-lite', 128, 1, 99999, 1000),
    // wrk reports zeros when nothing completed: not a p99 within the bound.
    { ...point('http-lite', 1 << 20, 50, 0, 0), requests: 0 },
  ];
  const sum = summarizeHttp(pts);
  const t = httpTargets(sum);
  assert.equal(t.length, 4);
  assert.equal(t[0]!.met, true);
  assert.equal(t[0]!.verdict, 'met');
  assert.match(t[0]!.detail, /^1\.33× \(/, 'one round: no interval');
  assert.equal(t[1]!.met, false);
  assert.equal(t[2]!.met, false);
  assert.match(t[2]!.detail, /node:http on Linux 128 B × 50: p99 12\.0 ms \(throughput-bound 1\.7 ms\)/);
  assert.match(t[2]!.detail, /http-lite 1048576 B × 50: no request completed in 3 s/);
  // 12 ms is 10.3 ms over a bound of 1.7 ms: a stall; so is a point with nothing completed.
  assert.equal(t[3]!.met, false);
  assert.match(t[3]!.detail, /node:http on Linux 128 B × 50: p99 12\.0 ms, 10\.3 ms over 1\.7 ms/);
  assert.doesNotMatch(t[3]!.detail, /http-lite 0 B/);
  assert.match(t[3]!.detail, /http-lite 1048576 B × 50: no request completed/);
  const text = formatHttpBench({
    workers: 2,
    seconds: 3,
    link: { path: 'native' },
    urls: {} as never,
    runs: 1,
    seed: 1,
    points: sum,
    all: pts,
    loadavg: { start: [1, 2, 3], end: [4, 5, 6] },
    cores: 2,
    targets: t,
  });
  assert.match(text, /^one run; 2 cores, load average 1\.0 2\.0 3\.0 at the start, 4\.0 5\.0 6\.0 at the end$/m);
  assert.match(text, /over TAP, native multi-queue TAP$/m);
  // req/s, ×Linux, …, c/rps 1.25 ms, p99 − c/rps 0.75 ms, errors, cpu, the two verdicts.
  assert.match(text, /^http-lite +0 +50 +40000 +1\.33 .* 1\.25 +0\.75 +0 +12\.5 met +no$/m);
  assert.match(text, /^node:http on Linux +0 +50 +30000 +[\d.]+/m);
  // Nothing completed: no throughput-bound time to print, and a stall.
  assert.match(text, /^http-lite +1048576 +50 +0 .* - +- +0 +12\.5 not met +stall$/m);
  const fallback = formatHttpBench({
    workers: 2,
    seconds: 3,
    link: { path: 'socat', reason: 'koffi cannot be loaded' },
    urls: {} as never,
    runs: 3,
    seed: 7,
    points: [],
    all: [],
    loadavg: { start: [0, 0, 0], end: [0, 0, 0] },
    cores: 2,
    targets: [],
  });
  assert.match(fallback, /over TAP, socat \(native unavailable: koffi cannot be loaded\)$/m);
  assert.match(fallback, /^medians of 3 rounds, each in an order shuffled from seed 7;/m);
  assert.match(text, /not met +no point with a p99 above 10 ms/);
});

test('procCpuUs: a live process CPU time from /proc in µs, NaN for none', () => {
  if (process.platform !== 'linux') return;
  const t = procCpuUs(process.pid);
  assert.ok(Number.isFinite(t) && t >= 0, String(t));
  assert.equal(t % 10_000, 0, 'whole USER_HZ ticks');
  assert.ok(Number.isNaN(procCpuUs(undefined)));
  assert.ok(Number.isNaN(procCpuUs(2 ** 30)));
});

test('pointSeconds: longer only where the connections ask 8 MiB or more at once, at most 4×', () => {
  assert.equal(pointSeconds(3, 128, 50), 3);
  assert.equal(pointSeconds(3, 1 << 20, 1), 3);
  assert.equal(pointSeconds(3, 16384, 50), 3);
  assert.equal(pointSeconds(3, 1 << 20, 16), 6);
  assert.equal(pointSeconds(3, 1 << 20, 50), 12);
});

test('summarizeHttp: medians over rounds, intervals of req/s and of the ratio to the kernel, per-round samples kept', () => {
  const all: HttpBenchPoint[] = [];
  // Seven rounds: http-lite about 1.5× the kernel, one round disturbed (a low outlier).
  const lite = [30000, 31000, 29000, 30500, 10000, 29500, 30200];
  const linux = [20000, 20500, 19500, 20200, 19800, 20100, 19900];
  for (let r = 0; r < 7; r++) {
    all.push(point('http-lite', 0, 50, lite[r]!, 2000 + r, r + 1));
    all.push(point('node:http on Linux', 0, 50, linux[r]!, 3000, r + 1));
  }
  const sum = summarizeHttp(all, 5);
  assert.equal(sum.length, 2);
  const l = sum.find((p) => p.server === 'http-lite')!;
  assert.equal(l.rounds, 7);
  assert.equal(l.rps.estimate, 30000);
  assert.ok(l.rps.lo <= 29500 && l.rps.hi >= 30500 && l.rps.lo >= 10000, JSON.stringify(l.rps));
  assert.equal(l.p99Us, 2003, 'median p99 over the rounds');
  assert.ok(l.ratio !== undefined && Math.abs(l.ratio.estimate - 1.5) < 1e-9, JSON.stringify(l.ratio));
  assert.ok(l.ratio.lo > 1 && l.ratio.hi < 1.6, JSON.stringify(l.ratio));
  assert.equal(sum.find((p) => p.server === 'node:http on Linux')!.ratio, undefined);
  // Every round's figures, keyed as bench compare reads them.
  assert.equal(l.key, 'http-lite/0/50');
  assert.deepEqual(l.samples.throughput, lite);
  assert.deepEqual(l.samples.p99Us, [2000, 2001, 2002, 2003, 2004, 2005, 2006]);
  assert.deepEqual(studySamples({ points: sum }, 'throughput')[0], { key: 'http-lite/0/50', samples: lite });
  const t = httpTargets(sum);
  assert.equal(t[0]!.verdict, 'met');
  assert.match(t[0]!.detail, /^1\.50× \[1\.\d\d, 1\.\d\d\]/);
  // The same seed gives the same interval.
  assert.deepEqual(summarizeHttp(all, 5)[0]!.ratio, summarizeHttp(all, 5)[0]!.ratio);
  // Ratios straddling 1 are inconclusive, not met or failed by chance.
  const close: HttpBenchPoint[] = [];
  for (let r = 0; r < 6; r++) {
    close.push(point('http-lite', 128, 50, [100, 120, 90, 110, 95, 105][r]!, 1000, r + 1));
    close.push(point('node:http on Linux', 128, 50, [105, 95, 115, 100, 90, 110][r]!, 1000, r + 1));
  }
  assert.equal(httpTargets(summarizeHttp(close))[0]!.verdict, 'inconclusive');
});

test('stall verdict: p99 ≤ 10 ms, or within 10 ms of the throughput-bound time c / req/s', () => {
  // 50 × 1 MiB at 775 req/s: bound 64.5 ms. A p99 of 70 ms is throughput, 392 ms is not.
  const [quick, unfair, fair] = summarizeHttp([
    point('node:http on Linux', 1 << 20, 50, 775, 70_000),
    point('http-lite', 1 << 20, 50, 775, 392_000),
    point('http-lite', 128, 1, 5000, 9_000),
  ]);
  assert.deepEqual(
    [quick!.size, unfair!.server, fair!.server],
    [128, 'http-lite', 'node:http on Linux'],
    'by size, then server',
  );
  assert.ok(Math.abs(fair!.boundUs - 64_516) < 1, String(fair!.boundUs));
  assert.ok(fair!.noStall);
  assert.ok(Math.abs(unfair!.p99ExcessUs - (392_000 - 64_516)) < 1);
  assert.equal(unfair!.noStall, false);
  assert.ok(quick!.noStall, 'under 10 ms is never a stall');
});
