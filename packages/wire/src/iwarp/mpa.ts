/**
 * MPA, Marker PDU Aligned framing (RFC 5044): the MPA Request/Reply frames of
 * the startup phase (§7.1) and, in full operation, FPDUs (§4.1) with optional
 * markers (§4.3) and CRC-32C (§4.4).
 *
 * Stream positions (`pos`) count octets of one direction of the TCP stream from
 * the point where markers start (RFC 5044 §4.3: the first octet after the MPA
 * Request/Reply, where the first FPDU begins); they are taken modulo 2^32 like
 * sequence numbers, and only `pos mod 512` matters. A marker sits at every
 * position that is a multiple of 512.
 *
 * How markers and the CRC meet, as implemented here (RFC 5044 §4.3, §4.4):
 * - FPDUPTR is the distance back from the first octet of the marker to the
 *   start of the FPDU that contains it. A marker that falls right before an
 *   FPDU's ULPDU_Length belongs to that FPDU: the FPDU starts at the marker,
 *   and its FPDUPTR is 0.
 * - The CRC covers the FPDU as it appears in the stream: from its start
 *   (a leading marker included) through ULPDU_Length, ULPDU, pad and every
 *   marker up to the CRC field, markers between the pad and the CRC included.
 * - The CRC is sent in the byte order of iSCSI (RFC 3720 §12.1, the CRC bytes
 *   of appendix B.4): the CRC-32C value least significant octet first.
 */
import { type ParseResult, type ParseError, parseError, parsed, WireEmitError } from '../errors.js';
import { get16, set16, copyBytes, ByteView } from '../bytes.js';
import { crc32cInit, crc32cUpdate, crc32cFinal } from './crc32c.js';

/* ---- §7.1 MPA Request and Reply frames ---- */

export const MPA_KEY_LEN = 16;
/** "MPA ID Req Frame" (4D 50 41 20 49 44 20 52 65 71 20 46 72 61 6D 65). */
export const MPA_KEY_REQ: Uint8Array = Uint8Array.from('MPA ID Req Frame', (c) => c.charCodeAt(0));
/** "MPA ID Rep Frame" (... 52 65 70 ...). */
export const MPA_KEY_REP: Uint8Array = Uint8Array.from('MPA ID Rep Frame', (c) => c.charCodeAt(0));
export const MPA_RR_KEY = 0;
/** M, C, R and the 5 Res bits. */
export const MPA_RR_FLAGS = 16;
export const MPA_RR_REV = 17;
export const MPA_RR_PD_LEN = 18;
export const MPA_RR_HDR_LEN = 20;
/** M: the sender wants markers in the FPDUs it receives. */
export const MPA_FLAG_M = 0x80;
/** C: CRC requested (the connection uses CRCs if either side sets it). */
export const MPA_FLAG_C = 0x40;
/** R: the Responder rejects the connection (Reply only). */
export const MPA_FLAG_R = 0x20;
/** Res: zero on transmit, not checked on receipt. */
export const MPA_FLAG_RES = 0x1f;
/** Rev: 1 for RFC 5044. */
export const MPA_REVISION = 1;
/** PD_Length may not exceed 512 octets. */
export const MPA_MAX_PRIVATE_DATA = 512;

/* ---- §4.1 FPDU, §4.3 markers ---- */

/** ULPDU_Length field. */
export const MPA_HDR_LEN = 2;
export const MPA_CRC_LEN = 4;
export const MPA_MAX_ULPDU = 0xffff;
export const MPA_MARKER_INTERVAL = 512;
export const MPA_MARKER_LEN = 4;
/** Offset of FPDUPTR in a marker; the first 16 bits are reserved (zero). */
export const MPA_MARKER_FPDUPTR = 2;

/* ---- §8 error codes, reported in a Terminate with Layer LLP (RFC 5040 §4.8) ---- */

