/**
 * Whether the machine's speed drifted during a study: windows next to each other in time
 * running alike even when they measured different points. Each window's figure is taken
 * relative to its own point's median (log of the ratio), so points of different speeds
 * compare; the windows are put in the order they ran, and the lag-1 autocorrelation of
 * that series is tested against every reordering of it being as likely (a permutation
 * test, seeded). Fresh stacks per window make the windows of a point independent draws of
 * the stack; a correlation between neighbours in time, across points, is the machine.
 * On a quiet `npm start` (other processes ~0%), throughput per busy CPU-second over its 80
 * windows: 0.38, p 0.0005, the least 2000 reorderings can give (docs/scaling-noise.md).
 */
import { createRng, shuffle } from './rng.js';
import { median } from './interval.js';

export interface Drift {
  /** Lag-1 autocorrelation of the windows' log ratios to their point's median, in run order. */
  r: number;
  /** (reorderings with a lag-1 autocorrelation at least `r`, plus 1) / (reorderings + 1): never 0. */
  p: number;
  /** Windows in the series. */
  windows: number;
}

/** One window: its position in the run (1-based step), its point, its figure (positive). */
export interface DriftSample {
  step: number;
  key: string;
  value: number;
}

export const DRIFT_PERMUTATIONS = 2000;

/** Lag-1 autocorrelation of a series (0 for a constant one). */
export function lag1(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  let m = 0;
  for (const x of xs) m += x;
  m /= n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const d = xs[i]! - m;
    den += d * d;
    if (i + 1 < n) num += d * (xs[i + 1]! - m);
  }
  return den > 0 ? num / den : 0;
}

/**
 * The drift of a run from its windows, or null with fewer than 8 usable windows (a
 * permutation test of so few says nothing). Windows with a non-positive or non-finite
 * figure (no work done) are left out.
 */
export function drift(samples: readonly DriftSample[], seed: number, permutations = DRIFT_PERMUTATIONS): Drift | null {
  const ok = samples.filter((s) => Number.isFinite(s.value) && s.value > 0);
  const byKey = new Map<string, number[]>();
  for (const s of ok) {
    const list = byKey.get(s.key) ?? [];
    list.push(s.value);
    byKey.set(s.key, list);
  }
  const medians = new Map([...byKey].map(([k, v]) => [k, median(v)]));
  const series = [...ok].sort((a, b) => a.step - b.step).map((s) => Math.log(s.value / medians.get(s.key)!));
  if (series.length < 8) return null;
  const r = lag1(series);
  const rng = createRng(seed);
  let atLeast = 0;
  for (let i = 0; i < permutations; i++) if (lag1(shuffle(series, rng)) >= r) atLeast++;
  return { r, p: (atLeast + 1) / (permutations + 1), windows: series.length };
}
