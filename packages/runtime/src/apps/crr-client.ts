/**
 * crr-client: connect, one request/response, close, repeat (netperf TCP_CRR). Options:
 * addr, port, concurrency (connections in flight over the whole stack), count (connections
 * over the whole stack; default unlimited: run until the stack stops), size, protocol.
 */
import { ClientApp, shareOf } from './client.js';
import { CLIENT_OPTIONS, type AppOptionSchema } from './options.js';

/** The options crr-client reads (apps/options.ts). */
export const CRR_CLIENT_OPTIONS: AppOptionSchema = {
  ...CLIENT_OPTIONS,
  concurrency: { type: 'int', min: 1, max: 1 << 20, doc: 'connections in flight over the whole stack, default 16' },
  count: { type: 'int', min: 0, doc: 'connections over the whole stack, default unlimited' },
};

export class CrrClient extends ClientApp {
  private share = 0;
  private launched = 0;
  private ended_ = 0;

  protected begin(): void {
    const count = Number(this.options.count ?? Infinity);
    this.share = count === Infinity ? Infinity : shareOf(count, this.ctx.worker, this.ctx.workers);
    const conc = shareOf(Number(this.options.concurrency ?? 16), this.ctx.worker, this.ctx.workers);
    for (let i = 0; i < conc && this.launched < this.share; i++) this.launch();
  }

  private launch(): void {
    this.launched++;
    this.open();
  }

  protected completed(c: import('./client.js').Txn): boolean {
    this.close(c);
    return false;
  }

  protected ended(): void {
    this.ended_++;
    if (this.launched < this.share) this.launch();
  }

  protected finished(): boolean {
    return this.ended_ >= this.share;
  }

  override stats(): Record<string, number> {
    return { ...super.stats(), connections: this.ended_ };
  }
}
