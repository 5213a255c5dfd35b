/**
 * paced-client: opens connections at a steady rate, runs a request on each every
 * `interval` ms while it is held open, and closes it after `hold` ms — live traffic at a
 * modest rate for the daemon's embedded default, so netstat, sockstat and capture always
 * have connections coming, in use and going. (rr-client and crr-client run as fast as
 * they can; this one is paced by the clock.) The transactions themselves are the
 * workload clients' (apps/client.ts).
 *
 * Options: addr, port, protocol 'echo' | 'discard' | 'http' (default 'echo'), rate
 * (connections per second over the whole stack, default 2), hold (ms, default 3000),
 * interval (ms between requests on a connection, default 500), size (bytes per request,
 * or the body asked of http-lite; default 64).
 *
 * Loaded by module URL (the daemon names it `paced-client`): the default export is the factory.
 */
import { CLIENT_OPTIONS, ClientApp, defineApp, type AppOptionSchema, type Txn } from '@mcstack/runtime';

/** The options paced-client reads (the runtime's apps/options.ts). */
export const PACED_CLIENT_OPTIONS: AppOptionSchema = {
  ...CLIENT_OPTIONS,
  rate: { type: 'number', min: 0, max: 100_000, doc: 'connections per second over the whole stack, default 2' },
  hold: { type: 'int', min: 0, max: 86_400_000, doc: 'ms each connection is held open, default 3000' },
  interval: { type: 'int', min: 1, max: 86_400_000, doc: 'ms between requests on a connection, default 500' },
};

/** How often held connections are looked at for their next request or their close (µs). */
const CHECK_US = 10_000;

interface Pace {
  openedUs: number;
  nextReqUs: number;
}

export class PacedClient extends ClientApp {
  private readonly holdUs: number;
  private readonly intervalUs: number;
  private readonly rate: number;
  private readonly pace = new Map<number, Pace>();
  private periodUs = Infinity;
  private nextOpenUs = -1;
  private nextCheckUs = 0;
  private nowUs = 0;

  constructor(options: Record<string, unknown>) {
    super({ protocol: 'echo', ...options });
    this.rate = Number(options.rate ?? 2);
    this.holdUs = Number(options.hold ?? 3000) * 1000;
    this.intervalUs = Number(options.interval ?? 500) * 1000;
  }

  protected begin(): void {
    // This worker's share of the rate; the workers' first opens are spread over one period.
    const mine = this.rate / this.ctx.workers;
    if (mine > 0) this.periodUs = 1e6 / mine;
  }

  /** A request answered: the connection idles until its next one is due. */
  protected completed(c: Txn): boolean {
    c.idle = true;
    this.paceOf(c.fd).nextReqUs = this.nowUs + this.intervalUs;
    return false;
  }

  protected ended(c: Txn | null): void {
    if (c !== null) this.pace.delete(c.fd);
  }

  /** Paced traffic never finishes: it runs until the stack stops. */
  protected finished(): boolean {
    return false;
  }

  override poll(now: number): boolean {
    this.nowUs = now;
    let did = false;
    if (this.nextOpenUs < 0 && this.periodUs !== Infinity)
      this.nextOpenUs = now + (this.periodUs * this.ctx.worker) / this.ctx.workers;
    if (this.nextOpenUs >= 0 && now >= this.nextOpenUs) {
      this.nextOpenUs = Math.max(this.nextOpenUs + this.periodUs, now - this.periodUs);
      this.open();
      did = true;
    }
    if (now >= this.nextCheckUs) {
      this.nextCheckUs = now + CHECK_US;
      for (const c of [...this.conns.values()]) {
        const p = this.paceOf(c.fd);
        if (!c.idle) continue;
        if (now - p.openedUs >= this.holdUs) {
          this.close(c);
          did = true;
          continue;
        }
        if (now >= p.nextReqUs) {
          c.idle = false;
          this.work.add(c.fd);
        }
      }
    }
    return super.poll(now) || did;
  }

  private paceOf(fd: number): Pace {
    let p = this.pace.get(fd);
    if (p === undefined) {
      p = { openedUs: this.nowUs, nextReqUs: 0 };
      this.pace.set(fd, p);
    }
    return p;
  }
}

export default defineApp('paced-client', PACED_CLIENT_OPTIONS, (o) => new PacedClient(o));
