/**
 * `mcstack bench scaling`: the scaling study. For each workload, strategy and worker count
 * (a point), stack A and its peer (stack B, or for crr by default the synthetic peer) joined
 * by an in-memory multi-queue link run the workload after a warm-up, --repeats windows per
 * point, interleaved in rounds shuffled from --seed, the worker threads pinned to --cpus.
 * The report gives each point's median throughput and throughput per busy CPU-second with
 * their intervals, per-thread CPU read from the OS, CPU per unit of work, cross-thread hops
 * per packet and lock waits, the A/A check, and the issue's targets as met / not met /
 * inconclusive. Progress goes to stderr while it runs; --json FILE and --plot FILE.svg
 * write the report and its vega plot.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  formatReport,
  runScaling,
  DEFAULT_SCALING,
  DEFAULT_PEER,
  PEER_KINDS,
  SYNTHETIC_WORKLOADS,
  STRATEGIES,
  WORKLOADS,
  type PeerKind,
  type ScalingReport,
  type Workload,
} from '@mcstack/bench';
import { native } from '@mcstack/runtime';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';

export interface BenchScalingResult extends ScalingReport {
  /** Files written (--json, --plot). */
  files: { json?: string; plot?: string };
}

function list<T extends string>(opt: string, text: string | undefined, allowed: readonly T[], dflt: readonly T[]): T[] {
  if (text === undefined) return [...dflt];
  const out: T[] = [];
  for (const w of text.split(',')) {
    if (!(allowed as readonly string[]).includes(w))
      throw new UsageError(`--${opt}: ${JSON.stringify(w)} is not one of ${allowed.join(', ')}`);
    if (!out.includes(w as T)) out.push(w as T);
  }
  return out;
}

function workersOf(text: string | undefined, max: number): number[] {
  if (text === undefined) return [...DEFAULT_SCALING.workers];
  const out: number[] = [];
  for (const w of text.split(',')) {
    const n = Number(w);
    if (!/^[1-9][0-9]*$/.test(w) || n > max)
      throw new UsageError(`--workers: not a worker count from 1 to ${max}: ${JSON.stringify(w)}`);
    if (!out.includes(n)) out.push(n);
  }
  return out.sort((a, b) => a - b);
}

function secondsOf(opt: string, text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  const s = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(s > 0))
    throw new UsageError(`--${opt}: not a positive number of seconds: ${JSON.stringify(text)}`);
  return s;
}

function repeatsOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SCALING.repeats;
  if (!/^[1-9][0-9]?$/.test(text)) throw new UsageError(`--repeats: not a count from 1 to 99: ${JSON.stringify(text)}`);
  return Number(text);
}

function seedOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SCALING.seed;
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`--seed: not a whole number below 10^9: ${JSON.stringify(text)}`);
  return Number(text);
}

/** --cpus LIST: undefined (every CPU the process may use), null for `none`, else the list. */
function cpusOf(text: string | undefined): number[] | null | undefined {
  if (text === undefined) return undefined;
  if (text === 'none') return null;
  try {
    return native.parseCpuList(text);
  } catch (e) {
    throw new UsageError(`--cpus: ${(e as Error).message} (a list such as 0-1 or 0,2, or none)`);
  }
}

function peerOf(text: string | undefined, workloads: readonly Workload[]): PeerKind | undefined {
  if (text === undefined) return undefined;
  if (!(PEER_KINDS as readonly string[]).includes(text))
    throw new UsageError(`--peer: ${JSON.stringify(text)} is not one of ${PEER_KINDS.join(', ')}`);
  const bad = text === 'synthetic' ? workloads.filter((w) => !SYNTHETIC_WORKLOADS.includes(w)) : [];
  if (bad.length > 0)
    throw new UsageError(
      `--peer synthetic: the synthetic peer plays the echo server of ${SYNTHETIC_WORKLOADS.join(' and ')}, not ${bad.join(', ')}`,
    );
  return text as PeerKind;
}

/** Most workers per stack the study accepts (the link matrix and the reservation table allow more; the machine does not). */
const MAX_WORKERS = 64;

