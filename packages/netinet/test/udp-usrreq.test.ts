import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etherPair, tunPair, type Host, ip4, ip6, udpIn4 } from './net-harness.js';
import { SocketLayer, POLLIN, MSG_PEEK, SO_BROADCAST, SOL_SOCKET, SO_RCVBUF } from '../src/kern/uipc_socket.js';
import type { SockAddr } from '../src/kern/uipc_socket.js';
import { SeededRandom } from '../src/kern/random.js';
import { udpAttach } from '../src/udp/usrreq.js';
import type { Udp } from '../src/udp/usrreq.js';
import { ERRNO } from '../src/kern/errno.js';
import { IPPROTO_IPV6, IPV6_V6ONLY } from '../src/netinet/in.js';
import { set16 } from '@mcstack/wire';
import { ifInput } from '../src/net/if_var.js';
import { drain } from '../src/net/if_loop.js';
import { ifSetMtu } from '../src/net/if.js';

function withUdp(h: Host, seed = 9): { so: SocketLayer; udp: Udp; events: [number, number][] } {
  const so = new SocketLayer({ sndbuf: () => 9216, rcvbuf: () => 42080, sbMax: () => 2 * 1024 * 1024 });
  const events: [number, number][] = [];
  so.upcall = (fd, ev) => {
    events.push([fd, ev]);
  };
  const udp = udpAttach(h.ns, so, new SeededRandom(seed), h.sysctl);
  return { so, udp, events };
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array, n: number) => new TextDecoder().decode(b.subarray(0, n));

test('UDP round trip over Ethernet, IPv4 and IPv6: sendto / recvfrom with the sender address', () => {
  const { clock, a, b } = etherPair();
  const A = withUdp(a, 1);
  const B = withUdp(b, 2);
  for (const [dom, server, client] of [
    ['inet', '10.0.0.2', '10.0.0.1'],
    ['inet6', '2001:db8::2', '2001:db8::1'],
  ] as const) {
    const s = B.so.socket(dom, 'dgram');
    assert.equal(B.so.bind(s, { addr: dom === 'inet' ? '0.0.0.0' : '::', port: 5353 }), 0);
    const c = A.so.socket(dom, 'dgram');
    assert.equal(A.so.send(c, enc('hello'), 0, 5, 0, { addr: server, port: 5353 }), 5);
    clock.run();
    assert.equal(B.so.poll(s) & POLLIN, POLLIN);
    const buf = new Uint8Array(100);
    const from: SockAddr = { addr: '', port: 0 };
    assert.equal(B.so.recv(s, buf, 0, 100, MSG_PEEK, from), 5);
    assert.equal(B.so.recv(s, buf, 0, 100, 0, from), 5);
    assert.equal(dec(buf, 5), 'hello');
    assert.equal(from.addr, client);
    const me = A.so.getsockname(c) as SockAddr;
    assert.equal(from.port, me.port);
    assert.ok(me.port >= 10000, 'implicit bind to an ephemeral port');
    // Reply to the sender.
    assert.equal(B.so.send(s, enc('world!'), 0, 6, 0, from), 6);
    clock.run();
    assert.equal(A.so.recv(c, buf, 0, 3, 0, from), 3, 'truncated to the buffer');
    assert.equal(dec(buf, 3), 'wor');
    assert.equal(A.so.recv(c, buf, 0, 100, 0), -ERRNO.EAGAIN, 'the rest of a datagram is discarded');
  }
  assert.equal(A.udp.stat.udps_opackets, 2);
  assert.equal(B.udp.stat.udps_ipackets, 2);
});

test('UDP connect: send without address, EISCONN with one, only the peer is received', () => {
  const { clock, a, b } = tunPair();
  const A = withUdp(a);
  const B = withUdp(b);
  const s = B.so.socket('inet', 'dgram');
  B.so.bind(s, { addr: '192.168.0.2', port: 7 });
  const c = A.so.socket('inet', 'dgram');
  assert.equal(A.so.send(c, enc('x'), 0, 1), -ERRNO.ENOTCONN);
  assert.equal(A.so.connect(c, { addr: '192.168.0.2', port: 7 }), 0);
  assert.deepEqual(A.so.getpeername(c), { addr: '192.168.0.2', port: 7 });
  assert.equal((A.so.getsockname(c) as SockAddr).addr, '192.168.0.1');
  assert.equal(A.so.send(c, enc('abc'), 0, 3), 3);
  assert.equal(A.so.send(c, enc('abc'), 0, 3, 0, { addr: '192.168.0.2', port: 7 }), -ERRNO.EISCONN);
  clock.run();
  const buf = new Uint8Array(10);
  assert.equal(B.so.recv(s, buf), 3);
  // A datagram from another port does not reach the connected socket.
  const local = (A.so.getsockname(c) as SockAddr).port;
  const other = B.so.socket('inet', 'dgram');
  B.so.send(other, enc('zz'), 0, 2, 0, { addr: '192.168.0.1', port: local });
  clock.run();
  assert.equal(A.so.recv(c, buf), -ERRNO.EAGAIN);
  assert.equal(A.udp.stat.udps_noport, 1);
});

