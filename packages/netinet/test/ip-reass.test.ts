import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tunPair, ip4, ip6, udpIn4 } from './net-harness.js';
import { get16, set16, set32 } from '@mcstack/wire';
import { registerProtocol } from '../src/net/protosw.js';
import { ifInput } from '../src/net/if_var.js';

/** A UDP datagram of `n` payload bytes to 192.168.0.1:9 and its fragments (data per fragment). */
function fragments4(n: number, per: number, id = 7): { whole: Uint8Array; frags: Uint8Array[] } {
  const payload = new Uint8Array(8 + n);
  for (let i = 0; i < n; i++) payload[8 + i] = (i * 7) & 0xff;
  const whole = udpIn4(ip4(payload, { id }), 1000, 9);
  const data = whole.subarray(20);
  const frags: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += per) {
    const chunk = data.subarray(o, Math.min(o + per, data.length));
    frags.push(ip4(chunk, { id, fragOffset: o, mf: o + per < data.length }));
  }
  return { whole, frags };
}

function receiver() {
  const p = tunPair();
  const got: Uint8Array[] = [];
  registerProtocol(p.a.ns, 17, {
    input: (m, off, len) => {
      got.push(m.slice(off, off + len));
    },
  });
  return { ...p, got };
}

test('IPv4 reassembly: in order, reversed and shuffled deliver the same datagram once', () => {
  for (const order of ['in', 'rev', 'mix'] as const) {
    const { a, ta, got } = receiver();
    const { whole, frags } = fragments4(1000, 256);
    const seq =
      order === 'in' ? frags : order === 'rev' ? [...frags].reverse() : [frags[2]!, frags[0]!, frags[3]!, frags[1]!];
    for (const f of seq) ifInput(a.ns, ta, f, null);
    assert.equal(got.length, 1, order);
    assert.deepEqual(got[0], whole.subarray(20), order);
    assert.equal(a.ns.ipstat.ips_fragments, 4);
    assert.equal(a.ns.ipstat.ips_reassembled, 1);
    assert.equal(a.ns.ipReass.npackets, 0);
  }
});

test('IPv4 reassembly: overlaps are trimmed (earlier data wins at the front), duplicates dropped', () => {
  const { a, ta, got } = receiver();
  const { whole, frags } = fragments4(1000, 256);
  const data = whole.subarray(20);
  // An overlapping fragment covering [128, 384) with garbage that must lose at its front
  // to fragment 0 and win over nothing behind (fragment 1 not yet here).
  const bogus = new Uint8Array(256).fill(0xee);
  bogus.set(data.subarray(256, 384), 128); // the part that survives must be correct data
  ifInput(a.ns, ta, frags[0]!, null);
  ifInput(a.ns, ta, ip4(bogus, { id: 7, fragOffset: 128, mf: true }), null);
  ifInput(a.ns, ta, frags[0]!, null); // exact duplicate: wholly covered, dropped
  for (const f of frags.slice(1)) ifInput(a.ns, ta, f, null);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0], data);
  assert.ok(a.ns.ipstat.ips_fragdropped >= 1);
});

test('IPv4 reassembly: timeout after 30 s counts ips_fragtimeout and sends time exceeded (reassembly)', () => {
  const { clock, a, ta } = receiver();
  const { frags } = fragments4(1000, 256);
  ifInput(a.ns, ta, frags[0]!, null);
  ifInput(a.ns, ta, frags[2]!, null);
  const n = a.sent.length;
  clock.advance(29.9e6);
  assert.equal(a.ns.ipReass.npackets, 1);
  clock.advance(30e6);
  assert.equal(a.ns.ipReass.npackets, 0);
  assert.equal(a.ns.ipstat.ips_fragtimeout, 2);
  const e = a.since(n)[0]!.frame;
  assert.equal(e[20], 11);
  assert.equal(e[21], 1);
  // Only fragments without fragment zero: no ICMP.
  ifInput(a.ns, ta, frags[1]!, null);
  const m = a.sent.length;
  clock.advance(61e6);
  assert.equal(a.sent.length, m);
  assert.equal(a.ns.ipstat.ips_fragtimeout, 3);
});

test('IPv4 reassembly limits: maxfragsperpacket, maxfragpackets, and bad fragment lengths', () => {
  const { a, ta, got } = receiver();
  a.sysctl.set('net.inet.ip.maxfragsperpacket', 3);
  const { frags } = fragments4(1000, 256);
  for (const f of frags) ifInput(a.ns, ta, f, null);
  assert.equal(got.length, 0);
  assert.equal(a.ns.ipstat.ips_fragdropped, 4, 'the queue and the 4th fragment');
  a.sysctl.set('net.inet.ip.maxfragpackets', 0);
  ifInput(a.ns, ta, frags[0]!, null);
  assert.equal(a.ns.ipstat.ips_fragdropped, 5);
  a.sysctl.set('net.inet.ip.maxfragpackets', 2);
  for (let id = 1; id <= 3; id++) ifInput(a.ns, ta, fragments4(100, 64, id).frags[0]!, null);
  assert.equal(a.ns.ipReass.npackets, 2, 'the oldest queue makes room');
  assert.equal(a.sysctl.get('net.inet.ip.fragpackets'), 2);
  // A non-last fragment whose length is not a multiple of 8.
  ifInput(a.ns, ta, ip4(new Uint8Array(13), { id: 99, mf: true }), null);
  assert.equal(a.ns.ipstat.ips_toosmall, 1);
});

