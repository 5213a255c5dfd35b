/**
 * A group's side of the coordinator's reservation table: which of its connections hold
 * which reservation, and what to tell the coordinator at the next sync. A reservation
 * lives as long as its pcb (in_pcbfree releases the 4-tuple, TIME_WAIT included), so the
 * tracker follows the pcbs in and out of the engine's 4-tuple hash: an active open enters
 * the hash during connect() holding the reservation the coordinator granted; any other
 * connected pcb entering the hash was born from a listener and is registered (batched).
 */
import { formatIP } from '@mcstack/wire/addr';
import type { Engine, Inpcb } from '@mcstack/netinet';
import type { PassiveTuple, ConnectRequest } from '../control.js';

interface Held { id: number; req: number; dead: boolean }

export class TupleTracker {
  /** The reservation id to attach to the next pcb hashed (set around an active connect). */
  pendingActive = 0;
  private readonly held = new Map<Inpcb, Held>();
  private readonly byReq = new Map<number, Held>();
  private nextReq = 1;
  passives: PassiveTuple[] = [];
  releases: number[] = [];
  /** Passive 4-tuples the coordinator found already taken (must stay 0). */
  conflicts = 0;
  accepts = 0;

  constructor(engine: Engine) {
    const info = engine.tcp.pcbinfo;
    const insHash = info.insHash.bind(info);
    const remove = info.remove.bind(info);
    info.insHash = (inp: Inpcb) => { insHash(inp); this.hashed(inp); };
    info.remove = (inp: Inpcb) => { remove(inp); this.freed(inp); };
  }

  /** Whether there is something to tell the coordinator. */
  get pending(): boolean {
    return this.passives.length > 0 || this.releases.length > 0;
  }

  /** Connections holding (or waiting for) a reservation. */
  get size(): number {
    return this.held.size;
  }

  private hashed(inp: Inpcb): void {
    if (this.held.has(inp) || !inp.connected) return;
    if (this.pendingActive !== 0) {
      this.held.set(inp, { id: this.pendingActive, req: 0, dead: false });
      this.pendingActive = 0;
      return;
    }
    const h: Held = { id: 0, req: this.nextReq++, dead: false };
    this.held.set(inp, h);
    this.byReq.set(h.req, h);
    const v4 = !inp.isV6;
    this.passives.push({
      req: h.req, laddr: addr(inp.inp_laddr, v4), lport: inp.inp_lport, faddr: addr(inp.inp_faddr, v4), fport: inp.inp_fport,
    });
    this.accepts++;
  }

  private freed(inp: Inpcb): void {
    const h = this.held.get(inp);
    if (h === undefined) return;
    this.held.delete(inp);
    if (h.id !== 0) this.releases.push(h.id);
    else h.dead = true;
  }

  /** The coordinator's answer to a passive registration. */
  passiveReply(req: number, id: number): void {
    const h = this.byReq.get(req);
    if (h === undefined) return;
    this.byReq.delete(req);
    if (id === 0) { this.conflicts++; return; }
    if (h.dead) this.releases.push(id);
    else h.id = id;
  }

  /** Take what is to be sent. */
  take(): { passives: PassiveTuple[]; releases: number[] } {
    const out = { passives: this.passives, releases: this.releases };
    this.passives = [];
    this.releases = [];
    return out;
  }
}

/** A pcb address (16 bytes, IPv4 v4-mapped) as text. */
export function addr(a: Uint8Array, v4: boolean): string {
  return formatIP(v4 ? a.subarray(12, 16) : a);
}

/** A 4-tuple the coordinator reserved for this group ahead of the connect that will use it. */
export interface Grant { id: number; lport: number }

