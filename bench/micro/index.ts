/**
 * `npm run bench:micro`: every `*.bench.js` beside this file registers its tasks
 * on one tinybench Bench; results print as a table and are written as JSON to
 * bench/results/micro.json. Throughput figures are per operation as each task
 * defines it (`unitsPerOp` says how many hashes / bytes / headers one op is).
 */
import { Bench } from 'tinybench';
import { readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface MicroTask {
  name: string;
  /** What one op does, in `unit`s (e.g. 1024 hashes in a batch loop, 1500 bytes). */
  unitsPerOp: number;
  unit: string;
  /** The target from the issue, in units per second, when there is one. */
  target?: number;
  fn: () => void;
}

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const tasks: MicroTask[] = [];
for (const f of readdirSync(here)
  .filter((n) => n.endsWith('.bench.js'))
  .sort()) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { tasks: MicroTask[] };
  for (const t of mod.tasks) if (!filter || t.name.includes(filter)) tasks.push(t);
}

const bench = new Bench({ time: 500, warmupTime: 200 });
for (const t of tasks) bench.add(t.name, t.fn);
await bench.run();

const rows = tasks.map((t, i) => {
  const r = bench.tasks[i]!.result as { throughput?: { mean: number; rme: number }; hz?: number } | undefined;
  const opsPerSec = r?.throughput?.mean ?? r?.hz ?? 0;
  const perSec = opsPerSec * t.unitsPerOp;
  return {
    task: t.name,
    rate: perSec,
    unit: `${t.unit}/s`,
    /** The mean's 95% confidence interval, ± % of it (tinybench's rme). */
    rme: r?.throughput?.rme ?? null,
    target: t.target ?? null,
    meets: t.target === undefined ? null : perSec >= t.target,
  };
});
console.table(
  rows.map((r) => ({
    ...r,
    rate: fmt(r.rate),
    rme: r.rme === null ? '' : `±${r.rme.toFixed(1)}%`,
    target: r.target === null ? '' : fmt(r.target),
  })),
);
const out = join(here, '..', '..', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'micro.json'),
  JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2),
);
console.log(`wrote ${join(out, 'micro.json')}`);

function fmt(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} k`;
  return n.toFixed(2);
}
