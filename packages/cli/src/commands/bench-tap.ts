/**
 * `mcstack bench tap`: Linux and a 2-worker mcstack over TAP — the native multi-queue path
 * and the socat path — beside Linux to Linux over a veth pair in the same run, in seeded
 * shuffled rounds: bulk each way on one connection and one per worker, request/response over
 * 100 connections; medians with intervals, and the ratios (the median of the rounds' ratios)
 * with their verdicts. Needs root, /dev/net/tun, ip, python3, koffi (and socat for its path):
 * exit 1 saying which is missing.
 */
import { runTapBench, formatTapBench, type TapBenchReport } from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { ROUNDS_OPTIONS, roundsArgs } from './bench-rounds.js';

export const benchTap = defineCommand<TapBenchReport>({
  path: ['bench', 'tap'],
  summary: 'mcstack over TAP (native queues, socat) beside Linux over veth: bulk each way, rr; the ratios',
  options: [
    ...ROUNDS_OPTIONS,
    {
      name: 'bytes',
      type: 'int',
      arg: 'N',
      help: 'bytes per bulk run (default 67108864: 5 rounds of 64 MiB take about what 3 runs of 128 MiB did)',
    },
    { name: 'seconds', type: 'int', arg: 'S', help: 'seconds of each request/response run (default 2)' },
    { name: 'no-socat', type: 'flag', help: 'leave out the socat path' },
  ],
  run: async (args) => {
    const { repeats, seed } = roundsArgs(args);
    const bytes = args.int('bytes') ?? 64 << 20;
    const rrSeconds = args.int('seconds') ?? 2;
    if (!(bytes > 0)) throw new UsageError('--bytes: must be positive');
    if (!(rrSeconds > 0)) throw new UsageError('--seconds: must be positive');
    return runTapBench({ bytes, rrSeconds, repeats, seed, socat: !args.has('no-socat') });
  },
  human: formatTapBench,
});
