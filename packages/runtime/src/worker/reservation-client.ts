/**
 * A group worker's client of the coordinator's reservation table: active opens (a 4-tuple
 * from the destination's pool of pre-granted ones, else a reservation request), listens
 * (the coordinator reserves the port once for the stack), and the batched sync that
 * carries connect requests, pool refills, passive registrations and releases
 * (tuples.ts tracks which pcb holds which reservation).
 *
 * The coordinator's replies arrive on the event loop, outside the group lock; the loop
 * applies them (applyReplies) under the lock, since applying one opens connections.
 */
import {
  ERRNO,
  rtFibValid,
  SysError,
  SOL_SOCKET,
  SO_REUSEADDR,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  SO_SETFIB,
  type Engine,
} from '@mcstack/netinet';
import { parseIP } from '@mcstack/wire';
import type { CoordinatorApi, ConnectRequest, RemoteApi, SyncReply } from '../control.js';
import { TupleTracker, ConnectPool, type Dest } from './tuples.js';

/**
 * Passive registrations, releases and pool refills wait up to this long (ms) or for a batch
 * this big (a connect with no pre-granted port goes at once). Each sync costs the coordinator
 * a fixed message's worth, so the wait sets its cost per connection: crr at 2 workers, 5.0-5.4
 * µs of main thread per connection at 2 ms, 4.1-4.2 at 5 ms.
 */
export const SYNC_DEFER_MS = 5;
const SYNC_BATCH = 256;

export class ReservationClient {
  readonly tuples: TupleTracker;
  /** Active opens this group made (WorkerCounters connects). */
  connects = 0;
  /** A connect resolved (from the pool or a reply): the loop lets the apps' continuations run. */
  kick = false;
  private readonly engine: Engine;
  private readonly coord: RemoteApi<CoordinatorApi>;
  private readonly worker: number;
  /** The stack's interface addresses, without prefix lengths. */
  private readonly addrs: readonly string[];
  private nextReq = 1;
  private requests: ConnectRequest[] = [];
  private readonly waiting = new Map<number, { resolve: (fd: number) => void; dest: Dest; fib: number }>();
  /** Pre-granted active-open 4-tuples per destination (the connect fast path). */
  private readonly pool = new ConnectPool();
  private syncing = false;
  /** Coordinator replies not yet applied. */
  private replies: SyncReply[] = [];
  /** When the last sync went (ms). */
  private lastSync = 0;

  constructor(engine: Engine, coord: RemoteApi<CoordinatorApi>, worker: number, addrs: readonly string[]) {
    this.engine = engine;
    this.coord = coord;
    this.worker = worker;
    this.addrs = addrs;
    this.tuples = new TupleTracker(engine);
  }

  /** Whether there is something for the coordinator (the loop syncs, and sleeps at most SYNC_DEFER_MS). */
  get pending(): boolean {
    return this.requests.length > 0 || this.tuples.pending;
  }

  /**
   * Active open: a 4-tuple from the destination's pool of pre-granted ones when it has one
   * (no round trip: the fd is ready at once), else a reservation request for the next sync.
   */
  connect(addr: string, port: number, lport = 0, fib = 0): Promise<number> {
    // A FIB past net.fibs is refused before anything is reserved.
    if (!rtFibValid(this.engine.net, fib)) return Promise.resolve(-ERRNO.EINVAL);
    const d = this.dest(addr, port);
    if (typeof d === 'number') return Promise.resolve(d);
    if (lport !== 0) return this.connectFrom(d, lport, fib);
    const g = this.pool.take(d, performance.now());
    const refill = this.pool.refill(d, this.nextReq);
    if (refill !== null) {
      this.nextReq++;
      this.requests.push(refill);
    }
    if (g !== undefined) {
      // The app's continuation runs at the loop's next microtask checkpoint.
      this.kick = true;
      return Promise.resolve(this.openReserved(d.family, d.laddr, g.lport, addr, port, g.id, fib));
    }
    const req = this.nextReq++;
    const dest = d;
    return new Promise<number>((resolve) => {
      this.waiting.set(req, { resolve, dest, fib });
      this.requests.push({ req, laddr: dest.lkey, faddr: dest.fkey, fport: port, count: 1 });
    });
  }