/** IPv6 fragments of a UDP datagram to fd00::1. */
function fragments6(n: number, per: number, id = 0x1234): { data: Uint8Array; frags: Uint8Array[] } {
  const data = new Uint8Array(8 + n);
  set16(data, 0, 1000);
  set16(data, 2, 9);
  set16(data, 4, data.length);
  for (let i = 0; i < n; i++) data[8 + i] = (i * 13) & 0xff;
  // Checksum over the whole datagram (pseudo header fd00::2 -> fd00::1).
  const whole = ip6(data);
  let s = 0;
  for (let i = 8; i < 40; i += 2) s += get16(whole, i);
  s += data.length + 17;
  for (let i = 0; i < data.length; i += 2) s += (data[i]! << 8) | (data[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  set16(data, 6, ~s & 0xffff || 0xffff);
  const frags: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += per) {
    const chunk = data.subarray(o, Math.min(o + per, data.length));
    const fh = new Uint8Array(8 + chunk.length);
    fh[0] = 17;
    set16(fh, 2, o | (o + per < data.length ? 1 : 0));
    set32(fh, 4, id);
    fh.set(chunk, 8);
    frags.push(ip6(fh, { nxt: 44 }));
  }
  return { data, frags };
}

test('IPv6 reassembly: in order and reversed; atomic fragments pass straight through', () => {
  for (const rev of [false, true]) {
    const { a, ta, got } = receiver();
    const { data, frags } = fragments6(1500, 504);
    for (const f of rev ? [...frags].reverse() : frags) ifInput(a.ns, ta, f, null);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], data);
    assert.equal(a.ns.ip6stat.ip6s_reassembled, 1);
  }
  const { a, ta, got } = receiver();
  const { data, frags } = fragments6(100, 1000);
  assert.equal(frags.length, 1);
  ifInput(a.ns, ta, frags[0]!, null);
  assert.deepEqual(got[0], data);
  assert.equal(a.ns.ip6stat.ip6s_atomicfrags, 1);
});

test('IPv6 reassembly: overlap abandons the datagram (RFC 5722); bad lengths get a parameter problem', () => {
  const { a, ta, got } = receiver();
  const { frags } = fragments6(1500, 504);
  ifInput(a.ns, ta, frags[0]!, null);
  const overl = fragments6(1500, 256).frags[1]!; // [256, 512) overlaps [0, 504)
  ifInput(a.ns, ta, overl, null);
  for (const f of frags.slice(1)) ifInput(a.ns, ta, f, null);
  assert.equal(got.length, 0);
  assert.ok(a.ns.ip6stat.ip6s_fragdropped >= 2);
  const bad = fragments6(100, 1000).frags[0]!.slice(0, 40 + 8 + 13);
  set16(bad, 4, 8 + 13);
  bad[40 + 3] = bad[40 + 3]! | 1; // M flag with 13 bytes
  const n = a.sent.length;
  ifInput(a.ns, ta, bad, null);
  const e = a.since(n)[0]!.frame;
  assert.equal(e[40], 4);
  assert.equal(e[41], 0);
  assert.equal(e[47], 4, 'pointer to the payload length field');
});

test('IPv6 reassembly: 60 s timeout with time exceeded code 1 when the first fragment arrived', () => {
  const { clock, a, ta } = receiver();
  const { frags } = fragments6(1500, 504);
  ifInput(a.ns, ta, frags[0]!, null);
  const n = a.sent.length;
  clock.advance(60e6);
  assert.equal(a.ns.ip6stat.ip6s_fragtimeout, 1);
  const e = a.since(n)[0]!.frame;
  assert.equal(e[40], 3);
  assert.equal(e[41], 1);
  assert.equal(a.ns.frag6.npackets, 0);
});

test('IPv6 reassembly keeps delivering under a flood of never-completed fragments from many sources', () => {
  const { a, ta, got } = receiver();
  const t = a.ns.frag6.tun;
  assert.equal(a.sysctl.get('net.inet6.ip6.maxfragbucketsize'), 32);
  // A first fragment (M set) that nothing ever completes, from fd00:1::<i>.
  const bogus = (i: number) => {
    const fh = new Uint8Array(8 + 64);
    fh[0] = 17;
    set16(fh, 2, 1);
    set32(fh, 4, i);
    const f = ip6(fh, { nxt: 44, src: `fd00:1::${(i & 0xffff).toString(16)}:${(i >>> 16).toString(16)}` });
    return f;
  };
  let flood = 0;
  const n = 2000;
  for (let k = 0; k < n; k++) {
    const { frags } = fragments6(300, 160, 0x10000 + k);
    // 50 flood fragments between each legitimate datagram's two fragments.
    ifInput(a.ns, ta, frags[0]!, null);
    for (let j = 0; j < 50; j++) ifInput(a.ns, ta, bogus(flood++), null);
    ifInput(a.ns, ta, frags[1]!, null);
    assert.ok(a.ns.frag6.npackets <= t.maxfragpackets);
    assert.ok(a.ns.frag6.nfragments <= t.maxfrags);
    assert.ok(a.ns.frag6.maxBucketLength <= t.maxfragbucketsize);
  }
  assert.equal(got.length, n, 'every legitimate datagram reassembled');
  assert.equal(a.ns.ip6stat.ip6s_reassembled, n);
  assert.ok(a.ns.ip6stat.ip6s_fragoverflow >= flood - t.maxfragpackets);
  // The limits are sysctls: maxfragpackets resizes the buckets (frag6_set_bucketsize).
  a.sysctl.set('net.inet6.ip6.maxfragpackets', 64);
  assert.equal(a.sysctl.get('net.inet6.ip6.maxfragbucketsize'), 2);
});
