/**
 * The host's verbs over a stack's TOE card (libibverbs and librdmacm in spirit, the card
 * running iw_cxgbe): protection domains, memory regions over SharedArrayBuffers the card
 * places into directly, completion queues, queue pairs, and the connection manager.
 *
 * Objects and connections are made by a control call to the card (one per object or
 * connection, like the verbs' system calls); work requests go into the QP's send and
 * receive rings and completions come back in the CQ's ring (rdmaring.ts), with a
 * doorbell ring only when the other side sleeps: no message per operation, as a
 * user-space verbs provider writes the adapter's queues in mapped memory.
 */
import {
  SysError,
  ERRNO,
  IBV_WR_RDMA_READ,
  IBV_WR_RDMA_WRITE,
  IBV_WR_SEND,
  IBV_WR_SEND_WITH_INV,
  IBV_SEND_INLINE,
  type IbvAsyncEvent,
  type IbvRecvWr,
  type IbvSendWr,
  type IbvWc,
} from '@mcstack/netinet';
import type { Stack } from './stack.js';
import type { RemoteApi } from './control.js';
import type { CardControl } from './worker/card.js';
import type { RdmaInfo } from './worker/rdma.js';
import { Doorbell } from './doorbell.js';
import {
  WorkRing,
  WR_WORDS,
  WR_MAX_SGE,
  WC_WORDS,
  EV_WORDS,
  EV_ASYNC,
  putSendWr,
  putRecvWr,
  getWc,
  getEvent,
} from './rdmaring.js';

export type { RdmaInfo, RdmaQpInfo } from './worker/rdma.js';

/* enum rdma_cm_event_type, as packages/netinet's iw_cxgbe/cm.ts */
export const RDMA_CM_EVENT_CONNECT_REQUEST = 4;
export const RDMA_CM_EVENT_CONNECT_ERROR = 6;
export const RDMA_CM_EVENT_REJECTED = 8;
export const RDMA_CM_EVENT_ESTABLISHED = 9;
export const RDMA_CM_EVENT_DISCONNECTED = 10;

export interface RdmaCmEvent {
  event: number;
  /** The connection's id (for CONNECT_REQUEST: the new passive connection, to accept or reject). */
  cmId: number;
  qpNum: number;
  /** -errno for CONNECT_ERROR and REJECTED. */
  status: number;
  privateData: Uint8Array;
}

export type RdmaCmHandler = (ev: RdmaCmEvent) => void;

export interface ConnParams {
  privateData?: Uint8Array;
  /** MPA markers in the FPDUs this side receives (RFC 5044 §4.3). */
  markers?: boolean;
}

export class RdmaPd {
  constructor(readonly pdn: number) {}
}

export class RdmaMr {
  constructor(
    readonly pd: RdmaPd,
    readonly buf: Uint8Array,
    readonly stag: number,
    readonly iova: number,
  ) {}
  get lkey(): number {
    return this.stag;
  }
  get rkey(): number {
    return this.stag;
  }
}

export class RdmaCq {
  private readonly one: IbvWc[] = [];
  constructor(
    readonly cqn: number,
    readonly ring: WorkRing,
    private readonly dev: RdmaDevice,
  ) {}

  private depthOf(): number {
    return this.ring.slots;
  }

  /** ibv_poll_cq into caller-owned objects (up to `max`, else as many as `out` holds, else the depth): how many were filled. */
  pollInto(out: IbvWc[], max = out.length > 0 ? out.length : this.depthOf()): number {
    const r = this.ring;
    const n = Math.min(r.ready(), max);
    for (let k = 0; k < n; k++) {
      const wc = out[k] ?? blankWc();
      out[k] = getWc(r.f, r.at(k), wc);
    }
    if (n > 0) r.release(n);
    return n;
  }

  poll(max = this.ring.slots): IbvWc[] {
    const out: IbvWc[] = [];
    this.pollInto(out, max);
    return out;
  }

