/**
 * Connection groups (FreeBSD netinet/in_pcbgroup.c, struct inpcbgroup; "options
 * PCBGROUP"). A worker's engine runs as group `id` of `ngroups` and owns a set of RSS
 * buckets: the connections whose 4-tuple hashes into those buckets live in its group
 * table, behind the group's lock. Wildcard (listening, unconnected) pcbs are members of
 * every group: each worker's engine holds the same listeners in its pcbinfo's wildcard
 * list, and a lookup tries the group table first, then the wildcard list
 * (in_pcblookup_group).
 *
 * - `Pcbgroup`: what the engine runs as (ipg_cpu's role: id, ngroups, the buckets owned)
 *   and its `GroupLock`. One per engine, shared by the TCP and UDP groups (FreeBSD has an
 *   ipg_lock per protocol group; one lock per worker is what the runtime holds around
 *   each slice of work it does). A standalone engine is group 0 of 1 owning every bucket.
 * - `InpcbGroup`: one protocol's group (ipg_hashbase/ipg_hashmask): the exact 4-tuple
 *   hash of the connected pcbs the engine holds. The pcbinfo's port hash stays the
 *   per-protocol reservation table, as the change notes describe.
 * - `GroupLock`: a mutex in a SharedArrayBuffer (compare-exchange, Atomics.wait/notify,
 *   Drepper's three-state futex mutex), so another thread can take the owning group's
 *   lock. It counts acquisitions and waits (contended acquisitions) for the scaling study.
 *
 * Who takes a group's lock in the runtime (packages/runtime): its worker, for each slice
 * of frames, callouts and app polls (tryLock, else lockAsync: a worker must keep serving
 * messages, so it never blocks its thread on the lock); the coordinator on the main
 * thread (lockAsync) for a cross-worker in_pcblookup (Stack.pcblookup: held until the
 * caller's release() with INPLOOKUP_RLOCKPCB / INPLOOKUP_WLOCKPCB), for netstat, and for
 * an indirection change (the losing groups', across the live-connection check and the
 * change); the worker's control reads (netstat, snapshot...) take it when free and run
 * under the coordinator's hold when not. A misdirected packet is not looked up across
 * threads: its receiver hops it to the owner, which looks it up under its own lock.
 */
import { threadId } from 'node:worker_threads';
import { ERRNO, SysError } from '../kern/errno.js';
import type { Inpcb } from './in_pcb.js';

/* GroupLock words (Int32, in this order from the lock's byte offset). */
const L_STATE = 0; // 0 free, 1 held, 2 held with (possible) waiters
const L_OWNER = 1; // holder's thread token (threadId + 1), 0 when free
const L_WAITS = 2; // acquisitions that found the lock held
const L_ACQUIRES = 3; // acquisitions
/** Bytes a GroupLock takes in a SharedArrayBuffer (4-byte aligned offset). */
export const GROUP_LOCK_BYTES = 16;
/** Compare-exchange retries before sleeping (the holder usually runs on another core). */
const SPINS = 64;

