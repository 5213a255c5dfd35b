/**
 * mcnet(stack): a node:net-like module bound to a runtime Stack, so code written for
 * node:net runs over mcstack with `net` swapped:
 *
 *   const b = Stack.create(withNet({ name: 'B', workers: 2, addrs: ['10.0.0.2/24'] }));
 *   ...; await b.start();
 *   const net = mcnet(b);
 *   net.createServer((s) => s.pipe(s)).listen(7, () => ...);
 *   const c = net.connect(7, '10.0.0.2', () => c.end('hi'));
 *
 * withNet() adds the worker half (sockapp, one ring pair per worker) to the stack's apps;
 * mcnet() attaches the main-thread half to those rings. A worker that dies resets the
 * sockets it held (ECONNRESET).
 */
import type * as nodeNet from 'node:net';
import * as nodeNetValues from 'node:net';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { availableParallelism as cores } from 'node:os';
import { ERRNO, SysError, IFCAP_TOE } from '@mcstack/netinet';
import { FrameRing, type Stack, type StackOptions, type AppSpec } from '@mcstack/runtime';
import { sockRing, SOCKAPP_MODULE, type SockAppOptions, type SockHandoff } from '@mcstack/runtime/sockrec';
import { Channel, type ListenerPeer } from './channel.js';
import { Socket, type SocketOptions, type SocketConnectOptions } from './socket.js';
import { Server, type ServerOptions } from './server.js';
import type { NetCore } from './netcore.js';

/** The app name the worker half runs under. */
export const SOCKAPP_NAME = 'sockapp';

/** The AppSpec of the worker half, with fresh rings for `workers` workers. */
export function sockAppSpec(workers: number): AppSpec & { options: Record<string, unknown> } {
  const o: SockAppOptions = { down: [], up: [] };
  for (let w = 0; w < workers; w++) {
    o.down.push(sockRing().sab);
    o.up.push(sockRing().sab);
  }
  return {
    module: SOCKAPP_MODULE,
    export: 'createApp',
    name: SOCKAPP_NAME,
    options: o as unknown as Record<string, unknown>,
  };
}

/**
 * Stack options with the worker half added to the apps (worker count as Stack.create
 * decides it), and one ring pair more for the TOE card when cxgbe0 offers TOE4/TOE6.
 */
export function withNet(o: StackOptions): StackOptions {
  const n = o.strategy === 'single' ? (o.workers ?? 1) : (o.workers ?? cores());
  const card = ((o.capabilities ?? 0) & IFCAP_TOE) !== 0 ? 1 : 0;
  return { ...o, apps: [...(o.apps ?? []), sockAppSpec(n + card)] };
}

/**
 * What the API needs of a stack (a runtime Stack has it all): its worker count, the apps
 * it was created with (to find sockapp's rings), each worker's doorbell, and the
 * 'worker-error' event.
 */
export interface NetHost {
  readonly workers: number;
  readonly options: { readonly apps?: readonly AppSpec[] };
  readonly bells: readonly { ring(): void }[];
  /**
   * Optional: the stack's own threads and ports hold the process alive while the socket
   * API holds it: hold(1) when the first ref'd socket or server appears, hold(-1) when the
   * last goes, so an unref'd stack whose sockets are all unref'd or closed lets the
   * process exit, as node:net's handles do (a runtime Stack's hold()).
   */
  hold?(delta: 1 | -1): void;
  /**
   * Optional: the worker the link delivers a connection's segments to (tuple.laddr is this
   * stack's address). A connect from a given localPort is opened there; without it, on any.
   */
  tupleWorker?(tuple: { laddr: string; lport: number; faddr: string; fport: number }): number;
  /** Its interface addresses ('10.0.0.2/24'); without them localAddress is not checked. */
  readonly addrs?: readonly string[];
  /**
   * Optional, a stack with a TOE card: whether an active open to `faddr` goes to the card
   * (counted by reason when not), and the card's doorbell (its socket app's channel).
   */
  toeAdmit?(faddr: string, fport: number): boolean;
  readonly toeBell?: { ring(): void } | null;
  /**
   * Optional, a stack with a TOE card: the halves of a live handoff between worker `from`
   * and worker `to` (the card is index `workers`) of socket `sid` (its id on that
   * worker's rings), and the hook `ifconfig cxgbe0 -toe` runs to bring offloaded
   * connections back (returns its removal).
   */
  handoffOut?(from: number, to: number, sid: number, t: SockTuple): Promise<SockHandoff>;
  handoffIn?(h: SockHandoff, from: number, to: number, sid: number, t: SockTuple): Promise<void>;
  onToeOff?(fn: () => Promise<void>): () => void;
  on(event: 'worker-error', fn: (err: Error & { worker?: number }) => void): unknown;
  off(event: 'worker-error', fn: (err: Error & { worker?: number }) => void): unknown;
}

