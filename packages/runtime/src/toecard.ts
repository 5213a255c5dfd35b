/**
 * The coordinator's side of a stack's TOE card (docs/toe.md): the card's TID table,
 * doorbell and memory; its thread (worker/card.ts) under its own piscina pool while its
 * TOM (t4_tom, or t3_tom on a T3: cardmodel.ts) is loaded; which new connections it may
 * take (ToeCard.admit, counted by reason when not); and the 4-tuples the coordinator reserves for it, held under the card's worker
 * index so the reservation table knows which tuples live on the card.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import * as Comlink from 'comlink';
import {
  SysError,
  IFCAP_TOE,
  IFCAP_TOE6,
  pfSharedRelease,
  type PfRuleset,
  type SecAssocRecord,
} from '@mcstack/netinet';
import type { StackSnapshot } from '@mcstack/netinet/tools';
import { TidTable, TOE_STATS, TID_ACTIVE, TID_HOLD, type TidKey, type ToeStat } from './tids.js';
import { Doorbell } from './doorbell.js';
import { portEndpoint } from './endpoint.js';
import { errorInfo, rebuildError, type WorkerError } from './errinfo.js';
import { ipBytes, formatMac } from './addrs.js';
import { workersLive } from './cpushare.js';
import { SOCKAPP_MODULE, sockRing, type SockAppOptions, type SockHandoff } from './sockrec.js';
import type { ReservationTable } from './reservations.js';
import type { CardPort } from './linkmatrix.js';
import type { AppSpec, ErrorInfo, RemoteApi, RouteSpec, StackOptions, Strategy } from './control.js';
import type { CardTask, CardResult, CardControl, CardCounters, CardCoordinatorApi, CardTuple } from './worker/card.js';
import { cardModel, type CardModel } from './cardmodel.js';
const DEFAULT_NTIDS = 1024;
const DEFAULT_CARD_MEMORY = 64 << 20;
/**
 * Card memory one offloaded connection reserves: FreeBSD's default send and receive
 * buffers (net.inet.tcp.sendspace 32768, recvspace 65536).
 */
const TOE_CONN_MEMORY = 32768 + 65536;
/** The congestion control the card runs in hardware (t4_tom's cong_algorithm: Reno, Tahoe, NewReno, HighSpeed). */
const CARD_CC = new Set(['newreno']);
/** Ephemeral ports for the card's active opens (net.inet.ip.portrange.first .. last). */
const TOE_PORT_FIRST = 49152;
const TOE_PORT_COUNT = 16384;
/** What StackOptions.toe may say. */
const TOE_KEYS = ['ntids', 'memory', 'apps'];

/**
 * Why new connections stayed on the host with `toe` on (a counter per reason), and how
 * many went to the card (tids.ts TOE_STATS; sysctl dev.t4nex.0.toe.<name>).
 */
export type ToeStats = Record<ToeStat, number>;

/** A connection's 4-tuple as this stack sees it (laddr is its own). */
export interface HandoffTuple {
  laddr: string;
  lport: number;
  faddr: string;
  fport: number;
}

/** The halves of a live handoff in one worker (a group's WorkerControl, the card's CardControl). */
export interface HandoffPeer {
  sockHandoffOut(sid: number): Promise<SockHandoff>;
  sockHandoffIn(h: SockHandoff, sid: number, id: number): Promise<void>;
}

/** A group's halves of an in-worker app's live handoff (its WorkerControl). */
export interface AppHandoffPeer {
  appConnOf(t: HandoffTuple): Promise<number>;
  appHandoffOut(t: HandoffTuple): Promise<{ h: SockHandoff; sid: number }>;
  appLive(sid: number): Promise<void>;
  appFreeze(sid: number): Promise<void>;
  appHandoffIn(h: SockHandoff, sid: number, id: number, fromCard: boolean): Promise<void>;
}

