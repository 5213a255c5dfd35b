/**
 * mcdgram(stack): a node:dgram-like module bound to a runtime Stack (created with
 * withNet()), so code written for node:dgram runs over mcstack with `dgram` swapped:
 *
 *   const dgram = mcdgram(stack);
 *   const s = dgram.createSocket('udp4', (msg, rinfo) => ...);
 *   s.bind(5353, () => s.send('hi', 5353, '10.0.0.2'));
 *
 * A socket is bound in every group worker (the worker half is sockapp_udp.ts): RSS may
 * bring its datagrams to any of them, and each comes up as one 'message'. Datagrams to one
 * destination leave from one worker, in the order they were sent. Behaviour follows
 * node:dgram: implicit bind on the first send, 'listening'/'connect'/'close'/'error'
 * events, ERR_SOCKET_* errors for misuse, system errors as Node's. Sizes follow FreeBSD
 * (net.inet.udp.maxdgram, 9216 bytes by default: larger sends fail with EMSGSIZE).
 * Multicast membership is not in the engine: those calls throw EOPNOTSUPP. A `fib` option
 * (FreeBSD's SO_SETFIB, as mcnet's) routes the socket's datagrams in another routing table.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import { ERRNO } from '@mcstack/netinet';
import {
  OP_UDP_BIND,
  OP_UDP_CLOSE,
  OP_UDP_SETOPT,
  UDPF_REUSEADDR,
  UDPF_V6ONLY,
  UDPF_FIB_SHIFT,
  UOPT_BROADCAST,
  UOPT_TTL,
  UOPT_TOS,
  UOPT_RCVBUF,
  UOPT_SNDBUF,
} from '@mcstack/runtime/sockrec';
import type { Channel, UdpPeer } from './channel.js';
import { mcnet, type McNet, type NetHost } from './net.js';
import { codedError, nodeError, systemError } from './errors.js';
import { fibOption } from './socket.js';
import { GroupBind, PENDING } from './groupbind.js';
import { HandleRef } from './handleref.js';

export type SocketType = 'udp4' | 'udp6';

export interface SocketOptions {
  type: SocketType;
  reuseAddr?: boolean;
  ipv6Only?: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
  /**
   * The routing table (FreeBSD's SO_SETFIB; not in node:dgram): 0 .. net.fibs-1, default 0.
   * Past net.fibs the bind fails with EINVAL; not an integer ≥ 0 is ERR_OUT_OF_RANGE.
   */
  fib?: number;
  lookup?: (
    hostname: string,
    options: { family: number },
    cb: (err: Error | null, address: string, family: number) => void,
  ) => void;
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export interface BindOptions {
  port?: number;
  address?: string;
  exclusive?: boolean;
}

type SendCallback = (error: Error | null, bytes: number) => void;
type MessageListener = (msg: Buffer, rinfo: RemoteInfo) => void;

/** The per-stack state of the dgram module: its channels, and every socket by id. */
class DgramCore {
  readonly socks = new Map<number, UdpPeer>();
  private nextId = -1;
  constructor(readonly net: McNet) {
    for (const ch of net._channels()) ch.udp = this.socks;
  }
  allocId(): number {
    const id = this.nextId;
    this.nextId = this.nextId === -0x7fffffff ? -1 : this.nextId - 1;
    return id;
  }
}

enum State {
  Unbound,
  Binding,
  Bound,
  Closed,
}

export class Socket extends EventEmitter implements UdpPeer {
  readonly type: SocketType;
  private readonly family: 4 | 6;
  private readonly core: DgramCore;
  private readonly opts: SocketOptions;
  /** The socket's id on every channel (a new one after a failed bind: late answers to the old one are ignored). */
  private id: number;
  /** Channels yet to confirm a close. */
  private closing: Set<Channel> | null = null;
  private state = State.Unbound;
  private bound: { address: string; family: 'IPv4' | 'IPv6'; port: number } | null = null;
  private remote: { address: string; port: number } | null = null;
  private connecting = false;
  /** The bind in every worker (port 0: one first, then the rest on its port). */
  private readonly groups = new GroupBind((ch, port) =>
    ch.control(OP_UDP_BIND, this.id, port, this.family, this.flags(), this.bindAddr),
  );
  private bindPort = 0;
  private bindAddr = '';
  /** Sends made before the bind completed, in order. */
  private queue: (() => void)[] = [];
  private readonly sends = new Map<number, SendCallback>();
  private nextSend = 1;
  /** Its share in the McNet's keep-alive while bound or binding (ref()'d by default). */
  private readonly keep = new HandleRef(
    (d) => this.core.net._hold(d),
    () => this.state === State.Binding || this.state === State.Bound,
  );
  /** The FIB its datagrams route in (SO_SETFIB in every worker before bind). */
  private readonly fib: number;
  /** Buffer sizes asked for (createSocket's options, set*BufferSize), 0: the worker's. */
  private rcvBuf = 0;
  private sndBuf = 0;
  /** The sizes the worker's socket had at bind (SO_RCVBUF/SO_SNDBUF). */
  private rcvBufBound = 0;
  private sndBufBound = 0;
  /** Sends waiting for the bind (node's send queue: not handed to a worker yet). */
  private queuedSends = 0;
  private queuedBytes = 0;