/**
 * An accepted connection's passive offload waits for its 4-tuple's registration with the
 * coordinator (batched every few ms by the group): retried this often, this many times.
 */
const ACCEPT_OFFLOAD_RETRY_MS = 5;
const ACCEPT_OFFLOAD_TRIES = 40;

/** A connection's 4-tuple (laddr is the stack's). */
export interface SockTuple {
  laddr: string;
  lport: number;
  faddr: string;
  fport: number;
}

/** net.connect's overloads, returning this stack's Socket. */
export interface ConnectFunction {
  (
    options: nodeNet.NetConnectOpts & SocketOptions & Pick<SocketConnectOptions, 'fib'>,
    connectionListener?: () => void,
  ): Socket;
  (port: number, host?: string, connectionListener?: () => void): Socket;
  (port: number, connectionListener?: () => void): Socket;
  (path: string, connectionListener?: () => void): Socket;
}

/** The socket API of one stack (what `node:net` is to the kernel's stack). */
export class McNet implements NetCore<Socket> {
  readonly stack: NetHost;
  /** node:net's Socket and Server, bound to this stack. */
  readonly Socket: new (
    options?: SocketOptions,
  ) => Socket;
  readonly Server: new (
    options?: ServerOptions,
    connectionListener?: (s: Socket) => void,
  ) => Server;
  /** node:net's Stream: its Socket. */
  readonly Stream: new (
    options?: SocketOptions,
  ) => Socket;
  // What does not depend on a stack is node:net's own.
  readonly isIP = isIP;
  readonly isIPv4 = isIPv4;
  readonly isIPv6 = isIPv6;
  readonly BlockList = nodeNetValues.BlockList;
  readonly SocketAddress = nodeNetValues.SocketAddress;
  readonly getDefaultAutoSelectFamily = nodeNetValues.getDefaultAutoSelectFamily;
  readonly setDefaultAutoSelectFamily = nodeNetValues.setDefaultAutoSelectFamily;
  readonly getDefaultAutoSelectFamilyAttemptTimeout = nodeNetValues.getDefaultAutoSelectFamilyAttemptTimeout;
  readonly setDefaultAutoSelectFamilyAttemptTimeout = nodeNetValues.setDefaultAutoSelectFamilyAttemptTimeout;
  private readonly chans: Channel[] = [];
  /** The TOE card's channel (index `workers`), when the stack has a card: active opens only. */
  private readonly cardChan: Channel | null = null;
  private readonly listeners = new Map<number, ListenerPeer>();
  private nextLid = 1;
  private rr = 0;
  /** Ref'd live sockets and listening servers. */
  private held = 0;
  /**
   * What keeps the event loop alive for them: the receive loops sleep in Atomics.waitAsync,
   * which does not, so a long timer is ref'd while anything is held.
   */
  private readonly keepAlive: NodeJS.Timeout;
  private readonly onWorkerError: (err: Error & { worker?: number }) => void;
  /** Removes the `-toe` hook (null without a card). */
  private readonly offToe: (() => void) | null = null;

