/**
 * RDMAP, the Remote Direct Memory Access Protocol (RFC 5040), over DDP.
 *
 * §4.2: the RDMAP Control Field is DDP's RsvdULP[0:7]: RV (2 bits, 01b),
 * 2 reserved bits (zero on transmit, not checked on receipt), Opcode (4 bits).
 * In untagged segments RsvdULP[8:39] carries the Invalidate STag of Send with
 * Invalidate and Send with SE and Invalidate, and is reserved otherwise.
 * §4.3: RDMA Write and RDMA Read Response use tagged DDP segments; the others
 * use untagged ones on queue 0 (Sends), 1 (Read Request) and 2 (Terminate).
 * §4.5: the RDMA Read Request header; §4.8: the Terminate header.
 */
import { type ParseResult, parseError, parsed, WireEmitError } from '../errors.js';
import { get16, get32, set16, set32, copyBytes, ByteView } from '../bytes.js';
import {
  DdpView,
  type DdpRepr,
  parseDdp,
  emitDdp,
  ddpHeaderLenOf,
  DDP_RSVDULP,
  DDP_RSVDULP_EXT,
  DDP_TAGGED_HDR_LEN,
  DDP_UNTAGGED_HDR_LEN,
} from './ddp.js';
import { get64, set64 } from './u64.js';

/** RV: 01b for RFC 5040. */
export const RDMAP_VERSION = 1;
export const RDMAP_RV_SHIFT = 6;
export const RDMAP_RSV_MASK = 0x30;
export const RDMAP_OPCODE_MASK = 0x0f;

/** §4.3 opcodes. */
export const RDMAP_RDMA_WRITE = 0;
export const RDMAP_RDMA_READ_REQUEST = 1;
export const RDMAP_RDMA_READ_RESPONSE = 2;
export const RDMAP_SEND = 3;
export const RDMAP_SEND_INVALIDATE = 4;
export const RDMAP_SEND_SE = 5;
export const RDMAP_SEND_SE_INVALIDATE = 6;
export const RDMAP_TERMINATE = 7;

/** Untagged DDP queue numbers RDMAP uses (RFC 5040, DDP header use). */
export const RDMAP_QN_SEND = 0;
export const RDMAP_QN_READ_REQUEST = 1;
export const RDMAP_QN_TERMINATE = 2;

/** The RDMAP Control Field octet for `opcode` (RV 01b, reserved zero). */
export function rdmapControl(opcode: number): number {
  return (RDMAP_VERSION << RDMAP_RV_SHIFT) | (opcode & RDMAP_OPCODE_MASK);
}

/** True for the opcodes carried in tagged DDP segments (RDMA Write, RDMA Read Response). */
export function rdmapIsTagged(opcode: number): boolean {
  return opcode === RDMAP_RDMA_WRITE || opcode === RDMAP_RDMA_READ_RESPONSE;
}

/** True for Send with Invalidate and Send with SE and Invalidate. */
export function rdmapHasInvalidateStag(opcode: number): boolean {
  return opcode === RDMAP_SEND_INVALIDATE || opcode === RDMAP_SEND_SE_INVALIDATE;
}

/** A DDP header read as RDMAP's: the control field and the Invalidate STag. */
export class RdmapView extends DdpView {
  get rv(): number {
    return this.rsvdUlp >>> RDMAP_RV_SHIFT;
  }
  get opcode(): number {
    return this.rsvdUlp & RDMAP_OPCODE_MASK;
  }
  set opcode(v: number) {
    this.rsvdUlp = rdmapControl(v);
  }
  get invalidateStag(): number {
    return get32(this.buf, this.off + DDP_RSVDULP_EXT);
  }
  set invalidateStag(v: number) {
    set32(this.buf, this.off + DDP_RSVDULP_EXT, v);
  }
}

/**
 * An RDMAP message header: the DDP header with the RDMAP control field in
 * RsvdULP[0:7]. `ddp.rsvdUlp` is the control octet (written from `opcode`);
 * for untagged segments `ddp.rsvdUlpExt` is the Invalidate STag, zero for
 * opcodes without one.
 */
export interface RdmapHeaderRepr {
  opcode: number;
  ddp: DdpRepr;
}

