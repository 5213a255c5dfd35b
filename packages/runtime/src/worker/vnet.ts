/**
 * The vnet worker: the stack's vnet jails (netinet jail.ts), every one a complete Engine,
 * multiplexed in this one thread with the epairs that join them in memory. Its own
 * prison0 is no stack the tools show: jid 0 is the group workers' stack, whose cxgbe0 is
 * queues of the link those workers share and cannot move here; prison0 only parks the `b`
 * ends of epairs to those workers until they are lent to a jail (jailhostlink.ts). Time is the thread's
 * monotonic clock in µs; the jails' callouts run on a timer armed for the earliest one.
 * Control (vnet.ts VnetJails) arrives over comlink; errors go back with their codes.
 * Apps started in a jail (jexec, worker/jailapps.ts) run here on the jail's stack: a pump
 * delivers the epairs' frames and polls the apps until neither has work, whenever an
 * upcall, a callout or a control call may have made some.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { Jails, SysError, type JailInfo, type VnetLeftovers } from '@mcstack/netinet';
import { jailIfconfig, snapshot, type StackSnapshot } from '@mcstack/netinet/tools';
import type { Engine } from '@mcstack/netinet';
import { JailApps } from './jailapps.js';
import { JailVxlans, parseVxlanParams } from './jailvxlan.js';
import { JailHostLinks } from './jailhostlink.js';
import type { VnetEpairSpec } from '../hostepair.js';
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
  ifconfig(j: string, argv: string[]): string | Promise<string>;
  /** jexec J APP: start the registry's app `name` with `options` on jail J's stack. MCSTACK_NOAPP, or its start's error. */
  jexec(j: string, name: string, options: Record<string, string | number | boolean>): Promise<void>;
  /** kldload / kldunload in this thread: every jail's stack, later ones too (kern_linker.ts). */
  kldload(name: string): number;
  kldunload(name: string): number;
  /** The `b` end of an epair whose `a` end is in the group workers (hostepair.ts), in prison0. EEXIST. */
  hostEpair(s: VnetEpairSpec): void;
  /** The daemon's own `ifconfig` on such a `b` end: `vnet J`, `-vnet J`, `destroy`. ENXIO, ENOENT. */
  hostIfconfig(argv: string[]): void;
}

const { seed, port, modules } = workerData as { seed: number; port: MessagePort; modules: string[] };
const t0 = performance.now();
const nowUs = () => Math.floor((performance.now() - t0) * 1000);
/** The jails' vxlan interfaces (jailvxlan.ts): their frames in and out. */
const vxlans = new JailVxlans((name, frame) => {
  try {
    jails.input(name, frame, nowUs());
  } catch {
    return; // the interface went meanwhile
  }
  // One pump for a burst of datagrams: the apps' work and the timer's re-arm, not per frame.
  kick();
});
// A frame leaving a jail on an interface that is not one of its epairs' ends: an end of an
// epair to the group workers, or a vxlan's.
const jails = new Jails({
  seed,
  output: (_jid, ifp, frame, meta) => void (hostLinks.transmit(ifp, frame, meta) || vxlans.transmit(ifp, frame)),
});
/** Ends of epairs to the daemon's own stack (jailhostlink.ts). */
const hostLinks = new JailHostLinks(
  jails,
  (name, frame) => {
    try {
      jails.input(name, frame, nowUs());
    } catch {
      // the interface went meanwhile
    }
  },
  () => kick(),
);
// What the daemon loaded before this thread started (loader.conf's role here).
for (const m of modules) jails.host.kldload(m);
let timer: NodeJS.Timeout | null = null;
/** Each jail's apps, by its stack. */
const apps = new Map<Engine, JailApps>();
let kicked = false;

/** An upcall gave an app work: pump soon (once, however many upcalls). */
function kick(): void {
  if (kicked) return;
  kicked = true;
  setImmediate(pump);
}

/**
 * Deliver epair frames and poll the apps until neither has more to do (bounded: the loop
 * gets its turn), then re-arm the timer: what they did may have set an earlier callout
 * (a delayed ACK).
 */
