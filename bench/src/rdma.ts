/**
 * `mcstack bench rdma`: iWARP on the cards beside TCP on the same offloaded path, in one
 * run. Two stacks joined in memory, each with a T4 card (`kldload t4_tom`, `ifconfig
 * cxgbe0 toe`): the host's verbs (@mcstack/runtime RdmaDevice) drive the cards' RDMA
 * devices; TCP goes through @mcstack/api sockets whose connections the cards hold (A's
 * active opens, B's accepted ones by passive offload). Each round (rounds.ts) runs every
 * workload once in an order shuffled from the seed; a row gives each figure's median with
 * its interval, and RDMA against TCP is the median of the rounds' ratios with its interval
 * (no target: the figures say what iWARP on the card costs and buys beside TCP):
 *
 * - rdma-write: `bytes` of RDMA Writes of 64 KiB, 16 outstanding
 * - rdma-send: `bytes` of 64 KiB Sends into receives B reposts (credit-limited, as an
 *   application must: a Send with no receive posted is a Terminate)
 * - tcp-bulk: `bytes` written on one socket in 64 KiB chunks until B saw the end
 * - rdma-lat / tcp-lat: 1-byte ping-pong (Send/receive both ways; echo) for `seconds`
 *
 * CPU time per thread (threadcpu.ts): the hosts' group workers (A's and B's), the cards'
 * threads, and the main thread apart (it runs the verbs' posting and polling, both stacks'
 * API sockets and the coordinators). Benchmarks are not tests: nothing is asserted.
 */
import {
  Stack,
  RdmaDevice,
  RDMA_CM_EVENT_CONNECT_REQUEST,
  RDMA_CM_EVENT_DISCONNECTED,
  type RdmaCq,
  type RdmaQp,
  type RdmaMr,
  type RdmaPd,
} from '@mcstack/runtime';
import { mcnet, withNet, type McNet } from '@mcstack/api';
import {
  IFCAP_HWCSUM,
  IFCAP_TOE,
  IBV_ACCESS_LOCAL_WRITE,
  IBV_ACCESS_REMOTE_WRITE,
  IBV_ACCESS_REMOTE_READ,
  IBV_SEND_SIGNALED,
  IBV_WR_RDMA_WRITE,
  IBV_WR_SEND,
  IBV_WC_SUCCESS,
  SysError,
  type IbvWc,
} from '@mcstack/netinet';
import { formatColumns } from './table.js';
import { bulk, measure, rr, servers, SAMPLE_FIGURES, type Sample } from './toe.js';
import { DEFAULT_REPEATS } from './stats/order.js';
import { formatConditions, startConditions, type RunConditions } from './conditions.js';
import {
  estimate,
  formatEstimate,
  formatOrder,
  formatRatio,
  orderOf,
  ratioRow,
  roundPoints,
  roundsLine,
  runRounds,
  type Estimate,
  type RatioRow,
  type RoundPoint,
} from './rounds.js';

export interface RdmaBenchOptions {
  /** Bytes of each bulk run (default 32 MiB). */
  bytes?: number;
  /** Seconds of each latency run (default 1). */
  seconds?: number;
  /** Rounds, each running every workload once (default 5). */
  repeats?: number;
  /** Seed of each round's shuffled order (default 1). */
  seed?: number;
}

export type RdmaWorkload = 'rdma-write' | 'rdma-send' | 'tcp-bulk' | 'rdma-lat' | 'tcp-lat';
const WORKLOADS: readonly RdmaWorkload[] = ['rdma-write', 'rdma-send', 'tcp-bulk', 'rdma-lat', 'tcp-lat'];

export interface RdmaBenchRow {
  workload: RdmaWorkload;
  /** Gbit/s (bulk) or µs per round trip (latency): the median of the rounds with its interval, and each round's. */
  rate: Estimate;
  rates: number[];
  /** The hosts' group workers' CPU time (A's and B's): µs per GB (bulk) or per round trip. */
  hostCpu: Estimate;
  /** The two cards' threads, the same unit. */
  cardCpu: Estimate;
  /** The main thread (verbs posting and polling, API sockets, coordinators), the same unit. */
  mainCpu: Estimate;
}

