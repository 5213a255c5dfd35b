/**
 * rr-client: request/response over long-lived connections (netperf TCP_RR). Options:
 * addr, port, connections (over the whole stack, spread over its workers), size (request
 * and response bytes), protocol ('echo' | 'http'), transactions per connection (default
 * unlimited: run until the stack stops), hold (keep connections open when done).
 */
import { ClientApp, shareOf, type Txn } from './client.js';
import { CLIENT_OPTIONS, type AppOptionSchema } from './options.js';

/** The options rr-client reads (apps/options.ts). */
export const RR_CLIENT_OPTIONS: AppOptionSchema = {
  ...CLIENT_OPTIONS,
  connections: { type: 'int', min: 1, max: 1 << 20, doc: 'connections over the whole stack, default 1' },
  transactions: { type: 'int', min: 1, doc: 'transactions per connection, default unlimited' },
  hold: { type: 'bool', doc: 'keep connections open once their transactions are done' },
};

export class RrClient extends ClientApp {
  private share = 0;
  private readonly perConn = Number(this.options.transactions ?? Infinity);
  private readonly hold = this.options.hold === true;
  private ended_ = 0;
  private held = 0;

  protected begin(): void {
    this.share = shareOf(Number(this.options.connections ?? 1), this.ctx.worker, this.ctx.workers);
    for (let i = 0; i < this.share; i++) this.open();
  }

  protected completed(c: Txn): boolean {
    if (c.txns < this.perConn) return true;
    if (this.hold) {
      this.held++;
      c.idle = true;
    } else this.close(c);
    return false;
  }

  protected ended(): void {
    this.ended_++;
  }

  protected finished(): boolean {
    return this.opening === 0 && this.ended_ + this.held >= this.share;
  }

  override stats(): Record<string, number> {
    return { ...super.stats(), held: this.held };
  }
}