  /** One completion, or null when none is ready. */
  pollOne(): IbvWc | null {
    return this.pollInto(this.one, 1) === 1 ? this.one[0]! : null;
  }

  /** Resolves once a completion is ready (true) or after `timeoutMs` (false): a completion channel's wait. */
  wait(timeoutMs = 1000): Promise<boolean> {
    return this.dev.waitFor(() => this.ring.ready() > 0, timeoutMs);
  }
}

export class RdmaQp {
  /** Asynchronous events on this QP (ibv_get_async_event), oldest first. */
  readonly events: IbvAsyncEvent[] = [];
  onAsync: ((ev: IbvAsyncEvent) => void) | null = null;
  constructor(
    readonly qpNum: number,
    readonly pd: RdmaPd,
    readonly sendCq: RdmaCq,
    readonly recvCq: RdmaCq,
    readonly sq: WorkRing,
    readonly rq: WorkRing,
    private readonly kick: () => void,
  ) {}

  /**
   * ibv_post_send: 0, -ENOMEM when the send queue is full, -EINVAL for a malformed
   * request. Protection is checked by the card, which completes a bad request with an error.
   */
  postSend(wr: IbvSendWr): number {
    const op = wr.opcode;
    if (op !== IBV_WR_RDMA_WRITE && op !== IBV_WR_SEND && op !== IBV_WR_SEND_WITH_INV && op !== IBV_WR_RDMA_READ)
      return -ERRNO.EOPNOTSUPP;
    if (wr.sg_list.length > WR_MAX_SGE) return -ERRNO.EINVAL;
    if ((wr.send_flags ?? 0) & IBV_SEND_INLINE) return -ERRNO.EOPNOTSUPP; // the card reads the MR when it frames
    const o = this.sq.claim();
    if (o < 0) return -ERRNO.ENOMEM;
    putSendWr(this.sq.f, o, wr);
    this.sq.publish();
    this.kick();
    return 0;
  }

  postRecv(wr: IbvRecvWr): number {
    if (wr.sg_list.length > WR_MAX_SGE) return -ERRNO.EINVAL;
    const o = this.rq.claim();
    if (o < 0) return -ERRNO.ENOMEM;
    putRecvWr(this.rq.f, o, wr);
    this.rq.publish();
    this.kick();
    return 0;
  }
}

function blankWc(): IbvWc {
  return { wr_id: 0, status: 0, opcode: 0, byte_len: 0, qp_num: 0, wc_flags: 0, invalidated_rkey: 0, vendor_err: 0 };
}

interface Waiter {
  ready: () => boolean;
  resolve: (ok: boolean) => void;
  until: number;
}

export class RdmaDevice {
  private readonly events = WorkRing.create(256, EV_WORDS);
  private readonly bell = new Doorbell();
  private readonly handlers = new Map<number, RdmaCmHandler>();
  private readonly orphans = new Map<number, RdmaCmEvent[]>();
  private readonly qps = new Map<number, RdmaQp>();
  private readonly waiters = new Set<Waiter>();
  private closed = false;
  private pumping = false;

  /** ibv_open_device on the card of `stack` (ESRCH when its card is not running). */
  static async open(stack: Stack): Promise<RdmaDevice> {
    const ctl = stack.cardControl();
    const cardBell = stack.toeBell;
    if (cardBell === null) throw new SysError('ESRCH', `stack ${stack.name} has no TOE card`, 'ibv_open_device');
    const d = new RdmaDevice(ctl, cardBell);
    d.name = await ctl.rdmaOpen(d.events.sab, d.bell.sab);
    return d;
  }

  name = '';

  private constructor(
    private readonly ctl: RemoteApi<CardControl>,
    private readonly cardBell: Doorbell,
  ) {}

  private readonly kick = (): void => this.cardBell.ring();

  async allocPd(): Promise<RdmaPd> {
    return new RdmaPd(await this.ctl.rdmaAllocPd());
  }

