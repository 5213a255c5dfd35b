/**
 * Medians and their confidence intervals, for the per-window figures of a benchmark point.
 *
 * Why the median: a window disturbed by another tenant or a GC pause is an outlier in one
 * direction; the median ignores a few of them where the mean is dragged along.
 *
 * Two methods:
 *  - The median's own interval is the exact distribution-free one from order statistics
 *    (Hollander & Wolfe, "Nonparametric Statistical Methods", the sign-test interval for the
 *    median): if the windows are independent draws from one continuous distribution,
 *    [x(r), x(n+1−r)] covers the true median with probability 1 − 2·P(Bin(n, ½) ≤ r−1),
 *    whatever the distribution. Confidence comes in steps, so the interval reports the level
 *    it has, not the one asked for: with n = 5 even [min, max] has only 93.75%, and 95%
 *    needs n ≥ 6. With ties (discrete data) the closed interval covers at least that often.
 *  - Ratios of medians of two samples (scaling efficiency, a lead over a baseline, A/B) have
 *    no such exact interval; they get the percentile bootstrap (Efron & Tibshirani, "An
 *    Introduction to the Bootstrap", ch. 13): each sample resampled with replacement on its
 *    own, the ratio of the resampled medians, the middle `level` of those ratios. Its coverage
 *    is approximate, and coarse for small samples because the median of a resample of n
 *    values takes only n values. Measured over 2000 seeded lognormal samples: the ratio's 95%
 *    interval covers 97% at n = 5 and 96% at n = 10 to 30 (conservative); a single median's
 *    bootstrap interval is [min, max] at n = 5 and covers 94% at n = 20 — for one median the
 *    exact interval above is the better choice.
 *
 * Both assume the windows are independent and identically distributed. A machine whose speed
 * drifts during a run breaks that; the interleaved order (order.ts) spreads the drift over
 * every point but does not remove it, and the A/A check (aa.ts) is what detects it.
 */
import { createRng, type Rng } from './rng.js';

export interface Interval {
  /** The point estimate: the median, or the ratio of the two medians. */
  estimate: number;
  lo: number;
  hi: number;
  /** The confidence asked for. */
  requested: number;
  /**
   * The confidence the interval has: exact for 'order-statistic' (below `requested` when the
   * sample is too small to reach it), the nominal level for 'bootstrap' (approximate).
   */
  confidence: number;
  method: 'order-statistic' | 'bootstrap';
}

export interface BootstrapOptions {
  /** Confidence level, in (0, 1); default 0.95. */
  level?: number;
  /** Resamples; default 2000 (Efron & Tibshirani ask for at least 1000 for percentile intervals). */
  resamples?: number;
  /** Seed of the resampling, so the same data give the same interval; default 1. */
  seed?: number;
}

export const DEFAULT_LEVEL = 0.95;
export const DEFAULT_RESAMPLES = 2000;

/** The median (the mean of the middle two for an even count). */
export function median(xs: ArrayLike<number>): number {
  check(xs, 'median');
  return medianInPlace(Float64Array.from(xs));
}

/** Exact distribution-free interval for the median from order statistics (see the file's comment). */
export function medianCI(xs: ArrayLike<number>, level: number = DEFAULT_LEVEL): Interval {
  check(xs, 'medianCI');
  checkLevel(level);
  const s = Float64Array.from(xs).sort();
  const n = s.length;
  // Widen no more than needed: the largest r whose interval still reaches the level, else r = 1.
  let r = 1;
  while (r + 1 <= (n + 1) / 2 && orderStatisticCoverage(n, r + 1) >= level - 1e-12) r++;
  return {
    estimate: medianInPlace(s),
    lo: s[r - 1]!,
    hi: s[n - r]!,
    requested: level,
    confidence: orderStatisticCoverage(n, r),
    method: 'order-statistic',
  };
}

/** P(x(r) ≤ median ≤ x(n+1−r)) for n draws of a continuous distribution: 1 − 2·P(Bin(n, ½) ≤ r − 1). */
export function orderStatisticCoverage(n: number, r: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(r) || r < 1 || 2 * r > n + 1)
    throw new RangeError(`order statistic r=${r} of n=${n}: need 1 ≤ r ≤ (n+1)/2`);
  // Binomial probabilities in logs, so 2^-n does not underflow for large n.
  let logC = 0,
    cdf = 0;
  for (let k = 0; k < r; k++) {
    cdf += Math.exp(logC - n * Math.LN2);
    logC += Math.log(n - k) - Math.log(k + 1);
  }
  return Math.max(0, 1 - 2 * cdf);
}

