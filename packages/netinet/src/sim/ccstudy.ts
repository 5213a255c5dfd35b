/**
 * The congestion-control study on a modelled bottleneck (`mcstack bench cc`): flows from
 * one engine to another share a bottleneck (bottleneck.ts) of a given rate, queue and
 * AQM, the round trip set by the propagation delays; each flow runs the algorithm asked
 * (TCP_CONGESTION, its module loaded) and always has data to send. On the virtual clock,
 * from a seed: the same options give the same figures. Reported per flow: goodput over
 * the measured part (after a warm-up), retransmitted segments, cwnd over time; per run:
 * Jain's fairness index (Σx)²/(n·Σx²), the bottleneck's queueing-delay percentiles,
 * drops and CE marks.
 */
import { Engine } from '../engine.js';
import { ERRNO } from '../kern/errno.js';
import { SeededRandom } from '../kern/random.js';
import { IPPROTO_TCP } from '../netinet/in.js';
import { TCP_CONGESTION } from '../tcp/usrreq.js';
import type { Tcpcb } from '../tcp/var.js';
import type { Aqm } from './bottleneck.js';
import { Simulator } from './simulator.js';

export interface CcRunOptions {
  seed: number;
  /** One entry per flow: its algorithm (`newreno`, `cubic`, ...). */
  flows: string[];
  /** Bottleneck rate, bit/s. */
  rateBps: number;
  /** Base round-trip time, ms (half each way). */
  rttMs: number;
  /** Bottleneck queue, packets. */
  queuePkts: number;
  aqm: Aqm;
  /** CE-mark ECT packets above this many queued (DCTCP's K); default: none (a quarter of the queue with dctcp). */
  ecnK?: number;
  /** Virtual seconds to run, and the first part left out of the goodput (warm-up). */
  seconds: number;
  warmupSeconds?: number;
  /** cwnd sampling period, virtual ms. */
  sampleMs?: number;
  /** Flows start within this many ms of each other (seeded), default one RTT. */
  startSpreadMs?: number;
}

export interface CcFlowResult {
  algorithm: string;
  /** Application bytes received over the measured part, and their rate. */
  bytes: number;
  goodputBps: number;
  /** Segments the sender retransmitted. */
  retransmits: number;
  /** cwnd in segments at each sample. */
  cwnd: number[];
}

export interface CcRunResult {
  flows: CcFlowResult[];
  /** Sample times (ms) of the cwnd series. */
  sampleTimesMs: number[];
  jain: number;
  /** The bottleneck's use over the measured part. */
  utilization: number;
  queueDelayMs: { p50: number; p95: number; p99: number; max: number };
  drops: number;
  ceMarks: number;
  /** Retransmission timeouts of all the flows over the whole run (tcps_rexmttimeo). */
  timeouts: number;
}

const MAC_A = Uint8Array.of(2, 0, 0, 0, 0, 0x0a);
const MAC_B = Uint8Array.of(2, 0, 0, 0, 0, 0x0b);
const PORT = 5001;

