/**
 * `mcstack bench compare A.json B.json`: two runs of a study, point by point. Each point
 * both runs have: the medians of its windows in A and in B, the ratio B/A with its
 * bootstrap interval, and whether the difference is within noise (the interval holds 1) or
 * B is faster or slower. Reads any study JSON whose points carry a key and per-window
 * samples (bench/src/studyfile.ts): what `bench scaling`, `api`, `toe`, `rdma` and `tap`
 * write with --json, and `bench http`'s report from its rounds.
 */
import { readFileSync } from 'node:fs';
import {
  compareReports,
  formatComparison,
  studySamples,
  DEFAULT_LEVEL,
  type Comparison,
  type Difference,
  type PointSamples,
} from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';

export interface BenchCompareResult {
  a: string;
  b: string;
  figure: string;
  better: 'higher' | 'lower';
  seed: number;
  comparison: Comparison;
  /** How many points fell each way. */
  counts: Record<Difference, number>;
}

function load(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw Object.assign(new Error(`${what} ${file}: ${(e as Error).message}`), { code: (e as { code?: string }).code });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} ${file}: not JSON (${(e as Error).message})`);
  }
}

export const benchCompare = defineCommand<BenchCompareResult>({
  path: ['bench', 'compare'],
  summary: 'compare two runs of a study point by point: median ratio B/A with its interval, or within noise',
  description:
    'A and B are reports of one bench (--json of bench scaling, api, toe, rdma, tap or http, or any\n' +
    'JSON whose points carry a key and per-window samples: {"points": [{"key": ..., "samples":\n' +
    '{"throughput": [...]}}]}; bench http is read from its rounds under "all"). For every\n' +
    'point in both: the median of its windows in A and in B, the ratio B/A of the medians with a\n' +
    `${DEFAULT_LEVEL * 100}% percentile-bootstrap interval (seeded), and 'within noise' when the interval holds 1,\n` +
    "else B 'faster' or 'slower' (--better lower for a cost). Points only one report has are listed.",
  positionals: [
    { name: 'A.json', help: 'the baseline report' },
    { name: 'B.json', help: 'the report compared with it' },
  ],
  options: [
    {
      name: 'figure',
      type: 'string',
      arg: 'NAME',
      help:
        'which per-window figure to compare (default throughput; scaling also has perCpuSecond, busyCpuSeconds; ' +
        'toe and rdma hostCpuPerUnit, cardCpuPerUnit, mainCpuPerUnit; http p99Us, meanUs, cpuUsPerReq)',
    },
    { name: 'better', type: 'string', arg: 'higher|lower', help: 'which way is faster (default higher)' },
    { name: 'seed', type: 'int', arg: 'S', min: 0, max: 2 ** 31 - 1, help: 'seed of the bootstrap (default 1)' },
  ],
  run(args) {
    const [fa, fb] = args.positionals;
    if (fa === undefined || fb === undefined) throw new UsageError('needs two reports: A.json B.json');
    if (args.positionals.length > 2)
      throw new UsageError(`one baseline and one report, not ${args.positionals.length}`);
    const figure = args.str('figure') ?? 'throughput';
    const better = args.str('better') ?? 'higher';
    if (better !== 'higher' && better !== 'lower')
      throw new UsageError(`--better: higher or lower, not ${JSON.stringify(better)}`);
    const seed = args.int('seed') ?? 1;
    let sa: PointSamples[], sb: PointSamples[];
    try {
      sa = studySamples(load(fa, 'A'), figure, `A (${fa})`);
      sb = studySamples(load(fb, 'B'), figure, `B (${fb})`);
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
    const comparison = compareReports(sa, sb, { seed, better });
    const counts: Record<Difference, number> = { 'within noise': 0, faster: 0, slower: 0 };
    for (const p of comparison.points) counts[p.result]++;
    return { a: fa, b: fb, figure, better, seed, comparison, counts };
  },
  human: (r) =>
    `${r.figure}: B = ${r.b} against A = ${r.a} (${r.better} is better; bootstrap seed ${r.seed})\n` +
    formatComparison(r.comparison) +
    `${r.comparison.points.length} point${r.comparison.points.length === 1 ? '' : 's'}: ` +
    `${r.counts.faster} faster, ${r.counts.slower} slower, ${r.counts['within noise']} within noise` +
    (r.comparison.points.length > 1
      ? ` (each at ${Math.round(r.comparison.level * 100)}%: about 1 unchanged point in ${Math.round(1 / (1 - r.comparison.level))} shows a difference by chance)`
      : '') +
    '\n',
});