/** What the card needs of its stack. */
export interface ToeCardHost {
  readonly name: string;
  readonly workers: number;
  readonly strategy: Strategy;
  readonly mac: Uint8Array;
  readonly addrs: readonly string[];
  readonly options: Readonly<StackOptions>;
  readonly reservations: ReservationTable;
  /** The apps the card runs itself (StackOptions.toe.apps, checked). */
  readonly cardApps: AppSpec[];
  /**
   * The host's routes: the stack's static ones and every `route` change made since
   * (Stack.route, in order): the card's copy starts from them.
   */
  readonly routes: readonly RouteSpec[];
  routeChanges(): string[][];
  /** The group workers' doorbells (the card rings them for its records to their in-worker apps). */
  readonly bells: readonly SharedArrayBuffer[];
  /** The group the link delivers `t`'s segments to (Stack.tupleWorker). */
  tupleWorker(t: HandoffTuple): number;
  /** Group `w`'s halves of an in-worker app's live handoff (its control API). */
  group(w: number): AppHandoffPeer;
  /** pf's state count, one slot per worker and the card's at `workers` (Pf.shareStates). */
  readonly pfStates: SharedArrayBuffer;
  /** The ruleset `pfctl -f` last loaded, or null; whether pf is on. */
  pfRuleset(): PfRuleset | null;
  pfEnabled(): boolean;
  /** Report the card's failure ('worker-error' with index `workers`) unless the stack is stopping. */
  cardFailed(err: WorkerError): void;
}

/** How the card reaches the wire: Stack.join's rings to and from each peer worker, and the peer's queues. */
export interface CardWiring {
  rx: SharedArrayBuffer[];
  tx: SharedArrayBuffer[];
  peerBells: SharedArrayBuffer[];
  peerIndirection: SharedArrayBuffer | null;
  neighbors: { addr: string; mac: string }[];
  /** The peer's card, when it has one (its ring in from this card). */
  peerCard?: CardPort;
}

/** The card's thread while its TOM is loaded. */
interface CardRun {
  pool: Piscina;
  proxy: Comlink.Remote<CardControl>;
  port: MessagePort;
  coordPort: MessagePort;
  task: Promise<unknown> | null;
  alive: boolean;
  releasePf(): void;
}

export class ToeCard {
  readonly tids: TidTable;
  readonly bell = new Doorbell();
  /** The card's socket-buffer memory (bytes). */
  readonly memory: number;
  /** The card's model: its port, TOM and sysctl tree (cardmodel.ts). */
  readonly model: CardModel;
  /** `ifconfig cxgbe0 toe` is on, also as a word the groups read before asking (toeAdmit) for an active open. */
  private readonly toeWord = new Int32Array(new SharedArrayBuffer(4));
  get toeOn(): boolean {
    return Atomics.load(this.toeWord, 0) !== 0;
  }
  set toeOn(on: boolean) {
    Atomics.store(this.toeWord, 0, on ? 1 : 0);
  }
  /** The security associations as setkey last left them (TCP-MD5 peers stay on the host). */
  sas: readonly SecAssocRecord[] = [];
  /** net.inet.tcp.cc.algorithm as Stack.sysctl last set it. */
  ccAlgorithm = 'newreno';
  private run: CardRun | null = null;
  /** The card's connections: reservation id -> TID key. */
  private readonly held = new Map<number, TidKey>();
  /** The card's listening ports: reservation id -> address and port (server TIDs). */
  private readonly listens = new Map<number, { la: Uint8Array; lport: number; host: ToeCardHost }>();
  private portCursor = 0;
  /** Rings between each group worker and the card (index = worker): the in-worker apps' channel (worker/toeproxy.ts). */
  private chans: { down: SharedArrayBuffer[]; up: SharedArrayBuffer[] } | null = null;

