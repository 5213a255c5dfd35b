/**
 * Vnet jails in one thread (FreeBSD kern/kern_jail.c with options VIMAGE, net/vnet.c,
 * net/if.c if_vmove, net/if_epair.c): several complete stacks side by side, each an
 * Engine of its own — interfaces, FIBs, pcbs, host cache, SYN cache, sysctl tree,
 * counters and zones — created and removed while the others carry traffic.
 *
 *   const j = new Jails({ seed: 1, output(jid, ifp, frame, meta) {...} }); // jid 0: the host (prison0)
 *   const jid = j.create({ name: 'web', vnet: true });     // jail -c name=web vnet
 *   const [a, b] = j.epairCreate();                        // ifconfig epair create: epair0a, epair0b
 *   j.vmove(b, 'web');                                     // ifconfig epair0b vnet web
 *   j.engine('web')!.addAddr(b, '10.0.0.2/24');            // ifconfig -j web epair0b inet ...
 *   j.input('cxgbe0', frame, now);                         // a frame from a physical link
 *   j.advance(now);                                        // callouts, then epair frames until quiet
 *   j.remove('web');                                       // jail -r web: RSTs out, everything freed
 *   j.list();                                              // jls
 *
 * An epair is a pair of Ethernet interfaces joined in memory: a frame sent on one end is
 * received on the other, queued as if_epair.c's netisr queue does (never re-entrantly
 * from inside the sender's output) and delivered by advance(). Moving an interface
 * (if_vmove) detaches it from one stack — its addresses and routes stay behind — and
 * attaches it, same name and link address, to the other. Removing a jail returns the
 * interfaces it borrowed to their home stack (vnet_if_return) and destroys the epairs it
 * created, both ends, before the stack itself is torn down (Engine.destroy).
 */
import { Engine, type EngineOptions, type VnetLeftovers } from './engine.js';
import type { Ifnet } from './net/if.js';
import type { FrameMeta } from './net/mbuf.js';
import type { KenvValues } from './kern/kenv.js';
import { SysError } from './kern/errno.js';

/** jail(8) parameters this stack knows. */
export interface JailParams {
  name: string;
  /** `vnet`: a stack of its own. Required: a jail sharing the host's stack is refused. */
  vnet?: boolean;
  /** The new stack's loader tunables (its own loader.conf). */
  tunables?: KenvValues;
}

/** One line of jls. */
export interface JailInfo {
  jid: number;
  name: string;
  vnet: boolean;
  interfaces: string[];
}

export interface JailsOptions {
  /** The host's stack (jid 0); a new one when absent. */
  host?: Engine;
  /** Seeds each stack's random source: jail `jid` gets seed + jid (deterministic). */
  seed?: number;
  /** A frame leaving a physical (non-epair) interface of stack `jid`. */
  output?(jid: number, ifp: Ifnet, frame: Uint8Array, meta: FrameMeta): void;
  /** Passed to every stack made here. */
  engine?: Omit<EngineOptions, 'seed' | 'output' | 'tunables' | 'random'>;
}

interface Prison {
  jid: number;
  name: string;
  engine: Engine;
}

/** One end of an epair: where it is now, and where it came from. */
interface EpairEnd {
  readonly name: string;
  readonly unit: number;
  /** The stack that created the pair (if_home_vnet). */
  readonly home: number;
  jid: number;
  ifp: Ifnet;
  peer: EpairEnd;
}

/** A queued frame: a reused buffer, its length, and views by length so delivery allocates nothing. */
interface EpairSlot {
  end: EpairEnd | null;
  buf: Uint8Array;
  len: number;
  views: Map<number, Uint8Array>;
}

/** Frames kept in the epair queue at most (net.link.epair.netisr_maxqlen's role); more are dropped. */
const EPAIR_QLEN = 4096;

export class Jails {
  private readonly prisons = new Map<number, Prison>();
  private nextJid = 1;
  private readonly seed: number;
  private readonly out: JailsOptions['output'];
  private readonly engineOpts: JailsOptions['engine'];
  /** Epair ends by their current Ifnet (the output path's lookup) and by name. */
  private readonly epairByIfp = new Map<Ifnet, EpairEnd>();
  private readonly epairByName = new Map<string, EpairEnd>();
  /** Physical interfaces lent to a jail (their home is the host), by name. */
  private readonly lent = new Map<string, { jid: number; ifp: Ifnet }>();
  private readonly q: EpairSlot[] = [];
  private qHead = 0;
  private qTail = 0;
  /** Frames dropped because the epair queue was full (if_oqdrops of the sending end). */
  qdrops = 0;

