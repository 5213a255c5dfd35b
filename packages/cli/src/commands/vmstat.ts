/** `mcstack vmstat -z`: the daemon's zones (UMA names), USED/REQ/FAIL summed over the workers. */
import type { ZoneSnapshot } from '@mcstack/netinet/tools';
import { formatZones, sumZones } from '@mcstack/netinet/tools';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, asSnaps, callDaemon } from '../daemon/call.js';

export const vmstat = defineCommand<{ zones: ZoneSnapshot[] }>({
  path: ['vmstat'],
  summary: "show the daemon's allocation zones (FreeBSD vmstat -z)",
  description: 'usage: mcstack vmstat -z',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { flags, operands } = getopt(args.positionals, 'z');
    if (!flags.has('z') || operands.length > 0) throw new UsageError('only vmstat -z is supported');
    const snaps = await callDaemon(args, (api) => api.snapshots());
    return { zones: sumZones(snaps) };
  },
  human: (r) => formatZones(asSnaps([{ zones: r.zones }])),
});
