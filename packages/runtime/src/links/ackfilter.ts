/**
 * ACK filtering in a native queue's transmit path (RFC 3449's "ACK filtering", as Linux's
 * sch_cake ack-filter does it): a pure cumulative ACK the engine sends is held until the
 * next frame of the loop turn; when that is a pure ACK of the same connection that
 * acknowledges more, it replaces the held one, which would tell the sender nothing the
 * newer does not. Receiving from a native queue, each of the kernel's GRO frames (at
 * most 64 KiB) draws an ACK at once (DELAY_ACK is false past t_maxseg), so a batch of
 * them drew one write(2) each — the receiving worker's largest cost — where FreeBSD's
 * tcp_lro, merging the whole batch, would have drawn one.
 *
 * Only ACKs that carry nothing else are held or dropped: flags ACK alone, no payload, no
 * option but the timestamp (a SACK block or a changed option layout is loss information
 * and goes out as sent), the same addresses and ports, and an acknowledgment number that
 * moves forward (a duplicate ACK is never dropped: RFC 5681 §3.2 counts them). The
 * newest window and timestamp win, as the replaced ACK's would have been superseded on
 * arrival. Anything else flushes the held ACK first, so order on the wire is kept.
 */
import { type FrameMeta, newFrameMeta } from '@mcstack/netinet';
import { seqGt } from '@mcstack/wire';
import { locateL4, l4At } from './vtnet.js';

const IPPROTO_TCP = 6;
const TH_ACK = 0x10;
/** Ethernet, IPv6 and a TCP header with the timestamp option: the longest ACK held. */
const MAX_ACK = 14 + 40 + 32;

export class AckFilter {
  /** An ACK is held (flush() sends it). */
  held = false;
  /** The held ACK (its first `len` bytes) and its metadata. */
  readonly buf = new Uint8Array(MAX_ACK);
  len = 0;
  readonly meta: FrameMeta = newFrameMeta();
  private l4 = 0;
  private ack = 0;

  /** Hold `f` when it is a pure ACK (see the top of the file); false when it is not. */
  hold(f: Uint8Array, len: number, meta: FrameMeta): boolean {
    const l4 = pureAck(f, len);
    if (l4 < 0) return false;
    this.take(f, len, meta, l4);
    return true;
  }

  /** Replace the held ACK with `f` when `f` supersedes it; false (nothing changed) otherwise. */
  replace(f: Uint8Array, len: number, meta: FrameMeta): boolean {
    if (len !== this.len) return false;
    const l4 = pureAck(f, len);
    if (l4 !== this.l4) return false;
    const b = this.buf;
    // Every header byte up to the ports' end but what differs per datagram (the IPv4 ID
    // and header checksum); the lengths are equal with the frames', the option layout
    // with pureAck's.
    const v4 = l4 === 14 + 20;
    for (let i = 0; i < l4 + 4; i++) {
      if (f[i] === b[i]) continue;
      const o = i - 14;
      if (v4 && (o === 4 || o === 5 || o === 10 || o === 11)) continue;
      return false;
    }
    if (!seqGt(get32(f, l4 + 8), this.ack)) return false;
    this.take(f, len, meta, l4);
    return true;
  }

  private take(f: Uint8Array, len: number, meta: FrameMeta, l4: number): void {
    const b = this.buf;
    for (let i = 0; i < len; i++) b[i] = f[i]!;
    this.len = len;
    this.l4 = l4;
    this.ack = get32(f, l4 + 8);
    const m = this.meta;
    m.csumFlags = meta.csumFlags;
    m.csumData = meta.csumData;
    m.flowid = meta.flowid;
    m.hashType = meta.hashType;
    m.vlanTag = meta.vlanTag;
    m.flags = meta.flags;
    m.tsoSegsz = meta.tsoSegsz;
    m.l2hlen = meta.l2hlen;
    m.l3hlen = meta.l3hlen;
    this.held = true;
  }
}

/**
 * The TCP header offset of `f` when it is an ACK with nothing else (flags ACK, no
 * payload, no option or the timestamp alone as NOP NOP TS), else -1.
 */
function pureAck(f: Uint8Array, len: number): number {
  if (len > MAX_ACK || !locateL4(f, len) || l4At.proto !== IPPROTO_TCP) return -1;
  const l4 = l4At.l4;
  if (f[l4 + 13] !== TH_ACK) return -1;
  const thl = (f[l4 + 12]! >>> 4) << 2;
  if (l4At.l4len !== thl || l4 + thl !== len) return -1;
  if (thl === 20) return l4;
  if (thl === 32 && f[l4 + 20] === 1 && f[l4 + 21] === 1 && f[l4 + 22] === 8 && f[l4 + 23] === 10) return l4;
  return -1;
}

function get32(f: Uint8Array, o: number): number {
  return ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
}
