import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etherPair, tunPair, ping4 } from './net-harness.js';
import { inAddr, in6Addr, inetNtoa } from '../src/netinet/in.js';
import { RTF_GATEWAY, RTF_LOCAL } from '../src/net/route.js';
import { ERRNO } from '../src/kern/errno.js';

test('longest-prefix match for IPv4: host > /24 > /8 > default', () => {
  const { a, ta } = tunPair();
  const ns = a.ns;
  assert.equal(ns.addRoute('10.0.0.0/8', '192.168.0.10'), 0);
  assert.equal(ns.addRoute('10.1.2.0/24', '192.168.0.11'), 0);
  assert.equal(ns.addRoute('10.1.2.3/32', '192.168.0.12'), 0);
  assert.equal(ns.addRoute('default', '192.168.0.254'), 0);
  const gw = (d: string) => { const r = ns.rtalloc4(0, inAddr(d))!; return r.flags & RTF_GATEWAY ? inetNtoa(r.gw4) : 'direct'; };
  assert.equal(gw('10.1.2.3'), '192.168.0.12');
  assert.equal(gw('10.1.2.4'), '192.168.0.11');
  assert.equal(gw('10.9.9.9'), '192.168.0.10');
  assert.equal(gw('8.8.8.8'), '192.168.0.254');
  assert.equal(gw('192.168.0.77'), 'direct');
  assert.equal(ns.rtalloc4(0, inAddr('192.168.0.1'))!.flags & RTF_LOCAL, RTF_LOCAL);
  assert.equal(ns.rtalloc4(0, inAddr('192.168.0.1'))!.ifp, ns.lo0);
  assert.equal(ns.rtalloc4(0, inAddr('8.8.8.8'))!.ifp, ta);
  assert.equal(ns.addRoute('10.1.2.0/24', '192.168.0.13'), -ERRNO.EEXIST);
  assert.equal(ns.addRoute('172.16.0.0/12', '172.31.0.1'), -ERRNO.ENETUNREACH, 'gateway not on a connected network');
  assert.equal(ns.deleteRoute('10.1.2.3/32'), 0);
  assert.equal(gw('10.1.2.3'), '192.168.0.11');
  assert.equal(ns.deleteRoute('10.1.2.3/32'), -ERRNO.ENOENT);
  assert.equal(ns.deleteRoute('default'), 0);
  assert.equal(ns.rtalloc4(0, inAddr('8.8.8.8')), null);
  assert.equal(ping4(a, '8.8.8.8'), -ERRNO.EHOSTUNREACH);
  assert.equal(ns.ipstat.ips_noroute, 1);
});

test('longest-prefix match for IPv6, route MTU capped by the interface MTU', () => {
  const { a } = tunPair();
  const ns = a.ns;
  assert.equal(ns.addRoute('2001:db8::/32', 'fd00::10'), 0);
  assert.equal(ns.addRoute('2001:db8:1::/48', 'fd00::11', { mtu: 1400 }), 0);
  assert.equal(ns.addRoute('2001:db8:1:2::/64', 'fd00::12', { mtu: 9000 }), 0);
  assert.equal(ns.addRoute('::/0', 'fd00::fe'), 0);
  const r = (d: string) => ns.rtalloc6(0, in6Addr(d))!;
  assert.deepEqual(r('2001:db8:1:2::5').gw6, in6Addr('fd00::12'));
  assert.equal(r('2001:db8:1:2::5').pathMtu, 1500, 'route MTU above the interface MTU is capped');
  assert.deepEqual(r('2001:db8:1:3::5').gw6, in6Addr('fd00::11'));
  assert.equal(r('2001:db8:1:3::5').pathMtu, 1400);
  assert.deepEqual(r('2001:db8:2::5').gw6, in6Addr('fd00::10'));
  assert.deepEqual(r('2600::1').gw6, in6Addr('fd00::fe'));
  assert.equal(r('fd00::99').flags & RTF_GATEWAY, 0);
  assert.equal(r('fd00::1').flags & RTF_LOCAL, RTF_LOCAL);
  assert.equal(r('::1').ifp, ns.lo0);
  const gen = ns.fib(0).gen;
  assert.equal(ns.deleteRoute('2001:db8:1::/48'), 0);
  assert.notEqual(ns.fib(0).gen, gen, 'route changes bump the generation');
  assert.deepEqual(r('2001:db8:1:3::5').gw6, in6Addr('fd00::10'));
});

test('removing an address removes its connected and local routes', () => {
  const { a, ta } = tunPair();
  assert.equal(a.ns.delAddr4(ta, inAddr('192.168.0.1')), 0);
  assert.equal(a.ns.rtalloc4(0, inAddr('192.168.0.5')), null);
  assert.equal(a.ns.isLocal4(inAddr('192.168.0.1')), false);
  assert.equal(a.ns.delAddr4(ta, inAddr('192.168.0.1')), -ERRNO.EADDRNOTAVAIL);
  assert.equal(a.ns.delAddr6(ta, in6Addr('fd00::1')), 0);
  assert.equal(a.ns.rtalloc6(0, in6Addr('fd00::5')), null);
});

test('source selection: the outgoing interface address on the destination subnet; RFC 6724 scope and prefix', () => {
  const { a, ea } = etherPair();
  a.ns.addAddr(ea, '10.0.1.1/24');
  a.ns.addRoute('default', '10.0.0.254');
  assert.equal(inetNtoa(a.ns.selectSource4(0, inAddr('10.0.1.9'))), '10.0.1.1');
  assert.equal(inetNtoa(a.ns.selectSource4(0, inAddr('8.8.8.8'))), '10.0.0.1');
  assert.equal(inetNtoa(a.ns.selectSource4(0, inAddr('10.0.1.1'))), '10.0.1.1');
  assert.equal(inetNtoa(a.ns.selectSource4(0, inAddr('127.0.0.1'))), '127.0.0.1');
  a.ns.addAddr(ea, 'fe80::1/64');
  a.ns.addAddr(ea, '2001:db8:0:0:8000::1/64');
  const out = new Uint8Array(16);
  assert.equal(a.ns.selectSource6(0, in6Addr('fe80::99'), 0, out, 0), 0);
  assert.deepEqual(out, in6Addr('fe80::1'));
  assert.equal(a.ns.selectSource6(0, in6Addr('2001:db8::8000:0:0:5'), 0, out, 0), 0);
  assert.deepEqual(out, in6Addr('2001:db8:0:0:8000::1'), 'longest matching prefix');
  assert.equal(a.ns.selectSource6(0, in6Addr('2600::1'), 0, out, 0), -ERRNO.ENETUNREACH);
});

test('interface down: output ENETDOWN, input dropped; MTU limits', () => {
  const { a, ta } = tunPair();
  a.ns.setUp(ta, false);
  assert.equal(ping4(a, '192.168.0.2'), -ERRNO.ENETDOWN);
  assert.equal(a.ns.setMtu(ta, 60), -ERRNO.EINVAL);
  assert.equal(a.ns.setMtu(ta, 9000), 0);
  assert.equal(a.ns.rtalloc4(0, inAddr('192.168.0.2'))!.pathMtu, 9000);
});