/** Percentile-bootstrap interval of any statistic of one sample (the statistic may reorder its argument). */
export function bootstrapCI(
  xs: ArrayLike<number>,
  statistic: (resample: Float64Array) => number,
  o: BootstrapOptions = {},
): Interval {
  check(xs, 'bootstrapCI');
  const { level, resamples, rng } = options(o);
  const data = Float64Array.from(xs);
  const estimate = statistic(Float64Array.from(data));
  const buf = new Float64Array(data.length);
  const stats = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) stats[b] = statistic(resample(data, buf, rng));
  return percentileInterval(estimate, stats, level);
}

/**
 * Interval for median(numerator) / median(denominator), two independent samples, by the
 * percentile bootstrap, each sample resampled on its own. The denominator's values must be
 * positive; the numerator's may be 0 (a cost that vanished: TOE's idle host workers).
 */
export function medianRatioCI(
  numerator: ArrayLike<number>,
  denominator: ArrayLike<number>,
  o: BootstrapOptions = {},
): Interval {
  check(numerator, 'medianRatioCI numerator', 'nonnegative');
  check(denominator, 'medianRatioCI denominator', 'positive');
  const { level, resamples, rng } = options(o);
  const num = Float64Array.from(numerator),
    den = Float64Array.from(denominator);
  const bn = new Float64Array(num.length),
    bd = new Float64Array(den.length);
  const estimate = median(num) / median(den);
  const stats = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++)
    stats[b] = medianInPlace(resample(num, bn, rng)) / medianInPlace(resample(den, bd, rng));
  return percentileInterval(estimate, stats, level);
}

/** Whether the interval contains x (ends included). */
export function contains(iv: Pick<Interval, 'lo' | 'hi'>, x: number): boolean {
  return iv.lo <= x && x <= iv.hi;
}

function percentileInterval(estimate: number, stats: Float64Array, level: number): Interval {
  stats.sort();
  const alpha = 1 - level;
  return {
    estimate,
    lo: quantileSorted(stats, alpha / 2),
    hi: quantileSorted(stats, 1 - alpha / 2),
    requested: level,
    confidence: level,
    method: 'bootstrap',
  };
}

/** Quantile p of sorted values, interpolated linearly between order statistics (Hyndman & Fan type 7). */
function quantileSorted(s: Float64Array, p: number): number {
  const h = (s.length - 1) * p;
  const i = Math.floor(h);
  const lo = s[i]!;
  return i + 1 < s.length ? lo + (h - i) * (s[i + 1]! - lo) : lo;
}

function medianInPlace(a: Float64Array): number {
  sortInPlace(a);
  const m = a.length >> 1;
  return a.length % 2 === 1 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

/** Ascending sort; insertion sort for the short arrays of per-window values, where it is several times faster than TypedArray#sort. */
function sortInPlace(a: Float64Array): void {
  if (a.length > 32) {
    a.sort();
    return;
  }
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

function resample(data: Float64Array, into: Float64Array, rng: Rng): Float64Array {
  for (let i = 0; i < into.length; i++) into[i] = data[rng.int(data.length)]!;
  return into;
}

function options(o: BootstrapOptions): { level: number; resamples: number; rng: Rng } {
  const level = o.level ?? DEFAULT_LEVEL;
  const resamples = o.resamples ?? DEFAULT_RESAMPLES;
  checkLevel(level);
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new RangeError(`resamples: not a positive integer: ${resamples}`);
  return { level, resamples, rng: createRng(o.seed ?? 1) };
}

function check(xs: ArrayLike<number>, what: string, sign: 'any' | 'positive' | 'nonnegative' = 'any'): void {
  if (xs.length === 0) throw new RangeError(`${what}: no values`);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (Number.isNaN(x)) throw new RangeError(`${what}: value ${i} is ${x}`);
    if (sign === 'positive' && !(x > 0 && x < Infinity))
      throw new RangeError(`${what}: value ${i} is ${x}, not a positive number`);
    if (sign === 'nonnegative' && !(x >= 0 && x < Infinity))
      throw new RangeError(`${what}: value ${i} is ${x}, not a finite number at least 0`);
  }
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level: not between 0 and 1: ${level}`);
}
