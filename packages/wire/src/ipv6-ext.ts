/**
 * IPv6 extension headers (RFC 8200 §4): hop-by-hop options, routing, fragment and
 * destination options, and a walker over the chain that finds the upper-layer
 * protocol and its offset without allocating (FreeBSD ip6_nexthdr / ip6_lasthdr).
 */
import { type ParseResult, type ParseError, type WireErrorCode, parseError, parsed, WireEmitError } from './errors.js';
import { get16, get32, set16, set32, copyBytes } from './bytes.js';

import { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_DSTOPTS } from './in_proto.js';

/** Option types inside hop-by-hop / destination options (RFC 8200 §4.2). */
export const IP6OPT_PAD1 = 0;
export const IP6OPT_PADN = 1;

/** Fragment header (RFC 8200 §4.5) field offsets and length. */
export const IP6F_NXT = 0;
export const IP6F_OFFLG = 2;
export const IP6F_IDENT = 4;
export const IP6F_LEN = 8;
export const IP6F_OFF_MASK = 0xfff8;
export const IP6F_MORE_FRAG = 0x0001;

/** True for the extension headers this module walks through. */
export function isIpv6ExtHeader(nh: number): boolean {
  return nh === IPPROTO_HOPOPTS || nh === IPPROTO_ROUTING || nh === IPPROTO_FRAGMENT || nh === IPPROTO_DSTOPTS;
}

/**
 * Check an options area (hop-by-hop or destination): every TLV fits (RFC 8200 §4.2).
 */
export function checkIpv6Options(buf: Uint8Array, off: number, end: number): boolean {
  let i = off;
  while (i < end) {
    if (buf[i] === IP6OPT_PAD1) {
      i++;
      continue;
    }
    if (i + 2 > end) return false;
    i += 2 + buf[i + 1]!;
    if (i > end) return false;
  }
  return true;
}

/**
 * A reusable walker over the extension-header chain. After a successful `walk`,
 * `protocol` and `offset` name the upper-layer header; fragment fields are set when
 * a fragment header was crossed (the walk stops at a non-first fragment, whose
 * payload is not the upper-layer header).
 */
export class Ipv6ExtWalker {
  protocol = 0;
  offset = 0;
  /** Number of extension headers crossed. */
  count = 0;
  hasFragment = false;
  fragOffset = 0;
  moreFrags = false;
  fragIdent = 0;
  /** Offset of the first routing header with segments left, or -1. */
  routingOffset = -1;
  errorCode: WireErrorCode | null = null;
  errorField = '';

  /**
   * Walk from the header at `off` whose type is `nextHeader` up to `end`.
   * Returns false (errorCode/errorField set) on a malformed or truncated chain.
   */
  walk(buf: Uint8Array, off: number, nextHeader: number, end: number): boolean {
    this.count = 0;
    this.hasFragment = false;
    this.fragOffset = 0;
    this.moreFrags = false;
    this.fragIdent = 0;
    this.routingOffset = -1;
    this.errorCode = null;
    this.errorField = '';
    let nh = nextHeader;
    let o = off;
    if (end > buf.length) end = buf.length;
    while (isIpv6ExtHeader(nh)) {
      // RFC 8200 §4.1: hop-by-hop options only immediately after the fixed header.
      if (nh === IPPROTO_HOPOPTS && this.count !== 0) return this.fail('BAD_FIELD', 'ipv6.hopopts.position');
      if (o + 8 > end) return this.fail('TRUNCATED', extField(nh));
      if (nh === IPPROTO_FRAGMENT) {
        const fo = get16(buf, o + IP6F_OFFLG);
        this.hasFragment = true;
        this.fragOffset = fo & IP6F_OFF_MASK;
        this.moreFrags = (fo & IP6F_MORE_FRAG) !== 0;
        this.fragIdent = get32(buf, o + IP6F_IDENT);
        nh = buf[o]!;
        o += IP6F_LEN;
        this.count++;
        if (this.fragOffset !== 0) break;
        continue;
      }
      const hlen = (buf[o + 1]! + 1) << 3;
      if (o + hlen > end) return this.fail('TRUNCATED', extField(nh));
      if (nh === IPPROTO_ROUTING) {
        if (buf[o + 3] !== 0 && this.routingOffset < 0) this.routingOffset = o;
      } else if (!checkIpv6Options(buf, o + 2, o + hlen)) {
        return this.fail('BAD_OPTION', extField(nh));
      }
      nh = buf[o]!;
      o += hlen;
      this.count++;
    }
    this.protocol = nh;
    this.offset = o;
    return true;
  }

  private fail(code: WireErrorCode, field: string): false {
    this.errorCode = code;
    this.errorField = field;
    return false;
  }
}

function extField(nh: number): string {
  switch (nh) {
    case IPPROTO_HOPOPTS:
      return 'ipv6.hopopts';
    case IPPROTO_ROUTING:
      return 'ipv6.routing';
    case IPPROTO_FRAGMENT:
      return 'ipv6.fragment';
    default:
      return 'ipv6.dstopts';
  }
}

/** Hop-by-hop or destination options header: raw TLVs (padding included). */
export interface Ipv6OptionsHeaderRepr {
  type: typeof IPPROTO_HOPOPTS | typeof IPPROTO_DSTOPTS;
  nextHeader: number;
  /** The option bytes after the 2-byte header; length + 2 is a multiple of 8. */
  options: Uint8Array;
}

