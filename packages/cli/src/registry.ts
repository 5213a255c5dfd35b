/**
 * The table of `mcstack` subcommands. To add one:
 *
 *   1. Write `src/commands/<name>.ts` exporting one or more commands built with
 *      `defineCommand` (see command.ts):
 *
 *        import { defineCommand } from '../command.js';
 *        import { UsageError } from '../errors.js';
 *        export const drillRun = defineCommand({
 *          path: ['drill', 'run'],              // mcstack drill run ...
 *          summary: 'one line for the command list',
 *          options: [{ name: 'seed', type: 'int', arg: 'S', help: '...' }],
 *          positionals: [{ name: 'SCRIPT', help: '...' }],
 *          run: async (args) => ({ ... }),      // a JSON-able result: printed by --json
 *          human: (r) => '...',                 // the same result for a terminal
 *        });
 *
 *      `run` reads options through `args.str/int/has/required` and `args.positionals`;
 *      it throws `UsageError('--seed: ...')` for a bad command line (exit 2, one line on
 *      stderr, prefixed `mcstack: drill run: `); any other error exits 1. `--json` and
 *      `--help` are added to every command by the framework; do not declare them (a command
 *      may declare `json` itself to give it a value, as `bench scaling --json FILE`: it then
 *      prints its human output and the framework's JSON flag is off).
 *   2. Import it here and append it to `commands`. Commands sharing a first word form a
 *      group (`mcstack drill --help` lists them). Keep the list sorted by path.
 *
 * Nothing else: main.ts dispatches on this table, and tests can call `main(argv, io)`.
 */
import type { AnyCommand } from './command.js';
import { benchCc } from './commands/bench-cc.js';
import { benchApi } from './commands/bench-api.js';
import { benchToe } from './commands/bench-toe.js';
import { benchRdma } from './commands/bench-rdma.js';
import { benchEngine } from './commands/bench.js';
import { benchCompare } from './commands/bench-compare.js';
import { benchHttp } from './commands/bench-http.js';
import { benchConns } from './commands/bench-conns.js';
import { benchHardening } from './commands/bench-hardening.js';
import { benchScaling } from './commands/bench-scaling.js';
import { benchTap } from './commands/bench-tap.js';
import { benchVnet } from './commands/bench-vnet.js';
import { capture } from './commands/capture.js';
import { dmesg } from './commands/dmesg.js';
import { drill } from './commands/drill.js';
import { ifconfig } from './commands/ifconfig.js';
import { jail, jexec, jls } from './commands/jail.js';
import { kldload, kldstat, kldunload } from './commands/kld.js';
import { rdma } from './commands/rdma.js';
import { netstat } from './commands/netstat.js';
import { route } from './commands/route.js';
import { rssHash, rssSpread } from './commands/rss.js';
import { pfctl } from './commands/pfctl.js';
import { serve } from './commands/serve.js';
import { setfib } from './commands/setfib.js';
import { setkey } from './commands/setkey.js';
import { sockstat } from './commands/sockstat.js';
import { sysctl } from './commands/sysctl.js';
import { vmstat } from './commands/vmstat.js';

export const commands: readonly AnyCommand[] = [
  benchCc,
  benchCompare,
  benchApi,
  benchToe,
  benchRdma,
  benchConns,
  benchEngine,
  benchHttp,
  benchHardening,
  benchScaling,
  benchTap,
  benchVnet,
  capture,
  dmesg,
  drill,
  ifconfig,
  jail,
  jexec,
  jls,
  kldload,
  kldstat,
  kldunload,
  netstat,
  pfctl,
  rdma,
  route,
  rssHash,
  rssSpread,
  serve,
  setfib,
  setkey,
  sockstat,
  sysctl,
  vmstat,
];