  /** The card of a stack whose port offers TOE4/TOE6, else null; EINVAL on bad limits. */
  static forStack(o: StackOptions): ToeCard | null {
    const model = cardModel(o.ifname);
    const caps = o.capabilities ?? 0;
    if ((caps & IFCAP_TOE) === 0) {
      if (o.toe !== undefined) throw new SysError('EINVAL', `toe: ${model.ifname} offers no TOE4/TOE6 capability`);
      return null;
    }
    if ((caps & IFCAP_TOE & ~model.toeCaps) !== 0)
      throw new SysError('EINVAL', `capabilities: ${model.ifname}'s card (${model.tom}) offers TOE4 only`);
    // A misspelt limit would leave the default in force unseen: refused, as a pipe's unknown key is.
    for (const k of Object.keys(o.toe ?? {}))
      if (!TOE_KEYS.includes(k)) throw new SysError('EINVAL', `toe: unknown key ${k} (${TOE_KEYS.join(', ')})`);
    const memory = o.toe?.memory ?? DEFAULT_CARD_MEMORY;
    if (!Number.isInteger(memory) || memory < 65536)
      throw new SysError('EINVAL', `toe.memory must be an integer of at least 65536 bytes, got ${memory}`);
    const card = new ToeCard(TidTable.create(o.toe?.ntids ?? DEFAULT_NTIDS), memory, model);
    // The hosts start with the config's algorithm (StackOptions.sysctl): the card admits by it.
    const cc = o.sysctl?.['net.inet.tcp.cc.algorithm'];
    if (cc !== undefined) card.ccAlgorithm = String(cc);
    return card;
  }

  private constructor(tids: TidTable, memory: number, model: CardModel) {
    this.tids = tids;
    this.memory = memory;
    this.model = model;
  }

  /** Group `w`'s ring pair to the card, made once for the stack's `workers` groups. */
  channel(
    w: number,
    workers: number,
  ): { down: SharedArrayBuffer; up: SharedArrayBuffer; cardBell: SharedArrayBuffer; toeOn: SharedArrayBuffer } {
    this.chans ??= {
      down: Array.from({ length: workers }, () => sockRing().sab),
      up: Array.from({ length: workers }, () => sockRing().sab),
    };
    return {
      down: this.chans.down[w]!,
      up: this.chans.up[w]!,
      cardBell: this.bell.sab,
      toeOn: this.toeWord.buffer as SharedArrayBuffer,
    };
  }

  /** Whether the card's worker is running (its TOM loaded, no failure). */
  get alive(): boolean {
    return this.run?.alive ?? false;
  }

  /** The card's comlink remote (worker/card.ts CardControl). ESRCH when it is not running. */
  control(stack: string): RemoteApi<CardControl> {
    const r = this.run;
    if (r === null || !r.alive) throw new SysError('ESRCH', `the TOE card of stack ${stack} is not running`);
    return r.proxy;
  }

  async counters(): Promise<CardCounters | null> {
    return this.run?.alive === true ? await this.run.proxy.counters() : null;
  }

  async snapshot(): Promise<StackSnapshot | null> {
    return this.run?.alive === true ? await this.run.proxy.snapshot() : null;
  }

  get stats(): ToeStats {
    return Object.fromEntries(TOE_STATS.map(([n]) => [n, this.tids.stat(n)])) as ToeStats;
  }

  /**
   * Whether an active open to `faddr` goes to the card (toe on, the card running and
   * wired): false, counted by reason, when the card cannot take it.
   */
  admit(faddr: string, wired: boolean, capabilities: number): boolean {
    // A card reaches the wire only through Stack.join's rings (not an external link's).
    if (!this.toeOn || !this.alive || !wired) return false;
    return this.fits(faddr, capabilities);
  }

  /** What a connection the card did not admit gets (the reason is counted). */
  private refused(op: string): SysError {
    return new SysError(
      'EOPNOTSUPP',
      `the TOE card does not take this connection (${this.model.toeSysctl}.refused_*)`,
      op,
    );
  }

