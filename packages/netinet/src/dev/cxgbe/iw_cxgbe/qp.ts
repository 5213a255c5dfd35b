/**
 * The queue pair and its RDMAP/DDP/MPA machine over one engine TCP connection
 * (iw_cxgbe's qp.c and the card's ULP_MODE_RDMA): work requests posted on the
 * send and receive queues become FPDUs (RFC 5044 §4) carrying DDP segments
 * (RFC 5041 §4) of RDMAP messages (RFC 5040 §4); what arrives is placed straight
 * into registered memory and completed on the CQs in order.
 *
 * Choices (what the RFCs leave to the implementation):
 * - A Send or RDMA Write completes when TCP has acknowledged its last octet (the
 *   LLP has delivered it); an RDMA Read when its Read Response's last segment has
 *   been placed (RFC 5040 §5.4, ordering and completions). SQ
 *   completions stay in posting order, so a Write after a Read waits for the Read.
 * - FPDUs are at most one TCP segment (RFC 5044 §5, MULPDU from the EMSS) and each
 *   is handed to TCP alone, on a TCP_NODELAY socket, so while the window is open a
 *   segment carries one whole FPDU. The engine's TCP does not keep that alignment
 *   when it coalesces queued data (no MPA-aware TCP, RFC 5044 §6); the peer's
 *   de-framer does not need it.
 * - An error found in an incoming segment (RFC 5040 §7, RFC 5041 §7, RFC 5044 §8)
 *   is answered with a Terminate carrying the segment's DDP header (and the Read
 *   Request header for a bad Read Request), nothing more from the stream is
 *   processed, the QP goes to ERROR and the connection is closed. The peer's
 *   Terminate completes the work request it names with the verbs status; an error
 *   with no outstanding request behind it is an asynchronous event.
 * - Entering ERROR flushes every outstanding work request with IBV_WC_WR_FLUSH_ERR,
 *   signaled or not; work posted to an ERROR QP is flushed at once.
 */
import {
  emitMpaFpdu,
  mpaWireLen,
  MpaDeframer,
  type MpaFraming,
  get32,
  set32,
  RDMAP_RDMA_WRITE,
  RDMAP_RDMA_READ_REQUEST,
  RDMAP_RDMA_READ_RESPONSE,
  RDMAP_SEND,
  RDMAP_SEND_INVALIDATE,
  RDMAP_SEND_SE,
  RDMAP_SEND_SE_INVALIDATE,
  RDMAP_TERMINATE,
  RDMAP_QN_SEND,
  RDMAP_QN_READ_REQUEST,
  RDMAP_QN_TERMINATE,
  RDMAP_RRQ_LEN,
  rdmapControl,
  rdmapIsTagged,
  parseRdmapTerminate,
  emitRdmapTerminate,
  rdmapTerminateBufferLen,
  DDP_FLAG_T,
  DDP_FLAG_L,
  DDP_DV_MASK,
  DDP_VERSION,
  DDP_TAGGED_HDR_LEN,
  DDP_UNTAGGED_HDR_LEN,
  TERM_LAYER_RDMA,
  TERM_LAYER_DDP,
  TERM_LAYER_LLP,
  TERM_ETYPE_RDMA_LOCAL_CATASTROPHIC,
  TERM_ETYPE_RDMA_REMOTE_PROTECTION,
  TERM_ETYPE_RDMA_REMOTE_OPERATION,
  TERM_RDMA_INVALID_STAG,
  TERM_RDMA_BASE_BOUNDS,
  TERM_RDMA_ACCESS_RIGHTS,
  TERM_RDMA_STAG_NOT_ASSOCIATED,
  TERM_RDMA_INVALID_VERSION,
  TERM_RDMA_UNEXPECTED_OPCODE,
  TERM_RDMA_TO_WRAP,
  TERM_RDMA_STAG_CANNOT_INVALIDATE,
  TERM_ETYPE_DDP_TAGGED,
  TERM_ETYPE_DDP_UNTAGGED,
  TERM_ETYPE_DDP_LOCAL_CATASTROPHIC,
  TERM_DDP_TAGGED_INVALID_STAG,
  TERM_DDP_TAGGED_BASE_BOUNDS,
  TERM_DDP_TAGGED_STAG_NOT_ASSOCIATED,
  TERM_DDP_TAGGED_INVALID_VERSION,
  TERM_DDP_UNTAGGED_INVALID_QN,
  TERM_DDP_UNTAGGED_INVALID_MSN_NO_BUFFER,
  TERM_DDP_UNTAGGED_INVALID_MSN_RANGE,
  TERM_DDP_UNTAGGED_MSG_TOO_LONG,
  TERM_DDP_UNTAGGED_INVALID_VERSION,
  TERM_ETYPE_LLP_MPA,
  MPA_ERR_CRC,
  MPA_ERR_MARKER,
  MPA_ERR_TCP_LOST,
} from '@mcstack/wire';
import {
  IBV_ACCESS_LOCAL_WRITE,
  IBV_ACCESS_REMOTE_READ,
  IBV_ACCESS_REMOTE_WRITE,
  IBV_EVENT_QP_ACCESS_ERR,
  IBV_EVENT_QP_FATAL,
  IBV_EVENT_QP_REQ_ERR,
  IBV_QPS_ERR,
  IBV_QPS_INIT,
  IBV_QPS_RTS,
  IBV_SEND_FENCE,
  IBV_SEND_INLINE,
  IBV_SEND_SIGNALED,
  IBV_SEND_SOLICITED,
  IBV_WC_LOC_LEN_ERR,
  IBV_WC_LOC_PROT_ERR,
  IBV_WC_LOC_ACCESS_ERR,
  IBV_WC_RDMA_READ,
  IBV_WC_RDMA_WRITE,
  IBV_WC_RECV,
  IBV_WC_REM_ACCESS_ERR,
  IBV_WC_REM_INV_REQ_ERR,
  IBV_WC_REM_OP_ERR,
  IBV_WC_SEND,
  IBV_WC_SUCCESS,
  IBV_WC_WITH_INV,
  IBV_WC_WR_FLUSH_ERR,
  IBV_WR_RDMA_READ,
  IBV_WR_RDMA_WRITE,
  IBV_WR_SEND,
  IBV_WR_SEND_WITH_INV,
  type IbvAsyncEvent,
  type IbvRecvWr,
  type IbvSendWr,
  type IbvSge,
} from '../../../ofed/ib_verbs.js';
import type { Engine } from '../../../engine.js';
import type { Socket } from '../../../kern/uipc_socket.js';
import { ERRNO } from '../../../kern/errno.js';
import { type IwMr, type IwPd, type MrTable, STAG_OK, STAG_INVALID, STAG_NOT_ASSOCIATED, STAG_BOUNDS } from './mem.js';
import type { IwCq } from './cq.js';
import type { IwStats } from './stats.js';