  constructor(stack: NetHost) {
    this.stack = stack;
    const spec = (stack.options.apps ?? []).find((a) => a.name === SOCKAPP_NAME);
    const o = spec?.options as SockAppOptions | undefined;
    if (o === undefined || !Array.isArray(o.down) || o.down.length < stack.workers) {
      throw new SysError(
        'MCSTACK_NO_SOCKAPP',
        'the stack was created without the socket app: Stack.create(withNet(options))',
      );
    }
    this.keepAlive = setInterval(() => {}, 1 << 30);
    this.keepAlive.unref();
    const net = this;
    this.Socket = class extends Socket {
      constructor(opts?: SocketOptions) {
        super(net, opts);
      }
    };
    this.Stream = this.Socket;
    this.Server = class extends Server {
      constructor(opts?: ServerOptions, l?: (s: Socket) => void) {
        super(net, opts, l);
      }
    };
    for (let w = 0; w < stack.workers; w++) {
      const bell = stack.bells[w]!;
      const ch = new Channel(w, FrameRing.attach(o.down[w]!), FrameRing.attach(o.up[w]!), this.listeners, () =>
        bell.ring(),
      );
      ch.onDead = (dead) => {
        // A dead worker confirms nothing: whatever waits for its unlisten stops waiting.
        for (const l of [...this.listeners.values()]) l._onUnlistened(dead);
        // A stack whose workers are all gone keeps nothing alive, whatever is still open here.
        if (this.chans.every((c) => c.dead)) this.keepAlive.unref();
      };
      this.chans.push(ch);
      ch.start();
    }
    const toeBell = stack.toeBell;
    if (toeBell && o.down.length > stack.workers && o.up.length > stack.workers) {
      const w = stack.workers;
      this.cardChan = new Channel(w, FrameRing.attach(o.down[w]!), FrameRing.attach(o.up[w]!), this.listeners, () =>
        toeBell.ring(),
      );
      this.cardChan.start();
    }
    this.onWorkerError = (err) => {
      if (typeof err.worker !== 'number') return;
      // The card's failure resets its connections; host ones are untouched.
      if (err.worker === stack.workers) this.cardChan?.kill(ERRNO.ECONNRESET);
      else this.chans[err.worker]?.kill(ERRNO.ECONNRESET);
    };
    stack.on('worker-error', this.onWorkerError);
    if (this.cardChan !== null && stack.onToeOff !== undefined) this.offToe = stack.onToeOff(() => this.toeReturn());
  }

  /**
   * Live handoff: move the established connection of `s` to the TOE card (`toCard`) or
   * back to the group worker its RSS bucket belongs to, while it carries data; the socket
   * goes on as it was (Socket._handoff). Rejects with the stack's SysError (EOPNOTSUPP when
   * the card does not take it, counted by reason) or EINVAL when there is nothing to move.
   */
  async handoff(s: Socket, toCard: boolean): Promise<void> {
    const st = this.stack;
    const { localAddress: laddr, localPort: lport, remoteAddress: faddr, remotePort: fport } = s;
    const out = st.handoffOut?.bind(st);
    const into = st.handoffIn?.bind(st);
    if (
      this.cardChan === null ||
      out === undefined ||
      into === undefined ||
      laddr === undefined ||
      lport === undefined ||
      faddr === undefined ||
      fport === undefined
    )
      throw new SysError('EINVAL', 'no TOE card, or no connection to move', 'handoff');
    const tuple: SockTuple = { laddr, lport, faddr, fport };
    const from = s.worker;
    const to = toCard ? st.workers : (st.tupleWorker?.(tuple) ?? -1);
    const dest = to === st.workers ? this.cardChan : this.chans[to];
    if (dest === undefined || from < 0) throw new SysError('EINVAL', 'no worker to move the connection to', 'handoff');
    const sid = s._sid();
    await s._handoff(
      dest,
      () => out(from, to, sid, tuple),
      (h, ch, sid2) => into(h, from, ch.worker, sid2, tuple),
    );
  }

  /**
   * Passive offload: with `toe` on, a connection a server of this API accepted goes to the
   * card right after accept when the card admits it (counted by reason when not). The
   * card takes no listens: the group that accepted it hands the established connection
   * over by live handoff, once the coordinator has registered its 4-tuple (EAGAIN until
   * then, retried). The application already has the socket; writes wait out the move.
   */
  _offloadAccepted(s: Socket): void {
    const { remoteAddress: faddr, remotePort: fport } = s;
    if (this.cardChan === null || faddr === undefined || fport === undefined) return;
    if (this.stack.toeAdmit?.(faddr, fport) !== true) return;
    void (async () => {
      for (let tries = 0; tries < ACCEPT_OFFLOAD_TRIES && !s.destroyed; tries++) {
        try {
          await this.handoff(s, true);
          return;
        } catch (e) {
          if ((e as { code?: string }).code !== 'EAGAIN') return; // stays on the host
          await new Promise((r) => setTimeout(r, ACCEPT_OFFLOAD_RETRY_MS));
        }
      }
    })();
  }

