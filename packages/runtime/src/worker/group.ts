/**
 * A group worker: the piscina task that IS the worker for the life of the stack (it
 * resolves only at shutdown). It owns one Engine — its connection group — with `cxgbe0`
 * (the stack's MAC and addresses, as every sibling has: queues of one NIC) and `lo0`.
 *
 * Loop: the engine's clock to the turn's time (it moves only when told) → drain the RX
 * rings (from every peer worker, and the hop rings from siblings) and the TAP queue in
 * batches into engine.inputQueued() → engine.advance() runs the callouts due → apps poll →
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
 * engine run under the lock too (control.ts).
 *
 * Beside the loop: the group's apps and their contexts (appctx.ts), its client of the
 * coordinator's reservations (reservation-client.ts), its control API (control.ts).
 * Never imports the pool (piscina runs this file; the Stack talks to it over comlink).
 */
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { Engine, ERRNO, IFM_ETH_RXPAUSE, IFM_ETH_TXPAUSE, SysError, splitLoaderTunables } from '@mcstack/netinet';
import { newFrameMeta, type FrameMeta } from '@mcstack/netinet';
import { IFCAP_LRO, LroCtrl } from '@mcstack/netinet';
import { Pcbgroup } from '@mcstack/netinet';
import type { Ifnet } from '@mcstack/netinet';
import { M_HASHTYPE_NONE } from '@mcstack/rss';
import { threadCpuNs } from '../threadcpu.js';
import {
  FrameRing,
  RingConsumer,
  META_WORDS,
  META_LEN,
  META_FLOWID,
  META_HASHTYPE,
  META_FLOW_TAG,
  META_RCVIF,
} from '../ring.js';
import { LinkTx, peerLinkTx, FLOW_TAG_FLOOD, LINK_SLOT_SIZE, type CardPort } from '../linkmatrix.js';
import { PipeLine, pipeOwner, pipeSysctls, type PipeShare } from '../pipe.js';
import { TXQ_DEFAULT_LEN } from '../txq.js';
import { CardQueueStats, nativeTxq } from '../cardstats.js';
import { Doorbell } from '../doorbell.js';
import { portEndpoint } from '../endpoint.js';
import { errorInfo } from '../errinfo.js';
import {
  installErrorCodes,
  type AppSpec,
  type Strategy,
  type CoordinatorApi,
  type WorkerCounters,
  type ErrorInfo,
  type RouteSpec,
} from '../control.js';
import { spinBudget, mayPoll, asleep, PollWindow } from '../cpushare.js';
import { ReservationClient, SYNC_DEFER_MS } from './reservation-client.js';
import { GroupApps } from './appctx.js';
import { ToeChannel, type ToeChannelTask } from './toeproxy.js';
import { workerControl } from './control.js';
import { attachPort, rxSlotMeta } from './port.js';
import { installRoutes } from './routes.js';
import { QueuePort, PIPE_SLOT_SIZE, PIPE_MTU_MAX } from '../links/queueport.js';
import { queueSysctls } from '../links/queuestats.js';
import { GroupEpair } from './epairport.js';
import type { GroupEpairSpec } from '../hostepair.js';

installErrorCodes(Comlink.transferHandlers as Map<string, unknown>);

