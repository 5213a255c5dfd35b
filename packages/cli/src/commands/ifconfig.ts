/**
 * `mcstack ifconfig [-a] [-m] [IF]` shows the daemon's interfaces in FreeBSD's format
 * (options=, with -m capabilities=); `mcstack ifconfig IF [-]rxcsum [-]txcsum [-]rxcsum6
 * [-]txcsum6 [-]tso [-]lro [-]toe mtu N` changes IF in every worker, printing nothing.
 */
import type { InterfaceSnapshot } from '@mcstack/netinet/tools';
import { formatIfconfig, parseIfconfigArgs } from '@mcstack/netinet/tools';
import { SysError } from '@mcstack/netinet';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, asSnaps, callDaemon } from '../daemon/call.js';

type IfconfigResult =
  | { show: true; m: boolean; interfaces: InterfaceSnapshot[] }
  | { show: false; interface: string; words: string[] };

export const ifconfig = defineCommand<IfconfigResult>({
  path: ['ifconfig'],
  summary: "show or change the daemon's interfaces (FreeBSD ifconfig)",
  description:
    'usage: mcstack ifconfig [-a] [-m] [IF]\n' +
    '       mcstack ifconfig IF [-]rxcsum [-]txcsum [-]rxcsum6 [-]txcsum6 [-]tso [-]lro [-]toe [mtu N] [up|down]',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { flags, operands } = getopt(args.positionals, 'am');
    const [name, ...words] = operands;
    if (words.length > 0) {
      try {
        parseIfconfigArgs(operands);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      await callDaemon(args, (api) => api.ifconfig(operands));
      return { show: false, interface: name!, words };
    }
    const snaps = await callDaemon(args, (api) => api.snapshots());
    const all = snaps[0]?.interfaces ?? [];
    const interfaces = name === undefined ? all : all.filter((i) => i.name === name);
    if (name !== undefined && interfaces.length === 0)
      throw new SysError('ENXIO', `interface ${name} does not exist`, 'ifconfig');
    return { show: true, m: flags.has('m'), interfaces };
  },
  human: (r) => (r.show ? formatIfconfig(asSnaps([{ interfaces: r.interfaces }]), { m: r.m }) : ''),
});
