/**
 * Socket: node:net's Socket over an mcstack connection — a net.Socket (without a handle)
 * whose other end is an engine socket in one group worker (reached through that worker's
 * Channel).
 *
 * Backpressure, both ways:
 * - writes: the Duplex's writableHighWaterMark buffers on this side; below it, each
 *   _write goes into the down ring at once and its callback runs while fewer than
 *   WRITE_WINDOW bytes are in flight (sent to the worker and not yet taken by the
 *   engine's send buffer, which reports takes with OP_WRITTEN; an EAGAIN in the worker
 *   waits for the engine's POLLOUT there). A full ring parks the write until slots free.
 * - reads: when push() says the readable buffer is full the worker is told to PAUSE
 *   (data stays in the engine's receive buffer, the TCP window closes); _read RESUMEs.
 */
import * as dns from 'node:dns';
import * as nodeNet from 'node:net';
import { isIP, getDefaultAutoSelectFamily } from 'node:net';
import { ERRNO } from '@mcstack/netinet';
import {
  OP_CONNECT,
  OP_SHUT,
  OP_CLOSE,
  OP_PAUSE,
  OP_RESUME,
  OP_SETOPT,
  SOPT_NODELAY,
  SOPT_KEEPALIVE,
  WRITTEN_REPORT_BYTES,
} from '@mcstack/runtime/sockrec';
import type { SockHandoff } from '@mcstack/runtime/sockrec';
import type { Channel, ChannelPeer } from './channel.js';
import type { NetCore } from './netcore.js';
import { nodeError, systemError, codedError, type NodeSystemError } from './errors.js';
import { HandleRef } from './handleref.js';

/**
 * Bytes a socket may have in flight to its worker before write callbacks wait: at least
 * twice the worker's OP_WRITTEN step, so a held callback always has a report coming (sockrec.ts).
 */
export const WRITE_WINDOW = 4 * WRITTEN_REPORT_BYTES;

export interface SocketOptions {
  /** Keep the writable side open after the peer's FIN (default false, as node:net). */
  allowHalfOpen?: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

/** node:dns's lookup signature, as connect's `lookup` option takes it. */
export type LookupFunction = (
  hostname: string,
  options: dns.LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void,
) => void;

export interface SocketConnectOptions {
  port: number;
  host?: string;
  /** The stack's own address of that family (the worker binds it); another is EADDRNOTAVAIL. */
  localAddress?: string;
  /** The local port to bind first, as node:net's (EADDRINUSE, syscall 'bind', when taken); else the coordinator picks one. */
  localPort?: number;
  family?: number;
  hints?: number;
  /** Resolves `host` when it is not an IP address (node:dns's lookup by default). */
  lookup?: LookupFunction;
  autoSelectFamily?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
  /**
   * The routing table (FreeBSD's SO_SETFIB; not in node:net): 0 .. net.fibs-1, default 0.
   * Past net.fibs the socket is destroyed with EINVAL; not an integer ≥ 0 is ERR_OUT_OF_RANGE.
   */
  fib?: number;
}

/** The `fib` option of connect() and createServer(): a non-negative integer (the stack checks net.fibs). */
export function fibOption(fib: unknown): number {
  if (fib === undefined) return 0;
  if (typeof fib !== 'number' || !Number.isInteger(fib) || fib < 0 || fib > 0xffff)
    throw codedError(
      RangeError,
      'ERR_OUT_OF_RANGE',
      `The value of "options.fib" is out of range. It must be an integer from 0 to 65535. Received ${String(fib)}`,
    );
  return fib;
}

export interface AddressInfo {
  address: string;
  family: string;
  port: number;
}

/** An error of the connection, Node-shaped: code, errno (the host's, negative), syscall, address, port. */
export type SocketError = NodeSystemError;

/** The Node-style error for a FreeBSD errno that crossed from the worker. */
export function socketError(errno: number, syscall: string, address?: string, port?: number): SocketError {
  return nodeError(errno, syscall, address, port);
}

function familyOf(addr: string): string {
  return addr.includes(':') ? 'IPv6' : 'IPv4';
}

/**
 * A net.Socket without a handle (node:net's own machinery stays idle: no handle is ever
 * set) whose stream methods move data through the channel: `instanceof net.Socket` holds
 * and the type is assignable where Node code wants a net.Socket.
 */
export class Socket extends nodeNet.Socket implements ChannelPeer {
  // Own properties, shadowing node:net's getters that would read a handle.
  override remoteAddress: string | undefined = undefined;
  override remotePort: number | undefined = undefined;
  override remoteFamily: string | undefined = undefined;
  override localAddress: string | undefined = undefined;
  override localPort: number | undefined = undefined;
  override localFamily: string | undefined = undefined;
  /** Bytes received from the peer / accepted for sending (node:net's counters). */
  override bytesRead = 0;
  override bytesWritten = 0;
  /** An active open (or the lookup before it) is in progress. */
  override connecting = false;
  /** The idle timeout setTimeout() set, ms (undefined until then), as node:net's `socket.timeout`. */
  override timeout: number | undefined = undefined;
  /** The worker that holds the connection, or -1. */
  get worker(): number {
    return this.ch?.worker ?? -1;
  }