/** TCP connection closed, terminated or lost. */
export const MPA_ERR_TCP_LOST = 0x01;
/** MPA CRC error. */
export const MPA_ERR_CRC = 0x02;
/** MPA Marker and ULPDU_Length field mismatch. */
export const MPA_ERR_MARKER = 0x03;
/** Invalid MPA Request or Reply frame. */
export const MPA_ERR_REQ_REP = 0x04;

/** Zero-allocation view over a marker (§4.3): 16 reserved bits, then FPDUPTR. */
export class MpaMarkerView extends ByteView {
  get reserved(): number {
    return get16(this.buf, this.off);
  }
  set reserved(v: number) {
    set16(this.buf, this.off, v);
  }
  /** Octets back from the marker to the start of its FPDU; the two low bits are treated as zero on receipt. */
  get fpduPtr(): number {
    return get16(this.buf, this.off + MPA_MARKER_FPDUPTR);
  }
  set fpduPtr(v: number) {
    set16(this.buf, this.off + MPA_MARKER_FPDUPTR, v);
  }
}

function keyAt(buf: Uint8Array, off: number, key: Uint8Array): boolean {
  if (off < 0 || off + MPA_KEY_LEN > buf.length) return false;
  for (let i = 0; i < MPA_KEY_LEN; i++) if (buf[off + i] !== key[i]) return false;
  return true;
}

/** Zero-allocation view over an MPA Request/Reply frame. */
export class MpaRrView extends ByteView {
  get isRequest(): boolean {
    return keyAt(this.buf, this.off + MPA_RR_KEY, MPA_KEY_REQ);
  }
  get isReply(): boolean {
    return keyAt(this.buf, this.off + MPA_RR_KEY, MPA_KEY_REP);
  }
  setKey(key: Uint8Array): void {
    this.buf.set(key.subarray(0, MPA_KEY_LEN), this.off + MPA_RR_KEY);
  }
  get flags(): number {
    return this.buf[this.off + MPA_RR_FLAGS]!;
  }
  set flags(v: number) {
    this.buf[this.off + MPA_RR_FLAGS] = v;
  }
  get markers(): boolean {
    return (this.flags & MPA_FLAG_M) !== 0;
  }
  set markers(v: boolean) {
    this.flags = v ? this.flags | MPA_FLAG_M : this.flags & ~MPA_FLAG_M;
  }
  get crc(): boolean {
    return (this.flags & MPA_FLAG_C) !== 0;
  }
  set crc(v: boolean) {
    this.flags = v ? this.flags | MPA_FLAG_C : this.flags & ~MPA_FLAG_C;
  }
  get reject(): boolean {
    return (this.flags & MPA_FLAG_R) !== 0;
  }
  set reject(v: boolean) {
    this.flags = v ? this.flags | MPA_FLAG_R : this.flags & ~MPA_FLAG_R;
  }
  get revision(): number {
    return this.buf[this.off + MPA_RR_REV]!;
  }
  set revision(v: number) {
    this.buf[this.off + MPA_RR_REV] = v;
  }
  get pdLength(): number {
    return get16(this.buf, this.off + MPA_RR_PD_LEN);
  }
  set pdLength(v: number) {
    set16(this.buf, this.off + MPA_RR_PD_LEN, v);
  }
  get privateDataOffset(): number {
    return this.off + MPA_RR_HDR_LEN;
  }
}

export interface MpaRrRepr {
  kind: 'request' | 'reply';
  markers: boolean;
  crc: boolean;
  /** Reply only: a Request's R bit is sent as zero and not checked (§7.1). */
  reject: boolean;
  revision: number;
  /** At most 512 octets. */
  privateData: Uint8Array;
}

export function mpaRrBufferLen(repr: MpaRrRepr): number {
  return MPA_RR_HDR_LEN + repr.privateData.length;
}

/**
 * Parse a Request/Reply frame at `off`; `len` may run past it (FPDUs can follow
 * a Reply in the same segment): the frame takes `mpaRrBufferLen(value)` octets.
 * Res is ignored and Rev returned as sent (RFC 5044 §7.1).
 */
