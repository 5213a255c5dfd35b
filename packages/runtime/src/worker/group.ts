/**
 * A group worker: the piscina task that IS the worker for the life of the stack (it
 * resolves only at shutdown). It owns one Engine — its connection group — with `cxgbe0`
 * (the stack's MAC and addresses, as every sibling has: queues of one NIC) and `lo0`.
 *
 * Loop: engine.advance() to the turn's time (the engine's clock moves only when told) →
 * drain the RX rings (from every peer worker, and the hop rings from siblings) in
 * batches into engine.input() → apps poll → engine.advance() when a callout is due →
 * frames the engine outputs went straight into TX ring slots (linkmatrix.ts LinkTx) and
 * are published once per turn. A frame that arrives for a bucket this worker does not own
 * (strategy 'unaligned', or in flight across an indirection change) is forwarded to the
 * owner on the hop ring: a counted cross-thread hop. It is never looked up here: the
 * owner looks it up under its own group lock, as the segments it gets from the link.
 * Idle: spin a little, then sleep on the doorbell until a frame, a control message or the
 * next callout. The event loop gets a turn (comlink control calls, coordinator replies)
 * when the doorbell's CTL flag says a message came, and every few milliseconds regardless.
 *
 * Locking (the group lock, netinet in_pcbgroup.ts GroupLock, shared with the coordinator):
 * the loop holds it for a whole slice — frames in, app polls, callouts, frames out — and
 * lets go before it sleeps and before the event loop's turn. It never blocks the thread
 * on it: the coordinator may hold it (Stack.pcblookup, netstat, setIndirection) while it
 * waits for a control call only this thread can answer. So a slice starts with tryLock,
 * and when that fails the loop waits with lockAsync (Atomics.waitAsync: comlink messages
 * are served meanwhile; the wait is counted in lockWaits) and does no work at all — no
 * frames, no callouts, no app polls — until the holder lets go. The control reads of the
 * engine run under the lock too (controlApi's underLock).
 *
 * Never imports the pool (piscina runs this file; the Stack talks to it over comlink).
 */
import { threadCpuNs } from '../threadcpu.js';
import type { MessagePort } from 'node:worker_threads';
import { userInfo } from 'node:os';
import * as Comlink from 'comlink';
import {
  Engine, ERRNO, SysError, SOL_SOCKET, SO_REUSEADDR, IPPROTO_IPV6, IPV6_V6ONLY, tcpstates, TCPS_LISTEN, type Inpcb,
  INPLOOKUP_RLOCKPCB, INPLOOKUP_WILDCARD, inpUnlock,
} from '@mcstack/netinet';
import { newFrameMeta, CSUM_IP_CHECKED, CSUM_DATA_VALID } from '@mcstack/netinet/net/mbuf';
import { finishChecksums } from '@mcstack/netinet/net/hwcsum';
import { IFCAP_RXCSUM, IFCAP_RXCSUM_IPV6 } from '@mcstack/netinet/net/if';
import { ETHER_HDR_LEN } from '@mcstack/wire';
import { Pcbgroup } from '@mcstack/netinet/netinet/in_pcbgroup';
import type { Ifnet } from '@mcstack/netinet/net/if';
import { parseIP } from '@mcstack/wire';
import { snapshot, applyIfconfig, parseIfconfigArgs, attachCapture, type CaptureTap, type StackSnapshot } from '@mcstack/netinet/tools/index';
import { toeplitzForKey, M_HASHTYPE_NONE } from '@mcstack/rss';
import { FrameRing, RingConsumer, META_WORDS, META_LEN, META_FLOWID, META_HASHTYPE, META_CSUM_FLAGS, META_CSUM_DATA, META_FLOW_TAG } from '../ring.js';
import { LinkTx, FLOW_TAG_FLOOD } from '../linkmatrix.js';
import { Doorbell } from '../doorbell.js';
import { portEndpoint, errorInfo } from '../endpoint.js';
import { TupleTracker, ConnectPool, addr as pcbAddr, type Dest } from './tuples.js';
import type { GroupApp, AppContext, GroupAppFactory } from './app.js';
import { lookupApp } from '../apps/registry.js';

const RXCSUM_BOTH = IFCAP_RXCSUM | IFCAP_RXCSUM_IPV6;
import {
  installErrorCodes, type AppSpec, type Strategy, type NeighborSpec, type WorkerControl, type CoordinatorApi,
  type ConnectRequest, type WorkerCounters, type WorkerStats, type NetstatEntry, type ErrorInfo, type Census,
  type RouteSpec, type WorkerCapture, type PcbTuple, type PcbDescription, type SyncReply,
} from '../control.js';
import { lookupLocks } from '../pcblookup.js';
import { spinBudget } from '../cpushare.js';

