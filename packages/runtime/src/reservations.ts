/**
 * The coordinator's reservation table: FreeBSD's inpcbinfo connection hash and port hash
 * (ipi_hashbase, ipi_porthashbase) reduced to what must be unique across every connection
 * group: bound and listening (laddr, lport) pairs and connected 4-tuples, per address
 * family (IPv6 sockets are V6ONLY, net.inet6.ip6.v6only=1, so the families do not
 * overlap). Workers ask it before they create a pcb; it is single-threaded (it runs in the
 * coordinator), so whatever the races between workers, two requests are decided one after
 * the other and no two connections ever share a 4-tuple.
 *
 * - bind: in_pcbbind_setup()'s conflict rule. Without SO_REUSEADDR/SO_REUSEPORT the lookup
 *   is wildcard (INPLOOKUP_WILDCARD): any reservation on the port whose local address is
 *   the same or where either side is the wildcard conflicts, connected ones included. With
 *   either option it is exact: only an unconnected reservation on exactly the same local
 *   address conflicts, and not even that when both have SO_REUSEPORT. EADDRINUSE.
 * - ephemeral ports: in_pcb_lport(): net.inet.ip.portrange.first..last (10000..65535),
 *   starting at a random point (portrange.randomized=1) from an injected seeded source and
 *   probing upward with wrap. EADDRNOTAVAIL when none is free.
 * - connect: the 4-tuple must be unused (in_pcb_lport_dest(): an ephemeral port may be
 *   shared by connections to different destinations), and an ephemeral port is never one a
 *   bound or listening reservation holds on the same or the wildcard address.
 * - connectReserve: the active open of DESIGN.md decision 4 (Seastar, F-Stack): the port is
 *   chosen so that the RETURN 4-tuple (faddr:fport -> laddr:lport, the direction replies
 *   travel) hashes to a bucket the opening worker owns.
 */
import {
  IndirectionTable, toeplitzForKey, rssHashType, hashTypeHasPorts, RSS_HASHCONFIG_DEFAULT, IPPROTO_TCP,
  M_HASHTYPE_NONE, type Toeplitz,
} from '@mcstack/rss';
import { formatIP } from '@mcstack/wire/addr';
import { SysError } from '@mcstack/netinet/kern/errno';
import { SeededRandom, type RandomSource } from '@mcstack/netinet/kern/random';
import type { RssOptions } from './link.js';

/** Socket options that relax bind conflicts (FreeBSD sys/sys/socket.h values). */
export const SO_REUSEADDR = 0x0004;
export const SO_REUSEPORT = 0x0200;

/** net.inet.ip.portrange defaults (sys/netinet/in.h IPPORT_EPHEMERALFIRST/LAST). */
export const IPPORT_EPHEMERALFIRST = 10000;
export const IPPORT_EPHEMERALLAST = 65535;

export type ReservationKind = 'bound' | 'listen' | 'connected';

/**
 * One reservation. Addresses are 4-byte (IPv4) or 16-byte (IPv6) arrays in network order;
 * an all-zero local address is the wildcard (INADDR_ANY, ::).
 */
export interface Reservation {
  readonly id: number;
  kind: ReservationKind;
  readonly family: 4 | 6;
  laddr: Uint8Array;
  readonly lport: number;
  /** Foreign address and port, set when connected. */
  faddr: Uint8Array | null;
  fport: number;
  /** SO_REUSEADDR | SO_REUSEPORT as given at bind time. */
  readonly options: number;
  /** The worker (connection group) that holds it; its death releases it. */
  readonly worker: number;
}

export interface PortRange {
  first: number;
  last: number;
  randomized: boolean;
}

export interface ReservationTableOptions {
  /** The seeded source for ephemeral ports (default a SeededRandom of `seed`). */
  random?: RandomSource;
  seed?: number;
  /** net.inet.ip.portrange.{first,last,randomized}. */
  portRange?: Partial<PortRange>;
  /** The key and hash configuration the links use (so return tuples hash as they will). */
  rss?: RssOptions;
}

export interface BindOptions {
  /** SO_REUSEADDR | SO_REUSEPORT. */
  options?: number;
  worker?: number;
}

export interface ConnectReserveOptions {
  /** IP protocol of the connection (default TCP): it picks the RSS hash type. */
  protocol?: number;
}

