/**
 * `mcstack serve` (the embedded default: cxgbe0 joined to an in-memory peer whose paced
 * clients keep connections to echo, discard and http-lite coming and going) started as a
 * child process on a temporary socket, and every tool run against it, human output
 * checked against FreeBSD's formats and --json against the same data: ifconfig (and a
 * txcsum toggle), netstat -np tcp / -x / -s -p tcp / -rn, sockstat -46c, sysctl get/set,
 * vmstat -z, dmesg, capture (pcapng read back by packages/wire and, when installed, by tshark).
 * Hostile lines sent raw to the control socket get error replies and the daemon serves on.
 * Ends with SIGTERM: exit 0 and the socket removed. The daemon is always killed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '@mcstack/cli';
import { runCli, until as untilDone, type CliRun } from './support/cli.js';
import { readPcapng } from '@mcstack/wire';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/cli/bin/mcstack.js');
const dir = mkdtempSync(join(tmpdir(), 'mcstack-daemon-'));
const sock = join(dir, 'ctl.sock');
let daemon: ChildProcess | null = null;
let daemonErr = '';
let exited: Promise<number | null>;

function run(...argv: string[]): Promise<CliRun> {
  return runCli(sock, argv);
}

function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20000): Promise<T> {
  return untilDone(what, fn, ms, () => daemonErr);
}

before(async () => {
  // The socket path through the environment variable; the tools pass --socket.
  daemon = spawn(process.execPath, [bin, 'serve'], {
    cwd: root,
    env: { ...process.env, MCSTACK_SOCKET: sock },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemon.stderr!.on('data', (d) => {
    daemonErr += d;
  });
  exited = new Promise((r) => daemon!.once('exit', (code) => r(code)));
  await until('the control socket', async () => existsSync(sock));
});

after(() => {
  if (daemon !== null && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test("the socket is its owner's only (0600)", () => {
  assert.equal(statSync(sock).mode & 0o777, 0o600);
  assert.ok(statSync(sock).isSocket());
});

test('ifconfig: FreeBSD format, -m capabilities, --json, txcsum toggles options=', { timeout: 30000 }, async () => {
  const r = await run('ifconfig', '-a');
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /^cxgbe0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\n\toptions=[0-9a-f]+<RXCSUM,TXCSUM,[A-Z0-9_,]*>\n\tether 02:00:00:00:00:01\n\tinet 10\.0\.0\.1 netmask 0xffffff00 broadcast 10\.0\.0\.255\n\tinet6 fd00::1 prefixlen 64\n\tmedia: Ethernet autoselect <rxpause,txpause>\n\tstatus: active\n/m,
  );
  assert.match(r.out, /^lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384\n/m);
  assert.doesNotMatch(r.out, /capabilities=/);
  const m = await run('ifconfig', '-m', 'cxgbe0');
  assert.match(m.out, /^\tcapabilities=[0-9a-f]+<RXCSUM,TXCSUM,.*TSO4,TSO6,LRO,TOE4,TOE6,.*RXCSUM_IPV6,TXCSUM_IPV6>$/m);
  assert.doesNotMatch(m.out, /^lo0/m);
  const j = JSON.parse((await run('ifconfig', '--json')).out);
  assert.deepEqual(j.interfaces.map((i: { name: string }) => i.name).sort(), ['cxgbe0', 'lo0']);

  const options = async () =>
    /\toptions=[0-9a-f]+<([^>]*)>/.exec((await run('ifconfig', 'cxgbe0')).out)![1]!.split(',');
  const off = await run('ifconfig', 'cxgbe0', '-txcsum');
  assert.deepEqual([off.code, off.out, off.err], [0, '', '']);
  assert.ok(!(await options()).includes('TXCSUM'));
  assert.ok((await options()).includes('RXCSUM'));
  assert.equal((await run('ifconfig', 'cxgbe0', 'txcsum')).code, 0);
  assert.ok((await options()).includes('TXCSUM'));
  const bad = await run('ifconfig', 'cxgbe0', 'frobnicate');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown parameter 'frobnicate'/);
  const none = await run('ifconfig', 'em9');
  assert.equal(none.code, 1);
  assert.match(none.err, /interface em9 does not exist/);
});

test('netstat -np tcp lists live connections to echo, discard (IPv6) and http-lite', { timeout: 30000 }, async () => {
  const seen = await until('connections to ports 7, 9 and 80', async () => {
    const r = await run('netstat', '-np', 'tcp');
    const ports = new Set(
      [...r.out.matchAll(/^(?:tcp|toe)[46]\s+\d+\s+\d+\s+(?:10\.0\.0\.1|fd00::1)\.(\d+)\s/gm)].map((x) => x[1]),
    );
    return ports.has('7') && ports.has('9') && ports.has('80') ? r.out : undefined;
  });
  const lines = seen.split('\n');
  assert.equal(lines[0], 'Active Internet connections');
  assert.equal(lines[1], 'Proto Recv-Q Send-Q Local Address          Foreign Address        (state)    ');
  for (const l of lines.slice(2).filter(Boolean)) {
    assert.match(
      l,
      // toe4/toe6: on the TOE card (the default loads t4_tom and turns toe on).
      /^(tcp|toe)[46] {2,}\d+ +\d+ (10\.0\.0\.1|fd00::1)\.(7|9|80) +(10\.0\.0\.2|fd00::2)\.\d+ +[A-Z_0-9]+ *$/,
      l,
    );
  }
  assert.match(seen, /^(tcp|toe)6 .* fd00::1\.9 +fd00::2\.\d+ +ESTABLISHED/m);
  assert.doesNotMatch(seen, /LISTEN/);
  const all = await run('netstat', '-anp', 'tcp');
  assert.match(all.out, /^Active Internet connections \(including servers\)$/m);
  assert.match(all.out, /^tcp4 +0 +0 \*\.80 +\*\.\* +LISTEN/m);
  const j = JSON.parse((await run('netstat', '-np', 'tcp', '--json')).out);
  assert.equal(j.mode, 'connections');
  assert.ok(j.connections.length > 0);
  for (const c of j.connections) {
    assert.equal(c.proto, 'tcp');
    assert.notEqual(c.state, 'LISTEN');
  }
});

test('netstat -x shows the TCP timers; -s -p tcp the counters; -rn the routes', { timeout: 30000 }, async () => {
  const x = await run('netstat', '-x', '-p', 'tcp');
  assert.equal(x.code, 0, x.err);
  assert.match(x.out.split('\n')[1]!, /R-HIWA S-HIWA .* R-BMAX S-BMAX +rexmt persist +keep +2msl +delack rcvtime$/);
  assert.match(x.out, /^(tcp|toe)4 .*\d+\.\d\d +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d$/m);
  const s = await run('netstat', '-s', '-p', 'tcp');
  assert.match(s.out, /^tcp:\n\t\d+ packets sent\n\t\t\d+ data packets \(\d+ bytes\)\n/);
  assert.match(s.out, /^\t\d+ connection accepts?$/m);
  const sj = JSON.parse((await run('netstat', '-s', '-p', 'tcp', '--json')).out);
  assert.deepEqual(Object.keys(sj.stats), ['tcpstat']);
  assert.ok(sj.stats.tcpstat.tcps_accepts > 0);
  const r = await run('netstat', '-rn');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^Routing tables\n\nInternet:\nDestination {8}Gateway {12}Flags {5}Netif Expire\n/);
  assert.match(r.out, /^10\.0\.0\.0\/24 {8}link#\d+ {13}U {8}cxgbe0$/m);
  assert.match(r.out, /^Internet6:\nDestination {23}Gateway {23}Flags {5}Netif Expire$/m);
  assert.match(r.out, /^fd00::\/64 +link#\d+ +U +cxgbe0$/m);
  const f = await run('netstat', '-rn', '-F', '1');
  assert.equal(f.code, 1);
  assert.match(f.err, /1: invalid fib/);
  assert.equal((await run('netstat', '-q')).code, 2);
});

test('sockstat -46c names the app and worker of each socket', { timeout: 30000 }, async () => {
  const out = await until('sockstat rows for echo and http-lite', async () => {
    const r = await run('sockstat', '-46c');
    return /echo\/w\d/.test(r.out) && /http-lite\//.test(r.out) ? r.out : undefined;
  });
  const [head, ...rows] = out.split('\n').filter(Boolean);
  assert.equal(head, 'USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS      ');
  for (const l of rows) {
    if (l.startsWith('?')) continue; // no descriptor (closed, winding down)
    assert.match(
      l,
      new RegExp(
        `^\\S+ +(echo|discard|http-lite)/(w?\\d*|t|to|toe) +${daemon!.pid} +\\d+ +(tcp|toe)[46] +(10\\.0\\.0\\.1|fd00::1):(7|9|80) +(10\\.0\\.0\\.2|fd00::2):\\d+$`,
      ),
      l,
    );
  }
  assert.doesNotMatch(out, /\*:\*/); // -c: no listeners
  const j = JSON.parse((await run('sockstat', '-46c', '--json')).out);
  assert.ok(j.workers.length >= 1);
  assert.ok(j.workers.some((w: { sockets: unknown[] }) => w.sockets.length > 0));
});

