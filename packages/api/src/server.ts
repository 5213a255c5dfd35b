/**
 * Server: node:net's Server over the stack. listen() installs the listener in every group
 * (each worker's sockapp asks the coordinator, which reserves the port once for the
 * stack); a SYN lands in whichever worker RSS picks, the connection is born there, and
 * its accept is announced here as 'connection' with a Socket bound to that worker.
 *
 * It is a net.Server (instanceof and type) without a kernel handle. Node's
 * `server.listen(handle)` takes only a kernel TCP handle or a file descriptor (net.js
 * Server.prototype.listen), so an http.Server (or https, or any net.Server) serves an
 * mcstack server's connections through one line:
 *
 *   mcServer.on('connection', (s) => httpServer.emit('connection', s));
 */
import * as nodeNet from 'node:net';
import { ERRNO } from '@mcstack/netinet';
import { OP_LISTEN, OP_UNLISTEN, OP_CLOSE } from '@mcstack/runtime/sockrec';
import type { Channel, ListenerPeer } from './channel.js';
import type { NetCore } from './netcore.js';
import { fibOption, socketError, type AddressInfo, type Socket } from './socket.js';
import { codedError } from './errors.js';
import { GroupBind, PENDING } from './groupbind.js';
import { HandleRef } from './handleref.js';

export interface ServerOptions {
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused (no 'data' until resume()). */
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** The listeners' routing table (SO_SETFIB), which accepted connections keep; see SocketConnectOptions.fib. */
  fib?: number;
}

export interface ListenOptions {
  port?: number;
  /** Reported by address(); the stack listens on all of its addresses. */
  host?: string;
  backlog?: number;
}

const BACKLOG_DEFAULT = 511;

export class Server extends nodeNet.Server implements ListenerPeer {
  override listening = false;
  private readonly net: NetCore<Socket>;
  private readonly options: ServerOptions;
  private lid = 0;
  private readonly fib: number;
  private host: string | undefined;
  private bound: AddressInfo | null = null;
  private backlog = BACKLOG_DEFAULT;
  /** The listen in every worker (port 0: one first, then the rest on its port). */
  private readonly groups = new GroupBind((ch, port) => ch.control(OP_LISTEN, this.lid, port, this.backlog, this.fib));
  private readonly conns = new Set<Socket>();
  private closing = false;
  /** Unlistens the workers have not confirmed yet. */
  private unlistening = 0;
  /** Its share in the McNet's keep-alive while it listens (ref()'d by default). */
  private readonly keep = new HandleRef(
    (d) => this.net._hold(d),
    () => this.lid !== 0,
  );
  /** The port listen() was asked for. */
  private port = 0;

  constructor(net: NetCore<Socket>, options: ServerOptions = {}, connectionListener?: (s: Socket) => void) {
    super();
    this.net = net;
    this.options = options;
    this.fib = fibOption(options.fib);
    if (connectionListener) this.on('connection', connectionListener);
  }