export function parseMpaRr(buf: Uint8Array, off = 0, len = buf.length - off): ParseResult<MpaRrRepr> {
  if (off < 0 || len < MPA_RR_HDR_LEN || off + len > buf.length) return parseError('TRUNCATED', 'mpa.rr.header');
  const kind = keyAt(buf, off, MPA_KEY_REQ) ? 'request' : keyAt(buf, off, MPA_KEY_REP) ? 'reply' : undefined;
  if (!kind) return parseError('BAD_FIELD', 'mpa.rr.key');
  const pdLen = get16(buf, off + MPA_RR_PD_LEN);
  if (pdLen > MPA_MAX_PRIVATE_DATA) return parseError('BAD_FIELD', 'mpa.rr.pd_length');
  if (MPA_RR_HDR_LEN + pdLen > len) return parseError('TRUNCATED', 'mpa.rr.private_data');
  const flags = buf[off + MPA_RR_FLAGS]!;
  return parsed({
    kind,
    markers: (flags & MPA_FLAG_M) !== 0,
    crc: (flags & MPA_FLAG_C) !== 0,
    reject: kind === 'reply' && (flags & MPA_FLAG_R) !== 0,
    revision: buf[off + MPA_RR_REV]!,
    privateData: copyBytes(buf, off + MPA_RR_HDR_LEN, pdLen),
  });
}

export function emitMpaRr(repr: MpaRrRepr, buf: Uint8Array, off = 0): number {
  const pd = repr.privateData;
  if (pd.length > MPA_MAX_PRIVATE_DATA) throw new WireEmitError('mpa: more than 512 octets of private data');
  const n = MPA_RR_HDR_LEN + pd.length;
  if (off < 0 || off + n > buf.length) throw new WireEmitError('mpa: buffer too small for the request/reply');
  buf.set(repr.kind === 'request' ? MPA_KEY_REQ : MPA_KEY_REP, off + MPA_RR_KEY);
  buf[off + MPA_RR_FLAGS] =
    (repr.markers ? MPA_FLAG_M : 0) |
    (repr.crc ? MPA_FLAG_C : 0) |
    (repr.kind === 'reply' && repr.reject ? MPA_FLAG_R : 0);
  buf[off + MPA_RR_REV] = repr.revision;
  set16(buf, off + MPA_RR_PD_LEN, pd.length);
  buf.set(pd, off + MPA_RR_HDR_LEN);
  return n;
}

/* ---- FPDU emission ---- */

/** What the startup phase negotiated for one direction. */
export interface MpaFraming {
  /** Markers in this direction (the receiver asked for them with M). */
  markers: boolean;
  /** CRCs (either side set C). Without them the CRC field is sent as zero and not checked (§4.1). */
  crc: boolean;
}

/** PAD: 0-3 octets that make ULPDU_Length + ULPDU + PAD a multiple of 4 (§4.1). */
export function mpaPadLen(ulpduLen: number): number {
  return -(ulpduLen + MPA_HDR_LEN) & 3;
}

/** Octets of an FPDU without markers: ULPDU_Length, ULPDU, PAD, CRC. */
export function mpaFpduLen(ulpduLen: number): number {
  return MPA_HDR_LEN + ulpduLen + mpaPadLen(ulpduLen) + MPA_CRC_LEN;
}

/**
 * Markers that land inside `n` FPDU octets written from stream position `pos`:
 * one before each octet whose position is a multiple of 512 (a marker right
 * after the last octet belongs to the next FPDU).
 */
export function mpaMarkerCount(pos: number, n: number): number {
  const first = (MPA_MARKER_INTERVAL - (pos & (MPA_MARKER_INTERVAL - 1))) & (MPA_MARKER_INTERVAL - 1);
  if (n <= first) return 0;
  return Math.floor((n - 1 - first) / (MPA_MARKER_INTERVAL - MPA_MARKER_LEN)) + 1;
}

/** Octets an FPDU of `ulpduLen` takes in the stream from `pos`, markers included. */
export function mpaWireLen(ulpduLen: number, pos: number, f: MpaFraming): number {
  const n = mpaFpduLen(ulpduLen);
  return f.markers ? n + MPA_MARKER_LEN * mpaMarkerCount(pos, n) : n;
}

