/**
 * When a warm-up is over: a fresh pair of stacks starts with its hot functions interpreted
 * and V8 tiers them up (and deoptimises and re-optimises some) as they run — work done,
 * not wall time, decides when that ends. Measured on rr (1000 connections, 1 worker per
 * stack): the CPU per transaction fell from 50-150 µs to its steady ~10 µs over the first
 * 1-2 s, every deoptimisation fell in that span, and on a loaded machine the span grew with
 * the CPU the stacks got, so a fixed wall-clock warm-up left some windows on the ramp.
 *
 * So the warm-up samples CPU per unit of work in short slices and ends once it has settled:
 * the last `slices` values within `tolerance` of their median (a ramp falls by more than
 * that from slice to slice). CPU per unit, not throughput: a shared machine takes wall
 * time from the stacks more than it changes the CPU each unit of work costs.
 *
 * CPU per unit can also hold still for a while and then fall again (one rr run of eight
 * held ~15 µs for 1 s, then ran at ~8): a plateau while V8 still compiles. Its compiler
 * threads are the process's unnamed threads, so the warm-up also waits until their share of
 * the stacks' CPU is small in each of the last slices: in rr windows after a fixed warm-up
 * that were still on the ramp it was 46-61%, in settled ones at most 14% (a loaded
 * machine; on a quiet one well under 1%).
 */
import { median } from './interval.js';

export interface SettleOptions {
  /** Consecutive slices that must agree (default 3). */
  slices?: number;
  /** Largest relative distance of any of them from their median (default 0.1). */
  tolerance?: number;
}

export const SETTLE_SLICES = 3;
export const SETTLE_TOLERANCE = 0.1;
/** The largest share of the stacks' CPU V8's helper threads may take in a settled slice. */
export const HELPERS_QUIET_SHARE = 0.2;

/**
 * Whether a series of CPU-per-unit samples (oldest first) has settled: its last `slices`
 * values are finite, positive and within `tolerance` of their median. A slice without work
 * (Infinity or NaN) is not settled.
 */
export function settled(series: readonly number[], o: SettleOptions = {}): boolean {
  const k = o.slices ?? SETTLE_SLICES;
  const tol = o.tolerance ?? SETTLE_TOLERANCE;
  if (!(k >= 1) || !(tol >= 0)) throw new RangeError('settled: slices >= 1 and tolerance >= 0');
  if (series.length < k) return false;
  const last = series.slice(series.length - k);
  if (last.some((x) => !Number.isFinite(x) || x <= 0)) return false;
  const m = median(last);
  return last.every((x) => Math.abs(x - m) <= tol * m);
}

/**
 * Whether V8's helper threads (compilers, GC: the CPU no named thread accounts for) took at
 * most `share` of the stacks' CPU in each of the last `slices` slices (shares oldest first).
 */
export function helpersQuiet(shares: readonly number[], o: { slices?: number; share?: number } = {}): boolean {
  const k = o.slices ?? SETTLE_SLICES;
  const max = o.share ?? HELPERS_QUIET_SHARE;
  if (!(k >= 1) || !(max >= 0)) throw new RangeError('helpersQuiet: slices >= 1 and share >= 0');
  if (shares.length < k) return false;
  return shares.slice(shares.length - k).every((x) => Number.isFinite(x) && x <= max);
}
