import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, Host, etherPair, mac } from './net-harness.js';
import { ping6 } from './net-harness.js';
import { in6Addr } from '../src/netinet/in.js';
import { ND6_LLINFO_REACHABLE, ND6_LLINFO_STALE, ND6_LLINFO_DELAY, ND6_LLINFO_PROBE } from '../src/netinet6/nd6.js';
import { ND_NEIGHBOR_SOLICIT } from '../src/netinet6/icmp6.js';
import { ifUpDown, ifattach, ifunit } from '../src/net/if.js';
import { ifInput } from '../src/net/if_var.js';
import { addAddr } from '../src/netstack.js';

test('ND: NS to the solicited-node group with SLLAO, hold, REACHABLE on the solicited NA', () => {
  const { clock, a, b, ea, eb } = etherPair();
  clock.queue.length = 0;
  const n = a.sent.length;
  ping6(a, '2001:db8::2');
  const ns = a.since(n);
  assert.equal(ns.length, 1);
  const f = ns[0]!.frame;
  assert.deepEqual([...f.subarray(0, 6)], [0x33, 0x33, 0xff, 0, 0, 2]);
  assert.equal(f[14 + 7], 255, 'hop limit 255');
  assert.equal(f[54], ND_NEIGHBOR_SOLICIT);
  clock.run();
  assert.equal(a.ns.nd6.lookup(ea, in6Addr('2001:db8::2'))!.state, ND6_LLINFO_REACHABLE);
  // B learned A from the NS's SLLAO: STALE (RFC 4861 §7.2.3).
  const eB = b.ns.nd6.lookup(eb, in6Addr('2001:db8::1'))!;
  assert.ok(eB.state === ND6_LLINFO_STALE || eB.state === ND6_LLINFO_DELAY);
  assert.equal(b.ns.icmp6.stat.icp6s_reflect, 1);
});

test('ND: REACHABLE → STALE after ReachableTime, use moves it to DELAY, then PROBE, then REACHABLE again', () => {
  const { clock, a, ea } = etherPair();
  ping6(a, '2001:db8::2');
  clock.run();
  const e = a.ns.nd6.lookup(ea, in6Addr('2001:db8::2'))!;
  clock.advance(31e6);
  assert.equal(e.state, ND6_LLINFO_STALE);
  clock.queue.length = 0;
  ping6(a, '2001:db8::2'); // sent at once with the stale address
  assert.equal(e.state, ND6_LLINFO_DELAY);
  // Drop the traffic so no confirmation arrives; after DELAY_FIRST_PROBE_TIME a unicast probe.
  clock.queue.length = 0;
  const n = a.sent.length;
  a.links.delete(ea);
  clock.advance(clock.now + 5e6);
  assert.equal(e.state, ND6_LLINFO_PROBE);
  const probe = a.since(n)[0]!.frame;
  assert.deepEqual([...probe.subarray(0, 6)], [2, 0, 0, 0, 0, 2], 'unicast probe');
  // The probe is answered (link restored): REACHABLE.
  a.ns.nd6.lookup(ea, in6Addr('2001:db8::2'));
  const { b, eb } = { b: clock.stacks[1]!, eb: ifunit(clock.stacks[1]!.ns, 'em0')! };
  a.links.set(ea, { to: b, ifp: eb });
  ifInput(b.ns, eb, probe, null);
  clock.run();
  assert.equal(e.state, ND6_LLINFO_REACHABLE);
});

test('ND: unanswered solicitations (nd6_mmaxtries) → ICMPv6 address unreachable for the held packet, entry freed', () => {
  const clock = new Clock();
  const h = new Host(clock, 5);
  const e = ifattach(h.ns, { name: 'em0', type: 'ether', lladdr: mac(1) });
  addAddr(h.ns, e, '2001:db8::1/64');
  ifUpDown(h.ns, e, true);
  const n = h.sent.length;
  ping6(h, '2001:db8::9');
  clock.advance(10e6);
  const out = h.since(n);
  assert.equal(out.filter((s) => s.frame[54] === ND_NEIGHBOR_SOLICIT).length, 3);
  assert.equal(h.ns.nd6.lookup(e, in6Addr('2001:db8::9')), null);
  assert.equal(h.ns.icmp6.stat.icp6s_dropped, 1);
  // The address-unreachable error went to ourselves (the ping's source) through lo0.
  assert.equal(h.ns.icmp6.stat.icp6s_outhist[1], 1);
});

test('ND: NS and NA validation (hop limit 255, lengths, options)', () => {
  const { a, ea } = etherPair();
  const st = a.ns.icmp6.stat;
  const nsFrame = (hlim: number, optLen: number) => {
    const f = new Uint8Array(14 + 40 + 32);
    f.set([0x33, 0x33, 0xff, 0, 0, 1, 2, 0, 0, 0, 0, 9, 0x86, 0xdd]);
    const ip = 14;
    f[ip] = 0x60;
    f[ip + 5] = 32;
    f[ip + 6] = 58;
    f[ip + 7] = hlim;
    f.set(in6Addr('2001:db8::9'), ip + 8);
    f.set(in6Addr('ff02::1:ff00:1'), ip + 24);
    const o = ip + 40;
    f[o] = 135;
    f.set(in6Addr('2001:db8::1'), o + 8);
    f[o + 24] = 1;
    f[o + 25] = optLen;
    f.set([2, 0, 0, 0, 0, 9], o + 26);
    let s = 0;
    const add = (x: number, y: number) => {
      for (let i = x; i < y; i += 2) s += (f[i]! << 8) | f[i + 1]!;
    };
    add(ip + 8, ip + 40);
    s += 32 + 58;
    add(o, o + 32);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    f[o + 2] = (~s >>> 8) & 0xff;
    f[o + 3] = ~s & 0xff;
    return f;
  };
  const n = a.sent.length;
  ifInput(a.ns, ea, nsFrame(255, 1), null);
  assert.equal(a.since(n).length, 1, 'answered with an NA');
  assert.equal(a.since(n)[0]!.frame[54], 136);
  ifInput(a.ns, ea, nsFrame(64, 1), null);
  assert.equal(st.icp6s_invlhlim, 1);
  ifInput(a.ns, ea, nsFrame(255, 0), null);
  assert.equal(st.icp6s_nd_badopt, 1);
  assert.equal(st.icp6s_badns, 2);
});
