/**
 * `mcstack bench rdma`: RDMA Write and Send throughput and small-message latency between
 * two stacks' cards (iWARP, docs/rdma.md) beside TCP on the same offloaded path, with the
 * CPU time of the hosts, the cards and the main thread (@mcstack/bench rdma.ts).
 */
import { runRdmaBench, formatRdmaBench, type RdmaBenchReport } from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';

export const benchRdma = defineCommand<RdmaBenchReport>({
  path: ['bench', 'rdma'],
  summary: 'iWARP on the cards vs TCP on the same offloaded path: throughput, latency, host and card CPU',
  options: [
    { name: 'bytes', type: 'int', arg: 'N', help: 'bytes of each bulk run (default 67108864)' },
    { name: 'seconds', type: 'int', arg: 'S', help: 'seconds of each latency run (default 2)' },
    { name: 'repeats', type: 'int', arg: 'N', help: 'runs per workload (default 3)' },
  ],
  run: async (args) => {
    const bytes = args.int('bytes') ?? 64 << 20;
    const seconds = args.int('seconds') ?? 2;
    const repeats = args.int('repeats') ?? 3;
    if (!(bytes > 0)) throw new UsageError('--bytes: must be positive');
    if (!(seconds > 0)) throw new UsageError('--seconds: must be positive');
    if (!(repeats > 0)) throw new UsageError('--repeats: must be positive');
    return await runRdmaBench({ bytes, seconds, repeats });
  },
  human: (r) => formatRdmaBench(r),
});