  /**
   * Whether the card can take a connection to `faddr` (what it offloads, its TIDs and
   * memory): false, counted by reason, when not. The card's own apps ask this alone: their
   * connections have nowhere else to be, whatever `toe` says of the host's.
   */
  private fits(faddr: string, capabilities: number): boolean {
    const refuse = (why: ToeStat) => {
      this.tids.count(why);
      return false;
    };
    if (faddr.includes(':') && (capabilities & IFCAP_TOE6) === 0) return refuse('refused_ipv6');
    if (this.sas.some((sa) => sa.src === faddr || sa.dst === faddr)) return refuse('refused_md5');
    if (!CARD_CC.has(this.ccAlgorithm)) return refuse('refused_cc');
    if (this.tids.inUse >= this.tids.ntids) return refuse('refused_tids');
    if (this.tids.memInUse + TOE_CONN_MEMORY > this.memory) return refuse('refused_memory');
    return true;
  }

  /**
   * Reserve a 4-tuple for the card (the reservation's worker is the card's index) and
   * insert its TID. The port need not hash anywhere: the link matches the card's TIDs
   * before RSS.
   */
  private connect(host: ToeCardHost, faddr: string, fport: number, chan?: number): CardTuple {
    const local = host.addrs.find((a) => a.includes(':') === faddr.includes(':'))?.split('/')[0];
    if (local === undefined) throw new SysError('EADDRNOTAVAIL', `no local address for ${faddr}`, 'connect');
    const laddr = ipBytes(local);
    const fa = ipBytes(faddr);
    for (let n = 0; n < TOE_PORT_COUNT; n++) {
      const lport = TOE_PORT_FIRST + (this.portCursor++ % TOE_PORT_COUNT);
      // An in-worker app's connection comes back (-toe) to its app's group only: its return tuple must hash there.
      if (chan !== undefined && host.tupleWorker({ laddr: local, lport, faddr, fport }) !== chan) continue;
      let id: number;
      try {
        id = host.reservations.connect(laddr, lport, fa, fport, host.workers).id;
      } catch (e) {
        if ((e as SysError).code === 'EADDRINUSE') continue;
        throw e;
      }
      const key: TidKey = { src: fa, dst: laddr, sport: fport, dport: lport };
      if (this.tids.insert(key) < 0 || this.tids.memInUse + TOE_CONN_MEMORY > this.memory) {
        this.tids.remove(key);
        host.reservations.release(id);
        throw new SysError('ENOBUFS', 'the TOE card is full', 'connect');
      }
      this.tids.reserveMem(TOE_CONN_MEMORY);
      this.held.set(id, key);
      this.tids.count('offloaded');
      return { id, laddr: local, lport, faddr, fport };
    }
    throw new SysError('EADDRNOTAVAIL', `no free local port to ${faddr}:${fport}`, 'connect');
  }

  /**
   * A port the card listens on (iw_cxgbe's listeners, t4_tom's server TIDs): reserved for the
   * card's worker index so no host socket takes it, with a server TID so the link hands the
   * card every segment to it. EADDRINUSE, ENOBUFS (no TID).
   */
  private listen(host: ToeCardHost, laddr: string, lport: number): number {
    const la = ipBytes(laddr);
    const r = host.reservations.bind(la, lport, { worker: host.workers });
    host.reservations.listen(r.id);
    if (this.tids.insertListen(la, lport) < 0) {
      host.reservations.release(r.id, host.workers);
      throw new SysError('ENOBUFS', 'the TOE card has no free TID', 'listen');
    }
    this.listens.set(r.id, { la, lport, host });
    return r.id;
  }

