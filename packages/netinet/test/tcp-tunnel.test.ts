// TCP over UDP (tcp/tunnel.ts, FreeBSD's net.inet.tcp.udp_tunneling_port): a client with
// TCP_REMOTE_UDP_ENCAPS_PORT talks to a listener through UDP both ways, the accepted
// connection keeps the peer's UDP port, a segment from another port draws an RST there
// and leaves the connection alone, and the option is refused while tunneling is off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair } from './tcp-harness.js';
import { ERRNO } from '../src/kern/errno.js';
import { IPPROTO_TCP } from '../src/netinet/in.js';
import { TCP_REMOTE_UDP_ENCAPS_PORT } from '../src/tcp/usrreq.js';
import { TCPS_ESTABLISHED } from '../src/tcp/var.js';

const PORT = 9811;

test('a connection over UDP: every segment inside UDP between the tunneling ports, data both ways', () => {
  const p = makePair();
  const seen: { proto: number; sport: number; dport: number }[] = [];
  p.drop = (_from, f) => {
    seen.push({ proto: f[9]!, sport: (f[20]! << 8) | f[21]!, dport: (f[22]! << 8) | f[23]! });
    return false;
  };
  const c = p.a.socket('inet', 'stream');
  assert.equal(p.a.setsockopt(c, IPPROTO_TCP, TCP_REMOTE_UDP_ENCAPS_PORT, PORT), -ERRNO.EINVAL, 'tunneling off');
  for (const e of [p.a, p.b]) e.sysctl.set('net.inet.tcp.udp_tunneling_port', PORT);
  assert.equal(p.a.setsockopt(c, IPPROTO_TCP, TCP_REMOTE_UDP_ENCAPS_PORT, PORT), 0);
  assert.equal(p.a.getsockopt(c, IPPROTO_TCP, TCP_REMOTE_UDP_ENCAPS_PORT), PORT);
  const l = p.b.socket('inet', 'stream');
  assert.equal(p.b.bind(l, { addr: '0.0.0.0', port: 80 }), 0);
  assert.equal(p.b.listen(l, 5), 0);
  assert.equal(p.a.connect(c, { addr: '10.0.0.2', port: 80 }), -ERRNO.EINPROGRESS);
  p.run(1_000_000);
  const s = p.b.accept(l);
  assert.ok(s >= 0);
  assert.equal(p.b.getsockopt(s, IPPROTO_TCP, TCP_REMOTE_UDP_ENCAPS_PORT), PORT, 'learned from the SYN');
  const data = new Uint8Array(20_000).map((_, i) => i);
  assert.equal(p.a.send(c, data), data.length);
  assert.equal(p.b.send(s, data.subarray(0, 1000)), 1000);
  p.run(3_000_000);
  const got = new Uint8Array(30_000);
  assert.equal(p.b.recv(s, got), data.length);
  assert.deepEqual(got.subarray(0, data.length), data);
  assert.equal(p.a.recv(c, got), 1000);
  assert.ok(seen.length > 20);
  for (const x of seen) assert.deepEqual(x, { proto: 17, sport: PORT, dport: PORT });
  // Full segments leave room for the UDP header (udp_tunneling_overhead): 1460 - 8.
  assert.equal(p.a.getsockopt(c, IPPROTO_TCP, 2 /* TCP_MAXSEG */), 1452);
});

test('a segment of the connection from another UDP port is answered with an RST there, the connection stays', () => {
  const p = makePair();
  for (const e of [p.a, p.b]) e.sysctl.set('net.inet.tcp.udp_tunneling_port', PORT);
  const c = p.a.socket('inet', 'stream');
  assert.equal(p.a.setsockopt(c, IPPROTO_TCP, TCP_REMOTE_UDP_ENCAPS_PORT, PORT), 0);
  const l = p.b.socket('inet', 'stream');
  p.b.bind(l, { addr: '0.0.0.0', port: 80 });
  p.b.listen(l, 5);
  p.a.connect(c, { addr: '10.0.0.2', port: 80 });
  // a's segments leave from another UDP source port once established: rewrite them.
  let rewrite = false;
  const rsts: number[] = [];
  p.drop = (from, f) => {
    if (from === 'a' && rewrite) {
      f[20] = 0;
      f[21] = 1;
      f[26] = 0; // UDP checksum off (allowed over IPv4)
      f[27] = 0;
    }
    if (from === 'b' && (f[28 + 13]! & 0x04) !== 0) rsts.push((f[22]! << 8) | f[23]!);
    return false;
  };
  p.run(1_000_000);
  const s = p.b.accept(l);
  assert.ok(s >= 0);
  rewrite = true;
  p.a.send(c, new Uint8Array(10));
  p.run(1_300_000);
  assert.ok(rsts.length >= 1);
  assert.ok(
    rsts.every((port) => port === 1),
    'the RST goes back to the port the segment came from',
  );
  assert.equal(p.b.tcpInfo(s) !== null && (p.b.tcpInfo(s) as { tcpi_state: number }).tcpi_state, TCPS_ESTABLISHED);
  assert.equal(p.b.recv(s, new Uint8Array(64)), -ERRNO.EAGAIN, 'nothing from the wrong port delivered');
});