/** Largest number of SGEs a work request may carry (the T4's T4_MAX_SEND_SGE is 4). */
export const IW_MAX_SGE = 4;
/** Read Requests a QP holds unanswered (its IRD): one more is answered with a Terminate. */
export const IW_IRD = 32;
/** RFC 5041: the first message on each untagged queue has MSN 1. */
const MSN_FIRST = 1;
const TWO32 = 0x1_0000_0000;

/**
 * Work requests are copied at post, as ibv_post_send and ibv_post_recv copy
 * them (the caller may reuse its WR at once), into WQEs the QP keeps on free
 * lists: no allocation per posted request once the queues have been full once.
 */
interface WqeWr {
  wr_id: number;
  opcode: number;
  send_flags: number;
  sg_list: IbvSge[];
  remote_addr: number | undefined;
  rkey: number | undefined;
  invalidate_rkey: number | undefined;
  /** The IW_MAX_SGE SGE objects sg_list takes its entries from. */
  readonly sges: IbvSge[];
}

function newWqeWr(): WqeWr {
  const sges: IbvSge[] = [];
  for (let i = 0; i < IW_MAX_SGE; i++) sges.push({ addr: 0, length: 0, lkey: 0 });
  return {
    wr_id: 0,
    opcode: 0,
    send_flags: 0,
    sg_list: [],
    remote_addr: undefined,
    rkey: undefined,
    invalidate_rkey: undefined,
    sges,
  };
}

/** Copy the caller's SGEs (at most IW_MAX_SGE, checked by sgeLen) into `d`. */
function copySges(d: WqeWr, sg: readonly IbvSge[]): void {
  d.sg_list.length = 0;
  for (let i = 0; i < sg.length; i++) {
    const s = sg[i]!;
    const c = d.sges[i]!;
    c.addr = s.addr;
    c.length = s.length;
    c.lkey = s.lkey;
    d.sg_list.push(c);
  }
}

interface SqWqe {
  wr: WqeWr;
  len: number;
  framed: number;
  msn: number;
  /** Stream octet count once its last FPDU was handed to TCP (-1 before). */
  end: number;
  /** Reads: the response's last segment is placed. */
  done: boolean;
  got: number;
}

interface RqWqe {
  wr: WqeWr;
  len: number;
}

interface ReadResp {
  sinkStag: number;
  /** The sink's Tagged Offset as two 32-bit halves: 64 bits do not fit a number exactly. */
  sinkToHi: number;
  sinkToLo: number;
  mr: IwMr;
  off: number;
  len: number;
  sent: number;
}

/** Status, at the requester, for a Terminate's layer/type/code (RFC 5040 §4.8). */
function statusForTerminate(layer: number, etype: number, code: number): number {
  if (layer === TERM_LAYER_RDMA) {
    return etype === TERM_ETYPE_RDMA_REMOTE_PROTECTION ? IBV_WC_REM_ACCESS_ERR : IBV_WC_REM_OP_ERR;
  }
  if (layer === TERM_LAYER_DDP) {
    if (etype === TERM_ETYPE_DDP_TAGGED) return IBV_WC_REM_ACCESS_ERR;
    if (etype === TERM_ETYPE_DDP_UNTAGGED && code !== TERM_DDP_UNTAGGED_INVALID_MSN_NO_BUFFER)
      return IBV_WC_REM_INV_REQ_ERR;
  }
  return IBV_WC_REM_OP_ERR;
}

/** The layer/type/code triple packed as vendor_err: layer << 12 | etype << 8 | code. */
export function termVendorErr(layer: number, etype: number, code: number): number {
  return ((layer & 0xf) << 12) | ((etype & 0xf) << 8) | (code & 0xff);
}

/** Where the QP is in its connection's life (iw_cxgbe's c4iw_qp_state, roughly). */
export const QP_IDLE = 0;
export const QP_RTS = 1;
/** Sending its Terminate, then closing. */
export const QP_TERMINATE = 2;
/** Draining what it sent, then FIN; input discarded until the peer's FIN. */
export const QP_CLOSING = 3;
export const QP_CLOSED = 4;

/** sgeLen's answer for an SGE outside its MR or without the access it needs (not an errno). */
const LOC_PROT = -0x10000;

export interface QpConnParams {
  fd: number;
  /** Markers in the FPDUs we send (the peer set M) / receive (we set M). */
  txMarkers: boolean;
  rxMarkers: boolean;
  crc: boolean;
  /** Octets of this connection's send stream before the first FPDU (the MPA Request or Reply). */
  txBefore: number;
}

export class IwQp {
  state = IBV_QPS_INIT;
  /** The connection's state (QP_*). */
  conn = QP_IDLE;
  fd = -1;
  private so: Socket | null = null;
  private readonly sq: SqWqe[] = [];
  private sqFrame = 0;
  private readonly rq: RqWqe[] = [];
  private readonly sqFree: SqWqe[] = [];
  private readonly rqFree: RqWqe[] = [];
  private readonly readQ: SqWqe[] = [];
  private readonly resps: ReadResp[] = [];
  /** Read Responses sent, kept for the next Read Requests (at most IW_IRD are outstanding). */
  private readonly respFree: ReadResp[] = [];
  private tx: MpaFraming = { markers: false, crc: true };
  private deframer: MpaDeframer | null = null;
  private readonly ulpdus: Uint8Array[] = [];
  private txPos = 0; // stream position from the first FPDU (markers, RFC 5044 §4.3)
  private txHanded = 0; // octets handed to TCP on this connection
  private mulpdu = 0;
  private ulp: Uint8Array = new Uint8Array(0);
  /** ulp[0, n) for the last n framed: full-size segments repeat n, so no view per FPDU. */
  private ulpView: Uint8Array = new Uint8Array(0);
  private wire: Uint8Array = new Uint8Array(0);
  private pendOff = 0;
  private pendLen = 0;
  private readonly rxBuf = new Uint8Array(16384);
  private msnSendTx = MSN_FIRST;
  private msnReadTx = MSN_FIRST;
  private msnTermTx = MSN_FIRST;
  private msnSendRx = MSN_FIRST;
  private msnReadRx = MSN_FIRST;
  private term: Uint8Array | null = null;
  private shut = false;
  /** The asynchronous events raised on this QP, oldest first (ibv_get_async_event). */
  readonly events: IbvAsyncEvent[] = [];
  /** Called when the connection is gone (the CM's DISCONNECTED). */
  onClosed: ((qp: IwQp) => void) | null = null;
  onAsync: ((ev: IbvAsyncEvent) => void) | null = null;

