/**
 * SACK (RFC 2018) and loss recovery per RFC 6675 (FreeBSD tcp_sack.c).
 * Receiver side: `updateSackList` keeps the blocks to report, most recent first
 * (RFC 2018 §4). Sender side: a scoreboard of holes [start, end) with the next
 * byte to retransmit in each, kept in typed arrays so ACK processing allocates
 * nothing.
 */
import { seqGeq, seqGt, seqLeq, seqLt, seqMax, seqMin } from '@mcstack/wire';
import type { Tcpstat } from './var.js';

export const TCP_MAX_SACK = 4;
/** Blocks stored at the receiver (tcp_var.h MAX_SACK_BLKS); at most TCP_MAX_SACK fit in an option. */
export const MAX_SACK_BLKS = 6;

/** Scratch for the block-list rewrites (MAX_SACK_BLKS pairs + the head), reused: no allocation per segment. */
const saved = new Uint32Array(2 * (MAX_SACK_BLKS + 2));

/**
 * tcp_update_sack_list (FreeBSD tcp_sack.c): record that [start, end) arrived out of
 * order, or, below rcv_nxt, is a duplicate to report as a D-SACK block (RFC 2883 §4).
 * `blks` holds pairs (start, end), most recent first (RFC 2018 §4); returns the new
 * count. start === end re-announces the D-SACK block at the head.
 */
export function updateSackList(blks: Uint32Array, n: number, rcvNxt: number, start: number, end: number): number {
  let hs = start;
  let he = end;
  if (start === end && n >= 1 && end === blks[1]) {
    hs = blks[0]!;
    he = blks[1];
  }
  let k = 0;
  for (let i = 0; i < n; i++) {
    let bs = blks[2 * i]!;
    let be = blks[2 * i + 1]!;
    if (seqGeq(bs, be) || seqLeq(bs, rcvNxt)) continue; // acknowledged or stale: discard
    if (seqLeq(hs, be) && seqGeq(he, bs)) {
      // Overlapping or adjacent: adjacent blocks merge into the head; a D-SACK
      // inside a block keeps the larger block listed after it.
      if (hs === be) hs = bs;
      else if (he === bs) he = be;
      else {
        if (seqLt(hs, bs)) {
          const x = bs;
          bs = hs;
          hs = x;
        }
        if (seqGt(he, be)) {
          const x = be;
          be = he;
          he = x;
        }
        if (hs !== bs || he !== be) {
          if (k >= 2 && seqGeq(saved[k - 2]!, bs) && seqLeq(saved[k - 1]!, be)) k -= 2;
          saved[k++] = bs;
          saved[k++] = be;
        }
      }
    } else {
      // This block supersedes a saved one it covers.
      if (k >= 2 && seqGeq(saved[k - 2]!, bs) && seqLeq(saved[k - 1]!, be)) k -= 2;
      saved[k++] = bs;
      saved[k++] = be;
    }
  }
  let m = 0;
  if (seqLt(start, end)) {
    blks[0] = hs;
    blks[1] = he;
    m = 1;
    if (k >= MAX_SACK_BLKS * 2) k -= 2;
  }
  if (start === end && n >= 1 && start === blks[1]) m = 1;
  for (let i = 0; i < k && m < MAX_SACK_BLKS; i += 2) {
    blks[2 * m] = saved[i]!;
    blks[2 * m + 1] = saved[i + 1]!;
    m++;
  }
  return m;
}

/**
 * tcp_update_dsack_list (FreeBSD tcp_sack.c): [start, end) arrived and was (partly)
 * received before; report the duplicate part first (RFC 2883 §4: "the first SACK
 * block ... MUST specify the contiguous sequence space of the duplicate segment"),
 * then the block it belongs to (RFC 2883 §4 (3)), then the other blocks.
 */
