/**
 * Upper-layer checksums over a whole segment with the IPv4 or IPv6 pseudo-header
 * (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1, RFC 4443 §2.3), computed in place from the
 * addresses already in the packet. `ipOff` is the IP header; `l4Off`/`l4Len` the
 * upper-layer header and its payload. The stored checksum field is excluded by
 * one's-complement subtraction (RFC 1624 §3), so nothing is written to verify.
 */
import { sumBytes, fold, finish, pseudoHeaderSum4, pseudoHeaderSum6 } from './checksum.js';

const IP4_SRC = 12;
const IP4_DST = 16;
const IP6_SRC = 8;
const IP6_DST = 24;

/** The sum of pseudo-header and segment, stored checksum at `l4Off + csumAt` included. */
function segmentSum4(buf: Uint8Array, ipOff: number, l4Off: number, l4Len: number, proto: number): number {
  return sumBytes(buf, l4Off, l4Len, pseudoHeaderSum4(buf, ipOff + IP4_SRC, ipOff + IP4_DST, proto, l4Len));
}

function segmentSum6(buf: Uint8Array, ipOff: number, l4Off: number, l4Len: number, proto: number): number {
  return sumBytes(buf, l4Off, l4Len, pseudoHeaderSum6(buf, ipOff + IP6_SRC, ipOff + IP6_DST, proto, l4Len));
}

function stored(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

/** The checksum the segment should carry (whatever its field holds now). */
export function l4Checksum4(
  buf: Uint8Array,
  ipOff: number,
  l4Off: number,
  l4Len: number,
  proto: number,
  csumAt: number,
): number {
  return finish(segmentSum4(buf, ipOff, l4Off, l4Len, proto) + 0xffff - stored(buf, l4Off + csumAt));
}

export function l4Checksum6(
  buf: Uint8Array,
  ipOff: number,
  l4Off: number,
  l4Len: number,
  proto: number,
  csumAt: number,
): number {
  return finish(segmentSum6(buf, ipOff, l4Off, l4Len, proto) + 0xffff - stored(buf, l4Off + csumAt));
}

/** True when the stored checksum verifies (the whole sum folds to 0xffff). */
export function verifyL4Checksum4(
  buf: Uint8Array,
  ipOff: number,
  l4Off: number,
  l4Len: number,
  proto: number,
): boolean {
  return fold(segmentSum4(buf, ipOff, l4Off, l4Len, proto)) === 0xffff;
}

export function verifyL4Checksum6(
  buf: Uint8Array,
  ipOff: number,
  l4Off: number,
  l4Len: number,
  proto: number,
): boolean {
  return fold(segmentSum6(buf, ipOff, l4Off, l4Len, proto)) === 0xffff;
}
