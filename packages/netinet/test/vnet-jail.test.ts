/**
 * Vnet jails (jail.ts): stacks with the same addresses side by side, each with its own
 * counters and sysctl values; epairs joining them; interfaces moving between them
 * (if_vmove); removal with live connections (the peer sees the RST) while another jail
 * keeps its connection; modules loaded once and attached to every stack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Jails } from '../src/jail.js';
import type { Engine } from '../src/engine.js';
import { ERRNO, type SysError } from '../src/kern/errno.js';
import { linker } from '../src/kern/kern_linker.js';
import { ccModule } from '../src/tcp/cc/cc_module.js';
import { newreno } from '../src/tcp/cc/newreno.js';
import { TCPS_FIN_WAIT_2, TCPS_TIME_WAIT } from '../src/tcp/var.js';
import { rawTcp4 } from './raw-tcp4.js';
import { formatJls, jailIfconfig, parseJailCreate } from '../src/tools/jail.js';

const code = (fn: () => unknown): string | null => {
  try {
    fn();
    return null;
  } catch (e) {
    return (e as SysError).code;
  }
};

/** An ether interface's MAC for a test. */
const mac = (n: number) => new Uint8Array([2, 0, 0, 0, 0, n]);

function listen(e: Engine, port: number): number {
  const fd = e.socket('inet', 'stream');
  assert.equal(e.bind(fd, { addr: '0.0.0.0', port }), 0);
  assert.equal(e.listen(fd, 16), 0);
  return fd;
}

/** Step the jails' clock 1 ms at a time until `done`, at most `max` steps. */
function runUntil(j: Jails, t: { now: number }, done: () => boolean, max = 200): void {
  for (let i = 0; i < max; i++) {
    if (done()) return;
    t.now += 1000;
    j.advance(t.now);
  }
  assert.fail(`not reached in ${max} ms`);
}

function readAll(e: Engine, fd: number): string {
  const buf = new Uint8Array(4096);
  let s = '';
  for (;;) {
    const n = e.recv(fd, buf);
    if (n <= 0) return s;
    s += new TextDecoder().decode(buf.subarray(0, n));
  }
}

test('two jails with the same addresses talk to different peers, each with its own counters and sysctls', () => {
  const j = new Jails({ seed: 3 });
  const t = { now: 0 };
  const names = ['c1', 'c2', 'p1', 'p2'];
  for (const n of names) j.create({ name: n, vnet: true });
  // c1 <-> p1 and c2 <-> p2, both pairs numbered 10.0.0.1 (peer) and 10.0.0.2 (client).
  for (const [c, p] of [
    ['c1', 'p1'],
    ['c2', 'p2'],
  ] as const) {
    const [a, b] = j.epairCreate();
    j.vmove(a, p);
    j.vmove(b, c);
    assert.equal(j.engine(p)!.addAddr(a, '10.0.0.1/24'), 0);
    assert.equal(j.engine(c)!.addAddr(b, '10.0.0.2/24'), 0);
  }
  assert.equal(j.host.ifunit('epair0a'), null, 'moved out of the host');
  const l1 = listen(j.engine('p1')!, 80);
  const l2 = listen(j.engine('p2')!, 80);
  const c1 = j.engine('c1')!;
  const c2 = j.engine('c2')!;
  const f1 = c1.socket('inet', 'stream');
  const f2 = c2.socket('inet', 'stream');
  c1.connect(f1, { addr: '10.0.0.1', port: 80 });
  c2.connect(f2, { addr: '10.0.0.1', port: 80 });
  j.flush();
  let a1 = -1;
  let a2 = -1;
  runUntil(j, t, () => {
    if (a1 < 0) a1 = j.engine('p1')!.accept(l1);
    if (a2 < 0) a2 = j.engine('p2')!.accept(l2);
    return a1 >= 0 && a2 >= 0;
  });
  j.engine('p1')!.send(a1, new TextEncoder().encode('I am p1'));
  j.engine('p2')!.send(a2, new TextEncoder().encode('I am p2'));
  let r1 = '';
  let r2 = '';
  runUntil(j, t, () => {
    r1 += readAll(c1, f1);
    r2 += readAll(c2, f2);
    return r1.length > 0 && r2.length > 0;
  });
  assert.equal(r1, 'I am p1');
  assert.equal(r2, 'I am p2');
  // Counters and sysctl values are each stack's own.
  assert.equal(c1.tcp.stat.tcps_connattempt, 1);
  assert.equal(c2.tcp.stat.tcps_connattempt, 1);
  assert.equal(j.host.tcp.stat.tcps_connattempt, 0);
  assert.equal(j.engine('p1')!.tcp.stat.tcps_accepts, 1);
  c1.sysctl.set('net.inet.tcp.msl', 1234);
  assert.equal(c1.sysctl.get('net.inet.tcp.msl'), 1234);
  assert.notEqual(c2.sysctl.get('net.inet.tcp.msl'), 1234);
  assert.notEqual(j.host.sysctl.get('net.inet.tcp.msl'), 1234);
  assert.deepEqual(
    j.list().map((x) => [x.jid, x.name, x.interfaces]),
    [
      [1, 'c1', ['lo0', 'epair0b']],
      [2, 'c2', ['lo0', 'epair1b']],
      [3, 'p1', ['lo0', 'epair0a']],
      [4, 'p2', ['lo0', 'epair1a']],
    ],
  );

  // jail -r c1 with its connection open: p1's end is reset, c2 <-> p2 carries on.
  const left = j.remove('c1', t.now);
  assert.deepEqual(left, { zones: [], callouts: 0, pcbs: 0, tcbs: 0, fds: 0 });
  assert.equal(j.engine('p1')!.recv(a1, new Uint8Array(16)), -ERRNO.ECONNRESET);
  assert.equal(j.engine('c1'), null);
  assert.ok(j.host.ifunit('epair0b') !== null, 'the epair end went home to the host');
  j.engine('p2')!.send(a2, new TextEncoder().encode(' still'));
  let more = '';
  runUntil(j, t, () => {
    more += readAll(c2, f2);
    return more.length > 0;
  });
  assert.equal(more, ' still');
});