/** The task payload (SharedArrayBuffers are shared; the two ports are transferred). */
export interface GroupTask {
  stack: string;
  worker: number;
  workers: number;
  strategy: Strategy;
  seed: number;
  /** The port's name (cardmodel.ts; `cxgbe0` when absent). */
  ifname?: string;
  mac: string;
  addrs: string[];
  neighbors: { addr: string; mac: string }[];
  apps: AppSpec[];
  routes?: RouteSpec[];
  modules: string[];
  sysctl: Record<string, number | string>;
  tunables: Record<string, number | string>;
  /** 802.3x flow control on the link (ifconfig mediaopt rxpause,txpause); default on. */
  flowControl?: boolean;
  /** Frames a transmit queue holds per destination ring (hw.cxgbe.qsize_txq). */
  qsizeTxq?: number;
  /** The stack's dummynet pipe on cxgbe0's output (pipe.ts), shared by its workers. */
  pipe?: PipeShare;
  /** The stack's one TCP host cache (netinet hostcacheCreate). */
  hostcache: SharedArrayBuffer;
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
  /** The stack's zone counts (netinet UMA_SHARED_BYTES): limits hold for all workers together. */
  zones: SharedArrayBuffer;
  /** pf's state count, the stack's and each worker's (netinet Pf.shareStates). */
  pfStates: SharedArrayBuffer;
  /** cxgbe0's per-queue offload counters, a row per worker (cardstats.ts). */
  queueStats: SharedArrayBuffer;
  /** Hop rings to siblings (null for self) and from siblings (null for self). */
  hopTx: (SharedArrayBuffer | null)[];
  hopRx: (SharedArrayBuffer | null)[];
  /** Link rings to / from each peer worker, the peer's doorbells and indirection table. */
  peerTx: SharedArrayBuffer[];
  peerRx: SharedArrayBuffer[];
  peerBells: SharedArrayBuffer[];
  peerIndirection: SharedArrayBuffer | null;
  /** The peer's TOE card, when it has one: its frames go there before RSS (linkmatrix.ts). */
  peerCard?: CardPort;
  /** Loss on the wire for this worker's frames (StackOptions.plr). */
  plr?: number;
  /** This stack's TOE card, when it has one: the rings its in-worker apps' offloaded connections use (toeproxy.ts). */
  toe?: ToeChannelTask;
  ctlPort: MessagePort;
  coordPort: MessagePort;
  /** The process's spin budget (cpushare.ts). */
  spin: SharedArrayBuffer;
  /**
   * This worker's queue of the stack's multi-queue TAP (links/tapmq.ts) or AF_PACKET
   * socket (links/afpacket.ts): its fd (the process's; this thread alone reads and writes
   * it), virtio-net header size, receive ring (AF_PACKET), and every queue's counters.
   * cxgbe0's frames then go to and come from it instead of peer rings.
   */
  queue?: {
    kind: 'tap' | 'af_packet';
    fd: number;
    hdrSize: number;
    stats: SharedArrayBuffer;
    ring?: { addr: number; frameSize: number; frames: number };
    /** The eventfd this worker's doorbell kicks while it sleeps in poll(2) (doorbell.ts). */
    wakeFd?: number;
  };
}

export interface GroupResult {
  counters: WorkerCounters;
  /** Set when the worker failed: the task resolves with it so the code survives the thread hop. */
  error?: ErrorInfo;
}

type OutputFn = (ifp: Ifnet, frame: Uint8Array, meta: FrameMeta) => number;

/** Frames taken from one ring per turn. */
const RX_BATCH = 64;
/**
 * Longest poll(2) on a TAP queue before the rings and the doorbell are looked at again
 * (ms), when no eventfd lets the doorbell end the poll: a worker cannot wait on a file
 * descriptor and a futex at once.
 */
