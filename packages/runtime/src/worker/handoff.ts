/**
 * Live handoff of a main-thread socket's connection between a group worker and the TOE
 * card (docs/toe.md, "Live handoff"): the engine's export/import (docs/handoff.md) around
 * the socket app's halves (sockapp.ts handoffOut/handoffIn), with the owner's own record
 * of which connection holds which reservation — a group's TupleTracker, the card's TIDs —
 * told quietly, so neither releases a 4-tuple that merely moved.
 */
import { ERRNO, SysError, type Engine, type Inpcb, type TcpImportOptions } from '@mcstack/netinet';
import type { SockHandoff } from '../sockrec.js';
import type { GroupApp } from '../apps/app.js';
import { SockApp } from './sockapp.js';

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

/** The leaving half: socket `sid`'s connection exported from this owner. Throws SysError. */
export function handoffOut(o: HandoffOwner, sid: number): SockHandoff {
  const e = o.engine;
  o.drain();
  const h = sockApp(o).handoffOut(sid, (fd) => {
    const inp = e.sockets.lookup(fd)?.so_pcb as Inpcb | null | undefined;
    const id = inp == null ? 0 : o.leave(inp);
    if (inp == null || id === 0) return -ERRNO.EAGAIN;
    const x = e.exportConnection(fd);
    if (typeof x === 'number') o.stay(inp, id);
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
  app.handoffIn(h, sid, fd);
}
