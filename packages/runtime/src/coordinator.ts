/**
 * The coordinator's tables (on the main thread, owned by a Stack): the ReservationTable
 * (every listening and connected 4-tuple, local-port allocation) and the IndirectionTable
 * (bucket -> worker, mirrored into shared memory the peer's senders and the workers read),
 * and the coordinator's side of the workers' batched syncs: releases, return-aligned
 * active-open reservations, passive registrations, listens and UDP binds.
 *
 * It takes no group lock and talks to no worker: the Stack does both, and asks this for
 * the answers and the table changes.
 */
import { IndirectionTable } from '@mcstack/rss';
import { SysError } from '@mcstack/netinet';
import { ReservationTable, type Reservation } from './reservations.js';
import { PortShares } from './portshares.js';
import type { IndirectionChange } from './link.js';
import type { SyncRequest, SyncReply, ConnectRequest, ConnectReply } from './control.js';
import { ipBytes } from './addrs.js';

/** Most 4-tuples one connect request of a sync may ask for (a pool refill asks at most its cap). */
const CONNECTS_MAX = 1024;

export class Coordinator {
  readonly reservations: ReservationTable;
  readonly indirection: IndirectionTable;
  /** The indirection table in shared memory (Uint16 per bucket). */
  readonly indirectionSab: SharedArrayBuffer;
  /** Reservations that conflicted at passive registration (must stay 0: no shared 4-tuple). */
  passiveConflicts = 0;
  /** UDP's bound ports (FreeBSD's udbinfo beside tcbinfo: a port space of its own). */
  readonly udpReservations: ReservationTable;
  /** Listening ports: every group's listener holds a share. */
  private readonly listens: PortShares;
  /** UDP ports: every group's socket of a dgram socket holds a share. */
  private readonly udpBinds: PortShares;

  constructor(workers: number, buckets: number | undefined, seed: number) {
    this.indirection = new IndirectionTable(workers, buckets);
    this.indirectionSab = new SharedArrayBuffer(this.indirection.buckets * 2);
    this.publishIndirection();
    this.reservations = new ReservationTable({ seed });
    this.udpReservations = new ReservationTable({ seed: seed + 1 });
    this.listens = new PortShares(this.reservations, true);
    this.udpBinds = new PortShares(this.udpReservations, false);
  }

  /**
   * A worker's batched sync: releases (even from a worker that died meanwhile), then, when
   * it is `alive`, its active opens and passive registrations. IPv4 comes as u32 numbers and
   * goes straight to the table's numeric entry points; IPv6 is parsed here.
   */
  sync(worker: number, r: SyncRequest, alive: boolean): SyncReply {
    const t = this.reservations;
    const out: SyncReply = { connects: [], passives: [] };
    const releases = r.releases;
    // Only its own: an id that outlived its reservation cannot free another worker's.
    for (let i = 0; i < releases.length; i++) t.release(releases[i]!, worker);
    if (!alive) return out;
    for (const c of r.connects) out.connects.push(this.reserveConnects(worker, c));
    const p4 = r.passives4;
    for (let i = 0; i + 3 < p4.length; i += 4) {
      let id = 0;
      try {
        id = t.connect4(p4[i]!, p4[i + 1]!, p4[i + 2]!, p4[i + 3]!, worker).id;
      } catch {
        this.passiveConflicts++;
      }
      out.passives.push(id);
    }
    for (const p of r.passives6) {
      let id = 0;
      try {
        id = t.connect(ipBytes(p.laddr), p.lport, ipBytes(p.faddr), p.fport, worker).id;
      } catch {
        this.passiveConflicts++;
      }
      out.passives.push(id);
    }
    return out;
  }

  /** Up to `c.count` return-aligned 4-tuples to one destination; the first refusal ends the request. */
  private reserveConnects(worker: number, c: ConnectRequest): ConnectReply {
    const t = this.reservations;
    const grants: number[] = [];
    try {
      const n = c.count;
      if (!Number.isInteger(n) || n < 1 || n > CONNECTS_MAX) throw new SysError('EINVAL', `count ${n}`, 'connect');
      if (c.lport !== undefined) {
        if (n !== 1) throw new SysError('EINVAL', `count ${n} with a local port`, 'connect');
        const res = this.reserveBound(worker, c.laddr, c.lport, c.faddr, c.fport);
        return { req: c.req, grants: [res.id, res.lport] };
      }
      if (typeof c.laddr === 'number' && typeof c.faddr === 'number') {
        for (let k = 0; k < n; k++) {
          const res = t.connectReserve4(c.laddr, c.faddr, c.fport, worker, this.indirection);
          grants.push(res.id, res.lport);
        }
      } else {
        const la = ipBytes(String(c.laddr));
        const fa = ipBytes(String(c.faddr));
        for (let k = 0; k < n; k++) {
          const res = t.connectReserve(la, fa, c.fport, worker, this.indirection);
          grants.push(res.id, res.lport);
        }
      }
      return { req: c.req, grants };
    } catch (e) {
      return { req: c.req, grants, errno: (e as SysError).code ?? 'EINVAL' };
    }
  }