/** Jain's fairness index of `x` (R. Jain, D. Chiu, W. Hawe, DEC-TR-301, 1984). */
export function jainIndex(x: readonly number[]): number {
  let s = 0;
  let s2 = 0;
  for (const v of x) {
    s += v;
    s2 += v * v;
  }
  return s2 === 0 ? 1 : (s * s) / (x.length * s2);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One run: these flows on this bottleneck. */
export function runCcFlows(o: CcRunOptions): CcRunResult {
  const sim = new Simulator(o.seed);
  const mk = (seed: number) => new Engine({ seed, output: (ifp, frame) => sim.transmit(ifp, frame) });
  const a = mk(o.seed * 2 + 1);
  const b = mk(o.seed * 2 + 2);
  const ifa = a.ifattach({ name: 'em0', type: 'ether', lladdr: MAC_A, mtu: 1500 });
  const ifb = b.ifattach({ name: 'em0', type: 'ether', lladdr: MAC_B, mtu: 1500 });
  a.addAddr(ifa, '10.0.0.1/24');
  a.setUp(ifa);
  b.addAddr(ifb, '10.0.0.2/24');
  b.setUp(ifb);
  const dctcp = o.flows.includes('dctcp');
  for (const e of [a, b]) {
    e.sysctl.set('net.inet.tcp.sendbuf_max', 16 << 20);
    e.sysctl.set('net.inet.tcp.recvbuf_max', 16 << 20);
    if (dctcp) e.sysctl.set('net.inet.tcp.ecn.enable', 1);
  }
  for (const alg of new Set(o.flows)) {
    if (alg === 'newreno') continue;
    const r = a.kldload(`cc_${alg}`);
    if (r < 0 && r !== -ERRNO.EEXIST) throw new Error(`kldload cc_${alg}: errno ${-r}`);
  }
  const half = (o.rttMs * 1000) / 2;
  const ecnK = o.ecnK ?? (dctcp ? Math.max(1, Math.floor(o.queuePkts / 4)) : undefined);
  const wire = sim.connect({ engine: a, ifp: ifa }, { engine: b, ifp: ifb }, [
    {
      bottleneck: {
        rateBps: o.rateBps,
        delayUs: half,
        queuePkts: o.queuePkts,
        aqm: o.aqm,
        ecn: dctcp,
        ...(ecnK !== undefined ? { ecnThresholdPkts: ecnK } : {}),
      },
    },
    { delayUs: half },
  ]);
  // The first ARP exchange before anything is timed.
  a.net.arp.addStatic(ifa, 0x0a000002, MAC_B);
  b.net.arp.addStatic(ifb, 0x0a000001, MAC_A);

  const lfd = b.socket('inet', 'stream');
  b.bind(lfd, { addr: '10.0.0.2', port: PORT });
  b.listen(lfd, 1024);
  const n = o.flows.length;
  const cfd = new Array<number>(n).fill(-1);
  const tps: (Tcpcb | null)[] = new Array<Tcpcb | null>(n).fill(null);
  const spread = (o.startSpreadMs ?? o.rttMs) * 1000;
  const rnd = new SeededRandom(o.seed ^ 0x5ccc);
  const startAt = o.flows.map(() => (spread > 0 ? rnd.below(Math.floor(spread) + 1) : 0));
  const accepted: number[] = [];
  const byPort = new Map<number, number>();
  const got = new Float64Array(n);
  const gotAtWarmup = new Float64Array(n);
  const data = new Uint8Array(64 * 1024);
  const rbuf = new Uint8Array(256 * 1024);
  const sampleUs = (o.sampleMs ?? 10) * 1000;
  const cwnd: number[][] = o.flows.map(() => []);
  const sampleTimesMs: number[] = [];
  let nextSample = 0;
  const endUs = o.seconds * 1e6;
  const warmUs = (o.warmupSeconds ?? Math.min(o.seconds / 4, 5)) * 1e6;
  let warmed = false;
  let sojournAtWarmup = 0;

  const pump = (): boolean => {
    const now = sim.now;
    for (let i = 0; i < n; i++) {
      if (cfd[i]! < 0 && now >= startAt[i]!) {
        const fd = a.socket('inet', 'stream');
        const r = a.setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o.flows[i]!);
        if (r !== 0) throw new Error(`TCP_CONGESTION ${o.flows[i]}: errno ${-r}`);
        a.connect(fd, { addr: '10.0.0.2', port: PORT });
        cfd[i] = fd;
        const so = a.sockets.lookup(fd)!;
        const inp = so.so_pcb as { inp_ppcb: Tcpcb | null; inp_lport: number };
        tps[i] = inp.inp_ppcb;
        byPort.set(inp.inp_lport, i);
      }
      const fd = cfd[i]!;
      if (fd >= 0) while (a.send(fd, data) > 0) {}
    }
    for (let s = b.accept(lfd); s >= 0; s = b.accept(lfd)) {
      const peer = b.getpeername(s);
      accepted[s] = typeof peer === 'number' ? -1 : (byPort.get(peer.port) ?? -1);
    }
    for (let s = 0; s < accepted.length; s++) {
      const i = accepted[s];
      if (i === undefined || i < 0) continue;
      for (let r = b.recv(s, rbuf); r > 0; r = b.recv(s, rbuf)) got[i] = got[i]! + r;
    }
    if (!warmed && now >= warmUs) {
      warmed = true;
      gotAtWarmup.set(got);
      sojournAtWarmup = wire.ab.bottleneck!.stats.samples;
    }
    while (now >= nextSample && nextSample <= endUs) {
      sampleTimesMs.push(nextSample / 1000);
      for (let i = 0; i < n; i++) {
        const tp = tps[i];
        cwnd[i]!.push(tp ? Math.round((tp.snd_cwnd / tp.t_maxseg) * 10) / 10 : 0);
      }
      nextSample += sampleUs;
    }
    return false;
  };
  // Slices of a millisecond, so flows start and samples are taken on time when the wire is idle.
  for (let t = 0; t < endUs; ) {
    pump();
    t = Math.min(t + 1000, endUs);
    sim.run(t, pump);
  }
  pump();

  const secs = (endUs - warmUs) / 1e6;
  const flows: CcFlowResult[] = o.flows.map((alg, i) => {
    const bytes = got[i]! - gotAtWarmup[i]!;
    return {
      algorithm: alg,
      bytes,
      goodputBps: (bytes * 8) / secs,
      retransmits: tps[i]?.t_sndrexmitpack ?? 0,
      cwnd: cwnd[i]!,
    };
  });
  const bs = wire.ab.bottleneck!.stats;
  const soj = Float64Array.from(bs.sojourn.subarray(sojournAtWarmup, bs.samples)).sort();
  const ms = (us: number) => Math.round(us / 10) / 100;
  const total = flows.reduce((s, f) => s + f.goodputBps, 0);
  return {
    flows,
    sampleTimesMs,
    jain: jainIndex(flows.map((f) => f.goodputBps)),
    utilization: total / o.rateBps,
    queueDelayMs: {
      p50: ms(percentile(soj, 50)),
      p95: ms(percentile(soj, 95)),
      p99: ms(percentile(soj, 99)),
      max: ms(soj.length > 0 ? soj[soj.length - 1]! : 0),
    },
    drops: bs.tailDrops + bs.aqmDrops + bs.randomLoss,
    ceMarks: bs.ceMarks,
    timeouts: a.tcp.stat.tcps_rexmttimeo,
  };
}
