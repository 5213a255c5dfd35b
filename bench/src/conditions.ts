/**
 * The conditions a wall-clock bench ran under, kept in its JSON report beside the figures:
 * the cores the machine has and its 1-minute load average before and after the run. Other
 * processes' threads compete with the stacks' for those cores, so a figure read without
 * them cannot be told apart from a slower stack.
 */
import { availableParallelism, loadavg } from 'node:os';

export interface RunConditions {
  cores: number;
  loadBefore: number;
  loadAfter: number;
}

/** Note the load now; the function returned completes the conditions at the run's end. */
export function startConditions(): () => RunConditions {
  const loadBefore = loadavg()[0]!;
  return () => ({ cores: availableParallelism(), loadBefore, loadAfter: loadavg()[0]! });
}

/** The conditions as one line of a report's text. */
export function formatConditions(c: RunConditions): string {
  return `${c.cores} cores, load average ${c.loadBefore.toFixed(1)} before, ${c.loadAfter.toFixed(1)} after`;
}