  constructor(core: DgramCore, opts: SocketOptions, listener?: MessageListener) {
    super();
    if (opts.type !== 'udp4' && opts.type !== 'udp6') {
      throw codedError(TypeError, 'ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4, udp6');
    }
    this.type = opts.type;
    this.family = opts.type === 'udp4' ? 4 : 6;
    this.core = core;
    this.opts = opts;
    this.id = core.allocId();
    this.fib = fibOption(opts.fib);
    if (opts.recvBufferSize !== undefined) this.rcvBuf = bufferSizeOption(opts.recvBufferSize);
    if (opts.sendBufferSize !== undefined) this.sndBuf = bufferSizeOption(opts.sendBufferSize);
    if (listener) this.on('message', listener);
  }

  /* ---------------------------------------------------------------- bind */

  bind(port?: number | BindOptions | (() => void), address?: string | (() => void), cb?: () => void): this {
    let o: BindOptions;
    if (typeof port === 'object' && port !== null) {
      o = port;
      if (typeof address === 'function') cb = address;
    } else {
      if (typeof port === 'function') {
        cb = port;
        port = undefined;
      }
      if (typeof address === 'function') {
        cb = address;
        address = undefined;
      }
      o = { port: port as number | undefined, address: address as string | undefined };
    }
    if (this.state !== State.Unbound) throw codedError(Error, 'ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    const p = o.port ?? 0;
    if (!Number.isInteger(p) || p < 0 || p > 65535) {
      throw codedError(
        RangeError,
        'ERR_SOCKET_BAD_PORT',
        `Port should be >= 0 and < 65536. Received ${String(o.port)}.`,
      );
    }
    if (cb) this.once('listening', cb);
    this.state = State.Binding;
    this.resolve(o.address, (err, addr) => {
      if (this.state !== State.Binding) return;
      if (err) {
        this.state = State.Unbound;
        this.emit('error', err);
        return;
      }
      this.startBind(p, addr);
    });
    return this;
  }

  private startBind(port: number, addr: string): void {
    const chans = this.core.net._channels();
    if (chans.length === 0) {
      process.nextTick(() => this.bindFailed(ERRNO.ENETDOWN));
      return;
    }
    this.core.socks.set(this.id, this);
    this.keep.hold();
    this.bindPort = port;
    this.bindAddr = addr;
    this.groups.start(chans, port);
  }

  private flags(): number {
    return (
      (this.opts.reuseAddr ? UDPF_REUSEADDR : 0) | (this.opts.ipv6Only ? UDPF_V6ONLY : 0) | (this.fib << UDPF_FIB_SHIFT)
    );
  }

  _onBound(ch: Channel, errno: number, bound: string, rcvbuf: number, sndbuf: number): void {
    if (this.state !== State.Binding) {
      // Closed meanwhile: this worker's socket goes too.
      if (errno === 0) ch.control(OP_UDP_CLOSE, this.id);
      return;
    }
    if (errno === 0 && this.bound === null) {
      const [address = '', port = '0'] = bound.split(' ');
      this.bound = { address, family: this.family === 4 ? 'IPv4' : 'IPv6', port: Number(port) };
      this.rcvBufBound = rcvbuf;
      this.sndBufBound = sndbuf;
    }
    const r = this.groups.answer(ch, errno, this.bound?.port ?? 0, this.core.net._channels());
    if (r === PENDING) return;
    if (r !== 0) {
      this.bindFailed(r);
      return;
    }
    this.state = State.Bound;
    // The sizes asked for before the bind apply before the first datagram goes.
    if (this.rcvBuf > 0) this.setopt(UOPT_RCVBUF, this.rcvBuf);
    if (this.sndBuf > 0) this.setopt(UOPT_SNDBUF, this.sndBuf);
    this.emit('listening');
    const q = this.queue;
    this.queue = [];
    for (const f of q) f();
  }

  private bindFailed(errno: number): void {
    for (const ch of this.core.net._channels()) ch.control(OP_UDP_CLOSE, this.id);
    this.core.socks.delete(this.id);
    this.id = this.core.allocId();
    this.keep.letGo();
    this.state = State.Unbound;
    const port = this.bindPort;
    this.bound = null;
    const q = this.queue;
    this.queue = [];
    const err = nodeError(errno, 'bind', this.bindAddr || this.wildcard(), port);
    this.emit('error', err);
    for (const f of q) f(); // their callbacks fail: the socket is not bound
  }

  private wildcard(): string {
    return this.family === 4 ? '0.0.0.0' : '::';
  }

  /* ---------------------------------------------------------------- send */

  send(msg: unknown, ...args: unknown[]): void {
    let cb: SendCallback | undefined;
    if (typeof args[args.length - 1] === 'function') cb = args.pop() as SendCallback;
    let bufs = toBuffers(msg);
    let port: number | undefined;
    let address: string | undefined;
    if (typeof args[0] === 'number' && typeof args[1] === 'number' && args.length >= 2 && !Array.isArray(msg)) {
      // send(msg, offset, length[, port][, address])
      const [off, len] = args as [number, number];
      const b = bufs[0]!;
      if (off < 0 || len < 0 || off + len > b.length) {
        throw codedError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', 'Attempt to access memory outside buffer bounds');
      }
      bufs = [b.subarray(off, off + len)];
      args = args.slice(2);
    }
    port = args[0] as number | undefined;
    address = args[1] as string | undefined;
    if (this.remote !== null) {
      if (port !== undefined && port !== null)
        throw codedError(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
      port = this.remote.port;
      address = this.remote.address;
    }
    checkPort(port);
    if (this.state === State.Closed) throw codedError(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    const go = (): void => {
      if (this.state !== State.Bound) {
        cb?.(nodeError(ERRNO.EBADF, 'send', address, port), 0);
        return;
      }
      this.resolve(address, (err, addr) => {
        // Closed while the name resolved: nothing more goes out.
        if (this.state !== State.Bound) {
          cb?.(nodeError(ERRNO.EBADF, 'send', address, port), 0);
          return;
        }
        if (err) {
          if (cb) cb(err, 0);
          else this.emit('error', err);
          return;
        }
        this.sendTo(bufs, port, addr, cb);
      });
    };
    if (this.state === State.Unbound) this.bind({ port: 0 });
    if (this.state !== State.Binding) {
      go();
      return;
    }
    let bytes = 0;
    for (const b of bufs) bytes += b.length;
    this.queuedSends++;
    this.queuedBytes += bytes;
    this.queue.push(() => {
      this.queuedSends--;
      this.queuedBytes -= bytes;
      go();
    });
  }

  private sendTo(bufs: Uint8Array[], port: number, address: string, cb?: SendCallback): void {
    const ch = this.core.net._channelFor({
      laddr: this.bound?.address ?? '',
      lport: this.bound?.port ?? 0,
      faddr: address,
      fport: port,
    });
    if (ch === null) {
      this.sendFailed(ERRNO.ENETDOWN, address, port, cb);
      return;
    }
    let id = 0;
    if (cb) {
      id = this.nextSend;
      this.nextSend = this.nextSend >= 0x7fffffff ? 1 : this.nextSend + 1;
      this.sends.set(id, cb);
    }
    if (ch.datagram(this.id, port, isIP(address) === 6 ? 6 : 4, address, bufs, id) < 0) {
      if (id !== 0) this.sends.delete(id);
      this.sendFailed(ERRNO.EMSGSIZE, address, port, cb);
    }
  }

  private sendFailed(errno: number, address: string, port: number, cb?: SendCallback): void {
    const err = nodeError(errno, 'send', address, port);
    process.nextTick(() => {
      if (cb) cb(err, 0);
      else this.emit('error', err);
    });
  }

  _onSent(errno: number, id: number, bytes: number): void {
    // A closed socket emits nothing more (its callbacks were failed at close).
    if (this.state === State.Closed) return;
    const cb = id !== 0 ? this.sends.get(id) : undefined;
    if (id !== 0) this.sends.delete(id);
    if (errno === 0) {
      cb?.(null, bytes);
      return;
    }
    const err = nodeError(errno, 'send', this.remote?.address, this.remote?.port);
    if (cb) cb(err, 0);
    else this.emit('error', err);
  }

  _onMessage(buf: Buffer, address: string, port: number, family: 4 | 6): void {
    if (this.state !== State.Bound) return;
    // A connected socket takes datagrams from its peer only (udp_input's connected match).
    if (this.remote !== null && (this.remote.port !== port || this.remote.address !== address)) return;
    this.emit('message', buf, { address, family: family === 4 ? 'IPv4' : 'IPv6', port, size: buf.length });
  }

  /* ---------------------------------------------------------------- connect */

  connect(port: number, address?: string | (() => void), cb?: () => void): void {
    if (typeof address === 'function') {
      cb = address;
      address = undefined;
    }
    if (this.remote !== null || this.connecting)
      throw codedError(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    checkPort(port);
    if (cb) this.once('connect', cb);
    this.connecting = true;
    const go = (): void => {
      this.resolve(address as string | undefined, (err, addr) => {
        this.connecting = false;
        if (err) {
          this.emit('error', err);
          return;
        }
        this.remote = { address: addr, port };
        this.emit('connect');
      });
    };
    if (this.state === State.Unbound) this.bind({ port: 0 });
    if (this.state === State.Binding) this.queue.push(go);
    else go();
  }

  disconnect(): void {
    if (this.remote === null) throw codedError(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    this.remote = null;
  }

  remoteAddress(): { address: string; family: 'IPv4' | 'IPv6'; port: number } {
    const r = this.remote;
    if (r === null) throw codedError(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    return { address: r.address, family: isIP(r.address) === 6 ? 'IPv6' : 'IPv4', port: r.port };
  }

  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } {
    if (this.state !== State.Bound || this.bound === null)
      throw codedError(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    return { ...this.bound };
  }

  /* ---------------------------------------------------------------- close, ref */

  close(cb?: () => void): this {
    if (this.state === State.Closed) throw codedError(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    if (cb) this.once('close', cb);
    const was = this.state;
    this.state = State.Closed;
    for (const [, f] of this.sends) f(nodeError(ERRNO.EBADF, 'send'), 0);
    this.sends.clear();
    const chans = was === State.Unbound ? [] : this.core.net._channels();
    if (chans.length === 0) {
      this.closed();
      return this;
    }
    // 'close' once every worker closed its socket and gave its share of the port back, so
    // the port is free when the callback runs, as after node:dgram's close.
    this.closing = new Set(chans);
    for (const ch of chans) ch.control(OP_UDP_CLOSE, this.id);
    return this;
  }

  _onClosed(ch: Channel): void {
    const c = this.closing;
    if (c === null || !c.delete(ch) || c.size > 0) return;
    this.closing = null;
    this.closed();
  }

  private closed(): void {
    this.core.socks.delete(this.id);
    this.keep.letGo();
    process.nextTick(() => this.emit('close'));
  }

  ref(): this {
    this.keep.ref();
    return this;
  }

  unref(): this {
    this.keep.unref();
    return this;
  }

  /* ---------------------------------------------------------------- options */

  private running(syscall: string): void {
    if (this.state !== State.Bound) throw systemError('EBADF', syscall);
  }

  private setopt(opt: number, value: number): void {
    for (const ch of this.core.net._channels()) ch.control(OP_UDP_SETOPT, this.id, opt, value);
  }

  setBroadcast(flag: boolean): void {
    this.running('setBroadcast');
    this.setopt(UOPT_BROADCAST, flag ? 1 : 0);
  }

  setTTL(ttl: number): number {
    if (typeof ttl !== 'number')
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "ttl" argument must be of type number.');
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw systemError('EINVAL', 'setTTL');
    this.running('setTTL');
    this.setopt(UOPT_TTL, ttl);
    return ttl;
  }

  setTOS(tos: number): void {
    if (!Number.isInteger(tos) || tos < 0 || tos > 255) throw systemError('EINVAL', 'setTOS');
    this.running('setTOS');
    this.setopt(UOPT_TOS, tos);
  }

  setRecvBufferSize(size: number): void {
    this.bufferSize(size, 'recv');
  }

  setSendBufferSize(size: number): void {
    this.bufferSize(size, 'send');
  }

  getRecvBufferSize(): number {
    this.running('uv_recv_buffer_size');
    return this.rcvBuf > 0 ? this.rcvBuf : this.rcvBufBound;
  }

  getSendBufferSize(): number {
    this.running('uv_send_buffer_size');
    return this.sndBuf > 0 ? this.sndBuf : this.sndBufBound;
  }

  private bufferSize(size: number, which: 'recv' | 'send'): void {
    bufferSizeOption(size);
    this.running(`uv_${which}_buffer_size`);
    if (which === 'recv') this.rcvBuf = size;
    else this.sndBuf = size;
    this.setopt(which === 'recv' ? UOPT_RCVBUF : UOPT_SNDBUF, size);
  }

  /** Bytes of the sends not handed to a worker yet (made before the bind completed), as libuv's queue. */
  getSendQueueSize(): number {
    return this.queuedBytes;
  }

  /** Sends not handed to a worker yet. */
  getSendQueueCount(): number {
    return this.queuedSends;
  }

  /** Multicast is not in the engine (no IP_ADD_MEMBERSHIP): refused, never pretended. */
  addMembership(_group?: string, _iface?: string): never {
    throw systemError('EOPNOTSUPP', 'addMembership');
  }
  dropMembership(): never {
    throw systemError('EOPNOTSUPP', 'dropMembership');
  }
  addSourceSpecificMembership(): never {
    throw systemError('EOPNOTSUPP', 'addSourceSpecificMembership');
  }
  dropSourceSpecificMembership(): never {
    throw systemError('EOPNOTSUPP', 'dropSourceSpecificMembership');
  }
  setMulticastTTL(): never {
    throw systemError('EOPNOTSUPP', 'setMulticastTTL');
  }
  setMulticastLoopback(): never {
    throw systemError('EOPNOTSUPP', 'setMulticastLoopback');
  }
  setMulticastInterface(): never {
    throw systemError('EOPNOTSUPP', 'setMulticastInterface');
  }

  /* ---------------------------------------------------------------- names */

  /** An address text or a host name through `lookup` (node:dns by default); no address: the loopback, as node:dgram. */
  private resolve(address: string | undefined, cb: (err: Error | null, addr: string) => void): void {
    if (address === undefined || address === '') {
      process.nextTick(cb, null, this.bound === null ? '' : this.family === 4 ? '127.0.0.1' : '::1');
      return;
    }
    if (isIP(address) !== 0) {
      process.nextTick(cb, null, address);
      return;
    }
    const lookup = this.opts.lookup ?? dnsLookup;
    lookup(address, { family: this.family }, (err, addr) => {
      if (err) {
        const e = err as Error & { hostname?: string };
        e.hostname ??= address;
        cb(e, '');
      } else cb(null, addr);
    });
  }
}

/** A buffer size as node:dgram checks it (a positive integer). */
function bufferSizeOption(size: unknown): number {
  if (typeof size === 'number' && Number.isInteger(size) && size > 0 && size <= 0x7fffffff) return size;
  throw codedError(TypeError, 'ERR_SOCKET_BUFFER_SIZE', 'Buffer size must be a positive integer');
}

/** A destination port as node:dgram checks it (1..65535), with its words. */
function checkPort(port: unknown): asserts port is number {
  if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65535) return;
  const got = port === undefined ? 'undefined' : `type ${typeof port} (${String(port)})`;
  throw codedError(RangeError, 'ERR_SOCKET_BAD_PORT', `Port should be > 0 and < 65536. Received ${got}.`);
}

/** Messages as buffers: a Buffer/TypedArray/DataView, a string, or an array of those. */
function toBuffers(msg: unknown): Uint8Array[] {
  const one = (m: unknown): Uint8Array => {
    if (typeof m === 'string') return Buffer.from(m);
    if (m instanceof Uint8Array) return m;
    if (ArrayBuffer.isView(m)) return new Uint8Array(m.buffer, m.byteOffset, m.byteLength);
    throw codedError(
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'The "buffer" argument must be of type string or an instance of Buffer, TypedArray, or DataView.',
    );
  };
  return Array.isArray(msg) ? msg.map(one) : [one(msg)];
}

/** The node:dgram-like module of one stack. */
export class McDgram {
  readonly Socket: new (
    opts: SocketOptions,
    listener?: MessageListener,
  ) => Socket;
  private readonly core: DgramCore;

  constructor(net: McNet) {
    const core = new DgramCore(net);
    this.core = core;
    this.Socket = class extends Socket {
      constructor(opts: SocketOptions, listener?: MessageListener) {
        super(core, opts, listener);
      }
    };
  }

  /** createSocket(type | options[, listener]) */
  createSocket(type: SocketType | SocketOptions, listener?: MessageListener): Socket {
    return new this.Socket(typeof type === 'string' ? { type } : type, listener);
  }

  /** dgram sockets bound now. */
  get sockets(): number {
    return this.core.socks.size;
  }
}

const dgrams = new WeakMap<McNet, McDgram>();

/** The node:dgram-like module of `stack` (one per stack; it shares mcnet(stack)'s rings). */
export function mcdgram(stack: NetHost): McDgram {
  const net = mcnet(stack);
  let d = dgrams.get(net);
  if (d === undefined) {
    d = new McDgram(net);
    dgrams.set(net, d);
  }
  return d;
}
