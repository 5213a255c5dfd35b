/**
 * A group's side of the coordinator's reservation table: which of its connections hold
 * which reservation, and what to tell the coordinator at the next sync. A reservation
 * lives as long as its pcb (in_pcbfree releases the 4-tuple, TIME_WAIT included), so the
 * tracker follows the pcbs in and out of the engine's 4-tuple hash: an active open enters
 * the hash during connect() holding the reservation the coordinator granted; any other
 * connected pcb entering the hash was born from a listener and is registered (batched).
 *
 * What crosses to the coordinator is numbers where it can be: IPv4 registrations are
 * packed four numbers each (addresses as u32, as the pcb keeps them in lkey/fkey), and
 * their answers come back as ids in request order, so a registration costs no object, no
 * text and no request number; IPv6 ones (rare) go as text.
 */
import { formatIP } from '@mcstack/wire';
import type { Engine, Inpcb } from '@mcstack/netinet';
import type { PassiveTuple, ConnectRequest, ConnectReply } from '../control.js';

export class TupleTracker {
  /** The reservation id to attach to the next pcb hashed (set around an active connect). */
  pendingActive = 0;
  /**
   * Each tracked pcb's reservation id, or -(registration number) while its passive
   * registration is unanswered.
   */
  private readonly held = new Map<Inpcb, number>();
  /** Unanswered registrations: the pcb, or null once it is gone (its id is released on arrival). */
  private readonly byReg = new Map<number, Inpcb | null>();
  private nextReg = 1;
  /** To send: IPv4 registrations [laddr, lport, faddr, fport]..., IPv6 ones, and the registration numbers of both in that order. */
  passives4: number[] = [];
  passives6: PassiveTuple[] = [];
  private regs4: number[] = [];
  private regs6: number[] = [];
  /** Registrations sent and not answered yet (one sync is in flight at a time), in reply order. */
  private inflight: number[] = [];
  releases: number[] = [];
  /** Passive 4-tuples the coordinator found already taken (must stay 0). */
  conflicts = 0;
  accepts = 0;

  constructor(engine: Engine) {
    const info = engine.tcp.pcbinfo;
    const insHash = info.insHash.bind(info);
    const remove = info.remove.bind(info);
    info.insHash = (inp: Inpcb) => {
      insHash(inp);
      this.hashed(inp);
    };
    info.remove = (inp: Inpcb) => {
      remove(inp);
      this.freed(inp);
    };
  }

  /** Whether there is something to tell the coordinator. */
  get pending(): boolean {
    return this.regs4.length > 0 || this.regs6.length > 0 || this.releases.length > 0;
  }

  /** Registrations and releases waiting for the next sync. */
  get queued(): number {
    return this.regs4.length + this.regs6.length + this.releases.length;
  }

  /** Connections holding (or waiting for) a reservation. */
  get size(): number {
    return this.held.size;
  }

  private hashed(inp: Inpcb): void {
    if (!inp.connected || this.held.has(inp)) return;
    if (this.pendingActive !== 0) {
      this.held.set(inp, this.pendingActive);
      this.pendingActive = 0;
      return;
    }
    const reg = this.nextReg++;
    this.held.set(inp, -reg);
    this.byReg.set(reg, inp);
    if (!inp.isV6) {
      this.passives4.push(inp.lkey, inp.inp_lport, inp.fkey, inp.inp_fport);
      this.regs4.push(reg);
    } else {
      this.passives6.push({
        laddr: addr(inp.inp_laddr, false),
        lport: inp.inp_lport,
        faddr: addr(inp.inp_faddr, false),
        fport: inp.inp_fport,
      });
      this.regs6.push(reg);
    }
    this.accepts++;
  }

  /**
   * A live handoff takes `inp` elsewhere: its reservation id, no longer tracked here (the
   * coordinator moves it to the new owner), or 0 while its registration is unanswered.
   */
  handOff(inp: Inpcb): number {
    const v = this.held.get(inp) ?? 0;
    if (v > 0) this.held.delete(inp);
    return Math.max(v, 0);
  }

  /** The handoff of `inp` failed: it holds reservation `id` again. */
  keep(inp: Inpcb, id: number): void {
    this.held.set(inp, id);
  }

