/**
 * The HTTP bench's rounds summarised per point, and its targets judged on the summary.
 *
 * Each point (server, body size, connections) is measured once per round, rounds in a
 * seeded shuffled order (stats/order.ts). A point's row gives the median of each figure
 * over its rounds, requests/s with its order-statistic 95% interval, and for mcstack's
 * servers the ratio of its median requests/s to the kernel's node:http at the same size and
 * connection count, with its bootstrap interval (stats/interval.ts).
 *
 * Whether a tail is a stall: wrk keeps `c` requests outstanding, so by Little's law the
 * mean latency is c / (requests/s), the time the point's aggregate rate needs to deliver
 * one request for every connection (`c × body / bytes/s`): the throughput-bound time.
 * A server that shares its rate fairly answers every request in about that time; a p99
 * far above it comes from requests that waited while others were served (unfairness) or
 * from stalls (retransmission timeouts, zero windows, delayed ACKs). The stall verdict
 * allows a p99 of 10 ms, or 10 ms above the throughput-bound time, beside the literal
 * "p99 ≤ 10 ms" target, which a point bound by throughput (50 × 1 MiB needs ~5 GB/s for
 * it) cannot meet however fair the server. wrk's percentiles count a stall by its length:
 * it corrects them for coordinated omission with synthetic samples every c/rps below each
 * latency of at least twice that (wrk.c, stats_correct), so c/rps is also its own yardstick.
 */
import { medianCI, medianRatioCI, median, verdict, type Interval, type Verdict } from './stats/index.js';

export const HTTP_SERVERS = ['http-lite', 'node:http over mcstack', 'node:http on Linux'] as const;
export type HttpServerName = (typeof HTTP_SERVERS)[number];
/** The baseline every ratio is taken against. */
export const KERNEL: HttpServerName = 'node:http on Linux';

/** The literal p99 bound, and the allowance over the throughput-bound time (µs). */
export const P99_MAX_US = 10_000;

/** One wrk run. Latencies in µs. */
export interface HttpBenchPoint {
  server: HttpServerName;
  /** Which round (1-based). */
  run: number;
  size: number;
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  meanUs: number;
  p50Us: number;
  p75Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  /** wrk's socket errors (connect, read, write, timeout) and non-2xx/3xx responses. */
  errors: number;
  /**
   * CPU time (user + system) the server's side spent per request during the point, µs:
   * this process (mcstack's workers and main thread) for mcstack's servers, the node:http
   * process for the kernel's. Others' load slows a run but hardly changes it, so it
   * compares where requests/s cannot on a shared machine. NaN where it was not read.
   */
  cpuUsPerReq: number;
}

/** A point over its rounds: medians, intervals, and where its tail comes from. */
export interface HttpPointSummary extends Omit<HttpBenchPoint, 'run' | 'rps'> {
  /** `server/size/connections`: what `mcstack bench compare` matches two reports' points on. */
  key: string;
  /** Rounds measured. */
  rounds: number;
  /**
   * Each round's figures in bench/src/studyfile.ts's shape, so `bench compare` reads the
   * report: requests/s as `throughput`; p99Us, meanUs and cpuUsPerReq where every round has them.
   */
  samples: { throughput: number[]; p99Us?: number[]; meanUs?: number[]; cpuUsPerReq?: number[] };
  /** Median requests/s over the rounds, order-statistic interval (95% asked). */
  rps: Interval;
  /** median(this point's req/s) / median(the kernel's node:http's at the same size and connections); absent for the kernel's own rows. */
  ratio?: Interval;
  /** Throughput-bound time c / rps (µs): the mean latency a fair server has at this rate. */
  boundUs: number;
  /** p99 − boundUs (µs). */
  p99ExcessUs: number;
  /** p99 ≤ 10 ms, or within 10 ms of the throughput-bound time: no stall in the tail. */
  noStall: boolean;
}

export interface HttpBenchTarget {
  what: string;
  /** verdict === 'met'. */
  met: boolean;
  /** From the interval with several rounds ('inconclusive' when it straddles the target), from the figure with one. */
  verdict: Verdict;
  detail: string;
}

const key = (p: { server: string; size: number; connections: number }): string =>
  `${p.server}|${p.size}|${p.connections}`;

