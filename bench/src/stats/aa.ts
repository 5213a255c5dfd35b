/**
 * The A/A check: configurations that are the same system (the same code and settings run
 * under two names, or one configuration measured in two slots of the order) must agree. If
 * they do not, the difference came from the machine, not the stack, and no verdict of the run
 * can be trusted to be finer than that difference.
 *
 * Two configurations agree when the bootstrap interval of the ratio of their medians contains
 * 1 — the direct test of "no difference". (Whether their medians' own intervals overlap is
 * reported too, but it is a laxer test: two 95% intervals can overlap while the difference
 * is significant.) With m configurations there are m(m−1)/2 pairs, each tested at the level
 * 1 − (1 − level)/pairs (Bonferroni), so that a quiet machine is called noisy with a
 * probability of about 1 − level per run, not per pair.
 */
import { contains, medianCI, medianRatioCI, type BootstrapOptions, type Interval } from './interval.js';
import { byKey, type PointSamples } from './report.js';

export interface AAPair {
  a: string;
  b: string;
  /** median(b) / median(a), at the pair's (Bonferroni) level. */
  ratio: Interval;
  /** Whether the two medians' own intervals overlap. */
  intervalsOverlap: boolean;
  /** The ratio interval contains 1. */
  agree: boolean;
}

export interface AACheck {
  configs: { key: string; median: Interval }[];
  /** Largest median over smallest, 1 when they are equal. */
  spread: number;
  pairs: AAPair[];
  agree: boolean;
  /** One line for the study's output. */
  message: string;
}

export function aaCheck(configs: readonly PointSamples[], o: BootstrapOptions = {}): AACheck {
  byKey(configs, 'A/A check');
  if (configs.length < 2) throw new RangeError('A/A check: needs at least two configurations');
  const level = o.level ?? 0.95;
  const pairLevel = 1 - (1 - level) / ((configs.length * (configs.length - 1)) / 2);
  const medians = configs.map((c) => ({ key: c.key, median: medianCI(c.samples, level) }));
  const pairs: AAPair[] = [];
  for (let i = 0; i < configs.length; i++) {
    for (let j = i + 1; j < configs.length; j++) {
      const a = configs[i]!,
        b = configs[j]!;
      const ratio = medianRatioCI(b.samples, a.samples, { ...o, level: pairLevel });
      const ma = medians[i]!.median,
        mb = medians[j]!.median;
      pairs.push({
        a: a.key,
        b: b.key,
        ratio,
        intervalsOverlap: ma.lo <= mb.hi && mb.lo <= ma.hi,
        agree: contains(ratio, 1),
      });
    }
  }
  const ms = medians.map((m) => m.median.estimate);
  const spread = Math.max(...ms) / Math.min(...ms);
  const agree = pairs.every((p) => p.agree);
  const spreadText = `largest median ${pct(spread - 1)} above the smallest`;
  const message = agree
    ? `A/A: ${configs.map((c) => c.key).join(', ')} agree (${spreadText}; every ratio interval contains 1)`
    : `A/A: ${pairs
        .filter((p) => !p.agree)
        .map(
          (p) =>
            `${p.a} and ${p.b} differ (ratio ${fmt(p.ratio.estimate)}, interval ${fmt(p.ratio.lo)} to ${fmt(p.ratio.hi)})`,
        )
        .join('; ')}` +
      ` although they are the same system (${spreadText}): the machine was too noisy for this run's verdicts`;
  return { configs: medians, spread, pairs, agree, message };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function fmt(x: number): string {
  return x.toFixed(3);
}
