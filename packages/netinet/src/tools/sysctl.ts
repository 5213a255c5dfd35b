/**
 * sysctl(8): `sysctl NAME[=VALUE] ...` and `sysctl -a` in FreeBSD's format
 * (`name: value`, and `name: old -> new` when setting). Reads come from a
 * snapshot; a write goes to an engine (the daemon applies it on every worker).
 * An unknown name is ENOENT ("unknown oid"), a bad value EINVAL, a read-only OID
 * EPERM, each a SysError.
 */
import { SysError } from '../kern/errno.js';
import type { Engine } from '../engine.js';
import type { StackSnapshot, SysctlSnapshot } from './snapshot.js';

export interface SysctlArg {
  name: string;
  /** The text after `=`, when setting. */
  value?: string;
}

export interface SysctlRequest {
  /** -a: every OID. */
  all: boolean;
  args: SysctlArg[];
}

/** Parse sysctl's arguments: `-a` and `name` / `name=value` words. Unknown flags are EINVAL. */
export function parseSysctlArgs(argv: readonly string[]): SysctlRequest {
  const req: SysctlRequest = { all: false, args: [] };
  for (const a of argv) {
    if (a === '-a') {
      req.all = true;
      continue;
    }
    if (a.startsWith('-')) throw new SysError('EINVAL', `unknown option '${a}'`, 'sysctl');
    const eq = a.indexOf('=');
    if (eq === 0) throw new SysError('EINVAL', `oid name missing in '${a}'`, 'sysctl');
    req.args.push(eq < 0 ? { name: a } : { name: a.slice(0, eq), value: a.slice(eq + 1) });
  }
  return req;
}

const line = (o: SysctlSnapshot) => `${o.name}: ${o.value}\n`;

/** `sysctl -a` (without the CTLFLAG_SKIP OIDs). */
export function formatSysctlAll(snap: StackSnapshot): string {
  return snap.sysctls
    .filter((o) => !o.skip)
    .map(line)
    .join('');
}

/**
 * `sysctl name ...`: a leaf prints itself, an inner node everything under it
 * (`sysctl net.inet.tcp`). Unknown names throw ENOENT.
 */
export function formatSysctlGet(snap: StackSnapshot, names: readonly string[]): string {
  let out = '';
  for (const name of names) {
    const hit = snap.sysctls.filter((o) => o.name === name || (!o.skip && o.name.startsWith(`${name}.`)));
    if (hit.length === 0) throw new SysError('ENOENT', `unknown oid '${name}'`, 'sysctl');
    out += hit.map(line).join('');
  }
  return out;
}

export interface SysctlChange {
  name: string;
  old: number | string;
  new: number | string;
}

/** Set one OID on one engine; the old and new values for `name: old -> new`. */
export function applySysctl(engine: Engine, name: string, value: string): SysctlChange {
  const old = engine.sysctl.set(name, value);
  return { name, old, new: engine.sysctl.get(name) };
}

export function formatSysctlChange(c: SysctlChange): string {
  return `${c.name}: ${c.old} -> ${c.new}\n`;
}
