/**
 * The loader's environment (kenv(2), loader.conf): tunables read once while the engine
 * is built, as FreeBSD's TUNABLE_INT_FETCH reads them at boot. The sysctls they size are
 * read-only afterwards (CTLFLAG_RDTUN). The names no subsystem fetched go on to the sysctl
 * tree's loader path (Engine), where a misspelt one is ENOENT: never silently ignored.
 */
import { SysError } from './errno.js';
import { parseIntValue } from './sysctl.js';

export type KenvValues = Readonly<Record<string, number | string>>;

export class Kenv {
  private readonly used = new Set<string>();
  constructor(private readonly vars: KenvValues = {}) {}

  /** TUNABLE_INT_FETCH: the integer set for `name`, or undefined. EINVAL when it is not an integer. */
  fetchInt(name: string): number | undefined {
    this.used.add(name);
    const v = this.vars[name];
    if (v === undefined) return undefined;
    const n = parseIntValue(v);
    if (!Number.isInteger(n)) throw new SysError('EINVAL', `tunable '${name}' takes an integer, not '${v}'`, 'kenv');
    return n;
  }

  /** Whether a subsystem read `name` while the engine was built (the rest go to the sysctl tree's loader path). */
  fetched(name: string): boolean {
    return this.used.has(name);
  }
}
