/**
 * The order a study measures its points in. Each point is measured `repeats` times; the
 * windows run in rounds, every round measures every point once, in an order shuffled afresh
 * for each round. Interleaving spreads a slow drift of the machine's speed (thermal, other
 * tenants) over every point alike instead of loading it onto whichever point ran last, and
 * shuffling keeps a periodic disturbance or a carry-over from the previous window from
 * always hitting the same point. The order follows from the seed alone, and is printed.
 */
import { createRng, shuffle } from './rng.js';

/** Windows per point when the study is not told otherwise: the least the project accepts. */
export const DEFAULT_REPEATS = 5;

export interface OrderStep {
  /** 1-based round; every round measures every point once. */
  round: number;
  key: string;
}

export interface MeasurementPlan {
  seed: number;
  repeats: number;
  /** The points, as given. */
  keys: string[];
  /** Every window, in the order it is to run: keys.length × repeats steps. */
  steps: OrderStep[];
}

/** The interleaved, randomised order of `repeats` windows of each point (keys distinct, non-empty). */
export function measurementPlan(
  keys: readonly string[],
  seed: number,
  repeats: number = DEFAULT_REPEATS,
): MeasurementPlan {
  if (keys.length === 0) throw new RangeError('measurement plan: no points');
  if (new Set(keys).size !== keys.length)
    throw new RangeError(`measurement plan: a point is listed twice: ${keys.join(', ')}`);
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new RangeError(`measurement plan: repeats must be a positive integer: ${repeats}`);
  const rng = createRng(seed);
  const steps: OrderStep[] = [];
  for (let round = 1; round <= repeats; round++) {
    for (const key of shuffle(keys, rng)) steps.push({ round, key });
  }
  return { seed, repeats, keys: keys.slice(), steps };
}

/** The plan as text, one round a line, to print before the study runs. */
export function formatPlan(plan: MeasurementPlan): string {
  const lines = [`order (seed ${plan.seed}): ${plan.keys.length} points × ${plan.repeats} rounds, each round shuffled`];
  for (let round = 1; round <= plan.repeats; round++) {
    const keys = plan.steps.filter((s) => s.round === round).map((s) => s.key);
    lines.push(`  round ${round}: ${keys.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