  /** The destination addr:port (its addresses parsed once, when first seen), or -errno. */
  private dest(addr: string, port: number): Dest | number {
    const d = this.pool.find(addr, port);
    if (d !== undefined) return d;
    const fa = parseIP(addr);
    if (fa === null) return -ERRNO.EINVAL;
    const v6 = fa.length === 16;
    const laddr = this.addrs.find((a) => a.includes(':') === v6);
    if (laddr === undefined) return -ERRNO.EADDRNOTAVAIL;
    return this.pool.add(laddr, parseIP(laddr)!, addr, fa, port);
  }

  /** Active open from a local port the caller chose: always a request (the pool's ports are picked ones). */
  private connectFrom(dest: Dest, lport: number, fib: number): Promise<number> {
    if (!Number.isInteger(lport) || lport < 1 || lport > 0xffff) return Promise.resolve(-ERRNO.EINVAL);
    const req = this.nextReq++;
    return new Promise<number>((resolve) => {
      this.waiting.set(req, { resolve, dest, fib });
      this.requests.push({ req, laddr: dest.lkey, faddr: dest.fkey, fport: dest.fport, count: 1, lport });
    });
  }

  /**
   * Listen on `port` in this group, once the coordinator reserved it for `owner`: the fds,
   * one per family. Port 0 is the one the coordinator picked, the same for both families.
   */
  async listen(owner: string, port: number, backlog: number, fib = 0): Promise<number[]> {
    if (!rtFibValid(this.engine.net, fib)) throw new SysError('EINVAL', `fib ${fib} is not below net.fibs`, 'listen');
    const e = this.engine;
    const fds: number[] = [];
    const reserved: (4 | 6)[] = [];
    try {
      for (const fam of [4, 6] as const) {
        if (!this.addrs.some((a) => a.includes(':') === (fam === 6))) continue;
        const r = await this.coord.listen(this.worker, fam, port, owner);
        if (typeof r === 'string') throw new SysError(r, `port ${port}`, 'listen');
        port = r;
        reserved.push(fam);
        const fd = e.socket(fam === 4 ? 'inet' : 'inet6', 'stream');
        fds.push(fd);
        // SO_SETFIB before bind: accepted connections take the listener's FIB (sonewconn).
        check(setFib(e, fd, fib), 'setsockopt SO_SETFIB');
        // One listener per family: the IPv6 one must not claim the IPv4 port as well.
        if (fam === 6) check(e.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1), 'setsockopt');
        // As node:net's listeners (libuv sets it): connections still holding the port, TIME_WAIT
        // ones included, do not keep a new listener off it; another listener still does.
        check(e.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1), 'setsockopt');
        check(e.bind(fd, { addr: fam === 4 ? '0.0.0.0' : '::', port }), 'bind');
        check(e.listen(fd, backlog), 'listen');
      }
    } catch (err) {
      // Nothing of a failed listen stays: its sockets, and its share of the reservation.
      for (const fd of fds) e.close(fd);
      for (const fam of reserved) void this.coord.unlisten(this.worker, fam, port);
      throw err;
    }
    return fds;
  }

  /** This group closed its listener on `port` (every family's): the coordinator may free the port. */
  unlisten(port: number): void {
    for (const fam of [4, 6] as const) {
      if (this.addrs.some((a) => a.includes(':') === (fam === 6))) void this.coord.unlisten(this.worker, fam, port);
    }
  }

  /** Reserve a UDP (family, port) for `owner` (port 0: the coordinator picks); rejects with its errno. */
  async udpReserve(family: 4 | 6, port: number, owner: string): Promise<number> {
    const r = await this.coord.udpBind(this.worker, family, port, owner);
    if (typeof r === 'string') throw new SysError(r, `port ${port}`, 'bind');
    return r;
  }

  /** This group's UDP socket on (family, port) closed. */
  udpRelease(family: 4 | 6, port: number): Promise<void> {
    return this.coord.udpUnbind(this.worker, family, port).then(
      () => {},
      () => {},
    );
  }

  /** The batched sync with the coordinator: connect reservations (and pool refills), passive registrations, releases. */
  sync(nowMs = Infinity): void {
    if (this.syncing || !this.pending) return;
    // A connect waiting for its answer goes at once; pool refills, passive registrations
    // and releases wait to fill a batch (one structured clone per batch, not per turn).
    if (this.waiting.size === 0 && nowMs - this.lastSync < SYNC_DEFER_MS && this.queued() < SYNC_BATCH) return;
    this.lastSync = nowMs;
    this.syncing = true;
    const connects = this.requests;
    this.requests = [];
    for (const c of connects) {
      const w = this.waiting.get(c.req);
      if (w !== undefined) w.dest.inSync = true;
    }
    const { passives4, passives6, releases } = this.tuples.take();
    this.coord.sync(this.worker, { connects, releases, passives4, passives6 }).then(
      (reply) => {
        this.syncing = false;
        this.replies.push(reply);
      },
      () => {
        this.syncing = false;
        this.tuples.syncFailed();
      },
    );
  }

  /** Apply the coordinator's replies (under the group lock): registrations, grants, waiting connects. */
  applyReplies(): void {
    const replies = this.replies;
    if (replies.length === 0) return;
    this.replies = [];
    for (const reply of replies) {
      this.tuples.passiveReplies(reply.passives);
      const back = this.tuples.releases;
      for (const c of reply.connects) {
        if (this.pool.answer(c, back)) continue;
        const w = this.waiting.get(c.req);
        if (w === undefined) continue;
        this.waiting.delete(c.req);
        const d = w.dest;
        d.inSync = false;
        d.answered++;
        const g = c.grants;
        if (g.length < 2) {
          w.resolve(-((ERRNO as Record<string, number>)[c.errno ?? 'EINVAL'] ?? ERRNO.EINVAL));
          continue;
        }
        w.resolve(this.openReserved(d.family, d.laddr, g[1]!, d.faddr, d.fport, g[0]!, w.fib));
      }
    }
    // The apps' continuations (connects resolved) run at the loop's next microtask checkpoint.
    this.kick = true;
  }

  /** Give back the pre-granted ports idle since `nowMs` less the pool's idle time. */
  trim(nowMs: number): void {
    this.pool.trim(nowMs, this.tuples.releases);
  }

  /** Give back every pre-granted port (they were aligned to an old indirection table, or the worker stops). */
  flush(): void {
    this.pool.flush(this.tuples.releases);
  }

  /** 4-tuples asked for, registrations and releases waiting for the next sync. */
  private queued(): number {
    let n = this.tuples.queued;
    for (const c of this.requests) n += c.count;
    return n;
  }

  /** Bind the granted port and connect; the pcb takes the reservation as it enters the hash. */
  private openReserved(
    family: 'inet' | 'inet6',
    laddr: string,
    lport: number,
    faddr: string,
    fport: number,
    id: number,
    fib: number,
  ): number {
    const e = this.engine;
    const fd = e.socket(family, 'stream');
    // SO_REUSEADDR: this group may hold other connections from the same local port (to other destinations).
    e.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    // The FIB before connect: the route (and so the next hop) is looked up in it.
    let r = setFib(e, fd, fib);
    if (r === 0) r = e.bind(fd, { addr: laddr, port: lport });
    if (r === 0) {
      this.tuples.pendingActive = id;
      r = e.connect(fd, { addr: faddr, port: fport });
    }
    if (this.tuples.pendingActive !== 0) {
      // The pcb never entered the hash: give the reservation back.
      this.tuples.pendingActive = 0;
      this.tuples.releases.push(id);
    }
    if (r < 0 && r !== -ERRNO.EINPROGRESS) {
      e.close(fd);
      return r;
    }
    this.connects++;
    return fd;
  }
}

/** SO_SETFIB when not the default FIB (a socket starts in FIB 0 here): 0 or -EINVAL past net.fibs. */
function setFib(e: Engine, fd: number, fib: number): number {
  return fib === 0 ? 0 : e.setsockopt(fd, SOL_SOCKET, SO_SETFIB, fib);
}

function check(r: number, what: string): void {
  if (r < 0) throw SysError.fromErrno(r, what);
}