const TAP_POLL_MS = 1;
/** Longest sleep while frames wait in a transmit queue or the receive side is stalled (ms). */
const TXQ_RETRY_MS = 0.2;
/** Run at most this long before giving the event loop a turn (ms). */
const SLICE_MS = 4;
/** What debug.stall_ms waits on (never notified: the wait runs to its timeout). */
const STALL_WORD = new Int32Array(new SharedArrayBuffer(4));

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
  /** The process's poll rule words (cpushare.ts). */
  private readonly spinWords: Int32Array;
  /** Whether polling after activity pays on this thread (cpushare.ts). */
  private readonly pollWin = new PollWindow();
  private readonly own: Uint16Array;
  private readonly ownMask: number;
  private readonly peerTx: LinkTx;
  private readonly hopTx: LinkTx;
  private readonly rx: RingConsumer[] = [];
  /** Per RX ring: whether frames on it may need a hop (peer rings; hop rings are already at their owner). */
  private readonly rxFromPeer: boolean[] = [];
  /** Per RX ring and slot: the last frame view handed to the engine (reused while the length repeats). */
  private readonly rxViews: Uint8Array[][] = [];
  /** Per RX ring: the interface its frames arrive on (cxgbe0, or an epair end to the vnet worker). */
  private readonly rxIfp: Ifnet[] = [];
  /** Epair ends to the vnet worker (hostepair.ts), by interface. */
  private readonly epairs = new Map<Ifnet, GroupEpair>();
  /** The same ends by unit + 1: a sibling's hop names the end its frame arrived on (META_RCVIF). */
  private readonly epairByUnit = new Map<number, Ifnet>();
  /** The engine's output: the link's alone, or with the epair ends' (while there are any). */
  private readonly linkOutput: OutputFn;
  private readonly epairOutput: OutputFn;
  private readonly meta = newFrameMeta();
  /** This receive queue's LRO (tcp/lro.ts), run while cxgbe0 has IFCAP_LRO enabled. */
  private readonly lro: LroCtrl;
  /** The time of the batch LRO is merging (its flush hands frames to the engine then). */
  private lroNow = 0;
  /** This queue's offload counters, shown in every worker's tree (cardstats.ts). */
  private readonly cardStats: CardQueueStats;
  private readonly reservations: ReservationClient;
  private readonly apps: GroupApps;
  /** The in-worker apps' offloaded connections (this stack's TOE card), or null. */
  private readonly toe: ToeChannel | null;
  private readonly c: WorkerCounters = {
    rxFrames: 0,
    txFrames: 0,
    txDrops: 0,
    hops: 0,
    hopsIn: 0,
    hopDrops: 0,
    misdirected: 0,
    lockWaits: 0,
    loops: 0,
    sleeps: 0,
    batches: 0,
    sleepsCallout: 0,
    sleepsIdle: 0,
    sleepsSync: 0,
    sleepsCancelled: 0,
    sleepsWoken: 0,
    sleepsTimedOut: 0,
    sleepsLate: 0,
    sleepUs: 0,
    sleepMaxUs: 0,
    spinUs: 0,
    spinsWon: 0,
    spinsLost: 0,
    spinWonUs: 0,
    spinsRefused: 0,
    cpuUs: 0,
    wallUs: 0,
    connects: 0,
    accepts: 0,
  };
  private stopping = false;
  /** Frames that arrived from the peer for a bucket another group owns. */
  private misdirected = 0;
  private panic = 0;
  /** debug.rxstall_ms and when the stall it asked for ends (performance.now ms). */
  private rxstallMs = 0;
  private rxstallUntil = 0;
  /** debug.stall_ms: the thread stops for this long at its next turn (0 once it has). */
  private stallMs = 0;
  /** This engine's connection group: the buckets it owns and its lock. */
  private readonly pcbgroup: Pcbgroup;
  /** The indirection table as last applied to the pcbgroup. */
  private readonly ownSeen: Uint16Array;
  private readonly started = performance.now();
  /** This worker's TAP queue, when cxgbe0 is a per-worker TAP. */
  private readonly tap: QueuePort | null = null;
  /** The time of the drain in progress, for the TAP queue's frames. */
  private tapNow = 0;

  constructor(t: GroupTask) {
    this.t = t;
    this.bell = new Doorbell(t.bell);
    this.spinWords = new Int32Array(t.spin);
    this.own = new Uint16Array(t.indirection);
    this.ownMask = this.own.length - 1;
    // The engine's clock is the loop's (performance.now, µs); it starts now, not at 0.
    // Loader tunables are read as the engine starts (the stack's `tunables` and the CTLFLAG_RDTUN
    // names of its `sysctl` map); the other sysctls are set once it runs.
    const { tunables, sysctls } = splitLoaderTunables(t.sysctl);
    this.engine = new Engine({
      seed: (t.seed * 7919 + t.worker * 104729 + 1) >>> 0,
      now: performance.now() * 1000,
      tunables: { ...t.tunables, ...tunables },
      hostcache: t.hostcache,
    });
    const e = this.engine;
    e.uma.share(t.zones);
    e.pf.shareStates(t.pfStates, t.worker);
    this.cx = attachPort(e, t);
    const addrs = t.addrs.map((a) => a.split('/')[0]!);
    installRoutes(e, t.routes ?? []);
    this.peerTx = peerLinkTx(
      t.peerTx,
      t,
      (t.seed * 2654435761 + t.worker * 40503 + 7) >>> 0,
      t.qsizeTxq ?? TXQ_DEFAULT_LEN,
    );
    const hopRings = t.hopTx.map((r) => r ?? FrameRing.create({ slots: 1, slotSize: 8 }).sab);
    this.hopTx = new LinkTx(
      hopRings,
      t.bells,
      t.indirection,
      'rss-groups',
      undefined,
      undefined,
      t.qsizeTxq ?? TXQ_DEFAULT_LEN,
    );
    for (const sab of t.peerRx) this.addRx(sab, true);
    for (const sab of t.hopRx) if (sab !== null) this.addRx(sab, false);
    const out = this.peerTx;
    const cx = this.cx;
    let linkOut: OutputFn;
    if (t.queue !== undefined) {
      const cxi = cx;
      const port = new QueuePort({
        kind: t.queue.kind,
        fd: t.queue.fd,
        hdrSize: t.queue.hdrSize,
        stats: t.queue.stats,
        ring: t.queue.ring,
        wakeFd: t.queue.wakeFd,
        worker: t.worker,
        own: this.own,
        hops: this.hopTx,
        ifp: cxi,
        input: (frame, meta) => e.inputQueued(cxi, frame, this.tapNow, meta),
      });
      this.tap = port;
      if (t.pipe !== undefined) {
        // The delay line's slots are PIPE_SLOT_SIZE: a larger frame would only count in
        // oerrors, so an MTU it cannot hold is refused (EINVAL), now and at ifconfig mtu.
        cxi.mtuMax = PIPE_MTU_MAX;
        if (cxi.mtu > cxi.mtuMax)
          throw new SysError('EINVAL', `mtu ${cxi.mtu} with a pipe: at most ${cxi.mtuMax}`, 'pipe');
        port.pipe = new PipeLine(t.pipe, PIPE_SLOT_SIZE, pipeOwner(t.worker));
        pipeSysctls(e.sysctl, port.pipe);
      }
      queueSysctls(e.sysctl, t.queue.stats);
      port.syncOffloads();
      linkOut = (ifp, frame, meta) => {
        if (ifp === cxi) port.tx(frame, meta);
        return 0;
      };
    } else {
      // 802.3x flow control on the in-memory link, on by default (ifconfig cxgbe0 -mediaopt
      // rxpause,txpause turns it off: a full receive ring then loses the frame).
      cx.mediaoptCap = IFM_ETH_RXPAUSE | IFM_ETH_TXPAUSE;
      cx.mediaopt = t.flowControl === false ? 0 : IFM_ETH_RXPAUSE | IFM_ETH_TXPAUSE;
      if (t.pipe !== undefined) {
        out.pipe = new PipeLine(t.pipe, LINK_SLOT_SIZE, pipeOwner(t.worker));
        pipeSysctls(e.sysctl, out.pipe);
      }
      linkOut = (ifp, frame, meta) => {
        if (ifp !== cx) return 0;
        out.pause = cx.mediaopt !== 0;
        return out.send(frame, meta);
      };
    }
    // The link's output alone until an epair end to the vnet worker exists: then its frames
    // go there, the link's test first (epairAttach swaps the two; nothing costs more without one).
    const epairs = this.epairs;
    this.linkOutput = linkOut;
    this.epairOutput = (ifp, frame, meta) =>
      ifp === cx ? linkOut(ifp, frame, meta) : (epairs.get(ifp)?.send(frame) ?? 0);
    e.output = linkOut;
    this.coord = Comlink.wrap<CoordinatorApi>(portEndpoint(t.coordPort));
    this.reservations = new ReservationClient(e, this.coord, t.worker, addrs);
    this.toe = t.toe === undefined ? null : new ToeChannel(e, t.toe);
    this.apps = new GroupApps(e, t.worker, t.workers, addrs, this.reservations, this.toe, this.coord);
    this.ownSeen = new Uint16Array(this.own.length);
    this.pcbgroup = new Pcbgroup({
      id: t.worker,
      ngroups: t.workers,
      nbuckets: this.own.length,
      buckets: [],
      lock: { sab: t.lock },
    });
    e.tcp.pcbinfo.group.pcbgroup = this.pcbgroup;
    e.udp.pcbinfo.group.pcbgroup = this.pcbgroup;
    this.syncBuckets(true);
    this.lro = new LroCtrl((frame, meta) => e.inputQueued(cx, frame, this.lroNow, meta));
    this.cardStats = new CardQueueStats(
      t.queueStats,
      t.worker,
      this.lro.stats,
      this.tap === null ? this.peerTx : nativeTxq(this.tap, this.peerTx),
    );
    this.cardStats.register(e.sysctl);
    // hw.cxgbe.qsize_txq: a loader tunable in cxgbe(4), fixed at the stack's creation here (qsizeTxq).
    e.sysctl.int(
      'hw.cxgbe.qsize_txq',
      { qsize: t.qsizeTxq ?? TXQ_DEFAULT_LEN },
      'qsize',
      'Frames each transmit queue holds while the receiver pauses the link (then ENOBUFS)',
      { readonly: true },
    );
    // debug.rxstall_ms: the worker stops polling its receive rings for N ms (a descheduled
    // receiver, on demand: what flow control is for); it reads back 0 once the stall ends.
    e.sysctl.int(
      'debug.rxstall_ms',
      this as unknown as { rxstallMs: number },
      'rxstallMs',
      'Stop polling the receive rings for this many ms (flow-control drills)',
      { min: 0, max: 60_000, onSet: (v) => (this.rxstallUntil = performance.now() + v) },
    );
    // debug.stall_ms: the thread stops for N ms at its next turn, running nothing (rings,
    // queue, callouts), as a loaded machine's scheduler keeps it off the CPU; reads back 0
    // once the stall is over.
    e.sysctl.int(
      'debug.stall_ms',
      this as unknown as { stallMs: number },
      'stallMs',
      "Stop the worker's thread for this many ms at its next turn (scheduling drills)",
      { min: 0, max: 60_000 },
    );
    // debug.kdb.panic: the worker's loop throws (failure drills), as FreeBSD's sysctl panics the kernel.
    e.sysctl.int(
      'debug.kdb.panic',
      this as unknown as { panic: number },
      'panic',
      'Set to panic the worker (failure drills)',
      { min: 0, max: 1 },
    );
    for (const m of t.modules) {
      const r = e.kldload(m);
      if (r < 0 && r !== -ERRNO.EEXIST) throw SysError.fromErrno(r, 'kldload');
    }
    for (const [k, v] of Object.entries(sysctls)) e.sysctl.set(k, v);
    Comlink.expose(
      workerControl({
        engine: e,
        worker: t.worker,
        pcbgroup: this.pcbgroup,
        buckets: this.own.length,
        apps: this.apps,
        tuples: this.reservations.tuples,
        toe: this.toe,
        drain: () => {
          const now = performance.now() * 1000;
          while (this.drain(now) > 0);
        },
        counters: () => this.counters(),
        epairAttach: (s) => this.epairAttach(s),
        epairDetach: (name) => this.epairDetach(name),
        epairAddr: (name, cidr) => {
          const ifp = this.engine.ifunit(name);
          if (ifp === null || !this.epairs.has(ifp))
            throw new SysError('ENXIO', `interface ${name} is not an epair`, 'ifconfig');
          const r = this.engine.addAddr(ifp, cidr);
          if (r < 0) throw SysError.fromErrno(r, 'ifconfig inet');
        },
        stop: () => {
          this.stopping = true;
          this.bell.signal();
        },
      }),
      portEndpoint(t.ctlPort),
    );
  }

  private addRx(sab: SharedArrayBuffer, fromPeer: boolean, ifp: Ifnet = this.cx): void {
    const c = new RingConsumer(FrameRing.attach(sab));
    this.rx.push(c);
    this.rxFromPeer.push(fromPeer);
    this.rxViews.push(c.ring.views.map((v) => v));
    this.rxIfp.push(ifp);
  }

  /**
   * The `a` end of an epair to the vnet worker (hostepair.ts). Its frames were hashed by
   * RSS on the way in, so a frame for another group's bucket hops there as a link frame does.
   */
  private epairAttach(s: GroupEpairSpec): void {
    const ep = new GroupEpair(this.engine, s);
    this.epairs.set(ep.ifp, ep);
    this.epairByUnit.set(ep.unit + 1, ep.ifp);
    this.engine.output = this.epairOutput;
    this.addRx(s.rx, true, ep.ifp);
  }

  /** The epair end goes (ifconfig epairNa destroy): its ring is no longer drained. ENXIO. */
  private epairDetach(name: string): void {
    const ifp = this.engine.ifunit(name);
    if (ifp === null || !this.epairs.has(ifp))
      throw new SysError('ENXIO', `interface ${name} is not an epair`, 'ifconfig');
    const r = this.rxIfp.indexOf(ifp);
    this.rx.splice(r, 1);
    this.rxFromPeer.splice(r, 1);
    this.rxViews.splice(r, 1);
    this.rxIfp.splice(r, 1);
    this.epairByUnit.delete(this.epairs.get(ifp)!.unit + 1);
    this.epairs.delete(ifp);
    this.engine.ifdetach(ifp);
    if (this.epairs.size === 0) this.engine.output = this.linkOutput;
  }

  setup(): Promise<void> {
    return this.apps.start(this.t.apps);
  }

  /** Follow the stack's indirection table into the pcbgroup's owned set when it changed. */
  private syncBuckets(force = false): void {
    const own = this.own;
    let changed = force;
    for (let b = 0; b < own.length; b++) {
      const w = Atomics.load(own, b);
      if (w !== this.ownSeen[b]) {
        this.ownSeen[b] = w;
        changed = true;
      }
    }
    if (!changed) return;
    // Pre-granted ports were aligned to the old table.
    if (!force) this.reservations.flush();
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
    const lro = (cx.capenable & IFCAP_LRO) !== 0 ? this.lro : null;
    this.lroNow = now;
    let total = 0;
    if (this.tap !== null) {
      this.tapNow = now;
      total += this.tap.rx(RX_BATCH);
    }
    for (let r = 0; r < this.rx.length; r++) {
      const c = this.rx[r]!;
      const n = c.peek(RX_BATCH);
      if (n === 0) continue;
      const ring = c.ring;
      const meta = ring.meta;
      const views = this.rxViews[r]!;
      const fromPeer = this.rxFromPeer[r]!;
      const ifp = this.rxIfp[r]!;
      for (let k = 0; k < n; k++) {
        const s = c.slot(k);
        const b = s * META_WORDS;
        const hashType = meta[b + META_HASHTYPE]!;
        const flowid = meta[b + META_FLOWID]! >>> 0;
        let rcvif = ifp;
        if (fromPeer && hashType !== M_HASHTYPE_NONE && meta[b + META_FLOW_TAG] !== FLOW_TAG_FLOOD) {
          const owner = own[flowid & mask]!;
          if (owner !== me) {
            // Not ours: the hop to the owning group that pcbgroups exist to avoid. It
            // names the epair end it arrived on (by unit: if_index may differ between
            // workers), or none for the link, so the owner receives it there too.
            this.misdirected++;
            meta[b + META_RCVIF] = ifp === cx ? 0 : this.epairs.get(ifp)!.unit + 1;
            if (this.hopTx.forward(owner, ring, s)) this.c.hops++;
            continue;
          }
        } else if (!fromPeer && meta[b + META_RCVIF] !== 0) {
          const x = this.epairByUnit.get(meta[b + META_RCVIF]!);
          if (x === undefined) {
            // Its epair end went here meanwhile: nothing to receive it on, a failed hop.
            this.c.hopDrops++;
            continue;
          }
          rcvif = x;
        }
        const len = meta[b + META_LEN]!;
        let v = views[s]!;
        if (v.length !== len) {
          v = ring.views[s]!.subarray(0, len);
          views[s] = v;
        }
        rxSlotMeta(m, meta, s, rcvif, v);
        if (lro !== null && rcvif === cx) lro.rx(v, m);
        else e.inputQueued(rcvif, v, now, m);
        if (!fromPeer) this.c.hopsIn++;
      }
      // The batch ends before its slots go back to the producer: LRO holds them till here.
      lro?.flush();
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
    const apps = this.apps.list;
    for (let i = 0; i < apps.length; i++) if (apps[i]!.app.ready?.() === true) return true;
    return this.toe?.ready() === true;
  };

  /**
   * Poll the rings, the apps and the control flag for up to `us` (cpushare.ts: the window
   * after activity when the awake threads fit the cores): true when work came, which then
   * needs no wake-up — producers ring only a doorbell that announced sleep.
   */
  private pollWindow(us: number): boolean {
    const c = this.c;
    const t0 = performance.now();
    const end = t0 + us / 1000;
    let now = t0;
    const spin = this.spinWords;
    do {
      if (this.anyReady() || this.bell.ctl) {
        this.pollWin.polled(true);
        c.spinsWon++;
        c.spinWonUs += Math.round((performance.now() - t0) * 1000);
        return true;
      }
      now = performance.now();
      // A thread woke meanwhile and the awake ones no longer fit: give the core back.
    } while (now < end && mayPoll(spin));
    // Cut short because another thread woke: not a window that ran out.
    if (now >= end) this.pollWin.polled(false);
    c.spinsLost++;
    c.spinUs += Math.round((now - t0) * 1000);
    return false;
  }

  /**
   * Doorbells of sleeping siblings and peers this worker rang so far: a thread it woke
   * needs a core before it counts as awake (it runs to say so), so the turn that rang one
   * does not poll.
   */
  private rang(): number {
    let n = 0;
    for (const b of this.peerTx.bells) n += b.rings;
    for (const b of this.hopTx.bells) n += b.rings;
    return n;
  }

  /**
   * Sleep on the doorbell up to `ms`, counted by cause and outcome; false when it ran to
   * its timeout (nothing came).
   */
  private sleep(ms: number, cause: number): boolean {
    const t0 = performance.now();
    // Asleep for the process's poll rule (cpushare.ts) from the announcement on; a ring
    // that cancels the sleep leaves it counted a few µs too long, never too short.
    asleep(this.spinWords, 1);
    try {
      this.sleepCounted(ms, cause, t0);
    } finally {
      asleep(this.spinWords, -1);
    }
    return !this.bell.timedOut;
  }

  private sleepCounted(ms: number, cause: number, t0: number): void {
    const c = this.c;
    this.bell.timedOut = false;
    if (this.tap !== null ? !this.tapSleep(ms, t0) : !this.bell.sleep(ms, this.anyReady)) {
      c.sleepsCancelled++;
      return;
    }
    const us = Math.round((performance.now() - t0) * 1000);
    c.sleeps++;
    c.sleepUs += us;
    if (us > c.sleepMaxUs) c.sleepMaxUs = us;
    if (cause === SLEEP_CALLOUT) c.sleepsCallout++;
    else if (cause === SLEEP_IDLE) c.sleepsIdle++;
    else c.sleepsSync++;
    if (!this.bell.timedOut) {
      c.sleepsWoken++;
      return;
    }
    c.sleepsTimedOut++;
    if (this.anyReady()) c.sleepsLate++;
  }

  /** poll(2) on the TAP queue and the wake eventfd for up to `ms` (whole ms, at least 1). */
  private readonly tapWait = (ms: number): boolean => this.tap!.wait(Math.max(1, Math.ceil(ms)));

  /**
   * Sleep for a worker with a TAP queue: poll(2) on the queue and the eventfd its
   * doorbell kicks (a ring from a sibling or the main thread ends it at once). Without
   * the eventfd, in steps of TAP_POLL_MS, looking at the rings and the doorbell's control
   * flag between steps. False when there was work before sleeping (as Doorbell.sleep);
   * bell.timedOut says how it ended.
   */
  private tapSleep(ms: number, t0: number): boolean {
    const tap = this.tap!;
    if (tap.wakeable) return this.bell.sleepOn(ms, this.anyReady, this.tapWait);
    if (this.anyReady() || this.bell.ctl) return false;
    this.bell.timedOut = true;
    for (let left = ms; left > 0; left = ms - (performance.now() - t0)) {
      if (tap.wait(Math.max(1, Math.min(TAP_POLL_MS, Math.ceil(left)))) || this.anyReady() || this.bell.ctl) {
        this.bell.timedOut = false;
        break;
      }
    }
    return true;
  }

  /** The loop; resolves at stop, or with the error that ended it. */
  async run(): Promise<ErrorInfo | undefined> {
    const e = this.engine;
    const apps = this.apps.list;
    const rc = this.reservations;
    let idle = 0;
    let spinFrom = 0;
    /** Work since the last idle decision: what earns a poll window (cpushare.ts). */
    let active = false;
    /** rang() at the last idle decision. */
    let rangSeen = 0;
    // Empty turns before sleeping: 0 when the process has more busy threads than cores.
    const spin = this.spinWords;
    const lock = this.pcbgroup.lock;
    try {
      while (!this.stopping) {
        // Never block on the lock (see the top of the file): another thread's hold waits
        // here, serving messages, and nothing of this group runs until it ends.
        if (!lock.tryLock()) await lock.lockAsync();
        const sliceEnd = performance.now() + SLICE_MS;
        rc.trim(sliceEnd - SLICE_MS);
        // Buckets an indirection change moved (under the losing group's lock) apply here.
        this.syncBuckets();
        // `ifconfig cxgbe0 -lro/-rxcsum` reaches the TAP device here.
        this.tap?.syncOffloads();
        let held = true;
        for (;;) {
          if (this.panic !== 0)
            throw new SysError('MCSTACK_PANIC', `worker ${this.t.worker} of ${this.t.stack}: debug.kdb.panic`);
          if (this.stallMs > 0) {
            Atomics.wait(STALL_WORD, 0, 0, this.stallMs);
            this.stallMs = 0;
          }
          const nowMs = performance.now();
          const now = nowMs * 1000;
          // The engine's clock moves only when told (input, advance): tell it before the
          // replies and the apps open, send and close, or an idle spell since the last frame
          // goes into their timestamps, RTT timing and timers (a SYN sent with its
          // retransmission already due; the echo of its timestamp an RTT as long as the spell).
          // The frames that queued meanwhile go in before the callouts that fell due: after
          // this thread was off the CPU for longer than an RTO, the ACKs waiting for it stop
          // the retransmission timers instead of losing to them (Engine.inputQueued).
          e.setClock(now);
          rc.applyReplies();
          let work = 0;
          if (this.rxstallMs === 0) work = this.drain(now);
          else if (nowMs >= this.rxstallUntil) this.rxstallMs = 0;
          e.advance(now);
          if (this.toe?.poll() === true) work++;
          for (let i = 0; i < apps.length; i++) if (apps[i]!.app.poll(now)) work++;
          if (rc.kick) {
            rc.kick = false;
            work++;
            await null;
          }
          if (e.nextTimeout() <= now) e.advance(now);
          const tx = this.peerTx.flush();
          this.hopTx.flush();
          this.tap?.flush();
          if (tx > 0) {
            this.c.batches++;
            work++;
          }
          this.c.loops++;
          this.cardStats.publish();
          if (rc.pending) rc.sync(nowMs);
          if (this.bell.takeCtl() || this.stopping) break;
          if (work > 0) {
            idle = 0;
            active = true;
            if (nowMs >= sliceEnd) break;
            continue;
          }
          // The event loop's turn comes at the first empty turn of an ended slice, before
          // any spin or sleep: never between a wake-up and the work that woke us.
          if (idle === 0 && nowMs >= sliceEnd) break;
          if (++idle === 1) spinFrom = nowMs;
          if (idle < spinBudget(spin)) continue;
          idle = 0;
          this.c.spinUs += Math.round((performance.now() - spinFrom) * 1000);
          const next = e.nextTimeout();
          // Idle after activity with more threads than cores: poll a short window when
          // its windows mostly find work and the awake threads fit the cores, never past
          // the next callout.
          if (active && this.tap === null && spinBudget(spin) === 0) {
            active = false;
            const w = this.pollWin.window();
            const rang = this.rang();
            const woke = rang !== rangSeen;
            rangSeen = rang;
            if (w > 0 && (woke || !mayPoll(spin))) this.c.spinsRefused++;
            else if (w > 0 && this.pollWindow(Math.min(w, Math.max(0, next - now)))) continue;
          }
          let ms = Math.min(MAX_SLEEP_MS, Math.max(0, (next - now) / 1000));
          let cause = ms < MAX_SLEEP_MS ? SLEEP_CALLOUT : SLEEP_IDLE;
          // Frames wait in a transmit queue for a paused receiver: come back soon to drain
          // them (a NIC resumes when the pause quanta expire), without spinning meanwhile.
          if ((this.peerTx.pending > 0 || this.hopTx.pending > 0 || this.rxstallMs !== 0) && ms > TXQ_RETRY_MS) {
            ms = TXQ_RETRY_MS;
            cause = SLEEP_CALLOUT;
          }
          // Frames in the pipe's delay line: wake when the first is due on the wire.
          const pipeMs = Math.min(this.peerTx.pipeWaitMs, this.tap?.pipeWaitMs ?? Infinity);
          if (pipeMs < ms) {
            ms = pipeMs;
            cause = SLEEP_CALLOUT;
          }
          if (rc.pending && ms > SYNC_DEFER_MS) {
            ms = SYNC_DEFER_MS;
            cause = SLEEP_SYNC;
          }
          if (ms > 0) {
            lock.unlock();
            const came = this.sleep(ms, cause);
            // Taken while we slept: the holder's control call is what woke us; serve it.
            if (!lock.tryLock()) {
              held = false;
              break;
            }
            // A sleep that ran out takes the event loop's turn now (one loop pass fewer on
            // an idle stack); one that a ring ended goes to its work first.
            if (!came && performance.now() >= sliceEnd) break;
          }
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
      rc.applyReplies();
      for (const { app } of apps) app.stop();
      rc.flush();
      // Let the closes go out.
      this.engine.advance(performance.now() * 1000);
      this.peerTx.flush();
      this.tap?.flush();
    } finally {
      lock.unlock();
    }
    rc.sync();
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
    this.c.accepts = this.reservations.tuples.accepts;
    this.c.connects = this.reservations.connects;
    this.c.cpuUs = Math.round((threadCpuNs() || 0) / 1000);
    this.c.lockWaits = this.pcbgroup.lock.waits;
    this.c.misdirected = this.misdirected + this.pcbgroup.misdirected;
    this.c.wallUs = Math.round((performance.now() - this.started) * 1000);
    return { ...this.c };
  }
}

/** One event-loop turn (messages on the ports are delivered in its poll phase). */
function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
