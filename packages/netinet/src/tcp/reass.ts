/**
 * The TCP reassembly queue (FreeBSD tcp_reass.c): out-of-order segments held
 * sorted by sequence number until the hole before them fills (RFC 9293 §3.10.7.4,
 * "segment text"). Overlaps are trimmed on insert so the queue never holds a
 * byte twice. The number of segments per connection is limited
 * (net.inet.tcp.reass.maxqueuelen); `flush` (tcp_reass_flush) empties it on close.
 */
import { seqGeq, seqGt, seqLeq, seqLt } from '@mcstack/wire';
import type { UmaZone } from '../kern/uma.js';

export interface ReassSeg {
  seq: number;
  len: number;
  fin: boolean;
  data: Uint8Array;
}

export class TcpReassQueue {
  readonly segs: ReassSeg[] = [];
  /** Bytes held. */
  bytes = 0;
  /** The stack's "tcpreass" zone the entries are counted in (tcp_reass_zone); null: uncounted. */
  zone: UmaZone | null = null;

  get length(): number {
    return this.segs.length;
  }

  /**
   * Insert [seq, seq+len) copied from buf[off..]. Returns the number of new bytes
   * queued, or -1 when the queue is full and the segment was dropped.
   */
  insert(seq: number, buf: Uint8Array, off: number, len: number, fin: boolean, maxq: number): number {
    const segs = this.segs;
    let end = (seq + len) >>> 0;
    // Find the first queued segment that ends after seq.
    let i = 0;
    while (i < segs.length && seqLeq((segs[i]!.seq + segs[i]!.len) >>> 0, seq)) i++;
    // Trim our front against a segment starting at or before seq (tcp_reass: "drop already-covered").
    if (i < segs.length && seqLeq(segs[i]!.seq, seq)) {
      const p = segs[i]!;
      const pend = (p.seq + p.len) >>> 0;
      if (seqGeq(pend, end)) {
        if (fin && !p.fin && pend === end) p.fin = true;
        return 0;
      }
      const d = (pend - seq) >>> 0;
      seq = pend;
      off += d;
      len -= d;
      i++;
    }
    // Remove or trim the segments we cover.
    while (i < segs.length && seqLt(segs[i]!.seq, end)) {
      const q = segs[i]!;
      const qend = (q.seq + q.len) >>> 0;
      if (seqLeq(qend, end)) {
        this.bytes -= q.len;
        if (q.fin) fin = true;
        segs.splice(i, 1);
        this.zone?.free();
        continue;
      }
      // Keep q's later part, end our copy where q starts.
      len = (q.seq - seq) >>> 0;
      end = q.seq;
      break;
    }
    if (len <= 0 && !fin) return 0;
    if (segs.length >= maxq) return -1;
    // uma_zalloc(tcp_reass_zone): a refusal drops the segment as a full queue does.
    if (this.zone !== null && !this.zone.alloc()) return -1;
    segs.splice(i, 0, { seq, len, fin, data: buf.slice(off, off + len) });
    this.bytes += len;
    return len;
  }

  /** The first queued segment if it starts at or before rcv_nxt (ready to deliver). */
  first(): ReassSeg | undefined {
    return this.segs[0];
  }

  shift(): ReassSeg | undefined {
    const s = this.segs.shift();
    if (s) {
      this.bytes -= s.len;
      this.zone?.free();
    }
    return s;
  }

  /** tcp_reass_flush */
  flush(): number {
    const n = this.segs.length;
    this.segs.length = 0;
    this.bytes = 0;
    if (this.zone !== null) for (let i = 0; i < n; i++) this.zone.free();
    return n;
  }

  /** Highest sequence queued (for SACK reporting). */
  highest(): number {
    const s = this.segs[this.segs.length - 1];
    return s ? (s.seq + s.len) >>> 0 : 0;
  }
}

export { seqGt };