test('port unreachable: ICMP sent for a closed port, turned into ECONNREFUSED on the connected sender', () => {
  const { clock, a, b } = tunPair();
  const A = withUdp(a);
  const B = withUdp(b);
  const c = A.so.socket('inet', 'dgram');
  A.so.connect(c, { addr: '192.168.0.2', port: 9999 });
  A.so.send(c, enc('knock'), 0, 5);
  clock.run();
  assert.equal(B.udp.stat.udps_noport, 1);
  assert.equal(b.ns.icmp.stat.icps_outhist[3], 1);
  assert.equal(A.so.recv(c, new Uint8Array(10)), -ERRNO.ECONNREFUSED);
  assert.equal(A.so.recv(c, new Uint8Array(10)), -ERRNO.EAGAIN, 'the error is reported once');
  // IPv6: ICMPv6 port unreachable.
  const c6 = A.so.socket('inet6', 'dgram');
  A.so.connect(c6, { addr: 'fd00::2', port: 9999 });
  A.so.send(c6, enc('knock'), 0, 5);
  clock.run();
  assert.equal(b.ns.icmp6.stat.icp6s_outhist[1], 1);
  assert.equal(A.so.send(c6, enc('again'), 0, 5), -ERRNO.ECONNREFUSED);
  // net.inet.udp.blackhole: silence.
  b.sysctl.set('net.inet.udp.blackhole', 1);
  A.so.send(c, enc('knock'), 0, 5);
  clock.run();
  assert.equal(b.ns.icmp.stat.icps_outhist[3], 1);
});

test('port unreachables are limited to net.inet.icmp.icmplim per second', () => {
  const { clock, a, ta } = tunPair();
  withUdp(a);
  a.sysctl.set('net.inet.icmp.icmplim', 5);
  const n = a.sent.length;
  for (let i = 0; i < 20; i++) ifInput(a.ns, ta, udpIn4(ip4(new Uint8Array(12)), 1000 + i, 4444), null);
  assert.equal(a.sent.length - n, 5);
  clock.advance(1e6);
  ifInput(a.ns, ta, udpIn4(ip4(new Uint8Array(12)), 1, 4444), null);
  assert.equal(a.sent.length - n, 6);
});

test('udp_input drops: short header, bad length, bad checksum, zero checksum over IPv6, full socket', () => {
  const { a, ta } = tunPair();
  const A = withUdp(a);
  const st = A.udp.stat;
  const s = A.so.socket('inet', 'dgram');
  A.so.bind(s, { addr: '0.0.0.0', port: 53 });
  ifInput(a.ns, ta, ip4(new Uint8Array(6)), null);
  assert.equal(st.udps_hdrops, 1);
  let p = udpIn4(ip4(new Uint8Array(20)), 1, 53);
  set16(p, 24, 40);
  ifInput(a.ns, ta, p, null);
  assert.equal(st.udps_badlen, 1);
  p = udpIn4(ip4(new Uint8Array(20)), 1, 53);
  p[30]! ^= 0x55;
  ifInput(a.ns, ta, p, null);
  assert.equal(st.udps_badsum, 1);
  p = udpIn4(ip4(new Uint8Array(20)), 1, 53);
  set16(p, 26, 0); // no checksum: accepted over IPv4
  ifInput(a.ns, ta, p, null);
  assert.equal(st.udps_nosum, 1);
  assert.equal(A.so.recv(s, new Uint8Array(64)), 12);
  const u6 = new Uint8Array(12);
  set16(u6, 0, 1);
  set16(u6, 2, 53);
  set16(u6, 4, 12);
  ifInput(a.ns, ta, ip6(u6), null);
  assert.equal(st.udps_nosum, 2, 'zero checksum over IPv6 is dropped');
  A.so.setsockopt(s, SOL_SOCKET, SO_RCVBUF, 30);
  ifInput(a.ns, ta, udpIn4(ip4(new Uint8Array(28)), 1, 53), null);
  ifInput(a.ns, ta, udpIn4(ip4(new Uint8Array(28)), 1, 53), null);
  assert.equal(st.udps_fullsock, 1);
});

