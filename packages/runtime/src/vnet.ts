/**
 * A stack's vnet jails (FreeBSD vnet jails, netinet jail.ts) in the runtime: one vnet
 * worker thread (worker/vnet.ts) holds every jail of the stack, each a complete Engine
 * with its own interfaces, FIBs, pcbs, host cache, SYN cache, sysctl tree, counters and
 * zones, joined to each other by epairs in that thread's memory. The group workers are
 * jid 0 and go on carrying traffic while jails come and go: nothing of theirs is shared.
 *
 *   const v = new VnetJails({ seed: 1 });
 *   const jid = await v.create('web');              // jail -c name=web vnet
 *   await v.ifconfig('web', ['epair', 'create']);   // ifconfig -j web epair create
 *   await v.snapshot('web');                        // what ifconfig/netstat/sockstat -j show
 *   await v.remove('web');                          // jail -r web
 *   await v.close();
 *
 * The thread starts with the first jail. A worker that fails is reported (the error
 * rebuilt from its codes) on the next call and the next create starts a fresh one.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { SysError, type JailInfo, type VnetLeftovers } from '@mcstack/netinet';
import type { StackSnapshot } from '@mcstack/netinet/tools';
import { installErrorCodes } from './control.js';
import { portEndpoint } from './endpoint.js';
import { checkAppSpec } from './apps/registry.js';
import type { VnetWorkerApi } from './worker/vnet.js';
import type { VnetEpairSpec } from './hostepair.js';

installErrorCodes(Comlink.transferHandlers as Map<string, unknown>);

export class VnetJails {
  private worker: Worker | null = null;
  private remote: Comlink.Remote<VnetWorkerApi> | null = null;
  private failed: Error | null = null;
  private readonly seed: number;
  /** Modules the stack has loaded: the vnet worker loads them as it starts. */
  private readonly modules = new Set<string>();

  private readonly onError: ((e: Error) => void) | undefined;

  /** `onError`: told at once when the thread fails (the next call also throws its error). */
  constructor(o: { seed?: number; onError?: (e: Error) => void } = {}) {
    this.seed = o.seed ?? 1;
    this.onError = o.onError;
  }

  private api(start: boolean): Comlink.Remote<VnetWorkerApi> | null {
    if (this.failed !== null) {
      const e = this.failed;
      this.failed = null;
      throw e;
    }
    if (this.remote === null && start) {
      const { port1, port2 } = new MessageChannel();
      const w = new Worker(new URL('./worker/vnet.js', import.meta.url), {
        workerData: { seed: this.seed, port: port2, modules: [...this.modules] },
        transferList: [port2],
      });
      w.on('error', (e) => {
        this.failed = e;
        this.drop();
        this.onError?.(e);
      });
      w.on('exit', () => this.drop());
      w.unref();
      this.worker = w;
      port1.unref();
      this.remote = Comlink.wrap<VnetWorkerApi>(portEndpoint(port1));
    }
    return this.remote;
  }

  private drop(): void {
    this.remote?.[Comlink.releaseProxy]();
    this.remote = null;
    this.worker = null;
  }

  private need(): Comlink.Remote<VnetWorkerApi> {
    const r = this.api(false);
    if (r === null) throw new SysError('ENOENT', 'no jails exist', 'jail');
    return r;
  }

  /** jail -c name=N vnet: the jid. EEXIST, EINVAL (bad name). */
  create(name: string): Promise<number> {
    return this.api(true)!.create(name);
  }
  /** jail -r: what the teardown found still held (all zero). ENOENT. */
  async remove(j: string): Promise<VnetLeftovers> {
    return this.need().remove(j);
  }
  /** jls */
  async list(): Promise<JailInfo[]> {
    return this.api(false)?.list() ?? [];
  }
  async snapshot(j: string): Promise<StackSnapshot> {
    return this.need().snapshot(j);
  }
  async sysctl(
    j: string,
    name: string,
    value?: string,
  ): Promise<{ name: string; old?: number | string; value: number | string }> {
    return this.need().sysctl(j, name, value);
  }
  /** ifconfig -j J words: what ifconfig prints. */
  async ifconfig(j: string, argv: string[]): Promise<string> {
    return this.need().ifconfig(j, argv);
  }
  /** jexec J APP [KEY=VALUE...]: an app of the registry running on jail J's stack (worker/jailapps.ts). */
  async jexec(j: string, name: string, options: Record<string, string | number | boolean>): Promise<void> {
    checkAppSpec(name, options); // EINVAL before the jails' thread is asked (apps/options.ts)
    return this.need().jexec(j, name, options);
  }

  /**
   * kldload in the jails' thread too (each jail's stack attaches it; the module's
   * process-wide part runs once there): the file id or -errno, 0 when no jail thread runs.
   */
  async kldload(name: string): Promise<number> {
    const r = this.remote === null ? 0 : await this.remote.kldload(name);
    if (r >= 0) this.modules.add(name);
    return r;
  }
  /** kldunload in the jails' thread: 0 or -errno (EBUSY while a jail's connection uses it). */
  async kldunload(name: string): Promise<number> {
    const r = this.remote === null ? 0 : await this.remote.kldunload(name);
    if (r >= 0) this.modules.delete(name);
    return r;
  }

  /** The `b` end of an epair to the group workers (hostepair.ts), in the thread's prison0 (started if need be). */
  async hostEpair(s: VnetEpairSpec): Promise<void> {
    return this.api(true)!.hostEpair(s);
  }
  /** The daemon's own `ifconfig` on such a `b` end: `vnet J`, `-vnet J`, `destroy`. */
  async hostIfconfig(argv: string[]): Promise<void> {
    return this.need().hostIfconfig(argv);
  }

  /** Stop the thread (every jail goes with it). */
  async close(): Promise<void> {
    const w = this.worker;
    this.drop();
    if (w !== null) await w.terminate();
  }
}
