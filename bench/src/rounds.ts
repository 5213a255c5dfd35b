/**
 * Rounds, ratio rows and verdicts: how every A-against-B bench (api, toe, rdma, tap) reads
 * its targets, written once.
 *
 * - `runRounds`: every point measured once per round, `repeats` rounds, each round in an
 *   order shuffled from the seed (stats/order.ts), so a drift of the machine's speed or a
 *   burst of others' work falls on every side alike instead of on whichever ran last.
 * - `ratioRow`: a ratio measured as the median of the rounds' own ratios (each side's figure
 *   over the other's in the same round: both felt the same load), with the exact
 *   order-statistic interval of that median (stats/interval.ts medianCI), and its verdict
 *   against a target (stats/verdict.ts): met, not met, or inconclusive when the interval
 *   holds the target. With 5 rounds the interval is [min, max] at 93.75%; 6 reach 95%.
 * - `roundPoints`: each point's per-round figures in the one shape `bench compare` reads
 *   (studyfile.ts: `points[].key`, `points[].samples.<figure>[]`), so any two runs of a bench
 *   compare point by point.
 */
import { measurementPlan, DEFAULT_REPEATS, type MeasurementPlan, type OrderStep } from './stats/order.js';
import { medianCI, DEFAULT_LEVEL } from './stats/interval.js';
import { verdict, type Target, type Verdict } from './stats/verdict.js';
import { sig } from './table.js';

export interface RoundsOptions {
  /** Seed of every round's shuffled order (printed with the report). */
  seed: number;
  /** Rounds; default stats' DEFAULT_REPEATS (5). */
  repeats?: number;
  /** Called before each step runs (progress). */
  onStep?: (step: OrderStep, index: number, total: number) => void;
}

export interface Rounds<T> {
  plan: MeasurementPlan;
  /** Each point's results in round order: index i is round i + 1. */
  results: Map<string, T[]>;
}

/** Run `measure` once per point per round, in the plan's order. A throw ends the run (the caller cleans up). */
export async function runRounds<T>(
  keys: readonly string[],
  o: RoundsOptions,
  measure: (key: string, round: number) => Promise<T>,
): Promise<Rounds<T>> {
  const plan = measurementPlan(keys, o.seed, o.repeats ?? DEFAULT_REPEATS);
  const results = new Map<string, T[]>(plan.keys.map((k) => [k, []]));
  for (let i = 0; i < plan.steps.length; i++) {
    const step = plan.steps[i]!;
    o.onStep?.(step, i, plan.steps.length);
    results.get(step.key)!.push(await measure(step.key, step.round));
  }
  return { plan, results };
}

/** A median with its exact order-statistic interval and the confidence that interval has. */
export interface Estimate {
  median: number;
  lo: number;
  hi: number;
  confidence: number;
}

/** The median of the rounds' values and its interval (stats/interval.ts medianCI). */
export function estimate(xs: readonly number[], level = DEFAULT_LEVEL): Estimate {
  const iv = medianCI(xs, level);
  return { median: iv.estimate, lo: iv.lo, hi: iv.hi, confidence: iv.confidence };
}

/** A ratio of two sides measured in the same rounds, and its verdict where it has a target. */
export interface RatioRow {
  /** The median of the rounds' ratios, its interval and that interval's confidence. */
  ratio: number;
  ratioLo: number;
  ratioHi: number;
  confidence: number;
  /** Each round's ratio, in round order. */
  ratios: number[];
  /** The target, where there is one: at least (more is better) or at most (a cost). */
  target?: number;
  direction?: Target['direction'];
  /** The median ratio is on the target's good side (the verdict is the interval's). */
  met?: boolean;
  verdict?: Verdict;
}

/**
 * The ratio numerator[i] / denominator[i] of each round, its median with the exact interval,
 * and the interval's verdict against `target`. Both sides must hold one value per round; a
 * round whose denominator is not positive has no ratio and is a RangeError naming it.
 */
