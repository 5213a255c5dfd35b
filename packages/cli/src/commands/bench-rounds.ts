/**
 * The options every A-against-B bench shares (api, toe, rdma, tap: bench/src/rounds.ts):
 * `--repeats N` rounds, each measuring every point once, in an order shuffled from `--seed`.
 */
import type { Args, OptionSpec } from '../command.js';
import { UsageError } from '../errors.js';

export const ROUNDS_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'repeats',
    type: 'int',
    arg: 'N',
    help: 'rounds, each measuring every point (side and workload) once (default 5)',
  },
  {
    name: 'seed',
    type: 'int',
    arg: 'N',
    help: "seed of each round's shuffled order, printed with the report (default 1)",
  },
];

/** `--repeats` (positive, default 5) and `--seed` (default 1). */
export function roundsArgs(args: Args): { repeats: number; seed: number } {
  const repeats = args.int('repeats') ?? 5;
  if (!(repeats > 0)) throw new UsageError('--repeats: must be positive');
  return { repeats, seed: args.int('seed') ?? 1 };
}
