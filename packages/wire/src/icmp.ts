/**
 * ICMPv4 (RFC 792): echo, destination unreachable (with the RFC 1191 next-hop
 * MTU of "fragmentation needed"), time exceeded; other types are kept raw so
 * they can be counted and re-emitted. Errors quote the original datagram's IP
 * header and at least 8 bytes of its payload (RFC 792, RFC 1812 §4.3.2.3).
 */
import { type ParseResult, type ParseError, parseError, parsed, WireEmitError } from './errors.js';
import { get16, get32, set16, set32, copyBytes, ByteView } from './bytes.js';
import { sumBytes, fold, finish } from './checksum.js';
import { type Ipv4Repr, parseIpv4, ipv4BufferLen } from './ipv4.js';

export const ICMP_TYPE = 0;
export const ICMP_CODE = 1;
export const ICMP_CKSUM = 2;
export const ICMP_ID = 4;
export const ICMP_SEQ = 6;
/** icmp_nextmtu (RFC 1191): low 16 bits of the second word. */
export const ICMP_NEXTMTU = 6;
export const ICMP_DATA = 8;
export const ICMP_MINLEN = 8;

export const ICMP_ECHOREPLY = 0;
export const ICMP_UNREACH = 3;
export const ICMP_ECHO = 8;
export const ICMP_TIMXCEED = 11;

export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_NEEDFRAG = 4;
export const ICMP_UNREACH_SRCFAIL = 5;
export const ICMP_UNREACH_ADMIN_PROHIBIT = 13;
export const ICMP_TIMXCEED_INTRANS = 0;
export const ICMP_TIMXCEED_REASS = 1;

export class IcmpView extends ByteView {
  get type(): number {
    return this.buf[this.off + ICMP_TYPE]!;
  }
  set type(v: number) {
    this.buf[this.off + ICMP_TYPE] = v;
  }
  get code(): number {
    return this.buf[this.off + ICMP_CODE]!;
  }
  set code(v: number) {
    this.buf[this.off + ICMP_CODE] = v;
  }
  get checksum(): number {
    return get16(this.buf, this.off + ICMP_CKSUM);
  }
  set checksum(v: number) {
    set16(this.buf, this.off + ICMP_CKSUM, v);
  }
  get ident(): number {
    return get16(this.buf, this.off + ICMP_ID);
  }
  set ident(v: number) {
    set16(this.buf, this.off + ICMP_ID, v);
  }
  get seq(): number {
    return get16(this.buf, this.off + ICMP_SEQ);
  }
  set seq(v: number) {
    set16(this.buf, this.off + ICMP_SEQ, v);
  }
  get nextHopMtu(): number {
    return get16(this.buf, this.off + ICMP_NEXTMTU);
  }
  set nextHopMtu(v: number) {
    set16(this.buf, this.off + ICMP_NEXTMTU, v);
  }
  get dataOffset(): number {
    return this.off + ICMP_DATA;
  }
  verifyChecksum(len: number): boolean {
    return fold(sumBytes(this.buf, this.off, len)) === 0xffff;
  }
  fillChecksum(len: number): void {
    set16(this.buf, this.off + ICMP_CKSUM, 0);
    set16(this.buf, this.off + ICMP_CKSUM, finish(sumBytes(this.buf, this.off, len)));
  }
}

export interface IcmpEchoRepr {
  kind: 'echoRequest' | 'echoReply';
  ident: number;
  seq: number;
  data: Uint8Array;
}

export interface IcmpDestUnreachRepr {
  kind: 'destUnreachable';
  code: number;
  /** RFC 1191 next-hop MTU (code 4, fragmentation needed and DF set); 0 otherwise. */
  nextHopMtu: number;
  /** The quoted original datagram. */
  data: Uint8Array;
}

export interface IcmpTimeExceededRepr {
  kind: 'timeExceeded';
  code: number;
  data: Uint8Array;
}

/** Any other type, kept raw: the second 32-bit word and the data. */
export interface IcmpOtherRepr {
  kind: 'other';
  type: number;
  code: number;
  rest: number;
  data: Uint8Array;
}

export type IcmpRepr = IcmpEchoRepr | IcmpDestUnreachRepr | IcmpTimeExceededRepr | IcmpOtherRepr;

export function icmpBufferLen(repr: IcmpRepr): number {
  return ICMP_MINLEN + repr.data.length;
}

export interface IcmpParseOptions {
  /** Verify the checksum (default true). */
  verifyChecksum?: boolean;
}

