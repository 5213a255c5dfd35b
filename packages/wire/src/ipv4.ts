/**
 * IPv4 header (RFC 791 §3.1). Options are kept as raw bytes so a header emits
 * back byte-identical; their TLV structure is checked and counted (RFC 791: EOL
 * and NOP are single bytes, every other option carries a length >= 2), but the
 * stack does not act on them, as FreeBSD without IPOPTIONS processing.
 */
import { type ParseResult, parseError, parsed, WireEmitError } from './errors.js';
import { get16, get32, set16, set32, copyBytes, ByteView } from './bytes.js';
import { sumBytes, fold, finish } from './checksum.js';

export const IP_VHL = 0;
export const IP_TOS = 1;
export const IP_LEN = 2;
export const IP_ID = 4;
export const IP_OFF = 6;
export const IP_TTL = 8;
export const IP_P = 9;
export const IP_SUM = 10;
export const IP_SRC = 12;
export const IP_DST = 16;
export const IP_HDR_LEN = 20;
export const IP_MAX_HDR_LEN = 60;

/** ip_off flag bits (netinet/ip.h). */
export const IP_RF = 0x8000;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFMASK = 0x1fff;

export const IPOPT_EOL = 0;
export const IPOPT_NOP = 1;

/** Zero-allocation view over an IPv4 header. */
export class Ipv4View extends ByteView {
  get version(): number {
    return this.buf[this.off]! >>> 4;
  }
  /** Header length in bytes (IHL * 4). */
  get headerLen(): number {
    return (this.buf[this.off]! & 0x0f) << 2;
  }
  get tos(): number {
    return this.buf[this.off + IP_TOS]!;
  }
  set tos(v: number) {
    this.buf[this.off + IP_TOS] = v;
  }
  get totalLen(): number {
    return get16(this.buf, this.off + IP_LEN);
  }
  set totalLen(v: number) {
    set16(this.buf, this.off + IP_LEN, v);
  }
  get ident(): number {
    return get16(this.buf, this.off + IP_ID);
  }
  set ident(v: number) {
    set16(this.buf, this.off + IP_ID, v);
  }
  /** The raw ip_off field: flags and fragment offset. */
  get fragField(): number {
    return get16(this.buf, this.off + IP_OFF);
  }
  set fragField(v: number) {
    set16(this.buf, this.off + IP_OFF, v);
  }
  get dontFrag(): boolean {
    return (this.fragField & IP_DF) !== 0;
  }
  get moreFrags(): boolean {
    return (this.fragField & IP_MF) !== 0;
  }
  /** Fragment offset in bytes. */
  get fragOffset(): number {
    return (this.fragField & IP_OFFMASK) << 3;
  }
  /** A fragment: MF set or a non-zero offset. */
  get isFragment(): boolean {
    return (this.fragField & (IP_MF | IP_OFFMASK)) !== 0;
  }
  get ttl(): number {
    return this.buf[this.off + IP_TTL]!;
  }
  set ttl(v: number) {
    this.buf[this.off + IP_TTL] = v;
  }
  get protocol(): number {
    return this.buf[this.off + IP_P]!;
  }
  set protocol(v: number) {
    this.buf[this.off + IP_P] = v;
  }
  get checksum(): number {
    return get16(this.buf, this.off + IP_SUM);
  }
  set checksum(v: number) {
    set16(this.buf, this.off + IP_SUM, v);
  }
  /** Source address as an unsigned 32-bit number (for hashing and compares). */
  get src(): number {
    return get32(this.buf, this.off + IP_SRC);
  }
  set src(v: number) {
    set32(this.buf, this.off + IP_SRC, v);
  }
  get dst(): number {
    return get32(this.buf, this.off + IP_DST);
  }
  set dst(v: number) {
    set32(this.buf, this.off + IP_DST, v);
  }
  get srcOffset(): number {
    return this.off + IP_SRC;
  }
  get dstOffset(): number {
    return this.off + IP_DST;
  }
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  get payloadLen(): number {
    return this.totalLen - this.headerLen;
  }
  /** True when the header checksum verifies (RFC 1071: sums to 0xffff). */
  verifyChecksum(): boolean {
    return fold(sumBytes(this.buf, this.off, this.headerLen)) === 0xffff;
  }
  /** Recompute and store the header checksum. */
  fillChecksum(): void {
    set16(this.buf, this.off + IP_SUM, 0);
    set16(this.buf, this.off + IP_SUM, finish(sumBytes(this.buf, this.off, this.headerLen)));
  }
}

export interface Ipv4Repr {
  /** Addresses as unsigned 32-bit numbers (host value of the network-order bytes, as Ipv4View). */
  src: number;
  dst: number;
  protocol: number;
  ttl: number;
  /** DSCP << 2 | ECN. */
  tos: number;
  ident: number;
  dontFrag: boolean;
  moreFrags: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset: number;
  /** Bytes after the header (total length - header length). */
  payloadLen: number;
  /** Raw option bytes (a multiple of 4, at most 40), absent when there are none. */
  options?: Uint8Array;
  /** How many options the header carries (NOP and EOL excluded), for ipstat. */
  optionCount?: number;
}

