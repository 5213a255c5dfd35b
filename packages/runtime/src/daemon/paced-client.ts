/**
 * paced-client: opens connections at a steady rate, runs a request on each every
 * `interval` ms while it is held open, and closes it after `hold` ms — live traffic at a
 * modest rate for the daemon's embedded default, so netstat, sockstat and capture always
 * have connections coming, in use and going. (rr-client and crr-client run as fast as
 * they can; this one is paced by the clock.)
 *
 * Options: addr, port, protocol 'echo' | 'discard' | 'http' (default 'echo'), rate
 * (connections per second over the whole stack, default 2), hold (ms, default 3000),
 * interval (ms between requests on a connection, default 500), size (bytes per request,
 * or the body asked of http-lite; default 64).
 *
 * Loaded by module URL (the daemon names it `paced-client`): the default export is the factory.
 */
import { ERRNO } from '@mcstack/netinet';
import type { AppContext, GroupApp } from '../worker/app.js';
import { ReadySet } from '../apps/ready.js';
import { httpLiteHeader } from '../apps/http-lite.js';

interface Conn { fd: number; openedUs: number; nextReqUs: number; busy: boolean; sent: number; recvd: number }

/** How often held connections are looked at for their next request or their close (µs). */
const CHECK_US = 10_000;

export class PacedClient implements GroupApp {
  private ctx!: AppContext;
  private readonly ready = new ReadySet();
  private readonly conns = new Map<number, Conn>();
  private readonly st = { opened: 0, closed: 0, transactions: 0, bytesOut: 0, bytesIn: 0, errors: 0, lastErrno: 0 };
  private readonly addr: string;
  private readonly port: number;
  private readonly request: Uint8Array;
  private readonly expect: number;
  private readonly buf: Uint8Array;
  private readonly holdUs: number;
  private readonly intervalUs: number;
  private readonly rate: number;
  private periodUs = Infinity;
  private nextOpenUs = -1;
  private nextCheckUs = 0;
  private readonly onEvent = (fd: number): void => this.ready.add(fd);

  constructor(options: Record<string, unknown>) {
    this.addr = String(options.addr ?? '');
    this.port = Number(options.port ?? 0);
    this.rate = Number(options.rate ?? 2);
    this.holdUs = Number(options.hold ?? 3000) * 1000;
    this.intervalUs = Number(options.interval ?? 500) * 1000;
    const size = Number(options.size ?? 64);
    const protocol = String(options.protocol ?? 'echo');
    if (protocol === 'http') {
      this.request = new TextEncoder().encode(`GET /${size} HTTP/1.1\r\nHost: mcstack\r\n\r\n`);
      this.expect = httpLiteHeader(size).length + size;
    } else {
      this.request = new Uint8Array(size);
      for (let i = 0; i < size; i++) this.request[i] = (i * 31 + 7) & 0xff;
      this.expect = protocol === 'discard' ? 0 : size;
    }
    this.buf = new Uint8Array(Math.max(this.expect, 2048));
  }

  start(ctx: AppContext): void {
    this.ctx = ctx;
    // This worker's share of the rate; the workers' first opens are spread over one period.
    const mine = this.rate / ctx.workers;
    if (mine > 0) this.periodUs = 1e6 / mine;
  }

  poll(now: number): boolean {
    let did = false;
    if (this.nextOpenUs < 0 && this.periodUs !== Infinity) this.nextOpenUs = now + (this.periodUs * this.ctx.worker) / this.ctx.workers;
    if (this.nextOpenUs >= 0 && now >= this.nextOpenUs) {
      this.nextOpenUs = Math.max(this.nextOpenUs + this.periodUs, now - this.periodUs);
      this.open(now);
      did = true;
    }
    if (now >= this.nextCheckUs) {
      this.nextCheckUs = now + CHECK_US;
      for (const c of [...this.conns.values()]) {
        if (c.busy) continue;
        if (now - c.openedUs >= this.holdUs) { this.close(c); did = true; continue; }
        if (now >= c.nextReqUs) { c.busy = true; c.sent = 0; c.recvd = 0; this.ready.add(c.fd); }
      }
    }
    if (this.ready.drain((fd) => this.service(fd, now)) > 0) did = true;
    return did;
  }

  private open(now: number): void {
    void this.ctx.connect(this.addr, this.port).then((fd) => {
      if (fd < 0) { this.fail(fd); return; }
      this.st.opened++;
      const c: Conn = { fd, openedUs: now, nextReqUs: 0, busy: true, sent: 0, recvd: 0 };
      this.conns.set(fd, c);
      this.ctx.watch(fd, this.onEvent);
      this.ready.add(fd);
    });
  }

  private fail(r: number): void {
    this.st.errors++;
    this.st.lastErrno = -r;
  }

  private close(c: Conn, r = 0): void {
    if (r < 0) this.fail(r);
    this.conns.delete(c.fd);
    this.ctx.watch(c.fd, null);
    this.ctx.engine.close(c.fd);
    this.st.closed++;
  }

  /** Move a connection's request along; true while it can make progress now. */
  private service(fd: number, now: number): boolean {
    const c = this.conns.get(fd);
    if (c === undefined) return false;
    const e = this.ctx.engine;
    if (!c.busy) {
      // Between requests: nothing is due, but an EOF or a reset must be noticed.
      const r = e.recv(fd, this.buf, 0, this.buf.length);
      if (r === 0 || (r < 0 && r !== -ERRNO.EAGAIN && r !== -ERRNO.ENOTCONN)) this.close(c, r === 0 ? -ERRNO.ECONNRESET : r);
      return false;
    }
    const req = this.request;
    if (c.sent < req.length) {
      const w = e.send(fd, req, c.sent, req.length - c.sent);
      if (w === -ERRNO.EAGAIN || w === -ERRNO.ENOTCONN) return false;
      if (w < 0) { this.close(c, w); return false; }
      c.sent += w; this.st.bytesOut += w;
      if (c.sent < req.length) return false;
    }
    while (c.recvd < this.expect) {
      const r = e.recv(fd, this.buf, 0, this.expect - c.recvd);
      if (r === -ERRNO.EAGAIN || r === -ERRNO.ENOTCONN) return false;
      if (r <= 0) { this.close(c, r === 0 ? -ERRNO.ECONNRESET : r); return false; }
      c.recvd += r; this.st.bytesIn += r;
    }
    c.busy = false;
    c.nextReqUs = now + this.intervalUs;
    this.st.transactions++;
    return false;
  }

  stop(): void {
    for (const c of this.conns.values()) { this.ctx.watch(c.fd, null); this.ctx.engine.close(c.fd); }
    this.conns.clear();
  }

  stats(): Record<string, number> {
    return { ...this.st, live: this.conns.size };
  }
}

export default function pacedClient(options: Record<string, unknown>): GroupApp {
  return new PacedClient(options);
}
