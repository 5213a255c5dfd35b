/**
 * `mcstack bench engine`: bulk TCP between two engines in this one thread over the
 * simulator's virtual wire (no faults), MTU 1500 with timestamps (MSS 1448 over
 * IPv4), checksums computed in software on both ends (no interface offload), data
 * copied into and out of socket buffers by a poll-driven application loop. Reports
 * goodput (application bytes per wall second), data segments per wall second
 * (tcpstat tcps_sndpack of the sender), the virtual time the transfer took, and
 * the engine target from the issue (3 Gbit/s).
 *
 * Unreported warm-up transfers run first (16 of up to 8 MiB): a cold run measures
 * V8's tiering up (interpreter, then optimizing compilers) as much as the stack.
 */
import { runBulk } from '@mcstack/netinet/sim';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';

/** Goodput the engine must reach (docs/architecture.md, "Targets"). */
export const ENGINE_TARGET_GBPS = 3;
const DEFAULT_BYTES = 64 << 20;
/** A single 64 MiB transfer takes ~0.15 s: over a second the figure is steadier. */
const DEFAULT_SECONDS = 1;
const WARMUP_BYTES = 8 << 20;
const WARMUP_RUNS = 16;

export interface BenchEngineResult {
  family: 'inet' | 'inet6';
  /** Bytes per transfer, transfers run, and their sum. */
  bytes: number;
  runs: number;
  totalBytes: number;
  /** Bytes moved by the unreported warm-up transfers first. */
  warmupBytes: number;
  /** Wall time of the measured transfers (s), excluding the warm-up. */
  wallSeconds: number;
  goodputGbps: number;
  /** Data segments the sender sent (tcps_sndpack) per wall second. */
  segmentsPerSecond: number;
  segments: number;
  /** Virtual time from connect to the last byte read, summed over the runs (µs). */
  virtualUs: number;
  checksums: 'software';
  targetGbps: number;
  met: boolean;
  /** With --offload: the same transfers under each interface offload, in one run. */
  offload?: OffloadRow[];
}

/** One offload setting of `bench engine --offload`, measured beside the others. */
export interface OffloadRow {
  name: string;
  goodputGbps: number;
  segmentsPerSecond: number;
  /** Goodput against no offload: the median over rounds, and the rounds' range. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  rounds: number;
  /** TSO segments cut by the card, and segments LRO merged. */
  tsoWrs: number;
  lroQueued: number;
}

/** Rounds of --offload at least, so each ratio has a spread to show. */
const MIN_ROUNDS = 5;

/** The offload settings compared: none, then each alone on top of checksums, then all. */
const OFFLOADS: { name: string; csum: boolean; tso: boolean; lro: boolean }[] = [
  { name: 'none', csum: false, tso: false, lro: false },
  { name: 'csum', csum: true, tso: false, lro: false },
  { name: 'csum+tso', csum: true, tso: true, lro: false },
  { name: 'csum+lro', csum: true, tso: false, lro: true },
  { name: 'csum+tso+lro', csum: true, tso: true, lro: true },
];

function secondsOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SECONDS;
  const s = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(s))
    throw new UsageError(`--seconds: not a number of seconds: ${JSON.stringify(text)}`);
  return s;
}

