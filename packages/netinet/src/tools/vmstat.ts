/**
 * `vmstat -z` (usr.bin/vmstat domemstat_zone): one line per zone, USED, FREE, REQ
 * and FAIL summed over every worker (each worker's engine allocates alone); LIMIT is
 * the stack's setting, the same in every worker. A value the engine does not know
 * (a count it keeps no counter for) is shown as `-` rather than as a number it did
 * not measure.
 */
import type { StackSnapshot, ZoneSnapshot } from './snapshot.js';
import { left, right } from './fmt.js';

/** The zones of all snapshots, summed by name (first snapshot's order). */
export function sumZones(snaps: readonly StackSnapshot[]): ZoneSnapshot[] {
  const out = new Map<string, ZoneSnapshot>();
  const add = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b);
  for (const s of snaps) {
    for (const z of s.zones) {
      const cur = out.get(z.name);
      if (!cur) {
        out.set(z.name, { ...z });
        continue;
      }
      cur.requests = add(cur.requests, z.requests);
      cur.fail = add(cur.fail, z.fail);
      // A zone the workers share is counted once; its requests are each worker's own.
      if (z.shared) continue;
      cur.used += z.used;
      cur.free += z.free;
      cur.sleep += z.sleep;
      // A limit is the stack's (the same tunable in every worker), not the workers' added up.
      cur.limit = Math.max(cur.limit, z.limit);
    }
  }
  return [...out.values()];
}

const n = (v: number | null) => (v === null ? '-' : String(v));

export function formatZones(snaps: readonly StackSnapshot[]): string {
  let s =
    `${left('ITEM', 20)} ${right('SIZE', 6)} ${right('LIMIT', 6)} ${right('USED', 8)} ${right('FREE', 8)} ` +
    `${right('REQ', 8)} ${right('FAIL', 4)} ${right('SLEEP', 4)}\n\n`;
  for (const z of sumZones(snaps)) {
    s +=
      `${left(`${z.name}:`, 20, false)} ${right(n(z.size), 6)}, ${right(z.limit, 6)},${right(z.used, 8)},` +
      `${right(z.free, 8)},${right(n(z.requests), 8)},${right(n(z.fail), 4)},${right(z.sleep, 4)}\n`;
  }
  return `${s}\n`;
}