export function rdmapHeaderBufferLen(repr: RdmapHeaderRepr): number {
  return repr.ddp.tagged ? DDP_TAGGED_HDR_LEN : DDP_UNTAGGED_HDR_LEN;
}

/**
 * Parse the DDP header at `off` and its RDMAP control field. A wrong RV is
 * BAD_VERSION `rdmap.rv` (Terminate: Invalid RDMAP version); an opcode above 7,
 * or one in the wrong buffer model, is BAD_FIELD `rdmap.opcode` (Unexpected
 * OpCode). The reserved bits, and RsvdULP[8:39] of opcodes without an
 * Invalidate STag, are not checked and come back as zero.
 */
export function parseRdmapHeader(buf: Uint8Array, off = 0, len = buf.length - off): ParseResult<RdmapHeaderRepr> {
  const d = parseDdp(buf, off, len);
  if (!d.ok) return d;
  const ddp = d.value;
  const ctrl = ddp.rsvdUlp;
  if (ctrl >>> RDMAP_RV_SHIFT !== RDMAP_VERSION) return parseError('BAD_VERSION', 'rdmap.rv');
  const opcode = ctrl & RDMAP_OPCODE_MASK;
  if (opcode > RDMAP_TERMINATE || rdmapIsTagged(opcode) !== ddp.tagged) return parseError('BAD_FIELD', 'rdmap.opcode');
  ddp.rsvdUlp = rdmapControl(opcode);
  if (!ddp.tagged && !rdmapHasInvalidateStag(opcode)) ddp.rsvdUlpExt = 0;
  return parsed({ opcode, ddp });
}

export function emitRdmapHeader(repr: RdmapHeaderRepr, buf: Uint8Array, off = 0): number {
  if (repr.opcode < 0 || repr.opcode > RDMAP_TERMINATE) throw new WireEmitError('rdmap: opcode out of range');
  if (rdmapIsTagged(repr.opcode) !== repr.ddp.tagged)
    throw new WireEmitError('rdmap: opcode in the wrong DDP buffer model');
  const n = emitDdp(repr.ddp, buf, off);
  buf[off + DDP_RSVDULP] = rdmapControl(repr.opcode);
  if (!repr.ddp.tagged && !rdmapHasInvalidateStag(repr.opcode)) set32(buf, off + DDP_RSVDULP_EXT, 0);
  return n;
}

/* ---- §4.5 RDMA Read Request header (the untagged payload on QN 1) ---- */

export const RDMAP_RRQ_SINK_STAG = 0;
export const RDMAP_RRQ_SINK_TO = 4;
export const RDMAP_RRQ_SIZE = 12;
export const RDMAP_RRQ_SRC_STAG = 16;
export const RDMAP_RRQ_SRC_TO = 20;
export const RDMAP_RRQ_LEN = 28;

export class RdmaReadRequestView extends ByteView {
  get sinkStag(): number {
    return get32(this.buf, this.off + RDMAP_RRQ_SINK_STAG);
  }
  set sinkStag(v: number) {
    set32(this.buf, this.off + RDMAP_RRQ_SINK_STAG, v);
  }
  get sinkTo(): bigint {
    return get64(this.buf, this.off + RDMAP_RRQ_SINK_TO);
  }
  set sinkTo(v: bigint) {
    set64(this.buf, this.off + RDMAP_RRQ_SINK_TO, v);
  }
  /** RDMARDSZ: octets to read. */
  get size(): number {
    return get32(this.buf, this.off + RDMAP_RRQ_SIZE);
  }
  set size(v: number) {
    set32(this.buf, this.off + RDMAP_RRQ_SIZE, v);
  }
  get srcStag(): number {
    return get32(this.buf, this.off + RDMAP_RRQ_SRC_STAG);
  }
  set srcStag(v: number) {
    set32(this.buf, this.off + RDMAP_RRQ_SRC_STAG, v);
  }
  get srcTo(): bigint {
    return get64(this.buf, this.off + RDMAP_RRQ_SRC_TO);
  }
  set srcTo(v: bigint) {
    set64(this.buf, this.off + RDMAP_RRQ_SRC_TO, v);
  }
}

