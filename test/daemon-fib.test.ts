/**
 * The FIB tools against a running daemon started with two routing tables (the `net.fibs`
 * loader tunable in its config) and a default route in FIB 1 only: `netstat -rn -F N`,
 * `route add|delete|get|show -F N`, `ifconfig cxgbe0 fib N` (and its `fib:` line),
 * `sysctl net.fibs` (read-only), and `setfib N COMMAND` run through the real binary. The
 * daemon is always killed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './support/cli.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/cli/bin/mcstack.js');
const dir = mkdtempSync(join(tmpdir(), 'mcstack-fib-'));
const sock = join(dir, 'ctl.sock');
let daemon: ChildProcess | null = null;
let daemonErr = '';

function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return runCli(sock, argv);
}

/** The real binary (setfib's FIB reaches the command it runs, and that command's children, by the environment). */
function binary(...argv: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [bin, ...argv, '--socket', sock], { encoding: 'utf8', cwd: root, timeout: 20000 });
}

before(async () => {
  const cfg = join(dir, 'fib.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      workers: 1,
      addrs: ['10.0.0.1/24', 'fd00::1/64'],
      tunables: { 'net.fibs': 2 },
      routes: [{ dst: 'default', gateway: '10.0.0.254', fib: 1 }],
      apps: [],
    }),
  );
  daemon = spawn(process.execPath, [bin, 'serve', '--config', cfg, '--socket', sock], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  daemon.stderr!.on('data', (d) => {
    daemonErr += d;
  });
  const end = Date.now() + 20000;
  while (!existsSync(sock)) {
    if (Date.now() > end || daemon.exitCode !== null) throw new Error(`no daemon: ${daemonErr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(() => {
  if (daemon !== null && daemon.exitCode === null) daemon.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('netstat -rn -F 1 shows FIB 1 (its default route, the connected prefixes); FIB 0 has no default', async () => {
  const f1 = await run('netstat', '-rn', '-F', '1');
  assert.equal(f1.code, 0, f1.err);
  assert.match(f1.out, /^Routing tables \(fib: 1\)\n\nInternet:\n/);
  assert.match(f1.out, /^default +10\.0\.0\.254 +UGS +cxgbe0$/m);
  assert.match(f1.out, /^10\.0\.0\.0\/24 {8}link#\d+ {13}U {8}cxgbe0$/m);
  assert.match(f1.out, /^fd00::\/64 +link#\d+ +U +cxgbe0$/m, 'IPv6 connected prefix in FIB 1');
  assert.doesNotMatch(f1.out, /^fd00::1 /m, 'the IPv6 address itself only in the default FIB');
  const f0 = await run('netstat', '-rn');
  assert.match(f0.out, /^Routing tables\n/);
  assert.doesNotMatch(f0.out, /^default/m);
  assert.match(f0.out, /^fd00::1 +link#\d+ +UH +lo0$/m);
  const f2 = await run('netstat', '-rn', '-F', '2');
  assert.equal(f2.code, 1);
  assert.match(f2.err, /2: invalid fib/);
});

test('route get|show -F N, add and delete in FIB 1; EEXIST, ESRCH and EINVAL', async () => {
  const g = await run('route', '-n', '-F', '1', 'get', '8.8.8.8');
  assert.equal(g.code, 0, g.err);
  assert.match(
    g.out,
    /^ {3}route to: 8\.8\.8\.8\ndestination: default\n {7}mask: default\n {4}gateway: 10\.0\.0\.254\n {8}fib: 1\n {2}interface: cxgbe0\n {6}flags: <UP,GATEWAY,DONE,STATIC>\n/,
  );
  assert.match(g.out, / recvpipe +sendpipe +ssthresh +rtt,msec +mtu +weight +expire\n +0 +0 +0 +0 +1500 +1 +0 \n$/);
  const six = await run('route', '-F', '1', 'get', '-inet6', 'fd00::5');
  assert.equal(six.code, 0, six.err);
  assert.match(six.out, /^destination: fd00::\n {7}mask: ffff:ffff:ffff:ffff::\n {8}fib: 1\n {2}interface: cxgbe0\n/m);
  const miss = await run('route', 'show', '8.8.8.8');
  assert.equal(miss.code, 1, 'FIB 0 has no route to 8.8.8.8');
  assert.match(miss.err, /ESRCH: route has not been found/);
  const add = await run('route', '-F', '1', 'add', '-net', '192.0.2.0/24', '10.0.0.253');
  assert.equal(add.code, 0, add.err);
  assert.equal(add.out, 'add net 192.0.2.0/24: gateway 10.0.0.253 fib 1\n');
  assert.equal((await run('route', 'add', '192.0.2.0/24', '10.0.0.253', '-fib', '1')).code, 1, 'EEXIST');
  const h = await run('route', 'get', '-fib', '1', '192.0.2.9', '--json');
  assert.equal(JSON.parse(h.out).route.gateway, '10.0.0.253');
  assert.match((await run('netstat', '-rn', '-F', '1')).out, /^192\.0\.2\.0\/24 +10\.0\.0\.253 +UGS +cxgbe0$/m);
  assert.doesNotMatch((await run('netstat', '-rn')).out, /^192\.0\.2/m);
  const del = await run('route', '-F', '1', 'delete', '192.0.2.0/24');
  assert.equal(del.code, 0, del.err);
  assert.equal(del.out, 'delete net 192.0.2.0/24 fib 1\n');
  assert.match((await run('route', '-F', '1', 'delete', '192.0.2.0/24')).err, /ESRCH/);
  const bad = await run('route', '-F', '2', 'get', 'default');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /EINVAL: fib 2 is not below net\.fibs \(2\)/);
  assert.equal((await run('route', '-F', 'x', 'get', 'default')).code, 2);
  assert.equal((await run('route', 'add', 'default')).code, 2, 'add without a gateway');
  assert.equal((await run('route', 'flush')).code, 2);
});

test('ifconfig cxgbe0 fib 1 shows fib: 1; fib 2 is EINVAL; net.fibs is a read-only tunable', async () => {
  assert.equal((await run('ifconfig', 'cxgbe0', 'fib', '1')).code, 0);
  assert.match((await run('ifconfig', 'cxgbe0')).out, /^\tfib: 1$/m);
  const bad = await run('ifconfig', 'cxgbe0', 'fib', '2');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /EINVAL/);
  assert.equal((await run('ifconfig', 'cxgbe0', 'fib', '0')).code, 0);
  assert.doesNotMatch((await run('ifconfig', 'cxgbe0')).out, /fib:/);
  assert.equal((await run('sysctl', 'net.fibs')).out, 'net.fibs: 2\n');
  assert.match((await run('sysctl', 'net.fibs=3')).err, /EPERM/);
  assert.equal((await run('sysctl', 'net.add_addr_allfibs')).out, 'net.add_addr_allfibs: 1\n');
});

test('setfib 1 COMMAND: route and netstat -r default to FIB 1; a bad FIB is a usage error', () => {
  const g = binary('setfib', '1', 'route', 'get', '8.8.8.8');
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stdout, /^ {8}fib: 1$/m);
  const n = binary('setfib', '1', 'netstat', '-rn');
  assert.equal(n.status, 0, n.stderr);
  assert.match(n.stdout, /^Routing tables \(fib: 1\)\n/);
  const over = binary('setfib', '1', 'route', '-F', '0', 'get', '8.8.8.8');
  assert.equal(over.status, 1, '-F overrides the process FIB');
  const missing = binary('setfib', '9', 'route', 'get', '8.8.8.8');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /EINVAL/);
  assert.equal(binary('setfib', 'x', 'netstat', '-rn').status, 2);
  assert.equal(binary('setfib', '1').status, 2);
});