export class ReservationTable {
  readonly portRange: PortRange;
  private readonly random: RandomSource;
  private readonly toeplitz: Toeplitz;
  private readonly hashConfig: number;
  private nextId = 1;
  private readonly byId = new Map<number, Reservation>();
  /** ipi_porthashbase: reservations by (family, lport). */
  private readonly byPort = new Map<number, Reservation[]>();
  /** ipi_hashbase: connected reservations by 4-tuple. */
  private readonly tuples = new Map<string, Reservation>();

  constructor(opts: ReservationTableOptions = {}) {
    this.random = opts.random ?? new SeededRandom(opts.seed ?? 0);
    const first = opts.portRange?.first ?? IPPORT_EPHEMERALFIRST;
    const last = opts.portRange?.last ?? IPPORT_EPHEMERALLAST;
    checkPort(first, 'portrange.first');
    checkPort(last, 'portrange.last');
    if (first > last) throw new SysError('EINVAL', `portrange.first ${first} > portrange.last ${last}`);
    this.portRange = { first, last, randomized: opts.portRange?.randomized ?? true };
    this.toeplitz = toeplitzForKey(opts.rss?.key);
    this.hashConfig = opts.rss?.hashConfig ?? RSS_HASHCONFIG_DEFAULT;
  }

  /** Live reservations. */
  get size(): number {
    return this.byId.size;
  }

  get(id: number): Reservation | undefined {
    return this.byId.get(id);
  }

  *entries(): IterableIterator<Reservation> {
    yield* this.byId.values();
  }

  /**
   * bind(): reserve (laddr, lport) under in_pcbbind_setup()'s rules; lport 0 picks an
   * ephemeral port. EADDRINUSE on a conflict, EADDRNOTAVAIL when no ephemeral port is free.
   */
  bind(laddr: Uint8Array, lport: number, opts: BindOptions = {}): Reservation {
    const family = familyOf(laddr, 'bind');
    const options = (opts.options ?? 0) & (SO_REUSEADDR | SO_REUSEPORT);
    if (lport !== 0) checkPort(lport, 'bind');
    if (lport === 0) {
      lport = this.scanPorts((port) => this.bindConflict(family, laddr, port, options) === undefined);
      if (lport === 0) throw new SysError('EADDRNOTAVAIL', 'no free ephemeral port', 'bind');
    } else if (this.bindConflict(family, laddr, lport, options) !== undefined) {
      throw new SysError('EADDRINUSE', `${fmt(laddr)}:${lport}`, 'bind');
    }
    return this.insert('bound', family, laddr, lport, null, 0, options, opts.worker ?? 0);
  }

  /** listen(): a bound reservation becomes a listening one (the bind rules already held). */
  listen(id: number): Reservation {
    const r = this.byId.get(id);
    if (r === undefined || r.kind === 'connected') throw new SysError('EINVAL', `no bound reservation ${id}`, 'listen');
    r.kind = 'listen';
    return r;
  }

  /**
   * Reserve an explicit 4-tuple (a connection born from a listener's SYN, or any connect
   * whose local port is already decided). EADDRINUSE if the 4-tuple is taken.
   */
  connect(laddr: Uint8Array, lport: number, faddr: Uint8Array, fport: number, worker = 0): Reservation {
    const family = this.checkConnect(laddr, faddr, fport);
    checkPort(lport, 'connect');
    if (this.tuples.has(tupleKey(family, laddr, lport, faddr, fport))) {
      throw new SysError('EADDRINUSE', `${fmt(laddr)}:${lport} -> ${fmt(faddr)}:${fport}`, 'connect');
    }
    return this.insert('connected', family, laddr, lport, faddr, fport, 0, worker);
  }

  /**
   * connect() on a bound socket: its (laddr, lport) gains a foreign end. A wildcard local
   * address must be resolved by the caller (source address selection) and given as `laddr`.
   * EADDRINUSE if the 4-tuple is taken; the reservation is unchanged then.
   */
  connectBound(id: number, faddr: Uint8Array, fport: number, laddr?: Uint8Array): Reservation {
    const r = this.byId.get(id);
    if (r === undefined || r.kind !== 'bound') throw new SysError('EINVAL', `no bound reservation ${id}`, 'connect');
    const local = laddr ?? r.laddr;
    if (!isUnspec(r.laddr) && !bytesEq(local, r.laddr)) throw new SysError('EINVAL', 'local address differs from the bound one', 'connect');
    const family = this.checkConnect(local, faddr, fport);
    if (family !== r.family) throw new SysError('EINVAL', 'address family differs from the bound one', 'connect');
    const key = tupleKey(family, local, r.lport, faddr, fport);
    if (this.tuples.has(key)) throw new SysError('EADDRINUSE', `${fmt(local)}:${r.lport} -> ${fmt(faddr)}:${fport}`, 'connect');
    r.kind = 'connected';
    r.laddr = Uint8Array.from(local);
    r.faddr = Uint8Array.from(faddr);
    r.fport = fport;
    this.tuples.set(key, r);
    return r;
  }