/** RDMA over TCP on the same path: the median of the rounds' ratios with its interval. */
export interface RdmaRatio extends RatioRow {
  what: string;
}

export interface RdmaBenchReport extends RunConditions {
  rows: RdmaBenchRow[];
  bytes: number;
  seconds: number;
  repeats: number;
  seed: number;
  /** The workloads in the order each round ran them. */
  order: string[][];
  /** RDMA Write and Send throughput over TCP bulk's, RDMA latency over TCP's. */
  ratios: RdmaRatio[];
  /**
   * Every workload's per-round figures, for `bench compare`: throughput (Gbit/s, or round
   * trips per second for the latency workloads, so higher is better throughout) and CPU
   * per unit of each thread group.
   */
  points: RoundPoint[];
}

const CHUNK = 64 * 1024;
const DEPTH = 16;
const MR_BYTES = 4 << 20;
const ALL = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;

interface Side {
  dev: RdmaDevice;
  pd: RdmaPd;
  mr: RdmaMr;
  /** This run's connection: a fresh CQ and QP each run, so nothing of one run is left for the next. */
  cq: RdmaCq;
  qp: RdmaQp;
  cmId: number;
}

async function side(s: Stack): Promise<Side> {
  const dev = await RdmaDevice.open(s);
  const pd = await dev.allocPd();
  const mr = await dev.regMr(pd, new Uint8Array(new SharedArrayBuffer(MR_BYTES)), ALL);
  return { dev, pd, mr, ...(await fresh(dev, pd)), cmId: 0 };
}

async function fresh(dev: RdmaDevice, pd: RdmaPd): Promise<{ cq: RdmaCq; qp: RdmaQp }> {
  const cq = await dev.createCq(8192);
  const qp = await dev.createQp(pd, { sendCq: cq, recvCq: cq, maxSendWr: 1024, maxRecvWr: 1024 });
  return { cq, qp };
}

/** Wait for completions on `cq` (any error is fatal to the run). */
async function reap(cq: RdmaCq, out: IbvWc[]): Promise<number> {
  let n = cq.pollInto(out, out.length + 64);
  if (n === 0) {
    await cq.wait(1000);
    n = cq.pollInto(out, out.length + 64);
  }
  for (let i = 0; i < n; i++) {
    const wc = out[i]!;
    if (wc.status !== IBV_WC_SUCCESS) throw new SysError('EIO', `work request ${wc.wr_id}: status ${wc.status}`);
  }
  return n;
}

async function rdmaWrite(a: Side, b: Side, bytes: number) {
  const out: IbvWc[] = [];
  let posted = 0;
  let done = 0;
  const t0 = performance.now();
  while (done < bytes) {
    while (posted < bytes && posted - done < DEPTH * CHUNK) {
      const off = posted % MR_BYTES;
      const r = a.qp.postSend({
        wr_id: posted,
        opcode: IBV_WR_RDMA_WRITE,
        send_flags: IBV_SEND_SIGNALED,
        sg_list: [{ addr: off, length: CHUNK, lkey: a.mr.lkey }],
        remote_addr: off,
        rkey: b.mr.rkey,
      });
      if (r < 0) throw SysError.fromErrno(r, 'ibv_post_send');
      posted += CHUNK;
    }
    done += (await reap(a.cq, out)) * CHUNK;
  }
  const s = (performance.now() - t0) / 1000;
  return { rate: (bytes * 8) / s / 1e9, units: bytes / 1e9 };
}

