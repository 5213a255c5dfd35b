/**
 * Internet protocol control blocks (FreeBSD netinet/in_pcb.c): the inpcb that ties
 * a socket to its addresses and ports, and the inpcbinfo with its port hash (every
 * bound pcb by local port: the per-protocol reservation table), the wildcard list
 * (unconnected pcbs, members of every connection group), the connection group's
 * exact 4-tuple hash (in_pcbgroup.ts) and the list of every pcb in generation order
 * (ipi_listhead, ipi_gencnt) that pcblist walks. Addresses are kept in 16 bytes as in
 * struct in_conninfo: an IPv4 address sits in the last 4 bytes (the ia46 layout), so
 * one compare serves both families. Lookups read addresses straight from the packet.
 *
 * Locking (the change notes' in_pcblookup): `inPcblookup*` return the pcb locked as
 * INPLOOKUP_RLOCKPCB / INPLOOKUP_WLOCKPCB ask. One engine runs on one thread, so a pcb
 * lock is a reader/writer state that catches misuse when invariants are on
 * (`setPcbInvariants(true)`: INP_WLOCK_ASSERT and friends throw); the lock that
 * works across threads is the group's (in_pcbgroup.ts GroupLock).
 */
import { slabU8 } from '../kern/small_slab.js';
import { ERRNO, SysError } from '../kern/errno.js';
import { InpcbGroup, Pcbgroup } from './in_pcbgroup.js';
import { M_HASHTYPE_NONE } from '../net/mbuf.js';
import type { RandomSource } from '../kern/random.js';
import { type Socket, SO_REUSEADDR, SO_REUSEPORT, SO_SETFIB } from '../kern/uipc_socket.js';

/**
 * The protocol's control block an inpcb points to (inp_ppcb): declared here
 * without members, and given them by the protocol above that owns it (tcp/var.ts
 * makes it the Tcpcb), so the pcb layer imports nothing from TCP.
 */
// biome-ignore lint/suspicious/noEmptyInterface: opened by the protocol that owns it (declaration merging)
export interface InpPpcb {}

declare module '../kern/uipc_socket.js' {
  /** A socket's so_pcb is its Inpcb. */
  interface SoPcb extends Inpcb {}
}

export const INP_IPV4 = 0x1;
export const INP_IPV6 = 0x2;
export const INP_IPV6PROTO = 0x4;

/** inp_flags */
export const IN6P_IPV6_V6ONLY = 0x00008000;
export const INP_DROPPED = 0x04000000;
export const INP_TIMEWAIT = 0x01000000;

/** in_pcb.h lookup flags: the wildcard fallback, and how the result comes back locked. */
export const INPLOOKUP_WILDCARD = 0x00000001;
export const INPLOOKUP_RLOCKPCB = 0x00000002;
export const INPLOOKUP_WLOCKPCB = 0x00000004;
export const INPLOOKUP_MASK = INPLOOKUP_WILDCARD | INPLOOKUP_RLOCKPCB | INPLOOKUP_WLOCKPCB;

const HASHED_CONN = 1;
const HASHED_PORT = 2;
const HASHED_WILD = 4;

/** The unspecified local address every new pcb starts with (shared; see internLaddr). */
const LADDR_ANY = slabU8(16);

