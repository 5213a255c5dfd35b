/**
 * What the server apps share: listen on the app's port in this group, accept in batches,
 * and service each connection from the app's work list. A subclass says what to do with
 * a readable/writable connection (`service`, true when it should stay listed) and keeps
 * its per-connection state.
 */
import { ERRNO } from '@mcstack/netinet';
import type { AppContext, GroupApp } from './app.js';
import { ReadySet } from './ready.js';

export abstract class ServerApp implements GroupApp {
  protected ctx!: AppContext;
  protected readonly work = new ReadySet();
  private readonly listeners = new Set<number>();
  protected readonly st = { accepted: 0, closed: 0, bytesIn: 0, bytesOut: 0, errors: 0, resets: 0 };
  private readonly onEvent = (fd: number): void => this.work.add(fd);

  constructor(protected readonly options: Record<string, unknown>) {}

  async start(ctx: AppContext): Promise<void> {
    this.ctx = ctx;
    const port = ctx.port ?? Number(this.options.port ?? 0);
    for (const fd of await ctx.listen(port, Number(this.options.backlog ?? 1024))) {
      this.listeners.add(fd);
      ctx.watch(fd, this.onEvent);
      this.work.add(fd);
    }
  }

  /** Fds queued by upcalls and not yet serviced (the worker re-checks this before it sleeps). */
  ready(): boolean {
    return this.work.size > 0;
  }

  poll(_now: number): boolean {
    return this.work.drain((fd) => (this.listeners.has(fd) ? this.accept(fd) : this.service(fd))) > 0;
  }

  private accept(lfd: number): boolean {
    const e = this.ctx.engine;
    for (let i = 0; i < 64; i++) {
      const fd = e.accept(lfd);
      if (fd < 0) return false;
      this.st.accepted++;
      this.opened(fd);
      this.ctx.watch(fd, this.onEvent);
      this.work.add(fd);
    }
    return true;
  }

  /** A new connection (set up per-connection state). */
  protected abstract opened(fd: number): void;
  /** Work on a connection; true to stay on the work list. */
  protected abstract service(fd: number): boolean;
  /** Forget a connection's state. */
  protected abstract forget(fd: number): void;

  /**
   * A recv() result: true for data (counted in bytesIn); else false, and an end of stream
   * or an error (-errno) has finished the connection, while EAGAIN waits for its next upcall.
   */
  protected received(fd: number, r: number): boolean {
    if (r > 0) {
      this.st.bytesIn += r;
      return true;
    }
    if (r !== -ERRNO.EAGAIN) this.finish(fd, r);
    return false;
  }

  /** Close and forget; an error result (-errno) is counted. */
  protected finish(fd: number, r = 0): void {
    if (r < 0) {
      this.st.errors++;
      if (r === -ERRNO.ECONNRESET) this.st.resets++;
    }
    this.ctx.watch(fd, null);
    this.ctx.engine.close(fd);
    this.forget(fd);
    this.st.closed++;
  }

  stop(): void {
    for (const fd of this.listeners) this.ctx.engine.close(fd);
    this.listeners.clear();
  }

  stats(): Record<string, number> {
    return { ...this.st };
  }
}
