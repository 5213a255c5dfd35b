/**
 * Wrap-safe TCP sequence-number arithmetic (RFC 9293 §3.4): sequence space is
 * modulo 2^32 and comparisons are made on the signed 32-bit difference, as
 * FreeBSD's SEQ_LT/SEQ_GT macros do. Values are kept as unsigned 32-bit numbers.
 */

/** a + n, modulo 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** a - b as a signed distance in (-2^31, 2^31]. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
export function seqGeq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The later of two sequence numbers. */
export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}
/** The earlier of two sequence numbers. */
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}

/** lo <= s < hi in sequence space (an empty window contains nothing). */
export function seqInWindow(s: number, lo: number, hi: number): boolean {
  return seqGeq(s, lo) && seqLt(s, hi);
}