  constructor(
    readonly qpNum: number,
    readonly pd: IwPd,
    readonly sendCq: IwCq,
    readonly recvCq: IwCq,
    readonly maxSendWr: number,
    readonly maxRecvWr: number,
    readonly sqSigAll: boolean,
    private readonly engine: Engine,
    private readonly mrs: MrTable,
    private readonly stats: IwStats,
  ) {}

  /** Work requests on the send queue not yet completed. */
  get sqDepth(): number {
    return this.sq.length;
  }
  get rqDepth(): number {
    return this.rq.length;
  }

  /* ---- posting ---- */

  /** The message length of `sg`, -EINVAL when malformed, or LOC_PROT when an SGE is outside its MR or lacks `access`. */
  private sgeLen(sg: readonly IbvSge[], access: number): number {
    if (sg.length > IW_MAX_SGE) return -ERRNO.EINVAL;
    let n = 0;
    let prot = false;
    for (const s of sg) {
      if (!Number.isSafeInteger(s.length) || s.length < 0) return -ERRNO.EINVAL;
      if (s.length > 0 && this.mrs.check(s.lkey, this.pd, s.addr, s.length, access) !== STAG_OK) prot = true;
      n += s.length;
    }
    if (n > 0xffffffff) return -ERRNO.EINVAL;
    return prot ? LOC_PROT : n;
  }

  /** ibv_post_send: 0, -EINVAL (a malformed request), -ENOMEM (the queue is full), -EOPNOTSUPP. */
  postSend(wr: IbvSendWr): number {
    if (this.state === IBV_QPS_INIT) return -ERRNO.EINVAL;
    const flags = wr.send_flags ?? 0;
    if (flags & IBV_SEND_INLINE) return -ERRNO.EOPNOTSUPP; // data is read from the MR when framed, never copied at post
    const op = wr.opcode;
    let len: number;
    if (op === IBV_WR_RDMA_READ) {
      if (wr.sg_list.length !== 1) return -ERRNO.EINVAL; // one sink buffer: its STag and TO go on the wire
      len = this.sgeLen(wr.sg_list, IBV_ACCESS_LOCAL_WRITE);
    } else if (op === IBV_WR_RDMA_WRITE || op === IBV_WR_SEND || op === IBV_WR_SEND_WITH_INV) {
      len = this.sgeLen(wr.sg_list, 0);
    } else return -ERRNO.EOPNOTSUPP;
    if (len < 0 && len !== LOC_PROT) return len;
    if (op === IBV_WR_RDMA_READ || op === IBV_WR_RDMA_WRITE) {
      if (wr.rkey === undefined || wr.remote_addr === undefined || !Number.isSafeInteger(wr.remote_addr))
        return -ERRNO.EINVAL;
    }
    if (op === IBV_WR_SEND_WITH_INV && wr.invalidate_rkey === undefined) return -ERRNO.EINVAL;
    if (this.sq.length >= this.maxSendWr) return -ERRNO.ENOMEM;
    if (this.state === IBV_QPS_ERR) {
      this.sendCq.push(wr.wr_id, IBV_WC_WR_FLUSH_ERR, wcOpcode(op), 0, this.qpNum);
      this.stats.flushed++;
      return 0;
    }
    if (len === LOC_PROT) {
      this.postFailed(wr.wr_id, false, wcOpcode(op), IBV_WC_LOC_PROT_ERR);
      return 0;
    }
    const w = this.sqFree.pop() ?? { wr: newWqeWr(), len: 0, framed: 0, msn: 0, end: -1, done: false, got: 0 };
    const c = w.wr;
    c.wr_id = wr.wr_id;
    c.opcode = op;
    c.send_flags = flags;
    copySges(c, wr.sg_list);
    c.remote_addr = wr.remote_addr;
    c.rkey = wr.rkey;
    c.invalidate_rkey = wr.invalidate_rkey;
    w.len = len;
    w.framed = 0;
    w.msn = 0;
    w.end = -1;
    w.done = false;
    w.got = 0;
    // MSNs are 32 bits and wrap (RFC 5041 §5.1); kept wrapped, a Terminate's copied MSN still finds its request.
    if (op === IBV_WR_RDMA_READ) {
      w.msn = this.msnReadTx;
      this.msnReadTx = (this.msnReadTx + 1) >>> 0;
    } else if (op !== IBV_WR_RDMA_WRITE) {
      w.msn = this.msnSendTx;
      this.msnSendTx = (this.msnSendTx + 1) >>> 0;
    }
    this.sq.push(w);
    return 0;
  }

  /** ibv_post_recv. */
  postRecv(wr: IbvRecvWr): number {
    const len = this.sgeLen(wr.sg_list, IBV_ACCESS_LOCAL_WRITE);
    if (len < 0 && len !== LOC_PROT) return len;
    if (this.rq.length >= this.maxRecvWr) return -ERRNO.ENOMEM;
    if (this.state === IBV_QPS_ERR) {
      this.recvCq.push(wr.wr_id, IBV_WC_WR_FLUSH_ERR, IBV_WC_RECV, 0, this.qpNum);
      this.stats.flushed++;
      return 0;
    }
    if (len === LOC_PROT) {
      this.postFailed(wr.wr_id, true, IBV_WC_RECV, IBV_WC_LOC_PROT_ERR);
      return 0;
    }
    const w = this.rqFree.pop() ?? { wr: newWqeWr(), len: 0 };
    w.wr.wr_id = wr.wr_id;
    copySges(w.wr, wr.sg_list);
    w.len = len;
    this.rq.push(w);
    return 0;
  }

  /**
   * A work request that cannot be carried out (a local protection error, or one
   * the card refused after the host's post returned): it completes with `status`
   * after everything posted before it, the QP goes to ERROR (the rest flushed),
   * and a connected stream is ended with a Terminate naming a local catastrophic
   * error (RFC 5040 §7), so the peer's work flushes too.
   */
  postFailed(wrId: number, recv: boolean, opcode: number, status: number): void {
    const cq = recv ? this.recvCq : this.sendCq;
    if (this.state === IBV_QPS_ERR) {
      cq.push(wrId, IBV_WC_WR_FLUSH_ERR, opcode, 0, this.qpNum);
      this.stats.flushed++;
      return;
    }
    this.toError(-1, 0, 0);
    cq.push(wrId, status, opcode, 0, this.qpNum);
    if (this.conn === QP_RTS) this.queueTerminate(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_LOCAL_CATASTROPHIC, 0, null, null);
  }