export class Inpcb {
  /** INP_IPV4 / INP_IPV6 for the family the connection uses now. */
  inp_vflag = 0;
  inp_flags = 0;
  /** Shared and read-only (internLaddr): written only through setLaddr, which swaps the view. */
  inp_laddr: Uint8Array = LADDR_ANY;
  readonly inp_faddr = slabU8(16);
  inp_lport = 0;
  inp_fport = 0;
  /** Last 32 bits of each address, the hash inputs. */
  lkey = 0;
  fkey = 0;
  /** IP_TOS / IPV6_TCLASS, IP_TTL / IPV6_UNICAST_HOPS (-1: system default). */
  inp_ip_tos = 0;
  inp_ip_ttl = -1;
  /**
   * inp_inc.inc_fibnum: the FIB the connection routes in, its socket's so_fibnum at
   * in_pcballoc and after SO_SETFIB; it travels with the connection (tcp/export.ts).
   */
  inc_fibnum = 0;
  /** Protocol control block (the tcpcb for TCP; see InpPpcb). */
  inp_ppcb: InpPpcb | null = null;
  /** RSS hash of the connection's received segments and its M_HASHTYPE_* (0: none yet). */
  inp_flowid = 0;
  inp_flowtype = 0;
  /** The packet filter's state key for this flow (inp_pf_sk, net/pfil.ts), null when unlinked. */
  inp_pf_sk: unknown = null;
  /** Generation at which the pcb entered the pcbinfo (inp_gencnt), 0 before. */
  inp_gencnt = 0;
  /** Lock state: 0 free, -1 write-locked, n > 0 read-locked n times. */
  inp_lock = 0;
  hashNext: Inpcb | null = null;
  /** Which of the pcbinfo's hashes hold it (the HASHED_* bits): one word where three booleans took three. */
  private hashed = 0;
  /** ipi_listhead links, in generation order; a removed pcb keeps `listNext` (see pcblist). */
  listPrev: Inpcb | null = null;
  listNext: Inpcb | null = null;
  /** Links of its port's list in the port hash (inp_portlist) and the wildcard hash (inp_hash_wild). */
  portPrev: Inpcb | null = null;
  portNext: Inpcb | null = null;
  wildPrev: Inpcb | null = null;
  wildNext: Inpcb | null = null;

  constructor(
    readonly info: InpcbInfo,
    public inp_socket: Socket | null,
    v6: boolean,
  ) {
    this.inp_vflag = v6 ? INP_IPV6 : INP_IPV4;
    if (v6) this.inp_vflag |= INP_IPV6PROTO;
    this.inc_fibnum = inp_socket?.so_fibnum ?? 0;
  }

  /** In the connection hash (FreeBSD's INP_INHASHLIST). */
  get inHash(): boolean {
    return (this.hashed & HASHED_CONN) !== 0;
  }
  set inHash(v: boolean) {
    this.markHashed(HASHED_CONN, v);
  }
  /** On its port's list in the port hash. */
  get inPortHash(): boolean {
    return (this.hashed & HASHED_PORT) !== 0;
  }
  set inPortHash(v: boolean) {
    this.markHashed(HASHED_PORT, v);
  }
  /** In the wildcard hash (inp_hash_wild). */
  get inWild(): boolean {
    return (this.hashed & HASHED_WILD) !== 0;
  }
  set inWild(v: boolean) {
    this.markHashed(HASHED_WILD, v);
  }

  private markHashed(bit: number, v: boolean): void {
    this.hashed = v ? this.hashed | bit : this.hashed & ~bit;
  }

  get isV6(): boolean {
    return (this.inp_vflag & INP_IPV6) !== 0;
  }
  get connected(): boolean {
    return this.inp_fport !== 0;
  }
  setLaddr(a: Uint8Array, off = 0, len = 16): void {
    this.inp_laddr = internLaddr(a, off, len);
    this.lkey = key(this.inp_laddr);
  }
  setFaddr(a: Uint8Array, off = 0, len = 16): void {
    setAddr(this.inp_faddr, a, off, len);
    this.fkey = key(this.inp_faddr);
  }
  /** Foreign and local addresses equal `alen` packet bytes at faddrOff / laddrOff. */
  addrsAre(buf: Uint8Array, faddrOff: number, laddrOff: number, alen: number): boolean {
    return addrEq(this.inp_faddr, buf, faddrOff, alen) && addrEq(this.inp_laddr, buf, laddrOff, alen);
  }
}

/**
 * ip_ctloutput's SOL_SOCKET part: after sosetopt took SO_SETFIB (range checked there),
 * the pcb routes in the socket's new FIB from its next packet on.
 */
export function inPcbSetsockopt(inp: Inpcb, name: number): void {
  if (name === SO_SETFIB && inp.inp_socket !== null) inp.inc_fibnum = inp.inp_socket.so_fibnum;
}

/* ---- pcb locks (INP_WLOCK / INP_RLOCK and their assertions) ---- */

let invariants = false;

/** Turn the lock assertions on (debug tests) or off; returns the previous setting. */
export function setPcbInvariants(on: boolean): boolean {
  const was = invariants;
  invariants = on;
  return was;
}

export function pcbInvariants(): boolean {
  return invariants;
}

function lockPanic(inp: Inpcb, what: string): void {
  if (invariants) throw new SysError('EDEADLK', `${what} (inp_lock ${inp.inp_lock})`, 'inpcb lock');
}

