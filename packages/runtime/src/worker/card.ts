/**
 * The TOE card's processor: a piscina task that IS the card for as long as its TOM
 * (t4_tom on a T4's cxgbe0, t3_tom on a T3's cxgb0: cardmodel.ts) is loaded in the stack.
 * It runs the same protocol engine as a group worker, on its own clock, with the card's
 * limits: a TID table of `ntids` entries (tids.ts, shared with the link's senders, which
 * hand it its TIDs' frames before RSS) and `memory` bytes for the socket buffers of the
 * connections it holds (dev.t4nex.0.toe.* on a T4, dev.cxgbc.0.toe.* on a T3). It keeps
 * its own copy of the host's routes (the static ones and the changes made before it
 * started, then every `route` change: CardControl.route), as its connections must follow
 * the host's routing (toecore.c's toedev callbacks take the host's routes).
 *
 * Loop: advance the engine's clock → drain the card's RX rings (one from each peer
 * worker: only frames of its TIDs, and the frames every queue gets) → frames the engine
 * outputs go to the peer through the peer's RSS like any sender's → publish → sleep on the
 * doorbell when idle. A failure (a throw, debug.kdb.panic) ends the task with the error's
 * code; the Stack reports it as 'worker-error' and takes the card's TIDs away, so its
 * connections' segments reach host groups that hold no pcb for them and are reset.
 * Never imports the pool.
 */
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import {
  Engine,
  ERRNO,
  SysError,
  TCPS_TIME_WAIT,
  splitLoaderTunables,
  newFrameMeta,
  IFCAP_TOE,
  TF_TOE,
  type Ifnet,
  type PfReport,
  type PfRuleset,
  type Tcpcb,
} from '@mcstack/netinet';
import { snapshot, applyRoute, parseRouteArgs, type StackSnapshot, type RouteResult } from '@mcstack/netinet/tools';
import { threadCpuNs } from '../threadcpu.js';
import { FrameRing, RingConsumer, META_WORDS, META_LEN } from '../ring.js';
import { type LinkTx, peerLinkTx, type CardPort } from '../linkmatrix.js';
import { Doorbell } from '../doorbell.js';
import { portEndpoint } from '../endpoint.js';
import { errorInfo, errnoOf } from '../errinfo.js';
import { installErrorCodes, type ErrorInfo, type Strategy } from '../control.js';
import { TidTable, TOE_STATS } from '../tids.js';
import { attachPort, rxSlotMeta } from './port.js';
import { SockApp } from './sockapp.js';
import type { GroupApp, AppContext } from '../apps/app.js';
import type { SockHandoff } from '../sockrec.js';
import { handoffIn, handoffOut, type HandoffOwner } from './handoff.js';
import { GroupApps } from './appctx.js';
import { cardConnect, cardReservations } from './cardapps.js';
import { installRoutes } from './routes.js';
import type { AppSpec, RouteSpec } from '../control.js';
import { CardRdma, type CardRdmaApi } from './rdma.js';

installErrorCodes(Comlink.transferHandlers as Map<string, unknown>);

