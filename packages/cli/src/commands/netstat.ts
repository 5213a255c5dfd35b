/**
 * `mcstack netstat` as FreeBSD users type it, over the daemon's workers:
 *   -np tcp|udp [-a] [-x] [-4|-6]  connections (Proto, Recv-Q, Send-Q, Local Address,
 *                                  Foreign Address, (state)); -x the buffers and TCP timers
 *   -s [-p proto]                  statistics, counters summed over the workers
 *   -rn [-F fib] [-f inet|inet6]   routing tables
 */
import type { ConnectionSnapshot, Counters, RouteSnapshot } from '@mcstack/netinet/tools';
import {
  formatConnections,
  formatStats,
  formatRoutes,
  sumSnapshotCounters,
  STATS_PROTOCOLS,
} from '@mcstack/netinet/tools';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, asSnaps, callDaemon, snapshotsOf } from '../daemon/call.js';
import { parseFib, processFib } from '../procfib.js';

type NetstatResult =
  | {
      mode: 'connections';
      protocols: ('tcp' | 'udp')[];
      all: boolean;
      x: boolean;
      family?: 4 | 6;
      connections: ConnectionSnapshot[];
    }
  | { mode: 'stats'; proto?: string; stats: Partial<Counters> }
  | { mode: 'routes'; fib: number; fibs: number; family?: 4 | 6; routes: RouteSnapshot[] };

function family(flags: Map<string, string | true>): 4 | 6 | undefined {
  const f = flags.get('f');
  if (f === 'inet') return 4;
  if (f === 'inet6') return 6;
  if (f !== undefined) throw new UsageError(`${String(f)}: unknown address family`);
  if (flags.has('4') && !flags.has('6')) return 4;
  if (flags.has('6') && !flags.has('4')) return 6;
  return undefined;
}

/** The rows formatConnections prints (the same filter), so --json lists what the table shows. */
function shown(c: ConnectionSnapshot, protocols: readonly string[], all: boolean, fam?: 4 | 6): boolean {
  if (!protocols.includes(c.proto)) return false;
  if (fam === 4 && !(c.vflag & 1)) return false;
  if (fam === 6 && !(c.vflag & 2)) return false;
  return all || !(c.state === 'LISTEN' || c.laddr === '0.0.0.0' || c.laddr === '::');
}

export const netstat = defineCommand<NetstatResult>({
  path: ['netstat'],
  summary: "show the daemon's connections, statistics and routes (FreeBSD netstat)",
  description:
    'usage: mcstack netstat [-j jail] [-46anx] [-p tcp|udp]\n' +
    '       mcstack netstat [-j jail] -s [-p proto]\n' +
    '       mcstack netstat [-j jail] -rn [-F fib] [-f inet|inet6]',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { flags, operands } = getopt(args.positionals, '46aF:f:j:np:rsx');
    if (operands.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(operands[0])}`);
    const fam = family(flags);
    const p = flags.get('p') as string | undefined;
    const snaps = await callDaemon(args, (api) => snapshotsOf(api, flags.get('j')));
    if (flags.has('r')) {
      // -F, else the process FIB (setfib), as netstat's route.c does with getfib.
      const fibText = flags.get('F');
      const fib = fibText === undefined ? processFib() : parseFib(String(fibText), '-F');
      const s0 = snaps[0];
      const r = {
        mode: 'routes' as const,
        fib,
        fibs: s0?.fibs ?? 1,
        family: fam,
        routes: (s0?.routes ?? []).filter((x) => x.fib === fib && (fam === undefined || x.af === fam)),
      };
      formatRoutes(asSnaps([{ fibs: r.fibs, routes: r.routes }]), { fib, family: fam }); // EINVAL for a fib that does not exist
      return r;
    }
    if (flags.has('s')) {
      if (p !== undefined && !STATS_PROTOCOLS.includes(p))
        throw new UsageError(`${p}: unknown or uninstrumented protocol`);
      const sum = sumSnapshotCounters(snaps);
      const stats: Partial<Counters> = p === undefined ? sum : { [`${p}stat`]: sum[`${p}stat` as keyof Counters] };
      return { mode: 'stats', proto: p, stats };
    }
    if (p !== undefined && p !== 'tcp' && p !== 'udp') throw new UsageError(`${p}: unknown or uninstrumented protocol`);
    const protocols: ('tcp' | 'udp')[] = p === undefined ? ['tcp', 'udp'] : [p];
    const all = flags.has('a');
    const connections = snaps.flatMap((s) => s.connections.filter((c) => shown(c, protocols, all, fam)));
    return { mode: 'connections', protocols, all, x: flags.has('x'), family: fam, connections };
  },
  human: (r) => {
    if (r.mode === 'routes')
      return formatRoutes(asSnaps([{ fibs: r.fibs, routes: r.routes }]), { fib: r.fib, family: r.family });
    if (r.mode === 'stats') {
      const counters: Counters = {
        tcpstat: {},
        udpstat: {},
        ipstat: {},
        icmpstat: {},
        ip6stat: {},
        icmp6stat: {},
        ...r.stats,
      };
      return formatStats(asSnaps([{ counters }]), { proto: r.proto });
    }
    // One header, as protopr prints it for the first protocol with rows.
    let out = '';
    for (const proto of r.protocols) {
      const text = formatConnections(asSnaps([{ connections: r.connections }]), {
        proto,
        all: r.all,
        x: r.x,
        family: r.family,
      });
      out += out === '' ? text : text.split('\n').slice(2).join('\n');
    }
    return out;
  },
});
