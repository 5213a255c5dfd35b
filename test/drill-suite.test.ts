// The FreeBSD TCP test suite (../shared/data/tcp-testsuite) through the packetdrill
// runner against the engine: (a) at least 60% of the scripts pass, and (b) the
// scripts that do not pass are exactly those in test/drill-known-failures.txt, each
// with its status and a one-line reason, so a regression and a silent fix both show.
//
// After an engine change, refresh the list with
//   DRILL_UPDATE=1 node --test test/dist/drill-suite.test.js
// (reasons of scripts still failing the same way are kept; new ones get the runner's
// first message line: edit them into a reason a person can act on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runScriptFile, summarize, type DrillResult } from '@mcstack/packetdrill';
import { repoRoot, suiteDir, suiteScripts } from './drill-suite-files.js';

const LIST = join(repoRoot, 'test', 'drill-known-failures.txt');
const MIN_PASS_RATE = 0.6;

interface Known {
  status: string;
  reason: string;
}

function readList(): Map<string, Known> {
  const m = new Map<string, Known>();
  if (!existsSync(LIST)) return m;
  for (const line of readFileSync(LIST, 'utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [file, status, ...reason] = line.split('\t');
    m.set(file!, { status: status!, reason: reason.join('\t') });
  }
  return m;
}

function firstLine(r: DrillResult): string {
  return `${r.line !== undefined ? `line ${r.line}: ` : ''}${(r.message ?? '').split('\n')[0]}`;
}

function writeList(results: DrillResult[], old: Map<string, Known>): void {
  const lines = [
    '# Scripts of ../shared/data/tcp-testsuite that do not pass, with why (see test/drill-suite.test.ts).',
    '# file<TAB>status<TAB>reason',
  ];
  for (const r of results) {
    if (r.status === 'pass') continue;
    const prev = old.get(r.file);
    const reason = prev && prev.status === r.status ? prev.reason : firstLine(r);
    lines.push(`${r.file}\t${r.status}\t${reason}`);
  }
  writeFileSync(LIST, `${lines.join('\n')}\n`);
}

test('the FreeBSD TCP test suite: pass rate and known failures', (t) => {
  if (!existsSync(suiteDir)) {
    t.skip(`${suiteDir} is absent (../shared is not checked out next to the repository)`);
    return;
  }
  const files = suiteScripts();
  const started = process.hrtime.bigint();
  const results = files.map((f) => ({ ...runScriptFile(f), file: relative(suiteDir, f) }));
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  const s = summarize(results);
  t.diagnostic(
    `${s.pass}/${s.total} pass (${((100 * s.pass) / s.total).toFixed(1)}%), ${s.fail} fail, ${s.error} error, ${secs.toFixed(1)} s`,
  );

  const known = readList();
  if (process.env.DRILL_UPDATE) writeList(results, known);
  const list = process.env.DRILL_UPDATE ? readList() : known;

  const unexpected: string[] = [];
  for (const r of results) {
    const k = list.get(r.file);
    if (r.status === 'pass' && k) unexpected.push(`${r.file}: now passes (remove it from the list)`);
    if (r.status !== 'pass' && !k) unexpected.push(`${r.file}: ${r.status} (not in the list): ${firstLine(r)}`);
    if (r.status !== 'pass' && k && k.status !== r.status)
      unexpected.push(`${r.file}: ${r.status}, listed as ${k.status}: ${firstLine(r)}`);
  }
  for (const f of list.keys()) {
    if (!results.some((r) => r.file === f)) unexpected.push(`${f}: listed but not in the suite`);
  }
  assert.deepEqual(unexpected, [], 'the failing scripts differ from test/drill-known-failures.txt');
  assert.ok(
    s.pass / s.total >= MIN_PASS_RATE,
    `only ${s.pass}/${s.total} scripts pass; at least ${MIN_PASS_RATE * 100}% must`,
  );
});
