import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tunPair, ip4, ip6, icmp4, icmp6In } from './net-harness.js';
import type { CtlInput } from '../src/net/protosw.js';
import {
  PRC_MSGSIZE,
  PRC_UNREACH_PORT,
  PRC_UNREACH_NET,
  PRC_TIMXCEED_INTRANS,
  PRC_UNREACH_ADMIN_PROHIB,
  inetctlerrmap,
  registerProtocol,
} from '../src/net/protosw.js';
import { ERRNO } from '../src/kern/errno.js';
import { get16, set16 } from '@mcstack/wire';
import { ifInput } from '../src/net/if_var.js';

function recorder() {
  const p = tunPair();
  const seen: { cmd: number; mtu: number; sport: number; dport: number; af: number; type: number }[] = [];
  const sw = {
    input: () => {},
    ctlinput: (cmd: number, c: CtlInput) => {
      seen.push({
        cmd,
        mtu: c.mtu,
        sport: get16(c.buf, c.off),
        dport: get16(c.buf, c.off + 2),
        af: c.af,
        type: c.icmpType,
      });
    },
  };
  registerProtocol(p.a.ns, 6, sw);
  return { ...p, seen };
}

/** The first 28 bytes of a TCP segment we (192.168.0.1:1234) sent to 192.168.0.2:80. */
function quoted4(): Uint8Array {
  const tcp = new Uint8Array(20);
  set16(tcp, 0, 1234);
  set16(tcp, 2, 80);
  tcp[12] = 0x50;
  return ip4(tcp, { src: '192.168.0.1', dst: '192.168.0.2', proto: 6 }).subarray(0, 28);
}

test("ICMP errors reach the quoted protocol's ctlinput with FreeBSD's PRC codes", () => {
  const { a, ta, seen } = recorder();
  const send = (type: number, code: number, rest: number) =>
    ifInput(a.ns, ta, ip4(icmp4(type, code, rest, quoted4()), { proto: 1 }), null);
  send(3, 3, 0); // port unreachable
  send(3, 4, 1300); // need frag, next-hop MTU 1300 (RFC 1191)
  send(3, 1, 0); // host unreachable
  send(3, 13, 0); // administratively prohibited
  send(11, 0, 0); // time exceeded in transit
  assert.deepEqual(
    seen.map((s) => s.cmd),
    [PRC_UNREACH_PORT, PRC_MSGSIZE, PRC_UNREACH_NET, PRC_UNREACH_ADMIN_PROHIB, PRC_TIMXCEED_INTRANS],
  );
  assert.equal(seen[1]!.mtu, 1300);
  assert.deepEqual([seen[0]!.sport, seen[0]!.dport], [1234, 80]);
  assert.equal(inetctlerrmap[PRC_UNREACH_PORT], ERRNO.ECONNREFUSED);
  assert.equal(inetctlerrmap[PRC_MSGSIZE], ERRNO.EMSGSIZE);
  // Bad codes and too-short quotes are counted, not delivered.
  send(3, 99, 0);
  assert.equal(a.ns.icmp.stat.icps_badcode, 1);
  ifInput(a.ns, ta, ip4(icmp4(3, 3, 0, quoted4().subarray(0, 24)), { proto: 1 }), null);
  assert.equal(a.ns.icmp.stat.icps_badlen, 1);
  const bad = icmp4(3, 3, 0, quoted4());
  bad[2]! ^= 1;
  ifInput(a.ns, ta, ip4(bad, { proto: 1 }), null);
  assert.equal(a.ns.icmp.stat.icps_checksum, 1);
  assert.equal(seen.length, 5);
});

test('ICMPv6 errors: packet too big carries the MTU, dest unreachable / time exceeded map to PRC codes', () => {
  const { a, ta, seen } = recorder();
  const tcp = new Uint8Array(20);
  set16(tcp, 0, 1234);
  set16(tcp, 2, 80);
  const q = ip6(tcp, { src: 'fd00::1', dst: 'fd00::2', nxt: 6 });
  ifInput(a.ns, ta, icmp6In(2, 0, 1280, q), null);
  ifInput(a.ns, ta, icmp6In(1, 4, 0, q), null);
  ifInput(a.ns, ta, icmp6In(1, 0, 0, q), null);
  ifInput(a.ns, ta, icmp6In(3, 0, 0, q), null);
  assert.deepEqual(
    seen.map((s) => s.cmd),
    [PRC_MSGSIZE, PRC_UNREACH_PORT, PRC_UNREACH_NET, PRC_TIMXCEED_INTRANS],
  );
  assert.equal(seen[0]!.mtu, 1280);
  assert.equal(seen[0]!.af, 6);
  assert.deepEqual([seen[0]!.sport, seen[0]!.dport], [1234, 80]);
  // A quote behind a hop-by-hop header still finds TCP.
  const hbh = new Uint8Array(8 + 20);
  hbh[0] = 6;
  hbh.set(tcp, 8);
  ifInput(a.ns, ta, icmp6In(1, 4, 0, ip6(hbh, { src: 'fd00::1', dst: 'fd00::2', nxt: 0 })), null);
  assert.equal(seen.length, 5);
  ifInput(a.ns, ta, icmp6In(1, 9, 0, q), null);
  assert.equal(a.ns.icmp6.stat.icp6s_badcode, 1);
});

test('icmp_error: not sent about broadcasts; badport_bandlim allows icmplim per second', () => {
  const { clock, a, ta } = tunPair();
  // An unknown protocol to us gets a protocol unreachable...
  let n = a.sent.length;
  ifInput(a.ns, ta, ip4(new Uint8Array(8), { proto: 253 }), null);
  assert.equal(a.sent.length, n + 1);
  // ...but not when it was sent to a broadcast address.
  n = a.sent.length;
  ifInput(a.ns, ta, ip4(new Uint8Array(8), { proto: 253, dst: '255.255.255.255' }), null);
  assert.equal(a.sent.length, n);
  // Rate limit: icmplim per second (unreach class), then the next second works again.
  a.sysctl.set('net.inet.icmp.icmplim', 3);
  for (let i = 0; i < 10; i++) a.ns.icmp.badportBandlim(0);
  assert.equal(a.ns.icmp.limited[0], 7);
  clock.advance(1e6);
  assert.equal(a.ns.icmp.badportBandlim(0), false);
});
