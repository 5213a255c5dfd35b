/**
 * `mcstack bench cc`: the congestion-control study on a modelled bottleneck (@mcstack/bench
 * runCcStudy): N flows per algorithm, each algorithm alone and all mixed; goodput, Jain's
 * fairness index, queueing-delay percentiles, retransmissions, cwnd over time (--plot).
 * On the virtual clock from --seed: the same command prints the same figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { linker } from '@mcstack/netinet';
import {
  formatCcLinux,
  formatCcStudy,
  runCcLinux,
  runCcStudy,
  type CcLinuxReport,
  type CcStudyReport,
} from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';

const AQMS = ['droptail', 'red', 'codel'] as const;

/** The algorithms the engine can run: NewReno and every cc_* module. */
function knownAlgorithms(): string[] {
  return ['newreno', ...linker.available().flatMap((m) => (m.startsWith('cc_') ? [m.slice(3)] : []))];
}

/** `100M`, `1G`, `2.5g`, `500k` or bit/s. */
export function rateOf(text: string | undefined): number {
  if (text === undefined) return 100e6;
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text);
  const mult: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };
  const v = m ? Number(m[1]) * mult[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isFinite(v) || v < 1e3 || v > 100e9)
    throw new UsageError(`--rate: a rate from 1k to 100G bit/s (like 100M), not ${JSON.stringify(text)}`);
  return v;
}

type BenchCcResult = (CcStudyReport & { plot?: string }) | CcLinuxReport;

export const benchCc = defineCommand<BenchCcResult>({
  path: ['bench', 'cc'],
  summary: 'congestion control on a modelled bottleneck: goodput, fairness, queueing delay, cwnd',
  description:
    'N flows per algorithm share a bottleneck (rate, queue, AQM) on the simulator, each algorithm\n' +
    'alone and, with several, all mixed. Goodput over the run after a warm-up of a quarter of it\n' +
    "(at most 5 s), Jain's fairness index, the queue's sojourn-time percentiles, retransmitted\n" +
    'segments, cwnd over time (--plot). Virtual time, seeded: a run repeats exactly.\n' +
    "With --linux ALG[,ALG]: the kernel's ALG against mcstack's CUBIC through a tc tbf bottleneck\n" +
    "in namespaces made for the run (root), the RTT from mcstack's pipe; wall clock (docs/cc.md).",
  options: [
    {
      name: 'algorithms',
      type: 'string',
      arg: 'A,A...',
      help: 'newreno, cubic, htcp, dctcp, vegas, ... (default newreno,cubic)',
    },
    { name: 'flows', type: 'int', arg: 'N', min: 1, max: 64, help: 'flows per algorithm (default 2)' },
    { name: 'rate', type: 'string', arg: 'R', help: 'bottleneck rate in bit/s, k/M/G suffixes (default 100M)' },
    { name: 'rtt', type: 'int', arg: 'MS', min: 1, max: 10_000, help: 'base round-trip time, ms (default 40)' },
    { name: 'queue', type: 'int', arg: 'PKTS', min: 1, max: 100_000, help: 'bottleneck queue, packets (default 100)' },
    { name: 'aqm', type: 'string', arg: 'droptail|red|codel', help: 'queue discipline (default droptail)' },
    {
      name: 'ecn-k',
      type: 'int',
      arg: 'PKTS',
      min: 1,
      max: 100_000,
      help: 'CE-mark above K queued (default queue/4 with dctcp)',
    },
    { name: 'seconds', type: 'int', arg: 'S', min: 1, max: 3600, help: 'virtual seconds per run (default 20)' },
    { name: 'seed', type: 'int', arg: 'N', min: 0, max: 2 ** 31, help: 'seed of the run (default 1)' },
    { name: 'plot', type: 'string', arg: 'FILE.svg', help: 'write cwnd over time as an SVG plot' },
    {
      name: 'linux',
      type: 'string',
      arg: 'ALG,ALG...',
      help: "Linux's cubic, bbr, ... (mcstack: a second mcstack cubic, the control) against mcstack's cubic over TAP and tc tbf (root; default rate 20M, queue 50)",
    },
  ],
  async run(args) {
    const linux = args.str('linux');
    if (linux !== undefined) {
      const algs = linux.split(',').filter(Boolean);
      if (algs.length === 0 || algs.some((a) => !/^[a-z0-9_]+$/.test(a)))
        throw new UsageError('--linux: Linux algorithm names, like cubic,bbr');
      for (const o of ['algorithms', 'flows', 'aqm', 'ecn-k', 'plot'])
        if (args.has(o)) throw new UsageError(`--${o} does not apply with --linux`);
      return runCcLinux({
        linux: algs,
        rateBps: args.str('rate') === undefined ? 20e6 : rateOf(args.str('rate')),
        rttMs: args.int('rtt') ?? 40,
        queuePkts: args.int('queue') ?? 50,
        seconds: args.int('seconds') ?? 20,
        seed: args.int('seed') ?? 1,
      });
    }
    const known = knownAlgorithms();
    const algorithms = (args.str('algorithms') ?? 'newreno,cubic').split(',').filter(Boolean);
    for (const a of algorithms)
      if (!known.includes(a))
        throw new UsageError(`--algorithms: ${JSON.stringify(a)} is not one of ${known.join(', ')}`);
    if (algorithms.length === 0 || new Set(algorithms).size !== algorithms.length)
      throw new UsageError('--algorithms: one or more distinct names');
    const aqm = args.str('aqm') ?? 'droptail';
    if (!(AQMS as readonly string[]).includes(aqm)) throw new UsageError(`--aqm: one of ${AQMS.join(', ')}`);
    const ecnK = args.int('ecn-k');
    const report = runCcStudy({
      algorithms,
      flows: args.int('flows') ?? 2,
      rateBps: rateOf(args.str('rate')),
      rttMs: args.int('rtt') ?? 40,
      queuePkts: args.int('queue') ?? 100,
      aqm: aqm as (typeof AQMS)[number],
      seconds: args.int('seconds') ?? 20,
      seed: args.int('seed') ?? 1,
      ...(ecnK !== undefined ? { ecnK } : {}),
    });
    const plot = args.str('plot');
    if (plot !== undefined) {
      // Loaded here: vega would slow every other command's start.
      const { renderCcSvg } = await import('@mcstack/bench/plot');
      mkdirSync(dirname(plot), { recursive: true });
      writeFileSync(plot, await renderCcSvg(report));
      return { ...report, plot };
    }
    return report;
  },
  human: (r) =>
    'linux' in r.options
      ? formatCcLinux(r as CcLinuxReport)
      : formatCcStudy(r as CcStudyReport) + ('plot' in r && r.plot ? `plot written to ${r.plot}\n` : ''),
});