/** Atomics.waitAsync (ES2024; Node ≥ 16 has it). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: unknown };
  }
).waitAsync;
const ME = threadId + 1;

export class GroupLock {
  readonly sab: SharedArrayBuffer;
  readonly byteOffset: number;
  private readonly w: Int32Array;

  /** Over `sab` at `byteOffset` (another thread's lock), or over a new buffer. */
  constructor(sab?: SharedArrayBuffer, byteOffset = 0) {
    this.sab = sab ?? new SharedArrayBuffer(GROUP_LOCK_BYTES);
    if (
      !Number.isInteger(byteOffset) ||
      byteOffset < 0 ||
      (byteOffset & 3) !== 0 ||
      byteOffset + GROUP_LOCK_BYTES > this.sab.byteLength
    ) {
      throw new SysError('EINVAL', `group lock needs ${GROUP_LOCK_BYTES} aligned bytes at ${byteOffset}`, 'GroupLock');
    }
    this.byteOffset = byteOffset;
    this.w = new Int32Array(this.sab, byteOffset, GROUP_LOCK_BYTES >> 2);
  }

  /** INP_GROUP_LOCK: block until held. Recursion is a bug (EDEADLK). */
  lock(): void {
    const w = this.w;
    let c = Atomics.compareExchange(w, L_STATE, 0, 1);
    if (c !== 0) {
      if (Atomics.load(w, L_OWNER) === ME)
        throw new SysError('EDEADLK', 'group lock already held by this thread', 'GroupLock.lock', ERRNO.EDEADLK);
      Atomics.add(w, L_WAITS, 1);
      for (let i = 0; i < SPINS && c !== 0; i++) c = Atomics.compareExchange(w, L_STATE, 0, 1);
      if (c !== 0) {
        if (c !== 2) c = Atomics.exchange(w, L_STATE, 2);
        while (c !== 0) {
          Atomics.wait(w, L_STATE, 2);
          c = Atomics.exchange(w, L_STATE, 2);
        }
      }
    }
    Atomics.store(w, L_OWNER, ME);
    Atomics.add(w, L_ACQUIRES, 1);
  }

  /** INP_GROUP_TRYLOCK: take it only if free. */
  tryLock(): boolean {
    if (Atomics.compareExchange(this.w, L_STATE, 0, 1) !== 0) return false;
    Atomics.store(this.w, L_OWNER, ME);
    Atomics.add(this.w, L_ACQUIRES, 1);
    return true;
  }

  /**
   * Take the lock without blocking the event loop (Atomics.waitAsync): for a thread that
   * must keep serving messages, such as the coordinator taking a worker's group lock.
   */
  async lockAsync(): Promise<void> {
    const w = this.w;
    let c = Atomics.compareExchange(w, L_STATE, 0, 1);
    if (c !== 0) {
      Atomics.add(w, L_WAITS, 1);
      c = Atomics.exchange(w, L_STATE, 2);
      while (c !== 0) {
        const r = waitAsync(w, L_STATE, 2);
        if (r.async) await r.value;
        c = Atomics.exchange(w, L_STATE, 2);
      }
    }
    Atomics.store(w, L_OWNER, ME);
    Atomics.add(w, L_ACQUIRES, 1);
  }

  /** INP_GROUP_UNLOCK: only the holding thread may release (EPERM otherwise). */
  unlock(): void {
    const w = this.w;
    if (Atomics.load(w, L_OWNER) !== ME || Atomics.load(w, L_STATE) === 0) {
      throw new SysError('EPERM', 'group lock not held by this thread', 'GroupLock.unlock');
    }
    Atomics.store(w, L_OWNER, 0);
    if (Atomics.sub(w, L_STATE, 1) !== 1) {
      Atomics.store(w, L_STATE, 0);
      Atomics.notify(w, L_STATE, 1);
    }
  }

  /** Held by some thread. */
  get locked(): boolean {
    return Atomics.load(this.w, L_STATE) !== 0;
  }
  /** Held by this thread. */
  get owned(): boolean {
    return Atomics.load(this.w, L_STATE) !== 0 && Atomics.load(this.w, L_OWNER) === ME;
  }
  /** Acquisitions that had to wait for another holder (lock waits for the scaling study). */
  get waits(): number {
    return Atomics.load(this.w, L_WAITS) >>> 0;
  }
  get acquisitions(): number {
    return Atomics.load(this.w, L_ACQUIRES) >>> 0;
  }

  /** INP_GROUP_LOCK_ASSERT */
  assertOwned(): void {
    if (!this.owned)
      throw new SysError('EPERM', 'group lock not held by this thread (INP_GROUP_LOCK_ASSERT)', 'GroupLock');
  }
}

export interface PcbgroupOptions {
  /** This group's number, 0 ≤ id < ngroups (the worker index). */
  id?: number;
  ngroups?: number;
  /** RSS buckets in the indirection table (a power of two, at most 128). */
  nbuckets?: number;
  /** The buckets this group owns (default: all). */
  buckets?: Iterable<number>;
  /** The group lock: a GroupLock, or the SharedArrayBuffer (and offset) one lives in. */
  lock?: GroupLock | { sab: SharedArrayBuffer; byteOffset?: number };
}

/** The group an engine runs as: its RSS buckets and its lock. */
export class Pcbgroup {
  readonly id: number;
  readonly ngroups: number;
  readonly nbuckets: number;
  readonly lock: GroupLock;
  /** The lock came from outside: other threads may take it, so it must be held for lookups. */
  readonly shared: boolean;
  /** Hashed segments looked up here whose bucket this group does not own. */
  misdirected = 0;
  private readonly mask: number;
  private readonly owned: Uint8Array;

  constructor(o: PcbgroupOptions = {}) {
    const ngroups = o.ngroups ?? 1;
    const id = o.id ?? 0;
    const nbuckets = o.nbuckets ?? 1;
    if (!Number.isInteger(ngroups) || ngroups < 1)
      throw new SysError('EINVAL', `ngroups must be a positive integer, got ${ngroups}`, 'pcbgroup');
    if (!Number.isInteger(id) || id < 0 || id >= ngroups)
      throw new SysError('EINVAL', `group id must be in [0, ${ngroups}), got ${id}`, 'pcbgroup');
    if (!Number.isInteger(nbuckets) || nbuckets < 1 || nbuckets > 128 || (nbuckets & (nbuckets - 1)) !== 0) {
      throw new SysError('EINVAL', `nbuckets must be a power of two from 1 to 128, got ${nbuckets}`, 'pcbgroup');
    }
    this.id = id;
    this.ngroups = ngroups;
    this.nbuckets = nbuckets;
    this.mask = nbuckets - 1;
    this.owned = new Uint8Array(nbuckets);
    if (o.lock instanceof GroupLock) this.lock = o.lock;
    else if (o.lock !== undefined) this.lock = new GroupLock(o.lock.sab, o.lock.byteOffset ?? 0);
    else this.lock = new GroupLock();
    this.shared = o.lock !== undefined;
    this.setBuckets(o.buckets ?? this.allBuckets());
  }