  /** A connection born on one of the card's listens gets its own reservation, TID and memory. */
  private accepted(host: ToeCardHost, laddr: string, lport: number, faddr: string, fport: number): number {
    const la = ipBytes(laddr);
    const fa = ipBytes(faddr);
    const key: TidKey = { src: fa, dst: la, sport: fport, dport: lport };
    if (this.tids.memInUse + TOE_CONN_MEMORY > this.memory) {
      this.tids.count('refused_memory');
      throw new SysError('ENOBUFS', 'the TOE card memory is full', 'accept');
    }
    const id = host.reservations.connect(la, lport, fa, fport, host.workers).id;
    if (this.tids.insert(key) < 0) {
      host.reservations.release(id, host.workers);
      this.tids.count('refused_tids');
      throw new SysError('ENOBUFS', 'the TOE card has no free TID', 'accept');
    }
    this.tids.reserveMem(TOE_CONN_MEMORY);
    this.held.set(id, key);
    this.tids.count('offloaded');
    return id;
  }

  private unlisten(id: number): void {
    const l = this.listens.get(id);
    if (l === undefined) return;
    this.listens.delete(id);
    this.tids.removeListen(l.la, l.lport);
    l.host.reservations.release(id, l.host.workers);
  }

  private release(host: ToeCardHost, id: number): void {
    const key = this.held.get(id);
    if (key === undefined) return;
    this.held.delete(id);
    this.dropTid(key);
    host.reservations.release(id, host.workers);
  }

  /* ------------------------------------------------------------ live handoff */

  /**
   * The leaving half of moving a main-thread socket's connection from worker `from` to
   * worker `to` (a group, or the card at index host.workers): into the card it must be
   * admitted (counted by reason when not: EOPNOTSUPP) and gets its TID at once, held; out
   * of the card its TID is held. A held TID's frames are dropped at the link until the
   * new owner has the connection (TCP retransmits them), so no engine without its pcb
   * answers them with an RST. Undone when the export fails.
   */
  async handoffOut(
    host: ToeCardHost,
    from: HandoffPeer,
    fromW: number,
    toW: number,
    sid: number,
    t: HandoffTuple,
  ): Promise<SockHandoff> {
    const key = tidKey(t);
    const toCard = toW === host.workers;
    if (toCard) this.takeHeld(host, t);
    else if (fromW === host.workers) this.tids.setState(key, TID_HOLD);
    try {
      return await from.sockHandoffOut(sid);
    } catch (e) {
      if (toCard) this.dropTid(key);
      else this.tids.setState(key, TID_ACTIVE);
      throw e;
    }
  }

  /**
   * The arriving half: the reservation moves to `toW` and the connection is imported there
   * (socket `sid` on its rings). On the card its TID goes live; back on a group its TID
   * is freed. When the import fails the reservation stays with `fromW` (the caller
   * imports the export there again, `toW` = `fromW`); when that fails too, the TID and
   * the reservation are freed.
   */
  async handoffIn(
    host: ToeCardHost,
    to: HandoffPeer,
    h: SockHandoff,
    fromW: number,
    toW: number,
    sid: number,
    t: HandoffTuple,
  ): Promise<void> {
    const key = tidKey(t);
    const r = host.reservations.lookupConnected(key.dst, t.lport, key.src, t.fport);
    if (r === undefined) throw new SysError('ENOENT', 'the connection holds no reservation', 'handoff');
    const id = r.id;
    if (!host.reservations.rehome(id, fromW, toW) && fromW !== toW)
      throw new SysError('EINVAL', `worker ${fromW} does not hold the connection`, 'handoff');
    const toCard = toW === host.workers;
    const wasHeld = this.held.has(id);
    // Held before the import: a connection that ends on the card at once is released (toeRelease) with its TID.
    if (toCard) this.held.set(id, key);
    try {
      await to.sockHandoffIn(h, sid, id);
    } catch (e) {
      if (toCard && !wasHeld) this.held.delete(id);
      host.reservations.rehome(id, toW, fromW);
      if (fromW === toW) {
        // The way back failed too (the caller's last try): the connection is gone from every
        // engine, so its TID (held since handoffOut), card memory and reservation go with it.
        this.held.delete(id);
        this.dropTid(key);
        host.reservations.release(id, toW);
      }
      throw e;
    }
    if (toCard) {
      if (this.held.has(id)) this.tids.setState(key, TID_ACTIVE);
      if (!wasHeld) this.tids.count('offloaded');
    } else {
      this.held.delete(id);
      this.dropTid(key);
    }
  }

