/**
 * Where the daemon's control socket lives. The first that applies:
 *   1. `--socket PATH` (serve and every tool take it);
 *   2. `$MCSTACK_SOCKET`;
 *   3. `$XDG_RUNTIME_DIR/mcstack.sock` (a per-user 0700 directory on systemd hosts);
 *   4. `/tmp/mcstack-$UID.sock`.
 */
import { join } from 'node:path';
import { SysError } from '@mcstack/netinet';

/** sockaddr_un.sun_path holds 108 bytes with the terminating NUL. */
export const SUN_PATH_MAX = 107;

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && xdg !== '') return join(xdg, 'mcstack.sock');
  return `/tmp/mcstack-${process.getuid?.() ?? 0}.sock`;
}

/** The socket path by the rule above; ENAMETOOLONG when it cannot be a Unix socket's. */
export function resolveSocketPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.MCSTACK_SOCKET;
  const p =
    flag !== undefined && flag !== ''
      ? flag
      : fromEnv !== undefined && fromEnv !== ''
        ? fromEnv
        : defaultSocketPath(env);
  if (Buffer.byteLength(p) > SUN_PATH_MAX)
    throw new SysError('ENAMETOOLONG', `socket path longer than ${SUN_PATH_MAX} bytes: ${p}`);
  return p;
}
