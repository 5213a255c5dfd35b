/** Statistics for the benchmarks: seeded order, medians and intervals, verdicts, A/A check, run comparison. Pure, no I/O. */
export { createRng, shuffle, normal, xoshiro128ss, type Rng } from './rng.js';
export { measurementPlan, formatPlan, DEFAULT_REPEATS, type MeasurementPlan, type OrderStep } from './order.js';
export {
  median,
  medianCI,
  orderStatisticCoverage,
  bootstrapCI,
  medianRatioCI,
  contains,
  DEFAULT_LEVEL,
  DEFAULT_RESAMPLES,
  type Interval,
  type BootstrapOptions,
} from './interval.js';
export { verdict, type Verdict, type Target } from './verdict.js';
export { byKey, type PointSamples } from './report.js';
export { aaCheck, type AACheck, type AAPair } from './aa.js';
export { drift, lag1, DRIFT_PERMUTATIONS, type Drift, type DriftSample } from './drift.js';
export {
  compareReports,
  formatComparison,
  type Comparison,
  type PointComparison,
  type CompareOptions,
  type Difference,
} from './compare.js';
export {
  settled,
  helpersQuiet,
  SETTLE_SLICES,
  SETTLE_TOLERANCE,
  HELPERS_QUIET_SHARE,
  type SettleOptions,
} from './settle.js';
