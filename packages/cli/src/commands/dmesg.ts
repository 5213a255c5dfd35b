/** `mcstack dmesg`: the daemon\'s kernel message buffer (log_in_vain and friends), all workers merged. */
import { formatDmesg, mergeMessages } from '@mcstack/netinet/tools';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, asSnaps, callDaemon } from '../daemon/call.js';

type Line = ReturnType<typeof mergeMessages>[number];

export const dmesg = defineCommand<{ messages: Line[] }>({
  path: ['dmesg'],
  summary: "show the daemon's kernel message buffer (FreeBSD dmesg)",
  description:
    'usage: mcstack dmesg\n\nLines logged by the engines (net.inet.tcp.log_in_vain, net.inet.udp.log_in_vain), oldest first.',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { operands } = getopt(args.positionals, '');
    if (operands.length > 0) throw new UsageError('dmesg takes no operands');
    const snaps = await callDaemon(args, (api) => api.snapshots());
    return { messages: mergeMessages(snaps) };
  },
  human: (r) => formatDmesg(asSnaps([{ worker: 'all', messages: r.messages }])),
});
