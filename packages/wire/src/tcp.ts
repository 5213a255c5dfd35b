/**
 * TCP header (RFC 9293 §3.1) and options: EOL, NOP, MSS (RFC 9293 §3.2), window
 * scale and timestamps (RFC 7323), SACK-permitted and SACK (RFC 2018), TCP-MD5
 * signature (RFC 2385, kind 19); other kinds are skipped by their length.
 *
 * Three layers: `TcpView` reads/writes fields in place; `TcpOptionScan` is
 * FreeBSD's tcp_dooptions (no allocation, malformed options ignored as FreeBSD
 * does); `TcpRepr` with parse/emit is the checked form, exact to the byte.
 */
import { type ParseResult, type ParseError, parseError, parsed, WireEmitError } from './errors.js';
import { get16, get32, set16, set32, copyBytes, ByteView } from './bytes.js';
import { IPPROTO_TCP } from './in_proto.js';
import { sumBytes, finish } from './checksum.js';
import { l4Checksum4, l4Checksum6, verifyL4Checksum4, verifyL4Checksum6 } from './l4-checksum.js';

export const TH_SPORT = 0;
export const TH_DPORT = 2;
export const TH_SEQ = 4;
export const TH_ACK = 8;
/** Data offset (high nibble) and th_x2 (low nibble, holding the AE bit). */
export const TH_OFF = 12;
export const TH_FLAGS = 13;
export const TH_WIN = 14;
export const TH_SUM = 16;
export const TH_URP = 18;
export const TCP_HDR_LEN = 20;
export const TCP_MAX_HDR_LEN = 60;
/** TCP_MAXOLEN: option space. */
export const TCP_MAXOLEN = 40;

/** th_flags bits; TH_AE (RFC 9768, formerly NS) is bit 8 as in FreeBSD's tcp_get_flags(). */
export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK_FLAG = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;
export const TH_AE = 0x100;
/** All 12 bits of flags and reserved bits. */
export const TH_FLAGS_MASK = 0xfff;

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MAXSEG = 2;
export const TCPOPT_WINDOW = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;
export const TCPOPT_SIGNATURE = 19;

export const TCPOLEN_MAXSEG = 4;
export const TCPOLEN_WINDOW = 3;
export const TCPOLEN_SACK_PERMITTED = 2;
export const TCPOLEN_SACKHDR = 2;
export const TCPOLEN_SACK = 8;
export const TCPOLEN_TIMESTAMP = 10;
export const TCPOLEN_SIGNATURE = 18;
export const TCP_SIGLEN = 16;
/** RFC 7323 §2.3: shift counts above 14 are treated as 14. */
export const TCP_MAX_WINSHIFT = 14;
/** At most 4 SACK blocks fit in 40 bytes of options. */
export const TCP_MAX_SACK = 4;

