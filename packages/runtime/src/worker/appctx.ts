/**
 * A group's apps and the AppContext each one gets (apps/app.ts): apps named in the
 * stack's config are found in the registry (apps/registry.ts) or loaded from their module
 * URL; their connects and listens go through the group's reservation client; engine
 * upcalls reach the handler an app set with watch(). It also remembers which app holds
 * each descriptor it listens on or watches (sockstat's COMMAND).
 */
import { SysError, type Engine } from '@mcstack/netinet';
import type { AppSpec } from '../control.js';
import type { GroupApp, AppContext, GroupAppFactory } from '../apps/app.js';
import { lookupApp } from '../apps/registry.js';
import type { ReservationClient } from './reservation-client.js';
import type { ToeChannel } from './toeproxy.js';
import type { Remote } from 'comlink';
import type { CoordinatorApi } from '../control.js';

/** What the apps' connects, listens and UDP ports go through: a group's reservation client, or the card's (cardapps.ts). */
export type AppReservations = Pick<ReservationClient, 'connect' | 'listen' | 'unlisten' | 'udpReserve' | 'udpRelease'>;

export class GroupApps {
  /** The apps in config order, polled once per loop turn. */
  readonly list: { name: string; app: GroupApp }[] = [];
  /** The app holding each descriptor it listens on or watches. */
  readonly fdApp = new Map<number, string>();
  /** Upcall handlers by fd (AppContext.watch). */
  private readonly handlers: (((fd: number, events: number) => void) | undefined)[] = [];

  constructor(
    private readonly engine: Engine,
    private readonly worker: number,
    private readonly workers: number,
    /** The stack's interface addresses, without prefix lengths. */
    private readonly addrs: readonly string[],
    private readonly reservations: AppReservations,
    /** The stack's TOE card's channel (toeproxy.ts), or null: active opens go there when the coordinator admits them. */
    private readonly toe: ToeChannel | null = null,
    private readonly coord: Remote<CoordinatorApi> | null = null,
  ) {
    const handlers = this.handlers;
    engine.upcall = (fd, events) => {
      handlers[fd]?.(fd, events);
    };
  }

  /** Make and start each app of `specs` in order (an app may open connections in start()). */
  async start(specs: readonly AppSpec[]): Promise<void> {
    for (const spec of specs) {
      const name = 'module' in spec ? (spec.name ?? spec.module) : spec.name;
      const factory = 'module' in spec ? await loadModuleApp(spec.module, spec.export) : lookupApp(spec.name);
      if (factory === undefined) throw new SysError('MCSTACK_NOAPP', `no app named '${name}'`);
      const app = factory(spec.options ?? {});
      this.list.push({ name, app });
      // Loading the module took time: an app may open connections in start().
      this.engine.advance(performance.now() * 1000);
      await app.start(this.context(name, spec));
    }
  }

  /**
   * An active open: on the TOE card when `toe` is on and the card admits it (counted by
   * reason when not, ToeCard.admit), else through this group's reservations. A bound local
   * port or another FIB stays on the host: the card reserves its own ports in FIB 0.
   */
  private connect(app: string, addr: string, port: number, lport: number | undefined, fib: number): Promise<number> {
    if (this.toe?.on === true && this.coord !== null && lport === undefined && fib === 0)
      return this.connectOffloaded(this.toe, this.coord, app, addr, port);
    // The reservation client's own promise, not one wrapping it: an async wrapper's extra
    // turns of the microtask queue cost crr (a connect per connection) two thirds of its rate.
    return this.reservations.connect(addr, port, lport, fib);
  }

  /** An active open while `toe` is on: the card's when the coordinator admits it, else the host's. */
  private async connectOffloaded(
    toe: ToeChannel,
    coord: Remote<CoordinatorApi>,
    app: string,
    addr: string,
    port: number,
  ): Promise<number> {
    if (await coord.toeAdmit(addr, port)) {
      const fd = toe.connect(addr, port, app);
      if (fd >= 0) this.fdApp.set(fd, app);
      return fd;
    }
    return this.reservations.connect(addr, port, undefined, 0);
  }

  private context(name: string, spec: AppSpec): AppContext {
    return {
      engine: this.engine,
      worker: this.worker,
      workers: this.workers,
      options: spec.options ?? {},
      port: spec.port,
      addrs: [...this.addrs.filter((a) => !a.includes(':')), ...this.addrs.filter((a) => a.includes(':'))],
      connect: (addr, port, lport, fib) => this.connect(name, addr, port, lport, fib ?? spec.fib ?? 0),
      listen: async (port, backlog, fib) => {
        const fds = await this.reservations.listen(name, port, backlog ?? 1024, fib ?? spec.fib ?? 0);
        for (const fd of fds) this.fdApp.set(fd, name);
        return fds;
      },
      unlisten: (port) => this.reservations.unlisten(port),
      udpReserve: (family, port, owner) => this.reservations.udpReserve(family, port, `${name}:${owner}`),
      udpRelease: (family, port) => this.reservations.udpRelease(family, port),
      watch: (fd, handler) => {
        this.handlers[fd] = handler ?? undefined;
        if (handler) this.fdApp.set(fd, name);
        else this.fdApp.delete(fd);
      },
    };
  }
}

async function loadModuleApp(url: string, name = 'default'): Promise<GroupAppFactory> {
  const mod = (await import(url)) as Record<string, unknown>;
  const f = mod[name];
  if (typeof f !== 'function') throw new SysError('MCSTACK_NOAPP', `${url} has no export '${name}' that makes an app`);
  return f as GroupAppFactory;
}
