import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etherPair, tunPair, ping4, ping6 } from './net-harness.js';
import { in6Addr } from '../src/netinet/in.js';
import { ICMP_ECHO, ICMP_ECHOREPLY } from '../src/netinet/ip_icmp.js';
import { ICMP6_ECHO_REPLY } from '../src/netinet6/icmp6.js';
import { ifunit } from '../src/net/if.js';
import { drain, loPending } from '../src/net/if_loop.js';

test('ICMP echo over Ethernet: ARP resolves, the request is held and sent, the reply comes back', () => {
  const { clock, a, b } = etherPair();
  const n = a.sent.length;
  assert.equal(ping4(a, '10.0.0.2'), 0);
  // The echo waits for ARP: only a request left.
  assert.equal(a.since(n).length, 1);
  assert.equal(a.ns.arp.stat.txrequests >= 1, true);
  clock.run();
  assert.equal(b.ns.icmp.stat.icps_reflect, 1);
  assert.equal(b.ns.icmp.stat.icps_inhist[ICMP_ECHO], 1);
  assert.equal(a.ns.icmp.stat.icps_inhist[ICMP_ECHOREPLY], 1);
  assert.equal(a.ns.arp.stat.rxreplies, 1);
  assert.equal(b.ns.ipstat.ips_delivered, 1);
  // Second ping: resolved, goes straight out.
  const m = a.sent.length;
  ping4(a, '10.0.0.2');
  assert.equal(a.since(m).length, 1);
  clock.run();
  assert.equal(a.ns.icmp.stat.icps_inhist[ICMP_ECHOREPLY], 2);
});

test('ICMPv6 echo over Ethernet with neighbor discovery', () => {
  const { clock, a, b } = etherPair();
  assert.equal(ping6(a, '2001:db8::2'), 0);
  clock.run();
  assert.equal(b.ns.icmp6.stat.icp6s_reflect, 1);
  assert.equal(a.ns.icmp6.stat.icp6s_inhist[ICMP6_ECHO_REPLY], 1);
  const e = a.ns.nd6.lookup(ifunit(a.ns, 'em0')!, in6Addr('2001:db8::2'));
  assert.ok(e);
  assert.deepEqual([...e.lladdr], [2, 0, 0, 0, 0, 2]);
});

test('ICMP and ICMPv6 echo over tun (raw IP frames)', () => {
  const { clock, a, b } = tunPair();
  assert.equal(ping4(a, '192.168.0.2'), 0);
  assert.equal(ping6(a, 'fd00::2'), 0);
  clock.run();
  assert.equal(b.ns.icmp.stat.icps_reflect, 1);
  assert.equal(b.ns.icmp6.stat.icp6s_reflect, 1);
  assert.equal(a.ns.icmp.stat.icps_inhist[ICMP_ECHOREPLY], 1);
  assert.equal(a.ns.icmp6.stat.icp6s_inhist[ICMP6_ECHO_REPLY], 1);
  // tun frames are bare IP.
  assert.equal(a.sent[0]!.frame[0]! >>> 4, 4);
});

test('ping to our own address goes through lo0 and is delivered by drain()', () => {
  const { a } = tunPair();
  assert.equal(ping4(a, '192.168.0.1'), 0);
  assert.equal(loPending(a.ns), 1);
  assert.equal(drain(a.ns), 2); // the echo and its reply
  assert.equal(a.ns.icmp.stat.icps_reflect, 1);
  assert.equal(a.ns.icmp.stat.icps_inhist[ICMP_ECHOREPLY], 1);
  assert.equal(ping6(a, '::1'), 0);
  drain(a.ns);
  assert.equal(a.ns.icmp6.stat.icp6s_reflect, 1);
});
