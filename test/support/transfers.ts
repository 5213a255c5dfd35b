/**
 * Poll-driven applications on an Engine for interop tests (the shape of sim/bulk.ts's
 * pump): each `poll()` makes what progress non-blocking calls allow. Every transfer is
 * one connection: the client sends `send` bytes and half-closes; the server reads to
 * EOF, then sends `reply` bytes and closes; the client reads to EOF and closes. Both
 * ends hash what they send and receive (SHA-256), to compare with the peer's hashes.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Engine } from '@mcstack/netinet';
import {
  ERRNO,
  IPPROTO_TCP,
  SeededRandom,
  SHUT_WR,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_SNDBUF,
  TCP_MD5SIG,
} from '@mcstack/netinet';

export interface Transfer {
  /** Client → server bytes, and server → client bytes. */
  send: number;
  reply: number;
  /** Seed of the data pattern (each side makes its own). */
  seed: number;
}

export interface TransferResult {
  i: number;
  sent: number;
  sentSha: string;
  received: number;
  receivedSha: string;
}

/** Seeded transfer sizes, uniform in [0, max]. */
export function planTransfers(seed: number, count: number, max: number): Transfer[] {
  const r = new SeededRandom(seed);
  const out: Transfer[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ send: r.below(max + 1), reply: r.below(max + 1), seed: (seed * 1000 + i) >>> 0 });
  }
  return out;
}

/** Socket buffers for a path with a real RTT (the 32/64 KiB defaults cap it at a few MB/s). */
export const SOCKBUF = 1 << 20;

/** One stream: send `n` bytes of a seeded pattern, read to EOF, hashing both. */
class Stream {
  readonly hs: Hash = createHash('sha256');
  readonly hr: Hash = createHash('sha256');
  sent = 0;
  received = 0;
  shut = false;
  eof = false;
  private readonly pattern: Uint8Array;
  constructor(
    readonly e: Engine,
    readonly fd: number,
    readonly n: number,
    seed: number,
  ) {
    this.pattern = new SeededRandom(seed).fill(new Uint8Array(65521));
  }

  /** Write what the send buffer takes; half-close once all is written when `fin`. Returns an errno or 0. */
  write(fin: boolean): number {
    while (this.sent < this.n) {
      const at = this.sent % this.pattern.length;
      const w = this.e.send(this.fd, this.pattern, at, Math.min(this.n - this.sent, this.pattern.length - at));
      if (w === -ERRNO.EAGAIN || w === 0) return 0;
      if (w < 0) return w;
      this.hs.update(this.pattern.subarray(at, at + w));
      this.sent += w;
    }
    if (fin && !this.shut) {
      const r = this.e.shutdown(this.fd, SHUT_WR);
      if (r < 0) return r;
      this.shut = true;
    }
    return 0;
  }

  read(buf: Uint8Array): number {
    for (;;) {
      const r = this.e.recv(this.fd, buf, 0, buf.length);
      if (r > 0) {
        this.hr.update(buf.subarray(0, r));
        this.received += r;
        continue;
      }
      if (r === 0) {
        this.eof = true;
        return 0;
      }
      return r === -ERRNO.EAGAIN ? 0 : r;
    }
  }

  result(i: number): TransferResult {
    return {
      i,
      sent: this.sent,
      sentSha: this.hs.digest('hex'),
      received: this.received,
      receivedSha: this.hr.digest('hex'),
    };
  }
}

/** Socket options of either side: buffers, and TCP_MD5SIG when the connection is to be signed. */
export interface TransferOptions {
  md5?: boolean;
}

function bufs(e: Engine, fd: number, o: TransferOptions): void {
  e.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, SOCKBUF);
  e.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, SOCKBUF);
  if (o.md5) e.setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, 1);
}

/** The server side of a list of transfers: accepts them in order. */
export class TransferServer {
  readonly results: TransferResult[] = [];
  error: string | null = null;
  /** fd of the connection in progress (for tcpInfo), -1 between connections. */
  current = -1;
  private readonly lfd: number;
  private stream: Stream | null = null;
  private readonly buf = new Uint8Array(1 << 16);

  constructor(
    readonly e: Engine,
    family: 'inet' | 'inet6',
    addr: string,
    port: number,
    readonly plan: Transfer[],
    opts: TransferOptions = {},
  ) {
    this.lfd = e.socket(family, 'stream');
    bufs(e, this.lfd, opts); // inherited by accepted connections, so the SYN-ACK offers the window scale they need
    const b = e.bind(this.lfd, { addr, port });
    if (b < 0) throw new Error(`bind ${addr}:${port}: errno ${-b}`);
    const l = e.listen(this.lfd, 8);
    if (l < 0) throw new Error(`listen: errno ${-l}`);
  }

  get done(): boolean {
    return this.error !== null || this.results.length === this.plan.length;
  }

  poll = (): void => {
    if (this.done) return;
    if (!this.stream) {
      const a = this.e.accept(this.lfd);
      if (a === -ERRNO.EAGAIN) return;
      if (a < 0) {
        this.error = `accept: errno ${-a}`;
        return;
      }
      const t = this.plan[this.results.length]!;
      this.stream = new Stream(this.e, a, t.reply, t.seed);
      this.current = a;
    }
    const s = this.stream;
    let r = s.read(this.buf);
    if (r < 0) {
      this.error = `server recv: errno ${-r}`;
      return;
    }
    if (!s.eof) return;
    r = s.write(true);
    if (r < 0) {
      this.error = `server send: errno ${-r}`;
      return;
    }
    if (!s.shut) return;
    this.e.close(s.fd);
    this.results.push(s.result(this.results.length));
    this.stream = null;
    this.current = -1;
    if (this.done) this.e.close(this.lfd);
  };
}

/** The client side: one connection after another. */
export class TransferClient {
  readonly results: TransferResult[] = [];
  error: string | null = null;
  current = -1;
  private stream: Stream | null = null;
  private readonly buf = new Uint8Array(1 << 16);

  constructor(
    readonly e: Engine,
    readonly family: 'inet' | 'inet6',
    readonly addr: string,
    readonly port: number,
    readonly plan: Transfer[],
    readonly opts: TransferOptions = {},
  ) {}

  get done(): boolean {
    return this.error !== null || this.results.length === this.plan.length;
  }

  /** True when a transfer ended: the next one starts on the next pass. */
  poll = (): boolean => {
    if (this.done) return false;
    if (!this.stream) {
      const t = this.plan[this.results.length]!;
      const fd = this.e.socket(this.family, 'stream');
      bufs(this.e, fd, this.opts);
      const c = this.e.connect(fd, { addr: this.addr, port: this.port });
      if (c < 0 && c !== -ERRNO.EINPROGRESS) {
        this.error = `connect: errno ${-c}`;
        return false;
      }
      this.stream = new Stream(this.e, fd, t.send, t.seed);
      this.current = fd;
    }
    const s = this.stream;
    let r = s.write(true);
    if (r === -ERRNO.ENOTCONN) r = 0; // not established yet
    if (r < 0) {
      this.error = `client send: errno ${-r} (transfer ${this.results.length})`;
      return false;
    }
    r = s.read(this.buf);
    if (r === -ERRNO.ENOTCONN) r = 0;
    if (r < 0) {
      this.error = `client recv: errno ${-r} (transfer ${this.results.length})`;
      return false;
    }
    if (!s.eof || !s.shut) return false;
    this.e.close(s.fd);
    this.results.push(s.result(this.results.length));
    this.stream = null;
    this.current = -1;
    return !this.done;
  };
}
