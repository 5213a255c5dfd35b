/**
 * Internet protocol control blocks (FreeBSD netinet/in_pcb.c): the inpcb that ties
 * a socket to its addresses and ports, and the inpcbinfo with its connection hash
 * (exact 4-tuple), port hash (every pcb by local port) and the wildcard fallback
 * used for listeners. Addresses are kept in 16 bytes as in struct in_conninfo: an
 * IPv4 address sits in the last 4 bytes (the ia46 layout), so one compare serves
 * both families. Lookups read addresses straight from the received packet.
 */
import { ERRNO } from '../kern/errno.js';
import type { RandomSource } from '../kern/random.js';
import type { Socket } from '../kern/uipc_socket.js';
import type { Tcpcb } from '../tcp/var.js';

export const INP_IPV4 = 0x1;
export const INP_IPV6 = 0x2;
export const INP_IPV6PROTO = 0x4;

/** inp_flags */
export const IN6P_IPV6_V6ONLY = 0x00008000;
export const INP_DROPPED = 0x04000000;
export const INP_TIMEWAIT = 0x01000000;

export class Inpcb {
  /** INP_IPV4 / INP_IPV6 for the family the connection uses now. */
  inp_vflag = 0;
  inp_flags = 0;
  readonly inp_laddr = new Uint8Array(16);
  readonly inp_faddr = new Uint8Array(16);
  inp_lport = 0;
  inp_fport = 0;
  /** Last 32 bits of each address, the hash inputs. */
  lkey = 0;
  fkey = 0;
  /** IP_TOS / IPV6_TCLASS, IP_TTL / IPV6_UNICAST_HOPS (-1: system default). */
  inp_ip_tos = 0;
  inp_ip_ttl = -1;
  /** Protocol control block (the tcpcb for TCP). */
  inp_ppcb: Tcpcb | null = null;
  /** Cached route: (net layer's object), invalidated when routes change. */
  inp_route: unknown = null;
  /** Generation of the routing table the cache was taken at. */
  inp_rtgen = -1;
  hashNext: Inpcb | null = null;
  inHash = false;
  inPortHash = false;

  constructor(readonly info: InpcbInfo, public inp_socket: Socket | null, v6: boolean) {
    this.inp_vflag = v6 ? INP_IPV6 : INP_IPV4;
    if (v6) this.inp_vflag |= INP_IPV6PROTO;
  }

  get isV6(): boolean { return (this.inp_vflag & INP_IPV6) !== 0; }
  get connected(): boolean { return this.inp_fport !== 0; }
  setLaddr(a: Uint8Array, off = 0, len = 16): void { setAddr(this.inp_laddr, a, off, len); this.lkey = key(this.inp_laddr); }
  setFaddr(a: Uint8Array, off = 0, len = 16): void { setAddr(this.inp_faddr, a, off, len); this.fkey = key(this.inp_faddr); }
}

