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
 * - connectReserve: the active open of docs/architecture.md ("Active opens hash home") (Seastar, F-Stack): the port is
 *   chosen so that the RETURN 4-tuple (faddr:fport -> laddr:lport, the direction replies
 *   travel) hashes to a bucket the opening worker owns.
 *
 * Layout: the coordinator decides about four reservations per connection (a crr client and
 * its server: reserve and release on each side) with tens of thousands live (TIME-WAIT
 * holds its 4-tuple for 2*MSL), so nothing here is keyed by strings or churns a Map.
 * Reservations live in slots (an id names a slot and the slot's generation, so a stale id
 * never frees the slot's next tenant); the reservations of one (family, lport) are chained
 * through the entries (ipi_porthashbase); connected 4-tuples sit in an open-addressing
 * table of Int32 words (ipi_hashbase) keyed, like in_pcbhash(), by a secret-seeded hash:
 * an IPv4 tuple is its addresses and ports as numbers, an IPv6 one is keyed by a fold of
 * its addresses and confirmed on its bytes. IPv4 reservations keep their addresses as
 * numbers: `laddr`/`faddr` build the byte arrays when read.
 */
import { IPPROTO_TCP } from '@mcstack/wire';
import {
  type IndirectionTable,
  toeplitzForKey,
  rssHashType,
  hashTypeHasPorts,
  RSS_HASHCONFIG_DEFAULT,
  M_HASHTYPE_NONE,
  type Toeplitz,
} from '@mcstack/rss';
import { formatIP } from '@mcstack/wire';
import { SysError } from '@mcstack/netinet';
import { SeededRandom, type RandomSource } from '@mcstack/netinet';
import type { RssOptions } from './link.js';

/** Socket options that relax bind conflicts (FreeBSD sys/sys/socket.h values). */
export const SO_REUSEADDR = 0x0004;
export const SO_REUSEPORT = 0x0200;

/** net.inet.ip.portrange defaults (sys/netinet/in.h IPPORT_EPHEMERALFIRST/LAST). */
export const IPPORT_EPHEMERALFIRST = 10000;
export const IPPORT_EPHEMERALLAST = 65535;

/** Live reservations a table holds at most; one more is ENOBUFS. */
export const RESERVATIONS_MAX = 1 << 22;

export type ReservationKind = 'bound' | 'listen' | 'connected';

/**
 * One reservation. Addresses are 4-byte (IPv4) or 16-byte (IPv6) arrays in network order;
 * an all-zero local address is the wildcard (INADDR_ANY, ::). The table owns the
 * reservation: it changes as the socket does (bind, listen, connect) and is dead once
 * released.
 */
export interface Reservation {
  readonly id: number;
  readonly kind: ReservationKind;
  readonly family: 4 | 6;
  readonly laddr: Uint8Array;
  readonly lport: number;
  /** Foreign address and port, set when connected. */
  readonly faddr: Uint8Array | null;
  readonly fport: number;
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
  /** Live reservations at most (default and cap RESERVATIONS_MAX); one more is ENOBUFS. */
  max?: number;
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

/**
 * A reservation as the table keeps it. IPv4 addresses are u32 numbers (`la6`/`fa6` null);
 * IPv6 ones are bytes, and `l4`/`f4` hold their folds (the tuple hash's input).
 */
class Entry implements Reservation {
  kind: ReservationKind;
  readonly family: 4 | 6;
  l4: number;
  la6: Uint8Array | null;
  /** The local address is the wildcard. */
  lany: boolean;
  readonly lport: number;
  f4: number;
  fa6: Uint8Array | null;
  fport: number;
  readonly options: number;
  worker: number;
  readonly slot: number;
  readonly id: number;
  /** The (family, lport) chain. */
  next: Entry | null = null;
  prev: Entry | null = null;

  constructor(
    kind: ReservationKind,
    family: 4 | 6,
    l4: number,
    la6: Uint8Array | null,
    lport: number,
    f4: number,
    fa6: Uint8Array | null,
    fport: number,
    options: number,
    worker: number,
    slot: number,
    id: number,
  ) {
    this.kind = kind;
    this.family = family;
    this.l4 = l4;
    this.la6 = la6;
    this.lany = la6 === null ? l4 === 0 : isUnspec(la6);
    this.lport = lport;
    this.f4 = f4;
    this.fa6 = fa6;
    this.fport = fport;
    this.options = options;
    this.worker = worker;
    this.slot = slot;
    this.id = id;
  }

  get laddr(): Uint8Array {
    return this.la6 ?? bytes4(this.l4);
  }

  get faddr(): Uint8Array | null {
    if (this.kind !== 'connected') return null;
    return this.fa6 ?? bytes4(this.f4);
  }
}

/** Port chains: v4 ports at their number, v6 ports above (portKey). */
const PORT_KEYS = 0x20000;
/** Words per tuple-table bucket: local key, foreign key, lport << 16 | fport, ±(slot + 1) (v4 +, v6 -, 0 empty). */
const TW = 4;

export class ReservationTable {
  readonly portRange: PortRange;
  /** Live reservations at most. */
  readonly max: number;
  private readonly random: RandomSource;
  private readonly toeplitz: Toeplitz;
  private readonly hashConfig: number;
  /** Reservations by slot, each slot's generation (the next id it gives), free slots (reused last-in first-out). */
  private readonly slots: (Entry | undefined)[] = [];
  private readonly gens: number[] = [];
  private readonly freeSlots: number[] = [];
  private live = 0;
  /** ipi_porthashbase: the head of each (family, lport) chain, and how many of it are bound or listening. */
  private readonly heads: (Entry | null)[] = new Array<Entry | null>(PORT_KEYS).fill(null);
  private readonly binds = new Int32Array(PORT_KEYS);
  /** ipi_hashbase: connected 4-tuples, open addressing with linear probing, at most half full. */
  private tuples = new Int32Array(TW * 1024);
  private tmask = 1023;
  private tcount = 0;
  /** V_in_pcbhashseed: a peer cannot aim its 4-tuples at one chain. */
  private readonly hashSeed = crypto.getRandomValues(new Int32Array(1))[0]!;

  constructor(opts: ReservationTableOptions = {}) {
    this.random = opts.random ?? new SeededRandom(opts.seed ?? 0);
    const first = opts.portRange?.first ?? IPPORT_EPHEMERALFIRST;
    const last = opts.portRange?.last ?? IPPORT_EPHEMERALLAST;
    checkPort(first, 'portrange.first');
    checkPort(last, 'portrange.last');
    if (first > last) throw new SysError('EINVAL', `portrange.first ${first} > portrange.last ${last}`);
    this.portRange = { first, last, randomized: opts.portRange?.randomized ?? true };
    const max = opts.max ?? RESERVATIONS_MAX;
    if (!Number.isInteger(max) || max < 1 || max > RESERVATIONS_MAX)
      throw new SysError('EINVAL', `max ${max} out of range`);
    this.max = max;
    this.toeplitz = toeplitzForKey(opts.rss?.key);
    this.hashConfig = opts.rss?.hashConfig ?? RSS_HASHCONFIG_DEFAULT;
  }

  /** Live reservations. */
  get size(): number {
    return this.live;
  }

  get(id: number): Reservation | undefined {
    return this.entry(id);
  }

  *entries(): IterableIterator<Reservation> {
    for (const e of this.slots) if (e !== undefined) yield e;
  }

  /**
   * bind(): reserve (laddr, lport) under in_pcbbind_setup()'s rules; lport 0 picks an
   * ephemeral port. EADDRINUSE on a conflict, EADDRNOTAVAIL when no ephemeral port is free.
   */
  bind(laddr: Uint8Array, lport: number, opts: BindOptions = {}): Reservation {
    const family = familyOf(laddr, 'bind');
    const options = (opts.options ?? 0) & (SO_REUSEADDR | SO_REUSEPORT);
    if (lport !== 0) checkPort(lport, 'bind');
    const la6 = family === 4 ? null : Uint8Array.from(laddr);
    const l4 = la6 === null ? u32(laddr) : fold6(la6);
    if (lport === 0) {
      lport = this.scanPorts((port) => this.bindConflict(family, l4, la6, port, options) === undefined);
      if (lport === 0) throw new SysError('EADDRNOTAVAIL', 'no free ephemeral port', 'bind');
    } else if (this.bindConflict(family, l4, la6, lport, options) !== undefined) {
      throw new SysError('EADDRINUSE', `${fmt(laddr)}:${lport}`, 'bind');
    }
    return this.insert('bound', family, l4, la6, lport, 0, null, 0, options, opts.worker ?? 0);
  }

  /** listen(): a bound reservation becomes a listening one (the bind rules already held). */
  listen(id: number): Reservation {
    const r = this.entry(id);
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
    const la6 = family === 4 ? null : Uint8Array.from(laddr);
    const fa6 = family === 4 ? null : Uint8Array.from(faddr);
    const l4 = la6 === null ? u32(laddr) : fold6(la6);
    const f4 = fa6 === null ? u32(faddr) : fold6(fa6);
    return this.connectTuple(family, l4, la6, lport, f4, fa6, fport, worker);
  }

  /** connect() for IPv4 with the addresses as u32 numbers (host order): the coordinator's per-connection path. */
  connect4(laddr: number, lport: number, faddr: number, fport: number, worker = 0): Reservation {
    checkConnect4(laddr, faddr, fport);
    checkPort(lport, 'connect');
    return this.connectTuple(4, laddr, null, lport, faddr, null, fport, worker);
  }

  /**
   * connect() on a bound socket: its (laddr, lport) gains a foreign end. A wildcard local
   * address must be resolved by the caller (source address selection) and given as `laddr`.
   * EADDRINUSE if the 4-tuple is taken; the reservation is unchanged then.
   */
  connectBound(id: number, faddr: Uint8Array, fport: number, laddr?: Uint8Array): Reservation {
    const r = this.entry(id);
    if (r === undefined || r.kind !== 'bound') throw new SysError('EINVAL', `no bound reservation ${id}`, 'connect');
    const local = laddr ?? r.laddr;
    if (!r.lany && !bytesEq(local, r.laddr))
      throw new SysError('EINVAL', 'local address differs from the bound one', 'connect');
    const family = this.checkConnect(local, faddr, fport);
    if (family !== r.family) throw new SysError('EINVAL', 'address family differs from the bound one', 'connect');
    const la6 = family === 4 ? null : Uint8Array.from(local);
    const fa6 = family === 4 ? null : Uint8Array.from(faddr);
    const l4 = la6 === null ? u32(local) : fold6(la6);
    const f4 = fa6 === null ? u32(faddr) : fold6(fa6);
    if (this.tupleFind(family, l4, la6, r.lport, f4, fa6, fport) !== undefined) {
      throw new SysError('EADDRINUSE', `${fmt(local)}:${r.lport} -> ${fmt(faddr)}:${fport}`, 'connect');
    }
    this.binds[portKey(family, r.lport)]!--;
    r.kind = 'connected';
    r.l4 = l4;
    r.la6 = la6;
    r.lany = false;
    r.f4 = f4;
    r.fa6 = fa6;
    r.fport = fport;
    this.tupleInsert(r);
    return r;
  }

  /**
   * The active open: reserve (laddr, lport, faddr, fport) with an ephemeral lport whose
   * return 4-tuple (faddr:fport -> laddr:lport) hashes, under the links' Toeplitz key and
   * hash type for `protocol`, to a bucket `indirection` maps to `worker`. Ports are probed
   * from a random start as in_pcb_lport() does, skipping misaligned ones. EADDRNOTAVAIL
   * when no aligned port is free (or, for a 2-tuple hash type, when the address pair
   * itself does not map to `worker`); EINVAL on bad arguments; ENOBUFS when the table is full
   * (as every reservation: bind and connect too).
   */
  connectReserve(
    laddr: Uint8Array,
    faddr: Uint8Array,
    fport: number,
    worker: number,
    indirection: IndirectionTable,
    opts: ConnectReserveOptions = {},
  ): Reservation {
    const family = this.checkConnect(laddr, faddr, fport);
    const la6 = family === 4 ? null : Uint8Array.from(laddr);
    const fa6 = family === 4 ? null : Uint8Array.from(faddr);
    const l4 = la6 === null ? u32(laddr) : fold6(la6);
    const f4 = fa6 === null ? u32(faddr) : fold6(fa6);
    return this.reserve(family, l4, la6, f4, fa6, fport, worker, indirection, opts.protocol ?? IPPROTO_TCP);
  }

  /** connectReserve() for IPv4 with the addresses as u32 numbers (host order). */
  connectReserve4(
    laddr: number,
    faddr: number,
    fport: number,
    worker: number,
    indirection: IndirectionTable,
    opts: ConnectReserveOptions = {},
  ): Reservation {
    checkConnect4(laddr, faddr, fport);
    return this.reserve(4, laddr, null, faddr, null, fport, worker, indirection, opts.protocol ?? IPPROTO_TCP);
  }

  /**
   * Free a reservation (close, or a failed connect). False if it was not live, or when
   * `worker` is given and does not hold it (a worker frees only its own).
   */
  release(id: number, worker?: number): boolean {
    const r = this.entry(id);
    if (r === undefined || (worker !== undefined && r.worker !== worker)) return false;
    this.remove(r);
    return true;
  }

  /**
   * A live handoff: the connected 4-tuple `id` stays reserved and moves from worker `from`
   * to worker `to` (a group and the TOE card's index), whose death then releases it.
   * False if it is not a live connected reservation held by `from`.
   */
  rehome(id: number, from: number, to: number): boolean {
    const r = this.entry(id);
    if (r === undefined || r.kind !== 'connected' || r.worker !== from) return false;
    r.worker = to;
    return true;
  }

  /** Free everything a (dead) worker held; returns how many. */
  releaseWorker(worker: number): number {
    let n = 0;
    for (const r of this.slots)
      if (r !== undefined && r.worker === worker) {
        this.remove(r);
        n++;
      }
    return n;
  }

  /** The reservation holding this exact 4-tuple, if any (in_pcblookup_hash without wildcard). */
  lookupConnected(laddr: Uint8Array, lport: number, faddr: Uint8Array, fport: number): Reservation | undefined {
    const family = laddr.length === 4 ? 4 : 6;
    if (faddr.length !== laddr.length) return undefined;
    if (family === 4) return this.tupleFind(4, u32(laddr), null, lport, u32(faddr), null, fport);
    return this.tupleFind(6, fold6(laddr), laddr, lport, fold6(faddr), faddr, fport);
  }

  private entry(id: number): Entry | undefined {
    const e = this.slots[(id - 1) % RESERVATIONS_MAX];
    return e !== undefined && e.id === id ? e : undefined;
  }

  private connectTuple(
    family: 4 | 6,
    l4: number,
    la6: Uint8Array | null,
    lport: number,
    f4: number,
    fa6: Uint8Array | null,
    fport: number,
    worker: number,
  ): Entry {
    if (this.tupleFind(family, l4, la6, lport, f4, fa6, fport) !== undefined) {
      throw new SysError('EADDRINUSE', `${fmtKey(l4, la6)}:${lport} -> ${fmtKey(f4, fa6)}:${fport}`, 'connect');
    }
    return this.insert('connected', family, l4, la6, lport, f4, fa6, fport, 0, worker);
  }

  private reserve(
    family: 4 | 6,
    l4: number,
    la6: Uint8Array | null,
    f4: number,
    fa6: Uint8Array | null,
    fport: number,
    worker: number,
    indirection: IndirectionTable,
    protocol: number,
  ): Entry {
    if (!Number.isInteger(worker) || worker < 0 || worker >= indirection.workers) {
      throw new SysError('EINVAL', `worker ${worker} out of range`, 'connect');
    }
    const type = rssHashType(family, protocol, this.hashConfig);
    const withPorts = hashTypeHasPorts(type);
    const entries = indirection.entries;
    const mask = indirection.mask;
    const tz = this.toeplitz;
    if (!withPorts) {
      const owner =
        type === M_HASHTYPE_NONE
          ? entries[0]
          : entries[(family === 4 ? tz.hashIPv4(f4, l4) : tz.hashIPv6(fa6!, 0, la6!, 0)) & mask];
      if (owner !== worker) {
        throw new SysError(
          'EADDRNOTAVAIL',
          `the 2-tuple ${fmtKey(f4, fa6)} -> ${fmtKey(l4, la6)} does not map to worker ${worker}`,
          'connect',
        );
      }
    }
    // in_pcb_lport()'s probe (scanPorts), inline: this runs per active open.
    const { first, last, randomized } = this.portRange;
    const n = last - first + 1;
    const start = randomized ? this.random.u32() % n : 0;
    for (let i = 0; i < n; i++) {
      let port = first + start + i;
      if (port > last) port -= n;
      if (withPorts) {
        const h =
          family === 4 ? tz.hashIPv4Ports(f4, l4, fport, port) : tz.hashIPv6Ports(fa6!, 0, la6!, 0, fport, port);
        if (entries[h & mask] !== worker) continue;
      }
      if (this.connectPortFree(family, l4, la6, port, f4, fa6, fport)) {
        return this.insert('connected', family, l4, la6, port, f4, fa6, fport, 0, worker);
      }
    }
    throw new SysError(
      'EADDRNOTAVAIL',
      `no free local port aligned to worker ${worker} for ${fmtKey(f4, fa6)}:${fport}`,
      'connect',
    );
  }

  /** in_pcbbind_setup(): the reservation a bind of (laddr, lport) with `options` collides with. */
  private bindConflict(
    family: 4 | 6,
    l4: number,
    la6: Uint8Array | null,
    lport: number,
    options: number,
  ): Entry | undefined {
    const wild = (options & (SO_REUSEADDR | SO_REUSEPORT)) === 0;
    const any = la6 === null ? l4 === 0 : isUnspec(la6);
    for (let t = this.heads[portKey(family, lport)] as Entry | null; t !== null; t = t.next) {
      if (wild) {
        if (any || t.lany || sameLocal(t, l4, la6)) return t;
      } else if (t.kind !== 'connected' && sameLocal(t, l4, la6)) {
        if ((options & SO_REUSEPORT) !== 0 && (t.options & SO_REUSEPORT) !== 0) continue;
        return t;
      }
    }
    return undefined;
  }

  /** in_pcb_lport_dest(): the 4-tuple is free and no bind holds the port on laddr or the wildcard. */
  private connectPortFree(
    family: 4 | 6,
    l4: number,
    la6: Uint8Array | null,
    lport: number,
    f4: number,
    fa6: Uint8Array | null,
    fport: number,
  ): boolean {
    const pk = portKey(family, lport);
    if (this.binds[pk] !== 0) {
      for (let t = this.heads[pk] as Entry | null; t !== null; t = t.next) {
        if (t.kind !== 'connected' && (t.lany || sameLocal(t, l4, la6))) return false;
      }
    }
    return this.tupleFind(family, l4, la6, lport, f4, fa6, fport) === undefined;
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
    if (familyOf(faddr, 'connect') !== family)
      throw new SysError('EINVAL', 'local and foreign address families differ', 'connect');
    if (isUnspec(laddr)) throw new SysError('EINVAL', 'a connection needs a specific local address', 'connect');
    // in_pcbconnect_setup(): a zero foreign port or address is EADDRNOTAVAIL.
    if (fport === 0 || isUnspec(faddr))
      throw new SysError('EADDRNOTAVAIL', 'foreign address or port is zero', 'connect');
    checkPort(fport, 'connect');
    return family;
  }

  private insert(
    kind: ReservationKind,
    family: 4 | 6,
    l4: number,
    la6: Uint8Array | null,
    lport: number,
    f4: number,
    fa6: Uint8Array | null,
    fport: number,
    options: number,
    worker: number,
  ): Entry {
    if (this.live >= this.max)
      throw new SysError('ENOBUFS', `${this.max} reservations live`, kind === 'connected' ? 'connect' : 'bind');
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slots.length;
      this.slots.push(undefined);
      this.gens.push(0);
    }
    const r = new Entry(
      kind,
      family,
      l4,
      la6,
      lport,
      f4,
      fa6,
      fport,
      options,
      worker,
      slot,
      this.gens[slot]! * RESERVATIONS_MAX + slot + 1,
    );
    this.slots[slot] = r;
    this.live++;
    const pk = portKey(family, lport);
    const head = this.heads[pk]!;
    r.next = head;
    if (head !== null) head.prev = r;
    this.heads[pk] = r;
    if (kind === 'connected') this.tupleInsert(r);
    else this.binds[pk]!++;
    return r;
  }

  private remove(r: Entry): void {
    const slot = r.slot;
    this.slots[slot] = undefined;
    // Generations wrap at 2^30 (ids stay below 2^52): a stale id is at most a sync old.
    this.gens[slot] = (this.gens[slot]! + 1) & 0x3fffffff;
    this.freeSlots.push(slot);
    this.live--;
    const pk = portKey(r.family, r.lport);
    if (r.prev !== null) r.prev.next = r.next;
    else this.heads[pk] = r.next;
    if (r.next !== null) r.next.prev = r.prev;
    r.next = r.prev = null;
    if (r.kind === 'connected') this.tupleRemove(r);
    else this.binds[pk]!--;
  }

  private tupleHash(l: number, f: number, ports: number): number {
    let h = Math.imul(l ^ this.hashSeed, 0x85ebca6b) ^ Math.imul(f, 0xc2b2ae35) ^ Math.imul(ports, 0x27d4eb2f);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 13);
  }

  private tupleFind(
    family: 4 | 6,
    l4: number,
    la6: Uint8Array | null,
    lport: number,
    f4: number,
    fa6: Uint8Array | null,
    fport: number,
  ): Entry | undefined {
    const t = this.tuples;
    const mask = this.tmask;
    const l = l4 | 0;
    const f = f4 | 0;
    const ports = (lport << 16) | fport;
    for (let i = this.tupleHash(l, f, ports) & mask; ; i = (i + 1) & mask) {
      const b = i * TW;
      const tag = t[b + 3]!;
      if (tag === 0) return undefined;
      if (t[b] !== l || t[b + 1] !== f || t[b + 2] !== ports) continue;
      if (family === 4) {
        if (tag > 0) return this.slots[tag - 1];
      } else if (tag < 0) {
        const e = this.slots[-tag - 1]!;
        if (bytesEq(e.la6!, la6!) && bytesEq(e.fa6!, fa6!)) return e;
      }
    }
  }

  private tupleInsert(r: Entry): void {
    if ((this.tcount + 1) * 2 > this.tmask + 1) this.tupleGrow();
    this.tupleSet(r);
    this.tcount++;
  }

  private tupleSet(r: Entry): void {
    const t = this.tuples;
    const mask = this.tmask;
    const l = r.l4 | 0;
    const f = r.f4 | 0;
    const ports = (r.lport << 16) | r.fport;
    let i = this.tupleHash(l, f, ports) & mask;
    while (t[i * TW + 3] !== 0) i = (i + 1) & mask;
    const b = i * TW;
    t[b] = l;
    t[b + 1] = f;
    t[b + 2] = ports;
    t[b + 3] = r.family === 4 ? r.slot + 1 : -(r.slot + 1);
  }

  /** Double the table, rehashing from its own words (no entry is touched: they are cold by now). */
  private tupleGrow(): void {
    const old = this.tuples;
    const t = new Int32Array(old.length * 2);
    const mask = t.length / TW - 1;
    for (let b = 0; b < old.length; b += TW) {
      if (old[b + 3] === 0) continue;
      let i = this.tupleHash(old[b]!, old[b + 1]!, old[b + 2]!) & mask;
      while (t[i * TW + 3] !== 0) i = (i + 1) & mask;
      t.set(old.subarray(b, b + TW), i * TW);
    }
    this.tuples = t;
    this.tmask = mask;
  }

  /** Linear probing's deletion: later members of the run shift back so no probe stops early. */
  private tupleRemove(r: Entry): void {
    const t = this.tuples;
    const mask = this.tmask;
    const tag = r.family === 4 ? r.slot + 1 : -(r.slot + 1);
    let i = this.tupleHash(r.l4 | 0, r.f4 | 0, (r.lport << 16) | r.fport) & mask;
    while (t[i * TW + 3] !== tag) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const bj = j * TW;
      if (t[bj + 3] === 0) break;
      const home = this.tupleHash(t[bj]!, t[bj + 1]!, t[bj + 2]!) & mask;
      // Move j into the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        t.copyWithin(i * TW, bj, bj + TW);
        i = j;
      }
    }
    t.fill(0, i * TW, i * TW + TW);
    this.tcount--;
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

