/**
 * Vnet jails in the daemon (runtime vnet.ts, cli jail/jls and the tools' -j): jails made
 * and removed while the daemon's own stack carries its peer's connections, an epair made in one jail and its end
 * moved to another, addresses, routes and sysctl values each jail's own, a module loaded
 * by kldload attached to every jail (those made later too), and the daemon's own
 * interfaces refusing moves (its epairs to jails: daemon-hostepair.test.ts). Apps inside jails (jexec), reached over an epair
 * from another jail, and over a vxlan link from a jail of another daemon.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliAt } from './support/cli.js';
import { freeUdpPort } from './support/udp.js';
import { serve, defaultConfig, type Daemon } from '@mcstack/cli/daemon';

const dir = mkdtempSync(join(tmpdir(), 'mcstack-vnet-'));
const sock = join(dir, 'ctl.sock');
let d: Daemon;

before(async () => {
  // The embedded default with one worker: the peer's paced clients keep the daemon's own
  // stack carrying connections while jails come and go.
  d = await serve({ ...defaultConfig(), workers: 1 }, { socket: sock });
});

after(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

const { run, ok } = cliAt(sock);

const accepts = async () => (await d.stack.stats()).tcpstat.tcps_accepts ?? 0;

test('jail -c/-r, jls, ifconfig/netstat/sockstat/sysctl -j, epair and vnet moves, modules in every jail', async () => {
  const before = await accepts();
  assert.equal((await ok('jls')).trim().split('\n').length, 1, 'no jail yet: the header alone');
  assert.equal(await ok('jail', '-c', 'name=a', 'vnet'), 'a: created\n');
  assert.equal(await ok('jail', '-c', 'name=b', 'vnet'), 'b: created\n');
  assert.equal(await ok('ifconfig', '-j', 'a', 'epair', 'create'), 'epair0a\n');
  await ok('ifconfig', '-j', 'a', 'epair0b', 'vnet', 'b');
  await ok('ifconfig', '-j', 'a', 'epair0a', 'inet', '10.9.0.1/24');
  await ok('ifconfig', '-j', 'b', 'epair0b', 'inet', '10.9.0.2/24');
  const ifb = await ok('ifconfig', '-j', 'b');
  assert.match(ifb, /^epair0b: flags=/m);
  assert.match(ifb, /inet 10\.9\.0\.2 netmask 0xffffff00/);
  assert.doesNotMatch(ifb, /epair0a/);
  assert.doesNotMatch(await ok('ifconfig'), /epair/, "the daemon's own stack has no epair");
  assert.match(await ok('netstat', '-j', 'a', '-rn'), /10\.9\.0\.0\/24\s.*epair0a/);
  assert.doesNotMatch(await ok('netstat', '-rn'), /10\.9\.0/);
  assert.equal((await ok('sockstat', '-j', 'a')).trim().split('\n').length, 1, 'no sockets in jail a');

  // Each jail's sysctl tree is its own, and the daemon's too.
  assert.equal(await ok('sysctl', '-j', 'a', 'net.inet.tcp.msl=1234'), 'net.inet.tcp.msl: 30000 -> 1234\n');
  assert.equal(await ok('sysctl', '-j', 'b', 'net.inet.tcp.msl'), 'net.inet.tcp.msl: 30000\n');
  assert.equal(await ok('sysctl', 'net.inet.tcp.msl'), 'net.inet.tcp.msl: 30000\n');

  // A module loaded now is in every jail, and in one made after.
  await ok('kldload', 'cc_htcp');
  assert.match(await ok('sysctl', '-j', 'a', 'net.inet.tcp.cc.available'), /htcp/);
  await ok('jail', '-c', 'name=c', 'vnet');
  assert.match(await ok('sysctl', '-j', 'c', 'net.inet.tcp.cc.available'), /htcp/);
  assert.match(await ok('sysctl', 'net.inet.tcp.cc.available'), /htcp/);
  await ok('kldunload', 'cc_htcp');
  assert.doesNotMatch(await ok('sysctl', '-j', 'b', 'net.inet.tcp.cc.available'), /htcp/);

  const jls = await ok('jls');
  assert.match(jls, /^\s+1\s+a\s+\/$/m);
  assert.match(jls, /^\s+3\s+c\s+\/$/m);
  const json = JSON.parse(await ok('jls', '--json')) as { jid: number; name: string }[];
  assert.deepEqual(
    json.map((j) => [j.jid, j.name]),
    [
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ],
  );

  // Refusals, with their codes.
  assert.match((await run('ifconfig', 'cxgbe0', 'vnet', 'a')).err, /EOPNOTSUPP/);
  assert.match((await run('ifconfig', '-j', 'a', 'epair0a', 'vnet', '0')).err, /EOPNOTSUPP/);
  assert.match((await run('jail', '-c', 'name=a', 'vnet')).err, /EEXIST/);
  assert.notEqual((await run('jail', '-c', 'name=x')).code, 0);
  assert.match((await run('jail', '-r', 'nope')).err, /ENOENT/);
  assert.match((await run('ifconfig', '-j', 'nope')).err, /ENOENT/);

  // jail -r a: its epair goes with it, b's end included.
  assert.equal(await ok('jail', '-r', 'a'), 'a: removed\n');
  assert.doesNotMatch(await ok('ifconfig', '-j', 'b'), /epair0b/);
  assert.deepEqual(
    (JSON.parse(await ok('jls', '--json')) as { name: string }[]).map((j) => j.name),
    ['b', 'c'],
  );
  assert.match(await ok('ifconfig'), /^cxgbe0: /m, "the daemon's stack is untouched");
  // Its traffic went on meanwhile: the peer's clients kept connecting.
  const end = Date.now() + 10_000;
  while ((await accepts()) <= before && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.ok((await accepts()) > before, 'connections accepted by the daemon while jails came and went');
});

test('apps inside jails: echo in one, a client in another over an epair, seen by netstat and sockstat -j', async () => {
  await ok('jail', '-c', 'name=web', 'vnet');
  await ok('jail', '-c', 'name=db', 'vnet');
  const ea = (await ok('ifconfig', '-j', 'web', 'epair', 'create')).trim();
  const eb = ea.replace(/a$/, 'b');
  await ok('ifconfig', '-j', 'web', eb, 'vnet', 'db');
  await ok('ifconfig', '-j', 'web', ea, 'inet', '10.7.0.1/24');
  await ok('ifconfig', '-j', 'db', eb, 'inet', '10.7.0.2/24');
  assert.equal(await ok('jexec', 'web', 'echo', 'port=7'), 'web: echo started\n');
  assert.equal(
    await ok(
      'jexec',
      'db',
      'rr-client',
      'addr=10.7.0.1',
      'port=7',
      'connections=2',
      'size=100',
      'transactions=20',
      'hold=true',
    ),
    'db: rr-client started\n',
  );
  // The client's transactions go through web's echo: both jails list the two connections,
  // idle once done (nothing left unacknowledged: an RST is then at the sequence the peer
  // has acknowledged, which RFC 5961 §3.2 wants).
  const established = (out: string, local: RegExp) =>
    out.split('\n').filter((l) => /^tcp4\s+0\s+0\s.*ESTABLISHED/.test(l) && local.test(l)).length;
  const end = Date.now() + 20_000;
  let web = '';
  while (Date.now() < end) {
    web = await ok('netstat', '-j', 'web', '-n', '-p', 'tcp');
    if (established(web, /10\.7\.0\.1\.7\s+10\.7\.0\.2\.\d+/) === 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(established(web, /10\.7\.0\.1\.7\s+10\.7\.0\.2\.\d+/), 2, web);
  const db = await ok('netstat', '-j', 'db', '-n', '-p', 'tcp');
  assert.equal(established(db, /10\.7\.0\.2\.\d+\s+10\.7\.0\.1\.7\b/), 2, db);
  assert.match(await ok('sockstat', '-j', 'web', '-4l'), / echo\/\S*\s+\d+\s+\d+\s+tcp4\s+\*:7\s/);
  assert.doesNotMatch(await ok('netstat', '-n', '-p', 'tcp'), /10\.7\.0\./, "the daemon's own stack has none of it");
  // Refusals: no such app, the port taken, no such jail, no app named.
  assert.match((await run('jexec', 'web', 'nosuch')).err, /MCSTACK_NOAPP/);
  // The app's declared options (apps/options.ts): an unknown key, a value out of range.
  assert.match(
    (await run('jexec', 'web', 'echo', 'port=8', 'colour=red')).err,
    /EINVAL.*app 'echo': unknown option 'colour'/,
  );
  assert.match(
    (await run('jexec', 'web', 'discard', 'port=70000')).err,
    /EINVAL.*option 'port' must be an integer from 1 to 65535/,
  );
  assert.match((await run('jexec', 'web', 'echo', 'port=7')).err, /EADDRINUSE/);
  assert.match((await run('jexec', 'nope', 'echo', 'port=8')).err, /ENOENT/);
  assert.equal((await run('jexec', 'web')).code, 2);
  // web goes: its stack resets the connections, and db's client sees them end.
  assert.equal(await ok('jail', '-r', 'web'), 'web: removed\n');
  const gone = Date.now() + 10_000;
  let after = db;
  while (Date.now() < gone && established(after, /10\.7\.0\.1\.7\b/) > 0) {
    await new Promise((r) => setTimeout(r, 100));
    after = await ok('netstat', '-j', 'db', '-n', '-p', 'tcp');
  }
  assert.equal(established(after, /10\.7\.0\.1\.7\b/), 0, after);
  assert.equal(await ok('jail', '-r', 'db'), 'db: removed\n');
});

test("a jail's vxlan link: echo in a jail of this daemon, reached from a jail of another daemon", async () => {
  const sock2 = join(dir, 'ctl2.sock');
  const d2 = await serve({ ...defaultConfig(), workers: 1 }, { socket: sock2 });
  const ok2 = cliAt(sock2).ok;
  try {
    const [p1, p2] = [await freeUdpPort(), await freeUdpPort()];
    const vx = (local: number, remote: number) => [
      'vxlanid',
      '42',
      'vxlanlocal',
      '127.0.0.1',
      'vxlanremote',
      '127.0.0.1',
      'vxlanlocalport',
      String(local),
      'vxlanremoteport',
      String(remote),
    ];
    await ok('jail', '-c', 'name=srv', 'vnet');
    assert.equal(await ok('ifconfig', '-j', 'srv', 'vxlan0', 'create', ...vx(p1, p2)), 'vxlan0\n');
    await ok('ifconfig', '-j', 'srv', 'vxlan0', 'inet', '10.8.0.1/24');
    await ok('jexec', 'srv', 'echo', 'port=7');
    await ok2('jail', '-c', 'name=cli', 'vnet');
    await ok2('ifconfig', '-j', 'cli', 'vxlan0', 'create', ...vx(p2, p1));
    await ok2('ifconfig', '-j', 'cli', 'vxlan0', 'inet', '10.8.0.2/24');
    assert.match(await ok2('ifconfig', '-j', 'cli', 'vxlan0'), /mtu 1450/);
    await ok2('jexec', 'cli', 'rr-client', 'addr=10.8.0.1', 'port=7', 'connections=2', 'transactions=20', 'hold=true');
    const idle = /^tcp4\s+0\s+0\s+10\.8\.0\.1\.7\s+10\.8\.0\.2\.\d+\s+ESTABLISHED/gm;
    const end = Date.now() + 20_000;
    let srv = '';
    while (Date.now() < end) {
      srv = await ok('netstat', '-j', 'srv', '-n', '-p', 'tcp');
      if ((srv.match(idle) ?? []).length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((srv.match(idle) ?? []).length, 2, srv);
    assert.match(
      await ok2('netstat', '-j', 'cli', '-n', '-p', 'tcp'),
      /10\.8\.0\.2\.\d+\s+10\.8\.0\.1\.7\s+ESTABLISHED/,
    );
    // Refused: a vxlan does not move, a second one on the same port does not bind.
    assert.match((await run('ifconfig', '-j', 'srv', 'vxlan0', 'vnet', 'web')).err, /EOPNOTSUPP/);
    assert.match((await run('ifconfig', '-j', 'srv', 'vxlan1', 'create', ...vx(p1, p2))).err, /EADDRINUSE/);
    assert.match((await run('ifconfig', '-j', 'srv', 'vxlan1', 'create', 'vxlanid', '42')).err, /EINVAL/);
    assert.match((await run('ifconfig', 'vxlan1', 'create', ...vx(p1, p2))).err, /EOPNOTSUPP/);
    // srv goes: its RSTs cross the link and end cli's connections.
    assert.equal(await ok('jail', '-r', 'srv'), 'srv: removed\n');
    const gone = Date.now() + 10_000;
    let cli = '';
    do {
      await new Promise((r) => setTimeout(r, 100));
      cli = await ok2('netstat', '-j', 'cli', '-n', '-p', 'tcp');
    } while (Date.now() < gone && /ESTABLISHED/.test(cli));
    assert.doesNotMatch(cli, /ESTABLISHED/);
    await ok2('ifconfig', '-j', 'cli', 'vxlan0', 'destroy');
    assert.doesNotMatch(await ok2('ifconfig', '-j', 'cli'), /vxlan0/);
  } finally {
    await d2.close();
  }
});