export function inpWlock(inp: Inpcb): void {
  if (inp.inp_lock !== 0) lockPanic(inp, 'INP_WLOCK on a locked pcb');
  inp.inp_lock = -1;
}

export function inpRlock(inp: Inpcb): void {
  if (inp.inp_lock < 0) lockPanic(inp, 'INP_RLOCK on a write-locked pcb');
  else inp.inp_lock++;
}

export function inpWunlock(inp: Inpcb): void {
  if (inp.inp_lock !== -1) lockPanic(inp, 'INP_WUNLOCK without the write lock');
  inp.inp_lock = 0;
}

export function inpRunlock(inp: Inpcb): void {
  if (inp.inp_lock <= 0) {
    lockPanic(inp, 'INP_RUNLOCK without a read lock');
    return;
  }
  inp.inp_lock--;
}

/** INP_UNLOCK: whichever lock is held. */
export function inpUnlock(inp: Inpcb): void {
  if (inp.inp_lock < 0) inpWunlock(inp);
  else inpRunlock(inp);
}

export function inpWlockAssert(inp: Inpcb): void {
  if (invariants && inp.inp_lock !== -1) lockPanic(inp, 'INP_WLOCK_ASSERT failed');
}

export function inpLockAssert(inp: Inpcb): void {
  if (invariants && inp.inp_lock === 0) lockPanic(inp, 'INP_LOCK_ASSERT failed');
}

export function inpUnlockAssert(inp: Inpcb): void {
  if (invariants && inp.inp_lock !== 0) lockPanic(inp, 'INP_UNLOCK_ASSERT failed');
}

function setAddr(dst: Uint8Array, a: Uint8Array, off: number, len: number): void {
  if (len === 4) {
    dst.fill(0, 0, 10);
    // An IPv4 address in a dual-stack slot is the v4-mapped form (RFC 4291 §2.5.5.2).
    dst[10] = 0xff;
    dst[11] = 0xff;
    dst[12] = a[off]!;
    dst[13] = a[off + 1]!;
    dst[14] = a[off + 2]!;
    dst[15] = a[off + 3]!;
  } else {
    for (let i = 0; i < 16; i++) dst[i] = a[off + i]!;
  }
}

/**
 * The local addresses pcbs hold, one read-only copy of each shared by every pcb: a host has
 * few (its own, the unspecified), where a 16-byte view per pcb costs ~96 bytes of heap.
 * Found by the hash key (the last 32 bits) and compared in full: no allocation once seen.
 */
const laddrs = new Map<number, Uint8Array[]>([[0, [LADDR_ANY]]]);
const laddrScratch = new Uint8Array(16);

function internLaddr(a: Uint8Array, off: number, len: number): Uint8Array {
  setAddr(laddrScratch, a, off, len);
  const k = key(laddrScratch);
  let list = laddrs.get(k);
  if (list === undefined) {
    list = [];
    laddrs.set(k, list);
  }
  for (const v of list) {
    let i = 0;
    while (i < 16 && v[i] === laddrScratch[i]) i++;
    if (i === 16) return v;
  }
  const v = slabU8(16);
  v.set(laddrScratch);
  list.push(v);
  return v;
}

