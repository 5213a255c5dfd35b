/**
 * The card's RDMA device (iw_cxgbe on the T4 the card models): the engine's iWARP
 * provider (netinet dev/cxgbe/iw_cxgbe) over the card's own TCP connections, fed from
 * and completing into the host's shared-memory queues (rdmaring.ts). The host creates
 * objects and connections through the card's control port (a call per object or
 * connection); work requests and completions only cross in shared memory.
 *
 * Its connections are the card's: an active open gets its 4-tuple and TID from the
 * coordinator as the socket app's do, a listen a server TID (every segment to the port
 * reaches the card); their tcpcbs carry TF_TOE, so netstat and sockstat show them as toe4.
 */
import {
  iw_cxgbe,
  ERRNO,
  SysError,
  TF_TOE,
  IBV_WC_LOC_QP_OP_ERR,
  IBV_WC_RECV,
  type Engine,
  type Tcpcb,
} from '@mcstack/netinet';
import { Doorbell } from '../doorbell.js';
import {
  WorkRing,
  getSendWr,
  getRecvWr,
  newRingWr,
  putWc,
  putEvent,
  EV_ASYNC,
  type RdmaEventRecord,
} from '../rdmaring.js';

const {
  RDMA_CM_EVENT_CONNECT_REQUEST,
  RDMA_CM_EVENT_DISCONNECTED,
  RDMA_CM_EVENT_CONNECT_ERROR,
  RDMA_CM_EVENT_REJECTED,
} = iw_cxgbe;
type IwCmId = iw_cxgbe.IwCmId;
type IwQp = iw_cxgbe.IwQp;

/** A completion queue whose entries go straight to the host's ring. */
class RingCq extends iw_cxgbe.IwCq {
  constructor(
    cqn: number,
    readonly shared: WorkRing,
    private readonly dirty: () => void,
  ) {
    super(cqn, 1);
  }

  override push(
    wrId: number,
    status: number,
    opcode: number,
    byteLen: number,
    qpNum: number,
    wcFlags = 0,
    invalidated = 0,
    vendorErr = 0,
  ): void {
    const r = this.shared;
    const o = r.claim();
    if (o < 0) {
      this.overruns++;
      return;
    }
    putWc(r.f, o, wrId, status, opcode, byteLen, qpNum, wcFlags, invalidated, vendorErr);
    r.publish();
    this.dirty();
  }
}

interface CardQp {
  qp: IwQp;
  sq: WorkRing;
  rq: WorkRing;
}

/** What the coordinator does for the card's connections (worker/card.ts CardCoordinatorApi). */
export interface RdmaCoordinator {
  toeConnect(faddr: string, fport: number): Promise<{ id: number; laddr: string; lport: number }>;
  toeRelease(id: number): Promise<void>;
  toeListen(laddr: string, lport: number): Promise<number>;
  toeAccepted(laddr: string, lport: number, faddr: string, fport: number): Promise<number>;
  toeUnlisten(id: number): Promise<void>;
}

export interface RdmaQpInfo {
  qpn: number;
  state: string;
  sq: number;
  rq: number;
  cm: string;
}

export interface RdmaInfo {
  device: string;
  node_guid: string;
  pds: number;
  mrs: number;
  cqs: number;
  qps: RdmaQpInfo[];
  listens: { addr: string; port: number }[];
  counters: Record<string, number>;
}

/** The card side of the host's verbs (rdma.ts RdmaDevice calls these through the card's control port). */
export interface CardRdmaApi {
  rdmaOpen(events: SharedArrayBuffer, hostBell: SharedArrayBuffer): string;
  rdmaAllocPd(): number;
  rdmaRegMr(pdn: number, buf: SharedArrayBuffer, offset: number, length: number, access: number, iova: number): number;
  rdmaDeregMr(stag: number): void;
  rdmaCreateCq(ring: SharedArrayBuffer): number;
  rdmaCreateQp(
    pdn: number,
    sendCq: number,
    recvCq: number,
    sq: SharedArrayBuffer,
    rq: SharedArrayBuffer,
    sqSigAll: boolean,
  ): number;
  rdmaDestroyQp(qpn: number): void;
  rdmaListen(addr: string, port: number, backlog: number): Promise<number>;
  rdmaConnect(qpn: number, addr: string, port: number, privateData: Uint8Array, markers: boolean): Promise<number>;
  rdmaAccept(cmId: number, qpn: number, privateData: Uint8Array, markers: boolean): void;
  rdmaReject(cmId: number, privateData: Uint8Array): void;
  rdmaDisconnect(cmId: number): void;
  rdmaInfo(): RdmaInfo;
}

