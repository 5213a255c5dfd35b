// Where the FreeBSD TCP test suite lives for the drill tests: ../shared next to the
// repository root (absent on a fresh clone; the tests then skip saying so).
import { readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is compiled to test/dist/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const suiteDir = resolve(repoRoot, '..', 'shared', 'data', 'tcp-testsuite');

/** Every .pkt under the suite, sorted, as absolute paths. */
export function suiteScripts(dir = suiteDir): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.pkt')) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}
