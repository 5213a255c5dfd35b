/**
 * `mcstack bench api`: node:net over the Linux loopback against mcstack's node:net-like
 * API over two stacks joined in memory, both on the main thread, in one run: bulk,
 * 1-byte request/response on 1 and 100 connections, 10,000 16-byte noDelay writes echoed,
 * pipelined ws messages; each ratio against its target (@mcstack/bench api.ts).
 */
import { runApiBench, formatApiBench, API_WORKLOADS, type ApiBenchReport, type ApiWorkload } from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { ROUNDS_OPTIONS, roundsArgs } from './bench-rounds.js';

export const benchApi = defineCommand<ApiBenchReport>({
  path: ['bench', 'api'],
  summary: 'node:net over the loopback vs mcstack over two stacks in memory: bulk, rr1, rr100, writes, ws',
  options: [
    ...ROUNDS_OPTIONS,
    { name: 'bytes', type: 'int', arg: 'N', help: 'bytes of the bulk transfer (default 268435456)' },
    { name: 'seconds', type: 'int', arg: 'S', help: 'seconds of each request/response run (default 2)' },
    { name: 'messages', type: 'int', arg: 'N', help: 'messages of the ws run (default 20000)' },
    {
      name: 'workloads',
      type: 'string',
      arg: 'LIST',
      help: `comma-separated, of ${API_WORKLOADS.join(',')} (default all)`,
    },
    {
      name: 'offload',
      type: 'flag',
      help: 'both stacks with checksum offload, TSO and LRO on, as the loopback has them; off: none',
    },
  ],
  run: async (args) => {
    const { repeats, seed } = roundsArgs(args);
    const bulkBytes = args.int('bytes') ?? 256 << 20;
    const seconds = args.int('seconds') ?? 2;
    const wsMessages = args.int('messages') ?? 20_000;
    if (!(bulkBytes > 0)) throw new UsageError('--bytes: must be positive');
    if (!(seconds > 0)) throw new UsageError('--seconds: must be positive');
    const workloads = (args.str('workloads') ?? API_WORKLOADS.join(',')).split(',').filter(Boolean);
    if (!(wsMessages > 0)) throw new UsageError('--messages: must be positive');
    for (const w of workloads)
      if (!(API_WORKLOADS as string[]).includes(w))
        throw new UsageError(`--workloads: no workload ${w} (${API_WORKLOADS.join(', ')})`);
    if (workloads.length === 0) throw new UsageError('--workloads: none given');
    return runApiBench({
      bulkBytes,
      seconds,
      wsMessages,
      repeats,
      seed,
      workloads: workloads as ApiWorkload[],
      offload: args.has('offload'),
    });
  },
  human: formatApiBench,
});