/** The card's task (SharedArrayBuffers shared, the control port transferred). */
export interface CardTask {
  stack: string;
  /** The card's index in 'worker-error' reports: the stack's worker count. */
  index: number;
  seed: number;
  /** The card's port (cxgbe0, cxgb0) and the sysctl prefix of its offload counters (cardmodel.ts). */
  ifname: string;
  toeSysctl: string;
  mac: string;
  addrs: string[];
  neighbors: { addr: string; mac: string }[];
  /**
   * The host's routes: the stack's static ones, then each `route` change (argv) made on
   * the host before the card started; later ones come through CardControl.route.
   */
  routes: RouteSpec[];
  routeChanges: string[][];
  mtu: number;
  capabilities: number;
  capenable: number;
  /** The TOM the card runs (t4_tom, t3_tom). */
  tom: string;
  /** The card's socket-buffer memory (bytes). */
  memory: number;
  tids: SharedArrayBuffer;
  bell: SharedArrayBuffer;
  /** Rings from each peer worker to the card, and from the card to each peer worker. */
  rx: SharedArrayBuffer[];
  tx: SharedArrayBuffer[];
  peerBells: SharedArrayBuffer[];
  peerIndirection: SharedArrayBuffer | null;
  /** The peer's card, when it has one: its TIDs' frames go there before RSS. */
  peerCard?: CardPort;
  strategy: Strategy;
  ctlPort: MessagePort;
  /** The coordinator's side for the card (CardCoordinatorApi), its active opens' reservations. */
  coordPort: MessagePort;
  /** The stack's sysctls and loader tunables, as its group workers get them. */
  sysctl: Record<string, number | string>;
  tunables: Record<string, number | string>;
  modules: string[];
  /** Applications the card runs itself (StackOptions.toe.apps; cardapps.ts). */
  apps: AppSpec[];
  /** pf's state count (netinet Pf.shareStates): the card's slot is `index`. */
  pfStates: SharedArrayBuffer;
  /** The ruleset `pfctl -f` last loaded, or null; and whether pf is on (`pfctl -e`). */
  pfRuleset: PfRuleset | null;
  pfEnabled: boolean;
  /** The socket app's options (@mcstack/api's rings) when the stack has one: the card serves index `index`. */
  sockapp?: Record<string, unknown>;
  /**
   * The rings to and from each group worker of this stack (index = worker) and the groups'
   * doorbells: the card's socket app for the in-worker apps' offloaded connections
   * (worker/toeproxy.ts is the groups' half).
   */
  groups?: { down: SharedArrayBuffer[]; up: SharedArrayBuffer[]; bells: SharedArrayBuffer[] };
  /** Loss on the wire for the card's frames (StackOptions.plr). */
  plr?: number;
}

/** A 4-tuple the coordinator reserved for one of the card's connections (laddr is this stack's). */
export interface CardTuple {
  id: number;
  laddr: string;
  lport: number;
  faddr: string;
  fport: number;
}

/** What the card asks of the coordinator (Stack): a 4-tuple with a TID for an active open, and its release. */
export interface CardCoordinatorApi {
  /**
   * Reserve a local port to `faddr:fport` and the card's TID for it; ENOBUFS when no TID
   * is free. With `admit` (the card's own apps) the open is first admitted as any offload
   * (EOPNOTSUPP, counted by reason, when the card cannot take it). With `chan` (an in-worker
   * app's open from group `chan`) the return 4-tuple hashes to that group, so the connection
   * can come back to the app's group.
   */
  toeConnect(faddr: string, fport: number, admit?: boolean, chan?: number): CardTuple;
  /** The connection is gone from the card: its TID and reservation are freed. */
  toeRelease(id: number): void;
  /** A listening port for the card alone (a server TID, tids.ts insertListen): its reservation id. */
  toeListen(laddr: string, lport: number): number;
  /**
   * A connection the card accepted on one of its listens: its own reservation and TID (and
   * card memory), released like an active open's (toeRelease). ENOBUFS when the card is full.
   */
  toeAccepted(laddr: string, lport: number, faddr: string, fport: number): number;
  toeUnlisten(id: number): void;
}

/** An in-worker app's connection on the card: its group (`chan`), id on that group's rings and 4-tuple. */
export interface CardAppConn extends CardTuple {
  chan: number;
  sid: number;
}

export interface CardResult {
  error?: ErrorInfo;
}

/** The card's counters (dev.t4nex.0.toe.* and the loop's). */
export interface CardCounters {
  /** The card's own apps' counters (StackOptions.toe.apps), by app name. */
  apps: Record<string, Record<string, number>>;
  rxFrames: number;
  txFrames: number;
  txDrops: number;
  cpuUs: number;
  tidsInUse: number;
  ntids: number;
  memory: number;
  memInUse: number;
  tcpstat: Record<string, number>;
}