test('sysctl: get, set (old -> new), get again, -a, unknown oid', { timeout: 30000 }, async () => {
  const g = await run('sysctl', 'net.inet.tcp.msl');
  assert.match(g.out, /^net\.inet\.tcp\.msl: \d+\n$/);
  const old = g.out.trim().split(': ')[1];
  const s = await run('sysctl', 'net.inet.tcp.msl=4000');
  assert.equal(s.out, `net.inet.tcp.msl: ${old} -> 4000\n`);
  assert.equal((await run('sysctl', 'net.inet.tcp.msl')).out, 'net.inet.tcp.msl: 4000\n');
  assert.deepEqual(JSON.parse((await run('sysctl', 'net.inet.tcp.msl', '--json')).out), [
    { name: 'net.inet.tcp.msl', value: 4000 },
  ]);
  const a = await run('sysctl', '-a');
  const lines = a.out.split('\n').filter(Boolean);
  assert.ok(lines.length > 50);
  for (const l of lines) assert.match(l, /^[a-z0-9_.]+: .*$/i);
  assert.ok(lines.includes('net.inet.tcp.msl: 4000'));
  // hostcache.list is CTLFLAG_SKIP: only by its own name.
  assert.ok(!lines.some((l) => l.startsWith('net.inet.tcp.hostcache.list')));
  assert.match(
    (await run('sysctl', 'net.inet.tcp.hostcache.list')).out,
    /^net\.inet\.tcp\.hostcache\.list: \nIP address +MTU/,
  );
  const u = await run('sysctl', 'net.inet.tcp.nope');
  assert.equal(u.code, 1);
  assert.match(u.err, /ENOENT.*unknown oid 'net\.inet\.tcp\.nope'/);
  const bad = await run('sysctl', 'net.inet.tcp.msl=abc');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /EINVAL/);
});

