/**
 * The sysctl tree: FreeBSD's names and defaults for what the engine implements.
 * Each subsystem registers its OIDs when the engine is built; unknown names are
 * ENOENT and bad values EINVAL (returned as SysError), never ignored.
 */
import { SysError } from './errno.js';

export type SysctlValue = number | string;

export interface SysctlOid {
  readonly name: string;
  readonly kind: 'int' | 'string';
  readonly description: string;
  /** Read-only OIDs (statistics, `cc.available`) reject writes with EPERM. */
  readonly readonly?: boolean;
  /**
   * A loader tunable (CTLFLAG_RDTUN): read once when the engine starts, from the engine's
   * `tunables` (FreeBSD's loader.conf / kenv, TUNABLE_INT_FETCH); a later write is EPERM,
   * as sysctl(8) refuses it ("Tunable values are set in /boot/loader.conf").
   */
  readonly tunable?: boolean;
  /** CTLFLAG_RWTUN with its own boot-time rule: what a loader tunable sets (kern.ipc.maxsockets). */
  load?(v: number): void;
  /** CTLFLAG_SKIP: left out of a listing unless named (`sysctl -a` skips it). */
  readonly skip?: boolean;
  readonly min?: number;
  readonly max?: number;
  get(): SysctlValue;
  set?(v: SysctlValue): void;
}

/**
 * The names loader.conf may set: a loader tunable (CTLFLAG_RDTUN) or an OID with a boot-time
 * rule of its own. Each subsystem declares its names as its module loads (`loaderTunable`),
 * so a stack's start can sort its settings before any engine or tree exists; add() refuses
 * such an OID whose name was not declared, so the list and the trees cannot drift apart.
 */
const loaderNames = new Set<string>();

/** Declare `name` a loader tunable (at a module's top level); returns it, for the OID. */
export function loaderTunable(name: string): string {
  loaderNames.add(name);
  return name;
}

/** Whether some subsystem declared `name` a loader tunable (what load() takes, in every tree). */
export function isLoaderTunable(name: string): boolean {
  return loaderNames.has(name);
}

/**
 * An integer as sysctl(8) and the loader take it: a number, or decimal or 0x-hex text with an
 * optional sign (strtol with base 0, less octal). NaN when it is not one.
 */
export function parseIntValue(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(-?)(0x[0-9a-f]+|\d+)$/i.exec(value.trim());
  if (m === null) return NaN;
  const n = Number(m[2]);
  return m[1] === '-' ? -n : n;
}

export class SysctlTree {
  private oids = new Map<string, SysctlOid>();

  /** Register an OID; registering a name twice is a programming error. */
  add(oid: SysctlOid): void {
    if (this.oids.has(oid.name)) throw new Error(`sysctl: duplicate OID ${oid.name}`);
    if ((oid.tunable === true || oid.load !== undefined) && !loaderNames.has(oid.name))
      throw new Error(`sysctl: loader tunable ${oid.name} not declared with loaderTunable()`);
    this.oids.set(oid.name, oid);
  }

  /**
   * An integer OID backed by a field of `obj` (typically the engine's tunables
   * object), with an optional range and a hook that runs after a successful set.
   */
  int<T extends Record<K, number>, K extends keyof T & string>(
    name: string,
    obj: T,
    key: K,
    description: string,
    opts: { min?: number; max?: number; readonly?: boolean; tunable?: boolean; onSet?: (v: number) => void } = {},
  ): void {
    this.add({
      name,
      kind: 'int',
      description,
      readonly: opts.readonly,
      tunable: opts.tunable,
      min: opts.min,
      max: opts.max,
      get: () => obj[key],
      set: (v) => {
        (obj as Record<K, number>)[key] = v as number;
        opts.onSet?.(v as number);
      },
    });
  }

  /** Unregister an OID (sysctl_remove_oid, as a module's OIDs go when it is unloaded); false if absent. */
  remove(name: string): boolean {
    return this.oids.delete(name);
  }

  has(name: string): boolean {
    return this.oids.has(name);
  }

  /** Whether `name` is a loader tunable (set at start only). */
  isTunable(name: string): boolean {
    return this.oids.get(name)?.tunable === true;
  }

  /** Whether load() takes `name`: a loader tunable, or an OID with a boot-time rule of its own. */
  isLoadable(name: string): boolean {
    const o = this.oids.get(name);
    return o !== undefined && (o.tunable === true || o.load !== undefined);
  }

  get(name: string): SysctlValue {
    const oid = this.oids.get(name);
    if (!oid) throw new SysError('ENOENT', `unknown oid '${name}'`, 'sysctl');
    return oid.get();
  }

  /** Set from a number or from text as typed on a command line (`sysctl name=value`). */
  set(name: string, value: SysctlValue): SysctlValue {
    const oid = this.oids.get(name);
    if (!oid) throw new SysError('ENOENT', `unknown oid '${name}'`, 'sysctl');
    if (oid.tunable)
      throw new SysError('EPERM', `oid '${name}' is a read-only tunable: set it at start (loader.conf)`, 'sysctl');
    return this.write(oid, name, value);
  }

  /**
   * TUNABLE_*_FETCH: set a loader tunable before the subsystem that reads it starts (the
   * engine's `tunables` option). Names that are not tunables are EINVAL: loader.conf is not
   * a second way to set run-time sysctls here.
   */
  load(name: string, value: SysctlValue): SysctlValue {
    const oid = this.oids.get(name);
    if (!oid) throw new SysError('ENOENT', `unknown oid '${name}'`, 'sysctl');
    if (oid.load !== undefined) {
      const old = oid.get();
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) throw new SysError('EINVAL', `'${name}' takes a positive integer`, 'sysctl');
      oid.load(n);
      return old;
    }
    if (!oid.tunable) throw new SysError('EINVAL', `oid '${name}' is not a loader tunable`, 'sysctl');
    return this.write(oid, name, value);
  }

  private write(oid: SysctlOid, name: string, value: SysctlValue): SysctlValue {
    if (oid.readonly || !oid.set) throw new SysError('EPERM', `oid '${name}' is read-only`, 'sysctl');
    const old = oid.get();
    let v: SysctlValue = value;
    if (oid.kind === 'int') {
      const n = parseIntValue(value);
      if (!Number.isInteger(n)) throw new SysError('EINVAL', `'${name}' takes an integer, not '${value}'`, 'sysctl');
      if ((oid.min !== undefined && n < oid.min) || (oid.max !== undefined && n > oid.max)) {
        throw new SysError(
          'EINVAL',
          `'${name}' must be in [${oid.min ?? '-inf'}, ${oid.max ?? 'inf'}], not ${n}`,
          'sysctl',
        );
      }
      v = n;
    } else {
      v = String(value);
    }
    oid.set(v);
    return old;
  }

  /**
   * `sysctl -a`: every OID in name order (optionally under a prefix); a CTLFLAG_SKIP OID
   * only when named, or with `skipped` (marked `skip`, for a caller that filters later).
   */
  list(prefix = '', skipped = false): { name: string; value: SysctlValue; description: string; skip?: boolean }[] {
    return [...this.oids.values()]
      .filter(
        (o) => o.name === prefix || ((skipped || !o.skip) && o.name.startsWith(prefix === '' ? '' : `${prefix}.`)),
      )
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((o) =>
        o.skip
          ? { name: o.name, value: o.get(), description: o.description, skip: true }
          : { name: o.name, value: o.get(), description: o.description },
      );
  }
}