export class CardRdma {
  readonly dev: iw_cxgbe.C4iwDev;
  private events: WorkRing | null = null;
  private hostBell: Doorbell | null = null;
  /** The WR each ring slot is read into: the QP copies what it keeps. */
  private readonly wr = newRingWr();
  private readonly pds = new Map<number, iw_cxgbe.IwPd>();
  private readonly cqs = new Map<number, RingCq>();
  private readonly qps = new Map<number, CardQp>();
  private readonly ids = new Map<number, IwCmId>();
  private readonly idOf = new Map<IwCmId, number>();
  private readonly listens = new Map<number, { res: number; addr: string; port: number }>();
  private nextId = 1;
  private dirty = false;
  private readonly markDirty = () => {
    this.dirty = true;
  };

  constructor(
    private readonly engine: Engine,
    private readonly coord: RdmaCoordinator,
    /** The card's reaper takes an active open's reservation back once its tcpcb is gone. */
    private readonly hold: (tp: Tcpcb, reservation: number) => void,
  ) {
    this.dev = new iw_cxgbe.C4iwDev(engine, 'cxgb4_0');
  }

  private tcb(fd: number): Tcpcb | null {
    return (this.engine.sockets.lookup(fd)?.so_pcb as { inp_ppcb?: Tcpcb | null } | null | undefined)?.inp_ppcb ?? null;
  }

  private event(e: RdmaEventRecord): void {
    const r = this.events;
    if (r === null) return;
    const o = r.claim();
    if (o < 0) return; // the host stopped reading events: it learns from the QP's state
    putEvent(r, o, e);
    r.publish();
    this.dirty = true;
  }

  private cmHandler = (ev: iw_cxgbe.RdmaCmEvent): void => {
    let n = this.idOf.get(ev.id);
    if (n === undefined) {
      n = this.nextId++;
      this.ids.set(n, ev.id);
      this.idOf.set(ev.id, n);
    }
    if (ev.event === RDMA_CM_EVENT_CONNECT_REQUEST) {
      const tp = this.tcb(ev.id.fd);
      if (tp !== null) {
        tp.t_flags |= TF_TOE;
        this.adopt(ev.id.fd, tp);
      }
    }
    // A request names its listener in the QP field (it has no QP yet): rdma.ts routes it there.
    const qpNum =
      ev.event === RDMA_CM_EVENT_CONNECT_REQUEST
        ? ev.listenId === null
          ? 0
          : (this.idOf.get(ev.listenId) ?? 0)
        : (ev.id.qp?.qpNum ?? 0);
    this.event({ kind: ev.event, cmId: n, qpNum, status: ev.status, privateData: ev.privateData });
    if (
      ev.event === RDMA_CM_EVENT_DISCONNECTED ||
      ev.event === RDMA_CM_EVENT_CONNECT_ERROR ||
      ev.event === RDMA_CM_EVENT_REJECTED
    ) {
      this.ids.delete(n);
      this.idOf.delete(ev.id);
    }
  };

  /**
   * A connection accepted on a listen: its own TID and reservation (the listen's server TID
   * steered it meanwhile), given back by the card's reaper once its tcpcb is gone. Without
   * one (the card full) it stays steered by the listen and is counted refused.
   */
  private adopt(fd: number, tp: Tcpcb): void {
    const l = this.engine.getsockname(fd);
    const f = this.engine.getpeername(fd);
    if (typeof l === 'number' || typeof f === 'number') return;
    this.coord.toeAccepted(l.addr, l.port, f.addr, f.port).then(
      (id) => this.hold(tp, id),
      () => {},
    );
  }

