/**
 * Live handoff of a main-thread socket's connection between a group worker and the TOE
 * card (docs/toe.md, "Live handoff"): the engine's export/import (docs/handoff.md) around
 * the socket app's halves (sockapp.ts handoffOut/handoffIn) — or, for an in-worker app's
 * connection, around the group's offloaded socket (toeproxy.ts) under the app's own
 * descriptor — with the owner's own record
 * of which connection holds which reservation — a group's TupleTracker, the card's TIDs —
 * told quietly, so neither releases a 4-tuple that merely moved.
 */
import {
  ERRNO,
  SysError,
  PFIL_IN,
  PFIL_PASS,
  PFIL_DROPPED,
  INPLOOKUP_RLOCKPCB,
  TCPS_ESTABLISHED,
  TCPS_CLOSE_WAIT,
  inpUnlock,
  type Engine,
  type Inpcb,
  type PfilHook,
  type PfilReturn,
  type TcpImportOptions,
} from '@mcstack/netinet';
import type { SockHandoff } from '../sockrec.js';
import type { GroupApp } from '../apps/app.js';
import { SockApp } from './sockapp.js';
import type { ToeChannel } from './toeproxy.js';

/** How one owner (a group, the card) keeps its connections' reservations. */
export interface HandoffOwner {
  readonly engine: Engine;
  /** The apps running here; the socket app among them. */
  apps(): readonly GroupApp[];
  /** The connection leaves: forget its reservation without releasing it and return its id; 0 when it has none yet. */
  leave(inp: Inpcb): number;
  /** The export failed: the connection keeps reservation `id`. */
  stay(inp: Inpcb, id: number): void;
  /** Reservation `id` belongs to the next connection imported. */
  arrive(id: number): void;
  /** The import is done: `fd` (or -errno, and then no connection holds the reservation). */
  arrived(fd: number): void;
  readonly importOptions: TcpImportOptions;
  /**
   * Feed the engine the frames already in its RX rings. The connection's TID was held
   * before the export was asked for, so frames for it still queued here were sent before
   * that: they reach its pcb now instead of finding none after the export (an RST).
   */
  drain(): void;
}

function sockApp(o: HandoffOwner): SockApp {
  for (const a of o.apps()) if (a instanceof SockApp) return a;
  throw new SysError('ENOENT', 'no socket app here', 'handoff');
}

/** How long a connection that left still has its late segments dropped here (µs of the engine's clock). */
const GONE_US = 1_000_000;

/**
 * Segments of connections that just left an engine, dropped silently (a pfil input hook)
 * instead of answered with an RST: a sender may have queued one before the link was told
 * to hold the connection's frames and published it after the export. TCP retransmits
 * them to the new owner. The hook is on the heads only while a connection is in the list.
 */
class GoneTuples {
  /** [src (the peer, 16 bytes, IPv4 in the last 4), sport << 16 | dport, expiry µs]. */
  private readonly gone: { src: Uint8Array; ports: number; until: number }[] = [];
  private readonly engine: Engine;
  private readonly hook: PfilHook;

  constructor(engine: Engine) {
    this.engine = engine;
    this.hook = { modname: 'handoff', rulname: 'gone', func: (b, off) => this.filter(b, off) };
  }

  /** A connection left: `src` its peer's address (16 bytes, IPv4 v4-mapped). */
  add(src: Uint8Array, fport: number, lport: number): void {
    const was = this.gone.length;
    this.gone.push({ src, ports: ((fport << 16) | lport) >>> 0, until: this.engine.now + GONE_US });
    if (was === 0) this.link(true);
    this.expire();
  }

  /** The connection came back: its segments are its pcb's again. */
  forget(src: Uint8Array, fport: number, lport: number): void {
    const ports = ((fport << 16) | lport) >>> 0;
    for (let i = this.gone.length - 1; i >= 0; i--) {
      const g = this.gone[i]!;
      if (g.ports === ports && g.src.every((v, j) => v === src[j])) this.gone.splice(i, 1);
    }
    if (this.gone.length === 0) this.link(false);
  }

