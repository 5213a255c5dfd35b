/**
 * The HTTP bench: wrk, run by the Linux kernel inside a network namespace, against three
 * servers in one run —
 *   - http-lite, the in-worker app of a mcstack Stack whose cxgbe0 is a TAP link into the
 *     namespace: the native multi-queue TAP (a queue per worker, links/tapmq.ts), or socat
 *     and software RSS where the native layer cannot be loaded or `queues: 'single'` asks
 *     for it — the report names the path taken;
 *   - node:http served over the same Stack through @mcstack/api (`mcnet(stack)`, its
 *     server's connections fed to http.Server, TCP_NODELAY as node:http sets it);
 *   - the same node:http on the Linux kernel, on the namespace's loopback —
 * for each body size and connection count: requests/s and wrk's latency percentiles, in
 * rounds of a seeded shuffled order. The rounds' summary, intervals, stall verdicts and
 * targets are http-summary.ts's. Used by `mcstack bench http`.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { SysError } from '@mcstack/netinet';
import { Stack, type LinkPath } from '@mcstack/runtime';
import { mcnet, withNet } from '@mcstack/api';
import { Netns, netnsUnavailable } from './netns.js';
import { HTTP_SERVER_JS, sizedBody } from './http-server.js';
import { formatPlan, measurementPlan } from './stats/index.js';
import {
  HTTP_SERVERS,
  httpTargets,
  p99Met,
  summarizeHttp,
  type HttpBenchPoint,
  type HttpBenchTarget,
  type HttpPointSummary,
  type HttpServerName,
} from './http-summary.js';

export interface HttpBenchReport {
  workers: number;
  seconds: number;
  /** The TAP path mcstack's servers were reached by ('socat' with the reason of a fallback). */
  link: LinkPath;
  /** How each server is reached from the namespace. */
  urls: Record<HttpServerName, string>;
  /** Rounds: each measures every point once, in an order shuffled afresh from `seed`. */
  runs: number;
  /** Seed of the rounds' order and of the ratios' bootstrap. */
  seed: number;
  /** Per server, body size and connection count: medians over the rounds, intervals, the tail's verdict. */
  points: HttpPointSummary[];
  /** Every round of every point (the per-round samples), in the order measured. */
  all: HttpBenchPoint[];
  /** The machine's load average at the start and at the end (others' work skews the figures). */
  loadavg: { start: number[]; end: number[] };
  /** The machine's cores: wrk, the Linux servers and mcstack's workers share them. */
  cores: number;
  targets: HttpBenchTarget[];
}

export interface HttpBenchOptions {
  seconds?: number;
  workers?: number;
  sizes?: number[];
  connections?: number[];
  /** Rounds of the sweep, each in a seeded shuffled order (default 1); the report gives medians and 95% intervals. */
  runs?: number;
  /** Seed of the rounds' order (default 1). */
  seed?: number;
  /** 'per-worker' (default): the native multi-queue TAP, socat where it cannot be had; 'single': socat. */
  queues?: TapQueues;
  /** Progress lines (to stderr in the CLI). */
  log?: (line: string) => void;
}

const LINUX = '10.79.0.1';
const MCS = '10.79.0.2';

/** Why the bench cannot run here (null: it can): root, TAP, namespaces, wrk. */
export function httpBenchUnavailable(): Promise<string | null> {
  return netnsUnavailable(['wrk']);
}

export type TapQueues = 'single' | 'per-worker';

/** mcstack's two HTTP servers, reached from `ns` over TAP. */
export interface McstackHttp {
  stack: Stack;
  /** The path the TAP link took (native, or socat and why). */
  link: LinkPath;
  /** http-lite's port (80) and node:http's over @mcstack/api (8080). */
  litePort: number;
  nodePort: number;
  close(): Promise<void>;
}

/**
 * A Stack of `workers` at `addr` whose cxgbe0 is a TAP device in `ns` (the kernel's side
 * `linux`, both /24; `queues` as the link spec's, default 'per-worker'), serving http-lite on 80 and node:http (sizedBody, TCP_NODELAY as
 * node:http's own servers set it) through @mcstack/api on 8080.
 */
