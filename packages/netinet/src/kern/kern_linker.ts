/**
 * Loadable kernel modules (FreeBSD kern_linker.c, kern_module.c): kldload, kldstat,
 * kldunload. The set of modules that can be loaded (FreeBSD's /boot/kernel) is
 * `moduleRegister`ed once per process; loading one runs its process-wide part
 * (MOD_LOAD: a SYSINIT) once, however many engines exist, and attaches it to every
 * engine (VNET_SYSINIT), those made later included. Unloading asks every engine first
 * (MOD_QUIESCE): EBUSY while a connection uses the module or another module depends on
 * it; then detaches it everywhere and runs its process-wide MOD_UNLOAD.
 *
 * Engines run in one thread each (a group worker, a test), so "process" here is one
 * JavaScript realm; a multi-worker stack loads a module in each worker (runtime).
 */
import { ERRNO } from './errno.js';
import type { SysctlTree } from './sysctl.js';
import type { Tcp } from '../tcp/subr.js';
import type { NetStack } from '../netstack.js';

/** What a module's per-engine part attaches to (a vnet). */
export interface ModuleHost {
  readonly sysctl: SysctlTree;
  readonly tcp: Tcp;
  /** Its interfaces and link events (a TOE module binds to its driver's ports). */
  readonly net: NetStack;
}

/** A module as kldload finds it (moduledata_t with its MODULE_DEPEND list and VNET parts). */
export interface ModuleDef {
  /** The file name kldload takes: `cc_cubic`, `h_ertt`. */
  readonly name: string;
  readonly description: string;
  /** MODULE_DEPEND: loaded first, and held loaded while this one is. */
  readonly depends?: readonly string[];
  /** MOD_LOAD's process-wide part (SYSINIT): once per process. */
  load?(): void;
  /** MOD_UNLOAD's process-wide part (SYSUNINIT). */
  unload?(): void;
  /** VNET_SYSINIT: attach to one engine (register an algorithm, its sysctls); 0 or -errno. */
  attach(host: ModuleHost): number;
  /** MOD_QUIESCE in one engine: 0, or -EBUSY while something there uses the module. */
  quiesce?(host: ModuleHost): number;
  /** VNET_SYSUNINIT: detach from one engine. */
  detach(host: ModuleHost): void;
}

/** One line of kldstat. */
export interface KldStat {
  id: number;
  /** 1, plus one per loaded module depending on this one (FreeBSD's linker file refs). */
  refs: number;
  name: string;
  description: string;
}

interface LinkerFile {
  id: number;
  def: ModuleDef;
  /** Loaded modules that depend on this one. */
  dependents: Set<string>;
}

/** The kernel itself, file id 1 (its built-in NewReno cannot be unloaded). */
const KERNEL: KldStat = { id: 1, refs: 1, name: 'kernel', description: 'the engine with its built-in modules' };

class Linker {
  private readonly catalog = new Map<string, ModuleDef>();
  private readonly files = new Map<string, LinkerFile>();
  private readonly hosts = new Set<WeakRef<ModuleHost>>();
  private nextId = 2;

  /** Make a module loadable by name (a .ko in /boot/kernel); EEXIST for a name taken. */
  register(def: ModuleDef): number {
    if (this.catalog.has(def.name)) return -ERRNO.EEXIST;
    this.catalog.set(def.name, def);
    return 0;
  }

  /** The modules that can be loaded, in name order. */
  available(): string[] {
    return [...this.catalog.keys()].sort();
  }

  /** An engine comes up: every module loaded so far attaches to it. */
  attachHost(host: ModuleHost): void {
    for (const f of this.files.values()) f.def.attach(host);
    this.hosts.add(new WeakRef(host));
  }

  /**
   * vnet_destroy's VNET_SYSUNINITs: every loaded module detaches from the engine, which
   * then leaves the host list; the modules' process-wide parts stay (SYSUNINIT runs only
   * at kldunload).
   */
  destroyHost(host: ModuleHost): void {
    for (const f of this.files.values()) f.def.detach(host);
    this.detachHost(host);
  }

  /** An engine goes away before the garbage collector notices. */
  detachHost(host: ModuleHost): void {
    for (const r of this.hosts) if (r.deref() === host) this.hosts.delete(r);
  }

  private liveHosts(): ModuleHost[] {
    const out: ModuleHost[] = [];
    for (const r of this.hosts) {
      const h = r.deref();
      if (h === undefined) this.hosts.delete(r);
      else out.push(h);
    }
    return out;
  }

  /** kldload(2): the file id; ENOENT for an unknown name, EEXIST when already loaded. */
  load(name: string): number {
    const def = this.catalog.get(name);
    if (def === undefined) return -ERRNO.ENOENT;
    if (this.files.has(name)) return -ERRNO.EEXIST;
    const pulled: string[] = [];
    for (const dep of def.depends ?? []) {
      if (this.files.has(dep)) continue;
      const r = this.load(dep);
      if (r < 0) {
        for (const p of pulled) this.unload(p);
        return r;
      }
      pulled.push(dep);
    }
    def.load?.();
    const hosts = this.liveHosts();
    for (let i = 0; i < hosts.length; i++) {
      const r = def.attach(hosts[i]!);
      if (r < 0) {
        for (let j = 0; j < i; j++) def.detach(hosts[j]!);
        def.unload?.();
        for (const p of pulled) this.unload(p);
        return r;
      }
    }
    for (const dep of def.depends ?? []) this.files.get(dep)?.dependents.add(name);
    const id = this.nextId++;
    this.files.set(name, { id, def, dependents: new Set() });
    return id;
  }

  /** kldunload(2): 0; ENOENT when not loaded, EBUSY while in use anywhere or depended on. */
  unload(name: string): number {
    const f = this.files.get(name);
    if (f === undefined) return -ERRNO.ENOENT;
    if (f.dependents.size > 0) return -ERRNO.EBUSY;
    const hosts = this.liveHosts();
    for (const h of hosts) {
      const r = f.def.quiesce?.(h) ?? 0;
      if (r < 0) return r;
    }
    for (const h of hosts) f.def.detach(h);
    f.def.unload?.();
    this.files.delete(name);
    for (const dep of f.def.depends ?? []) this.files.get(dep)?.dependents.delete(name);
    return 0;
  }

  /** kldstat: the kernel, then the loaded files in load order. */
  stat(): KldStat[] {
    const out: KldStat[] = [{ ...KERNEL }];
    for (const [name, f] of this.files)
      out.push({ id: f.id, refs: 1 + f.dependents.size, name, description: f.def.description });
    return out;
  }

  isLoaded(name: string): boolean {
    return this.files.has(name);
  }
}

/** The process's linker. */
export const linker = new Linker();