async function rdmaSend(a: Side, b: Side, bytes: number) {
  const aOut: IbvWc[] = [];
  const bOut: IbvWc[] = [];
  const slots = MR_BYTES / CHUNK;
  let reposted = 0; // receives B posted
  const post = (i: number) => {
    const r = b.qp.postRecv({ wr_id: i, sg_list: [{ addr: (i % slots) * CHUNK, length: CHUNK, lkey: b.mr.lkey }] });
    if (r < 0) throw SysError.fromErrno(r, 'ibv_post_recv');
    reposted++;
  };
  for (let i = 0; i < 2 * DEPTH; i++) post(i);
  let sent = 0;
  let done = 0;
  let got = 0;
  const t0 = performance.now();
  const receiver = (async () => {
    while (got < bytes) {
      const n = await reap(b.cq, bOut);
      got += n * CHUNK;
      for (let i = 0; i < n; i++) post(reposted);
    }
  })();
  while (done < bytes) {
    // A credit per receive B has posted and this side has not used.
    while (sent < bytes && sent - done < DEPTH * CHUNK && sent / CHUNK < reposted) {
      const r = a.qp.postSend({
        wr_id: sent,
        opcode: IBV_WR_SEND,
        send_flags: IBV_SEND_SIGNALED,
        sg_list: [{ addr: sent % MR_BYTES, length: CHUNK, lkey: a.mr.lkey }],
      });
      if (r < 0) throw SysError.fromErrno(r, 'ibv_post_send');
      sent += CHUNK;
    }
    done += (await reap(a.cq, aOut)) * CHUNK;
  }
  await receiver;
  // Leave no receive behind for the next run's accounting: they stay posted, harmlessly.
  const s = (performance.now() - t0) / 1000;
  return { rate: (bytes * 8) / s / 1e9, units: bytes / 1e9 };
}

async function rdmaLatency(a: Side, b: Side, seconds: number) {
  const aOut: IbvWc[] = [];
  const bOut: IbvWc[] = [];
  const send = (s: Side) => {
    const r = s.qp.postSend({ wr_id: 1, opcode: IBV_WR_SEND, sg_list: [{ addr: 0, length: 1, lkey: s.mr.lkey }] });
    if (r < 0) throw SysError.fromErrno(r, 'ibv_post_send');
  };
  const recv = (s: Side) => s.qp.postRecv({ wr_id: 2, sg_list: [{ addr: 8, length: 8, lkey: s.mr.lkey }] });
  recv(a);
  recv(b);
  let n = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    send(a);
    // B: its receive completes, it answers.
    while ((await reap(b.cq, bOut)) === 0);
    recv(b);
    send(b);
    while ((await reap(a.cq, aOut)) === 0);
    recv(a);
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  return { rate: (s * 1e6) / n, units: n };
}

/** TCP's round trip from bench toe's 1-byte request/response: µs per round trip. */
async function tcpLatency(netA: McNet, seconds: number) {
  const r = await rr(netA, 7, seconds);
  return { rate: 1e6 / r.rate, units: r.units };
}

/** RDMA against TCP: numerator, denominator, figure of a round. */
const RATIOS: { what: string; num: RdmaWorkload; den: RdmaWorkload }[] = [
  { what: 'RDMA Write / TCP bulk, throughput', num: 'rdma-write', den: 'tcp-bulk' },
  { what: 'RDMA Send / TCP bulk, throughput', num: 'rdma-send', den: 'tcp-bulk' },
  { what: 'RDMA / TCP, latency', num: 'rdma-lat', den: 'tcp-lat' },
];

const isLatency = (w: string): boolean => w.endsWith('-lat');