  /* ------------------------------------------------- in-worker apps' connections */

  /**
   * Host → card for an in-worker app's established connection `t` in group `w` (docs/toe.md,
   * "In-worker apps"): admitted (counted by reason when not: EOPNOTSUPP), its TID held
   * while the group exports it and puts an offloaded socket under the app's descriptor,
   * the card imports it (TF_TOE) on that group's rings, the TID goes live, and the
   * app's writes meanwhile go down. When the card refuses the import the host connection
   * is put back under the descriptor. Throws SysError (EAGAIN while it is not movable yet).
   */
  async appToCard(host: ToeCardHost, w: number, t: HandoffTuple): Promise<void> {
    const g = host.group(w);
    const fd = await g.appConnOf(t);
    if (fd < 0) throw SysError.fromErrno(fd, 'handoff');
    const key = this.takeHeld(host, t);
    let out: { h: SockHandoff; sid: number };
    let id: number;
    try {
      id = this.reservationOf(host, t);
      out = await g.appHandoffOut(t);
    } catch (e) {
      this.dropTid(key);
      throw e;
    }
    host.reservations.rehome(id, w, host.workers);
    // Held before the import: a connection that ends on the card at once is released (toeRelease) with its TID.
    this.held.set(id, key);
    try {
      await this.control(host.name).sockHandoffIn(out.h, out.sid, id, w);
    } catch (e) {
      this.held.delete(id);
      host.reservations.rehome(id, host.workers, w);
      this.dropTid(key);
      // Back in the group failed too: the connection is in no engine, nor its reservation.
      await g.appHandoffIn(out.h, out.sid, id, false).catch(() => host.reservations.release(id, w));
      throw e;
    }
    if (this.held.has(id)) this.tids.setState(key, TID_ACTIVE);
    this.tids.count('offloaded');
    await g.appLive(out.sid);
  }

  /**
   * Card → host for an in-worker app's connection (id `sid` on group `chan`'s rings): back to
   * its app's group, which must own its RSS bucket (EINVAL otherwise: it stays on the card).
   * The group stops sending it down, its TID is held while the card exports it, the group
   * imports it after the card's last records for it and puts it under the app's
   * descriptor, and its TID is freed. Throws SysError.
   */
  async appToHost(host: ToeCardHost, chan: number, sid: number, t: HandoffTuple): Promise<void> {
    if (host.tupleWorker(t) !== chan)
      throw new SysError('EINVAL', `group ${chan} does not own the connection's RSS bucket`, 'handoff');
    const g = host.group(chan);
    const card = this.control(host.name);
    const key = tidKey(t);
    await g.appFreeze(sid);
    this.tids.setState(key, TID_HOLD);
    let h: SockHandoff;
    try {
      h = await card.sockHandoffOut(sid, chan);
    } catch (e) {
      this.tids.setState(key, TID_ACTIVE);
      await g.appLive(sid);
      throw e;
    }
    const id = this.reservationOf(host, t);
    host.reservations.rehome(id, host.workers, chan);
    try {
      await g.appHandoffIn(h, sid, id, true);
    } catch (e) {
      host.reservations.rehome(id, chan, host.workers);
      try {
        await card.sockHandoffIn(h, sid, id, chan);
      } catch {
        // Back onto the card failed too: the connection is in no engine, so its TID (held),
        // card memory and reservation go with it.
        this.held.delete(id);
        this.dropTid(key);
        host.reservations.release(id, host.workers);
        throw e;
      }
      this.tids.setState(key, TID_ACTIVE);
      await g.appLive(sid);
      throw e;
    }
    this.held.delete(id);
    this.dropTid(key);
  }