  /**
   * listen(port[, host][, backlog][, cb]) or listen({ port, host, backlog }[, cb]). Port 0
   * picks a free port. 'listening', or 'error' (EADDRINUSE...).
   */
  override listen(...args: unknown[]): this {
    let o: ListenOptions = {};
    let cb: (() => void) | undefined;
    if (typeof args[args.length - 1] === 'function') cb = args.pop() as () => void;
    if (typeof args[0] === 'object' && args[0] !== null) o = args[0] as ListenOptions;
    else {
      o.port = args[0] === undefined ? 0 : Number(args[0]);
      if (typeof args[1] === 'string') o.host = args[1];
      const bl = typeof args[1] === 'number' ? args[1] : args[2];
      if (typeof bl === 'number') o.backlog = bl;
    }
    if (this.lid !== 0) {
      throw codedError(
        Error,
        'ERR_SERVER_ALREADY_LISTEN',
        'Listen method has been called more than once without closing.',
      );
    }
    const port = o.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw codedError(
        RangeError,
        'ERR_SOCKET_BAD_PORT',
        `options.port should be >= 0 and < 65536. Received ${String(o.port)}.`,
      );
    }
    if (cb) this.once('listening', cb);
    this.host = o.host;
    this.backlog = o.backlog ?? BACKLOG_DEFAULT;
    this.closing = false;
    this.lid = this.net._addListener(this);
    this.keep.hold();
    const chans = this.net._channels();
    if (chans.length === 0) {
      process.nextTick(() => this.fail(ERRNO.ENETDOWN));
      return this;
    }
    this.port = port;
    this.groups.start(chans, port);
    return this;
  }

  _onListening(ch: Channel, errno: number, bound: string): void {
    if (this.lid === 0 || this.closing) return; // an answer to a listen already undone
    if (errno === 0 && this.bound === null) {
      const [addr, port] = bound.split(' ');
      const address = this.host ?? addr ?? '0.0.0.0';
      this.bound = { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port: Number(port) };
    }
    const r = this.groups.answer(ch, errno, this.bound?.port ?? 0, this.net._channels());
    if (r === PENDING) return;
    if (r !== 0) {
      this.fail(r);
      return;
    }
    this.listening = true;
    this.emit('listening');
  }

  private fail(errno: number): void {
    const port = this.bound?.port;
    this.unlisten();
    this.closing = false; // a failed listen is not a close: no 'close' follows its 'error'
    this.bound = null;
    // node:net's words: 'listen EADDRINUSE: address already in use 0.0.0.0:80'.
    this.emit('error', socketError(errno, 'listen', this.host ?? this.net._wildcard(), port ?? this.port));
  }

  _onAccept(ch: Channel, sid: number, tuple: string): void {
    const s = new this.net.Socket({ allowHalfOpen: this.options.allowHalfOpen });
    s._attach(ch, sid, tuple);
    if (this.closing) {
      s.destroy();
      return;
    }
    // node:net's maxConnections: a connection past it is closed at once and reported as 'drop'.
    if (this.maxConnections != null && this.conns.size >= this.maxConnections) {
      this.emit('drop', {
        localAddress: s.localAddress,
        localPort: s.localPort,
        localFamily: s.localFamily,
        remoteAddress: s.remoteAddress,
        remotePort: s.remotePort,
        remoteFamily: s.remoteFamily,
      });
      s.destroy();
      return;
    }
    if (this.options.noDelay) s.setNoDelay(true);
    if (this.options.keepAlive) s.setKeepAlive(true, this.options.keepAliveInitialDelay ?? 0);
    if (this.options.pauseOnConnect) s.pause();
    (s as Socket & { server?: Server }).server = this;
    this.conns.add(s);
    s.once('close', () => {
      this.conns.delete(s);
      this.maybeClosed();
    });
    this.emit('connection', s);
    this.net._offloadAccepted?.(s);
  }

  override address(): AddressInfo | null {
    return this.listening ? this.bound : null;
  }

  /** Stop accepting; 'close' once every connection has closed. */
  override close(cb?: (err?: Error) => void): this {
    if (cb) {
      if (!this.listening) {
        process.nextTick(cb, codedError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.'));
      } else this.once('close', cb);
    }
    if (!this.listening) return this;
    this.unlisten();
    this.maybeClosed();
    return this;
  }

  /**
   * Tell every worker to close the listener. Until each has said it did, SYNs may still be
   * accepted there: a stand-in takes the listener id and resets those, and 'close' waits
   * (as node:net's close, after which no connection is accepted).
   */
  private unlisten(): void {
    this.closing = true;
    this.listening = false;
    if (this.lid === 0) {
      this.keep.letGo();
      return;
    }
    const lid = this.lid;
    const chans = this.net._channels();
    // The workers yet to confirm (a worker that dies meanwhile counts as confirmed).
    const waiting = new Set(chans);
    this.unlistening++;
    // A closing listener holds the process until every worker confirms, as a closing
    // handle does: close(cb)'s callback comes before an unref'd stack lets go.
    const done = (): void => {
      this.net._removeListener(lid);
      if (this.lid === 0) this.keep.letGo();
      this.unlistening--;
      this.maybeClosed();
    };
    this.net._setListener(lid, {
      _onListening: () => {},
      _onAccept: (ch, sid) => ch.control(OP_CLOSE, sid, 1),
      _onUnlistened: (ch) => {
        if (waiting.delete(ch) && waiting.size === 0) done();
      },
    });
    for (const ch of chans) ch.control(OP_UNLISTEN, lid);
    this.lid = 0;
    if (waiting.size === 0) done();
  }

  _onUnlistened(_ch: Channel): void {}

  private maybeClosed(): void {
    if (this.closing && this.lid === 0 && this.unlistening === 0 && this.conns.size === 0) {
      this.closing = false;
      process.nextTick(() => this.emit('close'));
    }
  }

  override getConnections(cb: (err: Error | null, count: number) => void): this {
    process.nextTick(cb, null, this.conns.size);
    return this;
  }

  /** Keep the process alive while listening (the default), as node:net's. */
  override ref(): this {
    this.keep.ref();
    return this;
  }

  /** Let the process exit though this server listens, as node:net's. */
  override unref(): this {
    this.keep.unref();
    return this;
  }
}