test('kldload, kldstat, kldunload: a module in every worker; EBUSY while in use', { timeout: 60000 }, async () => {
  const l = await run('kldload', 'cc_htcp');
  assert.equal(l.code, 0, l.err);
  const st = await run('kldstat');
  assert.match(st.out, /^Id Refs Name/);
  assert.match(st.out, /\n {1}1 {4}1 kernel /);
  assert.match(st.out, /\n *\d+ +1 cc_htcp +H-TCP congestion control\n/);
  const files = JSON.parse((await run('kldstat', '--json')).out).files as { name: string }[];
  // t4_tom: the embedded default loads it (its TOE card), then cc_htcp.
  assert.deepEqual(
    files.map((f) => f.name),
    ['kernel', 't4_tom', 'cc_htcp'],
  );
  assert.match((await run('sysctl', 'net.inet.tcp.cc.available')).out, /htcp/);
  assert.equal((await run('sysctl', 'net.inet.tcp.cc.htcp.rtt_scaling')).out, 'net.inet.tcp.cc.htcp.rtt_scaling: 0\n');
  assert.equal((await run('kldload', 'cc_htcp')).code, 1);
  // The default algorithm for every new connection: the module is in use.
  assert.equal((await run('sysctl', 'net.inet.tcp.cc.algorithm=htcp')).code, 0);
  const busy = await run('kldunload', 'cc_htcp');
  assert.equal(busy.code, 1);
  assert.match(busy.err, /EBUSY/);
  assert.equal((await run('sysctl', 'net.inet.tcp.cc.algorithm=newreno')).code, 0);
  // Connections accepted meanwhile keep H-TCP until they close (the peer closes them).
  await until('kldunload cc_htcp', async () => (await run('kldunload', 'cc_htcp')).code === 0);
  assert.match((await run('sysctl', 'net.inet.tcp.cc.htcp.rtt_scaling')).err, /ENOENT/);
  assert.match((await run('kldunload', 'cc_htcp')).err, /ENOENT/);
  assert.match((await run('kldload', 'cc_nope')).err, /ENOENT/);
  assert.equal((await run('kldload')).code, 2);
});

