/**
 * The vnet worker's `b` ends of epairs whose `a` end is in the daemon's own stack, the
 * group workers (hostepair.ts). A `b` end is an Ethernet interface made in this thread's
 * hidden prison0, up from the start, that `ifconfig epairNb vnet J` lends to a jail (it
 * goes home when the jail is removed, as FreeBSD's vnet_if_return). Its frames are hashed
 * by RSS into the ring of the worker that owns their flow (LinkTx, as a peer's frames);
 * the workers' frames come back on their rings and wake this thread through a doorbell
 * it waits on asynchronously, so the jails' event loop goes on meanwhile.
 */
import { type FrameMeta, type Ifnet, type Jails, SysError } from '@mcstack/netinet';
import { FrameRing, RingConsumer, META_WORDS, META_LEN } from '../ring.js';
import { LinkTx } from '../linkmatrix.js';
import { Doorbell } from '../doorbell.js';
import type { VnetEpairSpec } from '../hostepair.js';

/** Frames taken from one ring per pass. */
const RX_BATCH = 64;
/** Longest wait on the doorbell (ms): a lost wake-up costs at most this. */
const WAIT_MS = 1000;

interface HostLink {
  name: string;
  tx: LinkTx;
  rx: RingConsumer[];
  views: Uint8Array[][];
  bell: Doorbell;
  closed: boolean;
}

export class JailHostLinks {
  private readonly links = new Map<string, HostLink>();

  /** `input` hands a frame to interface `name` wherever it is; `kick` runs the jails' apps after a batch. */
  constructor(
    private readonly jails: Jails,
    private readonly input: (name: string, frame: Uint8Array) => void,
    private readonly kick: () => void,
  ) {}

  /** The `b` end, in prison0. EEXIST when either end's name is taken in any stack here. */
  create(s: VnetEpairSpec): void {
    const a = s.name.replace(/b$/, 'a');
    for (const j of [{ jid: 0 }, ...this.jails.list()]) {
      const e = this.jails.engine(j.jid);
      if (e?.ifunit(s.name) != null || e?.ifunit(a) != null)
        throw new SysError('EEXIST', `interface ${s.name} exists`, 'ifconfig');
    }
    const host = this.jails.host;
    const ifp = host.ifattach({ name: s.name, type: 'ether', lladdr: s.mac });
    host.setUp(ifp, true);
    const rx = s.fromWorkers.map((sab) => new RingConsumer(FrameRing.attach(sab)));
    const l: HostLink = {
      name: s.name,
      tx: new LinkTx(s.toWorkers, s.workerBells, s.indirection, s.strategy),
      rx,
      views: rx.map((c) => c.ring.views.map((v) => v)),
      bell: new Doorbell(s.bell),
      closed: false,
    };
    this.links.set(s.name, l);
    void this.run(l);
  }

  /** Whether `name` is a `b` end of this kind (wherever it is now). */
  has(name: string): boolean {
    return this.links.has(name);
  }

  /** The jails' output for an interface that may be a `b` end: true when it was one. */
  transmit(ifp: Ifnet, frame: Uint8Array, meta: FrameMeta): boolean {
    const l = this.links.get(ifp.name);
    if (l === undefined) return false;
    if (l.tx.send(frame, meta) < 0) ifp.data.ifi_oqdrops++;
    l.tx.flush();
    return true;
  }

  /** The `b` end goes: home first if lent (so no jail returns it later), then detached. */
  destroy(name: string): void {
    const l = this.links.get(name);
    if (l === undefined) throw new SysError('ENXIO', `interface ${name} is not an epair`, 'ifconfig');
    for (const j of this.jails.list())
      if (j.jid !== 0 && this.jails.engine(j.jid)?.ifunit(name) != null) this.jails.vmove(name, 0, j.jid);
    this.jails.host.ifdetach(name);
    l.closed = true;
    l.bell.signal();
    this.links.delete(name);
  }

  /** Drain the workers' rings whenever the doorbell rings, until the end is destroyed. */
  private async run(l: HostLink): Promise<void> {
    const ready = () => l.rx.some((c) => c.peek(1) > 0);
    while (!l.closed) {
      if (this.drain(l) > 0) {
        // The jails' apps and control calls get their turn between batches.
        this.kick();
        await new Promise((r) => setImmediate(r));
        continue;
      }
      await l.bell.sleepAsync(WAIT_MS, ready);
      l.bell.takeCtl();
    }
  }

  private drain(l: HostLink): number {
    let total = 0;
    for (let r = 0; r < l.rx.length; r++) {
      const c = l.rx[r]!;
      const n = c.peek(RX_BATCH);
      if (n === 0) continue;
      const views = l.views[r]!;
      for (let k = 0; k < n; k++) {
        const s = c.slot(k);
        const len = c.ring.meta[s * META_WORDS + META_LEN]!;
        let v = views[s]!;
        if (v.length !== len) {
          v = c.ring.views[s]!.subarray(0, len);
          views[s] = v;
        }
        this.input(l.name, v);
      }
      c.release(n);
      total += n;
    }
    return total;
  }
}
