/**
 * `mcstack ifconfig [-j jail] [-a] [-m] [IF]` shows the daemon's (or a vnet jail's)
 * interfaces in FreeBSD's format (options=, with -m capabilities=); `mcstack ifconfig IF
 * [-]rxcsum [-]txcsum [-]rxcsum6 [-]txcsum6 [-]tso [-]lro [-]toe mtu N` changes IF in every
 * worker, printing nothing. In a jail (-j) also `epair create` (prints the first end),
 * `vxlanN create vxlanid N vxlanlocal A vxlanremote B [vxlanlocalport P] [vxlanremoteport Q]`
 * (the jail's link to real hosts), `IF destroy`, `IF vnet J`, `IF -vnet J` and `IF inet|inet6 A/P`.
 */
import type { InterfaceSnapshot } from '@mcstack/netinet/tools';
import { formatIfconfig, parseIfconfigArgs } from '@mcstack/netinet/tools';
import { SysError } from '@mcstack/netinet';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, asSnaps, callDaemon, snapshotsOf } from '../daemon/call.js';

type IfconfigResult =
  | { show: true; m: boolean; interfaces: InterfaceSnapshot[] }
  | { show: false; interface: string; words: string[]; output: string };

/** Words only a vnet jail's stack takes: the daemon's own interfaces are its workers' link queues. */
function jailOnly(name: string | undefined, words: readonly string[]): boolean {
  return /^vxlan\d+$/.test(name ?? '') && words[0] === 'create';
}

/** Words the daemon's epairs to its jails take (runtime hostepair.ts), not ifconfig's parser. */
function epairWords(name: string | undefined, words: readonly string[]): boolean {
  return (
    (name === 'epair' && words[0] === 'create') ||
    (/^epair\d+a$/.test(name ?? '') && (words[0] === 'inet' || words[0] === 'inet6')) ||
    words.some((w) => w === 'vnet' || w === '-vnet' || w === 'destroy')
  );
}

export const ifconfig = defineCommand<IfconfigResult>({
  path: ['ifconfig'],
  summary: "show or change the daemon's interfaces, or a vnet jail's (FreeBSD ifconfig)",
  description:
    'usage: mcstack ifconfig [-j jail] [-a] [-m] [IF]\n' +
    '       mcstack ifconfig [-j jail] IF [-]rxcsum [-]txcsum [-]rxcsum6 [-]txcsum6 [-]tso [-]lro [-]toe [-]mediaopt rxpause,txpause [mtu N] [fib N] [up|down]\n' +
    '       mcstack ifconfig -j jail epair create | IF destroy | IF vnet J | IF -vnet J | IF inet|inet6 A/P\n' +
    '       mcstack ifconfig -j jail vxlanN create vxlanid N vxlanlocal A vxlanremote B [vxlanlocalport P] [vxlanremoteport Q]',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { flags, operands } = getopt(args.positionals, 'aj:m');
    const j = flags.get('j');
    const jail = j === undefined || j === '0' ? undefined : String(j);
    const [name, ...words] = operands;
    if (words.length > 0) {
      if (jail !== undefined) {
        const output = await callDaemon(args, (api) => api.jailIfconfig(jail, operands));
        return { show: false, interface: name!, words, output };
      }
      if (jailOnly(name, words))
        throw new SysError(
          'EOPNOTSUPP',
          "the daemon's own interfaces are its workers' link queues: a vxlan is made in a jail (-j)",
          'ifconfig',
        );
      if (!epairWords(name, words))
        try {
          parseIfconfigArgs(operands);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      const output = (await callDaemon(args, (api) => api.ifconfig(operands))) ?? '';
      return { show: false, interface: name!, words, output };
    }
    const snaps = await callDaemon(args, (api) => snapshotsOf(api, jail));
    const all = snaps[0]?.interfaces ?? [];
    const interfaces = name === undefined ? all : all.filter((i) => i.name === name);
    if (name !== undefined && interfaces.length === 0)
      throw new SysError('ENXIO', `interface ${name} does not exist`, 'ifconfig');
    return { show: true, m: flags.has('m'), interfaces };
  },
  human: (r) => (r.show ? formatIfconfig(asSnaps([{ interfaces: r.interfaces }]), { m: r.m }) : r.output),
});