function key(a: Uint8Array): number {
  return ((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0;
}

/** True for :: and the mapped 0.0.0.0 (INADDR_ANY). */
export function addrIsUnspec(a: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) {
    if (a[i] !== 0 && !((i === 10 || i === 11) && a[i] === 0xff)) return false;
  }
  return true;
}

/** A multicast address, IPv4 (mapped, 224/4) or IPv6 (ff00::/8). */
function addrIsMulticast(a: Uint8Array): boolean {
  return addrIsV4Mapped(a) ? a[12]! >>> 4 === 0xe : a[0] === 0xff;
}

export function addrIsV4Mapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

/** Compare a pcb address with `len` (4 or 16) packet bytes at `off`. */
export function addrEq(a: Uint8Array, b: Uint8Array, off: number, len: number): boolean {
  if (len === 4) {
    return (
      a[10] === 0xff &&
      a[11] === 0xff &&
      a[12] === b[off] &&
      a[13] === b[off + 1] &&
      a[14] === b[off + 2] &&
      a[15] === b[off + 3] &&
      a[0] === 0 &&
      a[9] === 0
    );
  }
  for (let i = 15; i >= 0; i--) if (a[i] !== b[off + i]) return false;
  return true;
}

/** struct inpcbinfo: one per protocol. */
export class InpcbInfo {
  /** This protocol's connection group (ipi_pcbgroups: one per engine). */
  readonly group: InpcbGroup;
  /**
   * Every bound pcb by local port (ipi_porthashbase): the head of a list threaded through
   * the pcbs, newest first, as FreeBSD's LIST_INSERT_HEAD; removal is O(1) however many
   * connections share the port (a server's).
   */
  private porthash = new Map<number, Inpcb>();
  /** Unconnected bound pcbs by local port (ipi_wildbase): members of every group. Same lists. */
  private wildhash = new Map<number, Inpcb>();
  count = 0;
  /** ipi_gencnt: bumped when a pcb enters or leaves; pcbs carry the value they entered at. */
  ipi_gencnt = 0;
  /** ipi_listhead, oldest first. */
  listHead: Inpcb | null = null;
  listTail: Inpcb | null = null;
  /** net.inet.ip.portrange.first / last / randomized (the network layer's values when shared). */
  range: { first: number; last: number; randomized: number } = { first: 10000, last: 65535, randomized: 1 };
  private lastPort = 0;

  constructor(
    private readonly random: RandomSource,
    buckets = 1 << 14,
    pcbgroup: Pcbgroup = new Pcbgroup(),
  ) {
    this.group = new InpcbGroup(pcbgroup, buckets);
  }

  /** The exact 4-tuple in this engine's group, addresses read from a packet (len 4 or 16). */
  lookupExact(
    buf: Uint8Array,
    faddrOff: number,
    fport: number,
    laddrOff: number,
    lport: number,
    alen: number,
  ): Inpcb | null {
    return this.group.lookup(buf, faddrOff, fport, laddrOff, lport, alen);
  }

  /**
   * The wildcard fallback (INPLOOKUP_WILDCARD): an unconnected pcb bound to lport,
   * preferring an exact local address over INADDR_ANY / ::. An IPv6 pcb takes IPv4
   * packets only without IPV6_V6ONLY.
   */
  lookupWild(buf: Uint8Array, laddrOff: number, lport: number, alen: number): Inpcb | null {
    let wild: Inpcb | null = null;
    for (let inp = this.wildhash.get(lport) ?? null; inp !== null; inp = inp.wildNext) {
      if (inp.connected) continue;
      if (alen === 4) {
        if ((inp.inp_vflag & INP_IPV6PROTO) !== 0 && (inp.inp_flags & IN6P_IPV6_V6ONLY) !== 0) continue;
        if ((inp.inp_vflag & INP_IPV6PROTO) !== 0 && !addrIsUnspec(inp.inp_laddr) && !addrIsV4Mapped(inp.inp_laddr))
          continue;
      } else if ((inp.inp_vflag & INP_IPV6PROTO) === 0) continue;
      if (addrEq(inp.inp_laddr, buf, laddrOff, alen)) {
        // An exact local address; an IPv4 socket beats a dual-stack one.
        if ((inp.inp_vflag & INP_IPV6PROTO) === 0 || alen === 16) return inp;
        wild = inp;
      } else if (addrIsUnspec(inp.inp_laddr)) {
        if (
          wild === null ||
          ((wild.inp_vflag & INP_IPV6PROTO) !== 0 && alen === 4 && (inp.inp_vflag & INP_IPV6PROTO) === 0)
        )
          wild = inp;
      }
    }
    return wild;
  }

  /** in_pcbinshash: enter a connected pcb into its group's 4-tuple hash. */
  insHash(inp: Inpcb): void {
    if (inp.inHash) this.group.remove(inp);
    if (inp.inWild) this.remWild(inp);
    this.group.insert(inp);
    inp.inHash = true;
  }

  /** Enter a bound pcb: the port hash, the wildcard list while unconnected, the pcb list. */
  insPort(inp: Inpcb): void {
    if (inp.inPortHash) return;
    listAdd(this.porthash, inp, 'portPrev', 'portNext');
    inp.inPortHash = true;
    if (!inp.connected) {
      listAdd(this.wildhash, inp, 'wildPrev', 'wildNext');
      inp.inWild = true;
    }
    this.count++;
    // in_pcballoc: the pcb joins the list at the tail with the next generation.
    inp.inp_gencnt = ++this.ipi_gencnt;
    inp.listPrev = this.listTail;
    inp.listNext = null;
    if (this.listTail !== null) this.listTail.listNext = inp;
    else this.listHead = inp;
    this.listTail = inp;
  }

  private remWild(inp: Inpcb): void {
    listRemove(this.wildhash, inp, 'wildPrev', 'wildNext');
    inp.inWild = false;
  }

  /** in_pcbdrop / in_pcbfree: out of every table. */
  remove(inp: Inpcb): void {
    if (inp.inHash) {
      this.group.remove(inp);
      inp.inHash = false;
    }
    if (inp.inWild) this.remWild(inp);
    if (inp.inPortHash) {
      listRemove(this.porthash, inp, 'portPrev', 'portNext');
      inp.inPortHash = false;
      this.count--;
      // Out of the list; listNext stays so a listing cursor parked here moves on to
      // the next pcb still present (every later pcb has a higher generation).
      this.ipi_gencnt++;
      if (inp.listPrev !== null) inp.listPrev.listNext = inp.listNext;
      else this.listHead = inp.listNext;
      if (inp.listNext !== null) inp.listNext.listPrev = inp.listPrev;
      else this.listTail = inp.listPrev;
      inp.listPrev = null;
    }
    inp.inp_flags |= INP_DROPPED;
  }

  /** Every pcb in the port hash (for sockstat/netstat and leak checks). */
  all(): Inpcb[] {
    const out: Inpcb[] = [];
    for (const head of this.porthash.values()) for (let t: Inpcb | null = head; t !== null; t = t.portNext) out.push(t);
    return out;
  }

  /**
   * in_pcbbind_setup()/in_pcbbind_avail() (FreeBSD sys/netinet/in_pcb.c): does binding
   * (laddr, lport) with the binding socket's `options` collide? Without SO_REUSEADDR or
   * SO_REUSEPORT the lookup is INPLOOKUP_WILDCARD: the best-fit pcb on the port whose local
   * address overlaps (equal or either wildcard), connected and TIME_WAIT ones included. With
   * either it is exact: only an unconnected pcb on exactly laddr, so connections (TIME_WAIT
   * too) never hold the port against it. The pcb found collides unless both it and the
   * binder have SO_REUSEPORT; on a multicast address SO_REUSEADDR counts as SO_REUSEPORT.
   */
  bindConflict(inp: Inpcb, laddr: Uint8Array, lport: number, options: number): boolean {
    let reuseport = options & SO_REUSEPORT;
    if (addrIsMulticast(laddr) && (options & (SO_REUSEADDR | SO_REUSEPORT)) !== 0) reuseport = SO_REUSEPORT;
    const t = this.lookupLocal(inp, laddr, lport, (options & (SO_REUSEADDR | SO_REUSEPORT)) === 0);
    if (t === null) return false;
    const tOptions = t.inp_socket?.so_options ?? 0; // a TIME_WAIT pcb whose socket is gone has none
    const tReuseport = addrIsMulticast(laddr) && (tOptions & SO_REUSEADDR) !== 0 ? SO_REUSEPORT : tOptions;
    return (reuseport & tReuseport) === 0;
  }

  /**
   * in_pcblookup_local(): with `wildcard` the best fit on lport — each pcb costs one for a
   * foreign address, one for a wildcard on either side where the other is specific, and
   * INP_LOOKUP_MAPPED_PCB_COST for a dual-stack pcb of the other family; the cheapest wins,
   * the first on the list among equals. Without, the first unconnected pcb on exactly laddr.
   */
  private lookupLocal(inp: Inpcb, laddr: Uint8Array, lport: number, wildcard: boolean): Inpcb | null {
    let match: Inpcb | null = null;
    let matchwild = 3 + INP_LOOKUP_MAPPED_PCB_COST;
    for (let t = this.porthash.get(lport) ?? null; t !== null; t = t.portNext) {
      if (t === inp || !familiesOverlap(inp, t, laddr)) continue;
      const same = addrEq(t.inp_laddr, laddr, 0, 16);
      if (!wildcard) {
        if (!t.connected && same) return t;
        continue;
      }
      let cost = t.connected ? 1 : 0;
      if ((t.inp_vflag & INP_IPV6PROTO) !== (inp.inp_vflag & INP_IPV6PROTO)) cost += INP_LOOKUP_MAPPED_PCB_COST;
      const tAny = addrIsUnspec(t.inp_laddr);
      const lAny = addrIsUnspec(laddr);
      if (!tAny) {
        if (lAny) cost++;
        else if (!same) continue;
      } else if (!lAny) cost++;
      if (cost < matchwild) {
        match = t;
        matchwild = cost;
        if (cost === 0) break;
      }
    }
    return match;
  }

  /**
   * in_pcb_lport: pick an ephemeral port in [first, last], starting at a random
   * point (net.inet.ip.portrange.randomized) and probing upward. With a foreign
   * address the port may be shared as long as the 4-tuple is unique.
   */
  allocPort(inp: Inpcb, laddr: Uint8Array, faddr: Uint8Array | null, fport: number): number {
    const first = Math.min(this.range.first, this.range.last);
    const last = Math.max(this.range.first, this.range.last);
    const n = last - first + 1;
    const start = this.range.randomized ? this.random.u32() % n : (this.lastPort - first + 1 + n) % n;
    for (let i = 0; i < n; i++) {
      // An int32 (| 0): from u32() arithmetic V8 keeps a double, and one double stored in
      // inp_lport makes the field a boxed heap number in every pcb (16 bytes each).
      const port = (first + ((start + i) % n)) | 0;
      if (faddr !== null) {
        if (!this.tupleInUse(laddr, port, faddr, fport) && !this.unconnectedOn(inp, laddr, port)) {
          this.lastPort = port;
          return port;
        }
      } else if (!this.bindConflict(inp, laddr, port, 0)) {
        this.lastPort = port;
        return port;
      }
    }
    return 0;
  }

  /**
   * in_pcbconnect_setup's port step: the local port for connecting `inp` from
   * `laddr` to faddr:fport — its bound port when the 4-tuple is free, else an
   * ephemeral one. Returns the port or -EADDRINUSE / -EADDRNOTAVAIL.
   */
  connectPort(inp: Inpcb, laddr: Uint8Array, faddr: Uint8Array, fport: number): number {
    if (inp.inp_lport !== 0) {
      return this.tupleInUse(laddr, inp.inp_lport, faddr, fport) ? -ERRNO.EADDRINUSE : inp.inp_lport;
    }
    const port = this.allocPort(inp, laddr, faddr, fport);
    return port === 0 ? -ERRNO.EADDRNOTAVAIL : port;
  }

  private unconnectedOn(inp: Inpcb, laddr: Uint8Array, port: number): boolean {
    for (let t = this.porthash.get(port) ?? null; t !== null; t = t.portNext) {
      if (t !== inp && !t.connected && (addrEq(t.inp_laddr, laddr, 0, 16) || addrIsUnspec(t.inp_laddr))) return true;
    }
    return false;
  }

  /** Is this exact 4-tuple taken (in_pcblookup_hash_locked without wildcard)? */
  tupleInUse(laddr: Uint8Array, lport: number, faddr: Uint8Array, fport: number): boolean {
    for (let t = this.porthash.get(lport) ?? null; t !== null; t = t.portNext) {
      if (t.inp_fport === fport && addrEq(t.inp_faddr, faddr, 0, 16) && addrEq(t.inp_laddr, laddr, 0, 16)) return true;
    }
    return false;
  }
}

type PrevKey = 'portPrev' | 'wildPrev';
type NextKey = 'portNext' | 'wildNext';

/** LIST_INSERT_HEAD into the list of inp's port. */
function listAdd(m: Map<number, Inpcb>, inp: Inpcb, prev: PrevKey, next: NextKey): void {
  const head = m.get(inp.inp_lport) ?? null;
  inp[prev] = null;
  inp[next] = head;
  if (head !== null) head[prev] = inp;
  m.set(inp.inp_lport, inp);
}

/** LIST_REMOVE from the list of inp's port. */
function listRemove(m: Map<number, Inpcb>, inp: Inpcb, prev: PrevKey, next: NextKey): void {
  const p = inp[prev],
    n = inp[next];
  if (n !== null) n[prev] = p;
  if (p !== null) p[next] = n;
  else if (n !== null) m.set(inp.inp_lport, n);
  else m.delete(inp.inp_lport);
  inp[prev] = null;
  inp[next] = null;
}

function familiesOverlap(a: Inpcb, b: Inpcb, laddr: Uint8Array): boolean {
  const a6 = (a.inp_vflag & INP_IPV6PROTO) !== 0;
  const b6 = (b.inp_vflag & INP_IPV6PROTO) !== 0;
  if (a6 === b6) return true;
  // A dual-stack IPv6 socket overlaps IPv4 sockets unless it is V6ONLY.
  const six = a6 ? a : b;
  if ((six.inp_flags & IN6P_IPV6_V6ONLY) !== 0) return false;
  const sixAddr = a6 ? laddr : b.inp_laddr;
  return addrIsUnspec(sixAddr) || addrIsV4Mapped(sixAddr);
}

/** in_pcb.h: what a dual-stack pcb adds to a best-fit lookup of the other family. */
const INP_LOOKUP_MAPPED_PCB_COST = 3;

/* ---- in_pcblookup (the change notes' lookup API) ---- */

function lookupFlagsOk(lookupflags: number): void {
  const lk = lookupflags & (INPLOOKUP_RLOCKPCB | INPLOOKUP_WLOCKPCB);
  // "Callers must pass exactly one of these flags."
  if ((lookupflags & ~INPLOOKUP_MASK) !== 0 || (lk !== INPLOOKUP_RLOCKPCB && lk !== INPLOOKUP_WLOCKPCB)) {
    throw new SysError(
      'EINVAL',
      `in_pcblookup flags 0x${lookupflags.toString(16)}: exactly one of INPLOOKUP_RLOCKPCB, INPLOOKUP_WLOCKPCB`,
      'in_pcblookup',
    );
  }
}

/**
 * in_pcblookup_mbuf → in_pcblookup_group: the pcb for a received segment. The
 * group's table first (exact 4-tuple), then, with INPLOOKUP_WILDCARD, the wildcard
 * pcbs every group shares; the pcb comes back locked as the flags ask (the caller
 * unlocks). A segment whose RSS hash (hashType ≠ M_HASHTYPE_NONE) falls in a bucket
 * this group does not own is counted as misdirected and still looked up here. With
 * invariants on, a shared group lock must be held by this thread.
 */
export function inPcblookupMbuf(
  info: InpcbInfo,
  buf: Uint8Array,
  faddrOff: number,
  fport: number,
  laddrOff: number,
  lport: number,
  alen: number,
  lookupflags: number,
  hashType: number,
  flowid: number,
): Inpcb | null {
  lookupFlagsOk(lookupflags);
  const g = info.group;
  const pg = g.pcbgroup;
  if (invariants && pg.shared) pg.lock.assertOwned();
  if (hashType !== M_HASHTYPE_NONE && !pg.owns(flowid)) pg.misdirected++;
  let inp = g.lookup(buf, faddrOff, fport, laddrOff, lport, alen);
  if (inp === null && (lookupflags & INPLOOKUP_WILDCARD) !== 0) inp = info.lookupWild(buf, laddrOff, lport, alen);
  if (inp === null) return null;
  if ((lookupflags & INPLOOKUP_WLOCKPCB) !== 0) inpWlock(inp);
  else inpRlock(inp);
  return inp;
}

const tuple = new Uint8Array(32);

/**
 * in_pcblookup: the same for addresses in 16-byte in_conninfo form (IPv4 v4-mapped),
 * for callers without a packet (netstat, the runtime's control plane).
 */
export function inPcblookup(
  info: InpcbInfo,
  faddr: Uint8Array,
  fport: number,
  laddr: Uint8Array,
  lport: number,
  lookupflags: number,
): Inpcb | null {
  tuple.set(faddr.subarray(0, 16), 0);
  tuple.set(laddr.subarray(0, 16), 16);
  // An IPv4 pair is looked up as IPv4 (IPv4 listeners, dual-stack rules).
  const v4 = addrIsV4Mapped(faddr) && addrIsV4Mapped(laddr);
  return v4
    ? inPcblookupMbuf(info, tuple, 12, fport, 28, lport, 4, lookupflags, 0, 0)
    : inPcblookupMbuf(info, tuple, 0, fport, 16, lport, 16, lookupflags, 0, 0);
}