/** checkConnect() for IPv4 addresses given as u32 numbers. */
function checkConnect4(laddr: number, faddr: number, fport: number): void {
  if (laddr >>> 0 !== laddr || faddr >>> 0 !== faddr)
    throw new SysError('EINVAL', 'an IPv4 address is a u32', 'connect');
  if (laddr === 0) throw new SysError('EINVAL', 'a connection needs a specific local address', 'connect');
  if (fport === 0 || faddr === 0) throw new SysError('EADDRNOTAVAIL', 'foreign address or port is zero', 'connect');
  checkPort(fport, 'connect');
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

/** Whether `t`'s local address is (l4, la6) (same family: they share a port chain). */
function sameLocal(t: Entry, l4: number, la6: Uint8Array | null): boolean {
  return la6 === null ? t.l4 === l4 : bytesEq(t.la6!, la6);
}

function u32(a: Uint8Array): number {
  return ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
}

function bytes4(a: number): Uint8Array {
  const b = new Uint8Array(4);
  b[0] = a >>> 24;
  b[1] = a >>> 16;
  b[2] = a >>> 8;
  b[3] = a;
  return b;
}

/** An IPv6 address folded to 32 bits (the tuple hash's input; matches are confirmed on the bytes). */
function fold6(a: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < 16; i += 4)
    h = Math.imul(h ^ ((a[i]! << 24) | (a[i + 1]! << 16) | (a[i + 2]! << 8) | a[i + 3]!), 0x9e3779b1);
  return h;
}

function portKey(family: 4 | 6, lport: number): number {
  return family === 4 ? lport : 0x10000 | lport;
}

function fmt(a: Uint8Array): string {
  return formatIP(a);
}

function fmtKey(a4: number, a6: Uint8Array | null): string {
  return formatIP(a6 ?? bytes4(a4));
}