/** The card's comlink API (runs in the card's thread between turns of its loop); rdma* is its RDMA device (rdma.ts). */
export interface CardControl extends CardRdmaApi {
  sysctlGet(name: string): number | string;
  sysctlSet(name: string, value: number | string): number | string;
  counters(): CardCounters;
  snapshot(): StackSnapshot;
  /** `route ...` (tools/route.ts) on the card's copy of the host's routes; SysError. */
  route(argv: string[]): RouteResult;
  /**
   * Live handoff (worker/handoff.ts): socket `sid`'s connection leaves the card; SysError.
   * `chan`: the id is on group `chan`'s rings (an in-worker app's), else @mcstack/api's.
   */
  sockHandoffOut(sid: number, chan?: number): SockHandoff;
  /** A connection arrives on the card (TF_TOE) under reservation `id` for socket `sid`; SysError. */
  sockHandoffIn(h: SockHandoff, sid: number, id: number, chan?: number): void;
  /** The in-worker apps' connections the card holds that may move now. */
  appConns(): CardAppConn[];
  /** `pfctl -f`, `-e`/`-d` (SysError EEXIST, ENOENT) and `-s` on the card's pf, as on a group's. */
  pfLoad(rs: PfRuleset): void;
  pfEnable(on: boolean): void;
  pfReport(): PfReport;
  stop(): void;
}

/** The tcpcb of descriptor `fd`, or null. */
function tcbOf(e: Engine, fd: number): Tcpcb | null {
  return (e.sockets.lookup(fd)?.so_pcb as { inp_ppcb?: Tcpcb | null } | null | undefined)?.inp_ppcb ?? null;
}

const RX_BATCH = 64;
const SLICE_MS = 4;
const MAX_SLEEP_MS = 20;
const IDLE_SPINS = 32;

export default async function card(task: CardTask): Promise<CardResult> {
  let c: Card;
  try {
    c = new Card(task);
  } catch (e) {
    task.ctlPort.close();
    task.coordPort.close();
    return { error: errorInfo(e) };
  }
  try {
    await c.setup();
  } catch (e) {
    task.ctlPort.close();
    task.coordPort.close();
    return { error: errorInfo(e) };
  }
  const error = await c.run();
  task.ctlPort.close();
  task.coordPort.close();
  return error === undefined ? {} : { error };
}

class Card {
  readonly engine: Engine;
  readonly cx: Ifnet;
  private readonly t: CardTask;
  private readonly bell: Doorbell;
  private readonly tids: TidTable;
  private readonly rx: RingConsumer[];
  /** Per RX ring and slot: the last frame view handed to the engine. */
  private readonly rxViews: Uint8Array[][];
  private readonly tx: LinkTx;
  private readonly meta = newFrameMeta();
  private rxFrames = 0;
  private readonly coord: Comlink.Remote<CardCoordinatorApi>;
  /** The socket app (main-thread sockets served by the card), when the stack has one. */
  private readonly app: GroupApp | null = null;
  /** The card's own apps (cardapps.ts), when it runs any. */
  private readonly apps: GroupApps | null = null;
  /** A socket app per group worker: its in-worker apps' offloaded connections (toeproxy.ts). */
  private readonly chanApps: SockApp[] = [];
  private readonly groupBells: Doorbell[] = [];
  /** The rings up to each group (index = group): what it has not read yet says whether to wake it. */
  private readonly groupUp: FrameRing[] = [];
  private readonly handlers = new Map<number, (fd: number, events: number) => void>();
  /** The card's connections by tcpcb, with their reservations: released once the tcpcb is gone. */
  private readonly held = new Map<Tcpcb, { id: number; gen: number }>();
  private lastReap = 0;
  private stopping = false;
  private panic = 0;
  /** The card's RDMA device (iw_cxgbe), over its own connections. */
  private readonly rdma: CardRdma;

