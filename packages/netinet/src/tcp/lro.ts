/**
 * Large receive offload in software (FreeBSD sys/netinet/tcp_lro.c): a receive queue
 * merges the in-order TCP segments of one connection from one batch into one long
 * segment before tcp_input, so the stack runs once per batch and flow instead of once
 * per segment. A segment is merged only when tcp_lro would merge it:
 * - IPv4 without options or fragmentation, or IPv6 with TCP as the next header;
 * - TCP flags ACK, optionally PSH, nothing else; options none or the timestamp alone
 *   (NOP NOP TS), its value equal or advancing; data, in order (th_seq == next_seq);
 *   the ACK equal or advancing; the same TOS/traffic class;
 * - checksums the card verified (CSUM_DATA_VALID|CSUM_PSEUDO_HDR, CSUM_IP_CHECKED|
 *   CSUM_IP_VALID), or verified here (lro_bad_csum counts TCP sums that fail; a failing
 *   segment goes up alone for ip_input or tcp_input to count and drop).
 * - no more payload than the first piece, and nothing after a shorter one (as Linux's
 *   GRO: every piece but the last has the first's size, so tcp_input knows where the
 *   sender's segments end and can acknowledge them as it would unmerged).
 * Any other segment of a queued flow flushes that flow first, so order is kept. The
 * merged segment carries the last ACK, window and timestamp, PSH if any piece had it,
 * is marked verified, and says how many segments it holds and their size (lro_nsegs). `flush()` at the end of every batch; nothing is held past it.
 * Allocation-free: the entries and their buffers are made once.
 */
import { get32, set16, fold, sumBytes, finish, internetChecksum } from '@mcstack/wire';
import { verifyL4Checksum4, verifyL4Checksum6, seqGeq } from '@mcstack/wire';
import { ETHER_HDR_LEN, ETHER_TYPE, ETHERTYPE_IP, ETHERTYPE_IPV6, IP_LEN, IP_OFF, IP_SUM, IP_P } from '@mcstack/wire';
import { IP_MF, IP_OFFMASK, IPPROTO_TCP } from '@mcstack/wire';
import {
  CSUM_DATA_VALID,
  CSUM_PSEUDO_HDR,
  CSUM_IP_CHECKED,
  CSUM_IP_VALID,
  type FrameMeta,
  newFrameMeta,
  resetFrameMeta,
} from '../net/mbuf.js';

const TH_PUSH = 0x08;
const TH_ACK = 0x10;
/** TCP_LRO_ENTRIES: flows a queue merges at once. */
export const TCP_LRO_ENTRIES = 8;
/** lro_length_lim: the longest merged IP datagram. */
const LRO_LENGTH_LIM = 65535;
const VERIFIED = CSUM_DATA_VALID | CSUM_PSEUDO_HDR;

/** The counters of struct lro_ctrl that drivers export (cxgbe's rxq lro_queued, lro_flushed). */
export interface LroStats {
  /** Segments taken into an entry (merged or started one). */
  lro_queued: number;
  /** Entries handed to the stack. */
  lro_flushed: number;
  /** Segments whose checksum failed in software. */
  lro_bad_csum: number;
}

/** One queued flow (struct lro_entry). */
class LroEntry {
  /** The merged frame, once a second segment joined the first (else the first in place). */
  buf: Uint8Array | null = null;
  /** The first segment, held by reference until a second one joins it. */
  first: Uint8Array | null = null;
  len = 0;
  /** Offsets of the IP and TCP headers in the frame. */
  l3 = 0;
  th = 0;
  v4 = true;
  /** Flow: a cheap key plus the header bytes compared in full. */
  key = 0;
  nextSeq = 0;
  ack = 0;
  tsval = 0;
  hasTs = false;
  tos = 0;
  nsegs = 0;
  /** The first piece's payload; a shorter piece ends the entry (closed). */
  segsz = 0;
  closed = false;
  inUse = false;
}

export class LroCtrl {
  readonly stats: LroStats = { lro_queued: 0, lro_flushed: 0, lro_bad_csum: 0 };
  private readonly entries: LroEntry[] = [];
  private readonly meta = newFrameMeta();
  /** Entries in use, in the order they were started (flushed in that order). */
  private active = 0;

  /** `input` hands a frame (flushed entry or passed-through segment) to the stack. */
  constructor(private readonly input: (frame: Uint8Array, meta: FrameMeta) => void) {
    for (let i = 0; i < TCP_LRO_ENTRIES; i++) this.entries.push(new LroEntry());
  }

