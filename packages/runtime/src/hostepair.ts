/**
 * An epair between the daemon's own stack (jid 0, the group workers) and the vnet worker
 * (FreeBSD's `ifconfig epair0 create; ifconfig epair0b vnet j1`). The `a` end is one
 * Ethernet interface in every group worker, as cxgbe0 is: queues of one link. The `b` end
 * is in the vnet worker, parked in its hidden prison0 until moved into a jail.
 *
 * Frames travel on shared-memory rings, one pair per worker: what the b end sends is
 * hashed by RSS with the stack's indirection table (linkmatrix.ts LinkTx, as a peer's
 * frames are) into the ring of the worker that owns the flow, so the pcbgroup rules hold
 * on the host side; ARP and ND go to every worker. What a worker sends goes on its ring
 * to the vnet worker, which is woken by its doorbell (Doorbell.sleepAsync).
 */
import { FrameRing } from './ring.js';
import { DOORBELL_BYTES } from './doorbell.js';
import { LINK_SLOT_SIZE } from './linkmatrix.js';
import { SysError } from '@mcstack/netinet';
import type { RemoteWorker, Strategy } from './control.js';
import type { Doorbell } from './doorbell.js';
import type { VnetJails } from './vnet.js';

/** Frames each direction's ring holds per worker. */
export const HOST_EPAIR_SLOTS = 1024;

/** What a group worker needs for its `a` end (WorkerControl.epairAttach). */
export interface GroupEpairSpec {
  name: string;
  mac: Uint8Array;
  /** vnet worker → this worker, and this worker → vnet worker. */
  rx: SharedArrayBuffer;
  tx: SharedArrayBuffer;
  /** The vnet worker's doorbell for this epair. */
  bell: SharedArrayBuffer;
}

/** What the vnet worker needs for the `b` end (VnetWorkerApi.hostEpair). */
export interface VnetEpairSpec {
  name: string;
  mac: Uint8Array;
  /** Per worker: the ring into it and the ring out of it. */
  toWorkers: SharedArrayBuffer[];
  fromWorkers: SharedArrayBuffer[];
  bell: SharedArrayBuffer;
  workerBells: SharedArrayBuffer[];
  indirection: SharedArrayBuffer;
  strategy: Strategy;
}

/** FreeBSD's epair MACs are locally administered, the last byte telling the ends apart. */
export function hostEpairMac(unit: number, side: 'a' | 'b'): Uint8Array {
  return new Uint8Array([0x02, 0x00, 0x00, (unit >>> 8) & 0xff, unit & 0xff, side === 'a' ? 0x0a : 0x0b]);
}

/** The rings and doorbell of one epair for a stack of `workers`. */
export function hostEpairRings(workers: number): {
  toWorkers: SharedArrayBuffer[];
  fromWorkers: SharedArrayBuffer[];
  bell: SharedArrayBuffer;
} {
  const ring = () => FrameRing.create({ slots: HOST_EPAIR_SLOTS, slotSize: LINK_SLOT_SIZE }).sab;
  return {
    toWorkers: Array.from({ length: workers }, ring),
    fromWorkers: Array.from({ length: workers }, ring),
    bell: new SharedArrayBuffer(DOORBELL_BYTES),
  };
}

/** What HostEpairs needs of the daemon's stack (runtime Stack). */
export interface HostEpairStack {
  readonly workers: number;
  readonly strategy: Strategy;
  readonly bells: readonly Doorbell[];
  readonly indirectionSab: SharedArrayBuffer;
  alive(w: number): boolean;
  control(w: number): RemoteWorker;
}

/**
 * The daemon's own `ifconfig epair create` and what follows on such an epair: the `a` end
 * into every live group worker, the `b` end into the vnet worker's prison0.
 *
 *   const h = new HostEpairs(stack, jails);
 *   await h.create();                            // 'epair0a'
 *   await h.ifconfig(['epair0b', 'vnet', 'j1']);  // the b end into jail j1
 *   await h.ifconfig(['epair0a', 'destroy']);     // both ends go
 */