  /** `ifconfig cxgbe0 -toe`: every in-worker app's connection on the card back to its group (those that can move now). */
  async appsToHost(host: ToeCardHost): Promise<void> {
    if (!this.alive) return;
    for (const c of await this.control(host.name).appConns())
      await this.appToHost(host, c.chan, c.sid, c).catch(() => {});
  }

  private reservationOf(host: ToeCardHost, t: HandoffTuple): number {
    const key = tidKey(t);
    const r = host.reservations.lookupConnected(key.dst, t.lport, key.src, t.fport);
    if (r === undefined) throw new SysError('ENOENT', 'the connection holds no reservation', 'handoff');
    return r.id;
  }

  /**
   * A connection moving into the card: admitted (counted by reason when not: EOPNOTSUPP),
   * its TID taken at once and held (its frames dropped at the link until the card has it),
   * its card memory reserved. ENOBUFS when the table is full.
   */
  private takeHeld(host: ToeCardHost, t: HandoffTuple): TidKey {
    if (!this.admit(t.faddr, true, host.options.capabilities ?? 0)) throw this.refused('handoff');
    const key = tidKey(t);
    // Held from the first instant the link can see it (tids.ts insert).
    if (this.tids.insert(key, TID_HOLD) < 0) throw new SysError('ENOBUFS', 'the TOE card is full', 'handoff');
    this.tids.reserveMem(TOE_CONN_MEMORY);
    return key;
  }

  /** Free a TID and its card memory (no-op when the tuple has none). */
  private dropTid(key: TidKey): void {
    if (this.tids.remove(key) >= 0) this.tids.reserveMem(-TOE_CONN_MEMORY);
  }

