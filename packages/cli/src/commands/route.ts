/**
 * `mcstack route [-n] [-F fib] add|change|delete|get|show ...` as FreeBSD's route(8), over
 * the daemon's stack: add, change and delete change every worker's table (the same in
 * each) and the TOE card's copy (Stack.route), get and show print worker 0's answer. The words are parsed here first (a bad command line is exit
 * 2) and again in each worker, which owns the tables.
 */
import { formatRouteGet, parseRouteArgs, type RouteResult } from '@mcstack/netinet/tools';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { SOCKET_OPTION, WORDS, callDaemon } from '../daemon/call.js';
import { processFib } from '../procfib.js';

export const route = defineCommand<RouteResult>({
  path: ['route'],
  summary: "change or look up the daemon's routing tables (FreeBSD route)",
  description:
    'usage: mcstack route [-n] [-F fib] add [-net|-host] [-inet|-inet6] DEST GATEWAY|-interface IF [-mtu N] [-fib N]\n' +
    '       mcstack route [-n] [-F fib] change [-inet|-inet6] DEST [GATEWAY|-interface IF] [-mtu N] [-fib N]\n' +
    '       mcstack route [-n] [-F fib] delete [-inet|-inet6] DEST [-fib N]\n' +
    '       mcstack route [-n] [-F fib] get|show [-inet|-inet6] DEST [-fib N]',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    // The process FIB (setfib) first: a -F or -fib given later overrides it, as route.c's defaultfib.
    const fib = processFib();
    const argv = fib !== 0 ? ['-F', String(fib), ...args.positionals] : [...args.positionals];
    try {
      parseRouteArgs(argv);
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/^route EINVAL: /, ''));
    }
    return callDaemon(args, (api) => api.route(argv));
  },
  human: (r) => (r.cmd === 'get' ? formatRouteGet(r) : `${r.message}\n`),
});