  private freed(inp: Inpcb): void {
    const v = this.held.get(inp);
    if (v === undefined) return;
    this.held.delete(inp);
    if (v > 0) this.releases.push(v);
    else this.byReg.set(-v, null);
  }

  /** Take what is to be sent (the registrations become the in-flight batch passiveReplies answers). */
  take(): { passives4: number[]; passives6: PassiveTuple[]; releases: number[] } {
    const out = { passives4: this.passives4, passives6: this.passives6, releases: this.releases };
    this.inflight = this.regs6.length === 0 ? this.regs4 : this.regs4.concat(this.regs6);
    this.passives4 = [];
    this.passives6 = [];
    this.regs4 = [];
    this.regs6 = [];
    this.releases = [];
    return out;
  }

  /**
   * The coordinator's answer to the in-flight registrations: an id each (0: the 4-tuple
   * was taken). A coordinator that no longer counts this worker as alive answers none.
   */
  passiveReplies(ids: readonly number[]): void {
    const regs = this.inflight;
    this.inflight = [];
    for (let i = 0; i < regs.length; i++) {
      if (i >= ids.length) {
        this.unanswered(regs[i]!);
        continue;
      }
      const reg = regs[i]!;
      const inp = this.byReg.get(reg);
      this.byReg.delete(reg);
      const id = ids[i]!;
      if (id === 0) {
        this.conflicts++;
        continue;
      }
      if (inp === null) this.releases.push(id);
      else if (inp !== undefined) this.held.set(inp, id);
    }
  }

  /** The sync failed: its registrations will never be answered. */
  syncFailed(): void {
    for (const reg of this.inflight) this.unanswered(reg);
    this.inflight = [];
  }

  /** A registration that will get no id: its pcb holds nothing. */
  private unanswered(reg: number): void {
    const inp = this.byReg.get(reg);
    this.byReg.delete(reg);
    if (inp != null) this.held.delete(inp);
  }
}

/** A pcb address (16 bytes, IPv4 v4-mapped) as text. */
export function addr(a: Uint8Array, v4: boolean): string {
  return formatIP(v4 ? a.subarray(12, 16) : a);
}

/** A 4-tuple the coordinator reserved for this group ahead of the connect that will use it. */
export interface Grant {
  id: number;
  lport: number;
}

/** One destination (local address, foreign address and port) and its pre-granted 4-tuples. */
export interface Dest {
  readonly laddr: string;
  readonly faddr: string;
  readonly fport: number;
  readonly family: 'inet' | 'inet6';
  /** The addresses as the coordinator takes them: u32 for IPv4, text for IPv6. */
  readonly lkey: number | string;
  readonly fkey: number | string;
  /** Granted and unused (each a live 'connected' reservation held by this group). */
  readonly free: Grant[];
  /** Pool grants asked for and not answered yet. */
  asked: number;
  /** The pool size aimed at (0: cold, no prefetching). */
  want: number;
  /** A request for this destination is in the sync in flight. */
  inSync: boolean;
  /** Connects the coordinator answered (outside the pool). */
  answered: number;
  /** When a connect last took a grant (ms). */
  lastUse: number;
}

/** Pool size when a destination turns warm, and its cap. */
const POOL_MIN = 16;
const POOL_MAX = 512;
/** A warm pool unused this long gives its grants back (ms). */
export const POOL_IDLE_MS = 100;

/**
 * Pre-granted active opens (the connect fast path): under sustained demand for a
 * destination (a connect comes while the coordinator is still answering an earlier one to
 * it), the group asks the coordinator for a block of return-aligned 4-tuples ahead of time
 * (one request for the block), so the next connects take one from the pool and need no
 * round trip through the main thread. Each grant is a full 'connected' reservation in the
 * coordinator's table, held by this group from the grant until the pcb using it is freed
 * (or the grant is given back unused), so the table still decides every 4-tuple once: no
 * two connections share one. Unused grants go back when the pool idles, when the
 * indirection table changes (their alignment may be stale) and at shutdown; a dead
 * worker's are freed with the rest of its reservations (ReservationTable.releaseWorker).
 */
