/**
 * A target's verdict from an interval rather than a single figure, so that a run on a noisy
 * machine says it could not tell instead of passing or failing by chance.
 *
 * The good side of the target is closed (the target itself is good: "at least 1.8" is met
 * by 1.8), the bad side open. Then:
 *  - 'met'          the whole interval is on the good side:  lo ≥ target ("at least"), hi ≤ target ("at most");
 *  - 'not met'      the whole interval is on the bad side:   hi < target ("at least"), lo > target ("at most");
 *  - 'inconclusive' otherwise: the interval holds values on both sides, an end touching the target included
 *                   (an "at least" interval [1.7, 1.8] may be below 1.8).
 */

export type Verdict = 'met' | 'not met' | 'inconclusive';

export interface Target {
  /** 'at least' for figures where more is better (throughput, efficiency), 'at most' for costs. */
  direction: 'at least' | 'at most';
  value: number;
}

export function verdict(iv: { lo: number; hi: number }, target: Target): Verdict {
  const { lo, hi } = iv;
  const t = target.value;
  if (Number.isNaN(lo) || Number.isNaN(hi) || Number.isNaN(t))
    throw new RangeError(`verdict: NaN in interval [${lo}, ${hi}] or target ${t}`);
  if (lo > hi) throw new RangeError(`verdict: interval [${lo}, ${hi}] has its ends reversed`);
  if (target.direction === 'at least') return lo >= t ? 'met' : hi < t ? 'not met' : 'inconclusive';
  return hi <= t ? 'met' : lo > t ? 'not met' : 'inconclusive';
}