installErrorCodes(Comlink.transferHandlers as Map<string, unknown>);

/** The task payload (SharedArrayBuffers are shared; the two ports are transferred). */
export interface GroupTask {
  stack: string;
  worker: number;
  workers: number;
  strategy: Strategy;
  seed: number;
  mac: string;
  addrs: string[];
  neighbors: { addr: string; mac: string }[];
  apps: AppSpec[];
  routes?: RouteSpec[];
  sysctl: Record<string, number | string>;
  mtu: number;
  /** cxgbe0's IFCAP_* offered and enabled (default none). */
  capabilities?: number;
  capenable?: number;
  bell: SharedArrayBuffer;
  /** Every sibling's doorbell (index = worker). */
  bells: SharedArrayBuffer[];
  /** This stack's indirection table (Uint16 per bucket). */
  indirection: SharedArrayBuffer;
  /** This group's lock (netinet in_pcbgroup.ts GroupLock), so other threads can take it. */
  lock: SharedArrayBuffer;
  /** Hop rings to siblings (null for self) and from siblings (null for self). */
  hopTx: (SharedArrayBuffer | null)[];
  hopRx: (SharedArrayBuffer | null)[];
  /** Link rings to / from each peer worker, the peer's doorbells and indirection table. */
  peerTx: SharedArrayBuffer[];
  peerRx: SharedArrayBuffer[];
  peerBells: SharedArrayBuffer[];
  peerIndirection: SharedArrayBuffer | null;
  ctlPort: MessagePort;
  coordPort: MessagePort;
  /** The process's spin budget (cpushare.ts). */
  spin: SharedArrayBuffer;
}

export interface GroupResult {
  counters: WorkerCounters;
  /** Set when the worker failed: the task resolves with it so the code survives the thread hop. */
  error?: ErrorInfo;
}

/** Frames taken from one ring per turn. */
const RX_BATCH = 64;
/** Run at most this long before giving the event loop a turn (ms). */
const SLICE_MS = 4;
/**
 * Passive registrations, releases and pool refills wait up to this long (ms) or for a batch
 * this big (a connect with no pre-granted port goes at once). Each sync costs the coordinator
 * a fixed message's worth, so the wait sets its cost per connection: crr at 2 workers, 5.0-5.4
 * µs of main thread per connection at 2 ms, 4.1-4.2 at 5 ms.
 */
const SYNC_DEFER_MS = 5;
const SYNC_BATCH = 256;
/** Longest sleep (ms), so app timers and the event loop still run on an idle stack. */
const MAX_SLEEP_MS = 20;
/** What bounded a sleep (WorkerCounters sleepsCallout / sleepsIdle / sleepsSync). */
const SLEEP_CALLOUT = 0;
const SLEEP_IDLE = 1;
const SLEEP_SYNC = 2;

export default async function group(task: GroupTask): Promise<GroupResult> {
  const g = new Group(task);
  try {
    await g.setup();
  } catch (e) {
    const info = errorInfo(e);
    g.coord.ready(task.worker, info).catch(() => {});
    g.close();
    return { counters: g.counters(), error: info };
  }
  await g.coord.ready(task.worker);
  const error = await g.run();
  g.close();
  return { counters: g.counters(), error };
}