  /** `ifconfig cxgbe0 -toe`: every connection of this API on the card back to its group. */
  private async toeReturn(): Promise<void> {
    const ch = this.cardChan;
    if (ch === null) return;
    for (const p of [...ch.socks.values()]) {
      if (!(p instanceof Socket) || p.connecting || p.destroyed) continue;
      await this.handoff(p, false).catch(() => {});
    }
  }

  /** createServer([options][, connectionListener]) */
  createServer(options?: ServerOptions | ((s: Socket) => void), connectionListener?: (s: Socket) => void): Server {
    if (typeof options === 'function') return new this.Server({}, options);
    return new this.Server(options ?? {}, connectionListener);
  }

  /**
   * connect(port[, host][, cb]) / connect({ port, host, ... }[, cb]): a connecting Socket.
   * A bound function, as node:net's are module functions (`const { connect } = mcnet(stack)`),
   * of the type of net.connect.
   */
  readonly connect: ConnectFunction = (
    port: number | string | nodeNet.NetConnectOpts | (SocketConnectOptions & SocketOptions),
    host?: string | (() => void),
    cb?: () => void,
  ): Socket => {
    const s = new this.Socket(typeof port === 'object' ? (port as SocketOptions) : {});
    return s.connect(port as number, host as string, cb);
  };

  /** Same as connect(). */
  readonly createConnection: ConnectFunction = this.connect;

  /** Ref'd sockets and servers alive now (what keeps the process up on this stack's account). */
  get refs(): number {
    return this.held;
  }

  _hold(delta: 1 | -1): void {
    this.held += delta;
    if (delta > 0 && this.held === 1 && this.chans.some((c) => !c.dead)) {
      this.keepAlive.ref();
      this.stack.hold?.(1);
    } else if (delta < 0 && this.held === 0) {
      this.keepAlive.unref();
      this.stack.hold?.(-1);
    }
  }

  /** Stop the receive loops (the stack is going away); sockets left open are destroyed. */
  close(): void {
    clearInterval(this.keepAlive);
    this.stack.off('worker-error', this.onWorkerError);
    this.offToe?.();
    for (const ch of this.chans) ch.kill(0);
    this.cardChan?.kill(0);
  }

  /* ---------------------------------------------------------------- for Socket and Server */

  /** A live worker's channel for an active open, round robin. */
  /** The channel of the worker `tuple` hashes to (the host says which), else any live one. */
  _channelFor(tuple: { laddr: string; lport: number; faddr: string; fport: number }): Channel | null {
    const w = this.stack.tupleWorker?.(tuple);
    const ch = w === undefined ? undefined : this.chans[w];
    return ch !== undefined && !ch.dead ? ch : this._pickChannel();
  }

  /** The card's channel when an active open to `faddr` is offloaded (the stack admits it), else null. */
  _toeChannel(faddr: string, fport: number): Channel | null {
    const ch = this.cardChan;
    if (ch === null || ch.dead || this.stack.toeAdmit === undefined) return null;
    return this.stack.toeAdmit(faddr, fport) ? ch : null;
  }

  _pickChannel(): Channel | null {
    for (let k = 0; k < this.chans.length; k++) {
      const ch = this.chans[this.rr++ % this.chans.length]!;
      if (!ch.dead) return ch;
    }
    return null;
  }

  /** Live channels. */
  _channels(): Channel[] {
    return this.chans.filter((c) => !c.dead);
  }

  _localAddress(family: 4 | 6): string | undefined {
    const a = this.stack.addrs?.find((x) => x.includes(':') === (family === 6));
    return a?.split('/')[0];
  }

  _wildcard(): string {
    return this._localAddress(6) !== undefined ? '::' : '0.0.0.0';
  }

  _addListener(l: ListenerPeer): number {
    const lid = this.nextLid++;
    this.listeners.set(lid, l);
    return lid;
  }

  _setListener(lid: number, l: ListenerPeer): void {
    this.listeners.set(lid, l);
  }

  _removeListener(lid: number): void {
    this.listeners.delete(lid);
  }
}

const nets = new WeakMap<NetHost, McNet>();

/** The node:net-like module of `stack` (one per stack). */
export function mcnet(stack: Stack | NetHost): McNet {
  let n = nets.get(stack);
  if (n === undefined) {
    n = new McNet(stack);
    nets.set(stack, n);
  }
  return n;
}
