/**
 * `mcstack jail -c name=N vnet`, `mcstack jail -r N` and `mcstack jls` (FreeBSD jail(8),
 * jls(8)): vnet jails in the daemon, each a stack of its own in the daemon's vnet worker
 * (runtime vnet.ts). The tools take `-j N` to look inside one.
 */
import type { JailInfo, VnetLeftovers } from '@mcstack/netinet';
import { formatJls, parseJailCreate } from '@mcstack/netinet/tools';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, callDaemon } from '../daemon/call.js';

const USAGE = 'usage: mcstack jail -c name=N vnet\n       mcstack jail -r N';

type JailResult =
  | { op: 'created'; name: string; jid: number }
  | { op: 'removed'; name: string; leftovers: VnetLeftovers };

export const jail = defineCommand<JailResult>({
  path: ['jail'],
  summary: 'create or remove a vnet jail in the daemon (FreeBSD jail)',
  description: USAGE,
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { flags, operands } = getopt(args.positionals, 'cr');
    if (flags.has('c') === flags.has('r')) throw new UsageError(USAGE);
    if (flags.has('r')) {
      if (operands.length !== 1) throw new UsageError(USAGE);
      const name = operands[0]!;
      const leftovers = await callDaemon(args, (api) => api.jailRemove(name));
      return { op: 'removed', name, leftovers };
    }
    let p: { name: string; vnet: boolean };
    try {
      p = parseJailCreate(operands);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (!p.vnet) throw new UsageError('only vnet jails exist here: jail -c name=N vnet');
    const jid = await callDaemon(args, (api) => api.jailCreate(p.name));
    return { op: 'created', name: p.name, jid };
  },
  human: (r) => {
    if (r.op === 'created') return `${r.name}: created\n`;
    const l = r.leftovers;
    const held = l.zones.map((z) => `${z.name} ${z.used}`);
    if (l.callouts + l.pcbs + l.tcbs + l.fds > 0)
      held.push(`callouts ${l.callouts}, pcbs ${l.pcbs}, tcpcbs ${l.tcbs}, fds ${l.fds}`);
    return `${r.name}: removed\n${held.length > 0 ? `warning: its stack still held ${held.join(', ')}\n` : ''}`;
  },
});

const JEXEC_USAGE = 'usage: mcstack jexec JAIL APP [KEY=VALUE ...]';

/**
 * `mcstack jexec J APP [KEY=VALUE...]` (jexec(8)): start an app of the registry (echo,
 * discard, http-lite, rr-client, crr-client, bulk-sender) on jail J's own stack, e.g.
 * `jexec web echo port=7`, `jexec db rr-client addr=10.9.0.1 port=7 connections=2 hold=true`. It runs
 * until the jail is removed; `netstat -j J` and `sockstat -j J` show its sockets.
 */
export const jexec = defineCommand<{ jail: string; app: string }>({
  path: ['jexec'],
  summary: 'start an app inside a vnet jail of the daemon (FreeBSD jexec)',
  description: JEXEC_USAGE,
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { operands } = getopt(args.positionals, '');
    const [j, app, ...kv] = operands;
    if (j === undefined || app === undefined) throw new UsageError(JEXEC_USAGE);
    const options: Record<string, string | number | boolean> = {};
    for (const w of kv) {
      const m = /^([A-Za-z][A-Za-z0-9_]*)=(.*)$/.exec(w);
      if (m === null) throw new UsageError(`${w}: not KEY=VALUE (${JEXEC_USAGE})`);
      const v = m[2]!;
      const n = Number(v);
      options[m[1]!] = v === 'true' ? true : v === 'false' ? false : v !== '' && Number.isFinite(n) ? n : v;
    }
    await callDaemon(args, (api) => api.jailExec(j, app, options));
    return { jail: j, app };
  },
  human: (r) => `${r.jail}: ${r.app} started\n`,
});

export const jls = defineCommand<JailInfo[]>({
  path: ['jls'],
  summary: "list the daemon's vnet jails (FreeBSD jls)",
  description: 'usage: mcstack jls',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { operands } = getopt(args.positionals, '');
    if (operands.length > 0) throw new UsageError('usage: mcstack jls');
    return callDaemon(args, (api) => api.jls());
  },
  human: (r) => formatJls(r),
});
