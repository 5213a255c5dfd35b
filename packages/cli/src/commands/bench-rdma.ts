/**
 * `mcstack bench rdma`: RDMA Write and Send throughput and small-message latency between
 * two stacks' cards (iWARP, docs/rdma.md) beside TCP on the same offloaded path, with the
 * CPU time of the hosts, the cards and the main thread, in seeded shuffled rounds: medians
 * with intervals, RDMA over TCP as the median of the rounds' ratios (@mcstack/bench rdma.ts).
 */
import { runRdmaBench, formatRdmaBench, type RdmaBenchReport } from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { ROUNDS_OPTIONS, roundsArgs } from './bench-rounds.js';

export const benchRdma = defineCommand<RdmaBenchReport>({
  path: ['bench', 'rdma'],
  summary: 'iWARP on the cards vs TCP on the same offloaded path: throughput, latency, host and card CPU',
  options: [
    ...ROUNDS_OPTIONS,
    {
      name: 'bytes',
      type: 'int',
      arg: 'N',
      help: 'bytes of each bulk run (default 33554432: 5 rounds of 32 MiB take about what 3 runs of 64 MiB did)',
    },
    { name: 'seconds', type: 'int', arg: 'S', help: 'seconds of each latency run (default 1)' },
  ],
  run: async (args) => {
    const { repeats, seed } = roundsArgs(args);
    const bytes = args.int('bytes') ?? 32 << 20;
    const seconds = args.int('seconds') ?? 1;
    if (!(bytes > 0)) throw new UsageError('--bytes: must be positive');
    if (!(seconds > 0)) throw new UsageError('--seconds: must be positive');
    return await runRdmaBench({ bytes, seconds, repeats, seed });
  },
  human: (r) => formatRdmaBench(r),
});