test('t4_tom in the embedded default: loaded, toe on, part of the traffic on the card; kldunload EBUSY; -toe returns it; toe EOPNOTSUPP without the TOM', {
  timeout: 60000,
}, async () => {
  // The card's RDMA device (docs/rdma.md) comes with the TOM the default loads.
  assert.match((await run('rdma', 'dev')).out, /^0: cxgb4_0: node_type rnic transport iWARP .* qps 0\n/);
  assert.equal(JSON.parse((await run('rdma', '--json')).out).info.counters.txTerminates, 0);
  assert.match((await run('kldstat')).out, /\n *\d+ +1 t4_tom +TCP offload for Chelsio T4 \(cxgbe\): TOE4, TOE6\n/);
  assert.match((await run('ifconfig', 'cxgbe0')).out, /\toptions=[0-9a-f]+<[^>]*TOE4,TOE6[^>]*>/);
  assert.equal((await run('sysctl', 'dev.t4nex.0.toe.ntids')).out, 'dev.t4nex.0.toe.ntids: 8\n');
  // The change notes' greps, on a first run: offloaded connections as toe4/toe6.
  const toeRows = (out: string) => out.split('\n').filter((l) => /\btoe[46]\b/.test(l));
  await until('netstat -np tcp | grep toe', async () => toeRows((await run('netstat', '-np', 'tcp')).out).length > 0);
  await until('sockstat -46c | grep toe', async () => toeRows((await run('sockstat', '-46c')).out).length > 0);
  const value = async (name: string) => Number((await run('sysctl', name)).out.split(': ')[1]);
  assert.ok((await value('dev.t4nex.0.toe.offloaded')) > 0, 'dev.t4nex.0.toe.offloaded counts them');
  // Part of it: the 8 TIDs cannot take every paced connection; the rest is counted.
  await until('refused_tids', async () => (await value('dev.t4nex.0.toe.refused_tids')) > 0);
  const busy = await run('kldunload', 't4_tom');
  assert.equal(busy.code, 1);
  assert.match(busy.err, /EBUSY/);
  assert.equal((await run('ifconfig', 'cxgbe0', '-toe')).code, 0);
  // Back on the host by live handoff; what was closing ends on the card.
  await until('no toe rows', async () => toeRows((await run('netstat', '-np', 'tcp')).out).length === 0);
  await until('kldunload t4_tom', async () => (await run('kldunload', 't4_tom')).code === 0);
  assert.match((await run('sysctl', 'dev.t4nex.0.toe.ntids')).err, /ENOENT/);
  assert.match((await run('rdma')).err, /ENXIO/);
  const refused = await run('ifconfig', 'cxgbe0', 'toe');
  assert.equal(refused.code, 1);
  assert.match(refused.err, /EOPNOTSUPP/);
  // As the default had it, for the tests after this one.
  assert.equal((await run('kldload', 't4_tom')).code, 0);
  assert.equal((await run('ifconfig', 'cxgbe0', 'toe')).code, 0);
});

