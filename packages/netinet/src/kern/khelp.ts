/**
 * Kernel helpers (FreeBSD kern_khelp.c, sys/khelp.h): a helper module adds hook functions
 * to hook points and, with HELPER_NEEDS_OSD, keeps data per object in the object's OSD
 * under its own slot (khelp_init_osd when a tcpcb is made, khelp_destroy_osd when it
 * goes). Loaded as a module (`kldload h_ertt`): the slot is taken once per process, the
 * hooks are added to every engine's heads. Unloading is EBUSY while any tcpcb holds the
 * helper's data (FreeBSD's h_refcount): connections made before the helper came have
 * none and run on without it.
 */
import { ERRNO } from './errno.js';
import type { HookInfo } from './hhook.js';
import type { ModuleDef, ModuleHost } from './kern_linker.js';
import { OSD_KHELP, type Osd, osdDel, osdDeregister, osdGet, osdRegister, osdSet } from './osd.js';
import type { TcpHhookData } from '../tcp/tcp_hhook.js';

export const HELPER_NEEDS_OSD = 0x01;
export const HELPER_CLASS_TCP = 0x01;

/** struct helper, for TCP helpers. */
export interface Helper<D = unknown> {
  readonly name: string;
  readonly flags: number;
  readonly classes: number;
  readonly hooks: readonly HookInfo<TcpHhookData>[];
  /** The per-object data, fresh (the helper zone's constructor). */
  ctor(): D;
  dtor?(d: D): void;
  /**
   * Live handoff (tcp/export.ts): the data as numbers and ArrayBuffers, engine times made
   * relative to `now`; `dimport` rebuilds it on another engine's clock, undefined when `x`
   * is not of its shape (the import is EINVAL). A helper without them holds its
   * connections where they are (export refuses with EOPNOTSUPP).
   */
  dexport?(d: D, now: number): HelperExport;
  dimport?(x: HelperExport, now: number): D | undefined;
  /** The OSD slot while registered, else 0. */
  id: number;
}

/** A helper's per-connection data in a connection export: structured-clonable, buffers transferable. */
export interface HelperExport {
  nums: Record<string, number>;
  bufs: Record<string, ArrayBuffer>;
}

/** The registered helpers by name (khelp_get_id). */
const helpers = new Map<string, Helper>();

/** khelp_get_id: the helper's OSD slot, or -ENOENT when it is not registered. */
export function khelpGetId(name: string): number {
  return helpers.get(name)?.id ?? -ERRNO.ENOENT;
}

/** khelp_get_osd: the helper's data in an object, undefined when it has none. */
export function khelpGetOsd(hosd: Osd, id: number): unknown {
  return id > 0 ? osdGet(hosd, id) : undefined;
}

/** khelp_init_osd: the data of every helper of `classes` attached to this engine. */
export function khelpInitOsd(classes: number, attached: readonly Helper[], hosd: Osd): void {
  for (const h of attached) {
    if ((h.classes & classes) !== 0 && (h.flags & HELPER_NEEDS_OSD) !== 0) osdSet(hosd, h.id, h.ctor());
  }
}

/** khelp_destroy_osd */
export function khelpDestroyOsd(attached: readonly Helper[], hosd: Osd): void {
  for (const h of attached) {
    const d = osdGet(hosd, h.id);
    if (d === undefined) continue;
    h.dtor?.(d);
    osdDel(hosd, h.id);
  }
  hosd.length = 0;
}

/** DECLARE_HELPER: the helper as a loadable module named `file`. */
export function khelpModule(file: string, description: string, helper: Helper): ModuleDef {
  const holds = (host: ModuleHost): boolean => {
    for (const tp of host.tcp.tcbs) if (osdGet(tp.osd, helper.id) !== undefined) return true;
    return false;
  };
  return {
    name: file,
    description,
    load(): void {
      helper.id = (helper.flags & HELPER_NEEDS_OSD) !== 0 ? osdRegister(OSD_KHELP) : 0;
      helpers.set(helper.name, helper);
    },
    unload(): void {
      helpers.delete(helper.name);
      if (helper.id > 0) osdDeregister(OSD_KHELP, helper.id);
      helper.id = 0;
    },
    attach(host: ModuleHost): number {
      for (const hi of helper.hooks) host.tcp.hhooks.heads[hi.hook_id]!.add(hi, helper.id);
      host.tcp.khelps.push(helper);
      return 0;
    },
    quiesce(host: ModuleHost): number {
      return holds(host) ? -ERRNO.EBUSY : 0;
    },
    detach(host: ModuleHost): void {
      for (const hi of helper.hooks) host.tcp.hhooks.heads[hi.hook_id]!.remove(hi);
      const i = host.tcp.khelps.indexOf(helper);
      if (i >= 0) host.tcp.khelps.splice(i, 1);
    },
  };
}
