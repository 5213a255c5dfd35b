/**
 * `mcstack bench http`: wrk from the Linux kernel in a namespace against http-lite and
 * node:http served by mcstack over TAP, beside the same node:http on the kernel, in one
 * run: requests/s and latency percentiles per body size and connection count, and the
 * targets met or not. Needs root, /dev/net/tun, socat, ip and wrk (exit 1 saying which is
 * missing).
 */
import { runHttpBench, formatHttpBench, type HttpBenchReport } from '@mcstack/bench';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';

function counts(opt: string, text: string | undefined, dflt: number[], min: number, max: number): number[] {
  if (text === undefined) return dflt;
  const out: number[] = [];
  for (const w of text.split(',')) {
    const n = Number(w);
    if (!/^\d+$/.test(w) || n < min || n > max)
      throw new UsageError(`--${opt}: not a whole number from ${min} to ${max}: ${JSON.stringify(w)}`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

export const benchHttp = defineCommand<HttpBenchReport>({
  path: ['bench', 'http'],
  summary: 'wrk against http-lite and node:http over mcstack (native TAP) beside node:http on Linux: req/s, latency',
  description:
    'wrk -t1 --latency runs inside a network namespace the bench makes (and deletes); mcstack\n' +
    'reaches it through a TAP device: the native multi-queue TAP (a queue per worker), or\n' +
    'socat where the native layer cannot be loaded or --socat asks for it; the report says\n' +
    'which. Each round measures every point once in an order shuffled from --seed, so\n' +
    'drift touches all three servers alike; with --runs K each point reports medians,\n' +
    "95% intervals of req/s and of its ratio to the kernel's node:http. Targets: http-lite\n" +
    'at least node:http on Linux at 50 connections for 0 and 128-byte bodies; no p99\n' +
    'above 10 ms; and, per point, whether the tail is a stall: p99 within 10 ms of the\n' +
    'throughput-bound time c / req/s.',
  options: [
    { name: 'seconds', type: 'int', arg: 'S', min: 1, max: 3600, help: 'wrk duration per point (default 3)' },
    { name: 'workers', type: 'int', arg: 'N', min: 1, max: 64, help: "mcstack's group workers (default 2)" },
    {
      name: 'runs',
      type: 'int',
      arg: 'N',
      min: 1,
      max: 100,
      help: 'rounds of the sweep, each in a seeded shuffled order; medians and 95% intervals (default 1)',
    },
    { name: 'seed', type: 'int', arg: 'N', min: 0, max: 2 ** 31 - 1, help: "seed of the rounds' order (default 1)" },
    {
      name: 'sizes',
      type: 'string',
      arg: 'B,B...',
      help: 'body sizes in bytes, at most 1 MiB (default 0,128,16384,1048576)',
    },
    { name: 'connections', type: 'string', arg: 'C,C...', help: 'wrk connections per point (default 1,50)' },
    { name: 'socat', type: 'flag', help: 'the single-queue socat TAP instead of the native multi-queue one' },
    { name: 'quiet', type: 'flag', help: 'no progress on stderr' },
  ],
  run: async (args) => {
    const quiet = args.has('quiet');
    return runHttpBench({
      seconds: args.int('seconds') ?? 3,
      workers: args.int('workers') ?? 2,
      runs: args.int('runs') ?? 1,
      seed: args.int('seed') ?? 1,
      sizes: counts('sizes', args.str('sizes'), [0, 128, 16384, 1 << 20], 0, 1 << 20),
      connections: counts('connections', args.str('connections'), [1, 50], 1, 10000),
      queues: args.has('socat') ? 'single' : 'per-worker',
      log: quiet ? undefined : (line) => process.stderr.write(`[http] ${line}\n`),
    });
  },
  human: formatHttpBench,
});