/** Per point, the medians of its rounds (by size, connections, server); `seed` seeds the ratios' bootstrap. */
export function summarizeHttp(all: readonly HttpBenchPoint[], seed = 1): HttpPointSummary[] {
  const groups = new Map<string, HttpBenchPoint[]>();
  for (const p of all) {
    const g = groups.get(key(p));
    if (g === undefined) groups.set(key(p), [p]);
    else g.push(p);
  }
  const out: HttpPointSummary[] = [];
  for (const g of groups.values()) {
    const p0 = g[0]!;
    const fig = (f: (p: HttpBenchPoint) => number): number => {
      const xs = g.map(f).filter((x) => !Number.isNaN(x));
      return xs.length === 0 ? Number.NaN : median(xs);
    };
    const rps = medianCI(g.map((p) => p.rps));
    const p99Us = fig((p) => p.p99Us);
    const boundUs = rps.estimate > 0 ? (p0.connections / rps.estimate) * 1e6 : Number.POSITIVE_INFINITY;
    const requests = g.reduce((s, p) => s + p.requests, 0);
    const samples: HttpPointSummary['samples'] = { throughput: g.map((p) => p.rps) };
    for (const f of ['p99Us', 'meanUs', 'cpuUsPerReq'] as const)
      if (g.every((p) => Number.isFinite(p[f]))) samples[f] = g.map((p) => p[f]);
    out.push({
      key: `${p0.server}/${p0.size}/${p0.connections}`,
      samples,
      server: p0.server,
      size: p0.size,
      connections: p0.connections,
      seconds: p0.seconds,
      rounds: g.length,
      requests,
      rps,
      meanUs: fig((p) => p.meanUs),
      p50Us: fig((p) => p.p50Us),
      p75Us: fig((p) => p.p75Us),
      p90Us: fig((p) => p.p90Us),
      p99Us,
      maxUs: fig((p) => p.maxUs),
      errors: g.reduce((s, p) => s + p.errors, 0),
      cpuUsPerReq: fig((p) => p.cpuUsPerReq),
      boundUs,
      p99ExcessUs: p99Us - boundUs,
      noStall: requests > 0 && (p99Us <= P99_MAX_US || p99Us - boundUs <= P99_MAX_US),
    });
  }
  for (const s of out) {
    if (s.server === KERNEL) continue;
    const base = groups.get(key({ server: KERNEL, size: s.size, connections: s.connections }));
    const mine = groups.get(key(s))!;
    if (base === undefined || base.some((p) => !(p.rps > 0))) continue;
    s.ratio = medianRatioCI(
      mine.map((p) => p.rps),
      base.map((p) => p.rps),
      { seed: (seed ^ (s.size * 31 + s.connections)) >>> 0 },
    );
  }
  // The table's order: by body size, then connections, then server, whatever order the rounds ran in.
  const rank = (p: HttpPointSummary): number[] => [p.size, p.connections, HTTP_SERVERS.indexOf(p.server)];
  out.sort((a, b) => {
    const ra = rank(a),
      rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    return 0;
  });
  return out;
}

/** A point's p99 is within the literal bound (a point where no request completed is not). */
export const p99Met = (p: HttpPointSummary): boolean => p.requests > 0 && p.p99Us <= P99_MAX_US;

const ms1 = (us: number): string => (us / 1000).toFixed(1);
const name = (p: HttpPointSummary): string => `${p.server} ${p.size} B × ${p.connections}`;

/** A target every point must meet; the detail names each point that does not, and why. */
function everyPoint(
  points: readonly HttpPointSummary[],
  what: string,
  ok: (p: HttpPointSummary) => boolean,
  allOk: string,
  why: (p: HttpPointSummary) => string,
): HttpBenchTarget {
  const bad = points.filter((p) => !ok(p));
  return {
    what,
    met: bad.length === 0,
    verdict: bad.length === 0 ? 'met' : 'not met',
    detail:
      bad.length === 0
        ? allOk
        : bad
            .map((p) => `${name(p)}: ${p.requests === 0 ? `no request completed in ${p.seconds} s` : why(p)}`)
            .join('; '),
  };
}

/** The issue's targets, judged on the summarised points. */
export function httpTargets(points: readonly HttpPointSummary[]): HttpBenchTarget[] {
  const at = (server: HttpServerName, size: number, c: number) =>
    points.find((p) => p.server === server && p.size === size && p.connections === c);
  const targets: HttpBenchTarget[] = [];
  for (const size of [0, 128]) {
    const lite = at('http-lite', size, 50);
    const linux = at(KERNEL, size, 50);
    if (lite?.ratio === undefined || linux === undefined) continue;
    const r = lite.ratio;
    // One round has no interval: the figure itself decides.
    const v: Verdict =
      lite.rounds > 1 && linux.rounds > 1
        ? verdict(r, { direction: 'at least', value: 1 })
        : r.estimate >= 1
          ? 'met'
          : 'not met';
    const iv = lite.rounds > 1 && linux.rounds > 1 ? ` [${r.lo.toFixed(2)}, ${r.hi.toFixed(2)}]` : '';
    targets.push({
      what: `http-lite ≥ 1.0× node:http on Linux, ${size} B body, 50 connections`,
      met: v === 'met',
      verdict: v,
      detail: `${r.estimate.toFixed(2)}×${iv} (${Math.round(lite.rps.estimate)} vs ${Math.round(linux.rps.estimate)} req/s)`,
    });
  }
  targets.push(
    everyPoint(
      points,
      'no point with a p99 above 10 ms',
      p99Met,
      `highest p99 ${(Math.max(...points.map((p) => p.p99Us)) / 1000).toFixed(2)} ms`,
      (p) => `p99 ${ms1(p.p99Us)} ms (throughput-bound ${ms1(p.boundUs)} ms)`,
    ),
    everyPoint(
      points,
      'no stall: every p99 ≤ 10 ms or within 10 ms of its throughput-bound time (c / req/s)',
      (p) => p.noStall,
      'every tail within 10 ms of what the rate allows',
      (p) => `p99 ${ms1(p.p99Us)} ms, ${ms1(p.p99ExcessUs)} ms over ${ms1(p.boundUs)} ms`,
    ),
  );
  return targets;
}
