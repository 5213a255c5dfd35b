/**
 * `mcstack bench tap`: the Linux kernel as a bulk TCP client of mcstack over TAP, beside
 * Linux to Linux over a veth pair in the same run (one connection each); the ratio is the
 * figure. Needs root, /dev/net/tun, socat, ip and python3 (exit 1 saying which is missing).
 */
import { runTapBench, formatTapBench, type TapBenchReport } from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';

export const benchTap = defineCommand<TapBenchReport>({
  path: ['bench', 'tap'],
  summary: 'Linux → mcstack over TAP beside Linux → Linux over veth: bulk TCP, one connection, the ratio',
  options: [
    { name: 'bytes', type: 'int', arg: 'N', help: 'bytes per transfer (default 268435456)' },
    { name: 'runs', type: 'int', arg: 'N', help: 'runs per path; the best counts (default 3)' },
  ],
  run: async (args) => {
    const bytes = args.int('bytes') ?? 256 << 20;
    const runs = args.int('runs') ?? 3;
    if (!(bytes > 0)) throw new UsageError('--bytes: must be positive');
    if (!(runs > 0)) throw new UsageError('--runs: must be positive');
    return runTapBench({ bytes, runs });
  },
  human: formatTapBench,
});