export interface RdmaReadRequestRepr {
  /** Data Sink STag and Tagged Offset: where the Read Response lands. */
  sinkStag: number;
  sinkTo: bigint;
  /** RDMA Read Message Size. */
  size: number;
  /** Data Source STag and Tagged Offset: what is read. */
  srcStag: number;
  srcTo: bigint;
}

export function rdmaReadRequestBufferLen(_repr: RdmaReadRequestRepr): number {
  return RDMAP_RRQ_LEN;
}

export function parseRdmaReadRequest(
  buf: Uint8Array,
  off = 0,
  len = buf.length - off,
): ParseResult<RdmaReadRequestRepr> {
  if (off < 0 || len < RDMAP_RRQ_LEN || off + len > buf.length) return parseError('TRUNCATED', 'rdmap.read_request');
  return parsed({
    sinkStag: get32(buf, off + RDMAP_RRQ_SINK_STAG),
    sinkTo: get64(buf, off + RDMAP_RRQ_SINK_TO),
    size: get32(buf, off + RDMAP_RRQ_SIZE),
    srcStag: get32(buf, off + RDMAP_RRQ_SRC_STAG),
    srcTo: get64(buf, off + RDMAP_RRQ_SRC_TO),
  });
}

export function emitRdmaReadRequest(repr: RdmaReadRequestRepr, buf: Uint8Array, off = 0): number {
  if (off < 0 || off + RDMAP_RRQ_LEN > buf.length)
    throw new WireEmitError('rdmap: buffer too small for the read request');
  set32(buf, off + RDMAP_RRQ_SINK_STAG, repr.sinkStag);
  set64(buf, off + RDMAP_RRQ_SINK_TO, repr.sinkTo);
  set32(buf, off + RDMAP_RRQ_SIZE, repr.size);
  set32(buf, off + RDMAP_RRQ_SRC_STAG, repr.srcStag);
  set64(buf, off + RDMAP_RRQ_SRC_TO, repr.srcTo);
  return RDMAP_RRQ_LEN;
}

/* ---- §4.8 Terminate header (the untagged payload on QN 2) ---- */

/** Layer (4 bits) | EType (4 bits). */
export const RDMAP_TERM_LAYER_ETYPE = 0;
export const RDMAP_TERM_ERROR_CODE = 1;
/** Hdrct: M, D, R in the top bits; the remaining 13 bits are reserved. */
export const RDMAP_TERM_HDRCT = 2;
export const RDMAP_TERM_HDR_LEN = 4;
/** DDP Segment Length, present with the terminated DDP header (D). */
export const RDMAP_TERM_DDP_SEG_LEN = 4;
/** M: the DDP Segment Length is valid. */
export const RDMAP_TERM_HDRCT_M = 0x80;
/** D: the terminated DDP header (14 or 18 octets, by its T bit) is included. */
export const RDMAP_TERM_HDRCT_D = 0x40;
/** R: the terminated RDMA header (an RDMA Read Request header, 28 octets) is included. */
export const RDMAP_TERM_HDRCT_R = 0x20;

/** Layer. */
export const TERM_LAYER_RDMA = 0x0;
export const TERM_LAYER_DDP = 0x1;
/** The LLP: MPA (RFC 5044 §8) or another. */
export const TERM_LAYER_LLP = 0x2;

/** EType, Layer RDMA. */
export const TERM_ETYPE_RDMA_LOCAL_CATASTROPHIC = 0x0;
export const TERM_ETYPE_RDMA_REMOTE_PROTECTION = 0x1;
export const TERM_ETYPE_RDMA_REMOTE_OPERATION = 0x2;
/** Error codes, Layer RDMA. */
export const TERM_RDMA_INVALID_STAG = 0x00;
export const TERM_RDMA_BASE_BOUNDS = 0x01;
export const TERM_RDMA_ACCESS_RIGHTS = 0x02;
export const TERM_RDMA_STAG_NOT_ASSOCIATED = 0x03;
export const TERM_RDMA_TO_WRAP = 0x04;
export const TERM_RDMA_INVALID_VERSION = 0x05;
export const TERM_RDMA_UNEXPECTED_OPCODE = 0x06;
export const TERM_RDMA_CATASTROPHIC_STREAM = 0x07;
export const TERM_RDMA_CATASTROPHIC_GLOBAL = 0x08;
export const TERM_RDMA_STAG_CANNOT_INVALIDATE = 0x09;
export const TERM_RDMA_UNSPECIFIED = 0xff;
/** Error code with EType local catastrophic (every layer). */
export const TERM_LOCAL_CATASTROPHIC = 0x00;