export function updateDsackList(blks: Uint32Array, n: number, rcvNxt: number, start: number, end: number): number {
  if (seqLt(end, rcvNxt) || (end === rcvNxt && n > 0 && blks[1] === rcvNxt)) {
    saved[0] = start;
    saved[1] = end;
  } else {
    saved[0] = 0;
    saved[1] = 0;
  }
  let hs = 0;
  let he = 0;
  let ms = start;
  let me = end;
  let identical = false;
  for (let i = 0; i < n; i++) {
    const bs = blks[2 * i]!;
    const be = blks[2 * i + 1]!;
    if (seqLt(end, bs) || seqGt(start, be)) continue; // no contact
    if (seqGt(rcvNxt, be)) {
      // A block already below rcv_nxt (an earlier D-SACK): the overlap is duplicate.
      if (seqMax(start, bs) !== seqMin(end, be) && (seqGt(hs, seqMax(start, bs)) || hs === he)) {
        hs = seqMax(start, bs);
        he = seqMin(end, be);
      }
      continue;
    }
    if ((hs === he || seqLt(bs, hs)) && seqGt(be, start) && seqLeq(bs, end)) {
      hs = bs;
      he = be;
    }
    ms = seqMin(ms, bs);
    me = seqMax(me, be);
    if (ms === bs && me === be) identical = true;
  }
  if (seqLt(hs, he)) {
    saved[0] = seqMax(start, hs);
    saved[1] = seqMin(end, he);
  }
  let k = 2;
  if ((seqLt(rcvNxt, me) && !(ms === saved[0] && me === saved[1])) || identical) {
    saved[k++] = ms;
    saved[k++] = me;
  }
  for (let j = 0; j < n && k < MAX_SACK_BLKS * 2; j++) {
    const bs = blks[2 * j]!;
    const be = blks[2 * j + 1]!;
    if ((seqLt(be, ms) || seqGt(bs, me)) && seqGt(bs, rcvNxt)) {
      saved[k++] = bs;
      saved[k++] = be;
    }
  }
  let m = 0;
  for (let i = 0; i < k; i += 2) {
    // The D-SACK slot may be empty.
    if (seqLt(saved[i]!, saved[i + 1]!)) {
      blks[2 * m] = saved[i]!;
      blks[2 * m + 1] = saved[i + 1]!;
      m++;
    }
  }
  return m;
}

/** tcp_clean_dsack_blocks: after an ACK carried them, drop blocks at or below rcv_nxt. */
export function cleanDsackBlocks(blks: Uint32Array, n: number, rcvNxt: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const bs = blks[2 * i]!;
    const be = blks[2 * i + 1]!;
    if (seqGeq(bs, be) || seqLeq(bs, rcvNxt)) continue;
    blks[2 * m] = bs;
    blks[2 * m + 1] = be;
    m++;
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
    blks[2 * m] = seqMax(bs, rcvNxt);
    blks[2 * m + 1] = be;
    m++;
  }
  return m;
}

/** The sender's scoreboard (struct sackhole list + sackhint). */
const NO_HOLES = new Uint32Array(0);