  /** ibv_reg_mr over memory both threads map: `buf` must be a view of a SharedArrayBuffer. */
  async regMr(pd: RdmaPd, buf: Uint8Array, access: number, iova = 0): Promise<RdmaMr> {
    if (!(buf.buffer instanceof SharedArrayBuffer))
      throw new SysError('EINVAL', 'a memory region must be a view of a SharedArrayBuffer', 'ibv_reg_mr');
    const stag = await this.ctl.rdmaRegMr(pd.pdn, buf.buffer, buf.byteOffset, buf.byteLength, access, iova);
    return new RdmaMr(pd, buf, stag, iova);
  }

  async deregMr(mr: RdmaMr): Promise<void> {
    await this.ctl.rdmaDeregMr(mr.stag);
  }

  async createCq(depth = 1024): Promise<RdmaCq> {
    if (!Number.isInteger(depth) || depth < 1 || depth > 1 << 20)
      throw new SysError('EINVAL', `CQ depth ${depth}`, 'ibv_create_cq');
    const ring = WorkRing.create(depth, WC_WORDS);
    return new RdmaCq(await this.ctl.rdmaCreateCq(ring.sab), ring, this);
  }

  async createQp(
    pd: RdmaPd,
    a: { sendCq: RdmaCq; recvCq: RdmaCq; maxSendWr?: number; maxRecvWr?: number; sqSigAll?: boolean },
  ): Promise<RdmaQp> {
    const s = a.maxSendWr ?? 256;
    const r = a.maxRecvWr ?? 256;
    if (!Number.isInteger(s) || !Number.isInteger(r) || s < 1 || r < 1 || s > 65536 || r > 65536)
      throw new SysError('EINVAL', 'max_send_wr and max_recv_wr must be 1 .. 65536', 'ibv_create_qp');
    const sq = WorkRing.create(s, WR_WORDS);
    const rq = WorkRing.create(r, WR_WORDS);
    const qpn = await this.ctl.rdmaCreateQp(pd.pdn, a.sendCq.cqn, a.recvCq.cqn, sq.sab, rq.sab, a.sqSigAll === true);
    const qp = new RdmaQp(qpn, pd, a.sendCq, a.recvCq, sq, rq, this.kick);
    this.qps.set(qpn, qp);
    return qp;
  }

  async destroyQp(qp: RdmaQp): Promise<void> {
    this.qps.delete(qp.qpNum);
    await this.ctl.rdmaDestroyQp(qp.qpNum);
  }

  /** rdma_listen: the card listens on addr:port (the port is the card's alone); requests go to `handler`. */
  async listen(addr: string, port: number, handler: RdmaCmHandler, backlog = 128): Promise<number> {
    const id = await this.ctl.rdmaListen(addr, port, backlog);
    this.on(id, handler);
    return id;
  }