test('jail and ifconfig errors are typed: duplicate name, no vnet, unknown jail, lo0, not an epair', () => {
  const j = new Jails();
  assert.equal(j.create({ name: 'a', vnet: true }), 1);
  assert.equal(
    code(() => j.create({ name: 'a', vnet: true })),
    'EEXIST',
  );
  assert.equal(
    code(() => j.create({ name: 'b' })),
    'EOPNOTSUPP',
  );
  assert.equal(
    code(() => j.create({ name: '12', vnet: true })),
    'EINVAL',
  );
  assert.equal(
    code(() => j.remove('nope')),
    'ENOENT',
  );
  assert.equal(
    code(() => j.remove(0)),
    'EINVAL',
  );
  assert.equal(
    code(() => j.vmove('lo0', 'a')),
    'EINVAL',
  );
  assert.equal(
    code(() => j.vmove('em9', 'a')),
    'ENXIO',
  );
  assert.equal(
    code(() => j.vreclaim('lo0', 'a')),
    'ENXIO',
  );
  assert.equal(
    code(() => j.ifDestroy('lo0')),
    'ENXIO',
  );
  assert.equal(j.engine('1'), j.engine('a'), 'a jail by jid or name');
});

test('a physical interface moves into a jail and back: frames follow it, its addresses stay behind', () => {
  const sent: [number, string][] = [];
  const j = new Jails({ output: (jid, ifp) => sent.push([jid, ifp.name]) });
  const host = j.host;
  host.ifattach({ name: 'cxgbe0', type: 'ether', lladdr: mac(1) });
  host.addAddr('cxgbe0', '192.0.2.1/24');
  host.setUp('cxgbe0', true);
  const jid = j.create({ name: 'w', vnet: true });
  j.vmove('cxgbe0', 'w');
  const w = j.engine(jid)!;
  assert.equal(host.ifunit('cxgbe0'), null);
  const ifp = w.ifunit('cxgbe0')!;
  assert.ok(ifp.up);
  assert.deepEqual(ifp.addrs4, [], 'if_vmove leaves the addresses behind');
  assert.equal(host.net.fibs[0]!.find4(0xc0000200, 24), null, "the host's connected route went with them");
  assert.equal(w.addAddr('cxgbe0', '192.0.2.1/24'), 0, 'the same address is free in the jail');
  sent.length = 0;
  const u = w.socket('inet', 'dgram');
  w.sendto(u, new Uint8Array(4), { addr: '192.0.2.9', port: 9 });
  assert.deepEqual(sent[0], [jid, 'cxgbe0'], 'the ARP request leaves from the jail');
  // -vnet: home again (its jail address stays in the jail).
  j.vreclaim('cxgbe0', 'w');
  assert.equal(w.ifunit('cxgbe0'), null);
  assert.ok(host.ifunit('cxgbe0') !== null);
  // A jail removed while holding a host interface gives it back.
  j.vmove('cxgbe0', 'w');
  j.remove('w');
  assert.ok(host.ifunit('cxgbe0') !== null);
  assert.equal(
    code(() => j.input('cxgbe0', new Uint8Array(60), 1)),
    null,
  );
});

