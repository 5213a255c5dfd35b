/**
 * The daemon's config file (errors name the file, the field path and the reason, exit 2,
 * nothing started), the socket path rule, the socket endpoint's framing, getopt, and a
 * served config with routes and one worker (netstat -rn shows the static route).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, getopt } from '@mcstack/cli';
import { IFCAP_NAMES, IFCAP_TOE4 } from '@mcstack/netinet';
import {
  checkConfig,
  loadConfig,
  defaultConfig,
  ConfigError,
  resolveSocketPath,
  defaultSocketPath,
  LineReader,
  encodeMessage,
  decodeMessage,
  serve,
} from '@mcstack/cli/daemon';

const dir = mkdtempSync(join(tmpdir(), 'mcstack-config-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = { out: '', err: '' };
  const code = await main(argv, {
    out: (t) => {
      io.out += t;
    },
    err: (t) => {
      io.err += t;
    },
  });
  return { code, ...io };
}

test('config errors name the file, the field and the reason; exit 2 before anything starts', async () => {
  const cases: [string, string, string][] = [
    ['{"workers": 1,', '(top level)', 'not JSON'],
    ['[]', '(top level)', 'must be an object'],
    ['{"wrokers": 2}', 'wrokers', 'unknown field'],
    ['{"workers": 0}', 'workers', 'must be an integer from 1 to'],
    ['{"addrs": ["10.0.0.1/24", "10.0.0.300/24"]}', 'addrs[1]', 'not an address/prefix length: "10.0.0.300/24"'],
    [
      '{"apps": [{"name": "echo", "port": 7}, {"name": "echo", "port": 70000}]}',
      'apps[1].port',
      'must be an integer from 1 to 65535',
    ],
    ['{"apps": [{"name": "gopher"}]}', 'apps[0].name', "unknown app 'gopher'"],
    // Each app's declared options (apps/options.ts): an unknown key, a value out of range.
    ['{"apps": [{"name": "echo", "options": {"colour": 1}}]}', 'apps[0].options.colour', "app 'echo': unknown option"],
    [
      '{"apps": [{"name": "rr-client", "options": {"addr": "10.0.0.2", "port": 7, "size": -1}}]}',
      'apps[0].options.size',
      "app 'rr-client': option 'size' must be an integer from 0 to",
    ],
    [
      '{"apps": [{"name": "paced-client", "options": {"addr": "10.0.0.2", "port": 7, "burst": 3}}]}',
      'apps[0].options.burst',
      "app 'paced-client': unknown option 'burst'",
    ],
    ['{"apps": [{"name": "crr-client", "options": {"port": 7}}]}', 'apps[0].options.addr', "option 'addr' is required"],
    ['{"routes": [{"dst": "default", "gateway": "10.0.0.254", "fib": 3}]}', 'routes[0]', 'fib 3 is not below net.fibs'],
    ['{"routes": [{"dst": "default", "gateway": "10.0.0.254", "fib": -1}]}', 'routes[0].fib', 'must be a FIB number'],
    ['{"peer": {"mac": "02:00:00"}}', 'peer.mac', 'not a MAC address'],
    [
      '{"capabilities": ["RXCSUM"], "capenable": ["RXCSUM", "TSO4"]}',
      'capenable',
      'enables a capability that capabilities does not offer',
    ],
    ['{"capabilities": ["WARP"]}', 'capabilities[0]', 'not an IFCAP name'],
    ['{"ifname": "em0"}', 'ifname', "must be 'cxgbe0' or 'cxgb0'"],
    ['{"ifname": "cxgb0", "capabilities": ["TOE4", "TOE6"]}', 'capabilities', "cxgb0's card (t3_tom) offers TOE4 only"],
    [
      '{"ifname": "cxgb0", "routes": [{"dst": "default", "gateway": "cxgbe0"}]}',
      'routes[0].gateway',
      'not an address or an interface (cxgb0, lo0)',
    ],
    [
      '{"links": [{"type": "udp-tunnel", "local": "127.0.0.1:7001", "remote": "localhost:7002"}]}',
      'links[0].remote',
      'not a numeric host:port',
    ],
    [
      '{"links": [{"type": "udp-tunnel", "remote": "127.0.0.1:9", "local": "127.0.0.1"}]}',
      'links[0].local',
      'not a numeric host:port',
    ],
    ['{"links": [{"type": "udp-tunnel"}]}', 'links[0].remote', 'needs the remote host:port'],
    ['{"links": [{"type": "tap", "remote": "127.0.0.1:1"}]}', 'links[0].remote', 'unknown field for a tap link'],
    ['{"links": [{"type": "tap", "name": "a-name-far-too-long"}]}', 'links[0].name', 'an interface name of 1 to 15'],
    ['{"links": [{"type": "tap", "addrs": ["10.0.0.1"]}]}', 'links[0].addrs[0]', 'not an address/prefix length'],
    ['{"links": [{"type": "vxlan"}]}', 'links[0].type', "must be 'udp-tunnel', 'tap' or 'af_packet'"],
    ['{"links": [{"type": "tap", "queues": "all"}]}', 'links[0].queues', "'single' (socat) or 'per-worker'"],
    ['{"links": [{"type": "af_packet"}]}', 'links[0].ifname', 'the name of an existing interface'],
    [
      '{"links": [{"type": "af_packet", "ifname": "veth1", "addrs": []}]}',
      'links[0].addrs',
      'unknown field for a af_packet link',
    ],
    ['{"links": [{"type": "tap"}, {"type": "tap"}]}', 'links', 'at most one link'],
    ['{"links": [{"type": "tap"}], "peer": {}}', 'links', "either 'links' or 'peer'"],
    ['{"sysctl": {"net.inet.tcp.msl": true}}', 'sysctl.net.inet.tcp.msl', 'must be a number or a string'],
    // What a worker would only find at start: checked in a throwaway engine first.
    ['{"sysctl": {"net.inet.tcp.nope": 1}}', 'sysctl.net.inet.tcp.nope', 'unknown sysctl'],
    ['{"sysctl": {"net.inet.tcp.msl": "abc"}}', 'sysctl.net.inet.tcp.msl', 'bad value "abc"'],
    ['{"sysctl": {"net.inet.tcp.msl": 0}}', 'sysctl.net.inet.tcp.msl', 'must be in [1, inf]'],
    ['{"peer": {"sysctl": {"net.inet.tcp.cc.available": "x"}}}', 'peer.sysctl.net.inet.tcp.cc.available', 'read-only'],
    ['{"sysctl": {"net.inet.tcp.hostcache.hashsize": 64}}', 'sysctl.net.inet.tcp.hostcache.hashsize', 'read-only'],
    [
      '{"tunables": {"net.inet.tcp.hostcache.hashsiz": 64}}',
      'tunables',
      "unknown tunable 'net.inet.tcp.hostcache.hashsiz'",
    ],
    ['{"tunables": {"net.inet.tcp.hostcache.cachelimit": "lots"}}', 'tunables', 'takes an integer'],
    ['{"tunables": 5}', 'tunables', 'must be an object'],
    [
      '{"sysctl": {"net.inet.tcp.syncache.hashsize": "x"}}',
      'sysctl.net.inet.tcp.syncache.hashsize',
      'bad value for a loader tunable',
    ],
    [
      '{"addrs": ["10.0.0.1/24", "fd00::1/64", "10.0.0.1/16"]}',
      'addrs[2]',
      'duplicate address: 10.0.0.1/16 is also addrs[0]',
    ],
    ['{"addrs": ["10.0.0.1/24"], "peer": {"addrs": ["10.0.0.1/24"]}}', 'peer.addrs[0]', 'duplicate address'],
    ['{"addrs": ["10.0.0.1/24"], "routes": [{"dst": "default", "gateway": "192.0.2.1"}]}', 'routes[0]', 'ENETUNREACH'],
    ['{"apps": [{"module": "file:///nonexistent/mcstack-app.js"}]}', 'apps[0].module', 'no such file'],
    ['{"apps": [{"module": "https://example.com/app.js"}]}', 'apps[0].module', 'must be a file: (or data:) URL'],
    ['{"modules": ["t9_tom"]}', 'modules[0]', 'kldload t9_tom fails (ENOENT)'],
    [
      '{"capabilities": ["TOE4", "TOE6"], "capenable": ["TOE4"]}',
      'capenable',
      "TOE4/TOE6 take effect only with 't4_tom' in modules",
    ],
    ['{"capabilities": ["RXCSUM"], "toe": {"ntids": 8}}', 'toe', 'cxgbe0 offers no TOE4/TOE6 capability'],
    ['{"capabilities": ["TOE4"], "toe": {"ntids": 0}}', 'toe.ntids', 'must be an integer from 1 to'],
  ];
  const sock = join(dir, 'never.sock');
  for (const [i, [text, path, reason]] of cases.entries()) {
    const file = join(dir, `bad${i}.json`);
    writeFileSync(file, text);
    assert.throws(
      () => loadConfig(file),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.file === file &&
        e.path.replace(/^$/, '(top level)') === path &&
        e.reason.includes(reason),
      text,
    );
    const r = await run('serve', '--config', file, '--socket', sock);
    assert.equal(r.code, 2, text);
    assert.equal(r.out, '');
    assert.ok(r.err.startsWith(`mcstack: serve: ${file}: ${path}: `), r.err);
    assert.ok(r.err.includes(reason), r.err);
    assert.equal(r.err.split('\n').length, 2, 'one line');
    assert.equal(existsSync(sock), false, 'nothing started');
  }
  const missing = await run('serve', '--config', join(dir, 'nope.json'), '--socket', sock);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /nope\.json: \(top level\): cannot read: ENOENT/);
});

test('a T3 port: ifname cxgb0 with TOE4 passes the check', () => {
  const c = checkConfig(
    { ifname: 'cxgb0', capabilities: ['TOE4'], routes: [{ dst: '10.9.0.0/16', gateway: 'cxgb0' }] },
    't3',
  );
  assert.equal(c.ifname, 'cxgb0');
});

test('the embedded default passes its own check', () => {
  const c = defaultConfig();
  // A config file names the capabilities (IFCAP_NAMES); the default holds their bits.
  const names = (bits: number | undefined) =>
    bits === undefined ? undefined : IFCAP_NAMES.filter(([b]) => (bits & b) !== 0).map(([, n]) => n);
  const checked = checkConfig(
    JSON.parse(
      JSON.stringify({
        ...c,
        capabilities: names(c.capabilities),
        capenable: names(c.capenable),
        peer: { ...c.peer, capabilities: names(c.peer?.capabilities), capenable: names(c.peer?.capenable) },
      }),
    ),
    'default',
  );
  assert.equal(checked.capenable, c.capenable);
  assert.deepEqual(checked.modules, ['t4_tom']);
  assert.deepEqual(
    c.apps!.map((a) => ('name' in a ? a.name : '')),
    ['echo', 'discard', 'http-lite'],
  );
});

test('socket path rule: --socket, then $MCSTACK_SOCKET, then $XDG_RUNTIME_DIR, then /tmp/mcstack-$UID/mcstack.sock', () => {
  const uid = process.getuid?.() ?? 0;
  assert.equal(resolveSocketPath('/a.sock', { MCSTACK_SOCKET: '/b.sock', XDG_RUNTIME_DIR: '/run/user/1' }), '/a.sock');
  assert.equal(resolveSocketPath(undefined, { MCSTACK_SOCKET: '/b.sock', XDG_RUNTIME_DIR: '/run/user/1' }), '/b.sock');
  assert.equal(resolveSocketPath(undefined, { XDG_RUNTIME_DIR: '/run/user/1' }), '/run/user/1/mcstack.sock');
  assert.equal(resolveSocketPath(undefined, {}), `/tmp/mcstack-${uid}/mcstack.sock`);
  assert.equal(defaultSocketPath({ XDG_RUNTIME_DIR: '' }), `/tmp/mcstack-${uid}/mcstack.sock`);
  assert.throws(() => resolveSocketPath(`/tmp/${'x'.repeat(120)}`, {}), { code: 'ENAMETOOLONG' });
});

test('socket framing: one JSON message per line, byte arrays as base64, lines split anywhere', () => {
  const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
  const line = encodeMessage({ id: 'x', value: { data: bytes, n: 1 } });
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
  assert.deepEqual(decodeMessage(line), { id: 'x', value: { data: bytes, n: 1 } });
  const got: unknown[] = [];
  let over = 0;
  const r = new LineReader(
    64,
    (t) => got.push(decodeMessage(t)),
    () => over++,
  );
  r.push(Buffer.from('{"a":1}\n\n{"b":'));
  r.push(Buffer.from('{"$u8":"AAH/"}}\n{"c":"'));
  for (const b of Buffer.from('é"}\n')) r.push(Buffer.from([b]));
  assert.deepEqual(got, [{ a: 1 }, { b: Uint8Array.from([0, 1, 255]) }, { c: 'é' }]);
  assert.equal(over, 0);
  // Past the maximum without a newline: refused once, nothing more read.
  r.push(Buffer.from('x'.repeat(40)));
  r.push(Buffer.from('x'.repeat(40)));
  r.push(Buffer.from('\n{"d":1}\n'));
  assert.equal(over, 1);
  assert.equal(got.length, 3);
});

test('getopt: clusters, values joined or apart, stops at the first operand', () => {
  const a = getopt(['-np', 'tcp'], 'np:');
  assert.deepEqual(
    [...a.flags],
    [
      ['n', true],
      ['p', 'tcp'],
    ],
  );
  const b = getopt(['-46c'], '46cl');
  assert.deepEqual([...b.flags.keys()], ['4', '6', 'c']);
  const c = getopt(['-m', 'cxgbe0', '-txcsum', 'mtu', '9000'], 'am');
  assert.deepEqual(c.operands, ['cxgbe0', '-txcsum', 'mtu', '9000']);
  assert.deepEqual(
    [...getopt(['-rnF1'], 'rnF:').flags],
    [
      ['r', true],
      ['n', true],
      ['F', '1'],
    ],
  );
  assert.throws(() => getopt(['-q'], 'np:'), /illegal option -- q/);
  assert.throws(() => getopt(['-p'], 'np:'), /option requires an argument -- p/);
});

test('a served config: one worker, no peer, a static route; netstat -rn shows it; close removes the socket', {
  timeout: 60000,
}, async () => {
  const file = join(dir, 'good.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'solo',
      workers: 1,
      addrs: ['192.0.2.1/24', '2001:db8::1/64'],
      routes: [
        { dst: 'default', gateway: '192.0.2.254' },
        { dst: '198.51.100.0/24', gateway: 'cxgbe0' },
      ],
      neighbors: [{ addr: '192.0.2.254', mac: '02:00:00:00:00:fe' }],
      // A loader tunable goes to the engine as it starts, the rest to its running tree.
      sysctl: { 'net.inet.tcp.msl': 1234, 'net.inet.tcp.syncache.bucketlimit': 20 },
      apps: [{ name: 'echo', port: 7 }],
    }),
  );
  const sock = join(dir, 'solo.sock');
  const d = await serve(loadConfig(file), { socket: sock });
  try {
    const r = await run('netstat', '-rn', '-f', 'inet', '--socket', sock);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^default {12}192\.0\.2\.254 {8}UGS?\s+cxgbe0$/m);
    assert.match(r.out, /^198\.51\.100\.0\/24 {4}link#\d+ +US?\s+cxgbe0$/m);
    assert.doesNotMatch(r.out, /Internet6/);
    assert.equal((await run('sysctl', 'net.inet.tcp.msl', '--socket', sock)).out, 'net.inet.tcp.msl: 1234\n');
    assert.equal(
      (await run('sysctl', 'net.inet.tcp.syncache.cachelimit', '--socket', sock)).out,
      'net.inet.tcp.syncache.cachelimit: 10240\n',
    );
    const l = await run('netstat', '-anp', 'tcp', '--socket', sock);
    assert.match(l.out, /^tcp4 +0 +0 \*\.7 +\*\.\* +LISTEN/m);
    assert.match(l.out, /^tcp6 +0 +0 \*\.7 +\*\.\* +LISTEN/m);
  } finally {
    await d.close();
  }
  assert.equal(existsSync(sock), false);
});

test('a pipe in the config: checked as the stack checks it, the bad field named', () => {
  const ok = checkConfig({ addrs: ['10.0.0.1/24'], pipe: { bw: 1e8, delay: 20, queue: 100, aqm: 'codel' } }, 'f');
  assert.deepEqual(ok.pipe, { bw: 1e8, delay: 20, queue: 100, aqm: 'codel' });
  assert.throws(
    () => checkConfig({ addrs: ['10.0.0.1/24'], pipe: { bw: 1e8, delay: -1 } }, 'f'),
    /f: pipe: delay must be a number from 0 to 10000/,
  );
  assert.throws(() => checkConfig({ addrs: ['10.0.0.1/24'], pipe: { rate: 1 } }, 'f'), /f: pipe: unknown key rate/);
});

test('TOE in capenable is turned on at start on the port the config names (a T3: cxgb0), and on the peer', async () => {
  const sock = join(dir, 't3.sock');
  const d = await serve(
    checkConfig(
      {
        name: 't3',
        workers: 1,
        ifname: 'cxgb0',
        addrs: ['10.0.0.1/24'],
        capabilities: ['RXCSUM', 'TXCSUM', 'TOE4'],
        capenable: ['RXCSUM', 'TXCSUM', 'TOE4'],
        modules: ['t3_tom'],
        peer: {
          addrs: ['10.0.0.2/24'],
          capabilities: ['RXCSUM', 'TXCSUM', 'TOE4'],
          capenable: ['RXCSUM', 'TXCSUM', 'TOE4'],
          modules: ['t4_tom'],
        },
      },
      'inline',
    ),
    { socket: sock },
  );
  try {
    const r = await run('ifconfig', 'cxgb0', '--socket', sock);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /options=[0-9a-f]+<[A-Z0-9_,]*\bTOE4\b/);
    const peer = d.peer;
    assert.ok(peer?.cardAlive, "the peer's card runs");
    const port = (await peer.snapshots())[0]!.interfaces.find((i) => i.name === 'cxgbe0')!;
    assert.notEqual(port.capenable & IFCAP_TOE4, 0, "toe on the peer's cxgbe0");
  } finally {
    await d.close();
  }
});
