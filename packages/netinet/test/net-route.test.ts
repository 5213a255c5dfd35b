import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etherPair, tunPair, ping4 } from './net-harness.js';
import { inAddr, in6Addr, inetNtoa, delAddr4, isLocal4, selectSource4 } from '../src/netinet/in.js';
import {
  RTF_GATEWAY,
  RTF_LOCAL,
  addRoute,
  changeRoute,
  deleteRoute,
  rtFib,
  rtalloc4,
  rtalloc6,
} from '../src/net/route.js';
import { Engine } from '../src/engine.js';
import { applyRoute, parseRouteArgs } from '../src/tools/route.js';
import { ERRNO } from '../src/kern/errno.js';
import { delAddr6, selectSource6 } from '../src/netinet6/in6.js';
import { addAddr } from '../src/netstack.js';
import { ifSetMtu, ifUpDown } from '../src/net/if.js';

test('longest-prefix match for IPv4: host > /24 > /8 > default', () => {
  const { a, ta } = tunPair();
  const ns = a.ns;
  assert.equal(addRoute(ns, '10.0.0.0/8', '192.168.0.10'), 0);
  assert.equal(addRoute(ns, '10.1.2.0/24', '192.168.0.11'), 0);
  assert.equal(addRoute(ns, '10.1.2.3/32', '192.168.0.12'), 0);
  assert.equal(addRoute(ns, 'default', '192.168.0.254'), 0);
  const gw = (d: string) => {
    const r = rtalloc4(ns, 0, inAddr(d))!;
    return r.flags & RTF_GATEWAY ? inetNtoa(r.gw4) : 'direct';
  };
  assert.equal(gw('10.1.2.3'), '192.168.0.12');
  assert.equal(gw('10.1.2.4'), '192.168.0.11');
  assert.equal(gw('10.9.9.9'), '192.168.0.10');
  assert.equal(gw('8.8.8.8'), '192.168.0.254');
  assert.equal(gw('192.168.0.77'), 'direct');
  assert.equal(rtalloc4(ns, 0, inAddr('192.168.0.1'))!.flags & RTF_LOCAL, RTF_LOCAL);
  assert.equal(rtalloc4(ns, 0, inAddr('192.168.0.1'))!.ifp, ns.lo0);
  assert.equal(rtalloc4(ns, 0, inAddr('8.8.8.8'))!.ifp, ta);
  assert.equal(addRoute(ns, '10.1.2.0/24', '192.168.0.13'), -ERRNO.EEXIST);
  assert.equal(addRoute(ns, '172.16.0.0/12', '172.31.0.1'), -ERRNO.ENETUNREACH, 'gateway not on a connected network');
  assert.equal(deleteRoute(ns, '10.1.2.3/32'), 0);
  assert.equal(gw('10.1.2.3'), '192.168.0.11');
  assert.equal(deleteRoute(ns, '10.1.2.3/32'), -ERRNO.ENOENT);
  assert.equal(deleteRoute(ns, 'default'), 0);
  assert.equal(rtalloc4(ns, 0, inAddr('8.8.8.8')), null);
  assert.equal(ping4(a, '8.8.8.8'), -ERRNO.EHOSTUNREACH);
  assert.equal(ns.ipstat.ips_noroute, 1);
});

