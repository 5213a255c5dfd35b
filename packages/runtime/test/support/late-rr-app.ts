/**
 * rr-client that opens its connections only after its worker has run `afterMs` with
 * nothing to do (no frames, no callouts: the engine's clock is only as fresh as the loop
 * keeps it), and reports what TCP made of the handshake: the largest RTO and smoothed RTT
 * among its established connections, in ms.
 */
import { TCPS_ESTABLISHED } from '@mcstack/netinet';
import { RrClient } from '../../src/apps/rr-client.js';
import type { GroupAppFactory } from '../../src/apps/app.js';

class LateRr extends RrClient {
  private readonly afterUs = Number(this.options.afterMs ?? 0) * 1000;
  private firstPollUs = -1;
  private begun = false;

  protected override begin(): void {
    // Deferred to poll(): the worker must idle first.
  }

  override poll(now: number): boolean {
    if (this.firstPollUs < 0) this.firstPollUs = now;
    if (!this.begun && now - this.firstPollUs >= this.afterUs) {
      this.begun = true;
      super.begin();
    }
    return super.poll(now);
  }

  override stats(): Record<string, number> {
    let rto = 0;
    let srtt = 0;
    for (const inp of this.ctx.engine.tcp.pcbinfo.all()) {
      const tp = inp.inp_ppcb;
      if (tp === null || tp === undefined || tp.t_state !== TCPS_ESTABLISHED) continue;
      rto = Math.max(rto, tp.t_rxtcur);
      srtt = Math.max(srtt, tp.t_srtt);
    }
    return {
      ...super.stats(),
      begun: this.begun ? 1 : 0,
      maxRtoMs: Math.round(rto / 1000),
      maxSrttMs: Math.round(srtt / 1000),
    };
  }
}

const make: GroupAppFactory = (o) => new LateRr(o);
export default make;
