/**
 * struct sockbuf (sys/sockbuf.h) as a byte ring: a stream socket's send buffer
 * holds the bytes from snd_una on (acknowledged bytes are dropped from the head),
 * its receive buffer the in-order bytes not yet read. The ring is taken from the
 * engine's SockbufZone on first use and grows (never per packet) when sb_hiwat is
 * raised; appending, copying out and dropping allocate nothing, and a released ring
 * goes back to the zone for the next connection.
 */
import type { SockbufZone } from './sockbuf_zone.js';
export const SBS_CANTSENDMORE = 0x0010;
export const SBS_CANTRCVMORE = 0x0020;
export const SBS_RCVATMARK = 0x0040;
/** sb_flags: the protocol may resize the buffer (TCP autotuning); cleared by SO_SNDBUF/SO_RCVBUF. */
export const SB_AUTOSIZE = 0x0800;

export class Sockbuf {
  /** High-water mark: the most bytes the buffer may hold (SO_SNDBUF / SO_RCVBUF). */
  sb_hiwat = 0;
  /** Low-water mark for readiness (SO_SNDLOWAT / SO_RCVLOWAT). */
  sb_lowat = 1;
  sb_state = 0;
  sb_flags = 0;
  /** Bytes held (sb_ccc). */
  sb_cc = 0;
  private ring: Uint8Array = EMPTY;
  private head = 0;

  /**
   * The zone is not kept here (8 bytes a buffer, two a socket): the socket's layer owns it
   * and hands it to the calls that take or give a ring (append, release).
   */
  constructor(hiwat: number, lowat = 1) {
    this.sb_hiwat = hiwat;
    this.sb_lowat = lowat;
  }

  /** sbspace(): bytes that may still be appended (never negative). */
  space(): number {
    const s = this.sb_hiwat - this.sb_cc;
    return Math.max(s, 0);
  }

  /** sbreserve(): set the high-water mark; the ring grows lazily. */
  reserve(hiwat: number): void {
    this.sb_hiwat = hiwat;
  }

  /** sbreserve_locked: reserve `hiwat` unless it exceeds `sbMaxAdj` (sb_max_adj); false then, unchanged. */
  reserveMax(hiwat: number, sbMaxAdj: number): boolean {
    if (hiwat > sbMaxAdj) return false;
    this.sb_hiwat = hiwat;
    return true;
  }

  private grow(need: number, zone: SockbufZone): void {
    const n = zone.take(need);
    this.copyOut(0, n, 0, this.sb_cc);
    if (this.ring !== EMPTY) zone.give(this.ring);
    this.ring = n;
    this.head = 0;
  }

  /**
   * sbappend: copy up to `len` bytes in (bounded by force ? none : space()), the ring grown
   * from `zone` when it must; returns bytes taken.
   */
  append(src: Uint8Array, off: number, len: number, zone: SockbufZone, force = false): number {
    if (!force && len > this.space()) len = this.space();
    if (len <= 0) return 0;
    if (this.sb_cc + len > this.ring.length) this.grow(this.sb_cc + len, zone);
    const cap = this.ring.length;
    let tail = this.head + this.sb_cc;
    if (tail >= cap) tail -= cap;
    const first = Math.min(len, cap - tail);
    copy(src, off, this.ring, tail, first);
    if (first < len) copy(src, off + first, this.ring, 0, len - first);
    this.sb_cc += len;
    return len;
  }

  /** m_copydata: copy `len` bytes starting `from` bytes past the head into dst. */
  copyOut(from: number, dst: Uint8Array, dstOff: number, len: number): void {
    if (len <= 0) return;
    const cap = this.ring.length;
    let p = this.head + from;
    if (p >= cap) p -= cap;
    const first = Math.min(len, cap - p);
    copy(this.ring, p, dst, dstOff, first);
    if (first < len) copy(this.ring, 0, dst, dstOff + first, len - first);
  }

  /** sbdrop: discard `len` bytes from the head. */
  drop(len: number): void {
    if (len >= this.sb_cc) {
      this.sb_cc = 0;
      this.head = 0;
      return;
    }
    this.head += len;
    if (this.head >= this.ring.length) this.head -= this.ring.length;
    this.sb_cc -= len;
  }

  /** sbflush / sbrelease: empty the buffer and give its ring back to `zone`. */
  release(zone: SockbufZone): void {
    this.sb_cc = 0;
    this.head = 0;
    if (this.ring !== EMPTY) zone.give(this.ring);
    this.ring = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);

/** Below this, a byte loop beats TypedArray#set, which needs a subarray view (an allocation). */
const SMALL_COPY = 64;

/** dst[dstOff..] = src[off, off+len). */
function copy(src: Uint8Array, off: number, dst: Uint8Array, dstOff: number, len: number): void {
  if (len < SMALL_COPY) {
    for (let i = 0; i < len; i++) dst[dstOff + i] = src[off + i]!;
  } else {
    dst.set(off === 0 && len === src.length ? src : src.subarray(off, off + len), dstOff);
  }
}
