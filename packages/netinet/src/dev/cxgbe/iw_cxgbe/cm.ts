/**
 * The connection manager (iw_cxgbe's cm.c under the kernel's iw_cm, with
 * rdma_cm's events): an RDMA connection is a TCP connection of the engine that
 * starts in MPA's startup phase (RFC 5044 §7.1): the active side sends an MPA
 * Request with its private data, the passive side's application accepts (an MPA
 * Reply) or rejects (a Reply with R) it, then both are in full operation and the
 * QP owns the stream.
 *
 * Negotiation (RFC 5044 §7.1): each side's M asks for markers in the FPDUs it
 * receives; CRCs are used when either side sets C; Rev must be 1, anything else
 * closes the connection (MPA_ERR_REQ_REP, counted). No FPDU is sent before the
 * Reply (the Responder after sending it, the Initiator after receiving it).
 */
import {
  MPA_RR_HDR_LEN,
  MPA_MAX_PRIVATE_DATA,
  MPA_REVISION,
  MPA_RR_PD_LEN,
  emitMpaRr,
  parseMpaRr,
  get16,
} from '@mcstack/wire';
import type { Engine } from '../../../engine.js';
import { ERRNO } from '../../../kern/errno.js';
import { POLLERR, POLLHUP, POLLOUT, type SockAddr } from '../../../kern/uipc_socket.js';
import { IBV_QPS_ERR } from '../../../ofed/ib_verbs.js';
import type { IwQp } from './qp.js';
import type { IwStats } from './stats.js';

/* enum rdma_cm_event_type (rdma/rdma_cma.h) */
export const RDMA_CM_EVENT_CONNECT_REQUEST = 4;
export const RDMA_CM_EVENT_CONNECT_ERROR = 6;
export const RDMA_CM_EVENT_REJECTED = 8;
export const RDMA_CM_EVENT_ESTABLISHED = 9;
export const RDMA_CM_EVENT_DISCONNECTED = 10;

const CM_EVENT_NAMES: Record<number, string> = {
  [RDMA_CM_EVENT_CONNECT_REQUEST]: 'RDMA_CM_EVENT_CONNECT_REQUEST',
  [RDMA_CM_EVENT_CONNECT_ERROR]: 'RDMA_CM_EVENT_CONNECT_ERROR',
  [RDMA_CM_EVENT_REJECTED]: 'RDMA_CM_EVENT_REJECTED',
  [RDMA_CM_EVENT_ESTABLISHED]: 'RDMA_CM_EVENT_ESTABLISHED',
  [RDMA_CM_EVENT_DISCONNECTED]: 'RDMA_CM_EVENT_DISCONNECTED',
};

/** rdma_event_str(). */
export function rdmaEventStr(ev: number): string {
  return CM_EVENT_NAMES[ev] ?? 'UNKNOWN EVENT';
}

export interface RdmaCmEvent {
  event: number;
  id: IwCmId;
  /** For CONNECT_REQUEST: the listening id. */
  listenId: IwCmId | null;
  /** The peer's private data (Request, Reply or reject). */
  privateData: Uint8Array;
  /** -errno for CONNECT_ERROR. */
  status: number;
}

export type CmHandler = (ev: RdmaCmEvent) => void;

/** What an endpoint asks for in its MPA frame. */
export interface MpaParams {
  privateData?: Uint8Array;
  /** M: markers in the FPDUs this side receives (default off). */
  markers?: boolean;
  /** C: CRCs (default on; used when either side asks). */
  crc?: boolean;
}

const S_LISTEN = 0;
const S_CONNECTING = 1;
const S_WAIT_REPLY = 2;
const S_WAIT_REQUEST = 3;
const S_REQUEST_RCVD = 4;
const S_ESTABLISHED = 5;
const S_CLOSING = 6;
const S_CLOSED = 7;

const STATE_NAMES = [
  'LISTEN',
  'CONNECTING',
  'MPA_REQ_SENT',
  'MPA_REQ_WAIT',
  'MPA_REQ_RCVD',
  'ESTABLISHED',
  'CLOSING',
  'CLOSED',
];