  private readonly net: NetCore;
  private ch: Channel | null = null;
  private sid = 0;
  /** Bytes given to the worker that the engine has not taken yet. */
  private inflight = 0;
  /** The write callback held while the window is full. */
  private writeCb: ((err?: Error | null) => void) | null = null;
  /** A write parked on a full ring (or on the connection): its chunks, where it stopped, its callback. */
  private parked: {
    chunks: Buffer | readonly Buffer[];
    k: number;
    off: number;
    cb: (err?: Error | null) => void;
  } | null = null;
  private finalCb: ((err?: Error | null) => void) | null = null;
  /** The worker was told to stop reading. */
  private pausedRead = false;
  /** The worker no longer knows this socket (it failed, or we closed it). */
  private detached = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private opts: { noDelay?: boolean; keepAlive?: boolean; keepAliveDelay?: number } = {};
  /** The FIB its connection routes in (SO_SETFIB in the worker before connect). */
  private fib = 0;
  /** Its share in the McNet's keep-alive from its open until 'close' (ref()'d by default). */
  private readonly keep = new HandleRef(
    (d) => this.net._hold(d),
    () => !this.destroyed && (this.ch !== null || this.connecting),
  );
  /**
   * A live handoff is moving the connection to another worker: writes, shutdown, reading
   * and close wait here (as while connecting) until it is served from its new channel.
   */
  private moving = false;
  /** The old channel's OP_MOVED (or the socket's failure) while moving. */
  private movedWait: (() => void) | null = null;
  /** A close asked for while moving (true: an abort), done on the new channel. */
  private closeAfterMove: boolean | null = null;
  /** The local address and port a connect binds first (node:net's localPort), reported by its EADDRINUSE. */
  private bindTo: [string, number] | null = null;