/** Zero-allocation view over a TCP header. */
export class TcpView extends ByteView {
  get srcPort(): number {
    return get16(this.buf, this.off + TH_SPORT);
  }
  set srcPort(v: number) {
    set16(this.buf, this.off + TH_SPORT, v);
  }
  get dstPort(): number {
    return get16(this.buf, this.off + TH_DPORT);
  }
  set dstPort(v: number) {
    set16(this.buf, this.off + TH_DPORT, v);
  }
  get seq(): number {
    return get32(this.buf, this.off + TH_SEQ);
  }
  set seq(v: number) {
    set32(this.buf, this.off + TH_SEQ, v);
  }
  get ack(): number {
    return get32(this.buf, this.off + TH_ACK);
  }
  set ack(v: number) {
    set32(this.buf, this.off + TH_ACK, v);
  }
  /** Header length in bytes (data offset * 4). */
  get headerLen(): number {
    return (this.buf[this.off + TH_OFF]! >>> 4) << 2;
  }
  set headerLen(v: number) {
    const o = this.off + TH_OFF;
    this.buf[o] = ((v >>> 2) << 4) | (this.buf[o]! & 0x0f);
  }
  /** 12 bits: th_x2 << 8 | th_flags (FreeBSD tcp_get_flags). */
  get flags(): number {
    return ((this.buf[this.off + TH_OFF]! & 0x0f) << 8) | this.buf[this.off + TH_FLAGS]!;
  }
  set flags(v: number) {
    const o = this.off + TH_OFF;
    this.buf[o] = (this.buf[o]! & 0xf0) | ((v >>> 8) & 0x0f);
    this.buf[o + 1] = v;
  }
  get fin(): boolean {
    return (this.buf[this.off + TH_FLAGS]! & TH_FIN) !== 0;
  }
  get syn(): boolean {
    return (this.buf[this.off + TH_FLAGS]! & TH_SYN) !== 0;
  }
  get rst(): boolean {
    return (this.buf[this.off + TH_FLAGS]! & TH_RST) !== 0;
  }
  get psh(): boolean {
    return (this.buf[this.off + TH_FLAGS]! & TH_PUSH) !== 0;
  }
  get ackFlag(): boolean {
    return (this.buf[this.off + TH_FLAGS]! & TH_ACK_FLAG) !== 0;
  }
  get urg(): boolean {
    return (this.buf[this.off + TH_FLAGS]! & TH_URG) !== 0;
  }
  get window(): number {
    return get16(this.buf, this.off + TH_WIN);
  }
  set window(v: number) {
    set16(this.buf, this.off + TH_WIN, v);
  }
  get checksum(): number {
    return get16(this.buf, this.off + TH_SUM);
  }
  set checksum(v: number) {
    set16(this.buf, this.off + TH_SUM, v);
  }
  get urgentPtr(): number {
    return get16(this.buf, this.off + TH_URP);
  }
  set urgentPtr(v: number) {
    set16(this.buf, this.off + TH_URP, v);
  }
  get optionsOffset(): number {
    return this.off + TCP_HDR_LEN;
  }
  get optionsLen(): number {
    return this.headerLen - TCP_HDR_LEN;
  }
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
}

/** to_flags bits of FreeBSD's struct tcpopt. */
export const TOF_MSS = 0x0001;
export const TOF_SCALE = 0x0002;
export const TOF_SACKPERM = 0x0004;
export const TOF_TS = 0x0010;
export const TOF_SIGNATURE = 0x0040;
export const TOF_SACK = 0x0080;

/**
 * FreeBSD tcp_dooptions(): scan the options of one segment into reused fields.
 * Options with a wrong length are ignored, a length running past the end stops
 * the scan; MSS, window scale and SACK-permitted count only on a SYN.
 * SACK blocks and the signature stay in the buffer: read them with `sackStart(i)`,
 * `sackEnd(i)` and `signatureOffset`.
 */
export class TcpOptionScan {
  flags = 0;
  mss = 0;
  wscale = 0;
  tsVal = 0;
  tsEcr = 0;
  nsacks = 0;
  sackOffset = 0;
  signatureOffset = 0;
  /** Options of unknown kind skipped by length. */
  unknown = 0;
  buf: Uint8Array = new Uint8Array(0);

  /** Scan [off, end); `syn` as TO_SYN in FreeBSD. Returns `flags`. */
  scan(buf: Uint8Array, off: number, end: number, syn: boolean): number {
    this.buf = buf;
    this.flags = 0;
    this.nsacks = 0;
    this.unknown = 0;
    let i = off;
    if (end > buf.length) end = buf.length;
    while (i < end) {
      const opt = buf[i]!;
      if (opt === TCPOPT_EOL) break;
      let optlen = 1;
      if (opt !== TCPOPT_NOP) {
        if (end - i < 2) break;
        optlen = buf[i + 1]!;
        if (optlen < 2 || optlen > end - i) break;
      }
      switch (opt) {
        case TCPOPT_MAXSEG:
          if (optlen === TCPOLEN_MAXSEG && syn) {
            this.flags |= TOF_MSS;
            this.mss = get16(buf, i + 2);
          }
          break;
        case TCPOPT_WINDOW:
          if (optlen === TCPOLEN_WINDOW && syn) {
            this.flags |= TOF_SCALE;
            this.wscale = Math.min(buf[i + 2]!, TCP_MAX_WINSHIFT);
          }
          break;
        case TCPOPT_TIMESTAMP:
          if (optlen === TCPOLEN_TIMESTAMP) {
            this.flags |= TOF_TS;
            this.tsVal = get32(buf, i + 2);
            this.tsEcr = get32(buf, i + 6);
          }
          break;
        case TCPOPT_SIGNATURE:
          // Only its position is recorded; tcp_input verifies it (RFC 2385 §2.0).
          if (optlen === TCPOLEN_SIGNATURE) {
            this.flags |= TOF_SIGNATURE;
            this.signatureOffset = i + 2;
          }
          break;
        case TCPOPT_SACK_PERMITTED:
          if (optlen === TCPOLEN_SACK_PERMITTED && syn) this.flags |= TOF_SACKPERM;
          break;
        case TCPOPT_SACK:
          if (optlen > 2 && (optlen - 2) % TCPOLEN_SACK === 0 && !syn) {
            this.flags |= TOF_SACK;
            this.nsacks = (optlen - 2) / TCPOLEN_SACK;
            this.sackOffset = i + 2;
          }
          break;
        case TCPOPT_NOP:
          break;
        default:
          this.unknown++;
      }
      i += optlen;
    }
    return this.flags;
  }

