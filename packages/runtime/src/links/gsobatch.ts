/**
 * Consecutive TCP segments of one connection, sent in one loop turn, joined into one GSO
 * frame for a native queue (queueport.ts): the segmentation offload a TSO card gives the
 * stack, done in the driver for segments the engine cut itself. The kernel takes the frame
 * as one skb (the GRO it would have done on a real NIC) or segments it back into exactly
 * these segments (tcp_gso_segment) on its way out.
 *
 * A segment may start a batch when the interface has TSO enabled for its family, its L4
 * checksum was left to the card (CSUM_TCP, CSUM_TCP_IPV6) and it is a bare ACK with data.
 * The next joins when its headers equal the first's — addresses, ports, options, window,
 * flags (ACK, or ACK|PSH, which ends the batch) — except the fields segmentation rewrites
 * (IPv4 total length, ID and header checksum; IPv6 payload length; TCP sequence number and
 * checksum), its sequence number follows on, and its payload is no larger than the first's
 * (a shorter one ends the batch): the conditions under which GSO gives back the same
 * segments. Otherwise the batch is written and the segment goes alone.
 */
import {
  type FrameMeta,
  newFrameMeta,
  copyFrameMeta,
  CSUM_IP,
  CSUM_TCP,
  CSUM_TCP_IPV6,
  CSUM_IP_TSO,
  CSUM_IP6_TSO,
  CSUM_TSO,
  IFCAP_TSO4,
  IFCAP_TSO6,
} from '@mcstack/netinet';
import { locateL4, l4At } from './vtnet.js';

const IPPROTO_TCP = 6;
const TH_ACK = 0x10;
const TH_PSH = 0x08;
/** An IPv4 or IPv6 length field holds at most this. */
const IP_MAXPACKET = 65535;

export class GsoBatch {
  /** Segments held (0: none). */
  segs = 0;
  /** The batch may take no more (its last segment had PSH or was short). */
  closed = false;
  /** The metadata to write the batch with (finish() sets TSO and the segment size). */
  readonly meta: FrameMeta = newFrameMeta();
  private readonly buf: Uint8Array;
  private len = 0;
  private l3 = 0;
  private l4 = 0;
  private hdr = 0;
  private v6 = false;
  private mss = 0;
  private nextSeq = 0;
  /** The bytes append() sets aside while it copies (Ethernet, IP and TCP with options). */
  private readonly keep = new Uint8Array(14 + 60 + 60);

  /** `buf` is where the frame is built (a queue's transmit buffer after its virtio header). */
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  /** Start a batch with `f` when it may lead one (see the top of the file); false otherwise. */
  start(f: Uint8Array, len: number, meta: FrameMeta, capenable: number): boolean {
    const cf = meta.csumFlags;
    if ((cf & (CSUM_TCP | CSUM_TCP_IPV6)) === 0 || (cf & CSUM_TSO) !== 0) return false;
    if (!locateL4(f, len) || l4At.proto !== IPPROTO_TCP) return false;
    if ((capenable & (l4At.v6 ? IFCAP_TSO6 : IFCAP_TSO4)) === 0) return false;
    const l4 = l4At.l4;
    const thl = (f[l4 + 12]! >>> 4) << 2;
    const payload = l4At.l4len - thl;
    if (f[l4 + 13] !== TH_ACK || payload <= 0 || l4 + thl > this.keep.length) return false;
    this.buf.set(f);
    this.segs = 1;
    this.closed = false;
    this.len = len;
    this.l3 = l4At.l3;
    this.l4 = l4;
    this.hdr = l4 + thl;
    this.v6 = l4At.v6;
    this.mss = payload;
    this.nextSeq = (seqOf(f, l4) + payload) >>> 0;
    copyFrameMeta(this.meta, meta).tsoSegsz = 0;
    return true;
  }

  /** Add `f` to the batch when it continues it; false (nothing added) when it does not. */
  append(f: Uint8Array, len: number): boolean {
    if (this.closed) return false;
    const hdr = this.hdr;
    const payload = len - hdr;
    const b = this.buf;
    const l3 = this.l3;
    const l4 = this.l4;
    if (payload <= 0 || payload > this.mss || this.len + payload - this.l3 > IP_MAXPACKET) return false;
    if (this.len + payload > b.length || f.length !== len || seqOf(f, l4) !== this.nextSeq) return false;
    const flags = f[l4 + 13]!;
    if (flags !== TH_ACK && flags !== (TH_ACK | TH_PSH)) return false;
    for (let i = 0; i < hdr; i++) {
      if (f[i] === b[i]) continue;
      const o3 = i - l3;
      const o4 = i - l4;
      // The fields segmentation rewrites per segment, and the flags checked above.
      if (this.v6 ? o3 === 4 || o3 === 5 : o3 === 2 || o3 === 3 || o3 === 4 || o3 === 5 || o3 === 10 || o3 === 11)
        continue;
      if ((o4 >= 4 && o4 <= 7) || o4 === 13 || o4 === 16 || o4 === 17) continue;
      return false;
    }
    // f's payload goes after the batch's: copy f whole so that its headers land on the
    // batch's last `hdr` bytes, then put those back (no view of f made per segment).
    const at = this.len - hdr;
    const keep = this.keep;
    for (let i = 0; i < hdr; i++) keep[i] = b[at + i]!;
    b.set(f, at);
    for (let i = 0; i < hdr; i++) b[at + i] = keep[i]!;
    this.len += payload;
    this.segs++;
    this.nextSeq = (this.nextSeq + payload) >>> 0;
    if (flags !== TH_ACK || payload < this.mss) {
      // PSH goes on the frame (GSO keeps it for the last segment only); nothing follows.
      b[l4 + 13] = flags;
      this.closed = true;
    }
    return true;
  }

  /** Close the batch: its headers carry the frame's length. Returns the frame's length. */
  finish(): number {
    const b = this.buf;
    const len = this.len;
    const l3 = this.l3;
    const m = this.meta;
    if (this.segs > 1) {
      const ipLen = this.v6 ? len - l3 - 40 : len - l3;
      b[l3 + (this.v6 ? 4 : 2)] = ipLen >>> 8;
      b[l3 + (this.v6 ? 5 : 3)] = ipLen;
      // The IPv4 header changed: its checksum is redone (vtnet.ts fills it for CSUM_IP).
      m.csumFlags |= this.v6 ? CSUM_IP6_TSO : CSUM_IP | CSUM_IP_TSO;
      m.tsoSegsz = this.mss;
    }
    this.segs = 0;
    this.closed = false;
    return len;
  }
}

function seqOf(f: Uint8Array, l4: number): number {
  return ((f[l4 + 4]! << 24) | (f[l4 + 5]! << 16) | (f[l4 + 6]! << 8) | f[l4 + 7]!) >>> 0;
}