/** EType, Layer DDP (RFC 5041 §7.2). */
export const TERM_ETYPE_DDP_LOCAL_CATASTROPHIC = 0x0;
export const TERM_ETYPE_DDP_TAGGED = 0x1;
export const TERM_ETYPE_DDP_UNTAGGED = 0x2;
/** Error codes, Layer DDP, tagged buffer. */
export const TERM_DDP_TAGGED_INVALID_STAG = 0x00;
export const TERM_DDP_TAGGED_BASE_BOUNDS = 0x01;
export const TERM_DDP_TAGGED_STAG_NOT_ASSOCIATED = 0x02;
export const TERM_DDP_TAGGED_TO_WRAP = 0x03;
export const TERM_DDP_TAGGED_INVALID_VERSION = 0x04;
/** Error codes, Layer DDP, untagged buffer. */
export const TERM_DDP_UNTAGGED_INVALID_QN = 0x01;
export const TERM_DDP_UNTAGGED_INVALID_MSN_NO_BUFFER = 0x02;
export const TERM_DDP_UNTAGGED_INVALID_MSN_RANGE = 0x03;
export const TERM_DDP_UNTAGGED_INVALID_MO = 0x04;
export const TERM_DDP_UNTAGGED_MSG_TOO_LONG = 0x05;
export const TERM_DDP_UNTAGGED_INVALID_VERSION = 0x06;

/** EType, Layer LLP, when the LLP is MPA; its error codes are MPA_ERR_* (RFC 5044 §8). */
export const TERM_ETYPE_LLP_MPA = 0x0;

export class RdmapTerminateView extends ByteView {
  get layer(): number {
    return this.buf[this.off + RDMAP_TERM_LAYER_ETYPE]! >>> 4;
  }
  set layer(v: number) {
    const o = this.off + RDMAP_TERM_LAYER_ETYPE;
    this.buf[o] = ((v & 0xf) << 4) | (this.buf[o]! & 0x0f);
  }
  get etype(): number {
    return this.buf[this.off + RDMAP_TERM_LAYER_ETYPE]! & 0x0f;
  }
  set etype(v: number) {
    const o = this.off + RDMAP_TERM_LAYER_ETYPE;
    this.buf[o] = (this.buf[o]! & 0xf0) | (v & 0x0f);
  }
  get errorCode(): number {
    return this.buf[this.off + RDMAP_TERM_ERROR_CODE]!;
  }
  set errorCode(v: number) {
    this.buf[this.off + RDMAP_TERM_ERROR_CODE] = v;
  }
  /** M, D and R as RDMAP_TERM_HDRCT_* bits. */
  get hdrct(): number {
    return this.buf[this.off + RDMAP_TERM_HDRCT]! & 0xe0;
  }
  set hdrct(v: number) {
    const o = this.off + RDMAP_TERM_HDRCT;
    this.buf[o] = (v & 0xe0) | (this.buf[o]! & 0x1f);
  }
  /** Meaningful when D is set. */
  get ddpSegmentLength(): number {
    return get16(this.buf, this.off + RDMAP_TERM_DDP_SEG_LEN);
  }
  set ddpSegmentLength(v: number) {
    set16(this.buf, this.off + RDMAP_TERM_DDP_SEG_LEN, v);
  }
  /** Where the terminated DDP header starts (with D). */
  get ddpHeaderOffset(): number {
    return this.off + RDMAP_TERM_DDP_SEG_LEN + 2;
  }
}

export interface RdmapTerminateRepr {
  layer: number;
  etype: number;
  errorCode: number;
  /** M: `ddpSegmentLength` is valid. */
  m: boolean;
  /** DDP Segment Length; on the wire only with a DDP header (D), else 0. */
  ddpSegmentLength: number;
  /** D: the DDP header of the segment in error, copied as it was (14 or 18 octets). */
  ddpHeader?: Uint8Array;
  /** R: the RDMA Read Request header in error (28 octets). */
  rdmaHeader?: Uint8Array;
}