class Group {
  readonly t: GroupTask;
  readonly engine: Engine;
  readonly cx: Ifnet;
  readonly coord: Comlink.Remote<CoordinatorApi>;
  private readonly bell: Doorbell;
  private readonly own: Uint16Array;
  private readonly ownMask: number;
  private readonly peerTx: LinkTx;
  private readonly hopTx: LinkTx;
  private readonly rx: RingConsumer[] = [];
  /** Per RX ring: whether frames on it may need a hop (peer rings; hop rings are already at their owner). */
  private readonly rxFromPeer: boolean[] = [];
  /** Per RX ring and slot: the last frame view handed to the engine (reused while the length repeats). */
  private readonly rxViews: Uint8Array[][] = [];
  private readonly meta = newFrameMeta();
  private readonly tuples: TupleTracker;
  private readonly apps: { name: string; app: GroupApp }[] = [];
  private readonly c: WorkerCounters = {
    rxFrames: 0, txFrames: 0, txDrops: 0, hops: 0, hopsIn: 0, hopDrops: 0, misdirected: 0, lockWaits: 0, loops: 0, sleeps: 0,
    batches: 0, sleepsCallout: 0, sleepsIdle: 0, sleepsSync: 0, sleepsCancelled: 0, sleepsWoken: 0, sleepsTimedOut: 0,
    sleepsLate: 0, sleepUs: 0, sleepMaxUs: 0, spinUs: 0, cpuUs: 0, wallUs: 0, connects: 0, accepts: 0,
  };
  private stopping = false;
  /** Frames that arrived from the peer for a bucket another group owns. */
  private misdirected = 0;
  private panic = 0;
  private nextReq = 1;
  private connects: ConnectRequest[] = [];
  private readonly waiting = new Map<number, { resolve: (fd: number) => void; dest: Dest }>();
  /** Pre-granted active-open 4-tuples per destination (the connect fast path). */
  private readonly pool = new ConnectPool();
  /** A connect resolved from the pool: let the apps' continuations run (a microtask checkpoint). */
  private kick = false;
  private syncing = false;
  /**
   * Coordinator replies not yet applied: they arrive on the event loop, outside the group
   * lock, and applying one opens connections, so the loop applies them under the lock.
   */
  private replies: SyncReply[] = [];
  /** When the last sync went (ms). */
  private lastSync = 0;
  private readonly addrs: string[];
  private readonly toeplitz = toeplitzForKey();
  /** This engine's connection group: the buckets it owns and its lock. */
  private readonly pcbgroup: Pcbgroup;
  /** The indirection table as last applied to the pcbgroup. */
  private readonly ownSeen: Uint16Array;
  private readonly started = performance.now();
  /** Upcall handlers by fd (AppContext.watch). */
  private readonly handlers: (((fd: number, events: number) => void) | undefined)[] = [];
  /** The app holding each descriptor it listens on or watches (sockstat's COMMAND). */
  private readonly fdApp = new Map<number, string>();
  /** Capture taps by the coordinator's capture id. */
  private readonly captures = new Map<number, CaptureTap>();

  constructor(t: GroupTask) {
    this.t = t;
    this.bell = new Doorbell(t.bell);
    this.own = new Uint16Array(t.indirection);
    this.ownMask = this.own.length - 1;
    // The engine's clock is the loop's (performance.now, µs); it starts now, not at 0.
    this.engine = new Engine({ seed: (t.seed * 7919 + t.worker * 104729 + 1) >>> 0, now: performance.now() * 1000 });
    const e = this.engine;
    this.cx = e.ifattach({ name: 'cxgbe0', type: 'ether', lladdr: parseMacText(t.mac), mtu: t.mtu, capabilities: t.capabilities, capenable: t.capenable });
    this.addrs = t.addrs.map((a) => a.split('/')[0]!);
    for (const a of t.addrs) {
      const r = e.addAddr(this.cx, a);
      if (r < 0) throw SysError.fromErrno(r, `addAddr ${a}`);
    }
    e.setUp(this.cx, true);
    for (const n of t.neighbors) this.addNeighbor(n);
    for (const r of t.routes ?? []) {
      const via = e.ifunit(r.gateway) ?? r.gateway;
      check(e.addRoute(r.dst, via, { fib: r.fib, mtu: r.mtu }), `route add ${r.dst} ${r.gateway}`);
    }
    this.peerTx = new LinkTx(t.peerTx, t.peerBells, t.peerIndirection ?? new SharedArrayBuffer(2), t.strategy);
    const hopRings = t.hopTx.map((r) => r ?? FrameRing.create({ slots: 1, slotSize: 8 }).sab);
    this.hopTx = new LinkTx(hopRings, t.bells, t.indirection, 'rss-groups');
    for (const sab of t.peerRx) this.addRx(sab, true);
    for (const sab of t.hopRx) if (sab !== null) this.addRx(sab, false);
    const out = this.peerTx;
    const cx = this.cx;
    e.output = (ifp, frame, meta) => { if (ifp === cx) out.send(frame, meta); };
    const handlers = this.handlers;
    e.upcall = (fd, events) => { handlers[fd]?.(fd, events); };
    this.tuples = new TupleTracker(e);
    this.ownSeen = new Uint16Array(this.own.length);
    this.pcbgroup = new Pcbgroup({ id: t.worker, ngroups: t.workers, nbuckets: this.own.length, buckets: [], lock: { sab: t.lock } });
    e.tcp.pcbinfo.group.pcbgroup = this.pcbgroup;
    e.udp.pcbinfo.group.pcbgroup = this.pcbgroup;
    this.syncBuckets(true);
    // debug.kdb.panic: the worker's loop throws (failure drills), as FreeBSD's sysctl panics the kernel.
    e.sysctl.int('debug.kdb.panic', this as unknown as { panic: number }, 'panic', 'Set to panic the worker (failure drills)', { min: 0, max: 1 });
    for (const [k, v] of Object.entries(t.sysctl)) e.sysctl.set(k, v);
    Comlink.expose(this.controlApi(), portEndpoint(t.ctlPort));
    this.coord = Comlink.wrap<CoordinatorApi>(portEndpoint(t.coordPort));
  }

