/**
 * `mcstack pfctl` against `mcstack serve` (the embedded default, whose in-memory peer keeps
 * connecting to echo, discard and http-lite): a bad pf.conf exits 2 naming its line;
 * -f loads the rules into every worker and -e hooks pf in; the states of the peer's
 * connections appear in -s states, the rules' counters (summed over the workers) in
 * -s rules -v, the totals in -s info, the one state limit of all workers in -s memory; -e
 * twice is EEXIST; -d unhooks.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, until as untilDone, type CliRun } from './support/cli.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/cli/bin/mcstack.js');
const dir = mkdtempSync(join(tmpdir(), 'mcstack-pfctl-'));
const sock = join(dir, 'ctl.sock');
let daemon: ChildProcess | null = null;
let daemonErr = '';

function run(...argv: string[]): Promise<CliRun> {
  return runCli(sock, argv);
}

function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20000): Promise<T> {
  return untilDone(what, fn, ms, () => daemonErr);
}

before(async () => {
  daemon = spawn(process.execPath, [bin, 'serve', '--socket', sock], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stderr!.on('data', (d) => {
    daemonErr += d;
  });
  await until('the control socket', async () => existsSync(sock));
});

after(() => {
  if (daemon !== null && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('pfctl -f / -e / -s states / -s rules -v / -s info / -d against the daemon', { timeout: 60000 }, async () => {
  const file = join(dir, 'pf.conf');
  writeFileSync(
    file,
    '# the services\npass in proto tcp to port { 7 9 80 } flags any keep state\npass out proto tcp to port 99999\n',
  );
  const bad = await run('pfctl', '-f', file);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /line 3: illegal port value 99999/);
  writeFileSync(
    file,
    'set timeout interval 2\nset limit states 5000\npass in proto tcp to port { 7 9 80 } flags any keep state\npass out all no state\n',
  );
  const on = await run('pfctl', '-e', '-f', file);
  assert.equal(on.code, 0, on.err);
  assert.equal(on.out, 'pf enabled\n');
  const again = await run('pfctl', '-e');
  assert.equal(again.code, 1);
  assert.match(again.err, /EEXIST/);
  // The peer's new connections come in through the pass rules and leave states.
  const states = await until('states', async () => {
    const r = await run('pfctl', '-s', 'states');
    return /^all tcp \S+:(7|9|80) <- \S+:\d+ +\s+\w+:\w+$/m.test(r.out) ? r.out : undefined;
  });
  assert.ok(
    states
      .split('\n')
      .filter(Boolean)
      .every((l) => l.startsWith('all tcp ')),
  );
  const rules = await run('pfctl', '-s', 'rules', '-v');
  assert.equal(rules.code, 0, rules.err);
  const lines = rules.out.split('\n');
  assert.equal(lines[0], 'pass in proto tcp from any to any port = 7 keep state');
  assert.equal(lines[6], 'pass out all no state');
  const evals = [...rules.out.matchAll(/Evaluations: (\d+) +Packets: (\d+)/g)].map((m) => Number(m[2]));
  assert.equal(evals.length, 4);
  assert.ok(
    evals.some((n) => n > 0),
    'rules counted packets',
  );
  const info = await run('pfctl', '-s', 'info');
  assert.match(info.out, /^Status: Enabled for 0 days \d\d:\d\d:\d\d +Debug: Urgent$/m);
  assert.match(info.out, /^ {2}current entries +\d+$/m);
  assert.match(info.out, /^ {2}state-mismatch +\d+ +\d+\.\d\/s$/m);
  // One limit for every worker's states together, and the count it bounds.
  assert.equal((await run('pfctl', '-s', 'memory')).out, 'states        hard limit     5000\n');
  const j = JSON.parse((await run('pfctl', '-s', 'info', '--json')).out);
  assert.equal(j.report.limitStates, 5000);
  assert.ok(j.report.statesInUse > 0 && j.report.statesInUse <= 5000);
  assert.ok(j.report.status.inserts > 0);
  assert.equal(j.report.rules.length, 4);
  const off = await run('pfctl', '-d');
  assert.equal(off.out, 'pf disabled\n');
  assert.match((await run('pfctl', '-d')).err, /ENOENT/);
  assert.equal((await run('pfctl', '-s', 'bogus')).code, 2);
  assert.equal((await run('pfctl')).code, 2);
});
