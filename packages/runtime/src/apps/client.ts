/**
 * What the workload clients share: this worker's share of the connections, active opens
 * through the coordinator (ports aligned to this worker), a work list fed by upcalls, and
 * request/response transactions: write the request, read exactly the expected response.
 * Protocols: 'echo' (a request of `size` bytes comes back as is), 'discard' (nothing comes
 * back: a transaction is the request written) and 'http' (http-lite: `GET /<size>`, the
 * fixed header and `size` body bytes).
 */
import { ERRNO } from '@mcstack/netinet';
import type { AppContext, GroupApp } from './app.js';
import { ReadySet } from './ready.js';
import { httpLiteHeader } from './http-lite.js';

export interface Txn {
  fd: number;
  sent: number;
  recvd: number;
  txns: number;
  /** Established: the first write or read succeeded. */
  up: boolean;
  /** Finished its transactions and held open: no more work. */
  idle: boolean;
}

/** This worker's part of `total` spread over `workers` (the first ones take the remainder). */
export function shareOf(total: number, worker: number, workers: number): number {
  return Math.floor(total / workers) + (worker < total % workers ? 1 : 0);
}

export abstract class ClientApp implements GroupApp {
  protected ctx!: AppContext;
  protected readonly work = new ReadySet();
  protected readonly conns = new Map<number, Txn>();
  protected readonly st = {
    opened: 0,
    established: 0,
    transactions: 0,
    bytesOut: 0,
    bytesIn: 0,
    errors: 0,
    resets: 0,
    refused: 0,
    closed: 0,
    done: 0,
    elapsedUs: 0,
    lastErrno: 0,
  };
  protected readonly addr: string;
  protected readonly port: number;
  protected readonly request: Uint8Array;
  protected readonly expect: number;
  private readonly buf: Uint8Array;
  private startUs = -1;
  protected opening = 0;
  private readonly onEvent = (fd: number): void => this.work.add(fd);

  constructor(protected readonly options: Record<string, unknown>) {
    this.addr = String(options.addr ?? '');
    this.port = Number(options.port ?? 0);
    const size = Number(options.size ?? 64);
    if (options.protocol === 'http') {
      this.request = new TextEncoder().encode(`GET /${size} HTTP/1.1\r\nHost: mcstack\r\n\r\n`);
      this.expect = httpLiteHeader(size).length + size;
    } else {
      this.request = new Uint8Array(size);
      for (let i = 0; i < size; i++) this.request[i] = (i * 31 + 7) & 0xff;
      this.expect = options.protocol === 'discard' ? 0 : size;
    }
    this.buf = new Uint8Array(Math.max(this.expect, 1));
  }

  start(ctx: AppContext): void {
    this.ctx = ctx;
    this.begin();
  }

  /** Open the first connections. */
  protected abstract begin(): void;
  /** A transaction completed on `c`; return true to start the next one on it. */
  protected abstract completed(c: Txn): boolean;
  /** A connection ended (closed by us, failed or reset). */
  protected abstract ended(c: Txn | null): void;
  /** Whether the workload of this worker is finished. */
  protected abstract finished(): boolean;

  protected open(): void {
    this.opening++;
    void this.ctx.connect(this.addr, this.port).then((fd) => {
      this.opening--;
      if (fd < 0) {
        this.fail(fd);
        this.ended(null);
        return;
      }
      this.st.opened++;
      const c: Txn = { fd, sent: 0, recvd: 0, txns: 0, up: false, idle: false };
      this.conns.set(fd, c);
      this.ctx.watch(fd, this.onEvent);
      this.work.add(fd);
    });
  }

  private fail(r: number): void {
    this.st.errors++;
    this.st.lastErrno = -r;
    if (r === -ERRNO.ECONNRESET) this.st.resets++;
    if (r === -ERRNO.ECONNREFUSED) this.st.refused++;
  }

  /** Close a connection (after its last transaction, or on error `r`). */
  protected close(c: Txn, r = 0): void {
    if (r < 0) this.fail(r);
    this.conns.delete(c.fd);
    this.ctx.watch(c.fd, null);
    this.ctx.engine.close(c.fd);
    this.st.closed++;
    this.ended(c);
  }

  /** Fds queued by upcalls and not yet serviced (the worker re-checks this before it sleeps). */
  ready(): boolean {
    return this.work.size > 0;
  }

  poll(now: number): boolean {
    if (this.startUs < 0) this.startUs = now;
    const did = this.work.drain((fd) => this.service(fd)) > 0;
    if (this.st.done === 0 && this.finished()) {
      this.st.done = 1;
      this.st.elapsedUs = Math.round(now - this.startUs);
    }
    return did;
  }

  private service(fd: number): boolean {
    const c = this.conns.get(fd);
    if (c === undefined || c.idle) return false;
    const e = this.ctx.engine;
    const req = this.request;
    for (let turn = 0; turn < 8; turn++) {
      if (c.sent < req.length) {
        const w = e.send(fd, req, c.sent, req.length - c.sent);
        if (w === -ERRNO.EAGAIN) return false;
        if (w === -ERRNO.ENOTCONN) return false;
        if (w < 0) {
          this.close(c, w);
          return false;
        }
        this.up(c);
        c.sent += w;
        this.st.bytesOut += w;
        if (c.sent < req.length) return false;
      }
      if (c.recvd < this.expect) {
        const r = e.recv(fd, this.buf, 0, this.expect - c.recvd);
        if (r === -ERRNO.EAGAIN || r === -ERRNO.ENOTCONN) return false;
        if (r === 0) {
          this.close(c, -ERRNO.ECONNRESET);
          return false;
        }
        if (r < 0) {
          this.close(c, r);
          return false;
        }
        this.up(c);
        c.recvd += r;
        this.st.bytesIn += r;
        if (c.recvd < this.expect) continue;
      }
      c.sent = 0;
      c.recvd = 0;
      c.txns++;
      this.st.transactions++;
      if (!this.completed(c)) return false;
    }
    return true;
  }

  private up(c: Txn): void {
    if (!c.up) {
      c.up = true;
      this.st.established++;
    }
  }

  stop(): void {
    for (const c of [...this.conns.values()]) {
      this.ctx.watch(c.fd, null);
      this.ctx.engine.close(c.fd);
    }
    this.conns.clear();
  }

  stats(): Record<string, number> {
    return { ...this.st, live: this.conns.size };
  }
}