  private addRx(sab: SharedArrayBuffer, fromPeer: boolean): void {
    const c = new RingConsumer(FrameRing.attach(sab));
    this.rx.push(c);
    this.rxFromPeer.push(fromPeer);
    this.rxViews.push(c.ring.views.map((v) => v));
  }

  private addNeighbor(n: NeighborSpec): void {
    const a = parseIP(n.addr);
    if (a === null) throw new SysError('EINVAL', `bad neighbour address ${n.addr}`);
    // IPv4: a static ARP entry. IPv6 neighbours are learnt: the link floods ND to every queue.
    if (a.length === 4) this.engine.net.arp.addStatic(this.cx, ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0, parseMacText(n.mac as string));
  }

  async setup(): Promise<void> {
    for (const spec of this.t.apps) {
      const name = 'module' in spec ? (spec.name ?? spec.module) : spec.name;
      const factory = 'module' in spec ? await loadModuleApp(spec.module, spec.export) : lookupApp(spec.name);
      if (factory === undefined) throw new SysError('MCSTACK_NOAPP', `no app named '${name}'`);
      const app = factory(spec.options ?? {});
      this.apps.push({ name, app });
      // Loading the module took time: an app may open connections in start().
      this.engine.advance(performance.now() * 1000);
      await app.start(this.context(name, spec));
    }
  }

  private context(name: string, spec: AppSpec): AppContext {
    return {
      engine: this.engine, worker: this.t.worker, workers: this.t.workers, options: spec.options ?? {}, port: spec.port,
      addrs: [...this.addrs.filter((a) => !a.includes(':')), ...this.addrs.filter((a) => a.includes(':'))],
      connect: (addr, port) => this.connect(addr, port),
      listen: async (port, backlog) => {
        const fds = await this.listen(name, port, backlog ?? 1024);
        for (const fd of fds) this.fdApp.set(fd, name);
        return fds;
      },
      watch: (fd, handler) => {
        this.handlers[fd] = handler ?? undefined;
        if (handler) this.fdApp.set(fd, name); else this.fdApp.delete(fd);
      },
    };
  }

  /**
   * Active open: a 4-tuple from the destination's pool of pre-granted ones when it has one
   * (no round trip: the fd is ready at once), else a reservation request for the next sync.
   */
  private connect(addr: string, port: number): Promise<number> {
    let d = this.pool.find(addr, port);
    if (d === undefined) {
      // A new destination: its addresses are parsed once, here.
      const fa = parseIP(addr);
      if (fa === null) return Promise.resolve(-ERRNO.EINVAL);
      const v6 = fa.length === 16;
      const laddr = this.addrs.find((a) => a.includes(':') === v6);
      if (laddr === undefined) return Promise.resolve(-ERRNO.EADDRNOTAVAIL);
      d = this.pool.add(laddr, parseIP(laddr)!, addr, fa, port);
    }
    const g = this.pool.take(d, performance.now());
    const refill = this.pool.refill(d, this.nextReq);
    if (refill !== null) { this.nextReq++; this.connects.push(refill); }
    if (g !== undefined) {
      // The app's continuation runs at the loop's next microtask checkpoint.
      this.kick = true;
      return Promise.resolve(this.openReserved(d.family, d.laddr, g.lport, addr, port, g.id));
    }
    const req = this.nextReq++;
    const dest = d;
    return new Promise<number>((resolve) => {
      this.waiting.set(req, { resolve, dest });
      this.connects.push({ req, laddr: dest.lkey, faddr: dest.fkey, fport: port, count: 1 });
    });
  }