test('longest-prefix match for IPv6, route MTU capped by the interface MTU', () => {
  const { a } = tunPair();
  const ns = a.ns;
  assert.equal(addRoute(ns, '2001:db8::/32', 'fd00::10'), 0);
  assert.equal(addRoute(ns, '2001:db8:1::/48', 'fd00::11', { mtu: 1400 }), 0);
  assert.equal(addRoute(ns, '2001:db8:1:2::/64', 'fd00::12', { mtu: 9000 }), 0);
  assert.equal(addRoute(ns, '::/0', 'fd00::fe'), 0);
  const r = (d: string) => rtalloc6(ns, 0, in6Addr(d))!;
  assert.deepEqual(r('2001:db8:1:2::5').gw6, in6Addr('fd00::12'));
  assert.equal(r('2001:db8:1:2::5').pathMtu, 1500, 'route MTU above the interface MTU is capped');
  assert.deepEqual(r('2001:db8:1:3::5').gw6, in6Addr('fd00::11'));
  assert.equal(r('2001:db8:1:3::5').pathMtu, 1400);
  assert.deepEqual(r('2001:db8:2::5').gw6, in6Addr('fd00::10'));
  assert.deepEqual(r('2600::1').gw6, in6Addr('fd00::fe'));
  assert.equal(r('fd00::99').flags & RTF_GATEWAY, 0);
  assert.equal(r('fd00::1').flags & RTF_LOCAL, RTF_LOCAL);
  assert.equal(r('::1').ifp, ns.lo0);
  const gen = rtFib(ns, 0).gen;
  assert.equal(deleteRoute(ns, '2001:db8:1::/48'), 0);
  assert.notEqual(rtFib(ns, 0).gen, gen, 'route changes bump the generation');
  assert.deepEqual(r('2001:db8:1:3::5').gw6, in6Addr('fd00::10'));
});

test('removing an address removes its connected and local routes', () => {
  const { a, ta } = tunPair();
  assert.equal(delAddr4(a.ns, ta, inAddr('192.168.0.1')), 0);
  assert.equal(rtalloc4(a.ns, 0, inAddr('192.168.0.5')), null);
  assert.equal(isLocal4(a.ns, inAddr('192.168.0.1')), false);
  assert.equal(delAddr4(a.ns, ta, inAddr('192.168.0.1')), -ERRNO.EADDRNOTAVAIL);
  assert.equal(delAddr6(a.ns, ta, in6Addr('fd00::1')), 0);
  assert.equal(rtalloc6(a.ns, 0, in6Addr('fd00::5')), null);
});

test('source selection: the outgoing interface address on the destination subnet; RFC 6724 scope and prefix', () => {
  const { a, ea } = etherPair();
  addAddr(a.ns, ea, '10.0.1.1/24');
  addRoute(a.ns, 'default', '10.0.0.254');
  assert.equal(inetNtoa(selectSource4(a.ns, 0, inAddr('10.0.1.9'))), '10.0.1.1');
  assert.equal(inetNtoa(selectSource4(a.ns, 0, inAddr('8.8.8.8'))), '10.0.0.1');
  assert.equal(inetNtoa(selectSource4(a.ns, 0, inAddr('10.0.1.1'))), '10.0.1.1');
  assert.equal(inetNtoa(selectSource4(a.ns, 0, inAddr('127.0.0.1'))), '127.0.0.1');
  addAddr(a.ns, ea, 'fe80::1/64');
  addAddr(a.ns, ea, '2001:db8:0:0:8000::1/64');
  const out = new Uint8Array(16);
  assert.equal(selectSource6(a.ns, 0, in6Addr('fe80::99'), 0, out, 0), 0);
  assert.deepEqual(out, in6Addr('fe80::1'));
  assert.equal(selectSource6(a.ns, 0, in6Addr('2001:db8::8000:0:0:5'), 0, out, 0), 0);
  assert.deepEqual(out, in6Addr('2001:db8:0:0:8000::1'), 'longest matching prefix');
  assert.equal(selectSource6(a.ns, 0, in6Addr('2600::1'), 0, out, 0), -ERRNO.ENETUNREACH);
});

test('interface down: output ENETDOWN, input dropped; MTU limits', () => {
  const { a, ta } = tunPair();
  ifUpDown(a.ns, ta, false);
  assert.equal(ping4(a, '192.168.0.2'), -ERRNO.ENETDOWN);
  assert.equal(ifSetMtu(a.ns, ta, 60), -ERRNO.EINVAL);
  assert.equal(ifSetMtu(a.ns, ta, 9000), 0);
  assert.equal(rtalloc4(a.ns, 0, inAddr('192.168.0.2'))!.pathMtu, 9000);
});