/** Parse the ICMP message filling [off, off+len) (the IP payload). */
export function parseIcmp(
  buf: Uint8Array,
  off = 0,
  len = buf.length - off,
  opts?: IcmpParseOptions,
): ParseResult<IcmpRepr> {
  if (off < 0 || len < ICMP_MINLEN || off + len > buf.length) return parseError('TRUNCATED', 'icmp.header');
  if (opts?.verifyChecksum !== false && fold(sumBytes(buf, off, len)) !== 0xffff) {
    return parseError('BAD_CHECKSUM', 'icmp.checksum');
  }
  const type = buf[off + ICMP_TYPE]!;
  const code = buf[off + ICMP_CODE]!;
  const data = copyBytes(buf, off + ICMP_DATA, len - ICMP_MINLEN);
  switch (type) {
    case ICMP_ECHO:
    case ICMP_ECHOREPLY:
      if (code !== 0) break;
      return parsed({
        kind: type === ICMP_ECHO ? 'echoRequest' : 'echoReply',
        ident: get16(buf, off + ICMP_ID),
        seq: get16(buf, off + ICMP_SEQ),
        data,
      });
    case ICMP_UNREACH:
      // RFC 1191 §4: the high 16 bits are unused (zero); others stay raw to round-trip.
      if (get16(buf, off + 4) !== 0 || (code !== ICMP_UNREACH_NEEDFRAG && get16(buf, off + ICMP_NEXTMTU) !== 0)) break;
      return parsed({ kind: 'destUnreachable', code, nextHopMtu: get16(buf, off + ICMP_NEXTMTU), data });
    case ICMP_TIMXCEED:
      if (get32(buf, off + 4) !== 0) break;
      return parsed({ kind: 'timeExceeded', code, data });
  }
  return parsed({ kind: 'other', type, code, rest: get32(buf, off + 4), data });
}

/** Write the message with its checksum. Returns its length. */
export function emitIcmp(repr: IcmpRepr, buf: Uint8Array, off = 0): number {
  const n = icmpBufferLen(repr);
  if (off + n > buf.length) throw new WireEmitError('icmp: buffer too small');
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      buf[off] = repr.kind === 'echoRequest' ? ICMP_ECHO : ICMP_ECHOREPLY;
      buf[off + 1] = 0;
      set16(buf, off + ICMP_ID, repr.ident);
      set16(buf, off + ICMP_SEQ, repr.seq);
      break;
    case 'destUnreachable':
      buf[off] = ICMP_UNREACH;
      buf[off + 1] = repr.code;
      set16(buf, off + 4, 0);
      set16(buf, off + ICMP_NEXTMTU, repr.nextHopMtu);
      break;
    case 'timeExceeded':
      buf[off] = ICMP_TIMXCEED;
      buf[off + 1] = repr.code;
      set32(buf, off + 4, 0);
      break;
    case 'other':
      buf[off] = repr.type;
      buf[off + 1] = repr.code;
      set32(buf, off + 4, repr.rest);
  }
  buf.set(repr.data, off + ICMP_DATA);
  set16(buf, off + ICMP_CKSUM, 0);
  set16(buf, off + ICMP_CKSUM, finish(sumBytes(buf, off, n)));
  return n;
}

/** The quoted datagram of an ICMP error: its IP header and where its payload starts. */
export interface IcmpQuote4 {
  ip: Ipv4Repr;
  /** Offset of the quoted upper-layer header within the data passed in. */
  l4Offset: number;
  /** How many bytes of it were quoted (at least 8 for a usable quote). */
  l4Len: number;
}

/**
 * Parse the IPv4 header quoted in an ICMP error (its total length may exceed the
 * quote; its checksum is not checked, as FreeBSD icmp_input does not).
 */
export function parseIcmpQuote4(data: Uint8Array, off = 0, len = data.length - off): ParseResult<IcmpQuote4> {
  const r = parseIpv4(data, off, len, { verifyChecksum: false, allowTruncated: true });
  if (!r.ok) return parseError(r.code, `icmp.quote.${r.field}`) as ParseError;
  const hl = ipv4BufferLen(r.value);
  // RFC 792: the quote holds the header and the first 64 bits of the datagram.
  if (len - hl < 8) return parseError('TRUNCATED', 'icmp.quote.payload');
  return parsed({ ip: r.value, l4Offset: off + hl, l4Len: Math.min(len - hl, r.value.payloadLen) });
}
