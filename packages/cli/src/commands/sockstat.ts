/**
 * `mcstack sockstat [-46cl] [-j jail]`: the daemon's (or a jail's) sockets in FreeBSD's columns (USER, COMMAND,
 * PID, FD, PROTO, LOCAL ADDRESS, FOREIGN ADDRESS); COMMAND is the app and its worker.
 */
import type { ConnectionSnapshot } from '@mcstack/netinet/tools';
import { formatSockstat } from '@mcstack/netinet/tools';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, asSnaps, callDaemon, snapshotsOf } from '../daemon/call.js';

interface SockstatResult {
  inet4: boolean;
  inet6: boolean;
  connected: boolean;
  listening: boolean;
  /** Per worker, the sockets shown (sockstat orders each worker's by descriptor). */
  workers: { worker: string; sockets: ConnectionSnapshot[] }[];
}

export const sockstat = defineCommand<SockstatResult>({
  path: ['sockstat'],
  summary: "list the daemon's sockets (FreeBSD sockstat)",
  description: 'usage: mcstack sockstat [-46cl] [-j jail]',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { flags, operands } = getopt(args.positionals, '46cj:l');
    if (operands.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(operands[0])}`);
    const o = { inet4: flags.has('4'), inet6: flags.has('6'), connected: flags.has('c'), listening: flags.has('l') };
    const fam = (o.inet4 ? 1 : 0) | (o.inet6 ? 2 : 0) || 3;
    const both = !o.connected && !o.listening;
    const keep = (c: ConnectionSnapshot) =>
      (c.vflag & fam) !== 0 && (c.fport === 0 ? both || o.listening : both || o.connected);
    const snaps = await callDaemon(args, (api) => snapshotsOf(api, flags.get('j')));
    return { ...o, workers: snaps.map((s) => ({ worker: s.worker, sockets: s.connections.filter(keep) })) };
  },
  human: (r) => formatSockstat(asSnaps(r.workers.map((w) => ({ worker: w.worker, connections: w.sockets }))), r),
});