  constructor(o: JailsOptions = {}) {
    this.seed = o.seed ?? 1;
    this.out = o.output;
    this.engineOpts = o.engine;
    const host = o.host ?? new Engine({ ...o.engine, seed: this.seed });
    this.prisons.set(0, { jid: 0, name: '0', engine: host });
    this.wire(0, host);
  }

  /** The host's stack (prison0). */
  get host(): Engine {
    return this.prisons.get(0)!.engine;
  }

  private wire(jid: number, e: Engine): void {
    e.output = (ifp, frame, meta) => {
      const end = this.epairByIfp.get(ifp);
      if (end !== undefined) this.enqueue(end, frame);
      else this.out?.(jid, ifp, frame, meta);
    };
  }

  /** A jid or a name to its prison (jail -j takes either); null when none. */
  private find(j: number | string): Prison | null {
    if (typeof j === 'number') return this.prisons.get(j) ?? null;
    const n = Number(j);
    if (j !== '' && Number.isInteger(n)) return this.prisons.get(n) ?? null;
    for (const p of this.prisons.values()) if (p.name === j) return p;
    return null;
  }

  /** The stack of jail `j` (jid or name), jid 0 the host's; null when there is none. */
  engine(j: number | string): Engine | null {
    return this.find(j)?.engine ?? null;
  }

