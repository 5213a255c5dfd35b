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
import type { PassiveTuple } from '../control.js';

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