test('bind: EADDRINUSE, EADDRNOTAVAIL, SO_BROADCAST needed for broadcast; broadcast delivered to bound sockets', () => {
  const { clock, a, b } = etherPair();
  const A = withUdp(a);
  const B = withUdp(b);
  const s1 = B.so.socket('inet', 'dgram');
  assert.equal(B.so.bind(s1, { addr: '0.0.0.0', port: 67 }), 0);
  const s2 = B.so.socket('inet', 'dgram');
  assert.equal(B.so.bind(s2, { addr: '0.0.0.0', port: 67 }), -ERRNO.EADDRINUSE);
  assert.equal(B.so.bind(s2, { addr: '10.9.9.9', port: 68 }), -ERRNO.EADDRNOTAVAIL);
  const c = A.so.socket('inet', 'dgram');
  assert.equal(A.so.send(c, enc('dhcp'), 0, 4, 0, { addr: '10.0.0.255', port: 67 }), -ERRNO.EACCES);
  A.so.setsockopt(c, SOL_SOCKET, SO_BROADCAST, 1);
  assert.equal(A.so.send(c, enc('dhcp'), 0, 4, 0, { addr: '10.0.0.255', port: 67 }), 4);
  assert.equal(a.sent.at(-1)!.frame[0], 0xff, 'Ethernet broadcast');
  clock.run();
  assert.equal(B.so.recv(s1, new Uint8Array(10)), 4);
  assert.equal(A.so.send(c, enc('x'), 0, 1, 0, { addr: '10.0.0.255', port: 99 }), 1);
  clock.run();
  assert.equal(B.udp.stat.udps_noportbcast, 1);
  // No ICMP for a broadcast to a closed port.
  assert.equal(b.ns.icmp.stat.icps_outhist[3], 0);
  // Too big for SO_SNDBUF (net.inet.udp.maxdgram).
  assert.equal(A.so.send(c, new Uint8Array(9217), 0, 9217, 0, { addr: '10.0.0.2', port: 67 }), -ERRNO.EMSGSIZE);
});

test('UDP over loopback and a large datagram fragmented on the wire', () => {
  const { clock, a, b, ta } = tunPair();
  const A = withUdp(a);
  const B = withUdp(b);
  const s = A.so.socket('inet', 'dgram');
  A.so.bind(s, { addr: '127.0.0.1', port: 1000 });
  const c = A.so.socket('inet', 'dgram');
  assert.equal(A.so.send(c, enc('self'), 0, 4, 0, { addr: '127.0.0.1', port: 1000 }), 4);
  drain(a.ns);
  assert.equal(A.so.recv(s, new Uint8Array(10)), 4);
  ifSetMtu(a.ns, ta, 1280);
  const r = B.so.socket('inet6', 'dgram');
  assert.equal(B.so.getsockopt(r, IPPROTO_IPV6, IPV6_V6ONLY), 1, 'net.inet6.ip6.v6only=1 by default');
  assert.equal(B.so.setsockopt(r, IPPROTO_IPV6, IPV6_V6ONLY, 0), 0);
  B.so.bind(r, { addr: '::', port: 2000 });
  const big = new Uint8Array(8000).map((_, i) => i * 31);
  const c6 = A.so.socket('inet6', 'dgram');
  assert.equal(A.so.send(c6, big, 0, 8000, 0, { addr: 'fd00::2', port: 2000 }), 8000);
  clock.run();
  const got = new Uint8Array(9000);
  assert.equal(B.so.recv(r, got), 8000);
  assert.deepEqual(got.subarray(0, 8000), big);
  assert.ok(b.ns.ip6stat.ip6s_reassembled === 1);
  // An IPv4 datagram reaches a dual-stack IPv6 socket as a v4-mapped sender.
  const c4 = A.so.socket('inet', 'dgram');
  A.so.send(c4, enc('v4'), 0, 2, 0, { addr: '192.168.0.2', port: 2000 });
  clock.run();
  const from: SockAddr = { addr: '', port: 0 };
  assert.equal(B.so.recv(r, got, 0, 10, 0, from), 2);
  assert.equal(from.addr, '::ffff:192.168.0.1');
});
