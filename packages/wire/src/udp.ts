/**
 * UDP header (RFC 768). A zero checksum means "none" over IPv4; a computed zero
 * is sent as 0xffff. Over IPv6 the checksum is mandatory (RFC 8200 §8.1).
 */
import { type ParseResult, parseError, parsed, WireEmitError } from './errors.js';
import { get16, set16, ByteView } from './bytes.js';
import { IPPROTO_UDP } from './in_proto.js';
import { sumBytes, finish } from './checksum.js';
import { l4Checksum4, l4Checksum6, verifyL4Checksum4, verifyL4Checksum6 } from './l4-checksum.js';

export const UH_SPORT = 0;
export const UH_DPORT = 2;
export const UH_ULEN = 4;
export const UH_SUM = 6;
export const UDP_HDR_LEN = 8;

export class UdpView extends ByteView {
  get srcPort(): number {
    return get16(this.buf, this.off + UH_SPORT);
  }
  set srcPort(v: number) {
    set16(this.buf, this.off + UH_SPORT, v);
  }
  get dstPort(): number {
    return get16(this.buf, this.off + UH_DPORT);
  }
  set dstPort(v: number) {
    set16(this.buf, this.off + UH_DPORT, v);
  }
  /** Header plus payload length. */
  get length(): number {
    return get16(this.buf, this.off + UH_ULEN);
  }
  set length(v: number) {
    set16(this.buf, this.off + UH_ULEN, v);
  }
  get checksum(): number {
    return get16(this.buf, this.off + UH_SUM);
  }
  set checksum(v: number) {
    set16(this.buf, this.off + UH_SUM, v);
  }
  get payloadOffset(): number {
    return this.off + UDP_HDR_LEN;
  }
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** Payload bytes after the header (the length field is 8 more). */
  payloadLen: number;
}

export function udpBufferLen(_repr: UdpRepr): number {
  return UDP_HDR_LEN;
}

/** Parse a UDP header; `len` is what the IP layer says the datagram holds. */
export function parseUdp(buf: Uint8Array, off = 0, len = buf.length - off): ParseResult<UdpRepr> {
  if (off < 0 || len < UDP_HDR_LEN || off + len > buf.length) return parseError('TRUNCATED', 'udp.header');
  const ulen = get16(buf, off + UH_ULEN);
  if (ulen < UDP_HDR_LEN) return parseError('BAD_TOTAL_LEN', 'udp.length');
  if (ulen > len) return parseError('TRUNCATED', 'udp.payload');
  return parsed({
    srcPort: get16(buf, off + UH_SPORT),
    dstPort: get16(buf, off + UH_DPORT),
    payloadLen: ulen - UDP_HDR_LEN,
  });
}

/**
 * Write the header. With `pseudoSum` (pseudoHeaderSum4/6 over 8 + payloadLen),
 * the checksum covers the payload that already follows; otherwise it is 0 (none).
 */
export function emitUdp(repr: UdpRepr, buf: Uint8Array, off = 0, pseudoSum?: number): number {
  if (off + UDP_HDR_LEN > buf.length) throw new WireEmitError('udp: buffer too small');
  if (repr.payloadLen + UDP_HDR_LEN > 0xffff) throw new WireEmitError('udp: datagram too long');
  set16(buf, off + UH_SPORT, repr.srcPort);
  set16(buf, off + UH_DPORT, repr.dstPort);
  set16(buf, off + UH_ULEN, UDP_HDR_LEN + repr.payloadLen);
  set16(buf, off + UH_SUM, 0);
  if (pseudoSum !== undefined) {
    if (off + UDP_HDR_LEN + repr.payloadLen > buf.length) throw new WireEmitError('udp: payload past the buffer');
    const c = finish(sumBytes(buf, off, UDP_HDR_LEN + repr.payloadLen, pseudoSum));
    set16(buf, off + UH_SUM, c === 0 ? 0xffff : c);
  }
  return UDP_HDR_LEN;
}

function nonzero(c: number): number {
  return c === 0 ? 0xffff : c;
}

export function udpChecksum4(buf: Uint8Array, ipOff: number, udpOff: number, udpLen: number): number {
  return nonzero(l4Checksum4(buf, ipOff, udpOff, udpLen, IPPROTO_UDP, UH_SUM));
}
export function udpChecksum6(buf: Uint8Array, ipOff: number, udpOff: number, udpLen: number): number {
  return nonzero(l4Checksum6(buf, ipOff, udpOff, udpLen, IPPROTO_UDP, UH_SUM));
}
/** A zero checksum over IPv4 is "not computed" and verifies (RFC 768). */
export function verifyUdpChecksum4(buf: Uint8Array, ipOff: number, udpOff: number, udpLen: number): boolean {
  return get16(buf, udpOff + UH_SUM) === 0 || verifyL4Checksum4(buf, ipOff, udpOff, udpLen, IPPROTO_UDP);
}
/** RFC 8200 §8.1: a zero UDP checksum over IPv6 is invalid. */
export function verifyUdpChecksum6(buf: Uint8Array, ipOff: number, udpOff: number, udpLen: number): boolean {
  return get16(buf, udpOff + UH_SUM) !== 0 && verifyL4Checksum6(buf, ipOff, udpOff, udpLen, IPPROTO_UDP);
}
export function fillUdpChecksum4(buf: Uint8Array, ipOff: number, udpOff: number, udpLen: number): void {
  set16(buf, udpOff + UH_SUM, udpChecksum4(buf, ipOff, udpOff, udpLen));
}
export function fillUdpChecksum6(buf: Uint8Array, ipOff: number, udpOff: number, udpLen: number): void {
  set16(buf, udpOff + UH_SUM, udpChecksum6(buf, ipOff, udpOff, udpLen));
}
