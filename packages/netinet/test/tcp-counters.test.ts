/**
 * tcpstat counters FreeBSD increments and the engine now does where it does: a D-SACK
 * block (tcp_record_dsack), a SYN-ACK that cannot be sent (syncache_add's tcps_sc_dropped),
 * and window updates sent without an owed ACK (tcp_output's tcps_sndwinup).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { establish, makePair } from './tcp-harness.js';
import { rawTcp4 } from './raw-tcp4.js';

test('a retransmission the receiver already had comes back as a D-SACK: tcps_dsack_count and _bytes', () => {
  const p = makePair();
  const { c, s } = establish(p);
  assert.ok(s >= 0);
  // Every ACK b sends for the next 300 ms is lost: a's retransmission timer resends data b has.
  const until = p.now + 300_000;
  p.drop = (from) => from === 'b' && p.now < until;
  assert.equal(p.a.send(c, new Uint8Array(1000)), 1000);
  p.run(p.now + 2_000_000);
  const st = p.a.tcp.stat;
  assert.ok(st.tcps_sndrexmitpack >= 1);
  assert.ok(st.tcps_dsack_count >= 1, `dsack_count ${st.tcps_dsack_count}`);
  assert.equal(st.tcps_dsack_bytes % 1000, 0);
  assert.ok(st.tcps_dsack_bytes >= 1000);
});

test('a SYN-ACK with no route back is not kept: tcps_sc_dropped', () => {
  const p = makePair();
  const b = p.b;
  const lfd = b.socket('inet', 'stream');
  b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  b.listen(lfd, 8);
  const syn = rawTcp4(new Uint8Array(44), {
    src: 0x0b000001,
    dst: 0x0a000002,
    sport: 4000,
    dport: 80,
    seq: 1,
    flags: 0x02,
  });
  b.input('tun0', syn, 10);
  assert.equal(b.tcp.stat.tcps_sc_dropped, 1);
  assert.equal(b.tcp.syncache.size, 0);
});

test('a window opening after the reader drains a full buffer is a window update: tcps_sndwinup', () => {
  const p = makePair();
  const { c, s } = establish(p);
  const big = new Uint8Array(1 << 20);
  let sent = 0;
  for (let i = 0; i < 50 && sent < big.length; i++) {
    const n = p.a.send(c, big, sent);
    if (n > 0) sent += n;
    p.run(p.now + 10_000);
  }
  const before = p.b.tcp.stat.tcps_sndwinup;
  const rbuf = new Uint8Array(1 << 20);
  while (p.b.recv(s, rbuf) > 0) p.run(p.now + 1000);
  p.run(p.now + 10_000);
  assert.ok(p.b.tcp.stat.tcps_sndwinup > before, 'the reopened window was announced');
});