  private async listen(owner: string, port: number, backlog: number): Promise<number[]> {
    const e = this.engine;
    const fds: number[] = [];
    for (const fam of [4, 6] as const) {
      if (!this.addrs.some((a) => a.includes(':') === (fam === 6))) continue;
      const r = await this.coord.listen(this.t.worker, fam, port, owner);
      if (r !== 0) throw new SysError(r, `port ${port}`, 'listen');
      const fd = e.socket(fam === 4 ? 'inet' : 'inet6', 'stream');
      // One listener per family: the IPv6 one must not claim the IPv4 port as well.
      if (fam === 6) check(e.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1), 'setsockopt');
      check(e.bind(fd, { addr: fam === 4 ? '0.0.0.0' : '::', port }), 'bind');
      check(e.listen(fd, backlog), 'listen');
      fds.push(fd);
    }
    return fds;
  }

  /** The batched sync with the coordinator: connect reservations (and pool refills), passive registrations, releases. */
  private sync(nowMs = Infinity): void {
    if (this.syncing || (this.connects.length === 0 && !this.tuples.pending)) return;
    // A connect waiting for its answer goes at once; pool refills, passive registrations
    // and releases wait to fill a batch (one structured clone per batch, not per turn).
    if (this.waiting.size === 0 && nowMs - this.lastSync < SYNC_DEFER_MS && this.queued() < SYNC_BATCH) return;
    this.lastSync = nowMs;
    this.syncing = true;
    const connects = this.connects;
    this.connects = [];
    for (const c of connects) { const w = this.waiting.get(c.req); if (w !== undefined) w.dest.inSync = true; }
    const { passives4, passives6, releases } = this.tuples.take();
    this.coord.sync(this.t.worker, { connects, releases, passives4, passives6 }).then((reply) => {
      this.syncing = false;
      this.replies.push(reply);
    }, () => { this.syncing = false; this.tuples.syncFailed(); });
  }

  /** Apply the coordinator's replies (under the group lock): registrations, grants, waiting connects. */
  private applyReplies(): void {
    const replies = this.replies;
    this.replies = [];
    for (const reply of replies) {
      this.tuples.passiveReplies(reply.passives);
      const back = this.tuples.releases;
      for (const c of reply.connects) {
        if (this.pool.answer(c, back)) continue;
        const w = this.waiting.get(c.req);
        if (w === undefined) continue;
        this.waiting.delete(c.req);
        const d = w.dest;
        d.inSync = false;
        d.answered++;
        const g = c.grants;
        if (g.length < 2) { w.resolve(-((ERRNO as Record<string, number>)[c.errno ?? 'EINVAL'] ?? ERRNO.EINVAL)); continue; }
        w.resolve(this.openReserved(d.family, d.laddr, g[1]!, d.faddr, d.fport, g[0]!));
      }
    }
    // The apps' continuations (connects resolved) run at the loop's next microtask checkpoint.
    if (replies.length > 0) this.kick = true;
  }

  /** 4-tuples asked for, registrations and releases waiting for the next sync. */
  private queued(): number {
    let n = this.tuples.queued;
    for (const c of this.connects) n += c.count;
    return n;
  }

  /** Bind the granted port and connect; the pcb takes the reservation as it enters the hash. */
  private openReserved(family: 'inet' | 'inet6', laddr: string, lport: number, faddr: string, fport: number, id: number): number {
    const e = this.engine;
    const fd = e.socket(family, 'stream');
    // SO_REUSEADDR: this group may hold other connections from the same local port (to other destinations).
    e.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    let r = e.bind(fd, { addr: laddr, port: lport });
    if (r === 0) {
      this.tuples.pendingActive = id;
      r = e.connect(fd, { addr: faddr, port: fport });
    }
    if (this.tuples.pendingActive !== 0) {
      // The pcb never entered the hash: give the reservation back.
      this.tuples.pendingActive = 0;
      this.tuples.releases.push(id);
    }
    if (r < 0 && r !== -ERRNO.EINPROGRESS) { e.close(fd); return r; }
    this.c.connects++;
    return fd;
  }

  /** Follow the stack's indirection table into the pcbgroup's owned set when it changed. */
  private syncBuckets(force = false): void {
    const own = this.own;
    let changed = force;
    for (let b = 0; b < own.length; b++) {
      const w = Atomics.load(own, b);
      if (w !== this.ownSeen[b]) { this.ownSeen[b] = w; changed = true; }
    }
    if (!changed) return;
    // Pre-granted ports were aligned to the old table.
    if (!force) this.pool.flush(this.tuples.releases);
    const mine: number[] = [];
    for (let b = 0; b < own.length; b++) if (this.ownSeen[b] === this.t.worker) mine.push(b);
    this.pcbgroup.setBuckets(mine);
  }

  /** Drain every RX ring once; frames handled. */
  private drain(now: number): number {
    const e = this.engine;
    const cx = this.cx;
    const m = this.meta;
    const own = this.own;
    const mask = this.ownMask;
    const me = this.t.worker;
    let total = 0;
    for (let r = 0; r < this.rx.length; r++) {
      const c = this.rx[r]!;
      const n = c.peek(RX_BATCH);
      if (n === 0) continue;
      const ring = c.ring;
      const meta = ring.meta;
      const views = this.rxViews[r]!;
      const fromPeer = this.rxFromPeer[r]!;
      for (let k = 0; k < n; k++) {
        const s = c.slot(k);
        const b = s * META_WORDS;
        const hashType = meta[b + META_HASHTYPE]!;
        const flowid = meta[b + META_FLOWID]! >>> 0;
        if (fromPeer && hashType !== M_HASHTYPE_NONE && meta[b + META_FLOW_TAG] !== FLOW_TAG_FLOOD) {
          const owner = own[flowid & mask]!;
          if (owner !== me) {
            // Not ours: the hop to the owning group that pcbgroups exist to avoid.
            this.misdirected++;
            if (this.hopTx.forward(owner, ring, s)) this.c.hops++;
            continue;
          }
        }
        const len = meta[b + META_LEN]!;
        let v = views[s]!;
        if (v.length !== len) { v = ring.views[s]!.subarray(0, len); views[s] = v; }
        m.csumFlags = meta[b + META_CSUM_FLAGS]!;
        m.csumData = meta[b + META_CSUM_DATA]!;
        if (m.csumFlags !== 0 && (cx.capenable & RXCSUM_BOTH) !== RXCSUM_BOTH) {
          // The sender left its checksums to the card and this card does not verify
          // them: the frame must carry the bytes the sending card put on the wire.
          finishChecksums(v, ETHER_HDR_LEN, (m.csumFlags & CSUM_IP_CHECKED) !== 0, (m.csumFlags & CSUM_DATA_VALID) !== 0);
          m.csumFlags = 0; m.csumData = 0;
        }
        m.flowid = flowid;
        m.hashType = hashType;
        m.vlanTag = 0; m.flags = 0; m.tsoSegsz = 0; m.l2hlen = 0; m.l3hlen = 0;
        e.input(cx, v, now, m);
        if (!fromPeer) this.c.hopsIn++;
      }
      c.release(n);
      total += n;
    }
    this.c.rxFrames += total;
    return total;
  }

  /**
   * Whether any RX ring has a frame or an app has queued input (the doorbell's re-check
   * before sleeping: what producers publish without ringing while we still look busy).
   */
  private readonly anyReady = (): boolean => {
    for (let r = 0; r < this.rx.length; r++) if (this.rx[r]!.peek(1) > 0) return true;
    const apps = this.apps;
    for (let i = 0; i < apps.length; i++) if (apps[i]!.app.ready?.() === true) return true;
    return false;
  };

  /** Sleep on the doorbell up to `ms`, counted by cause and outcome. */
  private sleep(ms: number, cause: number): void {
    const c = this.c;
    const t0 = performance.now();
    if (!this.bell.sleep(ms, this.anyReady)) { c.sleepsCancelled++; return; }
    const us = Math.round((performance.now() - t0) * 1000);
    c.sleeps++;
    c.sleepUs += us;
    if (us > c.sleepMaxUs) c.sleepMaxUs = us;
    if (cause === SLEEP_CALLOUT) c.sleepsCallout++; else if (cause === SLEEP_IDLE) c.sleepsIdle++; else c.sleepsSync++;
    if (!this.bell.timedOut) { c.sleepsWoken++; return; }
    c.sleepsTimedOut++;
    if (this.anyReady()) c.sleepsLate++;
  }

  /** The loop; resolves at stop, or with the error that ended it. */
  async run(): Promise<ErrorInfo | undefined> {
    const e = this.engine;
    const apps = this.apps;
    let idle = 0;
    let spinFrom = 0;
    // Empty turns before sleeping: 0 when the process has more busy threads than cores.
    const spin = new Int32Array(this.t.spin);
    const lock = this.pcbgroup.lock;
    try {
      while (!this.stopping) {
        // Never block on the lock (see the top of the file): another thread's hold waits
        // here, serving messages, and nothing of this group runs until it ends.
        if (!lock.tryLock()) await lock.lockAsync();
        const sliceEnd = performance.now() + SLICE_MS;
        this.pool.trim(sliceEnd - SLICE_MS, this.tuples.releases);
        // Buckets an indirection change moved (under the losing group's lock) apply here.
        this.syncBuckets();
        let held = true;
        for (;;) {
          if (this.panic !== 0) throw new SysError('MCSTACK_PANIC', `worker ${this.t.worker} of ${this.t.stack}: debug.kdb.panic`);
          const nowMs = performance.now();
          const now = nowMs * 1000;
          // The engine's clock moves only when told (input, advance): tell it before the
          // replies and the apps open, send and close, or an idle spell since the last frame
          // goes into their timestamps, RTT timing and timers (a SYN sent with its
          // retransmission already due; the echo of its timestamp an RTT as long as the spell).
          e.advance(now);
          if (this.replies.length > 0) this.applyReplies();
          let work = this.drain(now);
          for (let i = 0; i < apps.length; i++) if (apps[i]!.app.poll(now)) work++;
          if (this.kick) { this.kick = false; work++; await null; }
          if (e.nextTimeout() <= now) e.advance(now);
          const tx = this.peerTx.flush();
          this.hopTx.flush();
          if (tx > 0) { this.c.batches++; work++; }
          this.c.loops++;
          if (this.connects.length > 0 || this.tuples.pending) this.sync(nowMs);
          if (this.bell.takeCtl() || this.stopping) break;
          if (work > 0) { idle = 0; if (nowMs >= sliceEnd) break; continue; }
          if (++idle === 1) spinFrom = nowMs;
          if (idle < spinBudget(spin)) continue;
          idle = 0;
          this.c.spinUs += Math.round((performance.now() - spinFrom) * 1000);
          const next = e.nextTimeout();
          let ms = Math.min(MAX_SLEEP_MS, Math.max(0, (next - now) / 1000));
          let cause = ms < MAX_SLEEP_MS ? SLEEP_CALLOUT : SLEEP_IDLE;
          if ((this.connects.length > 0 || this.tuples.pending) && ms > SYNC_DEFER_MS) { ms = SYNC_DEFER_MS; cause = SLEEP_SYNC; }
          if (ms > 0) {
            lock.unlock();
            this.sleep(ms, cause);
            // Taken while we slept: the holder's control call is what woke us; serve it.
            if (!lock.tryLock()) { held = false; break; }
          }
          if (performance.now() >= sliceEnd) break;
        }
        if (held) lock.unlock();
        await turn();
      }
    } catch (err) {
      if (lock.owned) lock.unlock();
      const info = errorInfo(err);
      await this.coord.fatal(this.t.worker, info).catch(() => {});
      return info;
    }
    if (!lock.tryLock()) await lock.lockAsync();
    try {
      // The clock first: the closes below arm timers.
      this.engine.advance(performance.now() * 1000);
      if (this.replies.length > 0) this.applyReplies();
      for (const { app } of apps) app.stop();
      this.pool.flush(this.tuples.releases);
      // Let the closes go out.
      this.engine.advance(performance.now() * 1000);
      this.peerTx.flush();
    } finally {
      lock.unlock();
    }
    this.sync();
    return undefined;
  }

  close(): void {
    this.t.ctlPort.close();
    this.t.coordPort.close();
  }

  counters(): WorkerCounters {
    this.c.txFrames = this.peerTx.frames;
    this.c.txDrops = this.peerTx.drops;
    this.c.hopDrops = this.hopTx.drops;
    this.c.accepts = this.tuples.accepts;
    this.c.cpuUs = Math.round((threadCpuNs() || 0) / 1000);
    this.c.lockWaits = this.pcbgroup.lock.waits;
    this.c.misdirected = this.misdirected + this.pcbgroup.misdirected;
    this.c.wallUs = Math.round((performance.now() - this.started) * 1000);
    return { ...this.c };
  }

  /**
   * A control read of the engine under the group lock. The loop never holds the lock while
   * messages are served, so a free lock is taken for the read; a held one is another
   * thread's — the coordinator's, taken for this request (or for a pcblookup hold it has
   * not released) — and the read runs under that hold, the data path excluded either way.
   */
  private underLock<A extends unknown[], R>(read: (...a: A) => R): (...a: A) => R {
    const lock = this.pcbgroup.lock;
    return (...a: A): R => {
      if (!lock.tryLock()) return read(...a);
      try {
        return read(...a);
      } finally {
        lock.unlock();
      }
    };
  }

  private controlApi(): WorkerControl {
    const e = this.engine;
    return {
      sysctlGet: (name) => e.sysctl.get(name),
      sysctlSet: (name, value) => e.sysctl.set(name, value),
      netstat: this.underLock(() => this.netstat()),
      census: this.underLock((): Census => e.census()),
      counters: (): WorkerStats => ({
        ...this.counters(), worker: this.t.worker,
        tcpstat: numbers(e.tcp.stat), ipstat: numbers(e.net.ipstat), ip6stat: numbers(e.net.ip6stat),
        apps: Object.fromEntries(this.apps.map(({ name, app }) => [name, app.stats()])),
      }),
      setCapenable: (ifname, bits) => {
        const ifp = e.ifunit(ifname);
        return ifp === null ? -ERRNO.EINVAL : ifp.setCapenable(bits);
      },
      liveInBuckets: this.underLock((buckets: number[]) => {
        const set = new Set(buckets);
        let n = 0;
        for (const inp of e.tcp.pcbinfo.all()) if (inp.connected && set.has(this.bucketOf(inp))) n++;
        return n;
      }),
      pcblookup: this.underLock((tuple: PcbTuple, flags: number) => this.pcblookup(tuple, flags)),
      snapshot: this.underLock((): StackSnapshot => snapshot(e, { worker: this.t.worker, app: (fd) => this.fdApp.get(fd), user: USER })),
      ifconfig: (argv) => applyIfconfig(e, parseIfconfigArgs(argv)),
      captureStart: (id, ifname, count, snapLen) => {
        if (this.captures.has(id)) throw new SysError('EEXIST', `capture ${id} is running`, 'capture');
        this.captures.set(id, attachCapture(e, { ifname, count, snapLen }));
      },
      captureCount: (id) => this.captures.get(id)?.frames.length ?? 0,
      captureStop: (id): WorkerCapture => {
        const tap = this.captures.get(id);
        if (tap === undefined) throw new SysError('ENOENT', `no capture ${id}`, 'capture');
        this.captures.delete(id);
        tap.detach();
        return { linkType: tap.linkType, snapLen: tap.snapLen, timeOriginMs: performance.timeOrigin, frames: tap.frames };
      },
      stop: () => { this.stopping = true; this.bell.signal(); },
    };
  }

  /** The RSS bucket of a connection's return 4-tuple (the packets this host receives for it). */
  private bucketOf(inp: Inpcb): number {
    const tz = this.toeplitz;
    let h: number;
    if (!inp.isV6) h = tz.hashIPv4Ports(inp.fkey, inp.lkey, inp.inp_fport, inp.inp_lport);
    else h = tz.hashIPv6Ports(inp.inp_faddr, 0, inp.inp_laddr, 0, inp.inp_fport, inp.inp_lport);
    return h & this.ownMask;
  }

  private netstat(): NetstatEntry[] {
    const out: NetstatEntry[] = [];
    for (const inp of this.engine.tcp.pcbinfo.all()) out.push(this.netstatEntry(inp));
    return out;
  }

  private netstatEntry(inp: Inpcb): NetstatEntry {
    const tp = inp.inp_ppcb;
    const so = inp.inp_socket;
    const v4 = !inp.isV6;
    const state = tp ? tp.t_state : TCPS_LISTEN;
    return {
      proto: v4 ? 'tcp4' : 'tcp6', laddr: pcbAddr(inp.inp_laddr, v4), lport: inp.inp_lport,
      faddr: pcbAddr(inp.inp_faddr, v4), fport: inp.inp_fport, state: tcpstates[state] ?? String(state),
      recvQ: so ? so.so_rcv.sb_cc : 0, sendQ: so ? so.so_snd.sb_cc : 0, worker: this.t.worker,
      bucket: inp.connected ? this.bucketOf(inp) : -1,
    };
  }

  /**
   * in_pcblookup for the coordinator (WorkerControl.pcblookup). The engine's pcb lock is
   * this thread's own reader/writer state, taken and dropped around the read: what keeps
   * the pcb as described across threads is the group lock the caller holds.
   */
  private pcblookup(t: PcbTuple, flags: number): PcbDescription | null {
    lookupLocks(flags);
    const inp = this.engine.pcblookup('tcp', { addr: t.faddr, port: t.fport }, { addr: t.laddr, port: t.lport },
      INPLOOKUP_RLOCKPCB | (flags & INPLOOKUP_WILDCARD));
    if (typeof inp === 'number') throw SysError.fromErrno(inp, 'pcblookup');
    if (inp === null) return null;
    try {
      const tp = inp.inp_ppcb;
      return {
        ...this.netstatEntry(inp),
        snd_una: tp ? tp.snd_una : 0, snd_nxt: tp ? tp.snd_nxt : 0, snd_max: tp ? tp.snd_max : 0,
        snd_wnd: tp ? tp.snd_wnd : 0, rcv_nxt: tp ? tp.rcv_nxt : 0, rcv_wnd: tp ? tp.rcv_wnd : 0,
      };
    } finally {
      inpUnlock(inp);
    }
  }
}

/** sockstat's USER: the daemon's login name. */
const USER = (() => { try { return userInfo().username; } catch { return String(process.getuid?.() ?? '?'); } })();

/** One event-loop turn (messages on the ports are delivered in its poll phase). */
function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

function check(r: number, what: string): void {
  if (r < 0) throw SysError.fromErrno(r, what);
}

function numbers(o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number') out[k] = v;
  return out;
}

function parseMacText(m: string): Uint8Array {
  return Uint8Array.from(m.split(':').map((p) => parseInt(p, 16)));
}

async function loadModuleApp(url: string, name = 'default'): Promise<GroupAppFactory> {
  const mod = await import(url) as Record<string, unknown>;
  const f = mod[name];
  if (typeof f !== 'function') throw new SysError('MCSTACK_NOAPP', `${url} has no export '${name}' that makes an app`);
  return f as GroupAppFactory;
}
