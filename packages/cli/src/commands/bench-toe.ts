/**
 * `mcstack bench toe`: bulk and 1-byte request/response through @mcstack/api with TCP
 * offload off and on, in one run: throughput, host (group workers) and card CPU time per
 * GB and per transaction (@mcstack/bench toe.ts).
 */
import { runToeBench, formatToeBench, type ToeBenchReport } from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';

export const benchToe = defineCommand<ToeBenchReport>({
  path: ['bench', 'toe'],
  summary: 'TCP offload off vs on over two stacks in memory: bulk and rr, throughput, host and card CPU',
  options: [
    { name: 'bytes', type: 'int', arg: 'N', help: 'bytes of each bulk transfer (default 67108864)' },
    { name: 'seconds', type: 'int', arg: 'S', help: 'seconds of each request/response run (default 2)' },
    { name: 'repeats', type: 'int', arg: 'N', help: 'runs per workload and mode (default 3)' },
  ],
  run: async (args) => {
    const bulkBytes = args.int('bytes') ?? 64 << 20;
    const seconds = args.int('seconds') ?? 2;
    const repeats = args.int('repeats') ?? 3;
    if (!(bulkBytes > 0)) throw new UsageError('--bytes: must be positive');
    if (!(seconds > 0)) throw new UsageError('--seconds: must be positive');
    if (!(repeats > 0)) throw new UsageError('--repeats: must be positive');
    return runToeBench({ bulkBytes, seconds, repeats });
  },
  human: formatToeBench,
});