  constructor(t: CardTask) {
    this.t = t;
    this.bell = new Doorbell(t.bell);
    this.tids = TidTable.attach(t.tids);
    const { tunables, sysctls } = splitLoaderTunables(t.sysctl);
    const e = new Engine({
      seed: (t.seed * 7919 + 0xca4d) >>> 0,
      now: performance.now() * 1000,
      tunables: { ...t.tunables, ...tunables },
    });
    this.engine = e;
    this.cx = attachPort(e, t);
    // The card is its TOM's offload engine: the module is loaded and its port offloads.
    const id = e.kldload(t.tom);
    if (id < 0) throw SysError.fromErrno(id, `kldload ${t.tom}`);
    const r = this.cx.setCapenable(this.cx.capenable | (this.cx.capabilities & IFCAP_TOE));
    if (r < 0) throw SysError.fromErrno(r, `ifconfig ${t.ifname} toe`);
    this.rx = t.rx.map((sab) => new RingConsumer(FrameRing.attach(sab)));
    this.rxViews = this.rx.map((c) => c.ring.views.map((v) => v));
    this.tx = peerLinkTx(t.tx, t, (t.seed * 2654435761 + 0xca4d) >>> 0);
    const cx = this.cx;
    const tx = this.tx;
    // A frame the card's link refuses (its ring to the receiver full: no transmit queue
    // here) is ENOBUFS to the card's TCP, as the groups' link returns it: tcp_output
    // backs the segment out instead of losing it (tcp_output.c's ENOBUFS case).
    e.output = (ifp, frame, meta) => (ifp === cx ? tx.send(frame, meta) : 0);
    this.sysctls();
    for (const m of t.modules) {
      const r = e.kldload(m);
      if (r < 0 && r !== -ERRNO.EEXIST) throw SysError.fromErrno(r, `kldload ${m}`);
    }
    for (const [k, v] of Object.entries(sysctls)) e.sysctl.set(k, v);
    installRoutes(e, t.routes);
    // The card filters the connections it terminates with the host's ruleset, and their
    // states (made here or moved in with a connection) count in the stack's one limit.
    e.pf.shareStates(t.pfStates, t.index);
    if (t.pfRuleset !== null) e.pf.load(t.pfRuleset);
    if (t.pfEnabled) e.pf.start();
    for (const argv of t.routeChanges) applyRoute(e, parseRouteArgs(argv));
    this.coord = Comlink.wrap<CardCoordinatorApi>(portEndpoint(t.coordPort));
    const handlers = this.handlers;
    if (t.apps.length > 0) {
      const addrs = t.addrs.map((a) => a.split('/')[0]!);
      this.apps = new GroupApps(
        e,
        0,
        1,
        addrs,
        cardReservations(e, (a, p, admit, setup) => this.open(a, p, admit, setup)),
      );
    }
    // The socket app's handlers first; the card's own apps (GroupApps) keep theirs.
    const appsUpcall = e.sockets.upcall;
    e.upcall = (fd, events) => {
      const h = handlers.get(fd);
      if (h !== undefined) h(fd, events);
      else appsUpcall?.(fd, events);
    };
    if (t.sockapp !== undefined) this.app = new SockApp(); // its rings come with the task, not as app options
    if (t.groups !== undefined) {
      for (let g = 0; g < t.groups.down.length; g++) this.chanApps.push(new SockApp());
      for (const b of t.groups.bells) this.groupBells.push(new Doorbell(b));
      for (const up of t.groups.up) this.groupUp.push(FrameRing.attach(up));
    }
    this.rdma = new CardRdma(e, this.coord, (tp, id) => this.hold(tp, id));
    Comlink.expose(this.control(), portEndpoint(t.ctlPort));
  }

  /** Start the socket app and the card's own apps, if any (before the loop). */
  async setup(): Promise<void> {
    await this.app?.start(this.appContext(null));
    for (let g = 0; g < this.chanApps.length; g++) await this.chanApps[g]!.start(this.appContext(g));
    await this.apps?.start(this.t.apps);
  }

  /**
   * An active open on the card: the coordinator reserves the 4-tuple and the TID (and with
   * `admit` first admits it as an offload), then the card binds it, marks it TF_TOE and
   * connects. `chan`: the in-worker app's group the connection must be able to return to.
   * The fd (connect in progress) or -errno.
   */
  private async open(
    addr: string,
    port: number,
    admit: boolean,
    setup?: (fd: number) => number,
    chan?: number,
  ): Promise<number> {
    const e = this.engine;
    let r: CardTuple;
    try {
      r = await this.coord.toeConnect(addr, port, admit, chan);
    } catch (err) {
      return -errnoOf(err, ERRNO.ENOBUFS);
    }
    e.advance(performance.now() * 1000);
    const fd = e.socket(addr.includes(':') ? 'inet6' : 'inet', 'stream');
    let err = fd < 0 ? fd : (setup?.(fd) ?? 0);
    if (err >= 0) err = e.bind(fd, { addr: r.laddr, port: r.lport });
    const so = fd >= 0 ? e.sockets.lookup(fd) : undefined;
    const tp = (so?.so_pcb as { inp_ppcb?: Tcpcb | null } | null | undefined)?.inp_ppcb ?? null;
    if (err >= 0 && tp !== null) {
      // The card terminates this connection: the host's tools show it as offloaded.
      tp.t_flags |= TF_TOE;
      this.hold(tp, r.id);
      err = e.connect(fd, { addr, port });
      if (err === -ERRNO.EINPROGRESS) err = 0;
    }
    if (err < 0) {
      if (tp !== null) this.held.delete(tp);
      if (fd >= 0) e.close(fd);
      this.coord.toeRelease(r.id).catch(() => {});
      return err;
    }
    return fd;
  }

