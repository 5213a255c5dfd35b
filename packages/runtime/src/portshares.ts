/**
 * Ports reserved once for the stack that every group then binds a socket of its own on:
 * TCP listeners and UDP sockets (FreeBSD's pcbgroups put wildcard sockets in every group,
 * in_pcbgroup.c). The reservation holds the port in its protocol's table; each group's
 * socket counts as one share of it, and the last share's release frees the port.
 */
import type { SysError } from '@mcstack/netinet';
import { SO_REUSEADDR, type ReservationTable, type Reservation } from './reservations.js';

export class PortShares {
  /** Reservations by "family/port": the owner, and per worker the shares it holds. */
  private readonly ports = new Map<string, { r: Reservation; owner: string; by: Map<number, number> }>();

  /** `listen`: the reservations are listening ones (TCP); else bound ones (UDP). */
  constructor(
    private readonly table: ReservationTable,
    private readonly listen: boolean,
  ) {}

  /**
   * A share of (family, port) for `owner`'s socket in `worker`: the port (port 0: an
   * ephemeral one the table picks, which the other groups then bind), or an errno name
   * (EADDRINUSE when another owner holds it).
   */
  take(worker: number, family: 4 | 6, port: number, owner: string): number | string {
    const have = port === 0 ? undefined : this.ports.get(`${family}/${port}`);
    if (have !== undefined) {
      if (have.owner !== owner) return 'EADDRINUSE';
      have.by.set(worker, (have.by.get(worker) ?? 0) + 1);
      return port;
    }
    try {
      // SO_REUSEADDR as the groups' sockets have it: the port's connections (TIME_WAIT too) do not conflict.
      const r = this.table.bind(new Uint8Array(family === 4 ? 4 : 16), port, { worker: -1, options: SO_REUSEADDR });
      if (this.listen) this.table.listen(r.id);
      this.ports.set(`${family}/${r.lport}`, { r, owner, by: new Map([[worker, 1]]) });
      return r.lport;
    } catch (e) {
      return (e as SysError).code ?? 'EINVAL';
    }
  }

  /** One share of `worker` on (family, port) closed; the last one frees the port. */
  release(worker: number, family: 4 | 6, port: number): void {
    const key = `${family}/${port}`;
    const l = this.ports.get(key);
    const n = l?.by.get(worker);
    if (l === undefined || n === undefined) return;
    if (n > 1) l.by.set(worker, n - 1);
    else l.by.delete(worker);
    if (l.by.size === 0) {
      this.table.release(l.r.id);
      this.ports.delete(key);
    }
  }

  /** Every share of a worker that is gone. */
  releaseWorker(worker: number): void {
    for (const [key, l] of this.ports) {
      if (!l.by.delete(worker) || l.by.size > 0) continue;
      this.table.release(l.r.id);
      this.ports.delete(key);
    }
  }

  /** Reserved ports (for tests and tools). */
  get size(): number {
    return this.ports.size;
  }
}
