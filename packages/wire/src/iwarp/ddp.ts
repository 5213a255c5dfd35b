/**
 * DDP, Direct Data Placement over reliable transports (RFC 5041): the segment
 * header that starts every MPA ULPDU.
 *
 * §4.1 control field: T (tagged), L (last segment of the message), 4 reserved
 * bits (zero on transmit, not checked on receipt), DV (DDP version, 01b), then
 * RsvdULP, opaque to DDP and owned by its ULP (RDMAP, RFC 5040 §4.2).
 * §4.2 tagged header (14 octets): control, RsvdULP (8 bits), STag (32), TO (64).
 * §4.3 untagged header (18 octets): control, RsvdULP (40 bits), QN (32),
 * MSN (32), MO (32).
 */
import { type ParseResult, parseError, parsed, WireEmitError } from '../errors.js';
import { get32, set32, ByteView } from '../bytes.js';
import { get64, set64 } from './u64.js';

export const DDP_CTRL = 0;
/** RsvdULP[0:7] in both models (RDMAP's control field). */
export const DDP_RSVDULP = 1;
/** Tagged: STag and Tagged Offset. */
export const DDP_STAG = 2;
export const DDP_TO = 6;
/** Untagged: RsvdULP[8:39] (RDMAP's Invalidate STag), QN, MSN, MO. */
export const DDP_RSVDULP_EXT = 2;
export const DDP_QN = 6;
export const DDP_MSN = 10;
export const DDP_MO = 14;
export const DDP_TAGGED_HDR_LEN = 14;
export const DDP_UNTAGGED_HDR_LEN = 18;

export const DDP_FLAG_T = 0x80;
export const DDP_FLAG_L = 0x40;
export const DDP_RSVD_MASK = 0x3c;
export const DDP_DV_MASK = 0x03;
/** DV: 01b for RFC 5041. */
export const DDP_VERSION = 1;

/** Header length from the control octet: 14 tagged, 18 untagged. */
export function ddpHeaderLenOf(control: number): number {
  return control & DDP_FLAG_T ? DDP_TAGGED_HDR_LEN : DDP_UNTAGGED_HDR_LEN;
}

/** Zero-allocation view over a DDP header (tagged fields or untagged ones, by T). */
export class DdpView extends ByteView {
  get control(): number {
    return this.buf[this.off + DDP_CTRL]!;
  }
  set control(v: number) {
    this.buf[this.off + DDP_CTRL] = v;
  }
  get tagged(): boolean {
    return (this.control & DDP_FLAG_T) !== 0;
  }
  set tagged(v: boolean) {
    this.control = v ? this.control | DDP_FLAG_T : this.control & ~DDP_FLAG_T;
  }
  get last(): boolean {
    return (this.control & DDP_FLAG_L) !== 0;
  }
  set last(v: boolean) {
    this.control = v ? this.control | DDP_FLAG_L : this.control & ~DDP_FLAG_L;
  }
  get version(): number {
    return this.control & DDP_DV_MASK;
  }
  set version(v: number) {
    this.control = (this.control & ~DDP_DV_MASK) | (v & DDP_DV_MASK);
  }
  get rsvdUlp(): number {
    return this.buf[this.off + DDP_RSVDULP]!;
  }
  set rsvdUlp(v: number) {
    this.buf[this.off + DDP_RSVDULP] = v;
  }
  get stag(): number {
    return get32(this.buf, this.off + DDP_STAG);
  }
  set stag(v: number) {
    set32(this.buf, this.off + DDP_STAG, v);
  }
  get to(): bigint {
    return get64(this.buf, this.off + DDP_TO);
  }
  set to(v: bigint) {
    set64(this.buf, this.off + DDP_TO, v);
  }
  get rsvdUlpExt(): number {
    return get32(this.buf, this.off + DDP_RSVDULP_EXT);
  }
  set rsvdUlpExt(v: number) {
    set32(this.buf, this.off + DDP_RSVDULP_EXT, v);
  }
  get qn(): number {
    return get32(this.buf, this.off + DDP_QN);
  }
  set qn(v: number) {
    set32(this.buf, this.off + DDP_QN, v);
  }
  get msn(): number {
    return get32(this.buf, this.off + DDP_MSN);
  }
  set msn(v: number) {
    set32(this.buf, this.off + DDP_MSN, v);
  }
  get mo(): number {
    return get32(this.buf, this.off + DDP_MO);
  }
  set mo(v: number) {
    set32(this.buf, this.off + DDP_MO, v);
  }
  get headerLen(): number {
    return ddpHeaderLenOf(this.control);
  }
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
}