  /**
   * Start the card's thread (its TOM activating the card), watched by its own piscina pool:
   * resolves once its engine is up; its failure goes to host.cardFailed.
   */
  async start(host: ToeCardHost, w: CardWiring): Promise<void> {
    if (this.run?.alive === true) return;
    const pool = new Piscina({
      filename: new URL('./worker/card.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: 1,
      maxQueue: 1,
      atomics: 'disabled',
      recordTiming: false,
    });
    const ctl = new MessageChannel();
    const proxy = Comlink.wrap<CardControl>(portEndpoint(ctl.port1, () => this.bell.signal()));
    const coord = new MessageChannel();
    const api: CardCoordinatorApi = {
      toeConnect: (faddr, fport, admit, chan) => {
        if (admit === true && !this.fits(faddr, host.options.capabilities ?? 0)) throw this.refused('connect');
        return this.connect(host, faddr, fport, chan);
      },
      toeRelease: (id) => this.release(host, id),
      toeListen: (laddr, lport) => this.listen(host, laddr, lport),
      toeAccepted: (laddr, lport, faddr, fport) => this.accepted(host, laddr, lport, faddr, fport),
      toeUnlisten: (id) => this.unlisten(id),
    };
    Comlink.expose(
      api,
      portEndpoint(coord.port1, () => this.bell.signal()),
    );
    // The socket app's rings (@mcstack/api withNet): the pair after the workers' is the card's.
    const sockapp = (host.options.apps ?? []).find((a) => 'module' in a && a.module === SOCKAPP_MODULE);
    const so = sockapp?.options as SockAppOptions | undefined;
    const task: CardTask = {
      stack: host.name,
      index: host.workers,
      seed: host.options.seed ?? 1,
      ifname: this.model.ifname,
      toeSysctl: this.model.toeSysctl,
      mac: formatMac(host.mac),
      addrs: [...host.addrs],
      neighbors: w.neighbors,
      mtu: host.options.mtu ?? 1500,
      capabilities: host.options.capabilities ?? 0,
      capenable: host.options.capenable ?? 0,
      tom: this.model.tom,
      memory: this.memory,
      sysctl: { ...(host.options.sysctl ?? {}) },
      tunables: { ...(host.options.tunables ?? {}) },
      modules: (host.options.modules ?? []).filter((m) => m !== this.model.tom),
      apps: host.cardApps,
      routes: [...host.routes],
      routeChanges: host.routeChanges(),
      pfStates: host.pfStates,
      pfRuleset: host.pfRuleset(),
      pfEnabled: host.pfEnabled(),
      tids: this.tids.sab,
      bell: this.bell.sab,
      rx: w.rx,
      tx: w.tx,
      peerBells: w.peerBells,
      peerIndirection: w.peerIndirection,
      ...(w.peerCard !== undefined ? { peerCard: w.peerCard } : {}),
      strategy: host.strategy,
      ctlPort: ctl.port2,
      coordPort: coord.port2,
      ...(so !== undefined && so.down.length > host.workers
        ? { sockapp: so as unknown as Record<string, unknown> }
        : {}),
      ...(this.chans !== null ? { groups: { ...this.chans, bells: [...host.bells] } } : {}),
      ...(host.options.plr !== undefined ? { plr: host.options.plr } : {}),
    };
    const run: CardRun = {
      pool,
      proxy,
      port: ctl.port1,
      coordPort: coord.port1,
      task: null,
      alive: true,
      // The card's pf states end with its thread: they stop counting against the limit.
      releasePf: () => pfSharedRelease(host.pfStates, host.workers),
    };
    this.run = run;
    workersLive(1);
    let ended!: (e: Error) => void;
    const failedEarly = new Promise<never>((_, rej) => {
      ended = rej;
    });
    failedEarly.catch(() => {});
    run.task = pool.run(task, { transferList: [ctl.port2, coord.port2] as never }).then(
      (res: CardResult) => {
        if (res.error !== undefined) {
          ended(rebuildError(res.error, host.workers));
          this.failed(host, run, res.error);
        } else this.ended(run);
      },
      (err: unknown) => {
        ended(rebuildError(errorInfo(err), host.workers));
        this.failed(host, run, errorInfo(err));
      },
    );
    // Up once it answers a control call (or failed while starting).
    await Promise.race([proxy.sysctlGet(`${this.model.toeSysctl}.ntids`), failedEarly]);
  }

  /** The card's task ended: its thread no longer counts, its pool goes. */
  private ended(run: CardRun): void {
    if (!run.alive) return;
    run.alive = false;
    // A stopped card listens no more: its ports go back to the host.
    for (const id of [...this.listens.keys()]) this.unlisten(id);
    run.releasePf();
    workersLive(-1);
    run.proxy[Comlink.releaseProxy]();
    run.port.close();
    run.coordPort.close();
    void run.pool.destroy();
  }

  /**
   * The card failed: its TIDs are taken away (its connections' segments now reach host
   * groups with no pcb for them: the peer is reset) and it is reported like a worker.
   */
  private failed(host: ToeCardHost, run: CardRun, info: ErrorInfo): void {
    const wasAlive = run.alive;
    this.ended(run);
    // A run stop() gave up on (its 5 s passed) can fail after kldload started the next:
    // the table, the held map and the card's reservations are that run's now.
    if (run !== this.run) return;
    this.tids.clear();
    this.held.clear();
    this.listens.clear();
    host.reservations.releaseWorker(host.workers);
    if (wasAlive) host.cardFailed(rebuildError(info, host.workers));
  }

  /** Stop the card's thread (kldunload t4_tom, Stack.stop). */
  async stop(): Promise<void> {
    const run = this.run;
    if (run === null || !run.alive) return;
    run.proxy.stop().catch(() => {});
    this.bell.signal();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      run.task,
      new Promise<void>((r) => {
        timer = setTimeout(r, 5000);
      }),
    ]);
    clearTimeout(timer);
    this.ended(run);
  }
}

/** The TID key of a connection (the card matches the peer's segments: source = the peer). */
function tidKey(t: HandoffTuple): TidKey {
  return { src: ipBytes(t.faddr), dst: ipBytes(t.laddr), sport: t.fport, dport: t.lport };
}