  /**
   * A socket app's context on the card: active opens get a TID from the coordinator; no
   * listens. `chan`: group `chan`'s channel (its rings are index `chan` of `groups`).
   */
  private appContext(chan: number | null): AppContext {
    const e = this.engine;
    const t = this.t;
    return {
      engine: e,
      worker: chan ?? t.index,
      workers: t.index,
      options: chan === null ? (t.sockapp ?? {}) : (t.groups as unknown as Record<string, unknown>),
      port: undefined,
      addrs: t.addrs.map((a) => a.split('/')[0]!),
      // The socket API (Stack.toeAdmit) or the app's group admitted it; it keeps its FIB.
      connect: (addr, port, lport = 0, fib = 0) =>
        cardConnect(
          e,
          (a, p, admit, setup) => this.open(a, p, admit, setup, chan ?? undefined),
          addr,
          port,
          lport,
          fib,
          false,
        ),
      listen: () => Promise.reject(new SysError('EOPNOTSUPP', 'the card takes no listens yet', 'listen')),
      unlisten: () => {},
      // UDP stays on the host: the TOE terminates TCP only.
      udpReserve: () => Promise.reject(new SysError('EOPNOTSUPP', 'the card terminates TCP only', 'bind')),
      udpRelease: async () => {},
      watch: (fd, handler) => {
        if (handler === null) this.handlers.delete(fd);
        else this.handlers.set(fd, handler);
      },
    };
  }

  /**
   * Free the TIDs and reservations of connections whose tcpcb is gone (closed, reset) or
   * in TIME_WAIT: the card gives a connection's TID back when it reaches TIME_WAIT, as
   * t4_tom's do_peer_close does before tcp_twstart.
   */
  private reap(nowMs: number): void {
    if (this.held.size === 0 || nowMs - this.lastReap < 20) return;
    this.lastReap = nowMs;
    const tcbs = this.engine.tcp.tcbs;
    for (const [tp, h] of this.held) {
      if (tcbs.has(tp) && tp.inp.inp_gencnt === h.gen && tp.t_state !== TCPS_TIME_WAIT) continue;
      this.held.delete(tp);
      this.coord.toeRelease(h.id).catch(() => {});
    }
  }

  /**
   * `tp` holds reservation `id`. The engine reuses a freed tcpcb for a later connection,
   * so an entry is the connection's by its pcb's generation (inp_gencnt): one whose tcpcb
   * now serves another connection is released first, never overwritten.
   */
  private hold(tp: Tcpcb, id: number): void {
    const old = this.held.get(tp);
    if (old !== undefined && old.gen !== tp.inp.inp_gencnt) this.coord.toeRelease(old.id).catch(() => {});
    this.held.set(tp, { id, gen: tp.inp.inp_gencnt });
  }

  /**
   * The card's counters under its nexus's tree (cxgbe(4)'s dev.t4nex.0, cxgb(4)'s
   * dev.cxgbc.0), read-only but the panic drill.
   */
  private sysctls(): void {
    const s = this.engine.sysctl;
    const p = this.t.toeSysctl;
    const ro = (name: string, description: string, get: () => number) =>
      s.add({ name: `${p}.${name}`, kind: 'int', readonly: true, description, get });
    ro('ntids', 'TIDs the card has for offloaded connections', () => this.tids.ntids);
    ro('tids_in_use', 'TIDs in use (offloaded connections)', () => this.tids.inUse);
    ro('memory', 'card memory for socket buffers (bytes)', () => this.t.memory);
    ro('mem_in_use', 'card memory reserved for the offloaded connections (bytes)', () => this.tids.memInUse);
    for (const [name, description] of TOE_STATS) ro(name, description, () => this.tids.stat(name));
    s.int('debug.kdb.panic', this as unknown as { panic: number }, 'panic', 'Set to panic the card (failure drills)', {
      min: 0,
      max: 1,
    });
  }