export const benchEngine = defineCommand<BenchEngineResult>({
  path: ['bench', 'engine'],
  summary: 'bulk TCP between two engines in one thread over the virtual wire: goodput vs the 3 Gbit/s target',
  description:
    'Software checksums on both ends (no offload), MTU 1500, timestamps on (MSS 1448 over IPv4).\n' +
    'After unreported warm-up transfers, transfers of --bytes repeat until --seconds have passed\n' +
    '(at least one). Goodput is application bytes per wall second; segments/s counts the data\n' +
    'segments the sender sent (tcpstat tcps_sndpack). --offload then runs the same transfers with\n' +
    'checksum offload, TSO and LRO (each on top of checksums, and all) in interleaved rounds and\n' +
    'reports each one against none: the median of the per-round ratios and their range.',
  options: [
    {
      name: 'bytes',
      type: 'int',
      arg: 'N',
      min: 1,
      max: 2 ** 40,
      help: `bytes per transfer (default ${DEFAULT_BYTES})`,
    },
    {
      name: 'seconds',
      type: 'string',
      arg: 'S',
      help: `repeat transfers for at least S seconds of wall time, at least one (default ${DEFAULT_SECONDS})`,
    },
    { name: 'family', type: 'string', arg: 'inet|inet6', help: 'address family (default inet)' },
    {
      name: 'offload',
      type: 'flag',
      help: "also run with checksum offload, TSO and LRO (each, and all), rounds interleaved: each one's saving",
    },
  ],
  run(args) {
    const bytes = args.int('bytes') ?? DEFAULT_BYTES;
    const seconds = secondsOf(args.str('seconds'));
    const fam = args.str('family') ?? 'inet';
    if (fam !== 'inet' && fam !== 'inet6') throw new UsageError(`--family: inet or inet6, not ${JSON.stringify(fam)}`);
    const family: 'inet' | 'inet6' = fam;

    const transfer = (n: number) => {
      const r = runBulk({ seed: 1, bytes: n, verify: false, family });
      if (!r.ok) throw new Error(`bulk transfer failed: ${r.reason}`);
      return r;
    };
    const warm = Math.min(bytes, WARMUP_BYTES);
    for (let i = 0; i < WARMUP_RUNS; i++) transfer(warm);

    let runs = 0;
    let segments = 0;
    let virtualUs = 0;
    let wallMs = 0;
    do {
      const t0 = performance.now();
      const r = transfer(bytes);
      wallMs += performance.now() - t0;
      runs++;
      segments += r.tcpstat.client.tcps_sndpack;
      virtualUs += r.transferUs;
    } while (wallMs < seconds * 1000);

    const offload = args.has('offload') ? offloadRows(bytes, seconds, family) : undefined;
    const totalBytes = bytes * runs;
    const wallSeconds = wallMs / 1000;
    const goodputGbps = (totalBytes * 8) / wallSeconds / 1e9;
    return {
      family,
      bytes,
      runs,
      totalBytes,
      warmupBytes: warm * WARMUP_RUNS,
      wallSeconds,
      goodputGbps,
      segmentsPerSecond: segments / wallSeconds,
      segments,
      virtualUs,
      checksums: 'software',
      targetGbps: ENGINE_TARGET_GBPS,
      met: goodputGbps >= ENGINE_TARGET_GBPS,
      offload,
    };
  },
  human: (r) =>
    [
      `engine bulk TCP (${r.family}, software checksums): ${r.runs} x ${r.bytes} bytes in ${r.wallSeconds.toFixed(3)} s wall`,
      `goodput     ${r.goodputGbps.toFixed(3)} Gbit/s`,
      `segments/s  ${(r.segmentsPerSecond / 1e6).toFixed(3)} M (${r.segments} data segments)`,
      `virtual     ${r.virtualUs} µs`,
      `target      ${r.targetGbps} Gbit/s: ${r.met ? 'met' : 'not met'}`,
      ...(r.offload
        ? [
            '',
            `offload (${r.offload[0]?.rounds ?? 0} interleaved rounds; vs none: median ratio per round, [min, max])`,
            'setting        Gbit/s   Mseg/s   vs none  [min, max]     tso_wrs   lro_queued',
            ...r.offload.map(
              (o) =>
                `${o.name.padEnd(14)} ${o.goodputGbps.toFixed(3).padStart(6)}  ${(o.segmentsPerSecond / 1e6).toFixed(3).padStart(7)}  ${o.ratio.toFixed(2).padStart(6)}x  [${o.ratioMin.toFixed(2)}, ${o.ratioMax.toFixed(2)}]  ${String(o.tsoWrs).padStart(7)}  ${String(o.lroQueued).padStart(11)}`,
            ),
          ]
        : []),
    ].join('\n'),
});

/**
 * Each offload setting for `seconds` of wall time in all, in rounds that take every
 * setting in turn (so a change of machine load falls on all of them alike).
 */
function offloadRows(bytes: number, seconds: number, family: 'inet' | 'inet6'): OffloadRow[] {
  const acc = OFFLOADS.map(() => ({ ms: 0, bytes: 0, segs: 0, tso: 0, lro: 0 }));
  /** Goodput against none, one sample per round (the settings of a round run back to back). */
  const ratios: number[][] = OFFLOADS.map(() => []);
  const one = (k: number): number => {
    const o = OFFLOADS[k]!;
    const t0 = performance.now();
    const r = runBulk({ seed: 1, bytes, verify: false, family, csumOffload: o.csum, tso: o.tso, lro: o.lro });
    const ms = performance.now() - t0;
    if (!r.ok) throw new Error(`bulk transfer (${o.name}) failed: ${r.reason}`);
    const a = acc[k]!;
    a.ms += ms;
    a.bytes += bytes;
    a.segs += r.tcpstat.client.tcps_sndpack;
    a.tso += r.offload.tsoWrs;
    a.lro += r.offload.lro.lro_queued;
    return ms;
  };
  for (let k = 0; k < OFFLOADS.length; k++) one(k); // warm each path
  for (const a of acc) Object.assign(a, { ms: 0, bytes: 0, segs: 0, tso: 0, lro: 0 });
  const t0 = performance.now();
  let rounds = 0;
  do {
    const ms = OFFLOADS.map((_, k) => one(k));
    for (let k = 0; k < OFFLOADS.length; k++) ratios[k]!.push(ms[0]! / ms[k]!);
    rounds++;
  } while (rounds < MIN_ROUNDS || performance.now() - t0 < seconds * 1000 * OFFLOADS.length);
  return OFFLOADS.map((o, k) => {
    const a = acc[k]!;
    const r = ratios[k]!.slice().sort((x, y) => x - y);
    return {
      name: o.name,
      goodputGbps: (a.bytes * 8) / (a.ms / 1000) / 1e9,
      segmentsPerSecond: a.segs / (a.ms / 1000),
      ratio: r[r.length >> 1]!,
      ratioMin: r[0]!,
      ratioMax: r[r.length - 1]!,
      rounds,
      tsoWrs: a.tso,
      lroQueued: a.lro,
    };
  });
}