test('epairs: lowest free unit, either end destroys both, a jail takes the epairs it made with it', () => {
  const j = new Jails();
  assert.deepEqual(j.epairCreate(), ['epair0a', 'epair0b']);
  assert.deepEqual(j.epairCreate(), ['epair1a', 'epair1b']);
  j.ifDestroy('epair0b');
  assert.equal(j.host.ifunit('epair0a'), null);
  assert.equal(j.host.ifunit('epair0b'), null);
  assert.deepEqual(j.epairCreate(), ['epair0a', 'epair0b']);
  // An epair made inside a jail dies with it, both ends, wherever the other end is.
  const jid = j.create({ name: 'x', vnet: true });
  const [a, b] = j.epairCreate('x');
  assert.equal(a, 'epair2a');
  j.engine(jid)!.ifattach({ name: 'keep0', type: 'ether', lladdr: mac(2) });
  assert.ok(j.engine(jid)!.ifunit(b) !== null);
  j.remove('x');
  assert.equal(j.host.ifunit(a), null);
  assert.equal(j.host.ifunit(b), null);
  assert.deepEqual(j.epairCreate(), ['epair2a', 'epair2b']);
});

test('a module loaded while jails exist initialises once and attaches to every stack, later ones too', () => {
  let loads = 0;
  const attachedTo = new Set<unknown>();
  const mod = ccModule({
    file: 'cc_vnettest',
    description: 'counts its initialisations',
    defaults: { knob: 1 },
    sysctls: [{ oid: 'net.inet.tcp.cc.vnettest.knob', key: 'knob', description: 'a knob', min: 0 }],
    algo: (tcp, t) => {
      attachedTo.add(tcp);
      return { ...newreno(t), name: 'vnettest' };
    },
    load: () => {
      loads++;
    },
  });
  assert.equal(linker.register(mod), 0);
  const j = new Jails({ seed: 9 });
  j.create({ name: 'a', vnet: true });
  j.create({ name: 'b', vnet: true });
  assert.ok(j.engine('b')!.kldload('cc_vnettest') > 1);
  j.create({ name: 'c', vnet: true });
  const all = [j.host, j.engine('a')!, j.engine('b')!, j.engine('c')!];
  assert.equal(loads, 1, 'the SYSINIT part ran once');
  for (const e of all) {
    assert.ok(attachedTo.has(e.tcp), 'attached');
    assert.ok(String(e.sysctl.get('net.inet.tcp.cc.available')).includes('vnettest'));
    assert.equal(e.sysctl.get('net.inet.tcp.cc.vnettest.knob'), 1);
  }
  // Each stack's copy of the module's tunables is its own.
  j.engine('a')!.sysctl.set('net.inet.tcp.cc.vnettest.knob', 5);
  assert.equal(j.engine('c')!.sysctl.get('net.inet.tcp.cc.vnettest.knob'), 1);
  // A removed jail's stack is detached (VNET_SYSUNINIT), so it holds nothing back.
  j.engine('a')!.sysctl.set('net.inet.tcp.cc.algorithm', 'vnettest');
  j.remove('a');
  assert.equal(j.engine('b')!.kldunload('cc_vnettest'), 0, 'no removed stack keeps it busy');
  assert.equal(loads, 1);
  for (const e of [j.host, j.engine('b')!, j.engine('c')!])
    assert.equal(
      code(() => e.sysctl.get('net.inet.tcp.cc.vnettest.knob')),
      'ENOENT',
    );
});