  /**
   * tcp_lro_rx: queue the Ethernet frame or hand it on. The frame must stay valid until
   * flush() (a ring slot not yet released). Returns true when it was queued.
   */
  rx(frame: Uint8Array, meta: FrameMeta): boolean {
    const len = frame.length;
    if (len < ETHER_HDR_LEN + 40) return this.pass(frame, meta);
    const et = (frame[ETHER_TYPE]! << 8) | frame[ETHER_TYPE + 1]!;
    const l3 = ETHER_HDR_LEN;
    let th: number;
    let iplen: number;
    let tos: number;
    let v4: boolean;
    if (et === ETHERTYPE_IP) {
      if (frame[l3] !== 0x45 || frame[l3 + IP_P] !== IPPROTO_TCP) return this.pass(frame, meta);
      const off = (frame[l3 + IP_OFF]! << 8) | frame[l3 + IP_OFF + 1]!;
      if ((off & (IP_MF | IP_OFFMASK)) !== 0) return this.pass(frame, meta);
      // The header checksum, unless the card checked it (tcp_lro_rx_ipv4): what fails
      // goes up alone for ip_input to count.
      if ((meta.csumFlags & CSUM_IP_CHECKED) !== 0) {
        if ((meta.csumFlags & CSUM_IP_VALID) === 0) return this.pass(frame, meta);
      } else if (internetChecksum(frame, l3, 20) !== 0) {
        return this.pass(frame, meta);
      }
      iplen = (frame[l3 + IP_LEN]! << 8) | frame[l3 + IP_LEN + 1]!;
      th = l3 + 20;
      tos = frame[l3 + 1]!;
      v4 = true;
    } else if (et === ETHERTYPE_IPV6) {
      if (frame[l3]! >>> 4 !== 6 || frame[l3 + 6] !== IPPROTO_TCP) return this.pass(frame, meta);
      iplen = 40 + ((frame[l3 + 4]! << 8) | frame[l3 + 5]!);
      th = l3 + 40;
      tos = ((frame[l3]! & 0x0f) << 4) | (frame[l3 + 1]! >>> 4);
      v4 = false;
    } else {
      return this.pass(frame, meta);
    }
    if (l3 + iplen > len || iplen < th - l3 + 20) return this.pass(frame, meta);
    const thl = (frame[th + 12]! >>> 4) << 2;
    const hdr = th + thl;
    const plen = l3 + iplen - hdr;
    const flags = frame[th + 13]!;
    const key = flowKey(frame, l3, th, v4);
    const le = this.find(frame, key, l3, th, v4);
    // Only ACK (and PSH) with data, and no option but the timestamp.
    let hasTs = false;
    let tsval = 0;
    let ok = thl >= 20 && hdr <= l3 + iplen && plen > 0 && (flags & ~TH_PUSH) === TH_ACK;
    if (ok && thl !== 20) {
      ok = thl === 32 && frame[th + 20] === 1 && frame[th + 21] === 1 && frame[th + 22] === 8 && frame[th + 23] === 10;
      hasTs = ok;
      if (ok) tsval = get32(frame, th + 24);
    }
    if (ok && (meta.csumFlags & VERIFIED) !== VERIFIED) {
      const tlen = iplen - (th - l3);
      ok = v4
        ? verifyL4Checksum4(frame, l3, th, tlen, IPPROTO_TCP)
        : verifyL4Checksum6(frame, l3, th, tlen, IPPROTO_TCP);
      if (!ok) this.stats.lro_bad_csum++;
    }
    const seq = get32(frame, th + 4);
    const ack = get32(frame, th + 8);
    if (le !== null) {
      const fits =
        ok &&
        seq === le.nextSeq &&
        !le.closed &&
        plen <= le.segsz &&
        seqGeq(ack, le.ack) &&
        hasTs === le.hasTs &&
        (!hasTs || seqGeq(tsval, le.tsval)) &&
        tos === le.tos &&
        le.len - le.l3 + plen <= LRO_LENGTH_LIM;
      if (fits) {
        this.append(le, frame, hdr, plen, th, flags, ack, tsval);
        this.stats.lro_queued++;
        return true;
      }
      // Out of order, another kind of segment, or full: what is queued goes up first.
      this.flushEntry(le);
      if (!ok || seq !== le.nextSeq) return this.pass(frame, meta);
    }
    if (!ok) return this.pass(frame, meta);
    const e = this.free();
    if (e === null) return this.pass(frame, meta);
    e.inUse = true;
    e.first = frame;
    e.len = l3 + iplen;
    e.l3 = l3;
    e.th = th;
    e.v4 = v4;
    e.key = key;
    e.nextSeq = (seq + plen) >>> 0;
    e.ack = ack;
    e.tsval = tsval;
    e.hasTs = hasTs;
    e.tos = tos;
    e.nsegs = 1;
    e.segsz = plen;
    e.closed = false;
    this.active++;
    this.stats.lro_queued++;
    return true;
  }

