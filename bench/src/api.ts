/**
 * `mcstack bench api`: what a Node developer sees of the API, node:net over the Linux
 * loopback against mcnet over two stacks joined in memory, both sides of each on this
 * (the main) thread, the same workload code for both, in one run:
 *
 * - bulk: one connection, `bulkBytes` written in 64 KiB chunks, until the server saw the end
 * - rr1 / rr100: 1-byte request/response on 1 and 100 connections for `seconds`
 * - writes: 10,000 writes of 16 bytes with noDelay, until all came back echoed
 * - ws: `wsMessages` 16-byte WebSocket messages sent at once, until all came back echoed
 *
 * Each figure is mcstack's over node:net's; the targets are the API's (bulk ≥ 0.5×,
 * rr1 ≥ 0.33×, rr100 ≥ 2×, writes ≥ 0.5×, ws ≥ 0.5×). Benchmarks are not tests: nothing
 * here is asserted (docs/architecture.md, "Tests in tiers").
 */
import * as net from 'node:net';
import * as http from 'node:http';
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import { Stack, threadCpuNs } from '@mcstack/runtime';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TSO, IFCAP_LRO } from '@mcstack/netinet';
import { mcnet, withNet } from '@mcstack/api';
import { formatConditions, startConditions, type RunConditions } from './conditions.js';
import { formatColumns, sig } from './table.js';
import { DEFAULT_REPEATS } from './stats/order.js';
import { median } from './stats/interval.js';
import type { Verdict } from './stats/verdict.js';
import { formatOrder, orderOf, ratioRow, roundPoints, runRounds, type RoundPoint } from './rounds.js';

export interface ApiBenchOptions {
  /** Bytes of the bulk transfer (default 256 MiB). */
  bulkBytes?: number;
  /** Seconds each request/response run lasts (default 2). */
  seconds?: number;
  /** Messages of the ws run (default 20,000). */
  wsMessages?: number;
  /** Rounds: each runs every chosen workload once on each side (default stats' DEFAULT_REPEATS, 5). */
  repeats?: number;
  /** The workloads to run (default all, in table order). */
  workloads?: readonly ApiWorkload[];
  /** Seed of the shuffled order of each round (default 1). */
  seed?: number;
  /**
   * cxgbe0 of both stacks with checksum offload, TSO and LRO on, as the Linux loopback has
   * them (no checksums, 64 KiB segments): the in-memory link then cuts TSO segments and the
   * receiver merges them (default off: no offloads, every segment checksummed in software).
   */
  offload?: boolean;
}

export type ApiWorkload = 'bulk' | 'rr1' | 'rr100' | 'writes' | 'ws';

export interface ApiBenchRow {
  workload: ApiWorkload;
  unit: string;
  /** Medians of the rounds' figures. */
  node: number;
  mcstack: number;
  /** The median of the rounds' ratios, its interval and that interval's confidence. */
  ratio: number;
  ratioLo: number;
  ratioHi: number;
  confidence: number;
  /** Each round's ratio, in round order. */
  ratios: number[];
  target: number;
  /** The median ratio reaches the target. */
  met: boolean;
  /** The interval's verdict (stats/verdict.ts): 'inconclusive' when it straddles the target. */
  verdict: Verdict;
}

/**
 * With its conditions (cores, load before and after): other processes' threads compete with
 * each cross-thread hand-off of mcstack's path, not with node:net's.
 */
export interface ApiBenchReport extends RunConditions {
  rows: ApiBenchRow[];
  /** The points (`node:bulk`, `mcstack:bulk` …) in the order each round ran them. */
  order: string[][];
  /** Every point's per-round figure under `throughput`, for `bench compare`. */
  points: RoundPoint[];
  /**
   * What mcstack's bulk run cost per MB moved, medians of the rounds (absent without a bulk
   * run): steadier than Gbit/s on a loaded machine, since CPU time is not lost to waiting.
   */
  bulkCost?: BulkCost;
  bulkBytes: number;
  seconds: number;
  wsMessages: number;
  repeats: number;
  seed: number;
  offload: boolean;
}