/** One destination (local address, foreign address and port) and its pre-granted 4-tuples. */
export interface Dest {
  readonly laddr: string;
  readonly faddr: string;
  readonly fport: number;
  readonly family: 'inet' | 'inet6';
  /** Granted and unused (each a live 'connected' reservation held by this group). */
  readonly free: Grant[];
  /** Pool requests in flight. */
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
 * it), the group asks the coordinator for a block of return-aligned 4-tuples ahead of time,
 * so the next connects take one from the pool and need no round trip through the main
 * thread. Each grant is a full 'connected' reservation in the coordinator's table, held by
 * this group from the grant until the pcb using it is freed (or the grant is given back
 * unused), so the table still decides every 4-tuple once: no two connections share one.
 * Unused grants go back when the pool idles, when the indirection table changes (their
 * alignment may be stale) and at shutdown; a dead worker's are freed with the rest of its
 * reservations (ReservationTable.releaseWorker).
 */
export class ConnectPool {
  private readonly dests = new Map<string, Dest>();
  /** Pool requests in flight by request id (null: the pool was flushed since: give it back). */
  private readonly asked = new Map<number, Dest | null>();
  /** Connects served from the pool, and those that had to wait for the coordinator. */
  hits = 0;
  misses = 0;

  dest(laddr: string, faddr: string, fport: number, family: 'inet' | 'inet6'): Dest {
    const key = `${laddr}|${faddr}|${fport}`;
    let d = this.dests.get(key);
    if (d === undefined) {
      d = { laddr, faddr, fport, family, free: [], asked: 0, want: 0, inSync: false, answered: 0, lastUse: 0 };
      this.dests.set(key, d);
    }
    return d;
  }

  /** A connect to `d`: a grant from the pool, or undefined (it goes through the coordinator). */
  take(d: Dest, nowMs: number): Grant | undefined {
    // Sustained demand: another connect while one is being answered, or soon after one was.
    if (d.want === 0 && (d.inSync || (d.answered > 0 && nowMs - d.lastUse < POOL_IDLE_MS))) d.want = POOL_MIN;
    d.lastUse = nowMs;
    const g = d.free.pop();
    if (g !== undefined) { this.hits++; return g; }
    this.misses++;
    // Ran dry while warm: aim higher.
    if (d.want > 0) d.want = Math.min(POOL_MAX, d.want * 2);
    return undefined;
  }

  /** Append the pool requests that bring `d` back to its target (asked when below half). */
  refill(d: Dest, out: ConnectRequest[], nextReq: () => number): void {
    const have = d.free.length + d.asked;
    if (d.want === 0 || have * 2 >= d.want) return;
    for (let n = d.want - have; n > 0; n--) {
      const req = nextReq();
      this.asked.set(req, d);
      d.asked++;
      out.push({ req, laddr: d.laddr, faddr: d.faddr, fport: d.fport });
    }
  }

  /** Whether request `req` was a pool request (then its answer is handled here; ids to give back go to `releases`). */
  answer(req: number, grant: Grant | null, releases: number[]): boolean {
    if (!this.asked.has(req)) return false;
    const d = this.asked.get(req)!;
    this.asked.delete(req);
    if (d === null) { if (grant !== null) releases.push(grant.id); return true; }
    d.asked--;
    if (grant === null) d.want = 0; // refused (no aligned port free): stop prefetching
    else if (d.want === 0) releases.push(grant.id);
    else d.free.push(grant);
    return true;
  }

  /** Give back every unused grant and go cold (indirection change, shutdown). */
  flush(releases: number[]): void {
    for (const d of this.dests.values()) {
      for (const g of d.free) releases.push(g.id);
      d.free.length = 0;
      d.want = 0;
      d.asked = 0;
    }
    for (const req of this.asked.keys()) this.asked.set(req, null);
  }

  /** Give back the grants of pools unused for POOL_IDLE_MS. */
  trim(nowMs: number, releases: number[]): void {
    for (const d of this.dests.values()) {
      if (d.want === 0 || nowMs - d.lastUse < POOL_IDLE_MS) continue;
      for (const g of d.free) releases.push(g.id);
      d.free.length = 0;
      d.want = 0;
    }
  }
}