export interface DdpTaggedRepr {
  tagged: true;
  last: boolean;
  /** RsvdULP (8 bits). */
  rsvdUlp: number;
  stag: number;
  /** Tagged Offset, 64 bits. */
  to: bigint;
}

export interface DdpUntaggedRepr {
  tagged: false;
  last: boolean;
  /** RsvdULP[0:7]. */
  rsvdUlp: number;
  /** RsvdULP[8:39]. */
  rsvdUlpExt: number;
  /** Queue Number. */
  qn: number;
  /** Message Sequence Number. */
  msn: number;
  /** Message Offset. */
  mo: number;
}

export type DdpRepr = DdpTaggedRepr | DdpUntaggedRepr;

export function ddpBufferLen(repr: DdpRepr): number {
  return repr.tagged ? DDP_TAGGED_HDR_LEN : DDP_UNTAGGED_HDR_LEN;
}

/**
 * Parse a DDP header at `off` (`len`: the ULPDU). The reserved bits are not
 * checked (§4.1); a DV other than 01b is BAD_VERSION, which the ULP answers with
 * a Terminate (Invalid DDP version, RFC 5041 §7.2).
 */
export function parseDdp(buf: Uint8Array, off = 0, len = buf.length - off): ParseResult<DdpRepr> {
  if (off < 0 || len < 2 || off + len > buf.length) return parseError('TRUNCATED', 'ddp.header');
  const ctrl = buf[off + DDP_CTRL]!;
  if (len < ddpHeaderLenOf(ctrl)) return parseError('TRUNCATED', 'ddp.header');
  if ((ctrl & DDP_DV_MASK) !== DDP_VERSION) return parseError('BAD_VERSION', 'ddp.dv');
  const last = (ctrl & DDP_FLAG_L) !== 0;
  const rsvdUlp = buf[off + DDP_RSVDULP]!;
  if (ctrl & DDP_FLAG_T) {
    return parsed({ tagged: true, last, rsvdUlp, stag: get32(buf, off + DDP_STAG), to: get64(buf, off + DDP_TO) });
  }
  return parsed({
    tagged: false,
    last,
    rsvdUlp,
    rsvdUlpExt: get32(buf, off + DDP_RSVDULP_EXT),
    qn: get32(buf, off + DDP_QN),
    msn: get32(buf, off + DDP_MSN),
    mo: get32(buf, off + DDP_MO),
  });
}

/** Write the header (DV 01b, reserved bits zero); returns its length. */
export function emitDdp(repr: DdpRepr, buf: Uint8Array, off = 0): number {
  const n = ddpBufferLen(repr);
  if (off < 0 || off + n > buf.length) throw new WireEmitError('ddp: buffer too small');
  buf[off + DDP_CTRL] = (repr.tagged ? DDP_FLAG_T : 0) | (repr.last ? DDP_FLAG_L : 0) | DDP_VERSION;
  buf[off + DDP_RSVDULP] = repr.rsvdUlp;
  if (repr.tagged) {
    set32(buf, off + DDP_STAG, repr.stag);
    set64(buf, off + DDP_TO, repr.to);
  } else {
    set32(buf, off + DDP_RSVDULP_EXT, repr.rsvdUlpExt);
    set32(buf, off + DDP_QN, repr.qn);
    set32(buf, off + DDP_MSN, repr.msn);
    set32(buf, off + DDP_MO, repr.mo);
  }
  return n;
}