export const benchScaling = defineCommand<BenchScalingResult>({
  path: ['bench', 'scaling'],
  summary:
    'scaling study: a stack and its peer over an in-memory multi-queue link, throughput and per-thread CPU per strategy and worker count',
  description:
    'For each workload, strategy and worker count: stack A of N group workers and its peer (--peer):\n' +
    "stack B of N workers, its CPU counted with A's, or the synthetic peer, one thread answering as\n" +
    'the echo server of rr/crr, its CPU reported apart (default: crr synthetic, bulk and rr stack),\n' +
    'joined by a link that dispatches frames by RSS\n' +
    '(rss-groups), to one worker (single: N=1), or round robin so frames hop to their owner\n' +
    "(unaligned), or, with toe, as rss-groups with A's TOE card (t4_tom) running the client so\n" +
    "every connection is offloaded (stack peer only; the card's thread CPU shown apart; not in the\n" +
    "default list: the default study's time has no room for it). After a warm-up, counts\n" +
    'and per-thread CPU (from /proc) are taken over --seconds.\n' +
    'Workloads: bulk (a connection per worker of the largest count, A sends, B discards), bulk1\n' +
    '(one connection, at one worker only), rr (1000 connections, 1-byte request/response, B\n' +
    'echoes), crr (connect, request/response, close).\n' +
    'Every point is measured --repeats times (fresh stacks, same warm-up each window), the\n' +
    'windows of all points interleaved in rounds shuffled from --seed (the order is printed);\n' +
    "the table gives each point's median and its exact interval, the targets' ratios bootstrap\n" +
    'intervals, and the verdicts are met, not met or inconclusive (the interval spans the\n' +
    'target). A/A: the 1-worker configurations are one system and must agree; when they do not,\n' +
    'or agree only within more than 10%, the run says the machine was too noisy and the verdicts\n' +
    'it cannot carry are inconclusive. The CPU other processes took is measured per window.\n' +
    'Worker threads are pinned one per CPU (sched_setaffinity via koffi) where the OS allows;\n' +
    "the report says whether pinning was on. A measured window in which V8's helper threads took\n" +
    "over 20% of the stacks' CPU (a compile landing after the warm-up) is taken again, at most\n" +
    'twice; the V8 flags of the worker isolates are reported. Progress goes to stderr. "busy CPU" is the CPU the\n' +
    "whole process used in the window, less the synthetic peer's thread where it is the peer.",
  options: [
    {
      name: 'workers',
      type: 'string',
      arg: 'N,N...',
      help: `group workers per stack (default ${DEFAULT_SCALING.workers.join(',')})`,
    },
    {
      name: 'strategies',
      type: 'string',
      arg: 'S,S...',
      help: `of ${STRATEGIES.join(', ')} (default ${DEFAULT_SCALING.strategies.join(',')})`,
    },
    {
      name: 'workload',
      type: 'string',
      arg: 'W,W...',
      help: `of ${WORKLOADS.join(', ')} (default ${DEFAULT_SCALING.workloads.join(',')})`,
    },
    {
      name: 'seconds',
      type: 'string',
      arg: 'S',
      help: `measured window per point (default ${DEFAULT_SCALING.seconds})`,
    },
    {
      name: 'warmup',
      type: 'string',
      arg: 'S',
      help: `shortest unreported warm-up per window (default ${DEFAULT_SCALING.warmupSeconds}; crr at least 2*MSL + 1 s, to a steady TIME-WAIT), then until CPU per unit of work settles, at most twice as long again`,
    },
    {
      name: 'repeats',
      type: 'string',
      arg: 'N',
      help: `windows per point, interleaved in shuffled rounds (default ${DEFAULT_SCALING.repeats})`,
    },
    {
      name: 'seed',
      type: 'string',
      arg: 'S',
      help: `seed of the order and the intervals (default ${DEFAULT_SCALING.seed})`,
    },
    {
      name: 'cpus',
      type: 'string',
      arg: 'LIST|none',
      help: 'pin worker threads one per CPU, round robin over LIST (e.g. 0-1; default: every CPU the process may use)',
    },
    {
      name: 'peer',
      type: 'string',
      arg: 'stack|synthetic',
      help: `A's peer for every workload (default ${WORKLOADS.map((w) => `${w} ${DEFAULT_PEER[w]}`).join(', ')}; synthetic: ${SYNTHETIC_WORKLOADS.join(', ')} only)`,
    },
    { name: 'json', type: 'string', arg: 'FILE', help: 'also write the report as JSON to FILE' },
    {
      name: 'plot',
      type: 'string',
      arg: 'FILE.svg',
      help: 'draw throughput and throughput per busy CPU-second vs workers (vega-lite) to FILE',
    },
    { name: 'quiet', type: 'flag', help: 'no progress on stderr' },
    {
      name: 'offload',
      type: 'flag',
      help: 'both stacks with checksum offload, TSO and LRO on (stack peer only); off: none',
    },
    {
      name: 'flow-control',
      type: 'string',
      arg: 'on|off',
      help: '802.3x flow control on the link (cxgbe0 mediaopt rxpause,txpause; default on); off: a full ring drops',
    },
    {
      name: 'concurrent-recompilation',
      type: 'string',
      arg: 'on|off',
      help: "V8 optimises the worker isolates' code on background threads (default on, V8's own; off: on the worker's thread, docs/scaling-noise.md)",
    },
  ],
  async run(args) {
    const workers = workersOf(args.str('workers'), MAX_WORKERS);
    const strategies = list('strategies', args.str('strategies'), STRATEGIES, DEFAULT_SCALING.strategies);
    const workloads = list<Workload>('workload', args.str('workload'), WORKLOADS, DEFAULT_SCALING.workloads);
    const seconds = secondsOf('seconds', args.str('seconds'), DEFAULT_SCALING.seconds);
    const warmupSeconds = secondsOf('warmup', args.str('warmup'), DEFAULT_SCALING.warmupSeconds);
    const peer = peerOf(args.str('peer'), workloads);
    const noCard = workloads.find((w) => (peer ?? DEFAULT_PEER[w]) !== 'stack');
    if (args.has('offload') && noCard !== undefined)
      throw new UsageError(`--offload: offloads need the stack peer (${noCard} runs against the synthetic peer)`);
    // The card matches its TIDs on the link between two stacks: toe needs the stack peer.
    if (strategies.includes('toe') && noCard !== undefined)
      throw new UsageError(
        `--strategies toe: the card needs the stack peer (${noCard} runs against the synthetic peer)`,
      );
    const repeats = repeatsOf(args.str('repeats'));
    const seed = seedOf(args.str('seed'));
    const cpus = cpusOf(args.str('cpus'));
    const jsonFile = args.str('json');
    const plotFile = args.str('plot');
    const quiet = args.has('quiet');
    const fc = args.str('flow-control');
    if (fc !== undefined && fc !== 'on' && fc !== 'off')
      throw new UsageError(`--flow-control: ${JSON.stringify(fc)} is not on or off`);
    const cr = args.str('concurrent-recompilation');
    if (cr !== undefined && cr !== 'on' && cr !== 'off')
      throw new UsageError(`--concurrent-recompilation: ${JSON.stringify(cr)} is not on or off`);
    const report = await runScaling({
      workers,
      strategies,
      workloads,
      seconds,
      warmupSeconds,
      repeats,
      seed,
      ...(cpus !== undefined ? { cpus } : {}),
      ...(peer ? { peer } : {}),
      ...(args.has('offload') ? { offload: true } : {}),
      ...(fc === 'off' ? { flowControl: false } : {}),
      ...(cr === 'off' ? { concurrentRecompilation: false } : {}),
      onProgress: quiet
        ? undefined
        : (line) => {
            process.stderr.write(`[scaling] ${line}\n`);
          },
    });
    const files: BenchScalingResult['files'] = {};
    // bench/results/ is not in the repository: make the folder on a fresh clone.
    const write = (file: string, text: string) => {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
    };
    if (plotFile !== undefined) {
      // Loaded here: vega would slow every other command's start.
      const { renderScalingSvg } = await import('@mcstack/bench/plot');
      write(plotFile, await renderScalingSvg(report));
      files.plot = plotFile;
    }
    if (jsonFile !== undefined) {
      write(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
      files.json = jsonFile;
    }
    return { ...report, files };
  },
  human: (r) =>
    formatReport(r) +
    (r.files.json ? `report written to ${r.files.json}\n` : '') +
    (r.files.plot ? `plot written to ${r.files.plot}\n` : ''),
});