export async function startMcstackHttp(
  ns: Netns,
  o: { workers: number; addr: string; linux: string; seed: number; queues?: TapQueues },
): Promise<McstackHttp> {
  const stack = Stack.create(
    withNet({
      name: 'http',
      workers: o.workers,
      mac: '02:00:00:00:79:02',
      addrs: [`${o.addr}/24`],
      seed: o.seed,
      links: [{ type: 'tap', netns: ns.name, addrs: [`${o.linux}/24`], queues: o.queues ?? 'per-worker' }],
      apps: [{ name: 'http-lite', port: 80 }],
    }),
  );
  const nodeHttp = http.createServer(sizedBody);
  const close = async (): Promise<void> => {
    nodeHttp.closeAllConnections();
    nodeHttp.close();
    await stack.stop();
  };
  try {
    await stack.start();
    const server = mcnet(stack).createServer({ noDelay: true }, (s) => nodeHttp.emit('connection', s));
    await new Promise<void>((r) => server.listen(8080, () => r()));
  } catch (e) {
    await close();
    throw e;
  }
  return { stack, link: stack.linkPath ?? { path: 'socat' }, litePort: 80, nodePort: 8080, close };
}

/** µs of a wrk duration such as `635.91us`, `1.20ms`, `2.00s`, `1.00m`. */
function usOf(v: string, unit: string): number {
  const x = Number(v);
  return unit === 'us' ? x : unit === 'ms' ? x * 1e3 : unit === 's' ? x * 1e6 : x * 60e6;
}

/** The figures of one `wrk --latency` report. */
export function parseWrk(
  text: string,
): Omit<HttpBenchPoint, 'server' | 'run' | 'size' | 'connections' | 'seconds' | 'cpuUsPerReq'> {
  const dur = '([\\d.]+)(us|ms|s|m)\\b';
  const lat = new RegExp(`^\\s*Latency\\s+${dur}\\s+\\S+\\s+${dur}`, 'm').exec(text);
  const pct = (p: number): number => {
    const m = new RegExp(`^\\s*${p}%\\s+${dur}`, 'm').exec(text);
    return m === null ? Number.NaN : usOf(m[1]!, m[2]!);
  };
  const reqs = /^\s*(\d+) requests in/m.exec(text);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (rps === null || reqs === null) throw new Error(`wrk: no result in:\n${text}`);
  let errors = non2xx === null ? 0 : Number(non2xx[1]);
  if (sock !== null) for (let i = 1; i <= 4; i++) errors += Number(sock[i]);
  return {
    requests: Number(reqs[1]),
    rps: Number(rps[1]),
    meanUs: lat === null ? Number.NaN : usOf(lat[1]!, lat[2]!),
    maxUs: lat === null ? Number.NaN : usOf(lat[3]!, lat[4]!),
    p50Us: pct(50),
    p75Us: pct(75),
    p90Us: pct(90),
    p99Us: pct(99),
    errors,
  };
}

/** USER_HZ, the unit of /proc/PID/stat's times (100 on every Linux architecture Node runs on). */
const USER_HZ = 100;

/** A process's CPU time so far (utime + stime of /proc/PID/stat), µs; NaN where unreadable. */
export function procCpuUs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may hold spaces) start at field 3; utime is 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / USER_HZ;
  } catch {
    return Number.NaN;
  }
}

/** This process's CPU time so far (every thread), µs. */
function selfCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** The node:http server on the namespace's kernel; resolves once it listens. */
function linuxServer(ns: Netns, port: number): Promise<ChildProcess> {
  const child = ns.spawn(process.execPath, [HTTP_SERVER_JS, String(port), '127.0.0.1']);
  let err = '';
  child.stderr!.on('data', (s) => {
    err += String(s);
  });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`node:http in the namespace exited ${code}: ${err.trim()}`)));
  });
}