export class HostEpairs {
  /** Units in use, with the workers that hold their `a` end. */
  private readonly units = new Map<number, number[]>();

  constructor(
    private readonly stack: HostEpairStack,
    private readonly jails: VnetJails,
  ) {}

  /** Whether `name` is an end of one of these epairs. */
  owns(name: string): boolean {
    const m = /^epair(\d+)[ab]$/.exec(name);
    return m !== null && this.units.has(Number(m[1]));
  }

  /** ifconfig epair create: the `a` end's name. A unit no jail's epair uses (EEXIST from the vnet worker otherwise). */
  async create(): Promise<string> {
    const st = this.stack;
    const live = Array.from({ length: st.workers }, (_, w) => w).filter((w) => st.alive(w));
    if (live.length === 0) throw new SysError('ESRCH', 'no live worker', 'ifconfig');
    const rings = hostEpairRings(st.workers);
    // The lowest unit free here whose names no jail's epair took (the vnet worker says EEXIST).
    let unit = 0;
    for (; ; unit++) {
      if (this.units.has(unit)) continue;
      try {
        await this.jails.hostEpair({
          name: `epair${unit}b`,
          mac: hostEpairMac(unit, 'b'),
          toWorkers: rings.toWorkers,
          fromWorkers: rings.fromWorkers,
          bell: rings.bell,
          workerBells: st.bells.map((x) => x.sab),
          indirection: st.indirectionSab,
          strategy: st.strategy,
        });
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST' || unit >= 4096) throw e;
      }
    }
    const a = `epair${unit}a`;
    const done: number[] = [];
    this.units.set(unit, done);
    try {
      for (const w of live) {
        await st.control(w).epairAttach({
          name: a,
          mac: hostEpairMac(unit, 'a'),
          rx: rings.toWorkers[w]!,
          tx: rings.fromWorkers[w]!,
          bell: rings.bell,
        });
        done.push(w);
      }
    } catch (e) {
      await this.destroy(unit).catch(() => {});
      throw e;
    }
    return a;
  }

  /** The daemon's `ifconfig` on an end: the `b` end's moves and `destroy` of either. */
  async ifconfig(argv: string[]): Promise<void> {
    const [name, w, ...rest] = argv;
    if (name === undefined || !this.owns(name))
      throw new SysError('ENXIO', `interface ${name ?? ''} is not an epair`, 'ifconfig');
    const unit = Number(/^epair(\d+)/.exec(name)![1]);
    if (w === 'destroy' && rest.length === 0) return this.destroy(unit);
    if (name.endsWith('b')) return this.jails.hostIfconfig(argv);
    if (w === 'vnet' || w === '-vnet')
      throw new SysError('EOPNOTSUPP', `${name} is in every worker: its b end is the one that moves`, 'ifconfig');
    // The `a` end is in every worker: the same address in each (as cxgbe0's), the other words as on cxgbe0.
    const [cidr] = rest;
    for (const x of this.units.get(unit)!) {
      if (!this.stack.alive(x)) continue;
      const c = this.stack.control(x);
      if ((w === 'inet' || w === 'inet6') && cidr !== undefined && rest.length === 1) {
        if (!cidr.includes('/') || (w === 'inet6') !== cidr.includes(':'))
          throw new SysError('EINVAL', `'${cidr}' is not an ${w} address/prefix`, 'ifconfig');
        await c.epairAddr(name, cidr);
      } else await c.ifconfig(argv);
    }
  }

  private async destroy(unit: number): Promise<void> {
    const holders = this.units.get(unit) ?? [];
    this.units.delete(unit);
    for (const w of holders) if (this.stack.alive(w)) await this.stack.control(w).epairDetach(`epair${unit}a`);
    await this.jails.hostIfconfig([`epair${unit}b`, 'destroy']).catch(() => {});
  }
}