export function ratioRow(
  numerator: readonly number[],
  denominator: readonly number[],
  target?: Target,
  level = DEFAULT_LEVEL,
): RatioRow {
  if (numerator.length !== denominator.length || numerator.length === 0)
    throw new RangeError(`ratio row: ${numerator.length} rounds over ${denominator.length}; one value per round each`);
  const ratios = numerator.map((x, i) => {
    const d = denominator[i]!;
    if (!(d > 0 && d < Infinity) || !(x >= 0 && x < Infinity))
      throw new RangeError(`ratio row: round ${i + 1} is ${x} over ${d}, not a ratio`);
    return x / d;
  });
  const iv = medianCI(ratios, level);
  const row: RatioRow = { ratio: iv.estimate, ratioLo: iv.lo, ratioHi: iv.hi, confidence: iv.confidence, ratios };
  if (target === undefined) return row;
  return {
    ...row,
    target: target.value,
    direction: target.direction,
    met: target.direction === 'at least' ? iv.estimate >= target.value : iv.estimate <= target.value,
    verdict: verdict(iv, target),
  };
}

/** A point of `bench compare`'s shape: a stable key and per-round values of each figure. */
export interface RoundPoint {
  key: string;
  samples: Record<string, number[]>;
}

/**
 * Points for `bench compare` (studyfile.ts reads them) from each point's per-round results:
 * `figures` names each figure and reads it from one result of a point. Every point gets
 * every figure, so `--figure` finds it in all of them.
 */
export function roundPoints<T>(
  results: ReadonlyMap<string, readonly T[]>,
  figures: Record<string, (r: T, key: string) => number>,
): RoundPoint[] {
  return [...results].map(([key, rs]) => ({
    key,
    samples: Object.fromEntries(Object.entries(figures).map(([name, f]) => [name, rs.map((r) => f(r, key))])),
  }));
}

/** `median [lo–hi]` in three significant digits. */
export function formatEstimate(e: Estimate): string {
  return `${sig(e.median)} [${sig(e.lo)}–${sig(e.hi)}]`;
}

/** `0.114 [0.101–0.130] (94%)`, then `≤ 0.2: met` where the row has a target. */
export function formatRatio(r: RatioRow, digits = 3): string {
  const head = `${r.ratio.toFixed(digits)} [${r.ratioLo.toFixed(digits)}–${r.ratioHi.toFixed(digits)}] (${pct(r.confidence)})`;
  if (r.target === undefined) return head;
  return `${head}, target ${r.direction === 'at least' ? '≥' : '≤'} ${r.target}: ${r.verdict}`;
}

/** The interval's confidence as a whole percent, or one decimal where rounding would hide a step (93.75%). */
function pct(c: number): string {
  const p = c * 100;
  return Number.isInteger(Math.round(p * 10) / 10) ? `${Math.round(p)}%` : `${(Math.round(p * 10) / 10).toFixed(1)}%`;
}

/** Each round's points in the order they ran (for the report's JSON). */
export function orderOf(plan: MeasurementPlan): string[][] {
  return Array.from({ length: plan.repeats }, (_, i) => plan.steps.filter((s) => s.round === i + 1).map((s) => s.key));
}

/** The order as text, one round a line, so a run can be repeated and its order read. */
export function formatOrder(order: readonly (readonly string[])[]): string {
  return order.map((keys, i) => `  round ${i + 1}: ${keys.join(', ')}\n`).join('');
}

/** One line saying how the figures were read, for every bench's header. */
export function roundsLine(r: { repeats: number; seed: number }): string {
  // The confidence n rounds give an interval (medianCI on any n distinct values): 93.75% at 5.
  const confidence = medianCI(Array.from({ length: r.repeats }, (_, i) => i)).confidence;
  return (
    `${r.repeats} round${r.repeats === 1 ? '' : 's'}, each measuring every point once in an order shuffled from seed ${r.seed}; ` +
    `medians [order-statistic interval, ${pct(confidence)} with ${r.repeats} rounds]; a ratio is the median of the rounds' ratios`
  );
}
