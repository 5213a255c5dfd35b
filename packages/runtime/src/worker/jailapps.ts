/**
 * Apps inside one vnet jail (`mcstack jexec J APP`, jexec(8)'s role): the registry's apps
 * (echo, http-lite, rr-client...) run on the jail's own Engine in the vnet worker, with an
 * AppContext (apps/app.ts) that is the jail's sockets themselves. A jail is one stack in one
 * thread, so there is no coordinator: a listen is a listener per family on the jail's
 * wildcard address (addresses the jail gets later are covered), a connect is socket, bind
 * and connect. Engine upcalls reach the handler an app set with watch(); sockstat -j names
 * the app holding each descriptor.
 */
import {
  ERRNO,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  SOL_SOCKET,
  SO_REUSEADDR,
  SO_SETFIB,
  SysError,
  type Engine,
} from '@mcstack/netinet';
import { formatIPv6 } from '@mcstack/wire';
import type { AppContext, GroupApp } from '../apps/app.js';
import { lookupApp } from '../apps/registry.js';

export class JailApps {
  /** The apps in start order, polled by the vnet worker's pump. */
  readonly list: { name: string; app: GroupApp }[] = [];
  /** The app holding each descriptor it listens on or watches (sockstat's COMMAND). */
  readonly fdApp = new Map<number, string>();
  private readonly handlers = new Map<number, (fd: number, events: number) => void>();

  /** `kick`: an upcall queued work for an app (the pump should run soon). */
  constructor(
    private readonly engine: Engine,
    kick: () => void,
  ) {
    engine.upcall = (fd, events) => {
      const h = this.handlers.get(fd);
      if (h === undefined) return;
      h(fd, events);
      kick();
    };
  }

  /** Start app `name` (a registry name) with its options; MCSTACK_NOAPP when there is none, else its start's error. */
  async start(name: string, options: Record<string, unknown>): Promise<void> {
    const factory = lookupApp(name);
    if (factory === undefined) throw new SysError('MCSTACK_NOAPP', `no app named '${name}'`, 'jexec');
    const app = factory(options);
    const ctx = this.context(name, options);
    await app.start(ctx);
    this.list.push({ name, app });
  }

  /** One turn of every app; true when one did something. */
  poll(now: number): boolean {
    let work = false;
    for (const { app } of this.list) if (app.poll(now)) work = true;
    return work;
  }

  /** Whether an app has queued input for its next poll. */
  ready(): boolean {
    return this.list.some(({ app }) => app.ready?.() === true);
  }

  /** The jail is going: every app closes what it holds (jail -r then resets the rest). */
  stop(): void {
    for (const { app } of this.list) app.stop();
    this.list.length = 0;
    this.handlers.clear();
  }

  private context(name: string, options: Record<string, unknown>): AppContext {
    const e = this.engine;
    const port = options.port === undefined ? undefined : Number(options.port);
    const addrs: string[] = [];
    for (const ifp of e.net.ifnets) {
      if (ifp === e.net.lo0) continue;
      for (const ia of ifp.addrs4) addrs.push([24, 16, 8, 0].map((s) => (ia.addr >>> s) & 0xff).join('.'));
      for (const ia of ifp.addrs6) addrs.push(formatIPv6(ia.addr));
    }
    return {
      engine: e,
      worker: 0,
      workers: 1,
      options,
      port,
      addrs,
      connect: async (addr, fport, lport, fib) => {
        const fd = e.socket(addr.includes(':') ? 'inet6' : 'inet', 'stream');
        // The FIB before connect: the route is looked up in it (SO_SETFIB, EINVAL past net.fibs).
        let r = fib === undefined || fib === 0 ? 0 : e.setsockopt(fd, SOL_SOCKET, SO_SETFIB, fib);
        if (r === 0 && lport !== undefined)
          r = e.bind(fd, { addr: addr.includes(':') ? '::' : '0.0.0.0', port: lport });
        if (r === 0) r = e.connect(fd, { addr, port: fport });
        if (r < 0 && r !== -ERRNO.EINPROGRESS) {
          e.close(fd);
          return r;
        }
        return fd;
      },
      listen: async (lport, backlog, fib) => {
        const fds: number[] = [];
        try {
          for (const fam of ['inet', 'inet6'] as const) {
            const fd = e.socket(fam, 'stream');
            fds.push(fd);
            if (fib !== undefined && fib !== 0) check(e.setsockopt(fd, SOL_SOCKET, SO_SETFIB, fib), 'setsockopt');
            // One listener per family: the IPv6 one must not claim the IPv4 port as well.
            if (fam === 'inet6') check(e.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1), 'setsockopt');
            check(e.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1), 'setsockopt');
            check(e.bind(fd, { addr: fam === 'inet' ? '0.0.0.0' : '::', port: lport }), 'bind');
            check(e.listen(fd, backlog ?? 1024), 'listen');
          }
        } catch (err) {
          for (const fd of fds) e.close(fd);
          throw err;
        }
        for (const fd of fds) this.fdApp.set(fd, name);
        return fds;
      },
      // The jail's listeners hold their ports themselves: nothing is reserved elsewhere.
      unlisten: () => {},
      udpReserve: () =>
        Promise.reject(new SysError('EOPNOTSUPP', 'UDP port reservations are for the group workers', 'jexec')),
      udpRelease: () => Promise.resolve(),
      watch: (fd, handler) => {
        if (handler === null) {
          this.handlers.delete(fd);
          this.fdApp.delete(fd);
          return;
        }
        this.handlers.set(fd, handler);
        this.fdApp.set(fd, name);
      },
    };
  }
}

function check(r: number, what: string): void {
  if (r < 0) throw SysError.fromErrno(r, what);
}
