/**
 * ICMPv6 (RFC 4443): echo, destination unreachable, packet too big, time
 * exceeded; neighbor solicitation and advertisement (RFC 4861 §4.3, §4.4) with
 * the source/target link-layer address options (§4.6.1). The checksum covers the
 * IPv6 pseudo-header (RFC 4443 §2.3), so it is verified with `verifyIcmp6Checksum`
 * and filled by `emitIcmp6` given `pseudoHeaderSum6(..., 58, len)`.
 */
import { type ParseResult, parseError, parsed, WireEmitError } from './errors.js';
import { get16, get32, set16, set32, copyBytes, ByteView } from './bytes.js';
import { IPPROTO_ICMPV6 } from './in_proto.js';
import { sumBytes, finish } from './checksum.js';
import { l4Checksum6, verifyL4Checksum6 } from './l4-checksum.js';

export const ICMP6_TYPE = 0;
export const ICMP6_CODE = 1;
export const ICMP6_CKSUM = 2;
export const ICMP6_ID = 4;
export const ICMP6_SEQ = 6;
export const ICMP6_MTU = 4;
export const ICMP6_DATA = 8;
export const ICMP6_HDR_LEN = 8;
/** Neighbor discovery: flags word, then the target address, then options. */
export const ND_NA_FLAGS = 4;
export const ND_TARGET = 8;
export const ND_OPTIONS = 24;
export const ND_MIN_LEN = 24;

export const ICMP6_DST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAM_PROB = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;

export const ICMP6_DST_UNREACH_NOROUTE = 0;
export const ICMP6_DST_UNREACH_ADMIN = 1;
export const ICMP6_DST_UNREACH_ADDR = 3;
export const ICMP6_DST_UNREACH_NOPORT = 4;

export const ND_OPT_SOURCE_LINKADDR = 1;
export const ND_OPT_TARGET_LINKADDR = 2;

/** Neighbor advertisement flag bits (nd_na_flags_reserved, network order). */
export const ND_NA_FLAG_ROUTER = 0x80000000;
export const ND_NA_FLAG_SOLICITED = 0x40000000;
export const ND_NA_FLAG_OVERRIDE = 0x20000000;

export class Icmp6View extends ByteView {
  get type(): number {
    return this.buf[this.off + ICMP6_TYPE]!;
  }
  set type(v: number) {
    this.buf[this.off + ICMP6_TYPE] = v;
  }
  get code(): number {
    return this.buf[this.off + ICMP6_CODE]!;
  }
  set code(v: number) {
    this.buf[this.off + ICMP6_CODE] = v;
  }
  get checksum(): number {
    return get16(this.buf, this.off + ICMP6_CKSUM);
  }
  set checksum(v: number) {
    set16(this.buf, this.off + ICMP6_CKSUM, v);
  }
  get ident(): number {
    return get16(this.buf, this.off + ICMP6_ID);
  }
  get seq(): number {
    return get16(this.buf, this.off + ICMP6_SEQ);
  }
  get mtu(): number {
    return get32(this.buf, this.off + ICMP6_MTU);
  }
  get naFlags(): number {
    return get32(this.buf, this.off + ND_NA_FLAGS);
  }
  get targetOffset(): number {
    return this.off + ND_TARGET;
  }
  get dataOffset(): number {
    return this.off + ICMP6_DATA;
  }
}

export interface Icmp6EchoRepr {
  kind: 'echoRequest' | 'echoReply';
  ident: number;
  seq: number;
  data: Uint8Array;
}

export interface Icmp6DestUnreachRepr {
  kind: 'destUnreachable';
  code: number;
  /** As much of the invoking packet as fits (RFC 4443 §3.1). */
  data: Uint8Array;
}

export interface Icmp6PacketTooBigRepr {
  kind: 'packetTooBig';
  mtu: number;
  data: Uint8Array;
}

export interface Icmp6TimeExceededRepr {
  kind: 'timeExceeded';
  code: number;
  data: Uint8Array;
}

/** A neighbor discovery option other than the link-layer addresses, kept raw. */
export interface NdOption {
  type: number;
  /** The bytes after type and length: length*8 - 2 of them. */
  data: Uint8Array;
}

export interface NdNeighborSolicitRepr {
  kind: 'neighborSolicit';
  target: Uint8Array;
  sourceLinkAddr?: Uint8Array;
  otherOptions?: NdOption[];
}

export interface NdNeighborAdvertRepr {
  kind: 'neighborAdvert';
  router: boolean;
  solicited: boolean;
  override: boolean;
  target: Uint8Array;
  targetLinkAddr?: Uint8Array;
  otherOptions?: NdOption[];
}

export interface Icmp6OtherRepr {
  kind: 'other';
  type: number;
  code: number;
  rest: number;
  data: Uint8Array;
}