  /** The card as a handoff owner: its connections' reservations are the `held` map's. */
  private handoffOwner(chan: number | null): HandoffOwner {
    let arriving = 0;
    return {
      engine: this.engine,
      apps: () => {
        const a = chan === null ? this.app : this.chanApps[chan];
        return a == null ? [] : [a];
      },
      leave: (inp) => {
        const tp = inp.inp_ppcb as Tcpcb | null;
        const h = tp === null ? undefined : this.held.get(tp);
        if (tp === null || h === undefined) return 0;
        this.held.delete(tp);
        return h.id;
      },
      stay: (inp, id) => {
        if (inp.inp_ppcb !== null) this.hold(inp.inp_ppcb as Tcpcb, id);
      },
      arrive: (id) => {
        arriving = id;
      },
      arrived: (fd) => {
        const tp = fd >= 0 ? tcbOf(this.engine, fd) : null;
        if (tp !== null) this.hold(tp, arriving);
        arriving = 0;
      },
      importOptions: { toe: true },
      drain: () => {
        const now = performance.now() * 1000;
        while (this.drain(now) > 0);
      },
    };
  }

  /** The card's own apps' counters by name, summed over apps of one name (as Stack.stats sums workers'). */
  private appStats(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const { name, app } of this.apps?.list ?? []) {
      const into = (out[name] ??= {});
      for (const [k, v] of Object.entries(app.stats())) into[k] = (into[k] ?? 0) + v;
    }
    return out;
  }

  private control(): CardControl {
    const e = this.engine;
    const owners = new Map<number | null, HandoffOwner>();
    const owner = (chan: number | undefined) => {
      const k = chan ?? null;
      let o = owners.get(k);
      if (o === undefined) {
        o = this.handoffOwner(k);
        owners.set(k, o);
      }
      return o;
    };
    return {
      ...this.rdma.api(),
      sockHandoffOut: (sid, chan) => handoffOut(owner(chan), sid),
      sockHandoffIn: (h, sid, id, chan) => handoffIn(owner(chan), h, sid, id),
      pfLoad: (rs) => e.pf.load(rs),
      pfEnable: (on) => {
        const r = on ? e.pf.start() : e.pf.stop();
        if (r < 0) throw SysError.fromErrno(r, 'pfctl');
      },
      pfReport: () => e.pf.report(),
      route: (argv) => applyRoute(e, parseRouteArgs(argv)),
      appConns: () => {
        const out: CardAppConn[] = [];
        this.chanApps.forEach((a, chan) => {
          for (const [sid, fd] of a.movable()) {
            const l = e.getsockname(fd);
            const f = e.getpeername(fd);
            const tp = tcbOf(e, fd);
            const id = tp === null ? undefined : this.held.get(tp)?.id;
            if (typeof l === 'number' || typeof f === 'number' || id === undefined) continue;
            out.push({ chan, sid, id, laddr: l.addr, lport: l.port, faddr: f.addr, fport: f.port });
          }
        });
        return out;
      },
      sysctlGet: (name) => e.sysctl.get(name),
      sysctlSet: (name, value) => e.sysctl.set(name, value),
      counters: () => ({
        apps: this.appStats(),
        rxFrames: this.rxFrames,
        txFrames: this.tx.frames,
        txDrops: this.tx.drops,
        cpuUs: Math.round((threadCpuNs() || 0) / 1000),
        tidsInUse: this.tids.inUse,
        ntids: this.tids.ntids,
        memory: this.t.memory,
        memInUse: this.tids.memInUse,
        tcpstat: Object.fromEntries(Object.entries(e.tcp.stat).filter(([, v]) => typeof v === 'number')) as Record<
          string,
          number
        >,
      }),
      snapshot: () => {
        const app = (fd: number) => {
          if (!this.handlers.has(fd)) return this.apps?.fdApp.get(fd);
          for (const a of this.chanApps) {
            const name = a.appOf(fd);
            if (name !== 'sockapp') return name;
          }
          return 'sockapp';
        };
        const snap = snapshot(e, { worker: 'toe', app });
        snap.counters.toestat = Object.fromEntries(TOE_STATS.map(([n]) => [n, this.tids.stat(n)]));
        return snap;
      },
      stop: () => {
        this.stopping = true;
        this.bell.signal();
      },
    };
  }

  /** Drain every RX ring once into the engine. */
  private drain(now: number): number {
    const e = this.engine;
    const m = this.meta;
    let total = 0;
    for (let r = 0; r < this.rx.length; r++) {
      const c = this.rx[r]!;
      const n = c.peek(RX_BATCH);
      if (n === 0) continue;
      const ring = c.ring;
      const meta = ring.meta;
      const views = this.rxViews[r]!;
      for (let k = 0; k < n; k++) {
        const s = c.slot(k);
        const len = meta[s * META_WORDS + META_LEN]!;
        let v = views[s]!;
        if (v.length !== len) {
          // A view per slot, made again only when the length changes: no allocation per frame.
          v = ring.views[s]!.subarray(0, len);
          views[s] = v;
        }
        rxSlotMeta(m, meta, s, this.cx, v);
        e.inputQueued(this.cx, v, now, m);
      }
      c.release(n);
      total += n;
    }
    this.rxFrames += total;
    return total;
  }

  private readonly anyReady = (): boolean => {
    for (const c of this.rx) if (c.peek(1) > 0) return true;
    for (const { app } of this.apps?.list ?? []) if (app.ready?.() === true) return true;
    for (const a of this.chanApps) if (a.ready()) return true;
    return this.app?.ready?.() === true || this.rdma.ready();
  };

  async run(): Promise<ErrorInfo | undefined> {
    const e = this.engine;
    let idle = 0;
    try {
      while (!this.stopping) {
        const sliceEnd = performance.now() + SLICE_MS;
        for (;;) {
          if (this.panic !== 0) throw new SysError('MCSTACK_PANIC', `the TOE card of ${this.t.stack}: debug.kdb.panic`);
          const now = performance.now() * 1000;
          // Frames that queued while this thread was off the CPU before the callouts that fell
          // due meanwhile, as in the group workers (Engine.inputQueued).
          e.setClock(now);
          let work = this.drain(now);
          e.advance(now);
          if (this.app?.poll(now) === true) work++;
          const apps = this.apps?.list;
          if (apps !== undefined) for (let i = 0; i < apps.length; i++) if (apps[i]!.app.poll(now)) work++;
          const chans = this.chanApps;
          for (let g = 0; g < chans.length; g++) {
            if (chans[g]!.poll(now)) work++;
            // Records wait on group g's ring (this poll's, or published between turns: a
            // connect's outcome, OP_MOVED): it wakes if it sleeps; the other groups sleep on.
            if (this.groupUp[g]!.count > 0) this.groupBells[g]!.ring();
          }
          if (this.rdma.poll()) work++;
          if (e.nextTimeout() <= now) e.advance(now);
          this.reap(now / 1000);
          work += this.tx.flush();
          if (this.bell.takeCtl() || this.stopping) break;
          if (work > 0) {
            idle = 0;
            if (performance.now() >= sliceEnd) break;
            continue;
          }
          if (++idle < IDLE_SPINS) continue;
          idle = 0;
          const ms = Math.min(MAX_SLEEP_MS, Math.max(0, (e.nextTimeout() - now) / 1000));
          if (ms > 0) this.bell.sleep(ms, this.anyReady);
          if (performance.now() >= sliceEnd) break;
        }
        await new Promise<void>((r) => setImmediate(r));
      }
      this.app?.stop();
      for (const { app } of this.apps?.list ?? []) app.stop();
      for (const a of this.chanApps) a.stop();
      this.rdma.stop();
      this.engine.advance(performance.now() * 1000);
      this.tx.flush();
    } catch (err) {
      // Replies to control calls answered before the failure (the very call that set
      // debug.kdb.panic) go out before the task's result makes the Stack close the port.
      await new Promise<void>((r) => setTimeout(r, 20));
      return errorInfo(err);
    }
    return undefined;
  }
}