/** Per MB (10^6 bytes) of mcstack's bulk transfer. */
export interface BulkCost {
  /** CPU time of the main thread (both apps, the channels), µs. */
  mainCpuUs: number;
  /** CPU time of the sending and the receiving stack's workers, µs. */
  senderCpuUs: number;
  receiverCpuUs: number;
  /** Data records the sending worker read from its down ring. */
  records: number;
  /** Wake-ups of the main thread's receive loops (the workers rang it asleep). */
  mainWakeups: number;
  /** Times the sending / receiving workers went to sleep (each sleep ends in a wake-up or a timeout). */
  senderSleeps: number;
  receiverSleeps: number;
}

const TARGETS: Record<ApiWorkload, number> = { bulk: 0.5, rr1: 0.33, rr100: 2, writes: 0.5, ws: 0.5 };
const UNITS: Record<ApiWorkload, string> = {
  bulk: 'Gbit/s',
  rr1: 'transactions/s',
  rr100: 'transactions/s',
  writes: 'writes/s',
  ws: 'messages/s',
};
const WRITES = 10_000;
/** cxgbe0's offloads under `offload`: checksums both ways and families, TSO4/6, LRO. */
const OFFLOAD_CAPS = IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TSO | IFCAP_LRO;

/** A net module and the addresses its servers listen on and its clients connect to. */
interface Side {
  client: typeof net;
  server: typeof net;
  host: string;
  /** mcstack's side: its counters now (bulk reports their growth per MB). */
  counters?: () => Promise<BulkCost>;
}

async function serve(side: Side, onConn: (s: net.Socket) => void): Promise<[net.Server, number]> {
  const srv = side.server.createServer(onConn);
  srv.listen(0, side.host);
  await once(srv, 'listening');
  return [srv, (srv.address() as net.AddressInfo).port];
}

async function dial(side: Side, port: number, noDelay = false): Promise<net.Socket> {
  const c = side.client.connect({ port, host: side.host, noDelay });
  await once(c, 'connect');
  return c;
}

function closeServer(srv: net.Server): Promise<void> {
  return new Promise((r) => srv.close(() => r()));
}

/** Each counter's growth from `c0` to `c1` per MB. */
function perMB(c0: BulkCost, c1: BulkCost, mb: number): BulkCost {
  const out = { ...c1 };
  for (const k of Object.keys(out) as (keyof BulkCost)[]) out[k] = (c1[k] - c0[k]) / mb;
  return out;
}

/** Bulk: Gbit/s from the first write to the server's 'end'; the cost per MB into `costs` when the side counts. */
async function bulk(side: Side, bytes: number, costs: BulkCost[]): Promise<number> {
  let done!: () => void;
  const ended = new Promise<void>((r) => {
    done = r;
  });
  const [srv, port] = await serve(side, (s) => {
    s.on('data', () => {});
    s.on('end', () => {
      done();
      s.end();
    });
  });
  const c = await dial(side, port);
  c.resume();
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const c0 = await side.counters?.();
  const t0 = performance.now();
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, chunk.length);
    left -= n;
    if (!c.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await once(c, 'drain');
  }
  c.end();
  await ended;
  const s = (performance.now() - t0) / 1000;
  const c1 = await side.counters?.();
  if (c0 !== undefined && c1 !== undefined) costs.push(perMB(c0, c1, bytes / 1e6));
  await closeServer(srv);
  return (bytes * 8) / s / 1e9;
}

/** 1-byte request/response on `conns` connections for `seconds`: transactions/s. */
async function rr(side: Side, conns: number, seconds: number): Promise<number> {
  const [srv, port] = await serve(side, (s) => {
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => s.write(d));
  });
  const socks = await Promise.all(Array.from({ length: conns }, () => dial(side, port, true)));
  const one = Buffer.from('x');
  let count = 0;
  let running = true;
  const t0 = performance.now();
  const finished = socks.map(
    (c) =>
      new Promise<void>((resolve) => {
        c.on('data', () => {
          count++;
          if (running) c.write(one);
          else resolve();
        });
        c.write(one);
      }),
  );
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  const s = (performance.now() - t0) / 1000;
  const n = count;
  await Promise.all(finished);
  for (const c of socks) c.destroy();
  await closeServer(srv);
  return n / s;
}

