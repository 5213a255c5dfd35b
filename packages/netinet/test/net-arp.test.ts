import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, Host, etherPair, mac } from './net-harness.js';
import { ping4 } from './net-harness.js';
import { inAddr } from '../src/netinet/in.js';
import { LLE_VALID } from '../src/netinet/if_ether.js';
import { ERRNO } from '../src/kern/errno.js';
import { ifUpDown, ifattach, ifunit } from '../src/net/if.js';
import { addAddr } from '../src/netstack.js';
import { addRoute } from '../src/net/route.js';
import { ifInput } from '../src/net/if_var.js';

function lonely(): { clock: Clock; h: Host } {
  const clock = new Clock();
  const h = new Host(clock, 3);
  const e = ifattach(h.ns, { name: 'em0', type: 'ether', lladdr: mac(1) });
  addAddr(h.ns, e, '10.0.0.1/24');
  ifUpDown(h.ns, e, true); // no link: nobody answers
  return { clock, h };
}

test('ARP: one packet held per entry (newer replaces older, counted dropped), sent on reply', () => {
  const { clock, a, b, ea } = etherPair();
  clock.queue.length = 0;
  const n = a.sent.length;
  ping4(a, '10.0.0.2', 10);
  ping4(a, '10.0.0.2', 20); // replaces the first in la_hold
  assert.equal(a.ns.arp.stat.dropped, 1);
  assert.equal(a.since(n).length, 1, 'one request within the same second');
  clock.run();
  assert.equal(b.ns.icmp.stat.icps_reflect, 1);
  const e = a.ns.arp.lookup(ea, inAddr('10.0.0.2'))!;
  assert.equal(e.state, LLE_VALID);
  // B learned A from the request addressed to it (RFC 826), so B did not ask.
  assert.equal(b.ns.arp.stat.txrequests, 1, 'only its gratuitous ARP at ifconfig up');
});

test('ARP: unanswered requests, at most one per second, EHOSTDOWN after maxtries, entry expires after wait', () => {
  const { clock, h } = lonely();
  const em0 = ifunit(h.ns, 'em0')!;
  const base = h.ns.arp.stat.txrequests;
  for (let s = 0; s < 5; s++) {
    clock.advance(s * 1e6);
    assert.equal(ping4(h, '10.0.0.9'), 0);
    if (s === 0) assert.equal(ping4(h, '10.0.0.9'), 0); // same second: no second request
  }
  assert.equal(h.ns.arp.stat.txrequests - base, 5);
  clock.advance(5e6);
  assert.equal(ping4(h, '10.0.0.9'), -ERRNO.EHOSTDOWN);
  assert.ok(h.ns.arp.lookup(em0, inAddr('10.0.0.9')));
  // net.link.ether.inet.wait (20 s) after the last request the entry goes.
  clock.advance(4e6 + 20e6);
  assert.equal(h.ns.arp.lookup(em0, inAddr('10.0.0.9')), null);
  assert.equal(h.ns.arp.stat.timeouts, 1);
  assert.equal(ping4(h, '10.0.0.9'), 0, 'asking again after the entry expired');
  // Through a gateway the error is EHOSTUNREACH.
  addRoute(h.ns, '0.0.0.0/0', '10.0.0.254');
  for (let s = 0; s < 5; s++) {
    clock.advance(clock.now + 1e6);
    ping4(h, '8.8.8.8');
  }
  clock.advance(clock.now + 1e6);
  assert.equal(ping4(h, '8.8.8.8'), -ERRNO.EHOSTUNREACH);
});

test('ARP: a resolved entry lives net.link.ether.inet.max_age seconds; sysctl changes it', () => {
  const { clock, a, ea } = etherPair();
  a.sysctl.set('net.link.ether.inet.max_age', 60);
  ping4(a, '10.0.0.2');
  clock.run();
  assert.ok(a.ns.arp.lookup(ea, inAddr('10.0.0.2')));
  clock.advance(59e6);
  assert.ok(a.ns.arp.lookup(ea, inAddr('10.0.0.2')));
  clock.advance(61e6);
  assert.equal(a.ns.arp.lookup(ea, inAddr('10.0.0.2')), null);
  assert.throws(() => a.sysctl.set('net.link.ether.inet.no_such', 1), { code: 'ENOENT' });
});

test('ARP: replies to requests for our address, ignores others, counts duplicates of our IP', () => {
  const { h } = lonely();
  const em0 = ifunit(h.ns, 'em0')!;
  const req = (spa: string, tpa: string, sha = [2, 0, 0, 0, 0, 7]) => {
    const f = new Uint8Array(42);
    f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...sha, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1, ...sha]);
    f.set(spa.split('.').map(Number), 28);
    f.set(tpa.split('.').map(Number), 38);
    return f;
  };
  const n = h.sent.length;
  ifInput(h.ns, em0, req('10.0.0.7', '10.0.0.1'), null);
  assert.equal(h.ns.arp.stat.txreplies, 1);
  const r = h.sent[n]!.frame;
  assert.deepEqual([...r.subarray(0, 6)], [2, 0, 0, 0, 0, 7]);
  assert.equal(r[21], 2); // ARPOP_REPLY
  assert.ok(h.ns.arp.lookup(em0, inAddr('10.0.0.7')));
  ifInput(h.ns, em0, req('10.0.0.8', '10.0.0.5'), null);
  assert.equal(h.ns.arp.stat.txreplies, 1);
  assert.equal(h.ns.arp.lookup(em0, inAddr('10.0.0.8')), null, 'not addressed to us: not learned');
  ifInput(h.ns, em0, req('10.0.0.1', '10.0.0.5'), null);
  assert.equal(h.ns.arp.stat.dupips, 1);
  ifInput(h.ns, em0, req('10.0.0.8', '10.0.0.1').subarray(0, 30), null);
  assert.equal(h.ns.arp.stat.dropped, 1, 'truncated');
});