test("SIOCSIFMTU: above the driver's mtuMax is EINVAL and leaves the MTU as it was", () => {
  const { a, ta } = tunPair();
  ta.mtuMax = 2030;
  assert.equal(ifSetMtu(a.ns, ta, 2030), 0);
  assert.equal(ifSetMtu(a.ns, ta, 2031), -ERRNO.EINVAL);
  assert.equal(ta.mtu, 2030);
});

test('route change: a new gateway replaces the entry (holders look again), an MTU alone changes in place; ESRCH without the route', () => {
  const { a } = tunPair();
  const ns = a.ns;
  assert.equal(addRoute(ns, '10.1.0.0/16', '192.168.0.10'), 0);
  const old = rtalloc4(ns, 0, inAddr('10.1.2.3'))!;
  assert.equal(changeRoute(ns, '10.1.0.0/16', '192.168.0.20'), 0);
  const now = rtalloc4(ns, 0, inAddr('10.1.2.3'))!;
  assert.equal(inetNtoa(now.gw4), '192.168.0.20');
  assert.equal(old.valid, false, 'the old entry is gone: a cached route looks again');
  assert.equal(changeRoute(ns, '10.1.0.0/16', null, { mtu: 1280 }), 0);
  assert.equal(rtalloc4(ns, 0, inAddr('10.1.2.3')), now, 'an MTU alone keeps the entry');
  assert.equal(now.pathMtu, 1280);
  assert.equal(changeRoute(ns, '10.1.0.0/16', '172.31.0.1'), -ERRNO.ENETUNREACH);
  assert.equal(rtalloc4(ns, 0, inAddr('10.1.2.3')), now, 'a failed change keeps the old entry');
  assert.equal(now.valid, true);
  assert.equal(changeRoute(ns, '10.2.0.0/16', '192.168.0.20'), -ERRNO.ENOENT);
  // The connected prefix's MTU too (route change -mtu on an interface route).
  assert.equal(changeRoute(ns, '192.168.0.0/24', null, { mtu: 1400 }), 0);
  assert.equal(rtalloc4(ns, 0, inAddr('192.168.0.77'))!.pathMtu, 1400);
  assert.equal(changeRoute(ns, '2001:db8::/32', 'fd00::10'), -ERRNO.ENOENT);
  assert.equal(addRoute(ns, '2001:db8::/32', 'fd00::10'), 0);
  assert.equal(changeRoute(ns, '2001:db8::/32', 'fd00::11', { mtu: 1300 }), 0);
  const r6 = rtalloc6(ns, 0, in6Addr('2001:db8::5'))!;
  assert.deepEqual(r6.gw6, in6Addr('fd00::11'));
  assert.equal(r6.pathMtu, 1300);
});

test('route(8) change: parsed and applied; needs a gateway, -interface or -mtu', () => {
  const e = new Engine({ seed: 1 });
  const ifp = e.ifattach({ name: 'cxgbe0', type: 'ether', lladdr: new Uint8Array([2, 0, 0, 0, 0, 1]) });
  assert.equal(e.addAddr(ifp, '10.0.0.1/24'), 0);
  e.setUp(ifp, true);
  const run = (...argv: string[]) => applyRoute(e, parseRouteArgs(argv));
  assert.deepEqual(run('add', '-net', '192.0.2.0/24', '10.0.0.9'), {
    cmd: 'add',
    message: 'add net 192.0.2.0/24: gateway 10.0.0.9 fib 0',
  });
  assert.deepEqual(run('change', '192.0.2.0/24', '10.0.0.8', '-mtu', '1280'), {
    cmd: 'change',
    message: 'change net 192.0.2.0/24: gateway 10.0.0.8 fib 0',
  });
  const got = run('get', '192.0.2.7');
  assert.equal(got.cmd === 'get' && got.route.gateway, '10.0.0.8');
  assert.equal(got.cmd === 'get' && got.mtu, 1280);
  assert.throws(() => run('change', '-host', '10.0.0.2', '-mtu', '1400'), { code: 'ESRCH' });
  assert.throws(() => run('change', '192.0.2.0/24'), { code: 'EINVAL' });
  assert.throws(() => run('change', '192.0.2.0/24', '172.16.0.1'), { code: 'ENETUNREACH' });
});