  sackStart(i: number): number {
    return get32(this.buf, this.sackOffset + i * 8);
  }
  sackEnd(i: number): number {
    return get32(this.buf, this.sackOffset + i * 8 + 4);
  }
}

export interface TcpTimestamp {
  val: number;
  ecr: number;
}

export interface TcpUnknownOption {
  kind: number;
  data: Uint8Array;
}

export interface TcpOptions {
  mss?: number;
  /** The shift count as sent (not clamped to 14). */
  wscale?: number;
  sackPermitted?: boolean;
  /** [left edge, right edge) pairs, 1 to 4 blocks. */
  sack?: [number, number][];
  timestamp?: TcpTimestamp;
  /** The 16-byte RFC 2385 digest. */
  md5?: Uint8Array;
  /** Options of other kinds, in wire order. */
  unknown?: TcpUnknownOption[];
  /**
   * The kinds in wire order, NOP (1) and EOL/padding (0) included, one entry per
   * NOP and per EOL/padding byte. When absent, options are laid out as FreeBSD's
   * tcp_addoptions() does.
   */
  order?: number[];
}

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** 12 bits: th_x2 << 8 | th_flags. */
  flags: number;
  window: number;
  urgentPtr: number;
  options: TcpOptions;
}

function optionLen(kind: number, o: TcpOptions, unknownIdx: number): number {
  switch (kind) {
    case TCPOPT_EOL:
    case TCPOPT_NOP:
      return 1;
    case TCPOPT_MAXSEG:
      return TCPOLEN_MAXSEG;
    case TCPOPT_WINDOW:
      return TCPOLEN_WINDOW;
    case TCPOPT_SACK_PERMITTED:
      return TCPOLEN_SACK_PERMITTED;
    case TCPOPT_SACK:
      return TCPOLEN_SACKHDR + TCPOLEN_SACK * (o.sack ? o.sack.length : 0);
    case TCPOPT_TIMESTAMP:
      return TCPOLEN_TIMESTAMP;
    case TCPOPT_SIGNATURE:
      return TCPOLEN_SIGNATURE;
    default: {
      const u = o.unknown?.[unknownIdx];
      return u ? 2 + u.data.length : 0;
    }
  }
}

/** Write one option at `p`; returns the new position. */
function writeOption(kind: number, o: TcpOptions, u: TcpUnknownOption | undefined, buf: Uint8Array, p: number): number {
  switch (kind) {
    case TCPOPT_EOL:
    case TCPOPT_NOP:
      buf[p] = kind;
      return p + 1;
    case TCPOPT_MAXSEG:
      buf[p] = kind;
      buf[p + 1] = TCPOLEN_MAXSEG;
      set16(buf, p + 2, o.mss ?? 0);
      return p + TCPOLEN_MAXSEG;
    case TCPOPT_WINDOW:
      buf[p] = kind;
      buf[p + 1] = TCPOLEN_WINDOW;
      buf[p + 2] = o.wscale ?? 0;
      return p + TCPOLEN_WINDOW;
    case TCPOPT_SACK_PERMITTED:
      buf[p] = kind;
      buf[p + 1] = TCPOLEN_SACK_PERMITTED;
      return p + TCPOLEN_SACK_PERMITTED;
    case TCPOPT_SACK: {
      const blocks = o.sack ?? [];
      buf[p] = kind;
      buf[p + 1] = TCPOLEN_SACKHDR + TCPOLEN_SACK * blocks.length;
      let q = p + 2;
      for (const [s, e] of blocks) {
        set32(buf, q, s);
        set32(buf, q + 4, e);
        q += 8;
      }
      return q;
    }
    case TCPOPT_TIMESTAMP:
      buf[p] = kind;
      buf[p + 1] = TCPOLEN_TIMESTAMP;
      set32(buf, p + 2, o.timestamp?.val ?? 0);
      set32(buf, p + 6, o.timestamp?.ecr ?? 0);
      return p + TCPOLEN_TIMESTAMP;
    case TCPOPT_SIGNATURE:
      buf[p] = kind;
      buf[p + 1] = TCPOLEN_SIGNATURE;
      // Zeros until the digest is computed over the finished segment (tcp_addoptions).
      if (o.md5) buf.set(o.md5.subarray(0, TCP_SIGLEN), p + 2);
      else buf.fill(0, p + 2, p + TCPOLEN_SIGNATURE);
      return p + TCPOLEN_SIGNATURE;
    default:
      if (!u) throw new WireEmitError(`tcp: order names kind ${kind} but no unknown option is left`);
      if (u.kind !== kind) throw new WireEmitError(`tcp: order names kind ${kind}, next unknown option is ${u.kind}`);
      buf[p] = kind;
      buf[p + 1] = 2 + u.data.length;
      buf.set(u.data, p + 2);
      return p + 2 + u.data.length;
  }
}

