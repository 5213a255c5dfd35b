/**
 * The shared-memory queues between the host's verbs (rdma.ts) and the card's RDMA
 * device (worker/rdma.ts), as a T4's work and completion queues live in host memory
 * the adapter reads and writes: a send and a receive queue per QP (host → card), a
 * completion queue per CQ and one event queue per device (card → host). Each is a
 * single-producer single-consumer ring of fixed-size slots of float64 words; the
 * producer fills a slot, then publishes the tail (Atomics.store), the consumer reads
 * up to it and publishes the head. Nothing crosses threads per work request but these
 * words (and a doorbell ring when the other side sleeps).
 */
import type { IbvRecvWr, IbvSendWr, IbvSge, IbvWc } from '@mcstack/netinet';

const C_HEAD = 0;
const C_TAIL = 16; // its own cache line
const C_SLOTS = 32;
const C_WORDS = 33;
const CTL_BYTES = 256;

export class WorkRing {
  readonly sab: SharedArrayBuffer;
  readonly slots: number;
  readonly words: number;
  readonly f: Float64Array;
  private readonly c: Int32Array;

  static create(slots: number, words: number): WorkRing {
    const sab = new SharedArrayBuffer(CTL_BYTES + slots * words * 8);
    const c = new Int32Array(sab, 0, CTL_BYTES / 4);
    c[C_SLOTS] = slots;
    c[C_WORDS] = words;
    return new WorkRing(sab);
  }

  static attach(sab: SharedArrayBuffer): WorkRing {
    return new WorkRing(sab);
  }

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.c = new Int32Array(sab, 0, CTL_BYTES / 4);
    this.slots = this.c[C_SLOTS]!;
    this.words = this.c[C_WORDS]!;
    this.f = new Float64Array(sab, CTL_BYTES, this.slots * this.words);
  }

  /* producer */

  /** The word offset of the next free slot, or -1 when the ring is full. */
  claim(k = 0): number {
    const tail = Atomics.load(this.c, C_TAIL);
    if (tail + k - Atomics.load(this.c, C_HEAD) >= this.slots) return -1;
    return ((tail + k) % this.slots) * this.words;
  }

  publish(n = 1): void {
    Atomics.add(this.c, C_TAIL, n);
  }

  /* consumer */

  /** Slots ready to read. */
  ready(): number {
    return Atomics.load(this.c, C_TAIL) - Atomics.load(this.c, C_HEAD);
  }

  /** The word offset of the k-th ready slot. */
  at(k: number): number {
    return ((Atomics.load(this.c, C_HEAD) + k) % this.slots) * this.words;
  }

  release(n: number): void {
    Atomics.add(this.c, C_HEAD, n);
  }
}

/** Work-request slots: wr_id, opcode, flags, nsge, 4 x (addr, length, lkey), remote_addr, rkey, invalidate_rkey. */
export const WR_WORDS = 20;
export const WR_MAX_SGE = 4;
const W_ID = 0;
const W_OP = 1;
const W_FLAGS = 2;
const W_NSGE = 3;
const W_SGE = 4;
const W_RADDR = 16;
const W_RKEY = 17;
const W_INV = 18;

/** Write a send WR at word `o` (the caller checked nsge <= WR_MAX_SGE). */
export function putSendWr(f: Float64Array, o: number, wr: IbvSendWr): void {
  f[o + W_ID] = wr.wr_id;
  f[o + W_OP] = wr.opcode;
  f[o + W_FLAGS] = wr.send_flags ?? 0;
  putSges(f, o, wr.sg_list);
  f[o + W_RADDR] = wr.remote_addr ?? -1;
  f[o + W_RKEY] = wr.rkey ?? -1;
  f[o + W_INV] = wr.invalidate_rkey ?? -1;
}

export function putRecvWr(f: Float64Array, o: number, wr: IbvRecvWr): void {
  f[o + W_ID] = wr.wr_id;
  putSges(f, o, wr.sg_list);
}

function putSges(f: Float64Array, o: number, sg: readonly IbvSge[]): void {
  f[o + W_NSGE] = sg.length;
  for (let i = 0; i < sg.length; i++) {
    const s = sg[i]!;
    f[o + W_SGE + 3 * i] = s.addr;
    f[o + W_SGE + 3 * i + 1] = s.length;
    f[o + W_SGE + 3 * i + 2] = s.lkey;
  }
}

/**
 * A WR the card reads a ring slot into, again and again: the QP copies what it
 * keeps at post (as ibv_post_send does), so one serves every request.
 */