test('jail -r frees every kind of state: live, orphaned and TIME_WAIT connections, the SYN cache, the host cache', () => {
  const j = new Jails({ seed: 5, output: () => {} });
  const t = { now: 0 };
  const host = j.host;
  const jid = j.create({ name: 's', vnet: true });
  const s = j.engine(jid)!;
  const [a, b] = j.epairCreate();
  j.vmove(b, 's');
  host.addAddr(a, '10.5.0.1/24');
  s.addAddr(b, '10.5.0.2/24');
  s.ifattach({ name: 'tun0', type: 'tun' });
  s.addAddr('tun0', '192.0.2.2/24');
  s.setUp('tun0', true);
  const l = listen(s, 80);
  const conns: { c: number; a: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const c = host.socket('inet', 'stream');
    host.connect(c, { addr: '10.5.0.2', port: 80 });
    j.flush(t.now);
    let acc = -1;
    runUntil(j, t, () => (acc = s.accept(l)) >= 0);
    conns.push({ c, a: acc });
  }
  const [live, orphan, tw] = conns as [{ c: number; a: number }, { c: number; a: number }, { c: number; a: number }];
  // Enough round trips for the host cache to keep the RTT (tcp_hc_update): of the TIME_WAIT
  // one as it enters TIME_WAIT, of the orphan as the teardown drops it (after which the
  // prune callout must not be left armed).
  const chunk = new Uint8Array(1000);
  for (const x of [tw, orphan])
    for (let i = 0; i < 8; i++) {
      s.send(x.a, chunk);
      j.flush(t.now);
      runUntil(j, t, () => readAll(host, x.c).length > 0);
    }
  s.close(orphan.a); // FIN_WAIT_2 with no descriptor: the peer never closes
  s.close(tw.a);
  host.close(tw.c); // the jail closed first: TIME_WAIT on its side
  j.flush(t.now);
  runUntil(j, t, () => [...s.tcp.tcbs].some((tp) => tp.t_state === TCPS_TIME_WAIT));
  assert.ok([...s.tcp.tcbs].some((tp) => tp.t_state === TCPS_FIN_WAIT_2));
  // A SYN from a host that never answers the SYN-ACK: an entry in the SYN cache.
  j.input(
    'tun0',
    rawTcp4(new Uint8Array(64), {
      src: 0xc0000209,
      dst: 0xc0000202,
      sport: 4000,
      dport: 80,
      seq: 1,
      flags: 0x02,
      mss: 1460,
    }),
    t.now,
  );
  assert.equal(s.tcp.syncache.size, 1);
  assert.ok(s.tcp.hostcache.count > 0, 'the host cache holds the closed connection');
  assert.ok(s.callouts.size > 0);
  const drops = s.tcp.stat.tcps_drops;

  const left = j.remove('s', t.now);
  assert.deepEqual(left, { zones: [], callouts: 0, pcbs: 0, tcbs: 0, fds: 0 });
  assert.equal(s.tcp.syncache.size, 0);
  assert.equal(s.tcp.hostcache.count, 0);
  assert.equal(s.tcp.tcbs.size, 0);
  assert.equal(s.tcp.stat.tcps_drops, drops + 2, 'the live and the orphaned connection were dropped with an RST');
  assert.equal(host.recv(live.c, new Uint8Array(16)), -ERRNO.ECONNRESET, 'the live connection is reset');
  assert.equal(host.recv(orphan.c, new Uint8Array(16)), -ERRNO.ECONNRESET, 'the orphan is reset too');
});

test('jail(8) and ifconfig words inside a jail: parameters and words checked, typed errors', () => {
  assert.deepEqual(parseJailCreate(['name=web', 'vnet']), { name: 'web', vnet: true });
  assert.deepEqual(parseJailCreate(['name=web']), { name: 'web', vnet: false });
  assert.equal(
    code(() => parseJailCreate(['name=web', 'ip4.addr=10.0.0.1'])),
    'EINVAL',
  );
  assert.equal(
    code(() => parseJailCreate(['vnet'])),
    'EINVAL',
  );
  const j = new Jails();
  j.create({ name: 'w', vnet: true });
  assert.equal(jailIfconfig(j, 'w', ['epair', 'create']), 'epair0a\n');
  assert.equal(jailIfconfig(j, 'w', ['epair0a', 'inet', '10.1.0.1/24']), '');
  assert.equal(j.engine('w')!.ifunit('epair0a')!.addrs4.length, 1);
  assert.equal(jailIfconfig(j, 'w', ['epair0a', 'mtu', '9000']), '');
  assert.equal(j.engine('w')!.ifunit('epair0a')!.mtu, 9000);
  for (const [argv, want] of [
    [['epair0a', 'inet6', '10.1.0.1/24'], 'EINVAL'],
    [['epair0a', 'inet', '10.1.0.1'], 'EINVAL'],
    [['epair0a', 'vnet'], 'EINVAL'],
    [['epair0a', 'vnet', 'nope'], 'ENOENT'],
    [['em0', 'inet', '10.2.0.1/24'], 'ENXIO'],
    [['em0', 'destroy'], 'ENXIO'],
    [['epair0a', 'bogus'], 'EINVAL'],
  ] as const)
    assert.equal(
      code(() => jailIfconfig(j, 'w', [...argv])),
      want,
      argv.join(' '),
    );
  assert.equal(jailIfconfig(j, 'w', ['epair0b', 'destroy']), '');
  assert.equal(j.engine('w')!.ifunit('epair0a'), null);
  assert.match(formatJls(j.list()), /^\s+1\s+w\s+\/$/m);
});