/** Writes FPDU octets, inserting a marker before any octet at a multiple of 512. */
class MarkerCursor {
  buf: Uint8Array = new Uint8Array(0);
  p = 0;
  s = 0;
  start = 0;
  markers = false;

  init(buf: Uint8Array, off: number, pos: number, markers: boolean): void {
    this.buf = buf;
    this.p = off;
    this.s = pos;
    this.start = pos;
    this.markers = markers;
  }

  /** A marker here if the stream is at a multiple of 512. */
  marker(): void {
    if (!this.markers || (this.s & (MPA_MARKER_INTERVAL - 1)) !== 0) return;
    const ptr = this.s - this.start;
    if (ptr > 0xffff) throw new WireEmitError('mpa: FPDU too long for a 16-bit FPDUPTR');
    const b = this.buf;
    b[this.p] = 0;
    b[this.p + 1] = 0;
    set16(b, this.p + MPA_MARKER_FPDUPTR, ptr);
    this.p += MPA_MARKER_LEN;
    this.s += MPA_MARKER_LEN;
  }

  put(src: Uint8Array, so: number, n: number): void {
    while (n > 0) {
      this.marker();
      const k = this.markers ? Math.min(n, MPA_MARKER_INTERVAL - (this.s & (MPA_MARKER_INTERVAL - 1))) : n;
      this.buf.set(k === src.length ? src : src.subarray(so, so + k), this.p);
      this.p += k;
      this.s += k;
      so += k;
      n -= k;
    }
  }
}

const cursor = new MarkerCursor();
const EMPTY = new Uint8Array(0);
const scratch = new Uint8Array(4);

/**
 * Frame one ULPDU as an FPDU at stream position `pos` into buf at `off`: header,
 * ULPDU, zero pad, markers (FPDUPTR back to the FPDU start, reserved half zero)
 * and the CRC over all of it. Returns the octets written, `mpaWireLen(...)`;
 * the next FPDU starts at `pos` plus that.
 */
export function emitMpaFpdu(ulpdu: Uint8Array, f: MpaFraming, pos: number, buf: Uint8Array, off = 0): number {
  const len = ulpdu.length;
  if (len > MPA_MAX_ULPDU) throw new WireEmitError('mpa: ULPDU longer than 65535 octets');
  // FPDUs are multiples of 4 from a marker at position 0, so markers never split
  // a field and FPDUPTR's low bits are zero (§4.3).
  if (f.markers && (pos & 3) !== 0)
    throw new WireEmitError('mpa: markers need a stream position that is a multiple of 4');
  const total = mpaWireLen(len, pos, f);
  if (off < 0 || off + total > buf.length) throw new WireEmitError('mpa: buffer too small for the FPDU');
  const c = cursor;
  c.init(buf, off, pos, f.markers);
  set16(scratch, 0, len);
  c.put(scratch, 0, MPA_HDR_LEN);
  c.put(ulpdu, 0, len);
  scratch.fill(0);
  c.put(scratch, 0, mpaPadLen(len));
  c.marker(); // a marker between the pad and the CRC is covered by it
  const crc = f.crc ? crc32cFinal(crc32cUpdate(crc32cInit(), buf, off, c.p - off)) : 0;
  scratch[0] = crc;
  scratch[1] = crc >>> 8;
  scratch[2] = crc >>> 16;
  scratch[3] = crc >>> 24;
  c.put(scratch, 0, MPA_CRC_LEN);
  c.buf = EMPTY; // hold no reference to the caller's buffer
  return total;
}

/** Frame several ULPDUs back to back from `pos` into a new buffer. */
export function mpaFrame(ulpdus: readonly Uint8Array[], f: MpaFraming, pos = 0): Uint8Array {
  let n = 0;
  let p = pos;
  for (const u of ulpdus) {
    const k = mpaWireLen(u.length, p, f);
    n += k;
    p += k;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const u of ulpdus) {
    const k = emitMpaFpdu(u, f, pos, out, o);
    o += k;
    pos += k;
  }
  return out;
}