export interface RingWr extends IbvSendWr {
  sg_list: IbvSge[];
  /** The WR_MAX_SGE SGE objects sg_list takes its entries from. */
  readonly sges: IbvSge[];
}

export function newRingWr(): RingWr {
  const sges: IbvSge[] = [];
  for (let i = 0; i < WR_MAX_SGE; i++) sges.push({ addr: 0, length: 0, lkey: 0 });
  return { wr_id: 0, opcode: 0, send_flags: 0, sg_list: [], sges };
}

function getSges(f: Float64Array, o: number, wr: RingWr): void {
  const n = Math.min(f[o + W_NSGE]!, WR_MAX_SGE);
  wr.sg_list.length = 0;
  for (let i = 0; i < n; i++) {
    const s = wr.sges[i]!;
    s.addr = f[o + W_SGE + 3 * i]!;
    s.length = f[o + W_SGE + 3 * i + 1]!;
    s.lkey = f[o + W_SGE + 3 * i + 2]!;
    wr.sg_list.push(s);
  }
}

/** Read the send WR at word `o` into `wr`. */
export function getSendWr(f: Float64Array, o: number, wr: RingWr): RingWr {
  wr.wr_id = f[o + W_ID]!;
  wr.opcode = f[o + W_OP]!;
  wr.send_flags = f[o + W_FLAGS]!;
  getSges(f, o, wr);
  wr.remote_addr = f[o + W_RADDR]! >= 0 ? f[o + W_RADDR]! : undefined;
  wr.rkey = f[o + W_RKEY]! >= 0 ? f[o + W_RKEY]! : undefined;
  wr.invalidate_rkey = f[o + W_INV]! >= 0 ? f[o + W_INV]! : undefined;
  return wr;
}

/** Read the receive WR at word `o` into `wr` (its send fields are left as they were). */
export function getRecvWr(f: Float64Array, o: number, wr: RingWr): RingWr {
  wr.wr_id = f[o + W_ID]!;
  getSges(f, o, wr);
  return wr;
}

/** Completion slots: the fields of struct ibv_wc. */
export const WC_WORDS = 8;

export function putWc(
  f: Float64Array,
  o: number,
  wrId: number,
  status: number,
  opcode: number,
  byteLen: number,
  qpNum: number,
  wcFlags: number,
  invalidated: number,
  vendorErr: number,
): void {
  f[o] = wrId;
  f[o + 1] = status;
  f[o + 2] = opcode;
  f[o + 3] = byteLen;
  f[o + 4] = qpNum;
  f[o + 5] = wcFlags;
  f[o + 6] = invalidated;
  f[o + 7] = vendorErr;
}

export function getWc(f: Float64Array, o: number, wc: IbvWc): IbvWc {
  wc.wr_id = f[o]!;
  wc.status = f[o + 1]!;
  wc.opcode = f[o + 2]!;
  wc.byte_len = f[o + 3]!;
  wc.qp_num = f[o + 4]!;
  wc.wc_flags = f[o + 5]!;
  wc.invalidated_rkey = f[o + 6]!;
  wc.vendor_err = f[o + 7]!;
  return wc;
}

/**
 * Connection-manager and asynchronous events (card → host): kind (an RDMA_CM_EVENT_* or,
 * with bit 16, an IBV_EVENT_*), the cm id, the QP number, a status, the private data's
 * length and up to 512 octets of it.
 */
export const EV_WORDS = 5 + 64;
export const EV_ASYNC = 0x10000;

export interface RdmaEventRecord {
  kind: number;
  cmId: number;
  qpNum: number;
  status: number;
  privateData: Uint8Array;
}

export function putEvent(r: WorkRing, o: number, e: RdmaEventRecord): void {
  const f = r.f;
  f[o] = e.kind;
  f[o + 1] = e.cmId;
  f[o + 2] = e.qpNum;
  f[o + 3] = e.status;
  const n = Math.min(e.privateData.length, 512);
  f[o + 4] = n;
  new Uint8Array(f.buffer, f.byteOffset + (o + 5) * 8, n).set(e.privateData.subarray(0, n));
}

export function getEvent(r: WorkRing, o: number): RdmaEventRecord {
  const f = r.f;
  const n = f[o + 4]!;
  return {
    kind: f[o]!,
    cmId: f[o + 1]!,
    qpNum: f[o + 2]!,
    status: f[o + 3]!,
    privateData: new Uint8Array(f.buffer, f.byteOffset + (o + 5) * 8, n).slice(),
  };
}