  private allBuckets(): number[] {
    return Array.from({ length: this.nbuckets }, (_, i) => i);
  }

  /** Does this group own the bucket of RSS hash `hash` (rss_getbucket(hash))? */
  owns(hash: number): boolean {
    return this.owned[hash & this.mask] === 1;
  }

  /** The bucket of a hash. */
  bucketOf(hash: number): number {
    return hash & this.mask;
  }

  /** The buckets owned, ascending. */
  buckets(): number[] {
    const out: number[] = [];
    for (let b = 0; b < this.nbuckets; b++) if (this.owned[b] === 1) out.push(b);
    return out;
  }

  /** Replace the owned set (an indirection table change). */
  setBuckets(list: Iterable<number>): void {
    const next = new Uint8Array(this.nbuckets);
    for (const b of list) {
      if (!Number.isInteger(b) || b < 0 || b >= this.nbuckets)
        throw new SysError('EINVAL', `bucket ${b} outside [0, ${this.nbuckets})`, 'pcbgroup');
      next[b] = 1;
    }
    this.owned.set(next);
  }
}

/**
 * The 4-tuple hash the group table uses (and, under its secret `seed`, the SYN cache). Only
 * the last 32 bits of each address take part (the ia46 layout keeps IPv4 there); chains
 * compare the full addresses.
 */
export function hashTuple(
  fkey: number,
  fport: number,
  lkey: number,
  lport: number,
  mask: number,
  seed = 0x9e3779b9,
): number {
  let h = Math.imul(fkey ^ seed, 0x85ebca6b) ^ Math.imul(lkey, 0xc2b2ae35);
  h ^= Math.imul((fport << 16) | lport, 0x27d4eb2f);
  h ^= h >>> 15;
  return h & mask;
}

/**
 * struct inpcbgroup for one protocol: the connected pcbs of the group in a chained
 * hash that starts small and doubles with the connections it holds (an engine is made
 * per test and per benchmark run; filling 16 Ki buckets up front cost more than a
 * short transfer).
 */
export class InpcbGroup {
  private hashMask: number;
  private hash: (Inpcb | null)[];
  /** Connected pcbs held. */
  count = 0;

  constructor(
    public pcbgroup: Pcbgroup,
    private readonly maxBuckets = 1 << 14,
  ) {
    const n = Math.min(maxBuckets, 64);
    this.hashMask = n - 1;
    this.hash = new Array<Inpcb | null>(n).fill(null);
  }

  /** The exact 4-tuple match, addresses read from a packet (len 4 or 16). */
  lookup(
    buf: Uint8Array,
    faddrOff: number,
    fport: number,
    laddrOff: number,
    lport: number,
    alen: number,
  ): Inpcb | null {
    const fk =
      ((buf[faddrOff + alen - 4]! << 24) |
        (buf[faddrOff + alen - 3]! << 16) |
        (buf[faddrOff + alen - 2]! << 8) |
        buf[faddrOff + alen - 1]!) >>>
      0;
    const lk =
      ((buf[laddrOff + alen - 4]! << 24) |
        (buf[laddrOff + alen - 3]! << 16) |
        (buf[laddrOff + alen - 2]! << 8) |
        buf[laddrOff + alen - 1]!) >>>
      0;
    let inp: Inpcb | null = this.hash[hashTuple(fk, fport, lk, lport, this.hashMask)] ?? null;
    while (inp !== null) {
      if (
        inp.inp_fport === fport &&
        inp.inp_lport === lport &&
        inp.fkey === fk &&
        inp.lkey === lk &&
        inp.addrsAre(buf, faddrOff, laddrOff, alen)
      )
        return inp;
      inp = inp.hashNext;
    }
    return null;
  }

  /** in_pcbgroup_update: enter a connected pcb. */
  insert(inp: Inpcb): void {
    if (this.count >= this.hash.length && this.hash.length < this.maxBuckets) this.rehash(this.hash.length * 2);
    const h = hashTuple(inp.fkey, inp.inp_fport, inp.lkey, inp.inp_lport, this.hashMask);
    inp.hashNext = this.hash[h]!;
    this.hash[h] = inp;
    this.count++;
  }

  /** in_pcbgroup_remove */
  remove(inp: Inpcb): void {
    const h = hashTuple(inp.fkey, inp.inp_fport, inp.lkey, inp.inp_lport, this.hashMask);
    let p: Inpcb | null = this.hash[h] ?? null;
    if (p === inp) this.hash[h] = inp.hashNext;
    else {
      while (p !== null && p.hashNext !== inp) p = p.hashNext;
      if (p === null) return;
      p.hashNext = inp.hashNext;
    }
    inp.hashNext = null;
    this.count--;
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
}