  /**
   * The active open: reserve (laddr, lport, faddr, fport) with an ephemeral lport whose
   * return 4-tuple (faddr:fport -> laddr:lport) hashes, under the links' Toeplitz key and
   * hash type for `protocol`, to a bucket `indirection` maps to `worker`. Ports are probed
   * from a random start as in_pcb_lport() does, skipping misaligned ones. EADDRNOTAVAIL
   * when no aligned port is free (or, for a 2-tuple hash type, when the address pair
   * itself does not map to `worker`); EINVAL on bad arguments.
   */
  connectReserve(
    laddr: Uint8Array, faddr: Uint8Array, fport: number, worker: number, indirection: IndirectionTable,
    opts: ConnectReserveOptions = {},
  ): Reservation {
    const family = this.checkConnect(laddr, faddr, fport);
    if (!Number.isInteger(worker) || worker < 0 || worker >= indirection.workers) {
      throw new SysError('EINVAL', `worker ${worker} out of range`, 'connect');
    }
    const type = rssHashType(family, opts.protocol ?? IPPROTO_TCP, this.hashConfig);
    const withPorts = hashTypeHasPorts(type);
    const entries = indirection.entries;
    const mask = indirection.mask;
    const tz = this.toeplitz;
    const f4 = family === 4 ? u32(faddr) : 0;
    const l4 = family === 4 ? u32(laddr) : 0;
    const aligned = (lport: number): boolean => {
      if (type === M_HASHTYPE_NONE) return worker === entries[0];
      let h: number;
      if (family === 4) h = withPorts ? tz.hashIPv4Ports(f4, l4, fport, lport) : tz.hashIPv4(f4, l4);
      else h = withPorts ? tz.hashIPv6Ports(faddr, 0, laddr, 0, fport, lport) : tz.hashIPv6(faddr, 0, laddr, 0);
      return entries[h & mask] === worker;
    };
    if (!withPorts && !aligned(0)) {
      throw new SysError('EADDRNOTAVAIL', `the 2-tuple ${fmt(faddr)} -> ${fmt(laddr)} does not map to worker ${worker}`, 'connect');
    }
    const lport = this.scanPorts((port) => aligned(port) && this.connectPortFree(family, laddr, port, faddr, fport));
    if (lport === 0) {
      throw new SysError('EADDRNOTAVAIL', `no free local port aligned to worker ${worker} for ${fmt(faddr)}:${fport}`, 'connect');
    }
    return this.insert('connected', family, laddr, lport, faddr, fport, 0, worker);
  }

  /** Free a reservation (close, or a failed connect). False if it was not live. */
  release(id: number): boolean {
    const r = this.byId.get(id);
    if (r === undefined) return false;
    this.byId.delete(id);
    const pk = portKey(r.family, r.lport);
    const list = this.byPort.get(pk)!;
    list.splice(list.indexOf(r), 1);
    if (list.length === 0) this.byPort.delete(pk);
    if (r.kind === 'connected') this.tuples.delete(tupleKey(r.family, r.laddr, r.lport, r.faddr!, r.fport));
    return true;
  }

  /** Free everything a (dead) worker held; returns how many. */
  releaseWorker(worker: number): number {
    let n = 0;
    for (const r of [...this.byId.values()]) if (r.worker === worker && this.release(r.id)) n++;
    return n;
  }

  /** The reservation holding this exact 4-tuple, if any (in_pcblookup_hash without wildcard). */
  lookupConnected(laddr: Uint8Array, lport: number, faddr: Uint8Array, fport: number): Reservation | undefined {
    return this.tuples.get(tupleKey(laddr.length === 4 ? 4 : 6, laddr, lport, faddr, fport));
  }

