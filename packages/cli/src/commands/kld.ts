/**
 * `mcstack kldload NAME`, `mcstack kldstat`, `mcstack kldunload NAME` (FreeBSD kldload(8),
 * kldstat(8), kldunload(8)): the daemon's loadable modules, in every worker at once.
 */
import type { KldStat } from '@mcstack/netinet';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, callDaemon } from '../daemon/call.js';

function oneName(words: readonly string[], cmd: string): string {
  const { operands } = getopt(words, '');
  if (operands.length !== 1) throw new UsageError(`usage: ${cmd} NAME`);
  return operands[0]!;
}

export const kldload = defineCommand<{ name: string; id: number }>({
  path: ['kldload'],
  summary: 'load a kernel module into the daemon (FreeBSD kldload)',
  description: 'usage: mcstack kldload NAME\n\nNAME: cc_cubic, cc_htcp, cc_dctcp, ... (every worker loads it).',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const name = oneName(args.positionals, 'kldload');
    const id = await callDaemon(args, (api) => api.kldload(name));
    return { name, id };
  },
  human: () => '',
});

export const kldunload = defineCommand<{ name: string }>({
  path: ['kldunload'],
  summary: 'unload a kernel module from the daemon (FreeBSD kldunload); EBUSY while in use',
  description: 'usage: mcstack kldunload NAME',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const name = oneName(args.positionals, 'kldunload');
    await callDaemon(args, (api) => api.kldunload(name));
    return { name };
  },
  human: () => '',
});

/** kldstat(8)'s table: Id Refs Name, with the module's description in place of address and size. */
export function formatKldstat(files: KldStat[]): string {
  const lines = ['Id Refs Name             Description'];
  for (const f of files)
    lines.push(`${String(f.id).padStart(2)} ${String(f.refs).padStart(4)} ${f.name.padEnd(16)} ${f.description}`);
  return `${lines.join('\n')}\n`;
}

export const kldstat = defineCommand<{ files: KldStat[] }>({
  path: ['kldstat'],
  summary: "list the daemon's loaded kernel modules (FreeBSD kldstat)",
  description: 'usage: mcstack kldstat',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { operands } = getopt(args.positionals, '');
    if (operands.length > 0) throw new UsageError('kldstat takes no operands');
    return { files: await callDaemon(args, (api) => api.kldstat()) };
  },
  human: (r) => formatKldstat(r.files),
});
