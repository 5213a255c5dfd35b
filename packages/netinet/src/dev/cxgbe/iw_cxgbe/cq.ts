/**
 * Completion queues (iw_cxgbe's cq.c, ibv_create_cq / ibv_poll_cq /
 * ibv_req_notify_cq): a fixed ring of completions, filled in order; an armed
 * queue calls its handler once at the next completion (only a solicited one when
 * armed with `solicitedOnly`), as a completion channel's event would.
 */
import type { IbvWc } from '../../../ofed/ib_verbs.js';

function blankWc(): IbvWc {
  return { wr_id: 0, status: 0, opcode: 0, byte_len: 0, qp_num: 0, wc_flags: 0, invalidated_rkey: 0, vendor_err: 0 };
}

export class IwCq {
  private readonly ring: IbvWc[];
  private head = 0;
  private count = 0;
  private armed = 0; // 0 off, 1 any, 2 solicited only
  /** Completions lost to a full ring (the verbs' CQ overrun, IBV_EVENT_CQ_ERR). */
  overruns = 0;
  /** ibv_get_cq_event's counterpart: called when an armed queue gets a completion. */
  handler: ((cq: IwCq) => void) | null = null;

  constructor(
    readonly cqn: number,
    readonly depth: number,
  ) {
    this.ring = Array.from({ length: depth }, blankWc);
  }

  get length(): number {
    return this.count;
  }

  /** ibv_req_notify_cq. */
  reqNotify(solicitedOnly = false): void {
    this.armed = solicitedOnly ? 2 : 1;
  }

  /** Add a completion (the provider's side). */
  push(
    wrId: number,
    status: number,
    opcode: number,
    byteLen: number,
    qpNum: number,
    wcFlags = 0,
    invalidated = 0,
    vendorErr = 0,
    solicited = false,
  ): void {
    if (this.count === this.depth) {
      this.overruns++;
      return;
    }
    const wc = this.ring[(this.head + this.count) % this.depth]!;
    wc.wr_id = wrId;
    wc.status = status;
    wc.opcode = opcode;
    wc.byte_len = byteLen;
    wc.qp_num = qpNum;
    wc.wc_flags = wcFlags;
    wc.invalidated_rkey = invalidated;
    wc.vendor_err = vendorErr;
    this.count++;
    // A solicited-only arm fires on a solicited event or an error completion (IB spec 11.4.2.2).
    if (this.armed === 1 || (this.armed === 2 && (solicited || status !== 0))) {
      this.armed = 0;
      this.handler?.(this);
    }
  }

  private depthOf(): number {
    return this.depth;
  }

  /** ibv_poll_cq into caller-owned objects (up to `max`, else as many as `out` holds, else the depth): how many were filled. */
  pollInto(out: IbvWc[], max = out.length > 0 ? out.length : this.depthOf()): number {
    let n = 0;
    while (n < max && this.count > 0) {
      const src = this.ring[this.head]!;
      const dst = out[n] ?? blankWc();
      Object.assign(dst, src);
      out[n] = dst;
      this.head = (this.head + 1) % this.depth;
      this.count--;
      n++;
    }
    return n;
  }

  /** ibv_poll_cq returning fresh objects (for tools and tests). */
  poll(max = this.depth): IbvWc[] {
    const out: IbvWc[] = [];
    this.pollInto(out, max);
    return out;
  }
}