  /** in_pcbbind_setup(): the reservation a bind of (laddr, lport) with `options` collides with. */
  private bindConflict(family: 4 | 6, laddr: Uint8Array, lport: number, options: number): Reservation | undefined {
    const list = this.byPort.get(portKey(family, lport));
    if (list === undefined) return undefined;
    const wild = (options & (SO_REUSEADDR | SO_REUSEPORT)) === 0;
    const any = isUnspec(laddr);
    for (const t of list) {
      if (wild) {
        if (any || isUnspec(t.laddr) || bytesEq(t.laddr, laddr)) return t;
      } else if (t.kind !== 'connected' && bytesEq(t.laddr, laddr)) {
        if ((options & SO_REUSEPORT) !== 0 && (t.options & SO_REUSEPORT) !== 0) continue;
        return t;
      }
    }
    return undefined;
  }

  /** in_pcb_lport_dest(): the 4-tuple is free and no bind holds the port on laddr or the wildcard. */
  private connectPortFree(family: 4 | 6, laddr: Uint8Array, lport: number, faddr: Uint8Array, fport: number): boolean {
    const list = this.byPort.get(portKey(family, lport));
    if (list === undefined) return true;
    for (const t of list) {
      if (t.kind !== 'connected') {
        if (isUnspec(t.laddr) || bytesEq(t.laddr, laddr)) return false;
      } else if (t.fport === fport && bytesEq(t.laddr, laddr) && bytesEq(t.faddr!, faddr)) {
        return false;
      }
    }
    return true;
  }

  /**
   * in_pcb_lport()'s probe: from a random point of [first, last] (or the range start when
   * not randomized) upward with wrap, the first port `ok` accepts; 0 when none does.
   */
  private scanPorts(ok: (port: number) => boolean): number {
    const { first, last, randomized } = this.portRange;
    const n = last - first + 1;
    const start = randomized ? this.random.u32() % n : 0;
    for (let i = 0; i < n; i++) {
      const port = first + ((start + i) % n);
      if (ok(port)) return port;
    }
    return 0;
  }

  private checkConnect(laddr: Uint8Array, faddr: Uint8Array, fport: number): 4 | 6 {
    const family = familyOf(laddr, 'connect');
    if (familyOf(faddr, 'connect') !== family) throw new SysError('EINVAL', 'local and foreign address families differ', 'connect');
    if (isUnspec(laddr)) throw new SysError('EINVAL', 'a connection needs a specific local address', 'connect');
    // in_pcbconnect_setup(): a zero foreign port or address is EADDRNOTAVAIL.
    if (fport === 0 || isUnspec(faddr)) throw new SysError('EADDRNOTAVAIL', 'foreign address or port is zero', 'connect');
    checkPort(fport, 'connect');
    return family;
  }

  private insert(
    kind: ReservationKind, family: 4 | 6, laddr: Uint8Array, lport: number, faddr: Uint8Array | null, fport: number,
    options: number, worker: number,
  ): Reservation {
    const r: Reservation = {
      id: this.nextId++, kind, family, laddr: Uint8Array.from(laddr), lport,
      faddr: faddr === null ? null : Uint8Array.from(faddr), fport, options, worker,
    };
    this.byId.set(r.id, r);
    const pk = portKey(family, lport);
    const list = this.byPort.get(pk);
    if (list === undefined) this.byPort.set(pk, [r]);
    else list.push(r);
    if (kind === 'connected') this.tuples.set(tupleKey(family, r.laddr, lport, r.faddr!, fport), r);
    return r;
  }
}

function familyOf(a: Uint8Array, syscall: string): 4 | 6 {
  if (a.length === 4) return 4;
  if (a.length === 16) return 6;
  throw new SysError('EINVAL', `an address is 4 or 16 bytes, got ${a.length}`, syscall);
}

function checkPort(p: number, syscall: string): void {
  if (!Number.isInteger(p) || p < 1 || p > 0xffff) throw new SysError('EINVAL', `port ${p} out of range`, syscall);
}

function isUnspec(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function u32(a: Uint8Array): number {
  return ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
}

function portKey(family: 4 | 6, lport: number): number {
  return family === 4 ? lport : 0x10000 | lport;
}

function hex(a: Uint8Array): string {
  let s = '';
  for (let i = 0; i < a.length; i++) s += (a[i]! < 16 ? '0' : '') + a[i]!.toString(16);
  return s;
}

function tupleKey(family: 4 | 6, laddr: Uint8Array, lport: number, faddr: Uint8Array, fport: number): string {
  return `${family}|${hex(laddr)}|${lport}|${hex(faddr)}|${fport}`;
}

function fmt(a: Uint8Array): string {
  return formatIP(a);
}
