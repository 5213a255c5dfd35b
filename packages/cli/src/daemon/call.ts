/**
 * What the tool commands share: the `--socket PATH` option, a call to the daemon over
 * its control socket (paths.ts rule: --socket, $MCSTACK_SOCKET, $XDG_RUNTIME_DIR/mcstack.sock,
 * /tmp/mcstack-$UID/mcstack.sock), and the snapshot lists the netinet formatters take.
 */
import type { StackSnapshot } from '@mcstack/netinet/tools';
import { resolveSocketPath } from './paths.js';
import { withDaemon } from './client.js';
import type { DaemonRemote } from './api.js';
import type { Args, OptionSpec, PositionalSpec } from '../command.js';

export const SOCKET_OPTION: OptionSpec = {
  name: 'socket',
  type: 'string',
  arg: 'PATH',
  help: "the daemon's control socket (default $MCSTACK_SOCKET, else $XDG_RUNTIME_DIR/mcstack.sock, else /tmp/mcstack-$UID/mcstack.sock)",
};

/** The words after the command (flags and operands, FreeBSD style). */
export const WORDS: PositionalSpec = {
  name: 'ARGS',
  help: "flags and operands as FreeBSD's tool takes them",
  optional: true,
  variadic: true,
};

export function callDaemon<T>(args: Args, fn: (api: DaemonRemote) => Promise<T>): Promise<T> {
  return withDaemon(resolveSocketPath(args.str('socket')), fn);
}

/** Parts of snapshots as the formatters' snapshot list (they read only the parts given). */
export function asSnaps(parts: readonly Partial<StackSnapshot>[]): StackSnapshot[] {
  return parts as StackSnapshot[];
}

/** The tools' `-j jail` (jid or name): its stack instead of the daemon's own (jid 0). */
export function snapshotsOf(api: DaemonRemote, jail: string | true | undefined): Promise<StackSnapshot[]> {
  if (jail === undefined || jail === '0') return api.snapshots();
  return api.jailSnapshot(String(jail)).then((s) => [s]);
}

/**
 * Take a leading `-j jail` (or `-jjail`) off a tool's words, for the tools whose own
 * parser reads the rest (sysctl): the jail, or undefined, and the words left.
 */
export function takeJail(words: readonly string[]): { jail: string | undefined; rest: string[] } {
  const w = words[0];
  if (w === '-j') return { jail: words[1] ?? '', rest: words.slice(2) };
  if (w?.startsWith('-j')) return { jail: w.slice(2), rest: words.slice(1) };
  return { jail: undefined, rest: [...words] };
}
