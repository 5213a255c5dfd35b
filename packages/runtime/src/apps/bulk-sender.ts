/**
 * bulk-sender: send `bytes` on each of `connections` (default 1, spread over the stack's
 * workers) to a discard or echo server, then half-close (SHUT_WR). With `mode: 'echo'` it
 * reads the echo back as it goes and, with `verify`, checks every byte against the
 * seeded pattern it sent (mismatches counted); it is done when the server's FIN arrives
 * after everything was sent (and, for echo, received).
 */
import { ERRNO, SHUT_WR, SeededRandom } from '@mcstack/netinet';
import type { AppContext, GroupApp } from './app.js';
import { ReadySet } from './ready.js';
import { shareOf } from './client.js';
import { PORT_OPTION, defineApp, type AppOptionSchema } from './options.js';

/** The options bulk-sender reads (apps/options.ts). */
export const BULK_SENDER_OPTIONS: AppOptionSchema = {
  addr: { type: 'addr', required: true, doc: 'server address' },
  port: { ...PORT_OPTION, required: true },
  connections: { type: 'int', min: 1, max: 1 << 20, doc: 'connections over the whole stack, default 1' },
  bytes: { type: 'int', min: 0, doc: 'bytes sent on each connection, default 1 MiB' },
  mode: { type: 'string', values: ['discard', 'echo'], doc: "'echo' reads the echo back; default 'discard'" },
  verify: { type: 'bool', doc: "with mode 'echo', check every byte echoed" },
};

interface Flow {
  fd: number;
  sent: number;
  recvd: number;
  shut: boolean;
  eof: boolean;
}

const PATTERN = new SeededRandom(0x5eed).fill(new Uint8Array(65521));
const CHUNK = 64 * 1024;

export class BulkSender implements GroupApp {
  private ctx!: AppContext;
  private readonly work = new ReadySet();
  private readonly flows = new Map<number, Flow>();
  private readonly bytes: number;
  private readonly echo: boolean;
  private readonly verify: boolean;
  private readonly buf = new Uint8Array(CHUNK);
  private share = 0;
  private ended = 0;
  private startUs = -1;
  private readonly st = {
    opened: 0,
    bytesSent: 0,
    bytesReceived: 0,
    mismatches: 0,
    errors: 0,
    resets: 0,
    done: 0,
    elapsedUs: 0,
  };
  private readonly onEvent = (fd: number): void => this.work.add(fd);

  constructor(private readonly options: Record<string, unknown>) {
    this.bytes = Number(options.bytes ?? 1 << 20);
    this.echo = options.mode === 'echo';
    this.verify = options.verify === true;
  }

  start(ctx: AppContext): void {
    this.ctx = ctx;
    this.share = shareOf(Number(this.options.connections ?? 1), ctx.worker, ctx.workers);
    for (let i = 0; i < this.share; i++) {
      void ctx.connect(String(this.options.addr), Number(this.options.port)).then((fd) => {
        if (fd < 0) {
          this.fail(fd);
          this.ended++;
          return;
        }
        this.st.opened++;
        this.flows.set(fd, { fd, sent: 0, recvd: 0, shut: false, eof: false });
        ctx.watch(fd, this.onEvent);
        this.work.add(fd);
      });
    }
  }

  private fail(r: number): void {
    this.st.errors++;
    if (r === -ERRNO.ECONNRESET) this.st.resets++;
  }

  private end(f: Flow, r = 0): void {
    if (r < 0) this.fail(r);
    this.ctx.watch(f.fd, null);
    this.ctx.engine.close(f.fd);
    this.flows.delete(f.fd);
    this.ended++;
  }

  /** Fds queued by upcalls and not yet serviced (the worker re-checks this before it sleeps). */
  ready(): boolean {
    return this.work.size > 0;
  }

  poll(now: number): boolean {
    if (this.startUs < 0) this.startUs = now;
    const did = this.work.drain((fd) => this.service(fd)) > 0;
    if (this.st.done === 0 && this.ended >= this.share) {
      this.st.done = 1;
      this.st.elapsedUs = Math.round(now - this.startUs);
    }
    return did;
  }

  private service(fd: number): boolean {
    const f = this.flows.get(fd);
    if (f === undefined) return false;
    const e = this.ctx.engine;
    let more = false;
    for (let i = 0; i < 16 && f.sent < this.bytes; i++) {
      const at = f.sent % PATTERN.length;
      const n = Math.min(CHUNK, this.bytes - f.sent, PATTERN.length - at);
      const w = e.send(fd, PATTERN, at, n);
      if (w === -ERRNO.EAGAIN) break;
      if (w === -ERRNO.ENOTCONN || w === 0) break;
      if (w < 0) {
        this.end(f, w);
        return false;
      }
      f.sent += w;
      this.st.bytesSent += w;
      if (w < n) break;
      if (i === 15) more = true;
    }
    if (f.sent === this.bytes && !f.shut) {
      const r = e.shutdown(fd, SHUT_WR);
      if (r === 0) f.shut = true;
      else if (r !== -ERRNO.ENOTCONN) {
        this.end(f, r);
        return false;
      }
    }
    for (let i = 0; i < 16; i++) {
      const r = e.recv(fd, this.buf, 0, CHUNK);
      if (r === -ERRNO.EAGAIN || r === -ERRNO.ENOTCONN) break;
      if (r === 0) {
        f.eof = true;
        break;
      }
      if (r < 0) {
        this.end(f, r);
        return false;
      }
      if (this.verify) this.check(f.recvd, r);
      f.recvd += r;
      this.st.bytesReceived += r;
      if (i === 15) more = true;
    }
    if (f.eof) {
      // The server closed: complete when everything was sent (and echoed back).
      if (f.sent < this.bytes || (this.echo && f.recvd < this.bytes)) this.end(f, -ERRNO.ECONNRESET);
      else this.end(f);
      return false;
    }
    return more;
  }

  private check(at: number, n: number): void {
    const b = this.buf;
    let p = at % PATTERN.length;
    for (let i = 0; i < n; i++) {
      if (b[i] !== PATTERN[p]) this.st.mismatches++;
      if (++p === PATTERN.length) p = 0;
    }
  }

  stop(): void {
    for (const f of [...this.flows.values()]) {
      this.ctx.watch(f.fd, null);
      this.ctx.engine.close(f.fd);
    }
    this.flows.clear();
  }

  stats(): Record<string, number> {
    return { ...this.st, live: this.flows.size };
  }
}

/** The factory (also what a stack loads by module URL: export 'makeBulkSender'). */
export const makeBulkSender = defineApp('bulk-sender', BULK_SENDER_OPTIONS, (o) => new BulkSender(o));