/** FreeBSD tcp_addoptions() padding before each option: returns the NOPs to insert at `optlen`. */
function freebsdPad(kind: number, optlen: number): number {
  switch (kind) {
    case TCPOPT_WINDOW:
      return optlen % 2 === 1 ? 0 : 1; // while (!optlen || optlen % 2 != 1)
    case TCPOPT_SACK_PERMITTED:
      return optlen % 2; // while (optlen % 2)
    case TCPOPT_TIMESTAMP:
    case TCPOPT_SIGNATURE:
    case TCPOPT_SACK: // while (!optlen || optlen % 4 != 2)
      return (6 - (optlen % 4)) % 4;
    default:
      return 0;
  }
}

/**
 * The option kinds in FreeBSD tcp_addoptions() order (MSS, window scale, SACK
 * permitted, timestamps, signature, SACK), with its NOP alignment and EOL/zero
 * padding to a 4-byte boundary. Unknown options follow, as kind-ordered data.
 */
export function freebsdOptionOrder(o: TcpOptions): number[] {
  const order: number[] = [];
  let optlen = 0;
  const add = (kind: number) => {
    for (let n = freebsdPad(kind, optlen); n > 0; n--) {
      order.push(TCPOPT_NOP);
      optlen++;
    }
    order.push(kind);
    optlen += optionLen(kind, o, 0);
  };
  if (o.mss !== undefined) add(TCPOPT_MAXSEG);
  if (o.wscale !== undefined) add(TCPOPT_WINDOW);
  if (o.sackPermitted) add(TCPOPT_SACK_PERMITTED);
  if (o.timestamp) add(TCPOPT_TIMESTAMP);
  if (o.md5) add(TCPOPT_SIGNATURE);
  if (o.sack && o.sack.length > 0) add(TCPOPT_SACK);
  if (o.unknown)
    for (const u of o.unknown) {
      order.push(u.kind);
      optlen += 2 + u.data.length;
    }
  // "Terminate and pad TCP options to a 4 byte boundary": EOL then zero padding.
  while (optlen % 4 !== 0) {
    order.push(TCPOPT_EOL);
    optlen++;
  }
  return order;
}

/** Unpadded length of the options laid out in `order`. */
function orderLen(order: readonly number[], o: TcpOptions): number {
  let n = 0;
  let u = 0;
  for (let i = 0; i < order.length; i++) {
    const k = order[i]!;
    n += optionLen(k, o, u);
    if (isUnknownKind(k)) u++;
  }
  return n;
}

/** Bytes the options take on the wire, padded to a 4-byte boundary. */
export function tcpOptionsLen(o: TcpOptions): number {
  return (orderLen(o.order ?? freebsdOptionOrder(o), o) + 3) & ~3;
}

function isUnknownKind(k: number): boolean {
  return (
    k !== TCPOPT_EOL &&
    k !== TCPOPT_NOP &&
    k !== TCPOPT_MAXSEG &&
    k !== TCPOPT_WINDOW &&
    k !== TCPOPT_SACK_PERMITTED &&
    k !== TCPOPT_SACK &&
    k !== TCPOPT_TIMESTAMP &&
    k !== TCPOPT_SIGNATURE
  );
}