function setAddr(dst: Uint8Array, a: Uint8Array, off: number, len: number): void {
  if (len === 4) {
    dst.fill(0, 0, 10);
    // An IPv4 address in a dual-stack slot is the v4-mapped form (RFC 4291 §2.5.5.2).
    dst[10] = 0xff; dst[11] = 0xff;
    dst[12] = a[off]!; dst[13] = a[off + 1]!; dst[14] = a[off + 2]!; dst[15] = a[off + 3]!;
  } else {
    for (let i = 0; i < 16; i++) dst[i] = a[off + i]!;
  }
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

export function addrIsV4Mapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

/** Compare a pcb address with `len` (4 or 16) packet bytes at `off`. */
export function addrEq(a: Uint8Array, b: Uint8Array, off: number, len: number): boolean {
  if (len === 4) {
    return a[10] === 0xff && a[11] === 0xff && a[12] === b[off] && a[13] === b[off + 1]
      && a[14] === b[off + 2] && a[15] === b[off + 3] && a[0] === 0 && a[9] === 0;
  }
  for (let i = 15; i >= 0; i--) if (a[i] !== b[off + i]) return false;
  return true;
}

function hashTuple(fkey: number, fport: number, lkey: number, lport: number, mask: number): number {
  let h = Math.imul(fkey ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(lkey, 0xc2b2ae35);
  h ^= Math.imul((fport << 16) | lport, 0x27d4eb2f);
  h ^= h >>> 15;
  return h & mask;
}

/** struct inpcbinfo: one per protocol. */
export class InpcbInfo {
  private hashMask: number;
  private hash: (Inpcb | null)[];
  /** Connected pcbs in the 4-tuple hash, and the most buckets it may grow to. */
  private hashed = 0;
  private readonly maxBuckets: number;
  /** Every bound pcb by local port (ipi_porthashbase). */
  private porthash = new Map<number, Inpcb[]>();
  count = 0;
  /** net.inet.ip.portrange.first / last / randomized (the network layer's values when shared). */
  range: { first: number; last: number; randomized: number } = { first: 10000, last: 65535, randomized: 1 };
  private lastPort = 0;

  constructor(private readonly random: RandomSource, buckets = 1 << 14) {
    // The table starts small and doubles while it holds more pcbs than buckets (an
    // engine is made per test and per benchmark run; filling 16 Ki buckets up front
    // cost more than a short transfer).
    this.maxBuckets = buckets;
    const n = Math.min(buckets, 64);
    this.hashMask = n - 1;
    this.hash = new Array<Inpcb | null>(n).fill(null);
  }

  /** in_pcblookup: exact 4-tuple, addresses read from a packet (len 4 or 16). */
  lookupExact(buf: Uint8Array, faddrOff: number, fport: number, laddrOff: number, lport: number, alen: number): Inpcb | null {
    const fk = ((buf[faddrOff + alen - 4]! << 24) | (buf[faddrOff + alen - 3]! << 16) | (buf[faddrOff + alen - 2]! << 8) | buf[faddrOff + alen - 1]!) >>> 0;
    const lk = ((buf[laddrOff + alen - 4]! << 24) | (buf[laddrOff + alen - 3]! << 16) | (buf[laddrOff + alen - 2]! << 8) | buf[laddrOff + alen - 1]!) >>> 0;
    let inp: Inpcb | null = this.hash[hashTuple(fk, fport, lk, lport, this.hashMask)] ?? null;
    while (inp !== null) {
      if (inp.inp_fport === fport && inp.inp_lport === lport && inp.fkey === fk && inp.lkey === lk
        && addrEq(inp.inp_faddr, buf, faddrOff, alen) && addrEq(inp.inp_laddr, buf, laddrOff, alen)) return inp;
      inp = inp.hashNext;
    }
    return null;
  }

  /**
   * The wildcard fallback (INPLOOKUP_WILDCARD): an unconnected pcb bound to lport,
   * preferring an exact local address over INADDR_ANY / ::. An IPv6 pcb takes IPv4
   * packets only without IPV6_V6ONLY.
   */
  lookupWild(buf: Uint8Array, laddrOff: number, lport: number, alen: number): Inpcb | null {
    const list = this.porthash.get(lport);
    if (list === undefined) return null;
    let wild: Inpcb | null = null;
    for (let i = 0; i < list.length; i++) {
      const inp = list[i]!;
      if (inp.connected) continue;
      if (alen === 4) {
        if ((inp.inp_vflag & INP_IPV6PROTO) !== 0 && (inp.inp_flags & IN6P_IPV6_V6ONLY) !== 0) continue;
        if ((inp.inp_vflag & INP_IPV6PROTO) !== 0 && !addrIsUnspec(inp.inp_laddr) && !addrIsV4Mapped(inp.inp_laddr)) continue;
      } else if ((inp.inp_vflag & INP_IPV6PROTO) === 0) continue;
      if (addrEq(inp.inp_laddr, buf, laddrOff, alen)) {
        // An exact local address; an IPv4 socket beats a dual-stack one.
        if ((inp.inp_vflag & INP_IPV6PROTO) === 0 || alen === 16) return inp;
        wild = inp;
      } else if (addrIsUnspec(inp.inp_laddr)) {
        if (wild === null || ((wild.inp_vflag & INP_IPV6PROTO) !== 0 && alen === 4 && (inp.inp_vflag & INP_IPV6PROTO) === 0)) wild = inp;
      }
    }
    return wild;
  }

  /** in_pcbinshash: enter a connected pcb into the 4-tuple hash. */
  insHash(inp: Inpcb): void {
    if (inp.inHash) this.remHash(inp);
    if (this.hashed >= this.hash.length && this.hash.length < this.maxBuckets) this.rehash(this.hash.length * 2);
    const h = hashTuple(inp.fkey, inp.inp_fport, inp.lkey, inp.inp_lport, this.hashMask);
    inp.hashNext = this.hash[h]!;
    this.hash[h] = inp;
    inp.inHash = true;
    this.hashed++;
  }

  private rehash(buckets: number): void {
    const old = this.hash;
    this.hash = new Array<Inpcb | null>(buckets).fill(null);
    this.hashMask = buckets - 1;
    for (let i = 0; i < old.length; i++) {
      let inp = old[i] ?? null;
      while (inp !== null) {
        const next = inp.hashNext;
        const h = hashTuple(inp.fkey, inp.inp_fport, inp.lkey, inp.inp_lport, this.hashMask);
        inp.hashNext = this.hash[h]!;
        this.hash[h] = inp;
        inp = next;
      }
    }
  }

  private remHash(inp: Inpcb): void {
    const h = hashTuple(inp.fkey, inp.inp_fport, inp.lkey, inp.inp_lport, this.hashMask);
    let p: Inpcb | null = this.hash[h] ?? null;
    if (p === inp) this.hash[h] = inp.hashNext;
    else {
      while (p !== null && p.hashNext !== inp) p = p.hashNext;
      if (p !== null) p.hashNext = inp.hashNext;
    }
    inp.hashNext = null;
    inp.inHash = false;
    this.hashed--;
  }

  insPort(inp: Inpcb): void {
    if (inp.inPortHash) return;
    let list = this.porthash.get(inp.inp_lport);
    if (!list) { list = []; this.porthash.set(inp.inp_lport, list); }
    list.push(inp);
    inp.inPortHash = true;
    this.count++;
  }

  /** in_pcbdrop / in_pcbfree: out of every table. */
  remove(inp: Inpcb): void {
    if (inp.inHash) this.remHash(inp);
    if (inp.inPortHash) {
      const list = this.porthash.get(inp.inp_lport);
      if (list) {
        const i = list.indexOf(inp);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.porthash.delete(inp.inp_lport);
      }
      inp.inPortHash = false;
      this.count--;
    }
    inp.inp_flags |= INP_DROPPED;
  }

  /** Every pcb in the port hash (for sockstat/netstat and leak checks). */
  all(): Inpcb[] {
    const out: Inpcb[] = [];
    for (const l of this.porthash.values()) out.push(...l);
    return out;
  }

  /**
   * in_pcbbind_setup's conflict rule: without SO_REUSEADDR any pcb on the port whose
   * local address overlaps (equal or either wildcard) conflicts, connected ones and
   * TIME_WAIT included; with it only an unconnected pcb on exactly the same address.
   */
  bindConflict(inp: Inpcb, laddr: Uint8Array, lport: number, reuseaddr: boolean): boolean {
    const list = this.porthash.get(lport);
    if (!list) return false;
    for (const t of list) {
      if (t === inp) continue;
      if (!familiesOverlap(inp, t, laddr)) continue;
      const same = addrEq(t.inp_laddr, laddr, 0, 16);
      if (reuseaddr) {
        if (!t.connected && same && !(t.inp_socket && t.inp_socket.reuseaddr())) return true;
      } else if (same || addrIsUnspec(t.inp_laddr) || addrIsUnspec(laddr)) {
        return true;
      }
    }
    return false;
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
      const port = first + ((start + i) % n);
      if (faddr !== null) {
        if (!this.tupleInUse(laddr, port, faddr, fport) && !this.unconnectedOn(inp, laddr, port)) {
          this.lastPort = port;
          return port;
        }
      } else if (!this.bindConflict(inp, laddr, port, false)) {
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
    const list = this.porthash.get(port);
    if (!list) return false;
    for (const t of list) {
      if (t !== inp && !t.connected && (addrEq(t.inp_laddr, laddr, 0, 16) || addrIsUnspec(t.inp_laddr))) return true;
    }
    return false;
  }

  /** Is this exact 4-tuple taken (in_pcblookup_hash_locked without wildcard)? */
  tupleInUse(laddr: Uint8Array, lport: number, faddr: Uint8Array, fport: number): boolean {
    const list = this.porthash.get(lport);
    if (!list) return false;
    for (const t of list) {
      if (t.inp_fport === fport && addrEq(t.inp_faddr, faddr, 0, 16) && addrEq(t.inp_laddr, laddr, 0, 16)) return true;
    }
    return false;
  }
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
