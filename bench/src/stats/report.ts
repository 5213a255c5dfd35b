/**
 * The minimal report the statistics read: per point, its key and the per-window values of one
 * figure. The scaling study provides it by keeping each window's figure instead of pooling
 * the windows: `points.map((p) => ({ key: `${p.workload}/${p.strategy}/${p.workers}`,
 * samples: p.windowThroughputs }))`, and the same again for throughput per busy CPU-second.
 * Keys are free text but must be stable between runs, for `bench compare` matches on them.
 */
export interface PointSamples {
  key: string;
  /** One value per measured window, in any order. */
  samples: readonly number[];
}

/** Points by key, refusing a key listed twice (it would make a comparison ambiguous). */
export function byKey(points: readonly PointSamples[], what: string): Map<string, PointSamples> {
  const m = new Map<string, PointSamples>();
  for (const p of points) {
    if (m.has(p.key)) throw new RangeError(`${what}: point ${JSON.stringify(p.key)} is listed twice`);
    m.set(p.key, p);
  }
  return m;
}