  constructor(net: NetCore, options: SocketOptions = {}) {
    // net.Socket makes the Duplex as node:net's sockets are: no decoding of strings,
    // autoDestroy, and 'close' emitted by _destroy with node:net's hadError argument.
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      readableHighWaterMark: options.readableHighWaterMark,
      writableHighWaterMark: options.writableHighWaterMark,
    } as nodeNet.SocketConstructorOpts);
    this.net = net;
  }

  // node:net declares these as properties (they are accessors there too): declared here as
  // properties as well, so the .d.ts stays assignable, and defined as getters on the prototype.
  /** 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed', as node:net. */
  declare readonly readyState: nodeNet.SocketReadyState;
  /** No connection yet (node:net's `pending`). */
  declare readonly pending: boolean;
  /** Bytes queued in this stream and not yet in the ring (node:net's deprecated bufferSize). */
  declare readonly bufferSize: number;

  /** readyState's value. */
  _readyState(): nodeNet.SocketReadyState {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** pending's value. */
  _pending(): boolean {
    return this.ch === null || this.connecting;
  }

  /**
   * connect(port[, host][, cb]) or connect({ port, host, lookup, ... }[, cb]): an active
   * open from one of the stack's workers (round robin); a host name is resolved first
   * ('lookup'). Then 'connect' and 'ready', or 'error' and 'close'.
   */
  override connect(
    port: number | string | SocketConnectOptions | nodeNet.SocketConnectOpts,
    host?: string | (() => void),
    cb?: () => void,
  ): this {
    if (
      (typeof port === 'object' && (port as { path?: unknown }).path) ||
      (typeof port === 'string' && !/^\d+$/.test(port))
    ) {
      // A path (IPC): the stack has none. A path that is null or empty is none, as node:net reads it (http.Agent passes null).
      const path = typeof port === 'object' ? (port as { path: string }).path : port;
      if (typeof host === 'function') this.once('connect', host);
      process.nextTick(() => this.destroy(systemError('EAFNOSUPPORT', 'connect', path)));
      return this;
    }
    const o = (typeof port === 'object' ? { ...port } : { port: Number(port) }) as SocketConnectOptions;
    if (typeof host === 'function') cb = host;
    else if (typeof host === 'string') o.host = host;
    const fport = typeof o.port === 'string' ? Number(o.port) : o.port;
    if (!Number.isInteger(fport) || fport <= 0 || fport > 65535) {
      throw codedError(
        RangeError,
        'ERR_SOCKET_BAD_PORT',
        `Port should be > 0 and < 65536. Received ${typeof o.port === 'number' ? o.port : `type ${typeof o.port} (${String(o.port)})`}.`,
      );
    }
    if (o.localPort !== undefined && typeof o.localPort !== 'number') {
      throw codedError(
        TypeError,
        'ERR_INVALID_ARG_TYPE',
        `The "options.localPort" property must be of type number. Received type ${typeof o.localPort} (${String(o.localPort)})`,
      );
    }
    this.fib = fibOption(o.fib);
    if (cb) this.once('connect', cb);
    if (this.ch !== null || this.connecting) {
      process.nextTick(() => this.destroy(socketError(ERRNO.EISCONN, 'connect')));
      return this;
    }
    if (o.noDelay) this.opts.noDelay = true;
    if (o.keepAlive) {
      this.opts.keepAlive = true;
      this.opts.keepAliveDelay = o.keepAliveInitialDelay ?? 0;
    }
    if (o.timeout) this.setTimeout(o.timeout);
    const name = o.host || 'localhost';
    this.connecting = true;
    this.keep.hold();
    if (isIP(name) !== 0) {
      this.open(name, fport, o.localAddress, o.localPort);
      return this;
    }
    // A name: resolve it as node:net does (its dns options, its 'lookup' event).
    const lookup = o.lookup ?? (dns.lookup as unknown as LookupFunction);
    const family = o.family === 4 || o.family === 6 ? o.family : 0;
    const dnsopts: dns.LookupOptions = { family, hints: o.hints ?? 0 };
    if (family === 0 && !o.hints && !o.localAddress) dnsopts.hints = dns.ADDRCONFIG;
    if (family === 0 && (o.autoSelectFamily ?? getDefaultAutoSelectFamily())) dnsopts.all = true;
    lookup(name, dnsopts, (err, address, fam) => {
      if (this.destroyed) return;
      if (err) {
        this.emit('lookup', err, undefined, undefined, name);
        process.nextTick(() => this.destroy(err));
        return;
      }
      let ip: string | undefined;
      let ipFamily = fam;
      if (Array.isArray(address)) {
        // The first address of a family the stack has (node:net would try each in turn).
        const usable = (a: dns.LookupAddress): boolean =>
          isIP(a.address) !== 0 && this.net._localAddress(a.family === 6 ? 6 : 4) !== undefined;
        const first = address.find(usable) ?? address.find((a) => isIP(a.address) !== 0);
        ip = first?.address;
        ipFamily = first?.family;
      } else ip = address;
      if (ip === undefined || isIP(ip) === 0) {
        const e = codedError(TypeError, 'ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(ip)}`);
        this.emit('lookup', e, ip, ipFamily, name);
        process.nextTick(() => this.destroy(e));
        return;
      }
      this.emit('lookup', null, ip, ipFamily ?? isIP(ip), name);
      this.open(ip, fport, o.localAddress, o.localPort);
    });
    return this;
  }

  /** The active open to `addr` (an IP address), once it is known. */
  private open(addr: string, fport: number, localAddress: string | undefined, localPort: number | undefined): void {
    this.remoteAddress = addr;
    this.remotePort = fport;
    this.remoteFamily = familyOf(addr);
    if (localAddress !== undefined) {
      // The worker binds the stack's address of the peer's family: any other cannot be had.
      const own = this.net._localAddress(addr.includes(':') ? 6 : 4);
      if (own !== undefined && own !== localAddress) {
        process.nextTick(() => this.destroy(socketError(ERRNO.EADDRNOTAVAIL, 'bind', localAddress)));
        return;
      }
    }
    // A chosen local port fixes the return 4-tuple, so the worker that owns it too (its
    // RSS bucket's): the open goes there. Otherwise any worker; the coordinator picks a
    // port that hashes home to it (docs/architecture.md, "Active opens hash home").
    const laddr = this.net._localAddress(addr.includes(':') ? 6 : 4);
    const lport = localPort ?? 0;
    const ch =
      lport !== 0 && laddr !== undefined
        ? this.net._channelFor({ laddr, lport, faddr: addr, fport })
        : (this.net._toeChannel?.(addr, fport) ?? this.net._pickChannel());
    if (ch === null) {
      process.nextTick(() => this.destroy(socketError(ERRNO.ENETDOWN, 'connect', addr, fport)));
      return;
    }
    this.bindTo = lport !== 0 ? [localAddress ?? (addr.includes(':') ? '::' : '0.0.0.0'), lport] : null;
    this.ch = ch;
    this.sid = ch.allocSid();
    ch.socks.set(this.sid, this);
    ch.control(OP_CONNECT, this.sid, fport, lport, this.fib, addr);
  }

  /** Bind this socket to a connection the worker accepted (Server's 'connection'). */
  _attach(ch: Channel, sid: number, tuple: string): void {
    this.ch = ch;
    this.sid = sid;
    ch.socks.set(sid, this);
    this.setTuple(tuple);
    this.keep.hold();
    // As node:net starts reading a new connection's handle: 'end' comes even if nobody reads.
    this.read(0);
  }

  override setNoDelay(noDelay = true): this {
    this.opts.noDelay = noDelay;
    if (this.ch && !this.connecting && !this.detached && !this.moving)
      this.ch.control(OP_SETOPT, this.sid, SOPT_NODELAY, noDelay ? 1 : 0);
    return this;
  }

  /** SO_KEEPALIVE, and TCP_KEEPIDLE from `initialDelay` ms (whole seconds, as the kernel takes it). */
  override setKeepAlive(enable = false, initialDelay = 0): this {
    this.opts.keepAlive = enable;
    this.opts.keepAliveDelay = initialDelay;
    if (this.ch && !this.connecting && !this.detached && !this.moving) {
      this.ch.control(OP_SETOPT, this.sid, SOPT_KEEPALIVE, enable ? 1 : 0, Math.floor(initialDelay / 1000));
    }
    return this;
  }

  /** Emit 'timeout' after `ms` without activity (0 disables), as node:net. */
  override setTimeout(ms: number, cb?: () => void): this {
    this.timeout = ms;
    if (cb) {
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (ms > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), ms);
      this.idleTimer.unref();
    }
    return this;
  }

  private active(): void {
    if (this.idleTimer) this.idleTimer.refresh();
  }

  override address(): AddressInfo | Record<string, never> {
    if (this.localAddress === undefined || this.localPort === undefined) return {};
    return {
      address: this.localAddress,
      family: this.localFamily ?? familyOf(this.localAddress),
      port: this.localPort,
    };
  }

  /** Close with an RST (SO_LINGER 0), as node:net's resetAndDestroy. */
  override resetAndDestroy(): this {
    if (this.moving && !this.detached) this.closeAfterMove = true;
    else if (this.ch && !this.detached) {
      this.detached = true;
      this.ch.socks.delete(this.sid);
      this.ch.control(OP_CLOSE, this.sid, 1);
    }
    return this.destroy();
  }

  /** End, and destroy once written (node:net's destroySoon). */
  override destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /**
   * node:net code that wraps a socket (tls.connect({ socket }), a TLS server on an accepted
   * socket) takes a net.Socket without a handle for one still connecting and waits for its
   * 'connect'. This one is connected without a handle: a 'connect' listener added once it
   * is connected is called on the next tick (once), where a kernel socket's handle would
   * have told that code there is nothing to wait for.
   */
  // biome-ignore lint/suspicious/noExplicitAny: node:net's listener type
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event as string, listener);
    if (event === 'connect' && this.ch !== null && !this.connecting && !this.destroyed) {
      process.nextTick(() => {
        // Still there (a once() wrapper removes itself when called).
        if (this.rawListeners('connect').includes(listener)) listener.call(this);
      });
    }
    return this;
  }

  // biome-ignore lint/suspicious/noExplicitAny: node:net's listener type
  override addListener(event: string | symbol, listener: (...args: any[]) => void): this {
    return this.on(event, listener);
  }

  /** Keep the process alive while this socket is (the default), as node:net's ref(). */
  override ref(): this {
    this.keep.ref();
    return this;
  }

  /** Let the process exit though this socket is open, as node:net's unref(). */
  override unref(): this {
    this.keep.unref();
    return this;
  }

  /* ---------------------------------------------------------------- Duplex */

  override _write(data: Buffer | string, enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const chunk = typeof data === 'string' ? Buffer.from(data, enc) : data;
    this.bytesWritten += chunk.length;
    this.active();
    this.sendChunks(chunk, 0, 0, cb);
  }

  /** Several chunks at once (cork/uncork, or written while one was held): they share records. */
  override _writev(
    list: { chunk: Buffer | string; encoding: BufferEncoding }[],
    cb: (err?: Error | null) => void,
  ): void {
    const chunks = list.map((c) => (typeof c.chunk === 'string' ? Buffer.from(c.chunk, c.encoding) : c.chunk));
    let total = 0;
    for (const c of chunks) total += c.length;
    this.bytesWritten += total;
    this.active();
    this.sendChunks(chunks, 0, 0, cb);
  }

  /**
   * Put `chunks` from byte `off` of `chunks[k]` into the ring. What does not fit (a full
   * ring, or no channel yet) waits where it is, not joined into one Buffer: a response's
   * header and 1 MiB body would be copied whole each time the ring filled. One write's
   * chunk comes alone, not in a list made for it each write.
   */
  private sendChunks(
    chunks: Buffer | readonly Buffer[],
    k: number,
    off: number,
    cb: (err?: Error | null) => void,
  ): void {
    const ch = this.ch;
    if (ch === null || this.connecting || this.moving) {
      this.parked = { chunks, k, off, cb };
      return;
    }
    if (this.detached) {
      cb();
      return;
    } // destroyed meanwhile: the error is already out
    const one = Buffer.isBuffer(chunks);
    const count = one ? 1 : chunks.length;
    for (; k < count; k++, off = 0) {
      const b = one ? chunks : chunks[k]!;
      const n = ch.data(this, this.sid, b, off, b.length - off);
      this.inflight += n;
      if (off + n < b.length) {
        this.parked = { chunks, k, off: off + n, cb };
        return;
      }
    }
    this.wrote(cb);
  }

  /** A write is in the ring: its callback now, or when the window has room. */
  private wrote(cb: (err?: Error | null) => void): void {
    this.parked = null;
    if (this.inflight <= WRITE_WINDOW) cb();
    else this.writeCb = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.ch === null || this.connecting || this.moving) {
      this.finalCb = cb;
      return;
    }
    if (!this.detached) this.ch.control(OP_SHUT, this.sid);
    cb();
  }

  override _read(): void {
    if (this.pausedRead && this.ch && !this.detached && !this.moving) {
      this.pausedRead = false;
      this.ch.control(OP_RESUME, this.sid);
    }
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    this.connecting = false;
    this.keep.letGo();
    if (this.moving && !this.detached) {
      // The connection is between workers: closed once it arrives.
      this.closeAfterMove ??= false;
      this.detached = true;
    } else if (this.ch && !this.detached) {
      this.detached = true;
      this.ch.socks.delete(this.sid);
      this.ch.control(OP_CLOSE, this.sid, 0);
    }
    const held = this.writeCb ?? this.parked?.cb ?? null;
    this.writeCb = null;
    this.parked = null;
    if (held) held(err);
    cb(err);
    // After the 'error' the callback schedules, as node:net emits it once its handle closed.
    process.nextTick(() => this.emit('close', err != null));
  }

  /* ---------------------------------------------------------------- from the channel */

  private setTuple(tuple: string): void {
    const [la, lp, fa, fp] = tuple.split(' ');
    if (la) {
      this.localAddress = la;
      this.localPort = Number(lp);
      this.localFamily = familyOf(la);
    }
    if (fa) {
      this.remoteAddress = fa;
      this.remotePort = Number(fp);
      this.remoteFamily = familyOf(fa);
    }
  }

  _onConnected(tuple: string): void {
    this.setTuple(tuple);
    this.connecting = false;
    if (this.opts.noDelay) this.setNoDelay(true);
    if (this.opts.keepAlive) this.setKeepAlive(true, this.opts.keepAliveDelay);
    this.active();
    this.emit('connect');
    this.emit('ready');
    if (!this.isPaused()) this.read(0);
    this.sendWaiting();
  }

  /** The write and the end() that waited for a channel (a connect, a move) go now. */
  private sendWaiting(): void {
    const p = this.parked;
    if (p) this.sendChunks(p.chunks, p.k, p.off, p.cb);
    const f = this.finalCb;
    if (f) {
      this.finalCb = null;
      this._final(f);
    }
  }

  _onData(buf: Buffer): void {
    if (this.destroyed) return;
    this.bytesRead += buf.length;
    this.active();
    if (!this.push(buf) && !this.pausedRead && this.ch && !this.detached && !this.moving) {
      this.pausedRead = true;
      this.ch.control(OP_PAUSE, this.sid);
    }
  }

  _onEnd(): void {
    if (this.destroyed) return;
    this.push(null);
    // node:net's onStreamRead: with nothing buffered, 'end' now even if nobody reads.
    this.read(0);
  }

  _onError(errno: number): void {
    this.detached = true;
    this.movedWait?.();
    if (this.destroyed) return;
    if (errno === 0) {
      this.destroy();
      return;
    }
    // node:net binds a chosen local port before connecting: that bind's EADDRINUSE is a 'bind' error.
    const bind = this.connecting && errno === ERRNO.EADDRINUSE ? this.bindTo : null;
    const err = bind
      ? nodeError(errno, 'bind', bind[0], bind[1], false)
      : this.connecting
        ? socketError(errno, 'connect', this.remoteAddress, this.remotePort)
        : socketError(errno, errno === ERRNO.EPIPE ? 'write' : 'read'); // node:net's syscall for each
    this.destroy(err);
  }

  _onWritten(bytes: number): void {
    this.inflight -= bytes;
    const cb = this.writeCb;
    if (cb !== null && this.inflight <= WRITE_WINDOW) {
      this.writeCb = null;
      cb();
    }
  }

  _onRingSpace(): void {
    const p = this.parked;
    if (p && !this.connecting && !this.moving) this.sendChunks(p.chunks, p.k, p.off, p.cb);
  }

  /** The socket's id on its channel's rings. */
  _sid(): number {
    return this.sid;
  }

  _onMoved(written: number): void {
    this._onWritten(written);
    this.movedWait?.();
  }

  /**
   * Live handoff (docs/toe.md): the connection moves from its worker to the one behind
   * channel `to`. What this side writes meanwhile waits; `out` takes the connection out of
   * the old worker (after the records already in its ring), the old channel's OP_MOVED
   * closes its stream of records there, and only then `into` imports it in the new worker
   * under a fresh id on `to`, so no byte is read or written twice or lost. When the import
   * fails the connection goes back in (`into` with the old channel); when that fails too
   * the socket is destroyed with the error.
   */
  async _handoff(
    to: Channel,
    out: () => Promise<SockHandoff>,
    into: (h: SockHandoff, ch: Channel, sid: number) => Promise<void>,
  ): Promise<void> {
    const from = this.ch;
    if (from === null || this.connecting || this.detached || this.moving || this.destroyed)
      throw new Error('EINVAL: the socket has no established connection to move');
    if (from === to) return;
    this.moving = true;
    const moved = new Promise<void>((r) => {
      this.movedWait = r;
    });
    // The worker applies every record written so far before it exports.
    from.publish();
    let h: SockHandoff;
    try {
      h = await out();
    } catch (e) {
      this.movedWait = null;
      this.moved(from, this.sid);
      throw e;
    }
    await moved;
    this.movedWait = null;
    // Closed, or its old worker died, meanwhile: it arrives only to be reset.
    if (this.detached && this.closeAfterMove === null) this.closeAfterMove = true;
    let err: unknown = null;
    for (const ch of [to, from]) {
      if (ch.dead) continue;
      const sid = ch.allocSid();
      ch.socks.set(sid, this);
      let ok = false;
      try {
        await into(h, ch, sid);
        ok = true;
      } catch (e) {
        if (ch.socks.get(sid) === this) ch.socks.delete(sid);
        err ??= e;
      }
      if (ok) {
        this.moved(ch, sid);
        if (ch !== to) throw err;
        return;
      }
    }
    this.moving = false;
    this.detached = true;
    if (!this.destroyed) this.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }

  /** The connection is served by `ch` as `sid`: what waited goes there. */
  private moved(ch: Channel, sid: number): void {
    this.ch = ch;
    this.sid = sid;
    this.moving = false;
    const close = this.closeAfterMove;
    if (close !== null) {
      this.closeAfterMove = null;
      ch.socks.delete(sid);
      ch.control(OP_CLOSE, sid, close ? 1 : 0);
      return;
    }
    if (this.pausedRead && this.readableLength < this.readableHighWaterMark) this._read();
    this.sendWaiting();
  }
}

Object.defineProperties(Socket.prototype, {
  readyState: {
    get(this: Socket) {
      return this._readyState();
    },
    configurable: true,
  },
  pending: {
    get(this: Socket) {
      return this._pending();
    },
    configurable: true,
  },
  bufferSize: {
    get(this: Socket) {
      return this.writableLength;
    },
    configurable: true,
  },
});