export class SackScoreboard {
  // Allocated at the first hole: most connections never see a loss.
  start = NO_HOLES;
  end = NO_HOLES;
  rxmit = NO_HOLES;
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
      const grow = (a: Uint32Array) => {
        const b = new Uint32Array(Math.max(16, a.length * 2));
        b.set(a);
        return b;
      };
      this.start = grow(this.start);
      this.end = grow(this.end);
      this.rxmit = grow(this.rxmit);
    }
    this.start.copyWithin(i + 1, i, this.nholes);
    this.end.copyWithin(i + 1, i, this.nholes);
    this.rxmit.copyWithin(i + 1, i, this.nholes);
    this.start[i] = s;
    this.end[i] = e;
    this.rxmit[i] = s;
    this.nholes++;
    return true;
  }

  /**
   * The rescue retransmission's hole (tcp_sack_partialack, RFC 6675 §4 NextSeg rule 4):
   * [s, e) below the recovery point with nothing SACKed above `ack`; false when the
   * scoreboard is full.
   */
  rescue(ack: number, s: number, e: number, maxholes: number): boolean {
    this.snd_fack = ack;
    return this.insertHole(this.nholes, s, e, maxholes);
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
   * (snd_una, snd_max] are ignored (RFC 2018 §8 does not trust them); a block wholly at
   * or below the cumulative ack is a D-SACK (RFC 2883 §4), counted as tcp_record_dsack
   * does; a hole the scoreboard has no room for is tcps_sack_sboverflow
   * (tcp_sackhole_alloc at net.inet.tcp.sack.maxholes).
   */
  doack(
    nblocks: number,
    blkStart: (i: number) => number,
    blkEnd: (i: number) => number,
    sndUna: number,
    sndMax: number,
    maxholes: number,
    st: Tcpstat,
  ): number {
    // Cumulative ack: remove holes below snd_una.
    while (this.nholes > 0 && seqLeq(this.end[0]!, sndUna)) {
      this.removeHole(0);
      if (this.nexthole > 0) this.nexthole--;
    }
    if (this.nholes > 0 && seqLt(this.start[0]!, sndUna)) {
      this.start[0] = sndUna;
      if (seqLt(this.rxmit[0]!, sndUna)) this.rxmit[0] = sndUna;
    }
    // With nothing SACKed, snd_fack is snd_una: a value from before the connection's
    // sequence space (the zero a new tcpcb starts with, 2^31 away from half of all ISNs)
    // must not count as SACKed data.
    if ((this.nholes === 0 && this.sacked_bytes === 0) || seqLt(this.snd_fack, sndUna)) this.snd_fack = sndUna;
    let used = 0;
    for (let b = 0; b < nblocks; b++) {
      const s = blkStart(b);
      const e = blkEnd(b);
      if (seqLeq(s, sndUna) && seqLeq(e, sndUna)) {
        st.tcps_dsack_count++;
        st.tcps_dsack_bytes += seqGt(e, s) ? (e - s) >>> 0 : (s - e) >>> 0;
        continue;
      }
      if (!seqLt(s, e) || seqLeq(s, sndUna) || seqGt(e, sndMax)) continue;
      used++;
      if (seqGt(s, this.snd_fack)) {
        const last = this.nholes - 1;
        if (last >= 0 && seqGeq(this.end[last]!, this.snd_fack)) {
          // The last hole ends at or above snd_fack: a rescue hole (rescue(); every other
          // hole ends below it). Its retransmission drew this block, so it becomes the hole
          // between snd_fack and the block, retransmitted from its start — tcp_sack_doack's
          // "successful Rescue Retransmission: move this hole left". A hole added beside it
          // would overlap it and send its bytes twice.
          const from = seqGt(sndUna, this.snd_fack) ? sndUna : this.snd_fack;
          this.start[last] = from;
          this.end[last] = s;
          this.rxmit[last] = from;
        } else if (!this.insertHole(this.nholes, this.snd_fack, s, maxholes)) {
          // New hole between the previous highest SACK and this block.
          st.tcps_sack_sboverflow++;
        }
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
          this.removeHole(i);
          i--;
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
          } else st.tcps_sack_sboverflow++;
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
    // A rescue hole (rescue()) lies above snd_fack, SACKed by nothing: never negative.
    this.sacked_bytes = Math.max(0, ((this.snd_fack - sndUna) >>> 0) - holes);
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

  /** Undo sent(): the retransmission never left (tcp_output's error path, p->rxmit -= len). */
  unsent(i: number, len: number): void {
    this.rxmit[i] = (this.rxmit[i]! - len) >>> 0;
    this.sack_bytes_rexmit -= len;
  }

  /**
   * tcp_compute_pipe: RFC 6675 §4 "pipe" as FreeBSD estimates it — outstanding bytes,
   * less those SACKed and those lost, plus those retransmitted. With
   * net.inet.tcp.rfc6675_pipe=0 (`rfc6675` false), tcp_output's older estimate: what was
   * sent past the highest SACKed byte, plus what was retransmitted.
   */
  pipe(sndUna: number, sndMax: number, maxseg: number, rfc6675 = true, sndNxt = sndMax): number {
    if (!rfc6675) {
      // snd_fack is kept only while SACK blocks arrive: one a new tcpcb left at 0, or one
      // from a recovery long acknowledged, is below snd_una and says nothing is SACKed.
      const fack = seqGt(this.snd_fack, sndUna) ? this.snd_fack : sndUna;
      return Math.max(0, ((sndNxt - fack) | 0) + this.sack_bytes_rexmit);
    }
    // Never negative (tcp_compute_pipe's imax(pipe, 0)).
    return Math.max(0, ((sndMax - sndUna) >>> 0) + this.sack_bytes_rexmit - this.sacked_bytes - this.lostBytes(maxseg));
  }

  /**
   * sackhint.lost_bytes: the bytes of holes RFC 6675 §4 IsLost() declares lost — more
   * than (DupThresh - 1) * SMSS bytes SACKed above them (DupThresh 3).
   */
  lostBytes(maxseg: number): number {
    let above = 0;
    let lost = 0;
    let top = this.snd_fack;
    for (let i = this.nholes - 1; i >= 0; i--) {
      // A rescue hole ends above snd_fack: nothing SACKed above it, not lost.
      if (seqGt(top, this.end[i]!)) above += (top - this.end[i]!) >>> 0;
      top = this.start[i]!;
      if (above > 2 * maxseg) lost += (this.end[i]! - this.start[i]!) >>> 0;
    }
    return lost;
  }
}
