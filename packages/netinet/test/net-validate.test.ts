import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tunPair, etherPair, ip4, ip6, udpIn4 } from './net-harness.js';
import { set16 } from '@mcstack/wire';
import { ifInput } from '../src/net/if_var.js';
import { registerProtocol } from '../src/net/protosw.js';
import { drain } from '../src/net/if_loop.js';

test('IPv4 input: each malformed header is dropped and counted under its ipstat name', () => {
  const { a, ta } = tunPair();
  const st = a.ns.ipstat;
  const good = () => ip4(new Uint8Array(8), { proto: 253 });
  ifInput(a.ns, ta, good().subarray(0, 19), null);
  assert.equal(st.ips_toosmall, 1);
  let p = good();
  p[0] = 0x55; // version 5 (and no IPv6 either: tun dispatches on the nibble)
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ips_badvers, 1);
  p = good();
  p[0] = 0x44; // IHL 16 bytes
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ips_badhlen, 1);
  p = good();
  p[0] = 0x4f; // IHL 60 > 28 bytes present
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ips_badhlen, 2);
  p = good();
  p[10]! ^= 0xff; // checksum
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ips_badsum, 1);
  p = good();
  set16(p, 2, 12);
  set16(p, 10, 0); // ip_len < header length (checksum refilled below)
  refill(p);
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ips_badlen, 1);
  p = good();
  set16(p, 2, 40);
  refill(p); // ip_len beyond the buffer
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ips_tooshort, 1);
  p = ip4(new Uint8Array(8), { dst: '192.168.0.99' });
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ips_cantforward, 1);
  p = ip4(new Uint8Array(8), { src: '127.0.0.1' });
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ips_badaddr, 1);
  p = ip4(new Uint8Array(8), { dst: '224.1.2.3' });
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ips_notmember, 1);
  assert.equal(st.ips_total, 10);
  assert.equal(st.ips_delivered, 0);
  // Unknown protocol: ips_noproto and an ICMP protocol unreachable back.
  const n = a.sent.length;
  ifInput(a.ns, ta, good(), null);
  assert.equal(st.ips_noproto, 1);
  assert.equal(a.sent.length, n + 1);
  assert.equal(a.sent[n]!.frame[20], 3); // ICMP_UNREACH
  assert.equal(a.sent[n]!.frame[21], 2); // ICMP_UNREACH_PROTOCOL
});

test('IPv4 input: Ethernet padding beyond ip_len is trimmed, not an error', () => {
  const { a, ta } = tunPair();
  const seen: number[] = [];
  registerProtocol(a.ns, 17, {
    input: (_m, _o, len) => {
      seen.push(len);
    },
  });
  const p = udpIn4(ip4(new Uint8Array(12)), 1, 2);
  const padded = new Uint8Array(p.length + 6);
  padded.set(p);
  ifInput(a.ns, ta, padded, null);
  assert.deepEqual(seen, [12]);
  assert.equal(a.ns.ipstat.ips_delivered, 1);
});

test('IPv6 input: malformed headers dropped under ip6stat names', () => {
  const { a, ta } = tunPair();
  const st = a.ns.ip6stat;
  const good = () => ip6(new Uint8Array(8), { nxt: 253 });
  ifInput(a.ns, ta, good().subarray(0, 39), null);
  assert.equal(st.ip6s_toosmall, 1);
  let p = good();
  set16(p, 4, 100);
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ip6s_tooshort, 1);
  p = ip6(new Uint8Array(8), { src: 'ff02::1' });
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ip6s_badscope, 1);
  p = ip6(new Uint8Array(8), { src: '::1' });
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ip6s_badscope, 2);
  p = ip6(new Uint8Array(8), { dst: 'fd00::99' });
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ip6s_cantforward, 1);
  p = ip6(new Uint8Array(8), { dst: 'ff05::1:3' });
  ifInput(a.ns, ta, p, null);
  assert.equal(st.ip6s_notmember, 1);
  // Unknown next header: rip6s_nosock and a parameter problem (code 1) pointing at the field.
  const n = a.sent.length;
  ifInput(a.ns, ta, good(), null);
  assert.equal(a.ns.rip6stat.rip6s_nosock, 1);
  const r = a.sent[n]!.frame;
  assert.equal(r[40], 4);
  assert.equal(r[41], 1);
  assert.equal((r[44]! << 24) | (r[45]! << 16) | (r[46]! << 8) | r[47]!, 6);
  assert.equal(st.ip6s_total, 7);
});

test('IPv6 input: unknown options act on their high bits (RFC 8200 §4.2)', () => {
  const { a, ta } = tunPair();
  const delivered: number[] = [];
  registerProtocol(
    a.ns,
    17,
    {
      input: (_m, _o, len) => {
        delivered.push(len);
      },
    },
    6,
  );
  const withOpt = (t: number) => {
    const h = new Uint8Array(8 + 8);
    h[0] = 17;
    h[1] = 0; // next: UDP, 8 bytes
    h[2] = t;
    h[3] = 4; // option type t, 4 bytes of data
    const d = ip6(h, { nxt: 60 }); // destination options
    return d;
  };
  ifInput(a.ns, ta, withOpt(0x1e), null); // 00: skip
  assert.equal(delivered.length, 1);
  ifInput(a.ns, ta, withOpt(0x5e), null); // 01: discard silently
  assert.equal(a.ns.ip6stat.ip6s_badoptions, 1);
  const n = a.sent.length;
  ifInput(a.ns, ta, withOpt(0x9e), null); // 10: discard + parameter problem code 2
  assert.equal(a.ns.ip6stat.ip6s_badoptions, 2);
  assert.equal(a.sent[n]!.frame[40], 4);
  assert.equal(a.sent[n]!.frame[41], 2);
  assert.equal(delivered.length, 1);
});

test('random bytes never throw, on tun and Ethernet, and each is counted somewhere', () => {
  const { a: t, ta } = tunPair(7);
  const { a: e, ea } = etherPair(7);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(3), (bytes, v) => {
      const b = bytes.slice();
      // Bias toward plausible headers so the deeper checks are reached.
      if (b.length > 0 && v === 1) b[0] = 0x45;
      if (b.length > 0 && v === 2) b[0] = 0x60;
      ifInput(t.ns, ta, b, null);
      const f = new Uint8Array(14 + b.length);
      f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 9, 0x08, v === 2 ? 0xdd : 0x00]);
      if (v === 2) f[12] = 0x86;
      f.set(b, 14);
      ifInput(e.ns, ea, f, null);
      drain(t.ns);
      drain(e.ns);
    }),
    { seed: 42, numRuns: 3000 },
  );
  const s = t.ns.ipstat;
  const dropped4 =
    s.ips_toosmall +
    s.ips_badvers +
    s.ips_badhlen +
    s.ips_badsum +
    s.ips_badlen +
    s.ips_tooshort +
    s.ips_cantforward +
    s.ips_badaddr +
    s.ips_notmember +
    s.ips_badoptions +
    s.ips_delivered +
    s.ips_noproto +
    s.ips_fragments;
  assert.equal(dropped4, s.ips_total);
});

function refill(p: Uint8Array): void {
  set16(p, 10, 0);
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (p[i]! << 8) | p[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  set16(p, 10, ~s & 0xffff);
}