export async function runRdmaBench(o: RdmaBenchOptions = {}): Promise<RdmaBenchReport> {
  const bytes = Math.max(CHUNK, Math.ceil((o.bytes ?? 32 << 20) / CHUNK) * CHUNK);
  const seconds = o.seconds ?? 1;
  const repeats = o.repeats ?? DEFAULT_REPEATS;
  const seed = o.seed ?? 1;
  const conditions = startConditions();
  const mk = (name: string, n: number) =>
    Stack.create(
      withNet({
        name,
        workers: 2,
        mac: `02:00:00:00:00:0${n}`,
        addrs: [`10.0.0.${n}/24`],
        capabilities: IFCAP_HWCSUM | IFCAP_TOE,
        capenable: IFCAP_HWCSUM,
        modules: ['t4_tom'],
      }),
    );
  const A = mk('A', 1);
  const B = mk('B', 2);
  Stack.join(A, B);
  await Promise.all([A.start(), B.start()]);
  const netA = mcnet(A);
  const netB = mcnet(B);
  let rounds: Awaited<ReturnType<typeof runRounds<Sample>>>;
  let a: Side | null = null;
  let b: Side | null = null;
  try {
    await A.ifconfig(['cxgbe0', 'toe']);
    await B.ifconfig(['cxgbe0', 'toe']);
    const srv = await servers(netB);
    const ended = srv.ended;
    a = await side(A);
    b = await side(B);
    const bb = b;
    const sa = a;
    let bGone: (() => void) | null = null;
    await bb.dev.listen('10.0.0.2', 4791, (ev) => {
      if (ev.event === RDMA_CM_EVENT_CONNECT_REQUEST) void bb.dev.accept(ev, bb.qp);
      if (ev.event === RDMA_CM_EVENT_DISCONNECTED) bGone?.();
    });
    /** A new connection (fresh CQs and QPs) for an RDMA run; the last one is torn down first. */
    const reconnect = async () => {
      if (sa.cmId !== 0) {
        const gone = new Promise<void>((r) => {
          bGone = r;
        });
        await sa.dev.disconnect(sa.cmId);
        await gone;
        await Promise.all([sa.dev.destroyQp(sa.qp), bb.dev.destroyQp(bb.qp)]);
      }
      Object.assign(sa, await fresh(sa.dev, sa.pd));
      Object.assign(bb, await fresh(bb.dev, bb.pd));
      sa.cmId = (await sa.dev.connect(sa.qp, '10.0.0.2', 4791)).cmId;
    };
    const run: Record<RdmaWorkload, () => Promise<{ rate: number; units: number }>> = {
      'rdma-write': () => rdmaWrite(sa, bb, bytes),
      'rdma-send': () => rdmaSend(sa, bb, bytes),
      'tcp-bulk': () => bulk(netA, 9, ended, bytes),
      'rdma-lat': () => rdmaLatency(sa, bb, seconds),
      'tcp-lat': () => tcpLatency(netA, seconds),
    };
    rounds = await runRounds(WORKLOADS, { seed, repeats }, async (key) => {
      const w = key as RdmaWorkload;
      if (w.startsWith('rdma')) await reconnect();
      return measure([A, B], run[w]);
    });
    srv.close();
  } finally {
    a?.dev.close();
    b?.dev.close();
    netA.close();
    netB.close();
    await Promise.all([A.stop(), B.stop()]);
  }
  const of = (w: RdmaWorkload): Sample[] => rounds.results.get(w) ?? [];
  const rows: RdmaBenchRow[] = WORKLOADS.map((workload) => {
    const s = of(workload);
    return {
      workload,
      rate: estimate(s.map((x) => x.rate)),
      rates: s.map((x) => x.rate),
      hostCpu: estimate(s.map((x) => x.hostUs / x.units)),
      cardCpu: estimate(s.map((x) => x.cardUs / x.units)),
      mainCpu: estimate(s.map((x) => x.mainUs / x.units)),
    };
  });
  const ratios = RATIOS.map((r) => ({
    what: r.what,
    ...ratioRow(
      of(r.num).map((x) => x.rate),
      of(r.den).map((x) => x.rate),
    ),
  }));
  const points = roundPoints(rounds.results, {
    ...SAMPLE_FIGURES,
    throughput: (x, key) => (isLatency(key) ? 1e6 / x.rate : x.rate),
  });
  return { rows, bytes, seconds, repeats, seed, order: orderOf(rounds.plan), ratios, points, ...conditions() };
}

export function formatRdmaBench(r: RdmaBenchReport): string {
  const table = formatColumns(
    [
      ['workload', 'rate', 'unit', 'host CPU', 'card CPU', 'main thread', 'per'],
      ...r.rows.map((x) => [
        x.workload,
        formatEstimate(x.rate),
        isLatency(x.workload) ? 'µs/round trip' : 'Gbit/s',
        formatEstimate(x.hostCpu),
        formatEstimate(x.cardCpu),
        formatEstimate(x.mainCpu),
        isLatency(x.workload) ? 'µs/round trip' : 'µs/GB',
      ]),
    ],
    2,
  );
  return (
    `${r.bytes} bytes per bulk run, ${r.seconds} s per latency run; ${roundsLine(r)}\n` +
    formatOrder(r.order) +
    `${table.join('\n')}\n` +
    r.ratios.map((x) => `${x.what}: ${formatRatio(x)}\n`).join('') +
    "host = both stacks' group workers, card = both cards' threads; the main thread posts and polls the verbs' queues\n" +
    `${formatConditions(r)}\n`
  );
}
