/**
 * IPv6 fixed header (RFC 8200 §3). Extension headers are in ipv6-ext.ts.
 */
import { type ParseResult, parseError, parsed, WireEmitError } from './errors.js';
import { get16, get32, set16, set32, copyBytes, putBytes, ByteView } from './bytes.js';

export const IP6_FLOW = 0;
export const IP6_PLEN = 4;
export const IP6_NXT = 6;
export const IP6_HLIM = 7;
export const IP6_SRC = 8;
export const IP6_DST = 24;
export const IP6_HDR_LEN = 40;

/** Zero-allocation view over an IPv6 header. */
export class Ipv6View extends ByteView {
  get version(): number {
    return this.buf[this.off]! >>> 4;
  }
  get trafficClass(): number {
    return (get16(this.buf, this.off) >>> 4) & 0xff;
  }
  get flowLabel(): number {
    return get32(this.buf, this.off) & 0xfffff;
  }
  set flowLabel(v: number) {
    set32(this.buf, this.off, ((get32(this.buf, this.off) & 0xfff00000) | (v & 0xfffff)) >>> 0);
  }
  get payloadLen(): number {
    return get16(this.buf, this.off + IP6_PLEN);
  }
  set payloadLen(v: number) {
    set16(this.buf, this.off + IP6_PLEN, v);
  }
  get nextHeader(): number {
    return this.buf[this.off + IP6_NXT]!;
  }
  set nextHeader(v: number) {
    this.buf[this.off + IP6_NXT] = v;
  }
  get hopLimit(): number {
    return this.buf[this.off + IP6_HLIM]!;
  }
  set hopLimit(v: number) {
    this.buf[this.off + IP6_HLIM] = v;
  }
  get srcOffset(): number {
    return this.off + IP6_SRC;
  }
  get dstOffset(): number {
    return this.off + IP6_DST;
  }
  get payloadOffset(): number {
    return this.off + IP6_HDR_LEN;
  }
}

export interface Ipv6Repr {
  src: Uint8Array;
  dst: Uint8Array;
  /** The Next Header field of the fixed header (may be an extension header). */
  nextHeader: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  /** Payload length: everything after the fixed header, extension headers included. */
  payloadLen: number;
}

export function ipv6BufferLen(_repr: Ipv6Repr): number {
  return IP6_HDR_LEN;
}

export interface Ipv6ParseOptions {
  /** Accept a payload beyond the buffer (the quoted packet of an ICMPv6 error). */
  allowTruncated?: boolean;
}

export function parseIpv6(
  buf: Uint8Array,
  off = 0,
  len = buf.length - off,
  opts?: Ipv6ParseOptions,
): ParseResult<Ipv6Repr> {
  if (off < 0 || len < IP6_HDR_LEN || off + len > buf.length) return parseError('TRUNCATED', 'ipv6.header');
  const w0 = get32(buf, off);
  if (w0 >>> 28 !== 6) return parseError('BAD_VERSION', 'ipv6.version');
  const plen = get16(buf, off + IP6_PLEN);
  // A zero payload length with a Jumbo Payload option (RFC 2675) is not supported.
  if (IP6_HDR_LEN + plen > len && !opts?.allowTruncated) return parseError('TRUNCATED', 'ipv6.payload');
  return parsed({
    src: copyBytes(buf, off + IP6_SRC, 16),
    dst: copyBytes(buf, off + IP6_DST, 16),
    nextHeader: buf[off + IP6_NXT]!,
    hopLimit: buf[off + IP6_HLIM]!,
    trafficClass: (w0 >>> 20) & 0xff,
    flowLabel: w0 & 0xfffff,
    payloadLen: plen,
  });
}

export function emitIpv6(repr: Ipv6Repr, buf: Uint8Array, off = 0): number {
  if (off + IP6_HDR_LEN > buf.length) throw new WireEmitError('ipv6: buffer too small');
  if (repr.payloadLen > 0xffff) throw new WireEmitError('ipv6: payload too long');
  set32(buf, off, ((6 << 28) | ((repr.trafficClass & 0xff) << 20) | (repr.flowLabel & 0xfffff)) >>> 0);
  set16(buf, off + IP6_PLEN, repr.payloadLen);
  buf[off + IP6_NXT] = repr.nextHeader;
  buf[off + IP6_HLIM] = repr.hopLimit;
  putBytes(buf, off + IP6_SRC, repr.src, 16);
  putBytes(buf, off + IP6_DST, repr.dst, 16);
  return IP6_HDR_LEN;
}
