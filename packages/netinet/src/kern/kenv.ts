/**
 * The loader's environment (kenv(2), loader.conf): tunables read once while the engine
 * is built, as FreeBSD's TUNABLE_INT_FETCH reads them at boot. The sysctls they size are
 * read-only afterwards (CTLFLAG_RDTUN). A name nobody reads is an error, so a misspelt
 * tunable is never silently ignored.
 */
import { SysError } from './errno.js';

export type KenvValues = Readonly<Record<string, number | string>>;

export class Kenv {
  private readonly used = new Set<string>();
  constructor(private readonly vars: KenvValues = {}) {}

  /** TUNABLE_INT_FETCH: the integer set for `name`, or undefined. EINVAL when it is not an integer. */
  fetchInt(name: string): number | undefined {
    this.used.add(name);
    const v = this.vars[name];
    if (v === undefined) return undefined;
    const n = typeof v === 'number' ? v : /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isInteger(n)) throw new SysError('EINVAL', `tunable '${name}' takes an integer, not '${v}'`, 'kenv');
    return n;
  }

  /** Mark `name` as known without reading it (its value was applied elsewhere). */
  known(name: string): void {
    this.used.add(name);
  }

  /** ENOENT for the first name no subsystem fetched. */
  checkUnused(): void {
    for (const k of Object.keys(this.vars))
      if (!this.used.has(k)) throw new SysError('ENOENT', `unknown tunable '${k}'`, 'kenv');
  }
}