/** 10,000 16-byte noDelay writes echoed: writes/s until the last byte came back. */
async function writes(side: Side): Promise<number> {
  const [srv, port] = await serve(side, (s) => {
    s.setNoDelay(true);
    s.pipe(s);
  });
  const c = await dial(side, port, true);
  const msg = Buffer.alloc(16, 0x62);
  const want = WRITES * msg.length;
  let got = 0;
  const back = new Promise<void>((resolve) => {
    c.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= want) resolve();
    });
  });
  const t0 = performance.now();
  for (let i = 0; i < WRITES; i++) c.write(msg);
  await back;
  const s = (performance.now() - t0) / 1000;
  c.destroy();
  await closeServer(srv);
  return WRITES / s;
}

/** ws: `n` 16-byte messages sent at once over one WebSocket, echoed: messages/s. */
async function ws(side: Side, n: number): Promise<number> {
  const web = http.createServer();
  const wss = new WebSocketServer({ server: web });
  wss.on('connection', (sock) => sock.on('message', (m, binary) => sock.send(m, { binary })));
  // An mcstack server hands its connections to the http.Server (see @mcstack/api's Server).
  const [srv, port] = await serve(side, (s) => web.emit('connection', s));
  const client = new WebSocket(`ws://${side.host}:${port}/`, {
    createConnection: ((o: net.NetConnectOpts) => side.client.createConnection(o)) as never,
  });
  await once(client, 'open');
  const msg = Buffer.alloc(16, 0x63);
  let got = 0;
  const back = new Promise<void>((resolve) => {
    client.on('message', () => {
      if (++got === n) resolve();
    });
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) client.send(msg);
  await back;
  const s = (performance.now() - t0) / 1000;
  client.terminate();
  for (const c of wss.clients) c.terminate();
  wss.close();
  web.closeAllConnections();
  await closeServer(srv);
  return n / s;
}

const RUNNERS: Record<ApiWorkload, (side: Side, o: Required<ApiBenchOptions>, costs: BulkCost[]) => Promise<number>> = {
  bulk: (side, o, costs) => bulk(side, o.bulkBytes, costs),
  rr1: (side, o) => rr(side, 1, o.seconds),
  rr100: (side, o) => rr(side, 100, o.seconds),
  writes: (side) => writes(side),
  ws: (side, o) => ws(side, o.wsMessages),
};

export const API_WORKLOADS = Object.keys(TARGETS) as ApiWorkload[];

/**
 * Every chosen workload `repeats` times on each side, interleaved: each round runs every
 * (workload, side) pair once in a seeded shuffled order (stats/order.ts), so the load other
 * processes put on the machine falls on both sides alike. A row's ratio is the median of
 * the rounds' ratios (each mcstack figure over the node:net one of its round), with the
 * exact order-statistic interval of that median; the verdict is the interval's.
 */
export async function runApiBench(opts: ApiBenchOptions = {}): Promise<ApiBenchReport> {
  const o: Required<ApiBenchOptions> = {
    bulkBytes: opts.bulkBytes ?? 256 << 20,
    seconds: opts.seconds ?? 2,
    wsMessages: opts.wsMessages ?? 20_000,
    repeats: opts.repeats ?? DEFAULT_REPEATS,
    workloads: opts.workloads ?? API_WORKLOADS,
    seed: opts.seed ?? 1,
    offload: opts.offload ?? false,
  };
  for (const w of o.workloads) if (!(w in TARGETS)) throw new RangeError(`bench api: no workload ${w}`);
  const workloads = API_WORKLOADS.filter((w) => o.workloads.includes(w));
  const conditions = startConditions();
  const kernel: Side = { client: net, server: net, host: '127.0.0.1' };
  const caps = o.offload ? { capabilities: OFFLOAD_CAPS, capenable: OFFLOAD_CAPS } : {};
  const A = Stack.create(
    withNet({ name: 'A', workers: 1, mac: '02:00:00:00:00:0a', addrs: ['10.0.0.1/24'], seed: 1, ...caps }),
  );
  const B = Stack.create(
    withNet({ name: 'B', workers: 1, mac: '02:00:00:00:00:0b', addrs: ['10.0.0.2/24'], seed: 2, ...caps }),
  );
  Stack.join(A, B);
  await Promise.all([B.start(), A.start()]);
  const netA = mcnet(A);
  const netB = mcnet(B);
  /** Sums of a stack's workers' counters and of its socket app's. */
  const sums = async (st: Stack) => {
    const x = await st.stats();
    return { t: x.total, app: x.apps.sockapp ?? {} };
  };
  const counters = async (): Promise<BulkCost> => {
    const [a, b] = await Promise.all([sums(A), sums(B)]);
    return {
      mainCpuUs: threadCpuNs() / 1000,
      senderCpuUs: a.t.cpuUs ?? 0,
      receiverCpuUs: b.t.cpuUs ?? 0,
      records: a.app.records ?? 0,
      mainWakeups: (a.app.upNotifies ?? 0) + (b.app.upNotifies ?? 0),
      senderSleeps: a.t.sleeps ?? 0,
      receiverSleeps: b.t.sleeps ?? 0,
    };
  };
  const mc: Side = {
    client: netA as unknown as typeof net,
    server: netB as unknown as typeof net,
    host: '10.0.0.2',
    counters,
  };
  const costs: BulkCost[] = [];
  let rounds: Awaited<ReturnType<typeof runRounds<number>>>;
  try {
    rounds = await runRounds(
      workloads.flatMap((w) => [`node:${w}`, `mcstack:${w}`]),
      { seed: o.seed, repeats: o.repeats },
      (key) => {
        const [side, w] = key.split(':') as ['node' | 'mcstack', ApiWorkload];
        return RUNNERS[w](side === 'node' ? kernel : mc, o, costs);
      },
    );
  } finally {
    netA.close();
    netB.close();
    await Promise.all([A.stop(), B.stop()]);
  }
  const rows = workloads.map((w): ApiBenchRow => {
    const nodeXs = rounds.results.get(`node:${w}`) ?? [];
    const mcXs = rounds.results.get(`mcstack:${w}`) ?? [];
    const r = ratioRow(mcXs, nodeXs, { direction: 'at least', value: TARGETS[w] });
    return {
      workload: w,
      unit: UNITS[w],
      node: median(nodeXs),
      mcstack: median(mcXs),
      ratio: r.ratio,
      ratioLo: r.ratioLo,
      ratioHi: r.ratioHi,
      confidence: r.confidence,
      ratios: r.ratios,
      target: TARGETS[w],
      met: r.met!,
      verdict: r.verdict!,
    };
  });
  const { workloads: _w, ...rest } = o;
  const out: ApiBenchReport = {
    rows,
    order: orderOf(rounds.plan),
    points: roundPoints(rounds.results, { throughput: (x) => x }),
    ...rest,
    ...conditions(),
  };
  if (costs.length > 0) {
    const m = { ...costs[0]! };
    for (const k of Object.keys(m) as (keyof BulkCost)[]) m[k] = median(costs.map((c) => c[k]));
    out.bulkCost = m;
  }
  return out;
}

export function formatApiBench(r: ApiBenchReport): string {
  const table = formatColumns(
    [
      ['workload', 'unit', 'node:net', 'mcstack', 'ratio', 'interval', 'target', 'verdict'],
      ...r.rows.map((x) => [
        x.workload,
        x.unit,
        sig(x.node),
        sig(x.mcstack),
        x.ratio.toFixed(3),
        `${x.ratioLo.toFixed(3)}–${x.ratioHi.toFixed(3)} (${Math.round(x.confidence * 100)}%)`,
        `≥ ${x.target}`,
        x.verdict,
      ]),
    ],
    2,
  );
  return (
    `node:net over the loopback vs mcstack (two stacks joined in memory${r.offload ? ', checksum offload, TSO and LRO on' : ', no offloads'}), both on the main thread; ` +
    `bulk ${r.bulkBytes} B, rr ${r.seconds} s, ws ${r.wsMessages} messages; ${r.repeats} interleaved rounds (seed ${r.seed}): ` +
    `medians, the ratio the median of the rounds' ratios with its order-statistic interval; ` +
    `${formatConditions(r)}\n${formatOrder(r.order)}${table.join('\n')}\n` +
    (r.bulkCost ? formatBulkCost(r.bulkCost) : '')
  );
}

/** The bulk run's cost per MB, one line. */
function formatBulkCost(c: BulkCost): string {
  return (
    `mcstack bulk per MB (medians): CPU µs main ${sig(c.mainCpuUs)}, sending worker ${sig(c.senderCpuUs)}, ` +
    `receiving worker ${sig(c.receiverCpuUs)}; down records ${sig(c.records)}, main wake-ups ${sig(c.mainWakeups)}, ` +
    `worker sleeps ${sig(c.senderSleeps)} / ${sig(c.receiverSleeps)}\n`
  );
}