export type Icmp6Repr =
  | Icmp6EchoRepr
  | Icmp6DestUnreachRepr
  | Icmp6PacketTooBigRepr
  | Icmp6TimeExceededRepr
  | NdNeighborSolicitRepr
  | NdNeighborAdvertRepr
  | Icmp6OtherRepr;

function ndOptionsLen(lla: Uint8Array | undefined, other: NdOption[] | undefined): number {
  let n = lla ? 8 : 0;
  if (other) for (const o of other) n += 2 + o.data.length;
  return n;
}

export function icmp6BufferLen(repr: Icmp6Repr): number {
  switch (repr.kind) {
    case 'neighborSolicit':
      return ND_MIN_LEN + ndOptionsLen(repr.sourceLinkAddr, repr.otherOptions);
    case 'neighborAdvert':
      return ND_MIN_LEN + ndOptionsLen(repr.targetLinkAddr, repr.otherOptions);
    default:
      return ICMP6_HDR_LEN + repr.data.length;
  }
}

/**
 * Parse ND options [off, end): RFC 4861 §4.6: a zero length is invalid; a
 * link-layer address option for Ethernet is 8 bytes. Returns the LLA found
 * (of `llaType`) and other options, or an error field.
 */
function parseNdOptions(
  buf: Uint8Array,
  off: number,
  end: number,
  llaType: number,
): { lla?: Uint8Array; other?: NdOption[] } | string {
  const out: { lla?: Uint8Array; other?: NdOption[] } = {};
  let i = off;
  while (i < end) {
    if (end - i < 2) return 'icmp6.nd.option';
    const olen = buf[i + 1]! << 3;
    if (olen === 0 || i + olen > end) return 'icmp6.nd.option';
    const type = buf[i]!;
    if (type === llaType && olen === 8 && out.lla === undefined && out.other === undefined) {
      out.lla = copyBytes(buf, i + 2, 6);
    } else {
      (out.other ??= []).push({ type, data: copyBytes(buf, i + 2, olen - 2) });
    }
    i += olen;
  }
  return out;
}

function emitNdOptions(
  buf: Uint8Array,
  p: number,
  llaType: number,
  lla: Uint8Array | undefined,
  other: NdOption[] | undefined,
): void {
  if (lla) {
    buf[p] = llaType;
    buf[p + 1] = 1;
    buf.set(lla.subarray(0, 6), p + 2);
    p += 8;
  }
  if (other) {
    for (const o of other) {
      const n = 2 + o.data.length;
      if ((n & 7) !== 0) throw new WireEmitError('icmp6: ND option length must be a multiple of 8');
      buf[p] = o.type;
      buf[p + 1] = n >>> 3;
      buf.set(o.data, p + 2);
      p += n;
    }
  }
}

/** Parse the ICMPv6 message filling [off, off+len). The checksum is not checked here. */
export function parseIcmp6(buf: Uint8Array, off = 0, len = buf.length - off): ParseResult<Icmp6Repr> {
  if (off < 0 || len < ICMP6_HDR_LEN || off + len > buf.length) return parseError('TRUNCATED', 'icmp6.header');
  const type = buf[off]!;
  const code = buf[off + 1]!;
  const rest = get32(buf, off + 4);
  switch (type) {
    case ICMP6_ECHO_REQUEST:
    case ICMP6_ECHO_REPLY:
      if (code !== 0) break;
      return parsed({
        kind: type === ICMP6_ECHO_REQUEST ? 'echoRequest' : 'echoReply',
        ident: get16(buf, off + ICMP6_ID),
        seq: get16(buf, off + ICMP6_SEQ),
        data: copyBytes(buf, off + ICMP6_DATA, len - ICMP6_HDR_LEN),
      });
    case ICMP6_DST_UNREACH:
      if (rest !== 0) break;
      return parsed({ kind: 'destUnreachable', code, data: copyBytes(buf, off + ICMP6_DATA, len - ICMP6_HDR_LEN) });
    case ICMP6_PACKET_TOO_BIG:
      if (code !== 0) break;
      return parsed({ kind: 'packetTooBig', mtu: rest, data: copyBytes(buf, off + ICMP6_DATA, len - ICMP6_HDR_LEN) });
    case ICMP6_TIME_EXCEEDED:
      if (rest !== 0) break;
      return parsed({ kind: 'timeExceeded', code, data: copyBytes(buf, off + ICMP6_DATA, len - ICMP6_HDR_LEN) });
    case ND_NEIGHBOR_SOLICIT:
    case ND_NEIGHBOR_ADVERT: {
      const field = type === ND_NEIGHBOR_SOLICIT ? 'icmp6.nd.ns' : 'icmp6.nd.na';
      // RFC 4861 §7.1.1/§7.1.2: code 0, length 24 or more.
      if (code !== 0) return parseError('BAD_FIELD', `${field}.code`);
      if (len < ND_MIN_LEN) return parseError('TRUNCATED', field);
      const solicit = type === ND_NEIGHBOR_SOLICIT;
      if ((rest & (solicit ? 0xffffffff : 0x1fffffff)) !== 0) break;
      const opts = parseNdOptions(
        buf,
        off + ND_OPTIONS,
        off + len,
        solicit ? ND_OPT_SOURCE_LINKADDR : ND_OPT_TARGET_LINKADDR,
      );
      if (typeof opts === 'string') return parseError('BAD_OPTION', opts);
      const target = copyBytes(buf, off + ND_TARGET, 16);
      if (solicit) {
        const r: NdNeighborSolicitRepr = { kind: 'neighborSolicit', target };
        if (opts.lla) r.sourceLinkAddr = opts.lla;
        if (opts.other) r.otherOptions = opts.other;
        return parsed(r);
      }
      const r: NdNeighborAdvertRepr = {
        kind: 'neighborAdvert',
        router: (rest & ND_NA_FLAG_ROUTER) !== 0,
        solicited: (rest & ND_NA_FLAG_SOLICITED) !== 0,
        override: (rest & ND_NA_FLAG_OVERRIDE) !== 0,
        target,
      };
      if (opts.lla) r.targetLinkAddr = opts.lla;
      if (opts.other) r.otherOptions = opts.other;
      return parsed(r);
    }
  }
  return parsed({ kind: 'other', type, code, rest, data: copyBytes(buf, off + ICMP6_DATA, len - ICMP6_HDR_LEN) });
}