/**
 * Write the options at `off` (in `o.order`, or FreeBSD's layout), zero-padded to
 * a 4-byte boundary. Returns the bytes written.
 */
export function emitTcpOptions(o: TcpOptions, buf: Uint8Array, off: number): number {
  const order = o.order ?? freebsdOptionOrder(o);
  if (order.length === 0) return 0;
  const len = (orderLen(order, o) + 3) & ~3;
  if (len > TCP_MAXOLEN) throw new WireEmitError(`tcp: options take ${len} bytes, more than ${TCP_MAXOLEN}`);
  if (off + len > buf.length) throw new WireEmitError('tcp: buffer too small for options');
  if (o.sack && o.sack.length > TCP_MAX_SACK) throw new WireEmitError('tcp: more than 4 SACK blocks');
  let p = off;
  let u = 0;
  for (let i = 0; i < order.length; i++) {
    const k = order[i]!;
    const unk = isUnknownKind(k) ? o.unknown?.[u++] : undefined;
    p = writeOption(k, o, unk, buf, p);
  }
  while (p < off + len) buf[p++] = 0;
  return len;
}

export function tcpBufferLen(repr: TcpRepr): number {
  return TCP_HDR_LEN + tcpOptionsLen(repr.options);
}

/** Parse options strictly: any impossible length is a BAD_OPTION naming the option. */
export function parseTcpOptions(buf: Uint8Array, off: number, end: number): ParseResult<TcpOptions> {
  const r = readOptions(buf, off, end);
  return isError(r) ? r : parsed(r);
}

function isError(r: TcpOptions | ParseError): r is ParseError {
  return (r as ParseError).ok === false;
}

function readOptions(buf: Uint8Array, off: number, end: number): TcpOptions | ParseError {
  const o: TcpOptions = {};
  if (off >= end) return o;
  const order: number[] = [];
  let i = off;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === TCPOPT_EOL) {
      // RFC 9293 §3.2: the rest of the header is padding (zeros).
      for (; i < end; i++) order.push(TCPOPT_EOL);
      break;
    }
    if (kind === TCPOPT_NOP) {
      order.push(kind);
      i++;
      continue;
    }
    if (end - i < 2) return parseError('BAD_OPTION', 'tcp.option.length');
    const olen = buf[i + 1]!;
    if (olen < 2 || olen > end - i) return parseError('BAD_OPTION', 'tcp.option.length');
    switch (kind) {
      case TCPOPT_MAXSEG:
        if (olen !== TCPOLEN_MAXSEG) return parseError('BAD_OPTION', 'tcp.option.mss');
        o.mss = get16(buf, i + 2);
        break;
      case TCPOPT_WINDOW:
        if (olen !== TCPOLEN_WINDOW) return parseError('BAD_OPTION', 'tcp.option.wscale');
        o.wscale = buf[i + 2]!;
        break;
      case TCPOPT_SACK_PERMITTED:
        if (olen !== TCPOLEN_SACK_PERMITTED) return parseError('BAD_OPTION', 'tcp.option.sack_permitted');
        o.sackPermitted = true;
        break;
      case TCPOPT_SACK: {
        if (olen < TCPOLEN_SACKHDR + TCPOLEN_SACK || (olen - TCPOLEN_SACKHDR) % TCPOLEN_SACK !== 0) {
          return parseError('BAD_OPTION', 'tcp.option.sack');
        }
        const blocks: [number, number][] = [];
        for (let q = i + 2; q < i + olen; q += 8) blocks.push([get32(buf, q), get32(buf, q + 4)]);
        o.sack = blocks;
        break;
      }
      case TCPOPT_TIMESTAMP:
        if (olen !== TCPOLEN_TIMESTAMP) return parseError('BAD_OPTION', 'tcp.option.timestamp');
        o.timestamp = { val: get32(buf, i + 2), ecr: get32(buf, i + 6) };
        break;
      case TCPOPT_SIGNATURE:
        if (olen !== TCPOLEN_SIGNATURE) return parseError('BAD_OPTION', 'tcp.option.md5');
        o.md5 = copyBytes(buf, i + 2, TCP_SIGLEN);
        break;
      default:
        (o.unknown ??= []).push({ kind, data: copyBytes(buf, i + 2, olen - 2) });
    }
    order.push(kind);
    i += olen;
  }
  if (order.length > 0) o.order = order;
  return o;
}