  api(): CardRdmaApi {
    const dev = this.dev;
    return {
      rdmaOpen: (events, bell) => {
        this.events = WorkRing.attach(events);
        this.hostBell = new Doorbell(bell);
        return dev.name;
      },
      rdmaAllocPd: () => {
        const pd = dev.allocPd();
        this.pds.set(pd.pdn, pd);
        return pd.pdn;
      },
      rdmaRegMr: (pdn, buf, offset, length, access, iova) => {
        const pd = this.pds.get(pdn);
        if (pd === undefined) throw new SysError('EINVAL', `no PD ${pdn}`, 'ibv_reg_mr');
        const mr = dev.regMr(pd, new Uint8Array(buf, offset, length), access, iova);
        if (typeof mr === 'number') throw SysError.fromErrno(mr, 'ibv_reg_mr');
        return mr.stag;
      },
      rdmaDeregMr: (stag) => {
        const mr = dev.mrs.lookup(stag);
        if (mr) dev.deregMr(mr);
      },
      rdmaCreateCq: (sab) => {
        const ring = WorkRing.attach(sab);
        const cqn = this.cqs.size + 1;
        this.cqs.set(cqn, new RingCq(cqn, ring, this.markDirty));
        return cqn;
      },
      rdmaCreateQp: (pdn, scq, rcq, sq, rq, sigAll) => {
        const pd = this.pds.get(pdn);
        const s = this.cqs.get(scq);
        const r = this.cqs.get(rcq);
        if (pd === undefined || s === undefined || r === undefined)
          throw new SysError('EINVAL', 'no such PD or CQ', 'ibv_create_qp');
        const sqr = WorkRing.attach(sq);
        const rqr = WorkRing.attach(rq);
        const qp = dev.createQp(pd, {
          sendCq: s,
          recvCq: r,
          maxSendWr: sqr.slots,
          maxRecvWr: rqr.slots,
          sqSigAll: sigAll,
        });
        if (typeof qp === 'number') throw SysError.fromErrno(qp, 'ibv_create_qp');
        qp.onAsync = (ev) =>
          this.event({
            kind: EV_ASYNC | ev.event_type,
            cmId: 0,
            qpNum: ev.qp_num,
            status: ev.vendor_err,
            privateData: new Uint8Array(0),
          });
        this.qps.set(qp.qpNum, { qp, sq: sqr, rq: rqr });
        return qp.qpNum;
      },
      rdmaDestroyQp: (qpn) => {
        const q = this.qps.get(qpn);
        if (q === undefined) return;
        dev.destroyQp(q.qp);
        this.qps.delete(qpn);
      },
      rdmaListen: async (addr, port, backlog) => {
        const res = await this.coord.toeListen(addr, port);
        const id = dev.listen({ addr, port }, backlog, this.cmHandler);
        if (typeof id === 'number') {
          await this.coord.toeUnlisten(res);
          throw SysError.fromErrno(id, 'rdma_listen');
        }
        const n = this.nextId++;
        this.ids.set(n, id);
        this.idOf.set(id, n);
        this.listens.set(n, { res, addr, port });
        return n;
      },
      rdmaConnect: async (qpn, addr, port, privateData, markers) => {
        const q = this.qps.get(qpn);
        if (q === undefined) throw new SysError('EINVAL', `no QP ${qpn}`, 'rdma_connect');
        const t = await this.coord.toeConnect(addr, port);
        this.engine.advance(performance.now() * 1000);
        const id = dev.connect(q.qp, { addr, port }, { privateData, markers }, this.cmHandler, {
          addr: t.laddr,
          port: t.lport,
        });
        if (typeof id === 'number') {
          await this.coord.toeRelease(t.id);
          throw SysError.fromErrno(id, 'rdma_connect');
        }
        const tp = this.tcb(id.fd);
        if (tp !== null) {
          // The card terminates this connection: the host's tools show it as offloaded.
          tp.t_flags |= TF_TOE;
          this.hold(tp, t.id);
        }
        const n = this.nextId++;
        this.ids.set(n, id);
        this.idOf.set(id, n);
        return n;
      },
      rdmaAccept: (cmId, qpn, privateData, markers) => {
        const id = this.ids.get(cmId);
        const q = this.qps.get(qpn);
        if (id === undefined || q === undefined) throw new SysError('EINVAL', 'no such id or QP', 'rdma_accept');
        const r = dev.accept(id, q.qp, { privateData, markers });
        if (r < 0) throw SysError.fromErrno(r, 'rdma_accept');
      },
      rdmaReject: (cmId, privateData) => {
        const id = this.ids.get(cmId);
        if (id === undefined) throw new SysError('EINVAL', `no cm id ${cmId}`, 'rdma_reject');
        const r = dev.reject(id, privateData);
        if (r < 0) throw SysError.fromErrno(r, 'rdma_reject');
      },
      rdmaDisconnect: (cmId) => {
        const id = this.ids.get(cmId);
        if (id === undefined) throw new SysError('ENOTCONN', `no cm id ${cmId}`, 'rdma_disconnect');
        const l = this.listens.get(cmId);
        if (l !== undefined) {
          dev.destroyId(id);
          this.listens.delete(cmId);
          this.ids.delete(cmId);
          this.coord.toeUnlisten(l.res).catch(() => {});
          return;
        }
        const r = dev.disconnect(id);
        if (r < 0 && r !== -ERRNO.ENOTCONN) throw SysError.fromErrno(r, 'rdma_disconnect');
      },
      rdmaInfo: () => ({
        device: dev.name,
        node_guid: '0007:4300:0000:0001',
        pds: this.pds.size,
        mrs: dev.mrs.size,
        cqs: this.cqs.size,
        qps: [...this.qps.values()].map(({ qp }) => ({
          qpn: qp.qpNum,
          state: qpStateName(qp.state),
          sq: qp.sqDepth,
          rq: qp.rqDepth,
          cm: cmStateOf(this.idOf, qp),
        })),
        listens: [...this.listens.values()].map(({ addr, port }) => ({ addr, port })),
        // Completions lost to a host CQ ring that was full (the verbs' CQ overrun).
        counters: { ...dev.stats.snapshot(), cqOverruns: [...this.cqs.values()].reduce((n, c) => n + c.overruns, 0) },
      }),
    };
  }