  /** The RQ's head is consumed: its WQE goes back to the free list (its fields hold until the next post). */
  private rqDone(): void {
    const w = this.rq.shift();
    if (w) this.rqFree.push(w);
  }

  /* ---- the connection ---- */

  /** Bind to an established, MPA-negotiated connection (the CM's accept or the Reply's arrival). */
  attach(p: QpConnParams): void {
    this.fd = p.fd;
    this.so = this.engine.sockets.lookup(p.fd) ?? null;
    this.tx = { markers: p.txMarkers, crc: p.crc };
    this.deframer = new MpaDeframer({ markers: p.rxMarkers, crc: p.crc });
    this.txHanded = p.txBefore;
    // RFC 5044 §5: MULPDU = EMSS - (6 + 4 * ceil(EMSS / 512) + EMSS mod 4), with markers.
    const info = this.engine.tcpInfo(p.fd);
    const mss = typeof info === 'number' ? 536 : info.tcpi_snd_mss;
    const emss = Math.max(128, mss - 40); // room for TCP options (TCP_MAXOLEN)
    this.mulpdu = emss - (6 + (p.txMarkers ? 4 * Math.ceil(emss / 512) : 0) + (emss % 4));
    this.ulp = new Uint8Array(this.mulpdu);
    this.wire = new Uint8Array(mpaWireLen(this.mulpdu, 0, { markers: true, crc: true }) + 8);
    if (this.state === IBV_QPS_ERR) {
      // It went to ERROR while connecting (a bad receive posted): no RTS, the stream closes at once.
      this.conn = QP_CLOSING;
      return;
    }
    this.conn = QP_RTS;
    this.state = IBV_QPS_RTS;
  }

  /** rdma_disconnect: flush, then an orderly TCP close. */
  disconnect(): void {
    if (this.conn === QP_RTS) {
      this.toError(-1, 0, 0);
      this.conn = QP_CLOSING;
    } else if (this.conn === QP_IDLE) {
      this.toError(-1, 0, 0);
    }
  }

  /** One turn: read and place what arrived, frame and send what is queued, complete what is done. */
  service(): void {
    if (this.conn <= QP_IDLE || this.conn === QP_CLOSED) return;
    this.input();
    this.output();
    this.complete();
    this.closeStep();
  }

  private input(): void {
    const e = this.engine;
    const buf = this.rxBuf;
    for (;;) {
      if (this.conn === QP_CLOSED) return;
      const n = e.recv(this.fd, buf, 0, buf.length);
      if (n === -ERRNO.EAGAIN) return;
      if (n <= 0) {
        // EOF or a reset: the peer left. RFC 5044 §8 names it (TCP connection lost).
        if (this.conn === QP_RTS) {
          this.raise(
            n === 0 ? 0 : IBV_EVENT_QP_FATAL,
            termVendorErr(TERM_LAYER_LLP, TERM_ETYPE_LLP_MPA, MPA_ERR_TCP_LOST),
          );
          this.toError(-1, 0, 0);
        }
        this.finish();
        return;
      }
      if (this.conn !== QP_RTS) continue; // after a Terminate or a disconnect nothing more is processed
      const d = this.deframer!;
      const out = this.ulpdus;
      const err = d.push(buf, out, 0, n);
      for (let i = 0; i < out.length && this.conn === QP_RTS; i++) {
        this.stats.rxFpdus++;
        this.rxUlpdu(out[i]!);
      }
      out.length = 0;
      if (err && this.conn === QP_RTS) {
        const code = err.code === 'BAD_CHECKSUM' ? MPA_ERR_CRC : MPA_ERR_MARKER;
        if (code === MPA_ERR_CRC) this.stats.crcErrors++;
        else this.stats.markerErrors++;
        this.terminate(TERM_LAYER_LLP, TERM_ETYPE_LLP_MPA, code, null, null);
      }
    }
  }

  /* ---- receive: RFC 5040 §5, RFC 5041 §5 ---- */