  /** tcp_lro_flush_all: hand every queued flow to the stack (the end of a batch). */
  flush(): void {
    if (this.active === 0) return;
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.inUse) this.flushEntry(e);
    }
  }

  private pass(frame: Uint8Array, meta: FrameMeta): boolean {
    this.input(frame, meta);
    return false;
  }

  private find(frame: Uint8Array, key: number, l3: number, th: number, v4: boolean): LroEntry | null {
    if (this.active === 0) return null;
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (!e.inUse || e.key !== key || e.v4 !== v4) continue;
      const f = e.buf ?? e.first;
      if (f !== null && sameFlow(f, frame, l3, th, v4)) return e;
    }
    return null;
  }

  private free(): LroEntry | null {
    for (let i = 0; i < this.entries.length; i++) if (!this.entries[i]!.inUse) return this.entries[i]!;
    return null;
  }

  private append(
    e: LroEntry,
    frame: Uint8Array,
    hdr: number,
    plen: number,
    th: number,
    flags: number,
    ack: number,
    tsval: number,
  ): void {
    if (e.first !== null) {
      // A second segment: the merge needs the bytes in one place (made once, reused).
      e.buf ??= new Uint8Array(ETHER_HDR_LEN + LRO_LENGTH_LIM);
      e.buf.set(e.first.subarray(0, e.len));
      e.first = null;
    }
    const b = e.buf!;
    b.set(frame.subarray(hdr, hdr + plen), e.len);
    e.len += plen;
    // The last segment's ACK, window and timestamp; PSH if any had it (bytes copied one by
    // one: a view per field would be three allocations per merged segment).
    copyBytes(b, e.th + 8, frame, th + 8, 4);
    b[e.th + 13] = b[e.th + 13]! | (flags & TH_PUSH);
    copyBytes(b, e.th + 14, frame, th + 14, 2);
    if (e.hasTs) copyBytes(b, e.th + 24, frame, th + 24, 8);
    e.nextSeq = (e.nextSeq + plen) >>> 0;
    e.ack = ack;
    e.tsval = tsval;
    e.nsegs++;
    if (plen < e.segsz) e.closed = true;
  }

  /** tcp_lro_flush: fix the merged header's lengths and hand it up marked verified. */
  private flushEntry(e: LroEntry): void {
    const m = resetFrameMeta(this.meta);
    m.csumFlags = VERIFIED | CSUM_IP_CHECKED | CSUM_IP_VALID;
    m.csumData = 0xffff;
    m.lroNsegs = e.nsegs;
    m.lroSegsz = e.nsegs > 1 ? e.segsz : 0;
    let f: Uint8Array;
    if (e.first !== null) {
      f = e.first;
    } else {
      f = e.buf!.subarray(0, e.len);
      const l3 = e.l3;
      if (e.v4) {
        set16(f, l3 + IP_LEN, e.len - l3);
        set16(f, l3 + IP_SUM, 0);
        set16(f, l3 + IP_SUM, finish(sumBytes(f, l3, 20)));
      } else {
        set16(f, l3 + 4, e.len - l3 - 40);
      }
    }
    e.inUse = false;
    e.first = null;
    this.active--;
    this.stats.lro_flushed++;
    this.input(f, m);
  }
}

/** A 32-bit key over the ports and the low address words (compared in full on a hit). */
function flowKey(f: Uint8Array, l3: number, th: number, v4: boolean): number {
  const a = v4 ? l3 + 12 : l3 + 20;
  const b = v4 ? l3 + 16 : l3 + 36;
  return (get32(f, th) ^ get32(f, a) ^ fold(get32(f, b))) >>> 0;
}

function sameFlow(e: Uint8Array, f: Uint8Array, l3: number, th: number, v4: boolean): boolean {
  const from = v4 ? l3 + 12 : l3 + 8;
  const to = v4 ? l3 + 20 : l3 + 40;
  for (let i = from; i < to; i++) if (e[i] !== f[i]) return false;
  return get32(e, th) === get32(f, th);
}

/** dst[d, d+n) = src[s, s+n) for a few header bytes, without a view. */
function copyBytes(dst: Uint8Array, d: number, src: Uint8Array, s: number, n: number): void {
  for (let i = 0; i < n; i++) dst[d + i] = src[s + i]!;
}
