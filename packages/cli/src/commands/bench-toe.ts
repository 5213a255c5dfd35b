/**
 * `mcstack bench toe`: bulk and 1-byte request/response through @mcstack/api with TCP
 * offload off and on, in seeded shuffled rounds: throughput, host (group workers) and card
 * CPU time per GB and per transaction, live handoffs per second, each a median with its
 * interval, and the targets' verdicts (@mcstack/bench toe.ts); --plot FILE.svg draws them
 * (toe-plot.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runToeBench, formatToeBench, type ToeBenchReport } from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { ROUNDS_OPTIONS, roundsArgs } from './bench-rounds.js';

export const benchToe = defineCommand<ToeBenchReport & { plot?: string }>({
  path: ['bench', 'toe'],
  summary: 'TCP offload off vs on over two stacks in memory: bulk and rr, throughput, host and card CPU',
  options: [
    ...ROUNDS_OPTIONS,
    {
      name: 'bytes',
      type: 'int',
      arg: 'N',
      help: 'bytes of each bulk transfer (default 33554432: 5 rounds of 32 MiB take about what 3 runs of 64 MiB did)',
    },
    { name: 'seconds', type: 'int', arg: 'S', help: 'seconds of each request/response and handoff run (default 1)' },
    {
      name: 'plot',
      type: 'string',
      arg: 'FILE.svg',
      help: 'draw off vs on per workload and measure (vega-lite) to FILE',
    },
  ],
  run: async (args) => {
    const { repeats, seed } = roundsArgs(args);
    const bulkBytes = args.int('bytes') ?? 32 << 20;
    const seconds = args.int('seconds') ?? 1;
    if (!(bulkBytes > 0)) throw new UsageError('--bytes: must be positive');
    if (!(seconds > 0)) throw new UsageError('--seconds: must be positive');
    const plot = args.str('plot');
    const report = await runToeBench({ bulkBytes, seconds, repeats, seed });
    if (plot === undefined) return report;
    // Loaded here: vega would slow every other command's start.
    const { renderToeSvg } = await import('@mcstack/bench/plot');
    mkdirSync(dirname(plot), { recursive: true });
    writeFileSync(plot, await renderToeSvg(report));
    return { ...report, plot };
  },
  human: (r) => formatToeBench(r) + (r.plot !== undefined ? `plot written to ${r.plot}\n` : ''),
});