  /** jail -c: the new jail's jid. EEXIST for a name in use, EINVAL for a bad name, EOPNOTSUPP without vnet. */
  create(p: JailParams, now?: number): number {
    if (!p.vnet) throw new SysError('EOPNOTSUPP', 'only vnet jails are supported (jail -c name=N vnet)', 'jail');
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(p.name) || /^\d+$/.test(p.name))
      throw new SysError('EINVAL', `invalid jail name '${p.name}'`, 'jail');
    if (this.find(p.name) !== null) throw new SysError('EEXIST', `jail '${p.name}' already exists`, 'jail');
    const jid = this.nextJid++;
    const engine = new Engine({
      ...this.engineOpts,
      seed: (this.seed + jid) >>> 0,
      tunables: p.tunables,
      now: now ?? this.host.now,
    });
    this.prisons.set(jid, { jid, name: p.name, engine });
    this.wire(jid, engine);
    return jid;
  }

  /**
   * jail -r: the jail's borrowed interfaces go home, the epairs it made are destroyed,
   * then its stack is torn down (its live connections' peers get RSTs). Returns what the
   * teardown found still held. ENOENT for no such jail, EINVAL for the host.
   */
  remove(j: number | string, now?: number): VnetLeftovers {
    const p = this.find(j);
    if (p === null) throw new SysError('ENOENT', `jail '${j}' not found`, 'jail');
    if (p.jid === 0) throw new SysError('EINVAL', 'the host (jid 0) cannot be removed', 'jail');
    const e = p.engine;
    // The stack's own teardown first: its RSTs leave while its interfaces are still there.
    const left = e.destroy(now);
    this.deliver(now ?? e.now);
    for (const [name, l] of [...this.lent]) {
      if (l.jid !== p.jid) continue;
      this.moveIfnet(l.ifp, e, this.host, 'physical');
      this.lent.delete(name);
    }
    for (const end of [...this.epairByName.values()]) {
      if (end.home === p.jid && this.epairByName.has(end.name)) this.epairDestroy(end);
      else if (end.jid === p.jid) this.moveEpair(end, this.prisons.has(end.home) ? end.home : 0);
    }
    this.prisons.delete(p.jid);
    return left;
  }

  /** jls: every jail but the host, by jid. */
  list(): JailInfo[] {
    const out: JailInfo[] = [];
    for (const p of [...this.prisons.values()].sort((a, b) => a.jid - b.jid)) {
      if (p.jid === 0) continue;
      out.push({ jid: p.jid, name: p.name, vnet: true, interfaces: p.engine.net.ifnets.map((i) => i.name) });
    }
    return out;
  }

  /* ------------------------------------------------------------ epair */

  /** ifconfig epair create (in jail `j`, the host by default): the two ends' names. */
  epairCreate(j: number | string = 0): [string, string] {
    const p = this.find(j);
    if (p === null) throw new SysError('ENOENT', `jail '${j}' not found`, 'ifconfig');
    let unit = 0;
    // Skip a unit whose names another stack uses (an epair to the daemon's workers).
    while (
      this.epairByName.has(`epair${unit}a`) ||
      this.findIfnet(`epair${unit}a`) !== null ||
      this.findIfnet(`epair${unit}b`) !== null
    )
      unit++;
    const mk = (side: 'a' | 'b'): EpairEnd => {
      const name = `epair${unit}${side}`;
      if (this.findIfnet(name) !== null) throw new SysError('EEXIST', `interface ${name} exists`, 'ifconfig');
      const ifp = p.engine.ifattach({ name, type: 'ether', lladdr: epairMac(unit, side) });
      return { name, unit, home: p.jid, jid: p.jid, ifp, peer: null as unknown as EpairEnd };
    };
    const a = mk('a');
    const b = mk('b');
    a.peer = b;
    b.peer = a;
    for (const end of [a, b]) {
      this.epairByIfp.set(end.ifp, end);
      this.epairByName.set(end.name, end);
      // if_epair.c: the pair's link is up as soon as it exists.
      this.engine(end.jid)!.setUp(end.ifp, true);
    }
    return [a.name, b.name];
  }

  /** ifconfig epairNa destroy (either end): both ends go, wherever they are. ENXIO when not an epair. */
  ifDestroy(name: string): void {
    const end = this.epairByName.get(name);
    if (end === undefined) throw new SysError('ENXIO', `interface ${name} is not a cloned interface`, 'ifconfig');
    this.epairDestroy(end);
  }

  private epairDestroy(end: EpairEnd): void {
    for (const x of [end, end.peer]) {
      const e = this.engine(x.jid);
      if (e !== null && !e.destroyed) e.ifdetach(x.ifp);
      this.epairByIfp.delete(x.ifp);
      this.epairByName.delete(x.name);
    }
    // Frames queued to either end are dropped with it.
    for (let i = this.qHead; i < this.qTail; i++) {
      const s = this.q[i % this.q.length]!;
      if (s.end === end || s.end === end.peer) s.end = null;
    }
  }

  private enqueue(from: EpairEnd, frame: Uint8Array): void {
    if (this.qTail - this.qHead >= EPAIR_QLEN) {
      from.ifp.data.ifi_oqdrops++;
      this.qdrops++;
      return;
    }
    if (this.qTail - this.qHead === this.q.length) this.growQueue();
    const s = this.q[this.qTail % this.q.length]!;
    this.qTail++;
    if (s.buf.length < frame.length) {
      s.buf = new Uint8Array(Math.max(frame.length, 2048));
      s.views.clear();
    }
    s.buf.set(frame);
    s.len = frame.length;
    s.end = from.peer;
  }

  /** The ring doubles (rarely: its size follows the largest burst), keeping queued order. */
  private growQueue(): void {
    const old = this.q.splice(0);
    const n = old.length;
    for (let i = 0; i < n; i++) this.q.push(old[(this.qHead + i) % n]!);
    const add = Math.max(16, n);
    for (let i = 0; i < add; i++) this.q.push({ end: null, buf: new Uint8Array(2048), len: 0, views: new Map() });
    this.qTail -= this.qHead;
    this.qHead = 0;
  }

  /** Deliver queued epair frames (and those their delivery sends) until none is left; how many. */
  private deliver(now: number): number {
    let n = 0;
    while (this.qHead < this.qTail) {
      const s = this.q[this.qHead % this.q.length]!;
      this.qHead++;
      const end = s.end;
      s.end = null;
      if (end === null) continue;
      const e = this.engine(end.jid);
      if (e === null || e.destroyed || !end.ifp.up) continue;
      let v = s.views.get(s.len);
      if (v === undefined) {
        v = s.buf.subarray(0, s.len);
        s.views.set(s.len, v);
      }
      e.input(end.ifp, v, now);
      n++;
    }
    this.qHead = this.qTail = 0;
    return n;
  }

  /* ------------------------------------------------------------ if_vmove */

  /** Which stack holds interface `name` now, or null. */
  private findIfnet(name: string): Prison | null {
    for (const p of this.prisons.values()) if (p.engine.ifunit(name) !== null) return p;
    return null;
  }

  /**
   * ifconfig IF vnet J: move interface IF (a physical one, or an epair end) from stack
   * `from` (the host by default) into jail J. Its addresses and routes stay behind, as
   * if_vmove leaves them. ENXIO when `from` has no such interface, EINVAL for lo0, ENOENT
   * for no such jail.
   */
  vmove(name: string, j: number | string, from: number | string = 0): void {
    const p = this.find(j);
    const f = this.find(from);
    if (p === null || f === null) throw new SysError('ENOENT', `jail '${p === null ? j : from}' not found`, 'ifconfig');
    if (name === 'lo0') throw new SysError('EINVAL', 'lo0 cannot move', 'ifconfig');
    const ifp = f.engine.ifunit(name);
    if (ifp === null) throw new SysError('ENXIO', `interface ${name} does not exist`, 'ifconfig');
    if (p.jid === f.jid) return;
    const end = this.epairByName.get(name);
    if (end !== undefined) {
      this.moveEpair(end, p.jid);
      return;
    }
    const moved = this.moveIfnet(ifp, f.engine, p.engine, 'physical');
    if (p.jid === 0) this.lent.delete(name);
    else this.lent.set(name, { jid: p.jid, ifp: moved });
  }

  /**
   * ifconfig IF -vnet J: take interface IF back from jail J into stack `into` (the host by
   * default). ENXIO when J does not hold it.
   */
  vreclaim(name: string, j: number | string, into: number | string = 0): void {
    const p = this.find(j);
    if (p === null) throw new SysError('ENOENT', `jail '${j}' not found`, 'ifconfig');
    if (p.jid === 0 || p.engine.ifunit(name) === null || name === 'lo0')
      throw new SysError('ENXIO', `interface ${name} is not in jail ${p.name}`, 'ifconfig');
    this.vmove(name, into, p.jid);
  }

  private moveEpair(end: EpairEnd, to: number): void {
    const from = this.engine(end.jid)!;
    this.epairByIfp.delete(end.ifp);
    end.ifp = this.moveIfnet(end.ifp, from, this.engine(to)!, 'epair');
    end.jid = to;
    this.epairByIfp.set(end.ifp, end);
  }

  /** if_vmove: detach from one stack, attach (same name, link address, MTU, capabilities) to another. */
  private moveIfnet(old: Ifnet, from: Engine, to: Engine, kind: 'physical' | 'epair'): Ifnet {
    const wasUp = old.up;
    if (!from.destroyed) from.ifdetach(old);
    const ifp = to.ifattach({
      name: old.name,
      type: old.type,
      mtu: old.mtu,
      lladdr: old.lladdr ?? undefined,
      capabilities: old.capabilities,
      capenable: old.capenable,
    });
    // An epair's link follows the pair; a physical interface comes up as configured there.
    if (kind === 'epair' || wasUp) to.setUp(ifp, true);
    return ifp;
  }

  /* ------------------------------------------------------------ frames and time */

  /** A frame from a physical link arrived on interface `name`, wherever it is now. ENXIO when none has it. */
  input(name: string, frame: Uint8Array, now: number, meta?: FrameMeta | null): void {
    // The interface found is the one handed on: one lookup per frame, not a second by name.
    for (const p of this.prisons.values()) {
      const ifp = p.engine.ifunit(name);
      if (ifp === null) continue;
      p.engine.input(ifp, frame, now, meta);
      this.deliver(now);
      return;
    }
    throw new SysError('ENXIO', `interface ${name} does not exist`, 'jail');
  }

  /** Run every stack's callouts due by `now` (host first, then by jid), then the epair queue until quiet. */
  advance(now: number): void {
    for (const p of this.prisons.values()) p.engine.advance(now);
    this.deliver(now);
  }

  /** The earliest pending callout of any stack, or Infinity. */
  nextTimeout(): number {
    let t = Infinity;
    for (const p of this.prisons.values()) t = Math.min(t, p.engine.nextTimeout());
    return t;
  }

  /** Deliver what calls into the stacks (connect, send, close) queued on epairs. */
  flush(now?: number): number {
    return this.deliver(now ?? this.host.now);
  }
}

/** FreeBSD's epair MACs are locally administered, the last byte telling the ends apart (a: 0x0a, b: 0x0b). */
function epairMac(unit: number, side: 'a' | 'b'): Uint8Array {
  return new Uint8Array([0x02, 0x00, 0x00, (unit >>> 8) & 0xff, unit & 0xff, side === 'a' ? 0x0a : 0x0b]);
}