/** An rdma_cm_id: a listener, or one connection from TCP connect/accept to close. */
export class IwCmId {
  state = S_CLOSED;
  qp: IwQp | null = null;
  readonly rr = new Uint8Array(MPA_RR_HDR_LEN + MPA_MAX_PRIVATE_DATA);
  rrGot = 0;
  rrSent = 0;
  want: MpaParams = {};
  /** The peer's M and C, from its frame. */
  peerMarkers = false;
  peerCrc = false;
  /** The listener a passive id came from. */
  listener: IwCmId | null = null;
  /** Engine clock (µs) when its startup phase began: the MPA timer runs from here. */
  since = 0;
  context: unknown = null;

  constructor(
    readonly fd: number,
    public handler: CmHandler,
  ) {}

  get stateName(): string {
    return STATE_NAMES[this.state] ?? '?';
  }
}

function pdOf(p: MpaParams): Uint8Array {
  return p.privateData ?? new Uint8Array(0);
}

/** iw_cxgbe's ep_timeout_secs (60): an MPA startup that has not finished by then is dropped. */
export const MPA_STARTUP_TIMEOUT_US = 60_000_000;

export class IwCm {
  readonly ids = new Set<IwCmId>();
  /** How long the startup phase (TCP connect to the Reply, or accept to the Request) may take, µs. */
  mpaTimeoutUs = MPA_STARTUP_TIMEOUT_US;

  constructor(
    private readonly engine: Engine,
    private readonly stats: IwStats,
  ) {}

  /** rdma_listen on a bound address: the TCP listen behind it. */
  listen(sa: SockAddr, backlog: number, handler: CmHandler): IwCmId | number {
    const e = this.engine;
    const fd = e.socket(sa.addr.includes(':') ? 'inet6' : 'inet', 'stream');
    if (fd < 0) return fd;
    let r = e.bind(fd, sa);
    if (r === 0) r = e.listen(fd, backlog);
    if (r < 0) {
      e.close(fd);
      return r;
    }
    const id = new IwCmId(fd, handler);
    id.state = S_LISTEN;
    this.ids.add(id);
    return id;
  }

  /** rdma_connect: TCP connect (from `local` when given: rdma_bind_addr), then the MPA Request carrying `p.privateData`. */
  connect(qp: IwQp, sa: SockAddr, p: MpaParams, handler: CmHandler, local?: SockAddr): IwCmId | number {
    if (pdOf(p).length > MPA_MAX_PRIVATE_DATA) return -ERRNO.EINVAL;
    if (qp.conn !== 0) return -ERRNO.EISCONN;
    if (qp.state === IBV_QPS_ERR) return -ERRNO.EINVAL; // ERROR goes only to RESET, never to RTS
    const e = this.engine;
    const fd = e.socket(sa.addr.includes(':') ? 'inet6' : 'inet', 'stream');
    if (fd < 0) return fd;
    const b = local ? e.bind(fd, local) : 0;
    const r = b < 0 ? b : e.connect(fd, sa);
    if (r !== 0 && r !== -ERRNO.EINPROGRESS) {
      e.close(fd);
      return r;
    }
    const id = new IwCmId(fd, handler);
    id.qp = qp;
    id.want = p;
    id.state = S_CONNECTING;
    id.since = e.now;
    qp.conn = -1; // taken (not QP_IDLE) until the connection is up or gone
    this.ids.add(id);
    this.stats.connects++;
    return id;
  }

  /** rdma_accept: the MPA Reply, and `qp` takes the stream. */
  accept(id: IwCmId, qp: IwQp, p: MpaParams): number {
    if (id.state !== S_REQUEST_RCVD) return -ERRNO.EINVAL;
    if (pdOf(p).length > MPA_MAX_PRIVATE_DATA) return -ERRNO.EINVAL;
    if (qp.conn !== 0) return -ERRNO.EISCONN;
    if (qp.state === IBV_QPS_ERR) return -ERRNO.EINVAL;
    id.want = p;
    const n = this.sendRr(id, 'reply', false);
    if (n < 0) return this.fail(id, n);
    this.stats.accepts++;
    this.establish(id, qp, n);
    return 0;
  }

