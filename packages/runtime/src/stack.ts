/**
 * A stack: the coordinator (this object, on the main thread) and N group workers.
 *
 * ## API
 *
 *   const b = Stack.create({
 *     name: 'B',
 *     workers: 2,                      // 1 .. os.availableParallelism(), default the latter
 *     strategy: 'rss-groups',          // | 'single' (1 worker) | 'unaligned' (RSS off at the link: hops)
 *     mac: '02:00:00:00:00:0b',
 *     addrs: ['10.0.0.2/24', 'fd00::2/64'],
 *     neighbors: [{ addr: '10.0.0.1', mac: '02:00:00:00:00:0a' }],   // static ARP (join adds the peer's)
 *     apps: [{ name: 'echo', port: 7 }, { name: 'http-lite', port: 80 },
 *            { module: 'file:///x/app.js', export: 'default', options: {...} }],
 *     sysctl: { 'net.inet.tcp.msl': 1000 },
 *     seed: 1,
 *   });
 *   const a = Stack.create({ name: 'A', addrs: ['10.0.0.1/24'], apps: [{ name: 'bulk-sender',
 *     options: { addr: '10.0.0.2', port: 9, bytes: 1 << 30 } }] });
 *   Stack.join(a, b);                  // the in-memory multi-queue link (before start)
 *   // or cxgbe0 to real hosts (instead of join): one single-queue link, software RSS
 *   // on the main thread (links/external.ts), ARP/ND learnt by every worker:
 *   //   links: [{ type: 'udp-tunnel', local: '127.0.0.1:4001', remote: '127.0.0.1:4002' }]
 *   //   links: [{ type: 'tap', netns: 'ns1', addrs: ['10.0.0.1/24'], name: 'tap0' }]
 *   //   (await s.stats()).link: the link's counters; s.external.address(): its socket
 *   await b.start(); await a.start();  // workers up, listeners installed, apps started
 *   a.on('worker-error', (err) => ...) // err: Error with name, code, message, worker
 *   await a.control(0).netstat();      // comlink Remote<WorkerControl> (control.ts)
 *   await a.sysctl('net.inet.tcp.delayed_ack', 0);   // set in every live worker: values per worker
 *   await a.sysctl('net.inet.tcp.msl');               // get: values per worker
 *   const s = await a.stats();         // StackStats: runtime and engine counters summed (DPCPU-style),
 *                                      // apps' stats summed by app name, and per worker
 *   await a.setIndirection([[bucket, worker]]);  // EBUSY while live connections hash to a moved bucket
 *   const pcb = await b.pcblookup({ faddr, fport, laddr, lport }, INPLOOKUP_RLOCKPCB);
 *   // the pcb's description (state, sequence numbers, queues, worker), or null; it cannot
 *   // change until pcb.release() — the owning group's lock is held till then
 *   await a.stop(); await b.stop();    // apps stop, tasks resolve, pool destroyed, ports closed
 *
 * Each worker (worker/group.ts, run by piscina as one long-lived task) owns one Engine with
 * `cxgbe0` (this stack's MAC and addresses, the same in every worker, like queues of one
 * NIC) and `lo0`. Frames move only on SharedArrayBuffer rings (linkmatrix.ts); comlink
 * carries the control plane (sysctl, netstat, counters, capabilities) and the batched
 * reservation syncs of active and passive opens.
 *
 * The coordinator's tables (coordinator.ts) are the ReservationTable (every listening and
 * connected 4-tuple, local-port allocation) and the IndirectionTable (bucket -> worker,
 * mirrored into shared memory the peer's senders read). A worker whose task throws or whose thread dies is
 * reported through 'worker-error' with its rebuilt error; its buckets move to the live
 * workers (whose engines have no pcb for those flows, so the peer gets RSTs and its
 * sockets ECONNRESET), and its reservations are released.
 *
 * ## Locks
 *
 * Each group has a GroupLock (netinet in_pcbgroup.ts) in shared memory (`locks`,
 * grouplocks.ts). Its worker holds it for each slice of its loop. The coordinator takes it,
 * with lockAsync so the main thread keeps serving messages, for the cross-thread reads
 * and changes of a group: pcblookup (the owning group's, released at once or by the
 * result's release()), netstat (each group's, around its read), setIndirection (every
 * group losing buckets, across the live-connection check and the change, in group order).
 * While the coordinator holds a group's lock that group runs no frames, callouts or app
 * polls, yet answers control calls, which run under the coordinator's hold. A misdirected
 * frame is not looked up across threads: its receiver hops it to the owner, which looks
 * it up under its own lock.
 */
import { EventEmitter } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import * as Comlink from 'comlink';
import { toeplitzForKey, type IndirectionTable } from '@mcstack/rss';
import type { GroupLock, KldStat, PfReport, PfRuleset } from '@mcstack/netinet';
import {
  SysError,
  UMA_SHARED_BYTES,
  pfSharedBytes,
  pfSharedRelease,
  KeyDb,
  type SecAssocRecord,
  Engine,
  Kenv,
  hostcacheCreate,
  hostcacheTunables,
  IFCAP_TSO,
} from '@mcstack/netinet';
import {
  applySetkey,
  parseRouteArgs,
  type RouteResult,
  type SetkeyOp,
  type StackSnapshot,
} from '@mcstack/netinet/tools';
import { cardModel, type CardModel } from './cardmodel.js';
import { checkAppSpec } from './apps/registry.js';
import { installErrorCodes } from './control.js';
import { lookupLocks, parseTuple, tupleHash } from './pcblookup.js';
import type { ReservationTable } from './reservations.js';
import { Coordinator } from './coordinator.js';
import { GroupLocks } from './grouplocks.js';
import { ipBytes, checkCidr, parseMac, formatMac } from './addrs.js';
import { FrameRing } from './ring.js';
import { LinkMatrix, LINK_RING_SLOTS, LINK_SLOT_SIZE } from './linkmatrix.js';
import { cardStatsBytes } from './cardstats.js';
import type { IndirectionChange } from './link.js';
import { Doorbell } from './doorbell.js';
import { ExternalLink, checkLinkSpec, type ExternalLinkStats } from './links/external.js';
import { TapMqLink } from './links/tapmq.js';
import { AfPacketLink } from './links/afpacket.js';
import { queueStats, queueStatsSab, type QueueStats } from './links/queuestats.js';
import { NativeUnavailableError } from './native/errors.js';
import * as libc from './native/libc.js';
import { portEndpoint } from './endpoint.js';
import { errorInfo, rebuildError } from './errinfo.js';
import type {
  StackOptions,
  Strategy,
  AppSpec,
  NeighborSpec,
  WorkerControl,
  RemoteWorker,
  RemoteApi,
  CoordinatorApi,
  ErrorInfo,
  WorkerStats,
  NetstatEntry,
  PcbTuple,
  PcbDescription,
  SyncRequest,
  SyncReply,
} from './control.js';
import type { GroupTask, GroupResult } from './worker/group.js';
import type { CardControl, CardCounters } from './worker/card.js';
import { ToeCard, type ToeStats, type HandoffTuple, type HandoffPeer, type ToeCardHost } from './toecard.js';
import type { SockHandoff } from './sockrec.js';
import { TOE_STATS, type TidTable } from './tids.js';
import { spinShare, workersLive } from './cpushare.js';
import { pipeShare, pipeWorkerGone, type PipeShare, type PipeStats } from './pipe.js';
import { Bottleneck } from '@mcstack/netinet/sim';

export type { StackOptions, Strategy, AppSpec, NeighborSpec, LinkSpec } from './control.js';
import type { LinkSpec } from './control.js';
export type { WorkerError } from './errinfo.js';
export type { ToeStats } from './toecard.js';

