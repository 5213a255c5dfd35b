/**
 * The RDMA device of a T4 port (iw_cxgbe's device.c and provider.c): the verbs'
 * objects (protection domains, memory regions, completion queues, queue pairs)
 * and the connection manager, over one engine's TCP. Sans-I/O like the engine:
 * `service()` after each turn of the engine (its input and timers) moves every
 * connection on — reads and places what arrived, frames and sends what is
 * posted, completes what is done.
 */
import type { Engine } from '../../../engine.js';
import type { SockAddr } from '../../../kern/uipc_socket.js';
import { ERRNO } from '../../../kern/errno.js';
import { IwPd, MrTable, type IwMr } from './mem.js';
import { IwCq } from './cq.js';
import { IwQp } from './qp.js';
import { IwCm, type CmHandler, type IwCmId, type MpaParams } from './cm.js';
import { IwStats } from './stats.js';

export interface QpInitAttr {
  sendCq: IwCq;
  recvCq: IwCq;
  /** max_send_wr / max_recv_wr (default 256 each). */
  maxSendWr?: number;
  maxRecvWr?: number;
  /** sq_sig_all: every send request completes, signaled or not. */
  sqSigAll?: boolean;
}

export class C4iwDev {
  readonly stats = new IwStats();
  readonly mrs = new MrTable();
  readonly cm: IwCm;
  readonly qps = new Map<number, IwQp>();
  private nextPd = 1;
  private nextCq = 1;
  private nextQp = 1;

  constructor(
    readonly engine: Engine,
    /** ibv_get_device_name: the port's RDMA device (FreeBSD's iw_cxgbe names it after the adapter). */
    readonly name = 'cxgb4_0',
  ) {
    this.cm = new IwCm(engine, this.stats);
  }

  allocPd(): IwPd {
    return new IwPd(this.nextPd++);
  }

  /** ibv_reg_mr: an IwMr, or -EINVAL / -EOPNOTSUPP / -ENOMEM. */
  regMr(pd: IwPd, buf: Uint8Array, access: number, iova = 0): IwMr | number {
    return this.mrs.reg(pd, buf, access, iova);
  }

  deregMr(mr: IwMr): void {
    this.mrs.dereg(mr);
  }

  createCq(depth = 1024): IwCq | number {
    if (!Number.isInteger(depth) || depth < 1 || depth > 1 << 20) return -ERRNO.EINVAL;
    return new IwCq(this.nextCq++, depth);
  }

  createQp(pd: IwPd, a: QpInitAttr): IwQp | number {
    const s = a.maxSendWr ?? 256;
    const r = a.maxRecvWr ?? 256;
    if (!Number.isInteger(s) || !Number.isInteger(r) || s < 1 || r < 1 || s > 65536 || r > 65536) return -ERRNO.EINVAL;
    const qp = new IwQp(
      this.nextQp++,
      pd,
      a.sendCq,
      a.recvCq,
      s,
      r,
      a.sqSigAll === true,
      this.engine,
      this.mrs,
      this.stats,
    );
    this.qps.set(qp.qpNum, qp);
    return qp;
  }

  /** ibv_destroy_qp: its connection is aborted, its work flushed. */
  destroyQp(qp: IwQp): void {
    qp.abort();
    this.qps.delete(qp.qpNum);
  }

  listen(sa: SockAddr, backlog: number, handler: CmHandler): IwCmId | number {
    return this.cm.listen(sa, backlog, handler);
  }
  connect(qp: IwQp, sa: SockAddr, p: MpaParams, handler: CmHandler, local?: SockAddr): IwCmId | number {
    return this.cm.connect(qp, sa, p, handler, local);
  }
  accept(id: IwCmId, qp: IwQp, p: MpaParams = {}): number {
    return this.cm.accept(id, qp, p);
  }
  reject(id: IwCmId, privateData?: Uint8Array): number {
    return this.cm.reject(id, privateData);
  }
  disconnect(id: IwCmId): number {
    return this.cm.disconnect(id);
  }
  destroyId(id: IwCmId): void {
    this.cm.destroy(id);
  }

  /** One turn after the engine's: connections starting up, then every QP. */
  service(): void {
    this.cm.service();
    for (const qp of this.qps.values()) qp.service();
  }
}