  /** rdma_reject: a Reply with R and the private data, then close (RFC 5044 §7.1). */
  reject(id: IwCmId, privateData?: Uint8Array): number {
    if (id.state !== S_REQUEST_RCVD) return -ERRNO.EINVAL;
    if (privateData && privateData.length > MPA_MAX_PRIVATE_DATA) return -ERRNO.EINVAL;
    id.want = { privateData };
    this.sendRr(id, 'reply', true);
    this.stats.mpaRejects++;
    this.engine.shutdown(id.fd, 1);
    id.state = S_CLOSING;
    id.since = this.engine.now;
    return 0;
  }

  /** rdma_disconnect. */
  disconnect(id: IwCmId): number {
    if (id.state === S_ESTABLISHED && id.qp) {
      id.qp.disconnect();
      return 0;
    }
    if (id.state === S_CLOSED || id.state === S_CLOSING) return -ERRNO.ENOTCONN;
    if (id.state === S_LISTEN) return -ERRNO.EINVAL;
    this.drop(id);
    return 0;
  }

  /** rdma_destroy_id for a listener (or any id): its socket is closed. */
  destroy(id: IwCmId): void {
    if (id.state === S_LISTEN) {
      this.engine.close(id.fd);
      id.state = S_CLOSED;
      this.ids.delete(id);
      return;
    }
    if (id.qp && id.state === S_ESTABLISHED) id.qp.abort();
    else if (id.state !== S_CLOSED) this.drop(id);
  }

  private emit(id: IwCmId, event: number, privateData: Uint8Array, status = 0): void {
    id.handler({ event, id, listenId: id.listener, privateData, status });
  }

  private sendRr(id: IwCmId, kind: 'request' | 'reply', reject: boolean): number {
    const buf = new Uint8Array(MPA_RR_HDR_LEN + pdOf(id.want).length);
    emitMpaRr(
      {
        kind,
        markers: id.want.markers === true,
        crc: id.want.crc !== false,
        reject,
        revision: MPA_REVISION,
        privateData: pdOf(id.want),
      },
      buf,
    );
    const n = this.engine.send(id.fd, buf);
    if (n < 0) return n;
    // The send buffer takes a whole frame (at most 532 octets) on a new connection.
    return n < buf.length ? -ERRNO.ENOBUFS : n;
  }

  private establish(id: IwCmId, qp: IwQp, txBefore: number, privateData: Uint8Array = new Uint8Array(0)): void {
    id.qp = qp;
    id.state = S_ESTABLISHED;
    this.engine.setsockopt(id.fd, 6, 1, 1); // IPPROTO_TCP, TCP_NODELAY: an FPDU goes when it is framed
    qp.conn = 0;
    qp.attach({
      fd: id.fd,
      txMarkers: id.peerMarkers,
      rxMarkers: id.want.markers === true,
      crc: id.peerCrc || id.want.crc !== false,
      txBefore,
    });
    qp.onClosed = () => {
      id.state = S_CLOSED;
      this.ids.delete(id);
      this.emit(id, RDMA_CM_EVENT_DISCONNECTED, new Uint8Array(0));
    };
    this.emit(id, RDMA_CM_EVENT_ESTABLISHED, privateData);
  }

  private fail(id: IwCmId, err: number): number {
    const wasActive = id.listener === null;
    this.drop(id);
    if (wasActive) this.emit(id, RDMA_CM_EVENT_CONNECT_ERROR, new Uint8Array(0), err);
    return err;
  }

  private drop(id: IwCmId): void {
    if (id.state === S_CLOSED) return;
    id.state = S_CLOSED;
    this.ids.delete(id);
    this.engine.close(id.fd);
    if (id.qp && id.qp.conn === -1) id.qp.conn = 0;
  }

