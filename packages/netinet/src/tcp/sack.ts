/**
 * SACK (RFC 2018) and loss recovery per RFC 6675 (FreeBSD tcp_sack.c).
 * Receiver side: `updateSackList` keeps the blocks to report, most recent first
 * (RFC 2018 §4). Sender side: a scoreboard of holes [start, end) with the next
 * byte to retransmit in each, kept in typed arrays so ACK processing allocates
 * nothing.
 */
import { seqGeq, seqGt, seqLeq, seqLt, seqMax, seqMin } from '@mcstack/wire';

export const TCP_MAX_SACK = 4;

/**
 * tcp_update_sack_list: record that [start, end) arrived out of order. `blks` holds
 * pairs (start, end); returns the new count.
 */
export function updateSackList(blks: Uint32Array, n: number, rcvNxt: number, start: number, end: number): number {
  let s = start;
  let e = end;
  const keep = new Uint32Array(TCP_MAX_SACK * 2);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const bs = blks[2 * i]!;
    const be = blks[2 * i + 1]!;
    if (seqLeq(be, rcvNxt)) continue; // fully acknowledged now
    if (seqLeq(bs, e) && seqGeq(be, s)) {
      // Overlapping or adjacent: merge into the new head block.
      s = seqMin(s, bs);
      e = seqMax(e, be);
    } else if (k < (TCP_MAX_SACK - 1) * 2) {
      keep[k++] = bs; keep[k++] = be;
    }
  }
  let m = 0;
  if (seqGt(e, rcvNxt)) {
    blks[0] = seqMax(s, rcvNxt); blks[1] = e; m = 1;
  }
  for (let i = 0; i < k; i += 2) {
    blks[2 * m] = keep[i]!; blks[2 * m + 1] = keep[i + 1]!; m++;
  }
  return m;
}

/** tcp_clean_sackreport / drop blocks at or below rcv_nxt after in-order data. */
export function cleanSackList(blks: Uint32Array, n: number, rcvNxt: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const bs = blks[2 * i]!;
    const be = blks[2 * i + 1]!;
    if (seqLeq(be, rcvNxt)) continue;
    blks[2 * m] = seqMax(bs, rcvNxt); blks[2 * m + 1] = be; m++;
  }
  return m;
}

/** The sender's scoreboard (struct sackhole list + sackhint). */
export class SackScoreboard {
  start = new Uint32Array(16);
  end = new Uint32Array(16);
  rxmit = new Uint32Array(16);
  nholes = 0;
  /** Highest SACKed sequence + 1 (snd_fack). */
  snd_fack = 0;
  /** Bytes SACKed above snd_una (sackhint.sacked_bytes). */
  sacked_bytes = 0;
  /** Bytes retransmitted from holes this episode (sackhint.sack_bytes_rexmit). */
  sack_bytes_rexmit = 0;
  /** Index of the next hole to retransmit from (sackhint.nexthole). */
  nexthole = 0;

  reset(sndUna: number): void {
    this.nholes = 0;
    this.snd_fack = sndUna;
    this.sacked_bytes = 0;
    this.sack_bytes_rexmit = 0;
    this.nexthole = 0;
  }

  private insertHole(i: number, s: number, e: number, maxholes: number): boolean {
    if (this.nholes >= maxholes) return false;
    if (this.nholes === this.start.length) {
      const grow = (a: Uint32Array) => { const b = new Uint32Array(a.length * 2); b.set(a); return b; };
      this.start = grow(this.start); this.end = grow(this.end); this.rxmit = grow(this.rxmit);
    }
    this.start.copyWithin(i + 1, i, this.nholes);
    this.end.copyWithin(i + 1, i, this.nholes);
    this.rxmit.copyWithin(i + 1, i, this.nholes);
    this.start[i] = s; this.end[i] = e; this.rxmit[i] = s;
    this.nholes++;
    return true;
  }

  private removeHole(i: number): void {
    this.start.copyWithin(i, i + 1, this.nholes);
    this.end.copyWithin(i, i + 1, this.nholes);
    this.rxmit.copyWithin(i, i + 1, this.nholes);
    this.nholes--;
  }

