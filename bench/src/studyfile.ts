/**
 * The shape `mcstack bench compare` reads: any study's JSON whose `points` each carry a
 * stable `key` and their windows' figures under `samples`, one number per window:
 *
 *   { "points": [ { "key": "rr/rss-groups/1",
 *                   "samples": { "throughput": [97112, 101250, ...], "perCpuSecond": [...] } } ] }
 *
 * `samples` may also be a bare array (a study with one figure per window). Other fields
 * are ignored, so the scaling report (result.ts) is such a file as it stands, and so is any
 * other study that keeps its windows this way.
 */
import type { PointSamples } from './stats/index.js';

export interface StudyFile {
  points: { key: string; samples: number[] | Record<string, number[]> }[];
}

/** The figures a study file's points carry (those of its first point with named samples). */
export function figuresOf(doc: unknown): string[] {
  const p = (doc as StudyFile | null)?.points?.find((x) => x?.samples && !Array.isArray(x.samples));
  return p ? Object.keys(p.samples).filter((k) => Array.isArray((p.samples as Record<string, unknown>)[k])) : [];
}

/**
 * The per-window values of `figure` in each point of a study file. Throws a RangeError that
 * says what is missing: no points, a point without a key, a point without that figure.
 */
export function studySamples(doc: unknown, figure: string, what = 'report'): PointSamples[] {
  const points = (doc as StudyFile | null)?.points;
  if (!Array.isArray(points))
    throw new RangeError(`${what}: no "points" array (a study JSON with per-window samples is needed)`);
  return points.map((p, i) => {
    if (typeof p?.key !== 'string')
      throw new RangeError(`${what}: point ${i} has no "key" (a report from before the study kept its windows?)`);
    const s = Array.isArray(p.samples) ? p.samples : p.samples?.[figure];
    if (!Array.isArray(s) || s.length === 0 || !s.every((x) => typeof x === 'number'))
      throw new RangeError(
        `${what}: point ${JSON.stringify(p.key)} has no samples of ${JSON.stringify(figure)}` +
          (figuresOf(doc).length > 0 ? ` (it has ${figuresOf(doc).join(', ')})` : ''),
      );
    return { key: p.key, samples: s };
  });
}