  private rxUlpdu(u: Uint8Array): boolean {
    const n = u.length;
    if (n < 2) return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_LOCAL_CATASTROPHIC, 0, null, null);
    const c = u[0]!;
    const tagged = (c & DDP_FLAG_T) !== 0;
    const hl = tagged ? DDP_TAGGED_HDR_LEN : DDP_UNTAGGED_HDR_LEN;
    if (n < hl) return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_LOCAL_CATASTROPHIC, 0, null, null);
    if ((c & DDP_DV_MASK) !== DDP_VERSION) {
      return tagged
        ? this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_TAGGED, TERM_DDP_TAGGED_INVALID_VERSION, u, null)
        : this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_UNTAGGED, TERM_DDP_UNTAGGED_INVALID_VERSION, u, null);
    }
    const ctrl = u[1]!;
    if (ctrl >>> 6 !== 1)
      return this.terminate(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_OPERATION, TERM_RDMA_INVALID_VERSION, u, null);
    const op = ctrl & 0x0f;
    if (op > RDMAP_TERMINATE || rdmapIsTagged(op) !== tagged)
      return this.terminate(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_OPERATION, TERM_RDMA_UNEXPECTED_OPCODE, u, null);
    const last = (c & DDP_FLAG_L) !== 0;
    if (tagged) return this.rxTagged(u, op, last);
    const qn = get32(u, 6);
    const msn = get32(u, 10);
    const mo = get32(u, 14);
    if (qn === RDMAP_QN_SEND) {
      if (op !== RDMAP_SEND && op !== RDMAP_SEND_INVALIDATE && op !== RDMAP_SEND_SE && op !== RDMAP_SEND_SE_INVALIDATE)
        return this.terminate(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_OPERATION, TERM_RDMA_UNEXPECTED_OPCODE, u, null);
      return this.rxSend(u, op, msn, mo, last);
    }
    if (qn === RDMAP_QN_READ_REQUEST) {
      if (op !== RDMAP_RDMA_READ_REQUEST)
        return this.terminate(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_OPERATION, TERM_RDMA_UNEXPECTED_OPCODE, u, null);
      return this.rxReadRequest(u, msn);
    }
    if (qn === RDMAP_QN_TERMINATE && op === RDMAP_TERMINATE) return this.rxTerminate(u);
    return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_UNTAGGED, TERM_DDP_UNTAGGED_INVALID_QN, u, null);
  }

  /** RDMA Write, Read Response: a tagged buffer (RFC 5041 §5.2, §7.2 tagged buffer errors). */
  private rxTagged(u: Uint8Array, op: number, last: boolean): boolean {
    const stag = get32(u, 2);
    const to = get32(u, 6) * TWO32 + get32(u, 10);
    const n = u.length - DDP_TAGGED_HDR_LEN;
    let rd: SqWqe | undefined;
    let need = IBV_ACCESS_REMOTE_WRITE;
    if (op === RDMAP_RDMA_READ_RESPONSE) {
      rd = this.readQ[0];
      if (!rd || rd.framed < rd.len || stag !== rd.wr.sg_list[0]!.lkey)
        return this.terminate(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_OPERATION, TERM_RDMA_UNEXPECTED_OPCODE, u, null);
      need = IBV_ACCESS_LOCAL_WRITE;
    }
    const chk = this.mrs.check(stag, this.pd, to, n, need);
    if (chk !== STAG_OK) {
      if (chk === STAG_INVALID)
        return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_TAGGED, TERM_DDP_TAGGED_INVALID_STAG, u, null);
      if (chk === STAG_NOT_ASSOCIATED)
        return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_TAGGED, TERM_DDP_TAGGED_STAG_NOT_ASSOCIATED, u, null);
      if (chk === STAG_BOUNDS)
        return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_TAGGED, TERM_DDP_TAGGED_BASE_BOUNDS, u, null);
      // Access rights are RDMAP's (RFC 5040 §4.8: Remote Protection Error, Access Rights Violation).
      return this.terminate(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_PROTECTION, TERM_RDMA_ACCESS_RIGHTS, u, null);
    }
    const mr = this.mrs.lookup(stag)!;
    mr.buf.set(u.subarray(DDP_TAGGED_HDR_LEN), to - mr.iova);
    if (op === RDMAP_RDMA_WRITE) {
      this.stats.rxWriteBytes += n;
      return true;
    }
    this.stats.rxReadRespBytes += n;
    rd!.got += n;
    if (last) {
      rd!.done = true;
      this.readQ.shift();
    }
    return true;
  }

  /** Send and its variants: the untagged queue 0 (RFC 5041 §5.3, RFC 5040 §5.3). */
  private rxSend(u: Uint8Array, op: number, msn: number, mo: number, last: boolean): boolean {
    if (msn !== this.msnSendRx)
      return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_UNTAGGED, TERM_DDP_UNTAGGED_INVALID_MSN_RANGE, u, null);
    const w = this.rq[0];
    if (!w) {
      this.stats.noRecvBuffer++;
      return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_UNTAGGED, TERM_DDP_UNTAGGED_INVALID_MSN_NO_BUFFER, u, null);
    }
    const n = u.length - DDP_UNTAGGED_HDR_LEN;
    if (mo + n > w.len) {
      this.rqDone();
      this.recvCq.push(w.wr.wr_id, IBV_WC_LOC_LEN_ERR, IBV_WC_RECV, 0, this.qpNum);
      return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_UNTAGGED, TERM_DDP_UNTAGGED_MSG_TOO_LONG, u, null);
    }
    scatter(this.mrs, w.wr.sg_list, mo, u, DDP_UNTAGGED_HDR_LEN, n);
    this.stats.rxSendBytes += n;
    if (!last) return true;
    let flags = 0;
    let inv = 0;
    if (op === RDMAP_SEND_INVALIDATE || op === RDMAP_SEND_SE_INVALIDATE) {
      inv = get32(u, 2);
      const mr = this.mrs.lookup(inv);
      // RFC 5040 §5.3: only an STag of this stream's PD may be invalidated.
      if (!mr?.valid || mr.pd !== this.pd) {
        this.rqDone();
        this.recvCq.push(w.wr.wr_id, IBV_WC_LOC_ACCESS_ERR, IBV_WC_RECV, 0, this.qpNum);
        return this.terminate(
          TERM_LAYER_RDMA,
          TERM_ETYPE_RDMA_REMOTE_OPERATION,
          TERM_RDMA_STAG_CANNOT_INVALIDATE,
          u,
          null,
        );
      }
      mr.valid = false;
      flags = IBV_WC_WITH_INV;
    }
    this.rqDone();
    this.msnSendRx = (this.msnSendRx + 1) >>> 0;
    const se = op === RDMAP_SEND_SE || op === RDMAP_SEND_SE_INVALIDATE;
    this.recvCq.push(w.wr.wr_id, IBV_WC_SUCCESS, IBV_WC_RECV, mo + n, this.qpNum, flags, inv, 0, se);
    return true;
  }

  /** RDMA Read Request on queue 1 (RFC 5040 §5.4, errors §7.1 at the Data Source). */
  private rxReadRequest(u: Uint8Array, msn: number): boolean {
    const h = DDP_UNTAGGED_HDR_LEN;
    if (msn !== this.msnReadRx)
      return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_UNTAGGED, TERM_DDP_UNTAGGED_INVALID_MSN_RANGE, u, null);
    if (u.length < h + RDMAP_RRQ_LEN)
      return this.terminate(TERM_LAYER_DDP, TERM_ETYPE_DDP_UNTAGGED, TERM_DDP_UNTAGGED_MSG_TOO_LONG, u, null);
    const rrq = u.subarray(h, h + RDMAP_RRQ_LEN);
    if (this.resps.length >= IW_IRD)
      return this.terminate(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_OPERATION, TERM_RDMA_UNEXPECTED_OPCODE, u, rrq);
    const sinkStag = get32(u, h);
    const sinkToHi = get32(u, h + 4);
    const sinkToLo = get32(u, h + 8);
    const size = get32(u, h + 12);
    // RFC 5040 §7.1: a sink Tagged Offset the Response would carry past 2^64 is a TO wrap.
    if (sinkToHi === 0xffffffff && sinkToLo + size > TWO32)
      return this.terminate(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_PROTECTION, TERM_RDMA_TO_WRAP, u, rrq);
    const srcStag = get32(u, h + 16);
    const srcTo = get32(u, h + 20) * TWO32 + get32(u, h + 24);
    const chk = this.mrs.check(srcStag, this.pd, srcTo, size, IBV_ACCESS_REMOTE_READ);
    if (chk !== STAG_OK) {
      const code =
        chk === STAG_INVALID
          ? TERM_RDMA_INVALID_STAG
          : chk === STAG_NOT_ASSOCIATED
            ? TERM_RDMA_STAG_NOT_ASSOCIATED
            : chk === STAG_BOUNDS
              ? TERM_RDMA_BASE_BOUNDS
              : TERM_RDMA_ACCESS_RIGHTS;
      return this.terminate(TERM_LAYER_RDMA, TERM_ETYPE_RDMA_REMOTE_PROTECTION, code, u, rrq);
    }
    this.msnReadRx = (this.msnReadRx + 1) >>> 0;
    const mr = this.mrs.lookup(srcStag)!;
    const rr = this.respFree.pop() ?? { sinkStag: 0, sinkToHi: 0, sinkToLo: 0, mr, off: 0, len: 0, sent: 0 };
    rr.sinkStag = sinkStag;
    rr.sinkToHi = sinkToHi;
    rr.sinkToLo = sinkToLo;
    rr.mr = mr;
    rr.off = srcTo - mr.iova;
    rr.len = size;
    rr.sent = 0;
    this.resps.push(rr);
    return true;
  }

  /** The peer's Terminate (RFC 5040 §4.8): complete the work request it names with the error. */
  private rxTerminate(u: Uint8Array): boolean {
    this.stats.rxTerminates++;
    const r = parseRdmapTerminate(u, DDP_UNTAGGED_HDR_LEN);
    if (!r.ok) {
      this.raise(IBV_EVENT_QP_FATAL, 0);
      this.toError(-1, 0, 0);
      this.conn = QP_CLOSING;
      return false;
    }
    const t = r.value;
    const status = statusForTerminate(t.layer, t.etype, t.errorCode);
    const vendor = termVendorErr(t.layer, t.etype, t.errorCode);
    const hit = this.terminatedWqe(t.ddpHeader, t.rdmaHeader);
    if (!hit) {
      const access =
        (t.layer === TERM_LAYER_RDMA && t.etype === TERM_ETYPE_RDMA_REMOTE_PROTECTION) ||
        (t.layer === TERM_LAYER_DDP && t.etype === TERM_ETYPE_DDP_TAGGED);
      this.raise(access ? IBV_EVENT_QP_ACCESS_ERR : IBV_EVENT_QP_REQ_ERR, vendor);
    }
    this.toError(hit ? this.sq.indexOf(hit) : -1, status, vendor);
    this.conn = QP_CLOSING;
    return false;
  }

  /** The outstanding SQ request a Terminate's copied headers point at (RFC 5040 §4.8: Hdrct D and R). */
  private terminatedWqe(ddp: Uint8Array | undefined, rdma: Uint8Array | undefined): SqWqe | undefined {
    if (!ddp || ddp.length < 2) return undefined;
    const op = ddp[1]! & 0x0f;
    if (ddp[0]! & DDP_FLAG_T) {
      if (op !== RDMAP_RDMA_WRITE || ddp.length < DDP_TAGGED_HDR_LEN) return undefined;
      const stag = get32(ddp, 2);
      const to = get32(ddp, 6) * TWO32 + get32(ddp, 10);
      return this.sq.find(
        (w) =>
          w.wr.opcode === IBV_WR_RDMA_WRITE &&
          w.wr.rkey === stag &&
          to >= (w.wr.remote_addr ?? 0) &&
          to <= (w.wr.remote_addr ?? 0) + w.len,
      );
    }
    if (ddp.length < DDP_UNTAGGED_HDR_LEN) return undefined;
    const qn = get32(ddp, 6);
    const msn = get32(ddp, 10);
    if (qn === RDMAP_QN_SEND)
      return this.sq.find(
        (w) => w.msn === msn && w.wr.opcode !== IBV_WR_RDMA_READ && w.wr.opcode !== IBV_WR_RDMA_WRITE,
      );
    if (qn === RDMAP_QN_READ_REQUEST || rdma)
      return this.sq.find((w) => w.msn === msn && w.wr.opcode === IBV_WR_RDMA_READ);
    return undefined;
  }

  /* ---- errors ---- */

  private raise(type: number, vendorErr: number): void {
    if (type === 0) return;
    const ev: IbvAsyncEvent = { event_type: type, qp_num: this.qpNum, vendor_err: vendorErr };
    this.events.push(ev);
    this.onAsync?.(ev);
  }

  /**
   * Send a Terminate for the segment `u` (its DDP header copied, D; the Read
   * Request header `rrq`, R) and close (RFC 5040 §7, RFC 5041 §7).
   */
  private terminate(layer: number, etype: number, code: number, u: Uint8Array | null, rrq: Uint8Array | null): false {
    const vendor = termVendorErr(layer, etype, code);
    const access =
      (layer === TERM_LAYER_RDMA && etype === TERM_ETYPE_RDMA_REMOTE_PROTECTION) ||
      (layer === TERM_LAYER_DDP && etype === TERM_ETYPE_DDP_TAGGED);
    this.raise(access ? IBV_EVENT_QP_ACCESS_ERR : IBV_EVENT_QP_FATAL, vendor);
    this.toError(-1, 0, vendor);
    this.queueTerminate(layer, etype, code, u, rrq);
    return false;
  }

  /** Frame the Terminate for output() to send ahead of the close. */
  private queueTerminate(
    layer: number,
    etype: number,
    code: number,
    u: Uint8Array | null,
    rrq: Uint8Array | null,
  ): void {
    this.stats.txTerminates++;
    let ddpHeader: Uint8Array | undefined;
    if (u && u.length >= 2) {
      const hl = u[0]! & DDP_FLAG_T ? DDP_TAGGED_HDR_LEN : DDP_UNTAGGED_HDR_LEN;
      if (u.length >= hl) ddpHeader = u.slice(0, hl);
    }
    const repr = {
      layer,
      etype,
      errorCode: code,
      m: ddpHeader !== undefined,
      ddpSegmentLength: ddpHeader ? u!.length : 0,
      ddpHeader,
      rdmaHeader: rrq ? rrq.slice() : undefined,
    };
    const h = DDP_UNTAGGED_HDR_LEN;
    const t = new Uint8Array(h + rdmapTerminateBufferLen(repr));
    t[0] = DDP_FLAG_L | DDP_VERSION;
    t[1] = rdmapControl(RDMAP_TERMINATE);
    set32(t, 6, RDMAP_QN_TERMINATE);
    set32(t, 10, this.msnTermTx);
    this.msnTermTx = (this.msnTermTx + 1) >>> 0;
    emitRdmapTerminate(repr, t, h);
    this.term = t;
    this.conn = QP_TERMINATE;
  }

  /**
   * Enter ERROR: SQ requests before `hit` whose data the peer took complete as
   * they would have; `hit` completes with `status`; everything else is flushed.
   */
  private toError(hit: number, status: number, vendor: number): void {
    if (this.state === IBV_QPS_ERR) return;
    this.state = IBV_QPS_ERR;
    const sq = this.sq;
    for (let i = 0; i < sq.length; i++) {
      const w = sq[i]!;
      const op = wcOpcode(w.wr.opcode);
      if (i < hit && w.wr.opcode !== IBV_WR_RDMA_READ && w.end >= 0) {
        if (this.signaled(w)) this.sendCq.push(w.wr.wr_id, IBV_WC_SUCCESS, op, w.len, this.qpNum);
      } else if (i === hit) {
        this.sendCq.push(w.wr.wr_id, status, op, 0, this.qpNum, 0, 0, vendor);
      } else {
        this.sendCq.push(w.wr.wr_id, IBV_WC_WR_FLUSH_ERR, op, 0, this.qpNum);
        this.stats.flushed++;
      }
    }
    for (const w of sq) this.sqFree.push(w);
    sq.length = 0;
    this.sqFrame = 0;
    this.readQ.length = 0;
    for (const r of this.resps) this.respFree.push(r);
    this.resps.length = 0;
    for (const w of this.rq) {
      this.recvCq.push(w.wr.wr_id, IBV_WC_WR_FLUSH_ERR, IBV_WC_RECV, 0, this.qpNum);
      this.stats.flushed++;
      this.rqFree.push(w);
    }
    this.rq.length = 0;
  }

  private signaled(w: SqWqe): boolean {
    return this.sqSigAll || ((w.wr.send_flags ?? 0) & IBV_SEND_SIGNALED) !== 0;
  }

  /* ---- transmit ---- */

  /** Hand what is left of the current FPDU to TCP; true when nothing is left. */
  private drain(): boolean {
    while (this.pendLen > 0) {
      const n = this.engine.send(this.fd, this.wire, this.pendOff, this.pendLen);
      if (n <= 0) return false;
      this.pendOff += n;
      this.pendLen -= n;
      this.txHanded += n;
    }
    return true;
  }

  private room(): number {
    const so = this.so;
    return so ? so.so_snd.space() : 0;
  }

  /** Frame ulp[0, n) as the next FPDU and hand it to TCP (one FPDU per send: RFC 5044 §5 alignment). */
  private sendUlpdu(n: number): void {
    if (this.ulpView.length !== n || this.ulpView.buffer !== this.ulp.buffer) this.ulpView = this.ulp.subarray(0, n);
    const k = emitMpaFpdu(this.ulpView, this.tx, this.txPos, this.wire, 0);
    this.txPos = (this.txPos + k) >>> 0;
    this.pendOff = 0;
    this.pendLen = k;
    this.stats.txFpdus++;
    this.drain();
  }

  private output(): void {
    if (!this.drain()) return;
    if (this.conn === QP_TERMINATE) {
      const t = this.term;
      if (t) {
        const need = mpaWireLen(t.length, this.txPos, this.tx);
        if (this.room() < need) return;
        if (this.ulp.length < t.length) this.ulp = new Uint8Array(t.length);
        if (this.wire.length < need) this.wire = new Uint8Array(need);
        this.ulp.set(t);
        this.term = null;
        this.sendUlpdu(t.length);
      }
      this.conn = QP_CLOSING;
      return;
    }
    if (this.conn !== QP_RTS) return;
    const maxWire = this.wire.length;
    while (this.room() >= maxWire && this.pendLen === 0) {
      const r = this.resps[0];
      if (r) {
        this.frameReadResponse(r);
        if (r.sent === r.len) this.respFree.push(this.resps.shift()!);
        continue;
      }
      const w = this.sq[this.sqFrame];
      if (!w) break;
      if ((w.wr.send_flags ?? 0) & IBV_SEND_FENCE && this.readQ.length > 0) break; // waits for the Reads before it
      if (w.wr.opcode === IBV_WR_RDMA_READ) this.frameReadRequest(w);
      else this.frameMessage(w);
      // Each call frames one segment; a zero-length message is one empty segment.
      if (w.framed === w.len) {
        w.end = this.txHanded + this.pendLen;
        this.sqFrame++;
      }
    }
  }

  /**
   * Payload octets of the next segment of a message with `left` to go after a
   * header of `h`: up to MULPDU, and, with markers, never an FPDU that ends right
   * before a marker position. Such a marker belongs to the next FPDU (RFC 5044
   * §4.3, as the de-framer reads it), but Wireshark's iwarp_mpa counts it in the
   * FPDU before and misreads the segment; four octets fewer keep every reader right.
   */
  private segLen(h: number, left: number): number {
    let k = Math.min(left, this.mulpdu - h);
    if (this.tx.markers && k >= 4 && ((this.txPos + mpaWireLen(h + k, this.txPos, this.tx)) & 511) === 0) k -= 4;
    return k;
  }

  private frameReadResponse(r: ReadResp): void {
    const u = this.ulp;
    const k = this.segLen(DDP_TAGGED_HDR_LEN, r.len - r.sent);
    const last = r.sent + k === r.len;
    u[0] = DDP_FLAG_T | (last ? DDP_FLAG_L : 0) | DDP_VERSION;
    u[1] = rdmapControl(RDMAP_RDMA_READ_RESPONSE);
    set32(u, 2, r.sinkStag);
    const lo = r.sinkToLo + r.sent; // below 2^33: the carry into the high half is exact
    set32(u, 6, (r.sinkToHi + Math.floor(lo / TWO32)) >>> 0);
    set32(u, 10, lo >>> 0);
    u.set(r.mr.buf.subarray(r.off + r.sent, r.off + r.sent + k), DDP_TAGGED_HDR_LEN);
    r.sent += k;
    this.stats.txReadRespBytes += k;
    this.sendUlpdu(DDP_TAGGED_HDR_LEN + k);
  }

  private frameReadRequest(w: SqWqe): void {
    const u = this.ulp;
    const h = DDP_UNTAGGED_HDR_LEN;
    const sink = w.wr.sg_list[0]!;
    const src = w.wr.remote_addr!;
    u[0] = DDP_FLAG_L | DDP_VERSION;
    u[1] = rdmapControl(RDMAP_RDMA_READ_REQUEST);
    set32(u, 2, 0);
    set32(u, 6, RDMAP_QN_READ_REQUEST);
    set32(u, 10, w.msn);
    set32(u, 14, 0);
    set32(u, h, sink.lkey);
    set32(u, h + 4, Math.floor(sink.addr / TWO32));
    set32(u, h + 8, sink.addr >>> 0);
    set32(u, h + 12, w.len);
    set32(u, h + 16, w.wr.rkey!);
    set32(u, h + 20, Math.floor(src / TWO32));
    set32(u, h + 24, src >>> 0);
    w.framed = w.len;
    this.readQ.push(w); // even a zero-length Read is answered by one empty Read Response
    this.sendUlpdu(h + RDMAP_RRQ_LEN);
  }

  /** An RDMA Write (tagged) or a Send (untagged queue 0): the next segment of `w`. */
  private frameMessage(w: SqWqe): void {
    const u = this.ulp;
    const write = w.wr.opcode === IBV_WR_RDMA_WRITE;
    const h = write ? DDP_TAGGED_HDR_LEN : DDP_UNTAGGED_HDR_LEN;
    const k = this.segLen(h, w.len - w.framed);
    const last = w.framed + k === w.len;
    if (write) {
      u[0] = DDP_FLAG_T | (last ? DDP_FLAG_L : 0) | DDP_VERSION;
      u[1] = rdmapControl(RDMAP_RDMA_WRITE);
      set32(u, 2, w.wr.rkey!);
      const to = w.wr.remote_addr! + w.framed;
      set32(u, 6, Math.floor(to / TWO32));
      set32(u, 10, to >>> 0);
      this.stats.txWriteBytes += k;
    } else {
      const se = ((w.wr.send_flags ?? 0) & IBV_SEND_SOLICITED) !== 0;
      const inv = w.wr.opcode === IBV_WR_SEND_WITH_INV;
      const op = inv ? (se ? RDMAP_SEND_SE_INVALIDATE : RDMAP_SEND_INVALIDATE) : se ? RDMAP_SEND_SE : RDMAP_SEND;
      u[0] = (last ? DDP_FLAG_L : 0) | DDP_VERSION;
      u[1] = rdmapControl(op);
      set32(u, 2, inv ? w.wr.invalidate_rkey! : 0);
      set32(u, 6, RDMAP_QN_SEND);
      set32(u, 10, w.msn);
      set32(u, 14, w.framed);
      this.stats.txSendBytes += k;
    }
    gather(this.mrs, w.wr.sg_list, w.framed, u, h, k);
    w.framed += k;
    this.sendUlpdu(h + k);
  }

  /* ---- completion ---- */

  private complete(): void {
    if (this.state !== IBV_QPS_RTS) return;
    const so = this.so;
    const acked = so ? this.txHanded - so.so_snd.sb_cc : 0;
    const sq = this.sq;
    let i = 0;
    for (; i < sq.length && i < this.sqFrame; i++) {
      const w = sq[i]!;
      if (w.wr.opcode === IBV_WR_RDMA_READ) {
        if (!w.done) break;
        if (this.signaled(w)) this.sendCq.push(w.wr.wr_id, IBV_WC_SUCCESS, IBV_WC_RDMA_READ, w.len, this.qpNum);
        continue;
      }
      if (w.end < 0 || acked < w.end) break;
      if (this.signaled(w)) this.sendCq.push(w.wr.wr_id, IBV_WC_SUCCESS, wcOpcode(w.wr.opcode), w.len, this.qpNum);
    }
    if (i > 0) {
      // Shift in place (splice would allocate the removed part), the completed WQEs back to the free list.
      for (let k = 0; k < i; k++) this.sqFree.push(sq[k]!);
      for (let k = i; k < sq.length; k++) sq[k - i] = sq[k]!;
      sq.length -= i;
      this.sqFrame -= i;
    }
  }

  /* ---- close ---- */

  private closeStep(): void {
    if (this.conn !== QP_CLOSING) return;
    if (!this.drain()) return;
    if (!this.shut) {
      this.shut = true;
      this.engine.shutdown(this.fd, 1); // SHUT_WR: FIN after what was sent
    }
  }

  /** The peer's FIN (or a reset) arrived: close the socket, tell the CM. */
  private finish(): void {
    if (this.conn === QP_CLOSED) return;
    this.conn = QP_CLOSED;
    this.engine.close(this.fd);
    this.so = null;
    this.onClosed?.(this);
  }

  /** Close at once (the device going away): the socket is closed, the QP flushed. */
  abort(): void {
    if (this.conn === QP_CLOSED || this.conn === QP_IDLE) return;
    this.toError(-1, 0, 0);
    this.finish();
  }
}

