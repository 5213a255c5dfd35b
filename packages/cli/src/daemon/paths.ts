/**
 * Where the daemon's control socket lives, and whether it can be trusted. The first that
 * applies:
 *   1. `--socket PATH` (serve and every tool take it);
 *   2. `$MCSTACK_SOCKET`;
 *   3. `$XDG_RUNTIME_DIR/mcstack.sock` (a per-user 0700 directory on systemd hosts);
 *   4. `/tmp/mcstack-$UID/mcstack.sock`: a private directory (0700, the user's) that
 *      serve creates; never a predictable name directly in world-writable /tmp, where
 *      another user could create it first.
 *
 * Node cannot read a Unix socket peer's credentials (SO_PEERCRED), so trust rests on the
 * file system: before connecting, a tool checks that the socket and its directory belong
 * to the current user or root and are not writable by others (a sticky directory such as
 * /tmp is writable by all, but no one can replace another's file in it), and refuses
 * otherwise; serve refuses to listen in a directory that check would refuse.
 */
import { lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SysError } from '@mcstack/netinet';

/** sockaddr_un.sun_path holds 108 bytes with the terminating NUL. */
export const SUN_PATH_MAX = 107;

const S_ISVTX = 0o1000;

/** The fallback's private directory, `/tmp/mcstack-$UID`. */
export function fallbackSocketDir(uid: number = process.getuid?.() ?? 0): string {
  return `/tmp/mcstack-${uid}`;
}

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && xdg !== '') return join(xdg, 'mcstack.sock');
  return join(fallbackSocketDir(), 'mcstack.sock');
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

function mode(st: Stats): string {
  return `0${(st.mode & 0o7777).toString(8)}`;
}

/** Why a directory holding a control socket cannot be trusted by `uid`, or null. */
function dirProblem(dir: string, st: Stats, uid: number): string | null {
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (st.uid !== uid && st.uid !== 0)
    return `its directory ${dir} belongs to uid ${st.uid}, not to you (uid ${uid}) or root`;
  if ((st.mode & 0o022) !== 0 && (st.mode & S_ISVTX) === 0)
    return `its directory ${dir} is writable by others (mode ${mode(st)}): anyone could have put the socket there`;
  return null;
}

function noDaemon(path: string, code = 'ENOENT'): SysError {
  return new SysError(code, `no mcstack daemon on ${path} (start one with 'mcstack serve')`, 'connect');
}

function denied(path: string, what: string): SysError {
  return new SysError('EACCES', `permission denied ${what} ${path} (it is not this user's daemon)`, 'connect');
}

/**
 * The tools' check before connecting (see above). ENOENT when there is no socket, EACCES
 * when it cannot be reached, EPERM naming the owner or mode that makes it untrusted.
 */
export function checkSocketPath(path: string, uid: number | undefined = process.getuid?.()): void {
  if (uid === undefined) return; // no uids on this platform
  const dir = dirname(resolve(path));
  const refuse = (why: string) => new SysError('EPERM', `refusing the control socket ${path}: ${why}`, 'connect');
  let ds: Stats;
  try {
    ds = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw denied(path, 'reaching');
    throw noDaemon(path, code === 'ENOTDIR' ? 'ENOENT' : (code ?? 'ENOENT'));
  }
  const bad = dirProblem(dir, ds, uid);
  if (bad !== null) throw refuse(bad);
  let ss: Stats;
  try {
    ss = lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw denied(path, 'reaching');
    throw noDaemon(path, code ?? 'ENOENT');
  }
  if (!ss.isSocket()) throw refuse('it is not a socket');
  if (ss.uid !== uid && ss.uid !== 0) throw refuse(`it belongs to uid ${ss.uid}, not to you (uid ${uid}) or root`);
  if ((ss.mode & 0o022) !== 0) throw refuse(`it is writable by others (mode ${mode(ss)})`);
}

/**
 * serve's side: the socket's directory, created 0700 when missing (its parent must
 * exist). The fallback directory must be the user's own and private (no access for group
 * or others, not a symbolic link): another user who made `/tmp/mcstack-$UID` first is
 * refused, not trusted. Any other directory must pass the tools' check. EPERM otherwise.
 */
export function prepareSocketDir(path: string, uid: number | undefined = process.getuid?.()): void {
  const dir = dirname(resolve(path));
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (uid === undefined) return;
  const refuse = (why: string) => new SysError('EPERM', `will not listen on ${path}: ${why}`, 'serve');
  const st = lstatSync(dir);
  if (dir === fallbackSocketDir(uid)) {
    if (st.isSymbolicLink()) throw refuse(`${dir} is a symbolic link`);
    if (!st.isDirectory()) throw refuse(`${dir} is not a directory`);
    if (st.uid !== uid) throw refuse(`${dir} belongs to uid ${st.uid}, not to you (uid ${uid})`);
    if ((st.mode & 0o077) !== 0) throw refuse(`${dir} is open to others (mode ${mode(st)}, want 0700)`);
    return;
  }
  const bad = dirProblem(dir, statSync(dir), uid);
  if (bad !== null) throw refuse(bad);
}