/* ---- FPDU reception ---- */

export interface MpaDeframerOptions extends MpaFraming {
  /** Stream position of the first octet pushed (default 0: where markers start). */
  pos?: number;
  /** Largest ULPDU_Length accepted (the receiver's MULPDU, §5); default 65535. */
  maxUlpduLen?: number;
}

const ST_HDR = 0;
const ST_BODY = 1;
const ST_CRC = 2;

/**
 * Streaming FPDU receiver: push TCP payload cut anywhere (inside a marker, the
 * ULPDU_Length or the CRC) and take out complete ULPDUs, markers removed.
 * The ULPDUs handed out are views of the de-framer's own buffers, valid until
 * the next push(): a frame costs no allocation once the buffers have grown to
 * the largest ULPDU and the most ULPDUs one push has completed.
 * Errors are returned, never thrown, and are sticky: the stream has lost its
 * framing, and RFC 5044 §8 has the connection terminated and closed.
 * - BAD_CHECKSUM `mpa.crc`: the CRC does not match (MPA_ERR_CRC);
 * - BAD_FIELD `mpa.marker.fpduptr`: a marker does not point at the FPDU that
 *   contains it (MPA_ERR_MARKER);
 * - BAD_TOTAL_LEN `mpa.ulpdu_length`: ULPDU_Length above `maxUlpduLen`.
 * Marker reserved bits and pad octets are not checked (§4.1, §4.3), but both
 * count in the CRC.
 */
export class MpaDeframer {
  readonly markers: boolean;
  readonly crc: boolean;
  readonly maxUlpduLen: number;
  /** Stream position of the next octet. */
  pos: number;
  private open = false;
  private fpduStart = 0;
  private state = ST_HDR;
  private need = MPA_HDR_LEN;
  private ulpduLen = 0;
  private ulpdu: Uint8Array = EMPTY;
  private got = 0;
  private crcState = 0;
  private crcIn = 0;
  private readonly mk = new Uint8Array(MPA_MARKER_LEN);
  private mkGot = 0;
  private mkPos = 0;
  private err: ParseError | null = null;
  /** Buffers for the ULPDUs of one push (slot k holds the k-th), and each one's last view. */
  private readonly bufs: Uint8Array[] = [];
  private readonly views: Uint8Array[] = [];
  /** The slot the FPDU being received fills, and the next free one in this push. */
  private inSlot = 0;
  private nextSlot = 0;

  constructor(o: MpaDeframerOptions) {
    this.markers = o.markers;
    this.crc = o.crc;
    this.maxUlpduLen = o.maxUlpduLen ?? MPA_MAX_ULPDU;
    this.pos = o.pos ?? 0;
  }

  /** The error that stopped the stream, if any. */
  get error(): ParseError | null {
    return this.err;
  }
  /** True between the first and the last octet of an FPDU. */
  get inFpdu(): boolean {
    return this.open;
  }

  private fail(e: ParseError): ParseError {
    this.err = e;
    return e;
  }

  private begin(): void {
    this.open = true;
    this.fpduStart = this.pos;
    this.crcState = crc32cInit();
  }