  private expire(): void {
    const now = this.engine.now;
    for (let i = this.gone.length - 1; i >= 0; i--) if (this.gone[i]!.until <= now) this.gone.splice(i, 1);
    if (this.gone.length === 0) this.link(false);
  }

  private linked = false;

  private link(on: boolean): void {
    if (on === this.linked) return;
    this.linked = on;
    for (const head of [this.engine.net.pfil4, this.engine.net.pfil6]) {
      if (on) head.addHook(this.hook, PFIL_IN);
      else head.removeHook(this.hook);
    }
  }

  private filter(b: Uint8Array, off: number): PfilReturn {
    const v6 = b[off]! >> 4 === 6;
    if ((v6 ? b[off + 6] : b[off + 9]) !== 6) return PFIL_PASS;
    const src = v6 ? off + 8 : off + 12;
    const tcp = v6 ? off + 40 : off + (b[off]! & 0xf) * 4;
    const ports = ((b[tcp]! << 24) | (b[tcp + 1]! << 16) | (b[tcp + 2]! << 8) | b[tcp + 3]!) >>> 0;
    const alen = v6 ? 16 : 4;
    let hit = false;
    for (const g of this.gone) {
      if (g.ports !== ports) continue;
      let same = true;
      for (let j = 0; j < alen; j++) if (g.src[16 - alen + j] !== b[src + j]) same = false;
      if (same) hit = true;
    }
    if (!hit) {
      if (this.gone[0] !== undefined && this.gone[0].until <= this.engine.now) this.expire();
      return PFIL_PASS;
    }
    return PFIL_DROPPED;
  }
}

const goneByEngine = new WeakMap<Engine, GoneTuples>();

function goneOf(e: Engine): GoneTuples {
  let g = goneByEngine.get(e);
  if (g === undefined) {
    g = new GoneTuples(e);
    goneByEngine.set(e, g);
  }
  return g;
}

/** The leaving half: socket `sid`'s connection exported from this owner. Throws SysError. */
export function handoffOut(o: HandoffOwner, sid: number): SockHandoff {
  const e = o.engine;
  o.drain();
  const h = sockApp(o).handoffOut(sid, (fd) => {
    const inp = e.sockets.lookup(fd)?.so_pcb as Inpcb | null | undefined;
    const id = inp == null ? 0 : o.leave(inp);
    if (inp == null || id === 0) return -ERRNO.EAGAIN;
    const src = inp.inp_faddr.slice();
    const { inp_fport: fport, inp_lport: lport } = inp;
    const x = e.exportConnection(fd);
    if (typeof x === 'number') o.stay(inp, id);
    else goneOf(e).add(src, fport, lport);
    return x;
  });
  if (typeof h === 'number') throw SysError.fromErrno(h, 'handoff');
  return h;
}

/** The arriving half: the connection imported here under reservation `id`, serving socket `sid`. Throws SysError. */
export function handoffIn(o: HandoffOwner, h: SockHandoff, sid: number, id: number): void {
  const app = sockApp(o);
  o.arrive(id);
  const fd = o.engine.importConnection(h.x, undefined, o.importOptions);
  o.arrived(fd);
  if (fd < 0) throw SysError.fromErrno(fd, 'handoff');
  goneByEngine.get(o.engine)?.forget(new Uint8Array(h.x.pcb.faddr), h.x.pcb.fport, h.x.pcb.lport);
  app.handoffIn(h, sid, fd);
}

/* ------------------------------------------------------------ in-worker apps' connections */

/** A connection's 4-tuple as its stack sees it (laddr is its own). */
export interface AppTuple {
  laddr: string;
  lport: number;
  faddr: string;
  fport: number;
}

/**
 * The descriptor of the connection `t` when an in-worker app (not the socket app:
 * @mcstack/api moves its own) holds it established: the fd, or -ENOENT (none here),
 * -EBUSY (the socket app's), -EAGAIN (not established yet or closing).
 */