/**
 * Write the message. With `pseudoSum` (pseudoHeaderSum6(..., 58, length)) the
 * checksum is filled; otherwise it is left 0. Returns the length.
 */
export function emitIcmp6(repr: Icmp6Repr, buf: Uint8Array, off = 0, pseudoSum?: number): number {
  const n = icmp6BufferLen(repr);
  if (off + n > buf.length) throw new WireEmitError('icmp6: buffer too small');
  buf[off + 1] = 0;
  set32(buf, off + 4, 0);
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      buf[off] = repr.kind === 'echoRequest' ? ICMP6_ECHO_REQUEST : ICMP6_ECHO_REPLY;
      set16(buf, off + ICMP6_ID, repr.ident);
      set16(buf, off + ICMP6_SEQ, repr.seq);
      buf.set(repr.data, off + ICMP6_DATA);
      break;
    case 'destUnreachable':
      buf[off] = ICMP6_DST_UNREACH;
      buf[off + 1] = repr.code;
      buf.set(repr.data, off + ICMP6_DATA);
      break;
    case 'packetTooBig':
      buf[off] = ICMP6_PACKET_TOO_BIG;
      set32(buf, off + ICMP6_MTU, repr.mtu);
      buf.set(repr.data, off + ICMP6_DATA);
      break;
    case 'timeExceeded':
      buf[off] = ICMP6_TIME_EXCEEDED;
      buf[off + 1] = repr.code;
      buf.set(repr.data, off + ICMP6_DATA);
      break;
    case 'neighborSolicit':
      buf[off] = ND_NEIGHBOR_SOLICIT;
      buf.set(repr.target.subarray(0, 16), off + ND_TARGET);
      emitNdOptions(buf, off + ND_OPTIONS, ND_OPT_SOURCE_LINKADDR, repr.sourceLinkAddr, repr.otherOptions);
      break;
    case 'neighborAdvert':
      buf[off] = ND_NEIGHBOR_ADVERT;
      set32(
        buf,
        off + ND_NA_FLAGS,
        ((repr.router ? ND_NA_FLAG_ROUTER : 0) |
          (repr.solicited ? ND_NA_FLAG_SOLICITED : 0) |
          (repr.override ? ND_NA_FLAG_OVERRIDE : 0)) >>>
          0,
      );
      buf.set(repr.target.subarray(0, 16), off + ND_TARGET);
      emitNdOptions(buf, off + ND_OPTIONS, ND_OPT_TARGET_LINKADDR, repr.targetLinkAddr, repr.otherOptions);
      break;
    case 'other':
      buf[off] = repr.type;
      buf[off + 1] = repr.code;
      set32(buf, off + 4, repr.rest);
      buf.set(repr.data, off + ICMP6_DATA);
  }
  set16(buf, off + ICMP6_CKSUM, 0);
  if (pseudoSum !== undefined) set16(buf, off + ICMP6_CKSUM, finish(sumBytes(buf, off, n, pseudoSum)));
  return n;
}

export function icmp6Checksum(buf: Uint8Array, ipOff: number, icmpOff: number, icmpLen: number): number {
  return l4Checksum6(buf, ipOff, icmpOff, icmpLen, IPPROTO_ICMPV6, ICMP6_CKSUM);
}
export function verifyIcmp6Checksum(buf: Uint8Array, ipOff: number, icmpOff: number, icmpLen: number): boolean {
  return verifyL4Checksum6(buf, ipOff, icmpOff, icmpLen, IPPROTO_ICMPV6);
}