export function rdmapTerminateBufferLen(repr: RdmapTerminateRepr): number {
  return RDMAP_TERM_HDR_LEN + (repr.ddpHeader ? 2 + repr.ddpHeader.length : 0) + (repr.rdmaHeader ? RDMAP_RRQ_LEN : 0);
}

/**
 * Parse a Terminate header. The layout follows the Hdrct bits: D brings the
 * 16-bit DDP Segment Length and the terminated DDP header (its length from its
 * own T bit), R the 28-octet RDMA header after it. The copied headers are the
 * ones that caused the error and are not checked. Reserved bits are ignored.
 */
export function parseRdmapTerminate(buf: Uint8Array, off = 0, len = buf.length - off): ParseResult<RdmapTerminateRepr> {
  if (off < 0 || len < RDMAP_TERM_HDR_LEN || off + len > buf.length) return parseError('TRUNCATED', 'rdmap.terminate');
  const le = buf[off + RDMAP_TERM_LAYER_ETYPE]!;
  const hdrct = buf[off + RDMAP_TERM_HDRCT]!;
  const r: RdmapTerminateRepr = {
    layer: le >>> 4,
    etype: le & 0x0f,
    errorCode: buf[off + RDMAP_TERM_ERROR_CODE]!,
    m: (hdrct & RDMAP_TERM_HDRCT_M) !== 0,
    ddpSegmentLength: 0,
  };
  let p = RDMAP_TERM_HDR_LEN;
  if (hdrct & RDMAP_TERM_HDRCT_D) {
    if (len < p + 3) return parseError('TRUNCATED', 'rdmap.terminate.ddp_header');
    r.ddpSegmentLength = get16(buf, off + p);
    const n = ddpHeaderLenOf(buf[off + p + 2]!);
    if (len < p + 2 + n) return parseError('TRUNCATED', 'rdmap.terminate.ddp_header');
    r.ddpHeader = copyBytes(buf, off + p + 2, n);
    p += 2 + n;
  }
  if (hdrct & RDMAP_TERM_HDRCT_R) {
    if (len < p + RDMAP_RRQ_LEN) return parseError('TRUNCATED', 'rdmap.terminate.rdma_header');
    r.rdmaHeader = copyBytes(buf, off + p, RDMAP_RRQ_LEN);
  }
  return parsed(r);
}

export function emitRdmapTerminate(repr: RdmapTerminateRepr, buf: Uint8Array, off = 0): number {
  const n = rdmapTerminateBufferLen(repr);
  if (off < 0 || off + n > buf.length) throw new WireEmitError('rdmap: buffer too small for the terminate header');
  const d = repr.ddpHeader;
  if (d && (d.length === 0 || d.length !== ddpHeaderLenOf(d[0]!)))
    throw new WireEmitError('rdmap: terminated DDP header is not 14 (tagged) or 18 (untagged) octets');
  if (repr.rdmaHeader && repr.rdmaHeader.length !== RDMAP_RRQ_LEN)
    throw new WireEmitError('rdmap: terminated RDMA header is not 28 octets');
  buf[off + RDMAP_TERM_LAYER_ETYPE] = ((repr.layer & 0xf) << 4) | (repr.etype & 0xf);
  buf[off + RDMAP_TERM_ERROR_CODE] = repr.errorCode;
  buf[off + RDMAP_TERM_HDRCT] =
    (repr.m ? RDMAP_TERM_HDRCT_M : 0) | (d ? RDMAP_TERM_HDRCT_D : 0) | (repr.rdmaHeader ? RDMAP_TERM_HDRCT_R : 0);
  buf[off + RDMAP_TERM_HDRCT + 1] = 0;
  let p = off + RDMAP_TERM_HDR_LEN;
  if (d) {
    set16(buf, p, repr.ddpSegmentLength);
    buf.set(d, p + 2);
    p += 2 + d.length;
  }
  if (repr.rdmaHeader) buf.set(repr.rdmaHeader, p);
  return n;
}