export interface Ipv6RoutingRepr {
  type: typeof IPPROTO_ROUTING;
  nextHeader: number;
  routingType: number;
  segmentsLeft: number;
  /** Type-specific data after the 4-byte header; length + 4 is a multiple of 8. */
  data: Uint8Array;
}

export interface Ipv6FragmentRepr {
  type: typeof IPPROTO_FRAGMENT;
  nextHeader: number;
  /** Offset in bytes (a multiple of 8). */
  fragOffset: number;
  moreFrags: boolean;
  ident: number;
}

export type Ipv6ExtRepr = Ipv6OptionsHeaderRepr | Ipv6RoutingRepr | Ipv6FragmentRepr;

export function ipv6ExtBufferLen(repr: Ipv6ExtRepr): number {
  switch (repr.type) {
    case IPPROTO_FRAGMENT:
      return IP6F_LEN;
    case IPPROTO_ROUTING:
      return 4 + repr.data.length;
    default:
      return 2 + repr.options.length;
  }
}

/** Parse one extension header of type `type` at `off`. */
export function parseIpv6Ext(type: number, buf: Uint8Array, off = 0, len = buf.length - off): ParseResult<Ipv6ExtRepr> {
  if (!isIpv6ExtHeader(type)) return parseError('UNSUPPORTED', 'ipv6.ext.type');
  const field = extField(type);
  if (off < 0 || len < 8 || off + len > buf.length) return parseError('TRUNCATED', field);
  const nextHeader = buf[off]!;
  if (type === IPPROTO_FRAGMENT) {
    const fo = get16(buf, off + IP6F_OFFLG);
    // RFC 8200 §4.5: the reserved fields are zero on transmit; keep them so to round-trip.
    if (buf[off + 1] !== 0 || (fo & 0x0006) !== 0) return parseError('BAD_FIELD', 'ipv6.fragment.reserved');
    return parsed({
      type,
      nextHeader,
      fragOffset: fo & IP6F_OFF_MASK,
      moreFrags: (fo & IP6F_MORE_FRAG) !== 0,
      ident: get32(buf, off + IP6F_IDENT),
    });
  }
  const hlen = (buf[off + 1]! + 1) << 3;
  if (hlen > len) return parseError('TRUNCATED', field);
  if (type === IPPROTO_ROUTING) {
    return parsed({
      type,
      nextHeader,
      routingType: buf[off + 2]!,
      segmentsLeft: buf[off + 3]!,
      data: copyBytes(buf, off + 4, hlen - 4),
    });
  }
  if (!checkIpv6Options(buf, off + 2, off + hlen)) return parseError('BAD_OPTION', field);
  return parsed({
    type: type as Ipv6OptionsHeaderRepr['type'],
    nextHeader,
    options: copyBytes(buf, off + 2, hlen - 2),
  });
}

export function emitIpv6Ext(repr: Ipv6ExtRepr, buf: Uint8Array, off = 0): number {
  const n = ipv6ExtBufferLen(repr);
  if ((n & 7) !== 0 || n > 2048) throw new WireEmitError('ipv6 ext: length must be a multiple of 8');
  if (off + n > buf.length) throw new WireEmitError('ipv6 ext: buffer too small');
  buf[off] = repr.nextHeader;
  switch (repr.type) {
    case IPPROTO_FRAGMENT:
      buf[off + 1] = 0;
      set16(buf, off + IP6F_OFFLG, (repr.fragOffset & IP6F_OFF_MASK) | (repr.moreFrags ? IP6F_MORE_FRAG : 0));
      set32(buf, off + IP6F_IDENT, repr.ident);
      break;
    case IPPROTO_ROUTING:
      buf[off + 1] = (n >>> 3) - 1;
      buf[off + 2] = repr.routingType;
      buf[off + 3] = repr.segmentsLeft;
      buf.set(repr.data, off + 4);
      break;
    default:
      buf[off + 1] = (n >>> 3) - 1;
      buf.set(repr.options, off + 2);
  }
  return n;
}

export interface Ipv6ChainRepr {
  headers: Ipv6ExtRepr[];
  /** The upper-layer protocol after the chain. */
  protocol: number;
  /** Offset of the upper-layer header in the buffer. */
  offset: number;
}

/** Parse the whole chain into Reprs (the checked, allocating counterpart of the walker). */
export function parseIpv6Chain(
  nextHeader: number,
  buf: Uint8Array,
  off = 0,
  len = buf.length - off,
): ParseResult<Ipv6ChainRepr> {
  const headers: Ipv6ExtRepr[] = [];
  let nh = nextHeader;
  let o = off;
  const end = off + len;
  if (off < 0 || end > buf.length) return parseError('TRUNCATED', 'ipv6.ext');
  while (isIpv6ExtHeader(nh)) {
    if (nh === IPPROTO_HOPOPTS && headers.length !== 0) return parseError('BAD_FIELD', 'ipv6.hopopts.position');
    const r = parseIpv6Ext(nh, buf, o, end - o);
    if (!r.ok) return r as ParseError;
    headers.push(r.value);
    o += ipv6ExtBufferLen(r.value);
    nh = r.value.nextHeader;
    if (r.value.type === IPPROTO_FRAGMENT && r.value.fragOffset !== 0) break;
  }
  return parsed({ headers, protocol: nh, offset: o });
}