  /** Work on the host's queues waiting for the card. */
  ready(): boolean {
    for (const q of this.qps.values()) if (q.sq.ready() > 0 || q.rq.ready() > 0) return true;
    return false;
  }

  /** One turn: take posted work, move every connection on, ring the host if anything completed. */
  poll(): boolean {
    let work = false;
    for (const q of this.qps.values()) {
      // A request the QP refuses (malformed, an opcode it lacks) completes with
      // IBV_WC_LOC_QP_OP_ERR and the QP goes to ERROR: the host already returned
      // from its post, as a user-space provider does. A bad SGE the QP completes itself.
      const rn = q.rq.ready();
      for (let k = 0; k < rn; k++) {
        const wr = getRecvWr(q.rq.f, q.rq.at(k), this.wr);
        if (q.qp.postRecv(wr) < 0) q.qp.postFailed(wr.wr_id, true, IBV_WC_RECV, IBV_WC_LOC_QP_OP_ERR);
      }
      const sn = q.sq.ready();
      for (let k = 0; k < sn; k++) {
        const wr = getSendWr(q.sq.f, q.sq.at(k), this.wr);
        if (q.qp.postSend(wr) < 0) q.qp.postFailed(wr.wr_id, false, iw_cxgbe.wcOpcode(wr.opcode), IBV_WC_LOC_QP_OP_ERR);
      }
      if (rn > 0) q.rq.release(rn);
      if (sn > 0) q.sq.release(sn);
      if (rn + sn > 0) work = true;
    }
    if (this.qps.size > 0 || this.ids.size > 0) this.dev.service();
    if (this.dirty) {
      this.dirty = false;
      this.hostBell?.ring();
      work = true;
    }
    return work;
  }

  /** The card is stopping: every connection is aborted (its work flushed), every listen given back. */
  stop(): void {
    for (const q of this.qps.values()) this.dev.destroyQp(q.qp);
    for (const [n, l] of this.listens) {
      const id = this.ids.get(n);
      if (id) this.dev.destroyId(id);
      this.coord.toeUnlisten(l.res).catch(() => {});
    }
    this.listens.clear();
    this.hostBell?.ring();
  }
}

function qpStateName(s: number): string {
  return s === 3 ? 'RTS' : s === 6 ? 'ERR' : s === 1 ? 'INIT' : String(s);
}

function cmStateOf(idOf: Map<IwCmId, number>, qp: IwQp): string {
  for (const id of idOf.keys()) if (id.qp === qp) return id.stateName;
  return '-';
}