/** The completion opcode (IBV_WC_*) of a send work request's opcode (IBV_WR_*). */
export function wcOpcode(wrOp: number): number {
  if (wrOp === IBV_WR_RDMA_WRITE) return IBV_WC_RDMA_WRITE;
  if (wrOp === IBV_WR_RDMA_READ) return IBV_WC_RDMA_READ;
  return IBV_WC_SEND;
}

/** Copy n bytes of the message at offset `mo` from the SGEs into dst at `doff`. */
function gather(mrs: MrTable, sg: readonly IbvSge[], mo: number, dst: Uint8Array, doff: number, n: number): void {
  sgCopy(mrs, sg, mo, dst, doff, n, false);
}

/** Place n bytes of src at `soff` into the SGEs at message offset `mo`. */
function scatter(mrs: MrTable, sg: readonly IbvSge[], mo: number, src: Uint8Array, soff: number, n: number): void {
  sgCopy(mrs, sg, mo, src, soff, n, true);
}

/** Walk the SGEs from message offset `mo` for n bytes, copying to them (`into`) or from them, against buf at `off`. */
function sgCopy(
  mrs: MrTable,
  sg: readonly IbvSge[],
  mo: number,
  buf: Uint8Array,
  off: number,
  n: number,
  into: boolean,
): void {
  for (const s of sg) {
    if (n === 0) return;
    if (mo >= s.length) {
      mo -= s.length;
      continue;
    }
    const mr = mrs.lookup(s.lkey);
    const k = Math.min(n, s.length - mo);
    if (mr) {
      const o = s.addr - mr.iova + mo;
      if (into) mr.buf.set(buf.subarray(off, off + k), o);
      else buf.set(mr.buf.subarray(o, o + k), off);
    }
    off += k;
    n -= k;
    mo = 0;
  }
}

export { IBV_QPS_ERR, IBV_QPS_RTS };