test('setkey: -f adds TCP-MD5 SAs on the workers, -D dumps, a duplicate is EEXIST, bad input exits 2, -F flushes', {
  timeout: 30000,
}, async () => {
  const file = join(dir, 'sa.conf');
  writeFileSync(
    file,
    'add 10.0.0.1 10.0.0.2 tcp 0x1000 -A tcp-md5 "bgp";\nadd 10.0.0.2 10.0.0.1 tcp 0x1001 -A tcp-md5 "bgp";\n',
  );
  const a = await run('setkey', '-f', file);
  assert.equal(a.code, 0, a.err);
  assert.equal(a.out, '');
  const d = await run('setkey', '-D');
  assert.match(
    d.out,
    /^10\.0\.0\.1 10\.0\.0\.2\n\ttcp mode=any spi=4096\(0x00001000\) reqid=0\(0x00000000\)\n\tA: tcp-md5 {2}626770\n/,
  );
  assert.match(d.out, /^10\.0\.0\.2 10\.0\.0\.1\n/m);
  assert.equal(JSON.parse((await run('setkey', '-D', '--json')).out).sas.length, 2);
  const dup = await run('setkey', '-f', file);
  assert.equal(dup.code, 1);
  assert.match(dup.err, /EEXIST/);
  writeFileSync(file, 'add 10.0.0.1 10.0.0.2 udp 0x1000 -A tcp-md5 "bgp";\n');
  const bad = await run('setkey', '-f', file);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /line 1: only the tcp protocol/);
  assert.equal((await run('setkey')).code, 2);
  assert.equal((await run('setkey', '-F')).code, 0);
  assert.equal((await run('setkey', '-D')).out, 'No SAD entries.\n');
});

test('vmstat -z: zone table in FreeBSD columns', { timeout: 30000 }, async () => {
  const r = await run('vmstat', '-z');
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'ITEM                   SIZE  LIMIT     USED     FREE      REQ FAIL SLEEP');
  assert.equal(lines[1], '');
  // Real item sizes, requests and failures; LIMIT the stack's, not the workers' sum.
  assert.match(r.out, /^socket: +\d+, +65536, +\d+, +\d+, +\d+, +\d+, +0$/m);
  assert.match(r.out, /^tcp_inpcb: +\d+, +0, +\d+, +\d+, +\d+, +\d+, +0$/m);
  assert.match(r.out, /^syncache: +\d+, +15360, +\d+, +\d+, +\d+, +\d+, +0$/m);
  // One host cache for the stack: its limit and entries are not added up over the workers.
  assert.match(r.out, /^hostcache: +68, +15360, +\d+, +0, +\d+, +-, +0$/m);
  const j = JSON.parse((await run('vmstat', '-z', '--json')).out);
  assert.ok(j.zones.some((z: { name: string; used: number }) => z.name === 'tcp_inpcb'));
  assert.equal((await run('vmstat')).code, 2);
});

test('dmesg: the message buffer, empty until something is logged; --json the lines', { timeout: 30000 }, async () => {
  const r = await run('dmesg');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, '');
  assert.deepEqual(JSON.parse((await run('dmesg', '--json')).out), { messages: [] });
  assert.equal((await run('dmesg', 'x')).code, 2);
});