/**
 * Measure (root, /dev/net/tun, socat, ip, wrk). Throws MCSTACK_UNAVAILABLE with the
 * reason where it cannot run.
 */
export async function runHttpBench(o: HttpBenchOptions = {}): Promise<HttpBenchReport> {
  const seconds = o.seconds ?? 3;
  const workers = o.workers ?? 2;
  const sizes = o.sizes ?? [0, 128, 16384, 1 << 20];
  const conns = o.connections ?? [1, 50];
  const runs = o.runs ?? 1;
  const seed = o.seed ?? 1;
  const log = o.log ?? (() => undefined);
  const why = await httpBenchUnavailable();
  if (why) throw new SysError('MCSTACK_UNAVAILABLE', `cannot run here: ${why}`, 'bench http');

  const ns = await Netns.create('bhttp');
  let mcs: McstackHttp | null = null;
  let linux: ChildProcess | null = null;
  const urls: Record<HttpServerName, string> = {
    'http-lite': `http://${MCS}:80`,
    'node:http over mcstack': `http://${MCS}:8080`,
    'node:http on Linux': 'http://127.0.0.1:8081',
  };
  const all: HttpBenchPoint[] = [];
  const start = loadavg();
  let link: LinkPath = { path: 'socat' };
  try {
    mcs = await startMcstackHttp(ns, { workers, addr: MCS, linux: LINUX, seed: 79, queues: o.queues });
    link = mcs.link;
    log(`mcstack over TAP: ${linkText(link)}`);
    linux = await linuxServer(ns, 8081);

    const wrk = async (url: string, c: number, s: number): Promise<string> =>
      ns.exec('wrk', ['-t1', `-c${c}`, `-d${s}s`, '--timeout', '30s', '--latency', url]);
    // Warm up each server (ARP, V8 tiering in the workers and here).
    for (const name of HTTP_SERVERS) await wrk(`${urls[name]}/128`, 10, 1);
    // Rounds in a seeded shuffled order, so the machine's drift and any carry-over from
    // the point before touch every server alike (stats/order.ts).
    const pointOf = new Map<string, { name: HttpServerName; size: number; c: number }>();
    for (const size of sizes)
      for (const c of conns)
        for (const name of HTTP_SERVERS) pointOf.set(`${name} ${size} B × ${c}`, { name, size, c });
    const plan = measurementPlan([...pointOf.keys()], seed, runs);
    for (const line of formatPlan(plan).trimEnd().split('\n')) log(line);
    for (const step of plan.steps) {
      const { name, size, c } = pointOf.get(step.key)!;
      const s = pointSeconds(seconds, size, c);
      const cpu = name === 'node:http on Linux' ? () => procCpuUs(linux?.pid) : selfCpuUs;
      const cpu0 = cpu();
      const f = parseWrk(await wrk(`${urls[name]}/${size}`, c, s));
      const cpuUsPerReq = f.requests > 0 ? (cpu() - cpu0) / f.requests : Number.NaN;
      const p: HttpBenchPoint = { server: name, run: step.round, size, connections: c, seconds: s, ...f, cpuUsPerReq };
      all.push(p);
      log(
        `round ${step.round} ${name.padEnd(23)} ${String(size).padStart(8)} B ${String(c).padStart(3)} conns: ${Math.round(p.rps)} req/s, p99 ${(p.p99Us / 1000).toFixed(2)} ms (c/rps ${((c / p.rps) * 1000).toFixed(2)} ms)`,
      );
    }
  } finally {
    linux?.kill();
    await mcs?.close();
    await ns.delete();
  }
  const points = summarizeHttp(all, seed);
  return {
    workers,
    seconds,
    link,
    urls,
    runs,
    seed,
    points,
    all,
    loadavg: { start, end: loadavg() },
    cores: availableParallelism(),
    targets: httpTargets(points),
  };
}

/**
 * wrk's duration for a point: `seconds`, longer (up to 4×) where the bytes the
 * connections ask for at once pass 8 MiB — 50 requests of 1 MiB over TAP take seconds
 * to complete, and a window shorter than that counts none.
 */
