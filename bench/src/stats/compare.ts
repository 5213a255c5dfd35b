/**
 * `bench compare A.json B.json`: two runs of a study, point by point. For each point both
 * runs measured, the ratio of medians B/A with its bootstrap interval; the difference is
 * 'within noise' when that interval contains 1, else B is 'faster' or 'slower'. Points only
 * one run has are listed, not dropped silently.
 *
 * Each point's resampling is seeded from the seed and the point's key, so a point's interval
 * does not change when other points are added to or removed from the reports.
 */
import { contains, medianCI, medianRatioCI, DEFAULT_LEVEL, type BootstrapOptions, type Interval } from './interval.js';
import { byKey, type PointSamples } from './report.js';

export type Difference = 'within noise' | 'faster' | 'slower';

export interface PointComparison {
  key: string;
  /** Median of A's windows, with its order-statistic interval. */
  a: Interval;
  b: Interval;
  /** median(B) / median(A), bootstrap interval. */
  ratio: Interval;
  result: Difference;
}

export interface Comparison {
  /** The points both reports have, in A's order. */
  points: PointComparison[];
  onlyInA: string[];
  onlyInB: string[];
  level: number;
}

export interface CompareOptions extends BootstrapOptions {
  /** Which way is 'faster': 'higher' for throughput (default), 'lower' for costs such as CPU per unit. */
  better?: 'higher' | 'lower';
}

export function compareReports(
  a: readonly PointSamples[],
  b: readonly PointSamples[],
  o: CompareOptions = {},
): Comparison {
  const level = o.level ?? DEFAULT_LEVEL;
  const am = byKey(a, 'report A'),
    bm = byKey(b, 'report B');
  const points: PointComparison[] = [];
  for (const pa of a) {
    const pb = bm.get(pa.key);
    if (pb === undefined) continue;
    const seed = ((o.seed ?? 1) ^ fnv1a(pa.key)) >>> 0;
    let ratio: Interval;
    try {
      ratio = medianRatioCI(pb.samples, pa.samples, { ...o, level, seed });
    } catch (e) {
      throw new RangeError(`point ${JSON.stringify(pa.key)}: ${(e as Error).message}`);
    }
    const higher = ratio.lo > 1;
    const result: Difference = contains(ratio, 1)
      ? 'within noise'
      : higher === ((o.better ?? 'higher') === 'higher')
        ? 'faster'
        : 'slower';
    points.push({ key: pa.key, a: medianCI(pa.samples, level), b: medianCI(pb.samples, level), ratio, result });
  }
  return {
    points,
    onlyInA: a.filter((p) => !bm.has(p.key)).map((p) => p.key),
    onlyInB: b.filter((p) => !am.has(p.key)).map((p) => p.key),
    level,
  };
}

/** The comparison as a plain text table, with the unmatched points after it. */
export function formatComparison(c: Comparison, names: { a: string; b: string } = { a: 'A', b: 'B' }): string {
  const head = [
    'point',
    `median ${names.a}`,
    `median ${names.b}`,
    `${names.b}/${names.a}`,
    `${Math.round(c.level * 100)}% interval`,
    'result',
  ];
  const rows = c.points.map((p) => [
    p.key,
    num(p.a.estimate),
    num(p.b.estimate),
    p.ratio.estimate.toFixed(3),
    `${p.ratio.lo.toFixed(3)} to ${p.ratio.hi.toFixed(3)}`,
    p.result,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // The key and the result read left-aligned, the figures right-aligned.
  const line = (r: string[]): string =>
    r
      .map((x, i) => (i === 0 || i === r.length - 1 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), ...rows.map(line)];
  if (c.points.length === 0) out.push('(no point is in both reports)');
  if (c.onlyInA.length > 0) out.push(`only in ${names.a}: ${c.onlyInA.join(', ')}`);
  if (c.onlyInB.length > 0) out.push(`only in ${names.b}: ${c.onlyInB.join(', ')}`);
  return `${out.join('\n')}\n`;
}

function num(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3);
}

/** FNV-1a, 32 bits, over the key's UTF-16 code units: a stable per-point seed. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