  /** rdma_connect: resolves with ESTABLISHED (the Reply's private data in it); rejects with the error otherwise. */
  connect(qp: RdmaQp, addr: string, port: number, p: ConnParams = {}, handler?: RdmaCmHandler): Promise<RdmaCmEvent> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const h: RdmaCmHandler = (ev) => {
        if (!settled) {
          if (ev.event === RDMA_CM_EVENT_ESTABLISHED) {
            settled = true;
            resolve(ev);
          } else if (ev.event === RDMA_CM_EVENT_REJECTED || ev.event === RDMA_CM_EVENT_CONNECT_ERROR) {
            settled = true;
            const err = new SysError(
              ev.event === RDMA_CM_EVENT_REJECTED ? 'ECONNREFUSED' : errnoName(-ev.status),
              ev.event === RDMA_CM_EVENT_REJECTED ? 'rejected by the peer' : 'connection failed',
              'rdma_connect',
            );
            (err as SysError & { privateData?: Uint8Array }).privateData = ev.privateData;
            reject(err);
          }
        }
        handler?.(ev);
      };
      this.ctl
        .rdmaConnect(qp.qpNum, addr, port, p.privateData ?? new Uint8Array(0), p.markers === true)
        .then((id) => this.on(id, h), reject);
    });
  }

  /** rdma_accept of a CONNECT_REQUEST; later events of the connection go to `handler` (else the listener's). */
  async accept(req: RdmaCmEvent, qp: RdmaQp, p: ConnParams = {}, handler?: RdmaCmHandler): Promise<void> {
    if (handler) this.handlers.set(req.cmId, handler);
    await this.ctl.rdmaAccept(req.cmId, qp.qpNum, p.privateData ?? new Uint8Array(0), p.markers === true);
  }

  async reject(req: RdmaCmEvent, privateData?: Uint8Array): Promise<void> {
    await this.ctl.rdmaReject(req.cmId, privateData ?? new Uint8Array(0));
  }

  /** rdma_disconnect (a listener's id: it stops listening). */
  async disconnect(cmId: number): Promise<void> {
    await this.ctl.rdmaDisconnect(cmId);
  }

  /** The device, its QPs and counters (`mcstack rdma`). */
  async query(): Promise<RdmaInfo> {
    return await this.ctl.rdmaInfo();
  }

  /** Stop the event pump (the card's objects stay until the card stops). */
  close(): void {
    this.closed = true;
    this.bell.signal();
    for (const w of this.waiters) w.resolve(false);
    this.waiters.clear();
  }

  private on(cmId: number, h: RdmaCmHandler): void {
    this.handlers.set(cmId, h);
    const queued = this.orphans.get(cmId);
    if (queued) {
      this.orphans.delete(cmId);
      for (const ev of queued) h(ev);
    }
    this.pump();
  }

  /** Resolve when `ready()` (checked whenever the card rings) or after `timeoutMs`. */
  waitFor(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.waiters.add({ ready, resolve, until: performance.now() + timeoutMs });
      this.pump();
    });
  }

  private dispatch(): void {
    const r = this.events;
    const n = r.ready();
    for (let k = 0; k < n; k++) {
      const e = getEvent(r, r.at(k));
      if (e.kind & EV_ASYNC) {
        const qp = this.qps.get(e.qpNum);
        const ev: IbvAsyncEvent = { event_type: e.kind & 0xffff, qp_num: e.qpNum, vendor_err: e.status };
        qp?.events.push(ev);
        qp?.onAsync?.(ev);
        continue;
      }
      const req = e.kind === RDMA_CM_EVENT_CONNECT_REQUEST;
      const ev: RdmaCmEvent = {
        event: e.kind,
        cmId: e.cmId,
        qpNum: req ? 0 : e.qpNum,
        status: e.status,
        privateData: e.privateData,
      };
      // A request carries its listener's id in the QP field: the connection's events go to the listener's handler.
      if (req) {
        const lh = this.handlers.get(e.qpNum);
        if (lh) this.handlers.set(e.cmId, lh);
      }
      const h = this.handlers.get(e.cmId);
      if (h) h(ev);
      else {
        const q = this.orphans.get(e.cmId) ?? [];
        q.push(ev);
        this.orphans.set(e.cmId, q);
      }
      if (ev.event === RDMA_CM_EVENT_DISCONNECTED || ev.event === RDMA_CM_EVENT_REJECTED) this.handlers.delete(e.cmId);
    }
    if (n > 0) r.release(n);
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    void (async () => {
      while (!this.closed && (this.handlers.size > 0 || this.waiters.size > 0)) {
        this.dispatch();
        const now = performance.now();
        for (const w of this.waiters) {
          if (w.ready()) w.resolve(true);
          else if (now >= w.until) w.resolve(false);
          else continue;
          this.waiters.delete(w);
        }
        if (this.waiters.size === 0 && this.handlers.size === 0) break;
        await this.bell.sleepAsync(5, () => {
          if (this.events.ready() > 0) return true;
          for (const w of this.waiters) if (w.ready()) return true;
          return false;
        });
      }
      this.pumping = false;
    })();
  }
}

function errnoName(n: number): string {
  for (const [k, v] of Object.entries(ERRNO)) if (v === n) return k;
  return 'EIO';
}
