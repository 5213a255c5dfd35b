/**
 * Running scripts from files: directories are walked for *.pkt (sorted), and the
 * results summarised. The CLI and the suite test share this.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runScript, type DrillResult, type RunOptions } from './runner.js';

/** The .pkt files named by `paths`: files as given, directories walked recursively in name order. */
export function collectScripts(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.pkt')) out.push(p);
    }
  };
  for (const p of paths) {
    if (statSync(p).isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}

export function runScriptFile(path: string, opts: Omit<RunOptions, 'file'> = {}): DrillResult {
  return runScript(readFileSync(path, 'utf8'), { ...opts, file: path });
}

export interface DrillSummary {
  total: number;
  pass: number;
  fail: number;
  error: number;
}

export function summarize(results: readonly DrillResult[]): DrillSummary {
  const s: DrillSummary = { total: results.length, pass: 0, fail: 0, error: 0 };
  for (const r of results) s[r.status]++;
  return s;
}

/** One line per script (`PASS file`, `FAIL file:line: message`), then the totals. */
export function formatResults(results: readonly DrillResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const where = r.line !== undefined ? `${r.file}:${r.line}` : r.file;
    if (r.status === 'pass') lines.push(`PASS  ${r.file}`);
    else lines.push(`${r.status.toUpperCase()}  ${where}: ${(r.message ?? '').replace(/\n/g, '\n      ')}`);
  }
  const s = summarize(results);
  const pct = s.total === 0 ? 0 : (100 * s.pass) / s.total;
  lines.push(`${s.pass}/${s.total} passed (${pct.toFixed(1)}%), ${s.fail} failed, ${s.error} error`);
  return `${lines.join('\n')}\n`;
}
