/**
 * The shape `mcstack bench compare` reads: any study's JSON whose `points` each carry a
 * stable `key` and their windows' figures under `samples`, one number per window:
 *
 *   { "points": [ { "key": "rr/rss-groups/1",
 *                   "samples": { "throughput": [97112, 101250, ...], "perCpuSecond": [...] } } ] }
 *
 * `samples` may also be a bare array (a study with one figure per window). Other fields
 * are ignored, so the scaling report (result.ts) is such a file as it stands, and so are the
 * reports of bench api, toe, rdma and tap, which carry their rounds this way (rounds.ts
 * roundPoints) beside their rows.
 *
 * The HTTP bench's report keeps its rounds as runs under `all` (server, size, connections,
 * run, and the run's figures) and its `points` as per-point summaries without keys; such a
 * report is read from `all`, a point per server, size and connection count
 * (`http-lite/128/50`), the figures requests/s as `throughput`, and `p99Us`, `meanUs` and
 * `cpuUsPerReq` where every run has them.
 */
import type { PointSamples } from './stats/index.js';

export interface StudyFile {
  points: { key: string; samples: number[] | Record<string, number[]> }[];
}

/** One run of the HTTP bench, the fields read here (http.ts HttpBenchPoint). */
interface HttpRun {
  server: string;
  size: number;
  connections: number;
  run: number;
  rps: number;
  [figure: string]: unknown;
}

const HTTP_FIGURES = ['p99Us', 'meanUs', 'cpuUsPerReq'] as const;

/** The HTTP bench's runs as study points, or null when `doc` is not such a report. */
function httpPoints(doc: unknown): StudyFile['points'] | null {
  const all = (doc as { all?: unknown } | null)?.all;
  if (!Array.isArray(all) || all.length === 0) return null;
  const runs = all as HttpRun[];
  if (
    !runs.every(
      (r) =>
        typeof r?.server === 'string' &&
        typeof r.size === 'number' &&
        typeof r.connections === 'number' &&
        typeof r.rps === 'number',
    )
  )
    return null;
  const byKey = new Map<string, HttpRun[]>();
  for (const r of runs) {
    const key = `${r.server}/${r.size}/${r.connections}`;
    (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(r);
  }
  return [...byKey].map(([key, rs]) => {
    rs.sort((a, b) => (a.run ?? 0) - (b.run ?? 0));
    const samples: Record<string, number[]> = { throughput: rs.map((r) => r.rps) };
    for (const f of HTTP_FIGURES)
      if (rs.every((r) => typeof r[f] === 'number' && Number.isFinite(r[f])))
        samples[f] = rs.map((r) => r[f] as number);
    return { key, samples };
  });
}

/** A report's points in the study shape: its own `points` when they carry keys, else the HTTP bench's runs. */
function pointsOf(doc: unknown): unknown {
  const points = (doc as StudyFile | null)?.points;
  if (Array.isArray(points) && points.every((p) => typeof p?.key === 'string')) return points;
  return httpPoints(doc) ?? points;
}

/** The figures a study file's points carry (those of its first point with named samples). */
export function figuresOf(doc: unknown): string[] {
  const points = pointsOf(doc) as StudyFile['points'] | undefined;
  const p = Array.isArray(points) ? points.find((x) => x?.samples && !Array.isArray(x.samples)) : undefined;
  return p ? Object.keys(p.samples).filter((k) => Array.isArray((p.samples as Record<string, unknown>)[k])) : [];
}

/**
 * The per-window values of `figure` in each point of a study file. Throws a RangeError that
 * says what is missing: no points, a point without a key, a point without that figure.
 */
export function studySamples(doc: unknown, figure: string, what = 'report'): PointSamples[] {
  const points = pointsOf(doc) as StudyFile['points'] | undefined;
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