/** Tries and spacing of an in-worker server's accepted connection's offload (the group registers it in its next sync). */
const APP_OFFLOAD_TRIES = 40;
const APP_OFFLOAD_RETRY_MS = 5;

/** A u32 IPv4 address (host order, as syncs carry it) in dotted quads. */
function u32Addr(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Two address texts name one address (IPv6 text forms vary). */
function sameAddr(a: string, b: string): boolean {
  const x = ipBytes(a);
  const y = ipBytes(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * What Stack.pcblookup returns: the pcb as the owning group holds it. With a lock flag the
 * group's lock is held (`locked`) until release(): the pcb cannot change meanwhile, and
 * that group processes nothing. release() is idempotent; without a lock flag it does nothing.
 */
export interface PcbLookup extends PcbDescription {
  locked: boolean;
  release(): void;
}

/** Stack.stats(): every number summed over live workers, and the per-worker records. */
export interface StackStats {
  workers: WorkerStats[];
  /** Sums of the runtime counters (WorkerCounters) and of the engine counters. */
  total: Record<string, number>;
  tcpstat: Record<string, number>;
  ipstat: Record<string, number>;
  ip6stat: Record<string, number>;
  apps: Record<string, Record<string, number>>;
  /** The external link's counters (StackOptions.links), when there is one. */
  link?: ExternalLinkStats;
  /** A per-worker TAP's or AF_PACKET link's counters, every queue summed (dev.vtnet.0.rxqN/txqN per queue). */
  tap?: QueueStats;
}

/**
 * Which path a TAP link's frames take: 'native' (a queue per worker, read and written by
 * it) or 'socat' (one queue on the main thread), with why the native one was not had.
 */
export interface LinkPath {
  path: 'native' | 'socat';
  reason?: string;
}

/**
 * What a stack's in-memory link needs of its far end: its queues' doorbells and
 * indirection table (where the stack's senders put each frame) and its addresses (static
 * neighbours). Another Stack, or a SyntheticPeer.
 */
export interface LinkPeer {
  readonly workers: number;
  readonly mac: Uint8Array;
  readonly addrs: readonly string[];
  readonly bells: readonly Doorbell[];
  readonly indirectionSab: SharedArrayBuffer;
}

/** What pfctl reaches in a group worker and in the TOE card alike. */
type PfControl = Pick<RemoteApi<CardControl>, 'pfLoad' | 'pfEnable' | 'pfReport'>;

interface PeerLink {
  peer: LinkPeer;
  /** Rings this stack's worker i sends on to peer worker j: tx[i][j]; rx[j][i] = peer j -> our i. */
  tx: SharedArrayBuffer[][];
  rx: SharedArrayBuffer[][];
  /** With a TOE card: rings peer worker j -> our card (cardIn[j]) and our card -> peer worker j. */
  cardIn: SharedArrayBuffer[];
  cardOut: SharedArrayBuffer[];
}

/** The record behind a piscina worker interface: its task port's ref()/unref(). */
function poolWorkerInfo(w: object): { ref(): void; unref(): void } | undefined {
  const key = Object.getOwnPropertySymbols(w).find((k) => k.description === 'Piscina.kWorkerData');
  const info = key === undefined ? undefined : (w as Record<symbol, unknown>)[key];
  const ok =
    typeof info === 'object' &&
    info !== null &&
    typeof (info as { ref?: unknown }).ref === 'function' &&
    typeof (info as { unref?: unknown }).unref === 'function';
  return ok ? (info as { ref(): void; unref(): void }) : undefined;
}

interface WorkerSlot {
  index: number;
  alive: boolean;
  control: RemoteWorker | null;
  /** The comlink proxy behind `control`, released at stop. */
  proxy: Comlink.Remote<WorkerControl> | null;
  ports: MessagePort[];
  task: Promise<unknown> | null;
  fatal: ErrorInfo | undefined;
  ready: { resolve: () => void; reject: (e: Error) => void; promise: Promise<void> };
  /** Counted in the process's live workers (cpushare.ts) until its thread's task settles. */
  counted: boolean;
}

const DEFAULT_MAC = '02:00:00:00:00:01';

installErrorCodes(Comlink.transferHandlers as Map<string, unknown>);

export class Stack extends EventEmitter {
  readonly name: string;
  readonly workers: number;
  readonly strategy: Strategy;
  readonly mac: Uint8Array;
  readonly addrs: readonly string[];
  readonly options: Readonly<StackOptions>;
  /** One doorbell per worker. */
  readonly bells: readonly Doorbell[];
  /** The reservation and indirection tables, and the answers to the workers' syncs. */
  private readonly coord: Coordinator;
  /** Each group's lock, as the coordinator takes it. */
  private readonly groupLocks: GroupLocks;
  /** The stack's zone counts every worker's engine shares (kern.ipc.maxsockets, syncache cachelimit). */
  private readonly zonesSab = new SharedArrayBuffer(UMA_SHARED_BYTES);
  /** cxgbe0's per-queue offload counters (cardstats.ts), a row per worker. */
  private readonly queueStatsSab: SharedArrayBuffer;
  /** pf's state count, the stack's and each worker's (netinet pfSharedBytes): `set limit states` is one limit. */
  private readonly pfStatesSab: SharedArrayBuffer;
  /** The ruleset `pfctl -f` last loaded and whether pf is on: a TOE card started later takes both. */
  private pfRuleset: PfRuleset | null = null;
  private pfEnabled = false;
  /** The TCP host cache every worker's engine shares (tcp_hostcache.c: one per stack). */
  private readonly hostcache: SharedArrayBuffer;
  /** setIndirection calls run one at a time: each checks the table the last one left. */
  private indirectionQueue: Promise<unknown> = Promise.resolve();
  private readonly toeplitz = toeplitzForKey();
  /** Hop rings between this stack's workers: hops[i][k] (null on the diagonal). */
  private readonly hops: (SharedArrayBuffer | null)[][];
  private link: PeerLink | null = null;
  /** cxgbe0's single-queue link to the outside (StackOptions.links), or null. */
  external: ExternalLink | null = null;
  /** cxgbe0's multi-queue TAP (a `tap` link with queues 'per-worker'), once started. */
  tapmq: TapMqLink | null = null;
  /** cxgbe0's AF_PACKET link (type 'af_packet'), once started. */
  afpacket: AfPacketLink | null = null;
  /** The TAP or AF_PACKET link's path, once started (null without one). */
  linkPath: LinkPath | null = null;
  /** The per-worker TAP's queue counters (shared with the workers). */
  private readonly tapStats: SharedArrayBuffer | null = null;
  private pool: Piscina | null = null;
  /** piscina's public worker records ('workerCreate'), for ref/unref of their task ports. */
  private readonly poolWorkers: object[] = [];
  private slots: WorkerSlot[] = [];
  /** The card the port models (cardmodel.ts): cxgbe0 a T4, cxgb0 a T3. */
  readonly model: CardModel;
  /** cxgbe0's TOE card when it offers TOE4/TOE6 (toecard.ts). */
  private readonly card: ToeCard | null;
  /** Every `route` change since start (Stack.route), in order: a card started later replays them. */
  private readonly routeChanges: string[][] = [];
  /** The dummynet pipe on cxgbe0's output (StackOptions.pipe), shared by the workers. */
  private readonly pipe: PipeShare | null;
  /** The static neighbours the workers (and the card) were given at start. */
  private neighborList: { addr: string; mac: string }[] = [];
  /** The apps the TOE card runs itself (StackOptions.toe.apps). */
  private readonly cardApps: AppSpec[];
  /** The group workers' apps (StackOptions.apps), checked when the stack is made. */
  private readonly apps: AppSpec[];
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  private constructor(o: StackOptions) {
    super();
    this.options = o;
    this.name = o.name ?? 'mcstack';
    this.strategy = o.strategy ?? 'rss-groups';
    const cores = availableParallelism();
    const n = this.strategy === 'single' ? (o.workers ?? 1) : (o.workers ?? cores);
    if (!Number.isInteger(n) || n < 1 || n > Math.max(cores, 1) * 4) {
      throw new SysError('EINVAL', `workers must be an integer from 1 to ${cores}, got ${o.workers}`);
    }
    if (this.strategy === 'single' && n !== 1) throw new SysError('EINVAL', "strategy 'single' runs 1 worker");
    if (!['rss-groups', 'single', 'unaligned'].includes(this.strategy)) {
      throw new SysError('EINVAL', `unknown strategy ${String(this.strategy)}`);
    }
    this.workers = n;
    this.mac = parseMac(o.mac ?? DEFAULT_MAC);
    this.addrs = o.addrs ?? [];
    for (const a of this.addrs) checkCidr(a);
    for (const nb of o.neighbors ?? []) {
      ipBytes(nb.addr);
      parseMac(nb.mac);
    }
    this.coord = new Coordinator(n, o.buckets, o.seed ?? 1);
    this.bells = Array.from({ length: n }, () => new Doorbell());
    this.groupLocks = new GroupLocks(n);
    // The tunables as a worker's engine will read them (a bad one is refused here, not in a worker).
    if (o.tunables !== undefined) new Engine({ tunables: o.tunables });
    this.hostcache = hostcacheCreate(hostcacheTunables(new Kenv(o.tunables)));
    this.queueStatsSab = new SharedArrayBuffer(cardStatsBytes(n));
    this.model = cardModel(o.ifname);
    // One slot per worker and one for the TOE card (its index is n).
    this.pfStatesSab = new SharedArrayBuffer(pfSharedBytes(n + 1));
    if (o.plr !== undefined && !(typeof o.plr === 'number' && o.plr >= 0 && o.plr < 1))
      throw new SysError('EINVAL', `plr must be a number in [0, 1), got ${o.plr}`);
    this.card = ToeCard.forStack(o);
    this.cardApps = (o.toe?.apps ?? []).map(normalizeApp);
    this.apps = (o.apps ?? []).map(normalizeApp);
    this.pipe = o.pipe === undefined ? null : pipeShare(o.pipe, ((o.seed ?? 1) * 2654435761) >>> 0);
    // Rings that may carry a link's share of the traffic (RSS off, or an AF_PACKET fanout
    // that does not follow our RSS) get a link ring's depth; misdirection stays rare otherwise.
    const hopSlots =
      this.strategy === 'unaligned' || o.links?.[0]?.type === 'af_packet' ? (o.ringSlots ?? LINK_RING_SLOTS) : 256;
    const links = o.links ?? [];
    if (!Array.isArray(links) || links.length > 1) throw new SysError('EINVAL', 'links: at most one link (cxgbe0)');
    const l0 = links[0];
    if (l0 !== undefined && (l0.type === 'af_packet' || (l0.type === 'tap' && l0.queues === 'per-worker'))) {
      // Opened at start (links/tapmq.ts); the spec is checked now.
      checkLinkSpec(l0);
      this.tapStats = queueStatsSab(n);
    } else if (l0 !== undefined) {
      this.external = new ExternalLink(l0, this.indirection, o.mtu ?? 1500, o.ringSlots ?? LINK_RING_SLOTS);
      if (l0.type === 'tap') this.linkPath = { path: 'socat' };
    }
    this.hops = [];
    for (let i = 0; i < n; i++) {
      const row: (SharedArrayBuffer | null)[] = [];
      for (let k = 0; k < n; k++)
        row.push(i === k ? null : FrameRing.create({ slots: hopSlots, slotSize: LINK_SLOT_SIZE }).sab);
      this.hops.push(row);
    }
  }

  /** A stack, configured but not started. EINVAL on bad options. */
  static create(o: StackOptions = {}): Stack {
    return new Stack(o);
  }

  /**
   * Join two stacks with the in-memory multi-queue link (before either starts): a ring per
   * (worker of a, worker of b) each way; each stack's workers get static neighbour
   * entries for the other's addresses. `b` may be a LinkPeer that is not a stack (the
   * synthetic peer's attach()): it takes the returned rings itself.
   */
  static join(a: Stack, b: Stack | LinkPeer): LinkMatrix {
    if (a === b) throw new SysError('EINVAL', 'a stack cannot be joined to itself');
    const stacks = b instanceof Stack ? [a, b] : [a];
    if (stacks.some((s) => s.state !== 'new')) throw new SysError('EISCONN', 'join before start');
    if (stacks.some((s) => s.link !== null || s.external !== null || s.tapStats !== null))
      throw new SysError('EISCONN', 'a stack has one link (cxgbe0)');
    const m = new LinkMatrix(a.workers, b.workers, a.options.ringSlots ?? LINK_RING_SLOTS, LINK_SLOT_SIZE);
    const bCard = b instanceof Stack && b.card !== null;
    a.link = { peer: b, tx: m.aToB, rx: m.bToA, ...a.cardRings(b.workers, bCard) };
    if (b instanceof Stack) b.link = { peer: a, tx: m.bToA, rx: m.aToB, ...b.cardRings(a.workers, a.card !== null) };
    return m;
  }

  /**
   * The card's rings to and from each of `peerWorkers` (none without a card), and one more in
   * from the peer's card when it has one (card to card: the peer card's TIDs match first there too).
   */
  private cardRings(
    peerWorkers: number,
    peerCard: boolean,
  ): { cardIn: SharedArrayBuffer[]; cardOut: SharedArrayBuffer[] } {
    const ring = () =>
      FrameRing.create({ slots: this.options.ringSlots ?? LINK_RING_SLOTS, slotSize: LINK_SLOT_SIZE }).sab;
    if (this.card === null) return { cardIn: [], cardOut: [] };
    return {
      cardIn: Array.from({ length: peerWorkers + (peerCard ? 1 : 0) }, ring),
      cardOut: Array.from({ length: peerWorkers }, ring),
    };
  }

  /** The link whose queues the workers own (a per-worker TAP or AF_PACKET), once started. */
  private get queueLink(): TapMqLink | AfPacketLink | null {
    return this.tapmq ?? this.afpacket;
  }

  /**
   * Worker i's native queue, with an eventfd its doorbell kicks: the worker sleeps in
   * poll(2) on both, so a frame from a sibling or a record from this thread wakes it at
   * once (doorbell.ts). Closed in stop(), after the workers.
   */
  private queueOf(i: number, stats: SharedArrayBuffer): GroupTask['queue'] {
    const q = this.queueLink?.queueOf(i, stats);
    if (q === undefined) return undefined;
    const bell = this.bells[i]!;
    if (bell.wakeFd === 0) bell.wakeFd = libc.eventfd();
    return { ...q, wakeFd: bell.wakeFd };
  }

  /** Every listening and connected 4-tuple of the stack (the coordinator's). */
  get reservations(): ReservationTable {
    return this.coord.reservations;
  }

  /** RSS bucket -> worker. */
  get indirection(): IndirectionTable {
    return this.coord.indirection;
  }

  /** The indirection table in shared memory (Uint16 per bucket), read by the peer's senders. */
  get indirectionSab(): SharedArrayBuffer {
    return this.coord.indirectionSab;
  }

  /** Each group's lock (GroupLock words), shared so the coordinator can take a group's lock. */
  get locks(): readonly SharedArrayBuffer[] {
    return this.groupLocks.sabs;
  }

  /** Reservations that conflicted at passive registration (must stay 0: no shared 4-tuple). */
  get passiveConflicts(): number {
    return this.coord.passiveConflicts;
  }

  /** The far end of the in-memory link (a stack or a synthetic peer), if any. */
  get peer(): LinkPeer | null {
    return this.link?.peer ?? null;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Whether worker `w` is alive (started and not failed). */
  alive(w: number): boolean {
    return this.slots[w]?.alive ?? false;
  }

  /**
   * cxgbe0's capabilities and capenable for the workers: a queue link's; without TSO under
   * a pipe on a queue link, whose frames must each be one packet on the wire.
   */
  private capabilitiesOf(): { capabilities?: number; capenable?: number } {
    const q = this.queueLink;
    if (q === null) return { capabilities: this.options.capabilities, capenable: this.options.capenable };
    const caps = q.capabilities & ~(this.pipe !== null ? IFCAP_TSO : 0);
    return { capabilities: caps, capenable: (this.options.capenable ?? caps) & caps };
  }

  /** The pipe's counters (drops by cause, CE marks, packets through), null without a pipe. */
  pipeStats(): PipeStats | null {
    const p = this.pipe;
    if (p === null) return null;
    const b = new Bottleneck(p.config, p.sab);
    const stats = b.stats;
    return {
      lockBreaks: b.lockBreaks,
      packets: stats.enqueued - stats.randomLoss,
      tailDrops: stats.tailDrops,
      aqmDrops: stats.aqmDrops,
      randomLoss: stats.randomLoss,
      ceMarks: stats.ceMarks,
    };
  }

  /** Start the workers; resolves once every worker's engine and apps are up. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new SysError('EALREADY', `stack ${this.name} was already started`);
    this.state = 'starting';
    const n = this.workers;
    if (this.tapStats !== null) {
      try {
        await this.openQueues();
      } catch (e) {
        this.state = 'stopped';
        throw e;
      }
    }
    const ext = this.external;
    if (ext !== null) {
      try {
        await ext.open(this.bells.map((b) => b.sab));
      } catch (e) {
        this.state = 'stopped';
        await ext.close();
        throw e;
      }
    }
    this.pool = new Piscina({
      filename: new URL('./worker/group.js', import.meta.url).href,
      minThreads: n,
      maxThreads: n,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: 1,
      maxQueue: n,
      atomics: 'disabled',
      recordTiming: false,
    });
    this.pool.on('workerCreate', (w: object) => {
      this.poolWorkers.push(w);
      this.applyRef();
    });
    const peer = this.link?.peer ?? null;
    const neighbors: NeighborSpec[] = [...(this.options.neighbors ?? [])];
    if (peer !== null) {
      for (const a of peer.addrs) neighbors.push({ addr: a.split('/')[0]!, mac: formatMac(peer.mac) });
    }
    this.neighborList = neighbors.map((x) => ({
      addr: x.addr,
      mac: typeof x.mac === 'string' ? x.mac : formatMac(x.mac),
    }));
    // The peer's card, when it has one, takes its TIDs' frames from our senders before RSS.
    const peerCard = peer instanceof Stack && peer.card !== null && peer.link !== null ? peer : null;
    for (let i = 0; i < n; i++) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {});
      const slot: WorkerSlot = {
        index: i,
        alive: true,
        control: null,
        proxy: null,
        ports: [],
        task: null,
        fatal: undefined,
        ready: { resolve, reject, promise },
        counted: false,
      };
      this.slots.push(slot);
      const ctl = new MessageChannel();
      const coord = new MessageChannel();
      slot.ports.push(ctl.port1, coord.port1);
      const bell = this.bells[i]!;
      slot.proxy = Comlink.wrap<WorkerControl>(portEndpoint(ctl.port1, () => bell.signal()));
      slot.control = slot.proxy;
      Comlink.expose(
        this.coordinatorApi(),
        portEndpoint(coord.port1, () => bell.signal()),
      );
      const task: GroupTask = {
        stack: this.name,
        worker: i,
        workers: n,
        strategy: this.strategy,
        seed: this.options.seed ?? 1,
        ifname: this.model.ifname,
        mac: formatMac(this.mac),
        addrs: [...this.addrs],
        neighbors: this.neighborList,
        apps: this.apps,
        routes: [...(this.options.routes ?? [])],
        modules: [...(this.options.modules ?? [])],
        sysctl: { ...(this.options.sysctl ?? {}) },
        tunables: { ...(this.options.tunables ?? {}) },
        hostcache: this.hostcache,
        mtu: this.options.mtu ?? 1500,
        ...this.capabilitiesOf(),
        ...(this.pipe !== null ? { pipe: this.pipe } : {}),
        queue: this.tapStats === null ? undefined : this.queueOf(i, this.tapStats),
        flowControl: this.options.flowControl,
        plr: this.options.plr,
        qsizeTxq: this.options.qsizeTxq,
        bell: this.bells[i]!.sab,
        bells: this.bells.map((b) => b.sab),
        indirection: this.indirectionSab,
        lock: this.locks[i]!,
        zones: this.zonesSab,
        pfStates: this.pfStatesSab,
        queueStats: this.queueStatsSab,
        hopTx: this.hops[i]!,
        hopRx: this.hops.map((row) => row[i]!),
        ...(ext !== null
          ? {
              peerTx: [ext.tx[i]!.sab],
              peerRx: [ext.rx[i]!.sab],
              peerBells: [ext.bell.sab],
              peerIndirection: ext.oneQueue,
            }
          : {
              peerTx: this.link?.tx[i] ?? [],
              peerRx: [
                ...(this.link ? this.link.rx.map((row) => row[i]!) : []),
                ...(peerCard !== null ? [peerCard.link!.cardOut[i]!] : []),
              ],
              peerBells: peer ? peer.bells.map((b) => b.sab) : [],
              peerIndirection: peer ? peer.indirectionSab : null,
              ...(peerCard !== null
                ? {
                    peerCard: {
                      ring: peerCard.link!.cardIn[i]!,
                      bell: peerCard.card!.bell.sab,
                      tids: peerCard.card!.tids.sab,
                    },
                  }
                : {}),
            }),
        ctlPort: ctl.port2,
        coordPort: coord.port2,
        spin: spinShare(),
        ...(this.card !== null ? { toe: this.card.channel(i, n) } : {}),
      };
      workersLive(1);
      slot.counted = true;
      slot.task = this.pool.run(task, { transferList: [ctl.port2, coord.port2] as never }).then(
        (res: GroupResult) => {
          this.uncount(slot);
          if (res.error !== undefined) this.workerFailed(slot, res.error);
          else slot.alive = false;
        },
        (err: unknown) => {
          this.uncount(slot);
          this.workerFailed(slot, errorInfo(err));
        },
      );
    }
    // Starting holds the process as a pending operation does; an unref() made before
    // start() takes effect once the stack runs.
    this.hold(1);
    try {
      await Promise.all(this.slots.map((s) => s.ready.promise));
      if ((this.options.modules ?? []).includes(this.model.tom)) await this.startCard();
    } catch (e) {
      await this.stop();
      throw e;
    } finally {
      this.hold(-1);
    }
    this.state = 'running';
  }

  /** Stop every worker (apps stop, tasks resolve), destroy the pool, close the control ports. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    if (this.state === 'stopping') {
      await this.stopped;
      return;
    }
    this.state = 'stopping';
    let done!: () => void;
    this.stopped = new Promise<void>((r) => {
      done = r;
    });
    // A held group runs nothing, not even its way out.
    this.groupLocks.releaseHolds();
    await this.stopCard();
    for (const s of this.slots) {
      if (!s.alive || s.control === null) continue;
      // Fire and forget: the worker leaves its loop after answering.
      s.control.stop().catch(() => {});
      this.bells[s.index]!.signal();
    }
    const tasks = this.slots.map((s) => s.task ?? Promise.resolve());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(tasks),
      new Promise<void>((r) => {
        timer = setTimeout(r, 5000);
      }),
    ]);
    clearTimeout(timer);
    for (const s of this.slots) {
      s.alive = false;
      this.uncount(s);
      s.proxy?.[Comlink.releaseProxy]();
      for (const p of s.ports) p.close();
    }
    await this.pool?.destroy();
    this.pool = null;
    // The workers are gone: nothing reads or writes the queues any more, nor sleeps on them.
    this.queueLink?.close();
    for (const b of this.bells) {
      const fd = b.wakeFd;
      b.wakeFd = 0;
      if (fd !== 0) libc.close(fd);
    }
    await this.external?.close();
    this.state = 'stopped';
    done();
  }

  private stopped: Promise<void> = Promise.resolve();

  /* ---------------------------------------------------------------- ref / unref */

  /** The stack's own ref (node handles' default: ref'd until unref()). */
  private refd = true;
  /** Holds taken by the socket API for its ref'd sockets and servers (hold()). */
  private holds = 0;

  /**
   * Keep the process alive while the stack runs (the default), as a ref'd node handle
   * does. Returns the stack.
   */
  ref(): this {
    this.refd = true;
    this.applyRef();
    return this;
  }

  /**
   * Let the process exit while the stack runs unless something else holds it: its worker
   * threads and its control ports stop holding the event loop (the ref'd sockets and
   * servers of the socket API still do, through hold()). Returns the stack.
   */
  unref(): this {
    this.refd = false;
    this.applyRef();
    return this;
  }

  /** Whether the stack holds the process alive now (node's `hasRef()`). */
  hasRef(): boolean {
    return this.refd || this.holds > 0;
  }

  /** A ref'd socket or server of the socket API appeared (+1) or went (-1). */
  hold(delta: 1 | -1): void {
    this.holds = Math.max(0, this.holds + delta);
    this.applyRef();
  }

  private applyRef(): void {
    const on = this.hasRef();
    for (const t of this.pool?.threads ?? []) {
      if (on) t.ref();
      else t.unref();
    }
    // piscina holds each thread's task port ref'd while its task runs, and ours runs for
    // the stack's whole life; piscina 5 reaches that port only through the worker record
    // behind its public worker interface (the ref test in test/stack-ref.test.ts fails
    // if a piscina release moves it).
    for (const w of this.poolWorkers) {
      const info = poolWorkerInfo(w);
      if (on) info?.ref();
      else info?.unref();
    }
    for (const s of this.slots) {
      for (const p of s.ports) {
        if (on) p.ref();
        else p.unref();
      }
    }
  }

  /** The comlink remote of worker `w` (control.ts WorkerControl). EINVAL out of range, ESRCH when dead. */
  control(w: number): RemoteWorker {
    const s = this.slots[w];
    if (s === undefined || s.control === null) throw new SysError('EINVAL', `no worker ${w} in stack ${this.name}`);
    if (!s.alive) throw new SysError('ESRCH', `worker ${w} of stack ${this.name} is not running`);
    return s.control;
  }

  private liveSlots(): WorkerSlot[] {
    return this.slots.filter((s) => s.alive && s.control !== null);
  }

  /** Get (no value) or set a sysctl in every live worker; the values per worker (indexed by worker). */
  async sysctl(name: string, value?: number | string): Promise<(number | string | undefined)[]> {
    const out: (number | string | undefined)[] = new Array(this.workers).fill(undefined);
    await Promise.all(
      this.liveSlots().map(async (s) => {
        out[s.index] = value === undefined ? await s.control!.sysctlGet(name) : await s.control!.sysctlSet(name, value);
      }),
    );
    // The card admits by the hosts' algorithm: only once the workers took the new one.
    if (name === 'net.inet.tcp.cc.algorithm' && value !== undefined && this.card !== null)
      this.card.ccAlgorithm = String(value);
    return out;
  }

  /**
   * `route [-F fib] add|change|delete|get|show ...` (tools/route.ts): a change goes to every
   * live worker's tables and to the TOE card's copy, so an offloaded connection's next hop
   * and MTU follow the route as a host connection's do (the card's engine looks its routes
   * up per segment as the host's does); a card started later replays it. `get` answers
   * from the first live worker. Throws SysError (EINVAL before anything changes).
   */
  async route(argv: string[]): Promise<RouteResult> {
    parseRouteArgs(argv);
    const [first, ...rest] = this.liveSlots();
    if (first === undefined) throw new SysError('ESRCH', 'no live worker', 'route');
    const r = await first.control!.route(argv);
    if (r.cmd === 'get') return r;
    for (const s of rest) await s.control!.route(argv);
    this.routeChanges.push([...argv]);
    if (this.card?.alive === true) await this.card.control(this.name).route(argv);
    return r;
  }

  /** kldload in every live worker (each thread has its own linker): the file id per worker. */
  async kldload(name: string): Promise<(number | undefined)[]> {
    const out: (number | undefined)[] = new Array(this.workers).fill(undefined);
    await Promise.all(
      this.liveSlots().map(async (s) => {
        out[s.index] = await s.control!.kldload(name);
      }),
    );
    if (name === this.model.tom) await this.startCard();
    return out;
  }

  /**
   * kldunload in every live worker, or in none: when one refuses (EBUSY: a connection of
   * its uses the module), those already unloaded load it again and the refusal is thrown.
   */
  async kldunload(name: string): Promise<void> {
    // t4_tom_deactivate: EBUSY while the card holds connections.
    if (name === this.model.tom && this.card !== null && this.card.tids.inUse > 0)
      throw new SysError('EBUSY', `${this.card.tids.inUse} connection(s) offloaded to the TOE card`, 'kldunload');
    const done: WorkerSlot[] = [];
    for (const s of this.liveSlots()) {
      try {
        await s.control!.kldunload(name);
        done.push(s);
      } catch (e) {
        for (const d of done) await d.control!.kldload(name).catch(() => {});
        throw e;
      }
    }
    if (name === this.model.tom) await this.stopCard();
  }

  /* ---------------------------------------------------------------- the TOE card */

  /**
   * `ifconfig IF word...` in every live worker (tools/ifconfig.ts); `toe` / `-toe` on
   * the port (cxgbe0, cxgb0) turn offload of new connections on and off. Throws SysError.
   */
  async ifconfig(argv: string[]): Promise<void> {
    for (const s of this.liveSlots()) await s.control!.ifconfig(argv);
    if (argv[0] !== this.model.ifname) return;
    for (const w of argv.slice(1)) {
      if (this.card === null) continue;
      if (w === 'toe') this.card.toeOn = true;
      else if (w === '-toe') {
        this.card.toeOn = false;
        // Every offloaded connection goes back to its RSS group (live handoff).
        for (const r of [...this.toeReturners]) await r();
        await this.card.appsToHost(this.cardHost());
      }
    }
  }

  private readonly toeReturners = new Set<() => Promise<void>>();

  /**
   * Register what moves a socket API's offloaded connections back to the host when
   * `ifconfig cxgbe0 -toe` runs (@mcstack/api's McNet); returns its removal.
   */
  onToeOff(fn: () => Promise<void>): () => void {
    this.toeReturners.add(fn);
    return () => this.toeReturners.delete(fn);
  }

  /** Worker `w`'s halves of a live handoff: a group, or the card at index `workers`. */
  private handoffPeer(w: number): HandoffPeer {
    return w === this.workers ? this.cardControl() : this.control(w);
  }

  private handoffCard(): { card: ToeCard; host: ToeCardHost } {
    const card = this.card;
    if (card === null || !card.alive)
      throw new SysError('EOPNOTSUPP', `stack ${this.name} has no running TOE card`, 'handoff');
    return { card, host: this.cardHost() };
  }

  /**
   * Live handoff of an @mcstack/api socket's established connection (socket `sid` on
   * worker `from`'s rings) toward worker `to`, the leaving half: the export and what the
   * socket app held (toecard.ts handoffOut). Throws SysError.
   */
  async handoffOut(from: number, to: number, sid: number, t: HandoffTuple): Promise<SockHandoff> {
    const { card, host } = this.handoffCard();
    return await card.handoffOut(host, this.handoffPeer(from), from, to, sid, t);
  }

  /** The arriving half: `h` imported in worker `to` for its socket `sid` (toecard.ts handoffIn). Throws SysError. */
  async handoffIn(h: SockHandoff, from: number, to: number, sid: number, t: HandoffTuple): Promise<void> {
    const { card, host } = this.handoffCard();
    await card.handoffIn(host, this.handoffPeer(to), h, from, to, sid, t);
  }

  /**
   * Live handoff of an in-worker app's established connection `t` (laddr this stack's) to
   * the TOE card (`toCard`) or back to its app's group (docs/toe.md, "In-worker apps"):
   * the app keeps its descriptor and sees nothing. Throws SysError: EOPNOTSUPP (no card
   * running, or it does not take the connection: counted by reason), ENOENT (no such
   * connection of an in-worker app where it should be), EAGAIN (not movable yet).
   */
  async toeHandoff(t: HandoffTuple, toCard: boolean): Promise<void> {
    const { card, host } = this.handoffCard();
    if (toCard) {
      const r = this.coord.reservations.lookupConnected(ipBytes(t.laddr), t.lport, ipBytes(t.faddr), t.fport);
      if (r === undefined || r.worker >= this.workers)
        throw new SysError('ENOENT', 'no host connection of an in-worker app with that 4-tuple', 'handoff');
      await card.appToCard(host, r.worker, t);
      return;
    }
    const c = (await this.cardControl().appConns()).find(
      (x) => x.lport === t.lport && x.fport === t.fport && sameAddr(x.faddr, t.faddr) && sameAddr(x.laddr, t.laddr),
    );
    if (c === undefined)
      throw new SysError('ENOENT', 'no in-worker app connection with that 4-tuple on the card', 'handoff');
    await card.appToHost(host, c.chan, c.sid, t);
  }

  /**
   * Passive offload for in-worker apps: with `toe` on, a connection a group registered
   * (accepted by an in-worker server) goes to the card by live handoff when the card
   * admits it, retried while the group has not applied the registration (EAGAIN). The
   * socket API's own accepted connections are its business (-EBUSY: skipped).
   */
  private offloadPassives(worker: number, r: SyncRequest, reply: SyncReply): void {
    const tuples: HandoffTuple[] = [];
    const p4 = r.passives4;
    let k = 0;
    for (let i = 0; i + 3 < p4.length; i += 4, k++) {
      if (reply.passives[k] === 0) continue;
      tuples.push({ laddr: u32Addr(p4[i]!), lport: p4[i + 1]!, faddr: u32Addr(p4[i + 2]!), fport: p4[i + 3]! });
    }
    for (const p of r.passives6) if (reply.passives[k++] !== 0) tuples.push(p);
    const card = this.card;
    if (card === null) return;
    for (const t of tuples) {
      void (async () => {
        for (let tries = 0; tries < APP_OFFLOAD_TRIES && card.toeOn && card.alive; tries++) {
          await new Promise((res) => setTimeout(res, APP_OFFLOAD_RETRY_MS));
          try {
            await card.appToCard(this.cardHost(), worker, t);
            return;
          } catch (e) {
            if ((e as { code?: string }).code !== 'EAGAIN') return; // stays on the host (counted when refused)
          }
        }
      })();
    }
  }

  /** The offload admission counters (all 0 without a card). */
  get toeStats(): ToeStats {
    return this.card?.stats ?? (Object.fromEntries(TOE_STATS.map(([n]) => [n, 0])) as ToeStats);
  }

  /** The FreeBSD tools' view of every live worker (tools/snapshot.ts), and of the card while it runs. */
  async snapshots(): Promise<StackSnapshot[]> {
    const snaps = await Promise.all(this.liveSlots().map((s) => s.control!.snapshot()));
    const card = await this.card?.snapshot();
    if (card) snaps.push(card);
    return snaps;
  }

  /** The card's doorbell (its socket app's channel rings it), or null without a card. */
  get toeBell(): Doorbell | null {
    return this.card?.bell ?? null;
  }

  /**
   * Whether an active open to `faddr` goes to the card (toe on, the card running, wired
   * by Stack.join): false, counted by reason, when the card cannot take it.
   */
  toeAdmit(faddr: string, _fport: number): boolean {
    return this.card?.admit(faddr, (this.link?.cardIn.length ?? 0) > 0, this.options.capabilities ?? 0) ?? false;
  }

  /** The card's TID table (tids.ts): the 4-tuples it holds. null without a card. */
  get toeTids(): TidTable | null {
    return this.card?.tids ?? null;
  }

  /** Whether the card's worker is running (its TOM loaded, no failure). */
  get cardAlive(): boolean {
    return this.card?.alive ?? false;
  }

  /** The card's comlink remote (worker/card.ts CardControl). ESRCH when it is not running. */
  cardControl(): RemoteApi<CardControl> {
    if (this.card === null) throw new SysError('ESRCH', `stack ${this.name} has no TOE card`);
    return this.card.control(this.name);
  }

  /** The card's counters, or null when it is not running. */
  async cardCounters(): Promise<CardCounters | null> {
    return (await this.card?.counters()) ?? null;
  }

  /** Start the card's thread (t4_tom activating it), wired to Stack.join's rings. */
  private async startCard(): Promise<void> {
    const c = this.card;
    if (c === null || c.alive) return;
    const peer = this.link?.peer ?? null;
    await c.start(this.cardHost(), {
      rx: this.link?.cardIn ?? [],
      tx: this.link?.cardOut ?? [],
      peerBells: peer ? peer.bells.map((b) => b.sab) : [],
      peerIndirection: peer ? peer.indirectionSab : null,
      neighbors: this.neighborList,
      // The peer's card takes its TIDs' frames from ours before RSS, as from any sender.
      ...(peer instanceof Stack && peer.card !== null && peer.link !== null
        ? {
            peerCard: {
              ring: peer.link.cardIn[this.workers]!,
              bell: peer.card.bell.sab,
              tids: peer.card.tids.sab,
            },
          }
        : {}),
    });
  }

  /** What the card needs of this stack (toecard.ts ToeCardHost). */
  private cardHost(): ToeCardHost {
    const stack = this;
    return {
      name: this.name,
      workers: this.workers,
      strategy: this.strategy,
      mac: this.mac,
      addrs: this.addrs,
      options: this.options,
      reservations: this.coord.reservations,
      cardApps: this.cardApps,
      routes: this.options.routes ?? [],
      routeChanges: () => this.routeChanges.map((a) => [...a]),
      bells: this.bells.map((b) => b.sab),
      tupleWorker: (t) => this.tupleWorker(t),
      group: (w) => this.control(w),
      pfStates: this.pfStatesSab,
      pfRuleset: () => this.pfRuleset,
      pfEnabled: () => this.pfEnabled,
      cardFailed(err) {
        if (stack.state === 'stopping' || stack.state === 'stopped') return;
        // The in-worker apps' connections on the card are reset; host ones are untouched.
        for (const s of stack.liveSlots()) s.control!.appToeReset().catch(() => {});
        if (stack.listenerCount('worker-error') > 0) stack.emit('worker-error', err);
      },
    };
  }

  private async stopCard(): Promise<void> {
    await this.card?.stop();
  }

  /** kldstat of each live worker (indexed by worker). */
  async kldstat(): Promise<(KldStat[] | undefined)[]> {
    const out: (KldStat[] | undefined)[] = new Array(this.workers).fill(undefined);
    await Promise.all(
      this.liveSlots().map(async (s) => {
        out[s.index] = await s.control!.kldstat();
      }),
    );
    return out;
  }

  /**
   * setkey (TCP-MD5 security associations, `@mcstack/netinet/tools` parseSetkey) on every
   * live worker, so a connection finds its key on whichever worker RSS puts it. The
   * operations are tried first on a copy of the current table: a failing one (EEXIST,
   * ENOENT) changes no worker. Returns the SAs after.
   */
  async setkey(ops: SetkeyOp[]): Promise<SecAssocRecord[]> {
    const live = this.liveSlots();
    if (live.length === 0) throw new SysError('ESRCH', `stack ${this.name} has no live worker`, 'setkey');
    const trial = new KeyDb();
    const now = (await live[0]!.control!.setkey([])).map(
      (sa): SetkeyOp => ({ op: 'add', src: sa.src, dst: sa.dst, spi: sa.spi, key: sa.key }),
    );
    applySetkey(trial, [...now, ...ops]);
    let out: SecAssocRecord[] = [];
    for (const s of live) out = await s.control!.setkey(ops);
    if (this.card !== null) this.card.sas = out;
    return out;
  }

  /**
   * pf (`pfctl -f`): the ruleset into every live worker, each filtering the flows RSS gives
   * it with its own states, no lock shared on the packet path, and into the TOE card, which
   * filters the connections it terminates.
   */
  async pfLoad(rs: PfRuleset): Promise<void> {
    const live = this.pfTargets();
    if (live.length <= (this.card?.alive === true ? 1 : 0))
      throw new SysError('ESRCH', `stack ${this.name} has no live worker`, 'pfctl');
    for (const c of live) await c.pfLoad(rs);
    this.pfRuleset = rs;
  }

  /**
   * `pfctl -e` / `-d` in every live worker and the card, or in none: when one refuses
   * (EEXIST, ENOENT), those already switched are switched back and the refusal is thrown.
   */
  async pfEnable(on: boolean): Promise<void> {
    const done: PfControl[] = [];
    for (const c of this.pfTargets()) {
      try {
        await c.pfEnable(on);
        done.push(c);
      } catch (e) {
        for (const d of done) await d.pfEnable(!on).catch(() => {});
        throw e;
      }
    }
    this.pfEnabled = on;
  }

  /** Each live worker's pf report in worker order, then the card's (tools/pfctl.ts pfSum adds them up). */
  async pfReports(): Promise<PfReport[]> {
    const live = this.pfTargets();
    if (live.length <= (this.card?.alive === true ? 1 : 0))
      throw new SysError('ESRCH', `stack ${this.name} has no live worker`, 'pfctl');
    return Promise.all(live.map((c) => c.pfReport()));
  }

  /** Where pf runs: every live worker, then the TOE card while it runs. */
  private pfTargets(): PfControl[] {
    const out: PfControl[] = this.liveSlots().map((s) => s.control!);
    if (this.card?.alive === true) out.push(this.card.control(this.name));
    return out;
  }

  /** Every live worker's connections, each group's read under its lock (a group that dies meanwhile has none). */
  async netstat(): Promise<NetstatEntry[]> {
    const lists = await Promise.all(
      this.liveSlots().map((s) =>
        this.underGroupLock(s.index, () => s.control!.netstat()).catch((e: unknown) => {
          if ((e as SysError).code === 'ESRCH') return [];
          throw e;
        }),
      ),
    );
    return lists.flat();
  }

  /**
   * The worker the link delivers `tuple`'s segments to (tuple.laddr is this stack's
   * address): the RSS hash of its return tuple through the indirection table. An active
   * open from a given local port must be made there (docs/architecture.md, "Active opens
   * hash home"). EINVAL for a bad tuple.
   */
  tupleWorker(tuple: PcbTuple): number {
    return this.indirection.entries[this.indirection.bucketOf(tupleHash(this.toeplitz, parseTuple(tuple)))]!;
  }

  /**
   * in_pcblookup across groups (the change notes' lookup API): the TCP pcb of `tuple`
   * (laddr is this stack's address) in the group that owns it — the worker the RSS hash of
   * its return tuple maps to through the indirection table, as the link delivers its
   * segments — read under that group's lock. `flags` are INPLOOKUP_* (pcblookup.ts):
   * INPLOOKUP_WILDCARD falls back to the listener; with INPLOOKUP_RLOCKPCB or
   * INPLOOKUP_WLOCKPCB the lock stays held until the result's release() (the pcb cannot
   * change till then), without them it is released before this returns. null when no pcb
   * matches (nothing held). EINVAL for bad flags or a bad tuple, ESRCH when the owning
   * worker is not running. A second locked lookup in a group this thread holds waits
   * for the first one's release(), as a recursive INP_GROUP_LOCK would.
   */
  async pcblookup(tuple: PcbTuple, flags: number): Promise<PcbLookup | null> {
    const locks = lookupLocks(flags);
    const bucket = this.indirection.bucketOf(tupleHash(this.toeplitz, parseTuple(tuple)));
    for (;;) {
      const w = this.indirection.entries[bucket]!;
      const lock = await this.lockGroup(w);
      let d: PcbDescription | null;
      try {
        // The bucket moved while we waited (its group had no connection in it then): go to the new owner.
        if (this.indirection.entries[bucket] !== w) {
          lock.unlock();
          continue;
        }
        d = await this.slots[w]!.control!.pcblookup(
          { faddr: tuple.faddr, fport: tuple.fport, laddr: tuple.laddr, lport: tuple.lport },
          flags,
        );
      } catch (e) {
        lock.unlock();
        throw e;
      }
      if (d === null || !locks) {
        lock.unlock();
        return d === null ? null : { ...d, locked: false, release: () => {} };
      }
      return { ...d, locked: true, release: this.groupLocks.hold(lock) };
    }
  }

  /** Take group `w`'s lock (grouplocks.ts). ESRCH when the worker is not running or ends first. */
  private lockGroup(w: number): Promise<GroupLock> {
    const s = this.slots[w];
    if (s === undefined || !s.alive || s.control === null || s.task === null) {
      return Promise.reject(new SysError('ESRCH', `worker ${w} of stack ${this.name} is not running`, 'lock'));
    }
    return this.groupLocks.lock(w, s.task, () => s.alive, `worker ${w} of stack ${this.name}`);
  }

  private async underGroupLock<T>(w: number, fn: () => Promise<T>): Promise<T> {
    const lock = await this.lockGroup(w);
    try {
      return await fn();
    } finally {
      lock.unlock();
    }
  }

  /** Counters of every live worker, summed (DPCPU-style), plus the per-worker records. */
  async stats(): Promise<StackStats> {
    const workers = await Promise.all(this.liveSlots().map((s) => s.control!.counters()));
    const total: Record<string, number> = {};
    const tcpstat: Record<string, number> = {};
    const ipstat: Record<string, number> = {};
    const ip6stat: Record<string, number> = {};
    const apps: Record<string, Record<string, number>> = {};
    for (const w of workers) {
      for (const [k, v] of Object.entries(w))
        if (typeof v === 'number' && k !== 'worker') total[k] = (total[k] ?? 0) + v;
      addInto(tcpstat, w.tcpstat);
      addInto(ipstat, w.ipstat);
      addInto(ip6stat, w.ip6stat);
      for (const [name, st] of Object.entries(w.apps)) addInto((apps[name] ??= {}), st);
    }
    const out: StackStats = { workers, total, tcpstat, ipstat, ip6stat, apps };
    if (this.external !== null) out.link = this.external.stats;
    if (this.queueLink !== null && this.tapStats !== null) out.tap = queueStats(this.tapStats);
    return out;
  }

  /**
   * The per-worker TAP: one native queue per worker, or, where the native layer cannot be
   * loaded (no koffi binary, not Linux), socat's single queue, saying so in linkPath.
   */
  private async openQueues(): Promise<void> {
    const l0 = this.options.links![0]!;
    if (l0.type === 'af_packet') {
      const link = await AfPacketLink.open({ ifname: l0.ifname, netns: l0.netns, queues: this.workers });
      const mtu = this.options.mtu ?? 1500;
      if (mtu > link.mtu) {
        link.close();
        throw new SysError('EINVAL', `mtu ${mtu} is larger than ${l0.ifname}'s ${link.mtu}`, 'af_packet');
      }
      this.afpacket = link;
      // The fanout group picks each frame's worker by this table (links/rssfanout.ts).
      link.steer(this.indirection.entries);
      this.linkPath = { path: 'native' };
      return;
    }
    const spec = l0 as Extract<LinkSpec, { type: 'tap' }>;
    const mtu = this.options.mtu ?? 1500;
    try {
      this.tapmq = await TapMqLink.open({
        name: spec.name,
        queues: this.workers,
        mtu,
        netns: spec.netns,
        addrs: spec.addrs,
      });
      this.linkPath = { path: 'native' };
    } catch (e) {
      if (!(e instanceof NativeUnavailableError)) throw e;
      this.linkPath = { path: 'socat', reason: e.message };
      this.external = new ExternalLink(
        { ...spec, queues: 'single' },
        this.indirection,
        mtu,
        this.options.ringSlots ?? LINK_RING_SLOTS,
      );
    }
  }

  /**
   * Re-point RSS buckets at run time (`[bucket, worker]` pairs). Refused with EBUSY while a
   * moved bucket holds live connections in its current group (a connection cannot follow
   * its bucket yet: export/import is the later step); EINVAL on bad pairs. Returns the
   * changes that took effect. Calls run one after another, each against the table the
   * last one left.
   */
  setIndirection(pairs: ReadonlyArray<readonly [number, number]>): Promise<IndirectionChange[]> {
    const run = this.indirectionQueue.then(() => this.changeIndirection(pairs));
    this.indirectionQueue = run.catch(() => {});
    return run;
  }

  /**
   * The losing groups' locks are held (in group order) from the live-connection check to
   * the change, so no segment of a moved bucket is processed in between: a connection
   * made before the check is counted, and a segment that arrives during the hold waits in
   * the ring and, the table changed, hops to the new owner. (A handshake still in
   * the old group's syncache is not counted: its ACK will find the new owner without it.)
   */
  private async changeIndirection(pairs: ReadonlyArray<readonly [number, number]>): Promise<IndirectionChange[]> {
    const changes = this.coord.indirectionChanges(pairs, (w) => this.slots.length === 0 || this.alive(w));
    const byFrom = new Map<number, number[]>();
    for (const c of changes) (byFrom.get(c.from) ?? byFrom.set(c.from, []).get(c.from)!).push(c.bucket);
    const held: GroupLock[] = [];
    try {
      for (const from of [...byFrom.keys()].sort((x, y) => x - y)) {
        const s = this.slots[from];
        if (s === undefined || !s.alive || s.control === null) continue;
        held.push(await this.lockGroup(from));
        const buckets = byFrom.get(from)!;
        const live = await s.control.liveInBuckets(buckets);
        if (live > 0)
          throw new SysError(
            'EBUSY',
            `${live} live connection(s) in bucket(s) ${buckets.join(',')} of worker ${from}`,
            'setIndirection',
          );
      }
      for (const c of changes)
        if (this.slots.length > 0 && !this.alive(c.to))
          throw new SysError('ESRCH', `worker ${c.to} is not running`, 'setIndirection');
      this.coord.applyIndirection(changes);
      this.afpacket?.steer(this.indirection.entries);
      return changes;
    } finally {
      for (const l of held) l.unlock();
    }
  }

  /* ---------------------------------------------------------------- coordinator */

  private coordinatorApi(): CoordinatorApi {
    return {
      sync: (worker, r) => {
        const reply = this.coord.sync(worker, r, this.alive(worker));
        if (this.card?.toeOn === true && this.card.alive) this.offloadPassives(worker, r, reply);
        return reply;
      },
      listen: (worker, family, port, owner) => this.coord.reserveListen(worker, family, port, owner),
      unlisten: (worker, family, port) => this.coord.releaseListen(worker, family, port),
      udpBind: (worker, family, port, owner) => this.coord.reserveUdp(worker, family, port, owner),
      udpUnbind: (worker, family, port) => this.coord.releaseUdp(worker, family, port),
      ready: (worker, error) => {
        const s = this.slots[worker]!;
        if (error) s.ready.reject(rebuildError(error, worker));
        else s.ready.resolve();
      },
      fatal: (worker, error) => {
        this.slots[worker]!.fatal = error;
      },
      toeAdmit: (faddr, fport) => this.toeAdmit(faddr, fport),
    };
  }

  /** The slot's thread no longer competes for a core (cpushare.ts). */
  private uncount(slot: WorkerSlot): void {
    if (!slot.counted) return;
    slot.counted = false;
    workersLive(-1);
  }

  /** A worker's task rejected (it threw) or its thread died. */
  private workerFailed(slot: WorkerSlot, err: ErrorInfo): void {
    const wasAlive = slot.alive;
    slot.alive = false;
    const info: ErrorInfo = slot.fatal ?? err;
    const error = rebuildError(info, slot.index);
    slot.ready.reject(error);
    // If it died holding the pipe's lock, a worker waiting on it takes it over (even while
    // stopping: the others still flush through the pipe).
    if (this.pipe !== null) pipeWorkerGone(this.pipe, slot.index);
    if (!wasAlive || this.state === 'stopping' || this.state === 'stopped') return;
    // Its pf states died with it: they no longer count against the stack's limit.
    pfSharedRelease(this.pfStatesSab, slot.index);
    // Its buckets go to the live workers and its reservations are freed.
    this.coord.workerGone(
      slot.index,
      this.slots.filter((s) => s.alive).map((s) => s.index),
    );
    this.afpacket?.steer(this.indirection.entries);
    for (const p of slot.ports) p.close();
    if (this.listenerCount('worker-error') > 0) this.emit('worker-error', error);
  }
}

function addInto(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) if (typeof v === 'number') into[k] = (into[k] ?? 0) + v;
}

function normalizeApp(a: AppSpec): AppSpec {
  // The app's FIB: a number here, below net.fibs where the worker opens its sockets (EINVAL).
  if (a.fib !== undefined && !(Number.isInteger(a.fib) && a.fib >= 0))
    throw new SysError('EINVAL', `an app's fib is a FIB number, not ${String(a.fib)}`);
  const fib = a.fib ?? 0;
  if (a.options !== undefined && (typeof a.options !== 'object' || a.options === null || Array.isArray(a.options)))
    throw new SysError('EINVAL', "an app's options are an object of option: value");
  if ('module' in a) {
    if (typeof a.module !== 'string') throw new SysError('EINVAL', 'an app module is a URL string');
    return { module: a.module, export: a.export, name: a.name, port: a.port, options: a.options ?? {}, fib };
  }
  if (typeof a.name !== 'string') throw new SysError('EINVAL', 'an app needs a name or a module');
  // A registry app's options are checked here, where the spec is written (apps/options.ts).
  checkAppSpec(a.name, a.options ?? {});
  return { name: a.name, port: a.port, options: a.options ?? {}, fib };
}