  /** Read the MPA Request/Reply frame; true once whole (the octets after it are FPDUs, left in the socket). */
  private readRr(id: IwCmId): boolean | number {
    for (;;) {
      const need = id.rrGot < MPA_RR_HDR_LEN ? MPA_RR_HDR_LEN : MPA_RR_HDR_LEN + get16(id.rr, MPA_RR_PD_LEN);
      if (need > id.rr.length) return -ERRNO.ECONNABORTED;
      if (id.rrGot === need) return true;
      const n = this.engine.recv(id.fd, id.rr, id.rrGot, need - id.rrGot);
      if (n === -ERRNO.EAGAIN) return false;
      if (n <= 0) return n === 0 ? -ERRNO.ECONNRESET : n;
      id.rrGot += n;
    }
  }

  /** One turn of every connection still starting up, and accepts on listeners. */
  service(): void {
    const e = this.engine;
    for (const id of this.ids) {
      switch (id.state) {
        case S_LISTEN:
          for (let fd = e.accept(id.fd); fd >= 0; fd = e.accept(id.fd)) {
            const c = new IwCmId(fd, id.handler);
            c.listener = id;
            c.state = S_WAIT_REQUEST;
            c.since = e.now;
            this.ids.add(c);
          }
          break;
        case S_CONNECTING: {
          const ev = e.poll(id.fd);
          if (ev & POLLERR || ev & POLLHUP) {
            const err = e.getsockopt(id.fd, 0xffff, 0x1007); // SO_ERROR
            this.fail(id, typeof err === 'number' && err > 0 ? -err : -ERRNO.ECONNREFUSED);
          } else if (ev & POLLOUT) {
            const n = this.sendRr(id, 'request', false);
            if (n < 0) this.fail(id, n);
            else {
              id.rrSent = n;
              id.state = S_WAIT_REPLY;
            }
          }
          break;
        }
        case S_WAIT_REQUEST:
        case S_WAIT_REPLY: {
          const r = this.readRr(id);
          if (r === false) {
            if (e.now - id.since > this.mpaTimeoutUs) {
              this.stats.mpaTimeouts++;
              this.fail(id, -ERRNO.ETIMEDOUT);
            }
            break;
          }
          if (r !== true) {
            this.fail(id, r);
            break;
          }
          const f = parseMpaRr(id.rr, 0, id.rrGot);
          const active = id.state === S_WAIT_REPLY;
          if (!f.ok || f.value.kind !== (active ? 'reply' : 'request') || f.value.revision !== MPA_REVISION) {
            this.stats.mpaBadFrames++; // RFC 5044 §7.1: close and report locally (MPA_ERR_REQ_REP)
            this.fail(id, -ERRNO.ECONNABORTED);
            break;
          }
          id.peerMarkers = f.value.markers;
          id.peerCrc = f.value.crc;
          if (!active) {
            id.state = S_REQUEST_RCVD;
            this.emit(id, RDMA_CM_EVENT_CONNECT_REQUEST, f.value.privateData);
          } else if (f.value.reject) {
            this.stats.mpaRejects++;
            const qp = id.qp;
            this.drop(id);
            if (qp) qp.conn = 0;
            this.emit(id, RDMA_CM_EVENT_REJECTED, f.value.privateData, -ERRNO.ECONNREFUSED);
          } else {
            // rdma_cm gives the Reply's private data with ESTABLISHED.
            this.establish(id, id.qp!, id.rrSent, f.value.privateData);
          }
          break;
        }
        case S_CLOSING: {
          // A rejected request: wait for the peer's FIN, then close; a peer that keeps the
          // connection open past the MPA timer is closed on (a half-closed socket never times out).
          const scratch = id.rr;
          let n = e.recv(id.fd, scratch, 0, scratch.length);
          while (n > 0) n = e.recv(id.fd, scratch, 0, scratch.length);
          if (n !== -ERRNO.EAGAIN || e.now - id.since > this.mpaTimeoutUs) this.drop(id);
          break;
        }
      }
    }
  }
}