  /**
   * Consume chunk[off, off+len): each ULPDU completed (CRC checked) is appended
   * to `out`. Returns null, or the error that stopped the stream; ULPDUs before
   * the error are in `out`.
   */
  push(chunk: Uint8Array, out: Uint8Array[], off = 0, len = chunk.length - off): ParseError | null {
    if (this.err) return this.err;
    // What the last push handed out may be reused now; an FPDU still open keeps its buffer, moved to slot 0.
    this.nextSlot = 0;
    if (this.state !== ST_HDR) {
      if (this.inSlot !== 0) this.swapSlots(0, this.inSlot);
      this.inSlot = 0;
      this.nextSlot = 1;
    }
    let i = off;
    const end = off + len;
    while (i < end) {
      if (this.markers && (this.mkGot > 0 || (this.pos & (MPA_MARKER_INTERVAL - 1)) === 0)) {
        // A marker before the ULPDU_Length belongs to the FPDU that follows it.
        if (!this.open) this.begin();
        if (this.mkGot === 0) this.mkPos = this.pos;
        const k = Math.min(MPA_MARKER_LEN - this.mkGot, end - i);
        for (let j = 0; j < k; j++) this.mk[this.mkGot + j] = chunk[i + j]!;
        if (this.crc) this.crcState = crc32cUpdate(this.crcState, chunk, i, k);
        i += k;
        this.pos += k;
        this.mkGot += k;
        if (this.mkGot === MPA_MARKER_LEN) {
          this.mkGot = 0;
          // §4.3: the two low bits of FPDUPTR are treated as zero.
          if ((get16(this.mk, MPA_MARKER_FPDUPTR) & 0xfffc) !== this.mkPos - this.fpduStart) {
            return this.fail(parseError('BAD_FIELD', 'mpa.marker.fpduptr'));
          }
        }
        continue;
      }
      if (!this.open) this.begin();
      let k = Math.min(end - i, this.need);
      if (this.markers) k = Math.min(k, MPA_MARKER_INTERVAL - (this.pos & (MPA_MARKER_INTERVAL - 1)));
      if (this.state === ST_CRC) {
        for (let j = 0; j < k; j++) this.crcIn |= chunk[i + j]! << (8 * (MPA_CRC_LEN - this.need + j));
      } else {
        if (this.crc) this.crcState = crc32cUpdate(this.crcState, chunk, i, k);
        if (this.state === ST_HDR) {
          for (let j = 0; j < k; j++) this.ulpduLen = (this.ulpduLen << 8) | chunk[i + j]!;
        } else {
          const c = Math.min(k, this.ulpduLen - this.got); // the rest is pad
          if (c > 0) {
            this.ulpdu.set(chunk.subarray(i, i + c), this.got);
            this.got += c;
          }
        }
      }
      i += k;
      this.pos += k;
      this.need -= k;
      if (this.need > 0) continue;
      if (this.state === ST_HDR) {
        if (this.ulpduLen > this.maxUlpduLen) return this.fail(parseError('BAD_TOTAL_LEN', 'mpa.ulpdu_length'));
        this.ulpdu = this.slotView(this.nextSlot, this.ulpduLen);
        this.inSlot = this.nextSlot++;
        this.got = 0;
        this.state = ST_BODY;
        this.need = this.ulpduLen + mpaPadLen(this.ulpduLen);
      } else if (this.state === ST_BODY) {
        this.state = ST_CRC;
        this.need = MPA_CRC_LEN;
        this.crcIn = 0;
      } else {
        if (this.crc && this.crcIn >>> 0 !== crc32cFinal(this.crcState))
          return this.fail(parseError('BAD_CHECKSUM', 'mpa.crc'));
        out.push(this.ulpdu);
        this.ulpdu = EMPTY;
        this.open = false;
        this.state = ST_HDR;
        this.need = MPA_HDR_LEN;
        this.ulpduLen = 0;
      }
    }
    return null;
  }

  /** Slot k's buffer as a view of n octets: the same view while n repeats (full-size FPDUs), grown when short. */
  private slotView(k: number, n: number): Uint8Array {
    let b = this.bufs[k];
    if (b === undefined || b.length < n) {
      b = new Uint8Array(Math.max(n, b ? b.length * 2 : 0, 2048));
      this.bufs[k] = b;
      this.views[k] = EMPTY;
    }
    let v = this.views[k]!;
    if (v.length !== n || v.buffer !== b.buffer) {
      v = b.subarray(0, n);
      this.views[k] = v;
    }
    return v;
  }

  private swapSlots(a: number, b: number): void {
    const bufs = this.bufs;
    const views = this.views;
    const tb = bufs[a]!;
    bufs[a] = bufs[b]!;
    bufs[b] = tb;
    const tv = views[a]!;
    views[a] = views[b]!;
    views[b] = tv;
  }
}
