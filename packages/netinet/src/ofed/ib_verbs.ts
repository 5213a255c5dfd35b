/**
 * The verbs' vocabulary, with the values of libibverbs' <infiniband/verbs.h>
 * (and FreeBSD's sys/ofed/include/rdma/ib_verbs.h): access flags, work-request
 * and completion opcodes, completion status, QP states and asynchronous events.
 * The objects (PD, MR, CQ, QP) are the provider's (dev/cxgbe/iw_cxgbe/).
 */

/* enum ibv_access_flags */
export const IBV_ACCESS_LOCAL_WRITE = 1;
export const IBV_ACCESS_REMOTE_WRITE = 2;
export const IBV_ACCESS_REMOTE_READ = 4;
export const IBV_ACCESS_REMOTE_ATOMIC = 8;
export const IBV_ACCESS_MW_BIND = 16;

/* enum ibv_wr_opcode */
export const IBV_WR_RDMA_WRITE = 0;
export const IBV_WR_RDMA_WRITE_WITH_IMM = 1;
export const IBV_WR_SEND = 2;
export const IBV_WR_SEND_WITH_IMM = 3;
export const IBV_WR_RDMA_READ = 4;
export const IBV_WR_SEND_WITH_INV = 9;

/* enum ibv_send_flags */
export const IBV_SEND_FENCE = 1;
export const IBV_SEND_SIGNALED = 2;
export const IBV_SEND_SOLICITED = 4;
export const IBV_SEND_INLINE = 8;

/* enum ibv_wc_opcode */
export const IBV_WC_SEND = 0;
export const IBV_WC_RDMA_WRITE = 1;
export const IBV_WC_RDMA_READ = 2;
export const IBV_WC_RECV = 128;

/* enum ibv_wc_flags */
export const IBV_WC_WITH_INV = 1 << 3;

/* enum ibv_wc_status */
export const IBV_WC_SUCCESS = 0;
export const IBV_WC_LOC_LEN_ERR = 1;
export const IBV_WC_LOC_QP_OP_ERR = 2;
export const IBV_WC_LOC_PROT_ERR = 4;
export const IBV_WC_WR_FLUSH_ERR = 5;
export const IBV_WC_LOC_ACCESS_ERR = 8;
export const IBV_WC_REM_INV_REQ_ERR = 9;
export const IBV_WC_REM_ACCESS_ERR = 10;
export const IBV_WC_REM_OP_ERR = 11;
export const IBV_WC_FATAL_ERR = 19;
export const IBV_WC_GENERAL_ERR = 21;

const WC_STATUS_NAMES: Record<number, string> = {
  [IBV_WC_SUCCESS]: 'success',
  [IBV_WC_LOC_LEN_ERR]: 'local length error',
  [IBV_WC_LOC_QP_OP_ERR]: 'local QP operation error',
  [IBV_WC_LOC_PROT_ERR]: 'local protection error',
  [IBV_WC_WR_FLUSH_ERR]: 'Work Request Flushed Error',
  [IBV_WC_LOC_ACCESS_ERR]: 'local access error',
  [IBV_WC_REM_INV_REQ_ERR]: 'remote invalid request error',
  [IBV_WC_REM_ACCESS_ERR]: 'remote access error',
  [IBV_WC_REM_OP_ERR]: 'remote operation error',
  [IBV_WC_FATAL_ERR]: 'fatal error',
  [IBV_WC_GENERAL_ERR]: 'general error',
};

/** ibv_wc_status_str(). */
export function ibvWcStatusStr(status: number): string {
  return WC_STATUS_NAMES[status] ?? 'unknown';
}

/* enum ibv_qp_state; an iWARP QP's IDLE/RTS/CLOSING/TERMINATE/ERROR map onto these. */
export const IBV_QPS_RESET = 0;
export const IBV_QPS_INIT = 1;
export const IBV_QPS_RTS = 3;
export const IBV_QPS_SQE = 5;
export const IBV_QPS_ERR = 6;

/* enum ibv_event_type */
export const IBV_EVENT_QP_FATAL = 1;
export const IBV_EVENT_QP_REQ_ERR = 2;
export const IBV_EVENT_QP_ACCESS_ERR = 3;

/** struct ibv_sge: `addr` is a virtual address inside the MR of `lkey` (its iova plus an offset). */
export interface IbvSge {
  addr: number;
  length: number;
  lkey: number;
}

/** struct ibv_send_wr (one, not a chain: post them in turn). */
export interface IbvSendWr {
  wr_id: number;
  opcode: number;
  send_flags?: number;
  sg_list: readonly IbvSge[];
  /** RDMA Write and Read: the peer's buffer. */
  remote_addr?: number;
  rkey?: number;
  /** Send with Invalidate: the peer's STag to invalidate. */
  invalidate_rkey?: number;
}

/** struct ibv_recv_wr. */
export interface IbvRecvWr {
  wr_id: number;
  sg_list: readonly IbvSge[];
}

/** struct ibv_wc. */
export interface IbvWc {
  wr_id: number;
  status: number;
  opcode: number;
  /** Bytes received (RECV) or read (RDMA_READ); the WR's length for sends and writes. */
  byte_len: number;
  qp_num: number;
  wc_flags: number;
  /** With IBV_WC_WITH_INV: the local STag the peer invalidated. */
  invalidated_rkey: number;
  /** For an error completion: the Terminate's layer, type and code (RFC 5040 §4.8), or 0. */
  vendor_err: number;
}

/** struct ibv_async_event, reduced to what an iWARP QP raises. */
export interface IbvAsyncEvent {
  event_type: number;
  qp_num: number;
  /** The Terminate's layer, type and code (RFC 5040 §4.8) behind it, or 0. */
  vendor_err: number;
}
