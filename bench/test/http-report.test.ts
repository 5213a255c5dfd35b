/**
 * The HTTP bench's reading of wrk and its verdicts, on wrk 4.1's own output: units,
 * errors counted, the targets judged from the points (no wrk needed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseWrk,
  httpTargets,
  formatHttpBench,
  pointSeconds,
  bestRuns,
  procCpuUs,
  type HttpBenchPoint,
} from '../src/http.js';

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
  const t = httpTargets(pts);
  assert.equal(t.length, 3);
  assert.equal(t[0]!.met, true);
  assert.match(t[0]!.detail, /^1\.33×/);
  assert.equal(t[1]!.met, false);
  assert.equal(t[2]!.met, false);
  assert.match(t[2]!.detail, /node:http on Linux 128 B × 50: p99 12\.0 ms/);
  assert.match(t[2]!.detail, /http-lite 1048576 B × 50: no request completed in 3 s/);
  const text = formatHttpBench({
    workers: 2,
    seconds: 3,
    link: { path: 'native' },
    urls: {} as never,
    runs: 1,
    points: pts,
    all: pts,
    loadavg: { start: [1, 2, 3], end: [4, 5, 6] },
    cores: 2,
    targets: t,
  });
  assert.match(text, /^one run; 2 cores, load average 1\.0 2\.0 3\.0 at the start, 4\.0 5\.0 6\.0 at the end$/m);
  assert.match(text, /over TAP, native multi-queue TAP$/m);
  assert.match(text, /^http-lite +0 +50 +40000 .* 0 +12\.5 {2}met$/m);
  const fallback = formatHttpBench({
    workers: 2,
    seconds: 3,
    link: { path: 'socat', reason: 'koffi cannot be loaded' },
    urls: {} as never,
    runs: 3,
    points: [],
    all: [],
    loadavg: { start: [0, 0, 0], end: [0, 0, 0] },
    cores: 2,
    targets: [],
  });
  assert.match(fallback, /over TAP, socat \(native unavailable: koffi cannot be loaded\)$/m);
  assert.match(fallback, /^best of 3 interleaved runs by req\/s;/m);
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

test('bestRuns: per server, size and connections, the run with the most requests/s, percentiles with it', () => {
  const all = [
    point('http-lite', 0, 50, 40000, 9000, 1),
    point('node:http on Linux', 0, 50, 30000, 3000, 1),
    point('http-lite', 0, 50, 50000, 2000, 2),
    point('node:http on Linux', 0, 50, 20000, 1000, 2),
    point('http-lite', 0, 1, 100, 5000, 2),
  ];
  const best = bestRuns(all);
  assert.equal(best.length, 3);
  const lite = best.find((p) => p.server === 'http-lite' && p.connections === 50);
  assert.deepEqual([lite?.run, lite?.p99Us], [2, 2000]);
  const linux = best.find((p) => p.server === 'node:http on Linux');
  assert.deepEqual([linux?.run, linux?.p99Us], [1, 3000]);
});