export function parseTcp(buf: Uint8Array, off = 0, len = buf.length - off): ParseResult<TcpRepr> {
  if (off < 0 || len < TCP_HDR_LEN || off + len > buf.length) return parseError('TRUNCATED', 'tcp.header');
  const hlen = (buf[off + TH_OFF]! >>> 4) << 2;
  if (hlen < TCP_HDR_LEN) return parseError('BAD_HEADER_LEN', 'tcp.data_offset');
  if (hlen > len) return parseError('TRUNCATED', 'tcp.options');
  const opts = readOptions(buf, off + TCP_HDR_LEN, off + hlen);
  if (isError(opts)) return opts;
  return parsed({
    srcPort: get16(buf, off + TH_SPORT),
    dstPort: get16(buf, off + TH_DPORT),
    seq: get32(buf, off + TH_SEQ),
    ack: get32(buf, off + TH_ACK),
    flags: ((buf[off + TH_OFF]! & 0x0f) << 8) | buf[off + TH_FLAGS]!,
    window: get16(buf, off + TH_WIN),
    urgentPtr: get16(buf, off + TH_URP),
    options: opts,
  });
}

/**
 * Write the header at `off`. With `pseudoSum` (pseudoHeaderSum4/6 over the
 * segment length), the checksum is computed over the header and the
 * `payloadLen` payload bytes that already follow it; otherwise it is left 0.
 * Returns the header length.
 */
export function emitTcp(repr: TcpRepr, buf: Uint8Array, off = 0, pseudoSum?: number, payloadLen = 0): number {
  if (off + TCP_HDR_LEN > buf.length) throw new WireEmitError('tcp: buffer too small');
  const olen = emitTcpOptions(repr.options, buf, off + TCP_HDR_LEN);
  const hlen = TCP_HDR_LEN + olen;
  set16(buf, off + TH_SPORT, repr.srcPort);
  set16(buf, off + TH_DPORT, repr.dstPort);
  set32(buf, off + TH_SEQ, repr.seq);
  set32(buf, off + TH_ACK, repr.ack);
  buf[off + TH_OFF] = ((hlen >>> 2) << 4) | ((repr.flags >>> 8) & 0x0f);
  buf[off + TH_FLAGS] = repr.flags;
  set16(buf, off + TH_WIN, repr.window);
  set16(buf, off + TH_SUM, 0);
  set16(buf, off + TH_URP, repr.urgentPtr);
  if (pseudoSum !== undefined) {
    if (off + hlen + payloadLen > buf.length) throw new WireEmitError('tcp: payload past the buffer');
    set16(buf, off + TH_SUM, finish(sumBytes(buf, off, hlen + payloadLen, pseudoSum)));
  }
  return hlen;
}

/** The checksum a TCP segment over IPv4 should carry (the stored field is ignored). */
export function tcpChecksum4(buf: Uint8Array, ipOff: number, tcpOff: number, tcpLen: number): number {
  return l4Checksum4(buf, ipOff, tcpOff, tcpLen, IPPROTO_TCP, TH_SUM);
}
export function tcpChecksum6(buf: Uint8Array, ipOff: number, tcpOff: number, tcpLen: number): number {
  return l4Checksum6(buf, ipOff, tcpOff, tcpLen, IPPROTO_TCP, TH_SUM);
}
export function verifyTcpChecksum4(buf: Uint8Array, ipOff: number, tcpOff: number, tcpLen: number): boolean {
  return verifyL4Checksum4(buf, ipOff, tcpOff, tcpLen, IPPROTO_TCP);
}
export function verifyTcpChecksum6(buf: Uint8Array, ipOff: number, tcpOff: number, tcpLen: number): boolean {
  return verifyL4Checksum6(buf, ipOff, tcpOff, tcpLen, IPPROTO_TCP);
}
/** Compute and store the checksum of a finished segment. */
export function fillTcpChecksum4(buf: Uint8Array, ipOff: number, tcpOff: number, tcpLen: number): void {
  set16(buf, tcpOff + TH_SUM, tcpChecksum4(buf, ipOff, tcpOff, tcpLen));
}
export function fillTcpChecksum6(buf: Uint8Array, ipOff: number, tcpOff: number, tcpLen: number): void {
  set16(buf, tcpOff + TH_SUM, tcpChecksum6(buf, ipOff, tcpOff, tcpLen));
}
