/**
 * A congestion-control algorithm as a loadable module (FreeBSD netinet/cc/cc_module.h
 * DECLARE_CC_MODULE and cc.c cc_modevent): attaching to an engine registers the
 * algorithm in its cc list with fresh tunables and the module's sysctls; quiescing
 * refuses (EBUSY) while the algorithm is the default or a connection (a listener
 * included: its connections inherit it) uses it; detaching removes both.
 */
import { ERRNO, SysError } from '../../kern/errno.js';
import type { ModuleDef, ModuleHost } from '../../kern/kern_linker.js';
import type { Tcp } from '../subr.js';
import type { CcAlgo } from './cc.js';

/** One integer tunable of the module: its full OID name and FreeBSD's description. */
export interface CcSysctl<T> {
  readonly oid: string;
  readonly key: keyof T & string;
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
  /** The module's own check against the other tunables (its SYSCTL_PROC handler): EINVAL when false. */
  readonly valid?: (v: number, t: T) => boolean;
}

export interface CcModuleSpec<T extends object> {
  /** The file name: `cc_cubic`. */
  readonly file: string;
  readonly description: string;
  readonly depends?: readonly string[];
  /** The module's own tunables and their defaults (copied for each engine). */
  readonly defaults: T;
  readonly sysctls: readonly CcSysctl<T>[];
  /** Read-only string OIDs (SYSCTL_STRING), such as a version. */
  readonly strings?: readonly { oid: string; value: string; description: string }[];
  /**
   * The algorithm for one engine. `t` holds the module's tunables and, through its
   * prototype, the engine's TCP tunables (rfc3465, abc_l_var...) as they are now.
   */
  algo(tcp: Tcp, t: T & Tcp['t']): CcAlgo;
  load?(): void;
  unload?(): void;
}

export function ccModule<T extends object>(spec: CcModuleSpec<T>): ModuleDef {
  const attached = new WeakMap<ModuleHost, CcAlgo>();
  return {
    name: spec.file,
    description: spec.description,
    depends: spec.depends,
    load: spec.load,
    unload: spec.unload,
    attach(host: ModuleHost): number {
      const t = Object.assign(Object.create(host.tcp.t) as Tcp['t'], spec.defaults) as T & Tcp['t'];
      const algo = spec.algo(host.tcp, t);
      const r = host.tcp.cc.register(algo);
      if (r < 0) return r;
      const rec = t as unknown as Record<string, number>;
      for (const s of spec.sysctls) {
        const valid = s.valid;
        if (valid === undefined) {
          host.sysctl.int(s.oid, rec, s.key, s.description, { min: s.min, max: s.max });
          continue;
        }
        host.sysctl.add({
          name: s.oid,
          kind: 'int',
          description: s.description,
          min: s.min,
          max: s.max,
          get: () => rec[s.key]!,
          set: (v) => {
            if (!valid(v as number, t)) throw new SysError('EINVAL', `'${s.oid}' cannot be ${v}`, 'sysctl');
            rec[s.key] = v as number;
          },
        });
      }
      for (const s of spec.strings ?? [])
        host.sysctl.add({
          name: s.oid,
          kind: 'string',
          readonly: true,
          description: s.description,
          get: () => s.value,
        });
      attached.set(host, algo);
      return 0;
    },
    quiesce(host: ModuleHost): number {
      const algo = attached.get(host);
      if (algo === undefined) return 0;
      if (host.tcp.cc.default === algo) return -ERRNO.EBUSY;
      for (const tp of host.tcp.tcbs) if (tp.cc === algo) return -ERRNO.EBUSY;
      return 0;
    },
    detach(host: ModuleHost): void {
      const algo = attached.get(host);
      if (algo === undefined) return;
      for (const s of spec.sysctls) host.sysctl.remove(s.oid);
      for (const s of spec.strings ?? []) host.sysctl.remove(s.oid);
      host.tcp.cc.unregister(algo.name);
      attached.delete(host);
    },
  };
}
