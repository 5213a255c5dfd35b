/**
 * An epair between the daemon's own stack and a vnet jail (runtime hostepair.ts), made as
 * on FreeBSD: `ifconfig epair create` in the host, `ifconfig epair0b vnet J`. The jail's
 * rr-client reaches the daemon's own echo (its group workers) over it, traffic both ways;
 * on the host side every connection is in the worker RSS gives its flow. Removing the jail
 * brings the b end home; `destroy` takes both ends away.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliAt } from './support/cli.js';
import { serve, defaultConfig, type Daemon } from '@mcstack/cli/daemon';

const dir = mkdtempSync(join(tmpdir(), 'mcstack-hostepair-'));
const sock = join(dir, 'ctl.sock');
let d: Daemon;

before(async () => {
  d = await serve({ ...defaultConfig(), workers: 2 }, { socket: sock });
});

after(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

const { run, ok } = cliAt(sock);

const established = (out: string, re: RegExp) =>
  out.split('\n').filter((l) => /^tcp4\s+0\s+0\s.*ESTABLISHED/.test(l) && re.test(l)).length;

test("ifconfig epair create in the daemon's stack, epair0b vnet J: a jail's client reaches the daemon's echo", async () => {
  const CONNS = 6;
  const misdirected0 = (await d.stack.stats()).total.misdirected;
  assert.equal(await ok('jail', '-c', 'name=j1', 'vnet'), 'j1: created\n');
  assert.equal(await ok('ifconfig', 'epair', 'create'), 'epair0a\n');
  await ok('ifconfig', 'epair0b', 'vnet', 'j1');
  await ok('ifconfig', 'epair0a', 'inet', '10.7.0.1/24');
  await ok('ifconfig', '-j', 'j1', 'epair0b', 'inet', '10.7.0.2/24');
  assert.match(await ok('ifconfig', 'epair0a'), /inet 10\.7\.0\.1 netmask 0xffffff00/);
  assert.match(await ok('ifconfig', '-j', 'j1'), /^epair0b: flags=/m);
  // A jail's own epair takes the next unit: epair0's names are taken.
  assert.equal(await ok('ifconfig', '-j', 'j1', 'epair', 'create'), 'epair1a\n');
  await ok('ifconfig', '-j', 'j1', 'epair1a', 'destroy');
  assert.equal(
    await ok(
      'jexec',
      'j1',
      'rr-client',
      'addr=10.7.0.1',
      'port=7',
      `connections=${CONNS}`,
      'size=100',
      'transactions=20',
      'hold=true',
    ),
    'j1: rr-client started\n',
  );
  const end = Date.now() + 20_000;
  let host = '';
  while (Date.now() < end) {
    host = await ok('netstat', '-n', '-p', 'tcp');
    if (established(host, /10\.7\.0\.1\.7\s+10\.7\.0\.2\.\d+/) === CONNS) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(established(host, /10\.7\.0\.1\.7\s+10\.7\.0\.2\.\d+/), CONNS, host);
  const jail = await ok('netstat', '-j', 'j1', '-n', '-p', 'tcp');
  assert.equal(established(jail, /10\.7\.0\.2\.\d+\s+10\.7\.0\.1\.7\b/), CONNS, jail);
  // RSS on the host side: each connection is in the group that owns its bucket, so none
  // was misdirected, and the client's requests all came back (nothing left in flight).
  const snaps = await d.stack.snapshots();
  const owners = snaps.map(
    (s) => s.connections.filter((c) => c.laddr === '10.7.0.1' && c.lport === 7 && c.state === 'ESTABLISHED').length,
  );
  assert.equal(
    owners.reduce((a, b) => a + b, 0),
    CONNS,
  );
  assert.equal((await d.stack.stats()).total.misdirected, misdirected0, 'every frame reached the owner of its flow');
  // The jail goes, nothing of its stack left behind: its b end comes home, and its RSTs
  // reached the daemon's connections.
  assert.equal(await ok('jail', '-r', 'j1'), 'j1: removed\n');
  const gone = Date.now() + 10_000;
  while (Date.now() < gone && established(host, /10\.7\.0\.2\./) > 0) {
    await new Promise((r) => setTimeout(r, 100));
    host = await ok('netstat', '-n', '-p', 'tcp');
  }
  assert.equal(established(host, /10\.7\.0\.2\./), 0, host);
  // Refusals: cxgbe0 and the a end do not move; a jail that does not exist.
  assert.match((await run('ifconfig', 'cxgbe0', 'vnet', 'j1')).err, /EOPNOTSUPP/);
  assert.match((await run('ifconfig', 'epair0a', 'vnet', 'j1')).err, /EOPNOTSUPP/);
  assert.match((await run('ifconfig', 'epair0b', 'vnet', 'nope')).err, /ENOENT/);
  await ok('ifconfig', 'epair0a', 'destroy');
  assert.doesNotMatch(await ok('ifconfig'), /epair/);
});