function pump(): void {
  kicked = false;
  for (let i = 0; i < 256; i++) {
    const now = nowUs();
    let work = jails.flush(now) > 0;
    for (const a of apps.values()) if (a.poll(now)) work = true;
    if (!work) {
      arm();
      return;
    }
  }
  kick();
}

/** Run what is due, then sleep until the next callout. */
function tick(): void {
  timer = null;
  jails.advance(nowUs());
  if (apps.size > 0) pump();
  else arm();
}

/** Sleep until the earliest callout (at most a second: the clock moves on). */
function arm(): void {
  if (timer !== null) clearTimeout(timer);
  const next = jails.nextTimeout();
  const wait = Number.isFinite(next) ? Math.max(1, Math.ceil((next - nowUs()) / 1000)) : 1000;
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
  remove(j) {
    const e = jails.engine(jail(j))!;
    // Its apps close what they hold first; the teardown resets what is left.
    apps.get(e)?.stop();
    apps.delete(e);
    const r = jails.remove(j, nowUs());
    // Its vxlans went with its stack (their last frames, its RSTs, already sent): the sockets close.
    vxlans.destroyAll(e);
    return after(r);
  },
  list: () => jails.list(),
  snapshot(j) {
    const e = jails.engine(jail(j))!;
    return snapshot(e, { worker: `jail ${j}`, app: (fd) => apps.get(e)?.fdApp.get(fd) });
  },
  sysctl(j, name, value) {
    const tree = jails.engine(jail(j))!.sysctl;
    const old = tree.get(name);
    if (value === undefined) return { name, value: old };
    tree.set(name, value);
    return after({ name, old, value: tree.get(name) });
  },
  async ifconfig(j, argv) {
    const [ifname, w, target, ...rest] = argv;
    if (ifname !== undefined && /^vxlan\d+$/.test(ifname)) {
      const e = jails.engine(jail(j))!;
      if (w === 'create') {
        await vxlans.create(e, ifname, parseVxlanParams(argv.slice(2)));
        return after(`${ifname}\n`);
      }
      if (w === 'destroy' && target === undefined && rest.length === 0 && e.ifunit(ifname) !== null) {
        vxlans.destroy(ifname);
        return after('');
      }
      if (w === 'vnet' || w === '-vnet')
        throw new SysError('EOPNOTSUPP', `${ifname} stays in the jail that made it`, 'ifconfig');
    }
    if ((w === 'vnet' || w === '-vnet') && target !== undefined && target === '0')
      throw new SysError(
        'EOPNOTSUPP',
        "jid 0's interfaces are its workers' link queues: none moves in or out",
        'ifconfig',
      );
    if (target !== undefined && (w === 'vnet' || w === '-vnet')) jail(target);
    return after(jailIfconfig(jails, jail(j), argv));
  },
  async jexec(j, name, options) {
    const e = jails.engine(jail(j))!;
    let a = apps.get(e);
    if (a === undefined) {
      a = new JailApps(e, kick);
      apps.set(e, a);
    }
    await a.start(name, options);
    after(undefined);
  },
  kldload: (name) => jails.host.kldload(name),
  kldunload: (name) => jails.host.kldunload(name),
  hostEpair: (s) => after(hostLinks.create(s)),
  hostIfconfig(argv) {
    const [ifname, w, target, ...rest] = argv;
    if (ifname === undefined || !hostLinks.has(ifname))
      throw new SysError('ENXIO', `interface ${ifname ?? ''} does not exist`, 'ifconfig');
    if (rest.length > 0) throw new SysError('EINVAL', `unexpected '${rest[0]}'`, 'ifconfig');
    if (w === 'destroy' && target === undefined) return after(hostLinks.destroy(ifname));
    if ((w === 'vnet' || w === '-vnet') && target !== undefined) {
      if (w === 'vnet') jails.vmove(ifname, jail(target), 0);
      else jails.vreclaim(ifname, jail(target), 0);
      return after(undefined);
    }
    throw new SysError(
      'EOPNOTSUPP',
      `${ifname} is in the jails' thread: only vnet, -vnet and destroy reach it`,
      'ifconfig',
    );
  },
};

tick();
Comlink.expose(api, portEndpoint(port));
