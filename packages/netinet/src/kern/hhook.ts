/**
 * Helper hook points (FreeBSD kern_hhook.c): a subsystem owns a head per hook point (per
 * engine, as FreeBSD's are per vnet) and runs the hooks added to it; a helper that keeps
 * per-object data (HELPER_NEEDS_OSD) gets its value from the object's OSD, and objects
 * without one (made before the helper came) are skipped. Callers test `nhooks` first, so
 * a hook point with no hook costs one comparison.
 */
import { type Osd, osdGet } from './osd.js';

/** hhook types (sys/hhook.h). */
export const HHOOK_TYPE_TCP = 1;

/** A hook function: 0, or an errno the caller may ignore (hhook_func_t). */
export type HookFunc<C> = (type: number, id: number, udata: unknown, ctx: C, hdata: unknown, hosd: Osd) => number;

/** struct hookinfo */
export interface HookInfo<C> {
  readonly hook_type: number;
  readonly hook_id: number;
  readonly hook_udata?: unknown;
  readonly hook_func: HookFunc<C>;
}

interface Hook<C> {
  func: HookFunc<C>;
  udata: unknown;
  /** The helper's OSD slot when it needs per-object data, else 0. */
  osdSlot: number;
}

/** struct hhook_head */
export class HhookHead<C> {
  nhooks = 0;
  private readonly hooks: Hook<C>[] = [];

  constructor(
    readonly type: number,
    readonly id: number,
  ) {}

  /** hhook_add_hook: EEXIST when the function is there already. */
  add(info: HookInfo<C>, osdSlot: number): boolean {
    if (this.hooks.some((h) => h.func === info.hook_func)) return false;
    this.hooks.push({ func: info.hook_func, udata: info.hook_udata, osdSlot });
    this.nhooks = this.hooks.length;
    return true;
  }

  /** hhook_remove_hook */
  remove(info: HookInfo<C>): void {
    const i = this.hooks.findIndex((h) => h.func === info.hook_func);
    if (i >= 0) this.hooks.splice(i, 1);
    this.nhooks = this.hooks.length;
  }

  /** hhook_run_hooks */
  run(ctx: C, hosd: Osd): void {
    const hooks = this.hooks;
    for (let i = 0; i < hooks.length; i++) {
      const h = hooks[i]!;
      let hdata: unknown;
      if (h.osdSlot !== 0) {
        hdata = osdGet(hosd, h.osdSlot);
        if (hdata === undefined) continue;
      }
      h.func(this.type, this.id, h.udata, ctx, hdata, hosd);
    }
  }
}
