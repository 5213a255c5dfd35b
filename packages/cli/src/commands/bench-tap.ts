/**
 * `mcstack bench tap`: Linux and a 2-worker mcstack over TAP — the native multi-queue path
 * and the socat path — beside Linux to Linux over a veth pair in the same run: bulk each
 * way on one connection and one per worker, request/response over 100 connections; the
 * ratios are the figures. Needs root, /dev/net/tun, ip, python3, koffi (and socat for its
 * path): exit 1 saying which is missing.
 */
import { runTapBench, formatTapBench, type TapBenchReport } from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';

export const benchTap = defineCommand<TapBenchReport>({
  path: ['bench', 'tap'],
  summary: 'mcstack over TAP (native queues, socat) beside Linux over veth: bulk each way, rr; the ratios',
  options: [
    { name: 'bytes', type: 'int', arg: 'N', help: 'bytes per bulk run (default 134217728)' },
    { name: 'runs', type: 'int', arg: 'N', help: 'runs per path; the best counts (default 3)' },
    { name: 'no-socat', type: 'flag', help: 'leave out the socat path' },
  ],
  run: async (args) => {
    const bytes = args.int('bytes') ?? 128 << 20;
    const runs = args.int('runs') ?? 3;
    if (!(bytes > 0)) throw new UsageError('--bytes: must be positive');
    if (!(runs > 0)) throw new UsageError('--runs: must be positive');
    return runTapBench({ bytes, runs, socat: !args.has('no-socat') });
  },
  human: formatTapBench,
});