export function appFdOf(o: HandoffOwner, appOf: (fd: number) => GroupApp | undefined, t: AppTuple): number {
  const e = o.engine;
  const inp = e.pcblookup(
    'tcp',
    { addr: t.faddr, port: t.fport },
    { addr: t.laddr, port: t.lport },
    INPLOOKUP_RLOCKPCB,
  );
  if (typeof inp === 'number' || inp === null) return -ERRNO.ENOENT;
  inpUnlock(inp);
  const so = inp.inp_socket;
  const tp = inp.inp_ppcb as { t_state: number } | null;
  if (so === null || so.fd < 0) return -ERRNO.ENOENT;
  const app = appOf(so.fd);
  if (app === undefined) return -ERRNO.ENOENT;
  if (app instanceof SockApp) return -ERRNO.EBUSY;
  if (tp === null || (tp.t_state !== TCPS_ESTABLISHED && tp.t_state !== TCPS_CLOSE_WAIT)) return -ERRNO.EAGAIN;
  return so.fd;
}

/**
 * Host → card, the leaving half for an in-worker app's connection (descriptor `fd`):
 * exported as a socket's is, and an offloaded socket (toeproxy.ts) put under the same
 * descriptor, quiet until the card has the connection. Returns the export and the
 * socket's id on the group's rings to the card. Throws SysError.
 */
export function appHandoffOut(
  o: HandoffOwner,
  chan: ToeChannel,
  fd: number,
  t: AppTuple,
  app: string,
): { h: SockHandoff; sid: number } {
  const e = o.engine;
  o.drain();
  const inp = e.sockets.lookup(fd)?.so_pcb as Inpcb | null | undefined;
  if (inp == null) throw new SysError('ENOENT', 'the connection is gone', 'handoff');
  const id = o.leave(inp);
  if (id === 0) throw new SysError('EAGAIN', 'the connection holds no reservation yet', 'handoff');
  const src = inp.inp_faddr.slice();
  const { inp_fport: fport, inp_lport: lport } = inp;
  const x = e.exportConnection(fd);
  if (typeof x === 'number') {
    o.stay(inp, id);
    throw SysError.fromErrno(x, 'handoff');
  }
  goneOf(e).add(src, fport, lport);
  const sid = chan.adopt(fd, x, t, app);
  if (sid < 0) throw SysError.fromErrno(sid, 'handoff');
  return { h: { x, pending: null, eof: false, paused: false, shut: false }, sid };
}

/** How long the group waits for OP_MOVED of a connection the card exported (ms). */
const MOVED_WAIT_MS = 5000;

/**
 * Back on the host, the arriving half for an in-worker app's connection `sid` under
 * reservation `id`: `h` from the card (after its OP_MOVED has come up the rings:
 * `fromCard`), or the host's own export the card refused. The export with the offloaded
 * socket's unread and unsent bytes is imported and takes the app's descriptor. Throws
 * SysError (the connection is then still the card's, or still to be imported).
 */
export async function appHandoffIn(
  o: HandoffOwner,
  chan: ToeChannel,
  h: SockHandoff,
  sid: number,
  id: number,
  fromCard: boolean,
): Promise<void> {
  const e = o.engine;
  if (fromCard) {
    const until = performance.now() + MOVED_WAIT_MS;
    while (!chan.movedUp(sid)) {
      if (performance.now() > until) throw new SysError('ETIMEDOUT', 'the card did not report the move', 'handoff');
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  const r = chan.merged(sid, h.x, h.shut);
  o.arrive(id);
  const fd = e.importConnection(r.x, undefined, o.importOptions);
  o.arrived(fd);
  if (fd < 0) throw SysError.fromErrno(fd, 'handoff');
  goneByEngine.get(e)?.forget(new Uint8Array(h.x.pcb.faddr), h.x.pcb.fport, h.x.pcb.lport);
  chan.restore(sid, fd, r.shut);
}