export class ConnectPool {
  /** Destinations by foreign address text, then port (no key is built per connect). */
  private readonly dests = new Map<string, Map<number, Dest>>();
  /** Pool requests in flight by request id, with the count asked (dest null: the pool was flushed since: give them back). */
  private readonly asked = new Map<number, { dest: Dest | null; n: number }>();
  /** Connects served from the pool, and those that had to wait for the coordinator. */
  hits = 0;
  misses = 0;

  /** The destination `faddr`:`fport` (as the app named it), if seen before. */
  find(faddr: string, fport: number): Dest | undefined {
    return this.dests.get(faddr)?.get(fport);
  }

  /** Add a destination: local and foreign address as text and as parsed (once, here, not per connect). */
  add(laddr: string, la: Uint8Array, faddr: string, fa: Uint8Array, fport: number): Dest {
    let ports = this.dests.get(faddr);
    if (ports === undefined) {
      ports = new Map();
      this.dests.set(faddr, ports);
    }
    const v4 = fa.length === 4;
    const d: Dest = {
      laddr,
      faddr,
      fport,
      family: v4 ? 'inet' : 'inet6',
      lkey: v4 ? ipv4Key(la) : laddr,
      fkey: v4 ? ipv4Key(fa) : faddr,
      free: [],
      asked: 0,
      want: 0,
      inSync: false,
      answered: 0,
      lastUse: 0,
    };
    ports.set(fport, d);
    return d;
  }

  /** A connect to `d`: a grant from the pool, or undefined (it goes through the coordinator). */
  take(d: Dest, nowMs: number): Grant | undefined {
    // Sustained demand: another connect while one is being answered, or soon after one was.
    if (d.want === 0 && (d.inSync || (d.answered > 0 && nowMs - d.lastUse < POOL_IDLE_MS))) d.want = POOL_MIN;
    d.lastUse = nowMs;
    const g = d.free.pop();
    if (g !== undefined) {
      this.hits++;
      return g;
    }
    this.misses++;
    // Ran dry while warm: aim higher.
    if (d.want > 0) d.want = Math.min(POOL_MAX, d.want * 2);
    return undefined;
  }

  /** The pool request (number `req`) that brings `d` back to its target, when it is below half; else null. */
  refill(d: Dest, req: number): ConnectRequest | null {
    const have = d.free.length + d.asked;
    if (d.want === 0 || have * 2 >= d.want) return null;
    const n = d.want - have;
    this.asked.set(req, { dest: d, n });
    d.asked += n;
    return { req, laddr: d.lkey, faddr: d.fkey, fport: d.fport, count: n };
  }

  /** Whether `c` answers a pool request (then it is handled here; ids to give back go to `releases`). */
  answer(c: ConnectReply, releases: number[]): boolean {
    const a = this.asked.get(c.req);
    if (a === undefined) return false;
    this.asked.delete(c.req);
    const d = a.dest;
    const g = c.grants;
    if (d === null) {
      for (let i = 0; i < g.length; i += 2) releases.push(g[i]!);
      return true;
    }
    d.asked -= a.n;
    for (let i = 0; i < g.length; i += 2) {
      if (d.want === 0) releases.push(g[i]!);
      else d.free.push({ id: g[i]!, lport: g[i + 1]! });
    }
    // Refused (no aligned port free): stop prefetching.
    if (c.errno !== undefined) d.want = 0;
    return true;
  }

  /** Give back every unused grant and go cold (indirection change, shutdown). */
  flush(releases: number[]): void {
    for (const ports of this.dests.values()) {
      for (const d of ports.values()) {
        giveBack(d, releases);
        d.want = 0;
        d.asked = 0;
      }
    }
    for (const a of this.asked.values()) a.dest = null;
  }

  /** Give back the grants of pools unused for POOL_IDLE_MS. */
  trim(nowMs: number, releases: number[]): void {
    for (const ports of this.dests.values()) {
      for (const d of ports.values()) {
        if (d.want === 0 || nowMs - d.lastUse < POOL_IDLE_MS) continue;
        giveBack(d, releases);
        d.want = 0;
      }
    }
  }
}

/** An IPv4 address as the u32 the coordinator takes. */
function ipv4Key(a: Uint8Array): number {
  return ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
}

function giveBack(d: Dest, releases: number[]): void {
  for (const g of d.free) releases.push(g.id);
  d.free.length = 0;
}