export function pointSeconds(seconds: number, size: number, connections: number): number {
  return seconds * Math.min(4, Math.max(1, Math.ceil((size * connections) / (8 << 20))));
}

const ms = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '-');

/** 'native multi-queue TAP', or 'socat' with the reason native was not taken. */
export function linkText(l: LinkPath): string {
  return l.path === 'native'
    ? 'native multi-queue TAP'
    : `socat${l.reason ? ` (native unavailable: ${l.reason})` : ''}`;
}

/** The report for a terminal: one table and the targets. */
export function formatHttpBench(r: HttpBenchReport): string {
  const la = (v: number[]): string => v.map((x) => x.toFixed(1)).join(' ');
  const several = r.runs > 1;
  const cols: [string, number][] = [
    ['server', -23],
    ['body', 8],
    ['conns', 5],
    ['req/s', 9],
    ...(several ? ([['interval', 15]] as [string, number][]) : []),
    ['×Linux', 6],
    ...(several ? ([['interval', 11]] as [string, number][]) : []),
    ['mean ms', 8],
    ['p50', 7],
    ['p90', 7],
    ['p99', 7],
    ['max', 8],
    ['c/rps', 7],
    ['p99-c/rps', 9],
    ['errors', 6],
    ['cpu µs/req', 10],
    ['p99 ≤ 10 ms', -11],
    ['stall', 0],
  ];
  const row = (cells: string[]): string =>
    cells
      .map((x, i) => {
        const w = cols[i]![1];
        return w < 0 ? x.padEnd(-w) : x.padStart(w);
      })
      .join(' ')
      .trimEnd();
  const lines = [
    `wrk -t1 --latency from the Linux kernel in a namespace, ${r.seconds} s per point (longer where 8 MiB are asked at once); mcstack: ${r.workers} workers over TAP, ${linkText(r.link)}`,
    `${several ? `medians of ${r.runs} rounds, each in an order shuffled from seed ${r.seed}` : 'one run'}; ${r.cores} cores, load average ${la(r.loadavg.start)} at the start, ${la(r.loadavg.end)} at the end`,
    "c/rps: the throughput-bound time (connections × body / the point's aggregate rate), the mean latency of a fair server at that rate; stall: p99 above 10 ms and more than 10 ms over it",
    ...(several
      ? [
          `intervals: req/s the median's order-statistic interval (95% asked; with under 6 rounds min-max, ${(100 * (r.points[0]?.rps.confidence ?? 0)).toFixed(0)}% here), ×Linux the bootstrap 95% interval of the ratio of medians`,
        ]
      : []),
    row(cols.map((c) => c[0])),
  ];
  for (const p of r.points) {
    const ratio = p.ratio;
    lines.push(
      row([
        p.server,
        String(p.size),
        String(p.connections),
        Math.round(p.rps.estimate).toString(),
        ...(several ? [`${Math.round(p.rps.lo)}-${Math.round(p.rps.hi)}`] : []),
        ratio === undefined ? '' : ratio.estimate.toFixed(2),
        ...(several ? [ratio === undefined ? '' : `${ratio.lo.toFixed(2)}-${ratio.hi.toFixed(2)}`] : []),
        ms(p.meanUs),
        ms(p.p50Us),
        ms(p.p90Us),
        ms(p.p99Us),
        ms(p.maxUs),
        ms(p.boundUs),
        ms(p.p99ExcessUs),
        String(p.errors),
        Number.isNaN(p.cpuUsPerReq) ? '-' : p.cpuUsPerReq.toFixed(1),
        p99Met(p) ? 'met' : 'not met',
        p.noStall ? 'no' : 'stall',
      ]),
    );
  }
  lines.push('', 'targets:');
  for (const t of r.targets) lines.push(`  ${t.verdict.padEnd(12)}  ${t.what}: ${t.detail}`);
  return `${lines.join('\n')}\n`;
}