  /**
   * The active open of a socket bound to `lport` first (node:net's localPort): bind() of
   * exactly that port under in_pcbbind_setup()'s rules without SO_REUSEADDR (EADDRINUSE
   * while anything holds it), then connect() of the bound reservation (EADDRINUSE if the
   * 4-tuple is taken). The port is not chosen to hash home: the caller opens it on the
   * worker its return 4-tuple hashes to.
   */
  private reserveBound(
    worker: number,
    laddr: number | string,
    lport: number,
    faddr: number | string,
    fport: number,
  ): Reservation {
    const t = this.reservations;
    const la = typeof laddr === 'number' ? u32Bytes(laddr) : ipBytes(laddr);
    const fa = typeof faddr === 'number' ? u32Bytes(faddr) : ipBytes(faddr);
    const r = t.bind(la, lport, { worker });
    try {
      return t.connectBound(r.id, fa, fport);
    } catch (e) {
      t.release(r.id);
      throw e;
    }
  }

  /**
   * Reserve `port` once for the stack (every group installs its own listener): the port
   * (port 0: an ephemeral one the table picks, which the groups then bind), or an errno name.
   */
  reserveListen(worker: number, family: 4 | 6, port: number, owner: string): number | string {
    return this.listens.take(worker, family, port, owner);
  }

  /** One listen of `worker` on (family, port) closed; the last one's close frees the port. */
  releaseListen(worker: number, family: 4 | 6, port: number): void {
    this.listens.release(worker, family, port);
  }

  /** Reserve a UDP port once for the stack (every group binds its own socket of `owner` on it). */
  reserveUdp(worker: number, family: 4 | 6, port: number, owner: string): number | string {
    return this.udpBinds.take(worker, family, port, owner);
  }

  /** One group's UDP socket on (family, port) closed; the last one's close frees the port. */
  releaseUdp(worker: number, family: 4 | 6, port: number): void {
    this.udpBinds.release(worker, family, port);
  }

  /**
   * The changes `[bucket, worker]` pairs would make. EINVAL on bad or repeated pairs,
   * ESRCH when a target is not `alive`.
   */
  indirectionChanges(
    pairs: ReadonlyArray<readonly [number, number]>,
    alive: (w: number) => boolean,
  ): IndirectionChange[] {
    const t = this.indirection;
    const seen = new Set<number>();
    const changes: IndirectionChange[] = [];
    for (const [bucket, to] of pairs) {
      if (!Number.isInteger(bucket) || bucket < 0 || bucket >= t.buckets || seen.has(bucket)) {
        throw new SysError('EINVAL', `bad or repeated RSS bucket ${bucket}`, 'setIndirection');
      }
      if (!Number.isInteger(to) || to < 0 || to >= t.workers)
        throw new SysError('EINVAL', `bad RSS worker ${to}`, 'setIndirection');
      if (!alive(to)) throw new SysError('ESRCH', `worker ${to} is not running`, 'setIndirection');
      seen.add(bucket);
      const from = t.entries[bucket]!;
      if (from !== to) changes.push({ bucket, from, to });
    }
    return changes;
  }

  applyIndirection(changes: readonly IndirectionChange[]): void {
    for (const c of changes) this.indirection.set(c.bucket, c.to);
    this.publishIndirection();
  }

  /**
   * A worker died: its buckets go to the `live` workers, round robin (the peer's next
   * segments find no pcb there: tcp_dropwithreset), and whatever it had reserved is free again.
   */
  workerGone(worker: number, live: readonly number[]): void {
    if (live.length > 0) {
      const changes: IndirectionChange[] = [];
      let k = 0;
      for (const b of this.indirection.bucketsOf(worker))
        changes.push({ bucket: b, from: worker, to: live[k++ % live.length]! });
      this.applyIndirection(changes);
    }
    this.reservations.releaseWorker(worker);
    // Its listeners and UDP sockets are gone with it.
    this.listens.releaseWorker(worker);
    this.udpBinds.releaseWorker(worker);
  }

  private publishIndirection(): void {
    const shared = new Uint16Array(this.indirectionSab);
    for (let b = 0; b < shared.length; b++) Atomics.store(shared, b, this.indirection.entries[b]!);
  }
}

/** An IPv4 address kept as a u32 (host order), as bytes. */
function u32Bytes(a: number): Uint8Array {
  return Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
}