test('capture -i cxgbe0 -w FILE -c 60: a pcapng the wire reader (and tshark) read', { timeout: 60000 }, async (t) => {
  const file = join(dir, 'cxgbe0.pcapng');
  const r = await run('capture', '-i', 'cxgbe0', '-w', file, '-c', '60');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `60 packets captured on cxgbe0 to ${file}\n`);
  const p = readPcapng(new Uint8Array(readFileSync(file)));
  assert.ok(p.ok, JSON.stringify(p));
  if (!p.ok) return;
  assert.equal(p.value.interfaces[0]!.linkType, 1);
  assert.equal(p.value.packets.length, 60);
  let last = 0;
  let tcp = 0;
  for (const k of p.value.packets) {
    const ns = k.tsSec * 1e9 + k.tsNsec;
    assert.ok(ns >= last, 'time order');
    last = ns;
    assert.ok(Math.abs(k.tsSec - Date.now() / 1000) < 600, 'wall-clock timestamps');
    const d = k.data;
    if (d[12] === 0x08 && d[13] === 0x00 && d[23] === 6) tcp++;
  }
  assert.ok(tcp > 0);
  const none = await run('capture', '-i', 'em9', '-w', join(dir, 'x.pcapng'), '-c', '1');
  assert.equal(none.code, 1);
  assert.match(none.err, /ENXIO/);
  assert.equal((await run('capture', '-w', file)).code, 2);

  const have = spawnSync('tshark', ['-v'], { encoding: 'utf8' });
  if (have.error) {
    t.skip('tshark is not installed (Debian package tshark): the Wireshark check did not run');
    return;
  }
  const ts = spawnSync(
    'tshark',
    [
      '-r',
      file,
      '-o',
      'tcp.check_checksum:TRUE',
      '-o',
      'ip.check_checksum:TRUE',
      '-Y',
      '_ws.malformed || _ws.expert.severity >= warning',
      '-T',
      'fields',
      '-e',
      'frame.number',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(ts.status, 0, ts.stderr);
  assert.equal(ts.stdout.trim(), '', `frames tshark flags as malformed or bad: ${ts.stdout}`);
  const all = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  assert.equal(all.stdout.trim().split('\n').length, 60);
});

/** Write one raw line on a new connection; the first reply line, parsed. */
function raw(line: string): Promise<{ id?: unknown; error?: { code: string }; result?: unknown }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      s.destroy();
      resolve(JSON.parse(buf.slice(0, nl)));
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed without a reply to ${line}\ndaemon stderr: ${daemonErr}`)));
    s.write(`${line}\n`);
  });
}

test('hostile lines on the control socket: an error reply each, the daemon serves on, its globals untouched', {
  timeout: 30000,
}, async () => {
  const lines = [
    '{"id":"c1","type":"APPLY","path":["info"],"argumentList":5}',
    '{"id":"h1","type":"APPLY","path":["info"],"argumentList":[{"type":"HANDLER","name":"throw","value":{"isError":false,"value":1}}]}',
    '{"id":"p9","type":"SET","path":["constructor","assign"],"value":{"type":"RAW","value":0}}',
    '{"id":"p1","type":"SET","path":["constructor","prototype","polluted"],"value":{"type":"RAW","value":1}}',
  ];
  for (const line of lines) {
    const r = await raw(line);
    assert.equal(r.error?.code, 'MCSTACK_BAD_REQUEST', JSON.stringify(r));
    const i = await run('ifconfig', 'cxgbe0');
    assert.equal(i.code, 0, `${i.err}\ndaemon stderr: ${daemonErr}`);
  }
  // What a later connection reads back: nothing by path, only the table's methods.
  const back = await raw('{"id":"g","type":"GET","path":["polluted"]}');
  assert.equal(back.error?.code, 'MCSTACK_BAD_REQUEST');
  assert.equal(daemon!.exitCode, null);
});

test('a second daemon on the same socket is refused (EADDRINUSE)', async () => {
  const io = { out: '', err: '' };
  const code = await main(['serve', '--socket', sock], {
    out: (t) => {
      io.out += t;
    },
    err: (t) => {
      io.err += t;
    },
  });
  assert.equal(code, 1);
  assert.match(io.err, /EADDRINUSE.*already serving/);
});

test('the real binary talks to the daemon too', () => {
  const r = spawnSync(process.execPath, [bin, 'netstat', '-rn', '--socket', sock], {
    encoding: 'utf8',
    cwd: root,
    timeout: 20000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Routing tables\n/);
});

test('SIGTERM: exit 0, socket removed; then the tools say there is no daemon', { timeout: 30000 }, async () => {
  daemon!.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exited,
    new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), 20000);
    }),
  ]);
  clearTimeout(timer);
  assert.equal(code, 0, daemonErr);
  assert.equal(existsSync(sock), false);
  const r = await run('netstat', '-np', 'tcp');
  assert.equal(r.code, 1);
  assert.equal(r.err.split('\n').length, 2);
  assert.ok(r.err.includes(sock), r.err);
});