  /**
   * tcp_sack_doack: apply the SACK blocks of one ACK (read from `opt` by index) and
   * the new cumulative ack. Returns the number of valid blocks used. Blocks outside
   * (snd_una, snd_max] are ignored (RFC 2018 §8 does not trust them).
   */
  doack(nblocks: number, blkStart: (i: number) => number, blkEnd: (i: number) => number,
    sndUna: number, sndMax: number, maxholes: number): number {
    // Cumulative ack: remove holes below snd_una.
    while (this.nholes > 0 && seqLeq(this.end[0]!, sndUna)) {
      this.removeHole(0);
      if (this.nexthole > 0) this.nexthole--;
    }
    if (this.nholes > 0 && seqLt(this.start[0]!, sndUna)) {
      this.start[0] = sndUna;
      if (seqLt(this.rxmit[0]!, sndUna)) this.rxmit[0] = sndUna;
    }
    if (seqLt(this.snd_fack, sndUna)) this.snd_fack = sndUna;
    let used = 0;
    for (let b = 0; b < nblocks; b++) {
      const s = blkStart(b);
      const e = blkEnd(b);
      if (!seqLt(s, e) || seqLeq(s, sndUna) || seqGt(e, sndMax)) continue;
      used++;
      if (seqGt(s, this.snd_fack)) {
        // New hole between the previous highest SACK and this block.
        this.insertHole(this.nholes, this.snd_fack, s, maxholes);
        this.snd_fack = e;
      } else if (seqGt(e, this.snd_fack)) {
        this.snd_fack = e;
      }
      // Shrink/split every hole overlapping [s, e).
      for (let i = 0; i < this.nholes; i++) {
        const hs = this.start[i]!;
        const he = this.end[i]!;
        if (seqLeq(he, s) || seqGeq(hs, e)) continue;
        if (seqGeq(hs, s) && seqLeq(he, e)) {
          this.removeHole(i); i--;
        } else if (seqGeq(hs, s)) {
          this.start[i] = e;
          if (seqLt(this.rxmit[i]!, e)) this.rxmit[i] = e;
        } else if (seqLeq(he, e)) {
          this.end[i] = s;
          if (seqGt(this.rxmit[i]!, s)) this.rxmit[i] = s;
        } else {
          // Block inside the hole: split it.
          const rx = this.rxmit[i]!;
          this.end[i] = s;
          if (seqGt(rx, s)) this.rxmit[i] = s;
          if (this.insertHole(i + 1, e, he, maxholes)) {
            this.rxmit[i + 1] = seqGt(rx, e) ? rx : e;
            i++;
          }
        }
      }
    }
    this.recount(sndUna);
    return used;
  }

  /** Recompute sacked_bytes (bytes between snd_una and snd_fack not in holes). */
  private recount(sndUna: number): void {
    let holes = 0;
    let rex = 0;
    for (let i = 0; i < this.nholes; i++) {
      holes += (this.end[i]! - this.start[i]!) >>> 0;
      rex += (this.rxmit[i]! - this.start[i]!) >>> 0;
    }
    this.sacked_bytes = ((this.snd_fack - sndUna) >>> 0) - holes;
    this.sack_bytes_rexmit = rex;
    if (this.nexthole > this.nholes) this.nexthole = this.nholes;
  }

  /**
   * tcp_sack_output: the first hole with bytes left to retransmit; returns its index
   * or -1. RFC 6675 §4 NextSeg rule (1) in its FreeBSD form.
   */
  output(): number {
    for (let i = 0; i < this.nholes; i++) {
      if (seqLt(this.rxmit[i]!, this.end[i]!)) return i;
    }
    return -1;
  }

  /** Bytes of a hole retransmitted: advance its rxmit point. */
  sent(i: number, len: number): void {
    this.rxmit[i] = (this.rxmit[i]! + len) >>> 0;
    this.sack_bytes_rexmit += len;
  }

  /** tcp_compute_pipe: RFC 6675 §4 "pipe" as FreeBSD estimates it. */
  pipe(sndUna: number, sndMax: number): number {
    return ((sndMax - sndUna) >>> 0) + this.sack_bytes_rexmit - this.sacked_bytes;
  }
}