export interface Ipv4ParseOptions {
  /** Check the header checksum (default true; false when the NIC has, CSUM_IP_CHECKED). */
  verifyChecksum?: boolean;
  /**
   * Accept a total length beyond the buffer: for the quoted header inside an ICMP
   * error (RFC 792), which carries only the header and 8 bytes of the datagram.
   */
  allowTruncated?: boolean;
}

/**
 * Walk the option TLVs of an IPv4 header; returns how many options (neither EOL
 * nor NOP) there are, or -1 when a length is impossible (RFC 791 §3.1).
 */
export function countIpv4Options(buf: Uint8Array, off: number, end: number): number {
  let n = 0;
  let i = off;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === IPOPT_EOL) break;
    if (kind === IPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return -1;
    const olen = buf[i + 1]!;
    if (olen < 2 || i + olen > end) return -1;
    n++;
    i += olen;
  }
  return n;
}

export function ipv4BufferLen(repr: Ipv4Repr): number {
  return IP_HDR_LEN + (repr.options ? repr.options.length : 0);
}

export function parseIpv4(
  buf: Uint8Array,
  off = 0,
  len = buf.length - off,
  opts?: Ipv4ParseOptions,
): ParseResult<Ipv4Repr> {
  if (off < 0 || len < IP_HDR_LEN || off + len > buf.length) return parseError('TRUNCATED', 'ipv4.header');
  const vhl = buf[off]!;
  if (vhl >>> 4 !== 4) return parseError('BAD_VERSION', 'ipv4.version');
  const hlen = (vhl & 0x0f) << 2;
  if (hlen < IP_HDR_LEN) return parseError('BAD_HEADER_LEN', 'ipv4.ihl');
  if (hlen > len) return parseError('TRUNCATED', 'ipv4.options');
  const total = get16(buf, off + IP_LEN);
  if (total < hlen) return parseError('BAD_TOTAL_LEN', 'ipv4.total_len');
  if (total > len && !opts?.allowTruncated) return parseError('TRUNCATED', 'ipv4.payload');
  if (opts?.verifyChecksum !== false && fold(sumBytes(buf, off, hlen)) !== 0xffff) {
    return parseError('BAD_CHECKSUM', 'ipv4.checksum');
  }
  const ff = get16(buf, off + IP_OFF);
  // RFC 791: the reserved flag must be zero; FreeBSD ignores it but it cannot be represented.
  if (ff & IP_RF) return parseError('BAD_FIELD', 'ipv4.flags');
  const repr: Ipv4Repr = {
    src: get32(buf, off + IP_SRC),
    dst: get32(buf, off + IP_DST),
    protocol: buf[off + IP_P]!,
    ttl: buf[off + IP_TTL]!,
    tos: buf[off + IP_TOS]!,
    ident: get16(buf, off + IP_ID),
    dontFrag: (ff & IP_DF) !== 0,
    moreFrags: (ff & IP_MF) !== 0,
    fragOffset: (ff & IP_OFFMASK) << 3,
    payloadLen: total - hlen,
  };
  if (hlen > IP_HDR_LEN) {
    const n = countIpv4Options(buf, off + IP_HDR_LEN, off + hlen);
    if (n < 0) return parseError('BAD_OPTION', 'ipv4.options');
    repr.options = copyBytes(buf, off + IP_HDR_LEN, hlen - IP_HDR_LEN);
    repr.optionCount = n;
  }
  return parsed(repr);
}

/** Write the header (checksum filled); the payload is the caller's. Returns the header length. */
export function emitIpv4(repr: Ipv4Repr, buf: Uint8Array, off = 0): number {
  const hlen = ipv4BufferLen(repr);
  if (hlen > IP_MAX_HDR_LEN || (hlen & 3) !== 0)
    throw new WireEmitError('ipv4: options must be a multiple of 4 bytes, at most 40');
  if (off + hlen > buf.length) throw new WireEmitError('ipv4: buffer too small');
  if ((repr.fragOffset & 7) !== 0 || repr.fragOffset > 0xfff8) throw new WireEmitError('ipv4: bad fragment offset');
  if (hlen + repr.payloadLen > 0xffff) throw new WireEmitError('ipv4: datagram too long');
  buf[off] = 0x40 | (hlen >>> 2);
  buf[off + IP_TOS] = repr.tos;
  set16(buf, off + IP_LEN, hlen + repr.payloadLen);
  set16(buf, off + IP_ID, repr.ident);
  set16(buf, off + IP_OFF, (repr.dontFrag ? IP_DF : 0) | (repr.moreFrags ? IP_MF : 0) | (repr.fragOffset >>> 3));
  buf[off + IP_TTL] = repr.ttl;
  buf[off + IP_P] = repr.protocol;
  set16(buf, off + IP_SUM, 0);
  set32(buf, off + IP_SRC, repr.src);
  set32(buf, off + IP_DST, repr.dst);
  if (repr.options) buf.set(repr.options, off + IP_HDR_LEN);
  set16(buf, off + IP_SUM, finish(sumBytes(buf, off, hlen)));
  return hlen;
}
