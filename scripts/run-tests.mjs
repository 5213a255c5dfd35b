// Runs every compiled test file (packages/*/dist/test/**/*.test.js, bench/dist/test/**/*.test.js
// and test/dist/**/*.test.js) with node's own test runner, so the closing summary is
// node:test's. Extra arguments are passed through (e.g. --test-name-pattern).
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const roots = readdirSync('packages').map((p) => join('packages', p, 'dist', 'test'));
roots.push(join('bench', 'dist', 'test'), join('test', 'dist'));
const files = roots.flatMap((r) => walk(r, [])).sort();
if (files.length === 0) {
  console.error('run-tests: no compiled test files found (did tsc -b run?)');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', ...process.argv.slice(2), ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
