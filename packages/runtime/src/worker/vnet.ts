/**
 * The vnet worker: the stack's vnet jails (netinet jail.ts), every one a complete Engine,
 * multiplexed in this one thread with the epairs that join them in memory. Its own
 * prison0 is no stack the tools show: jid 0 is the group workers' stack, whose interfaces
 * are queues of the link those workers share and cannot move here. Time is the thread's
 * monotonic clock in µs; the jails' callouts run on a timer armed for the earliest one.
 * Control (vnet.ts VnetJails) arrives over comlink; errors go back with their codes.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { Jails, SysError, type JailInfo, type VnetLeftovers } from '@mcstack/netinet';
import { jailIfconfig, snapshot, type StackSnapshot } from '@mcstack/netinet/tools';
import { installErrorCodes } from '../control.js';
import { portEndpoint } from '../endpoint.js';

installErrorCodes(Comlink.transferHandlers as Map<string, unknown>);

/** What the main thread calls (VnetJails). */
export interface VnetWorkerApi {
  create(name: string): number;
  remove(j: string): VnetLeftovers;
  list(): JailInfo[];
  snapshot(j: string): StackSnapshot;
  sysctl(j: string, name: string, value?: string): { name: string; old?: number | string; value: number | string };
  ifconfig(j: string, argv: string[]): string;
  /** kldload / kldunload in this thread: every jail's stack, later ones too (kern_linker.ts). */
  kldload(name: string): number;
  kldunload(name: string): number;
}

const { seed, port, modules } = workerData as { seed: number; port: MessagePort; modules: string[] };
const t0 = performance.now();
const nowUs = () => Math.floor((performance.now() - t0) * 1000);
const jails = new Jails({ seed });
// What the daemon loaded before this thread started (loader.conf's role here).
for (const m of modules) jails.host.kldload(m);
let timer: NodeJS.Timeout | null = null;

/** Run what is due, then sleep until the next callout (at most a second: the clock moves on). */
function tick(): void {
  timer = null;
  const now = nowUs();
  jails.advance(now);
  const next = jails.nextTimeout();
  const wait = Number.isFinite(next) ? Math.max(1, Math.ceil((next - now) / 1000)) : 1000;
  timer = setTimeout(tick, Math.min(wait, 1000));
}

/** After a control call: deliver what it queued and re-arm for the earliest callout. */
function after<T>(r: T): T {
  jails.flush(nowUs());
  if (timer !== null) clearTimeout(timer);
  tick();
  return r;
}

/** A jail by name or jid, never the hidden prison0. */
function jail(j: string): string {
  if (j === '0' || jails.engine(j) === null) throw new SysError('ENOENT', `jail '${j}' not found`, 'jail');
  return j;
}

const api: VnetWorkerApi = {
  create: (name) => after(jails.create({ name, vnet: true }, nowUs())),
  remove: (j) => after(jails.remove(jail(j), nowUs())),
  list: () => jails.list(),
  snapshot: (j) => snapshot(jails.engine(jail(j))!, { worker: `jail ${j}` }),
  sysctl(j, name, value) {
    const tree = jails.engine(jail(j))!.sysctl;
    const old = tree.get(name);
    if (value === undefined) return { name, value: old };
    tree.set(name, value);
    return after({ name, old, value: tree.get(name) });
  },
  ifconfig(j, argv) {
    const [, w, target] = argv;
    if ((w === 'vnet' || w === '-vnet') && target !== undefined && target === '0')
      throw new SysError(
        'EOPNOTSUPP',
        "jid 0's interfaces are its workers' link queues: none moves in or out",
        'ifconfig',
      );
    if (target !== undefined && (w === 'vnet' || w === '-vnet')) jail(target);
    return after(jailIfconfig(jails, jail(j), argv));
  },
  kldload: (name) => jails.host.kldload(name),
  kldunload: (name) => jails.host.kldunload(name),
};

tick();
Comlink.expose(api, portEndpoint(port));
