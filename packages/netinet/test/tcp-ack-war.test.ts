/**
 * ACK rate limits: RFC 5961's challenge ACKs and the ACKs for unacceptable segments go out
 * at most net.inet.tcp.ack_war_cnt per ack_war_timewindow per connection (tcp_ack_war_check,
 * tcp_subr.c), and RSTs at most net.inet.icmp.icmplim a second per class (badport_bandlim,
 * ip_icmp.c), logged as FreeBSD logs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { l4Checksum4, internetChecksum } from '@mcstack/wire';
import { makePair, type Pair } from './tcp-harness.js';
import { TCPS_ESTABLISHED } from '../src/tcp/var.js';

/** An established IPv4 connection with timestamps; `last` is A's latest segment to B. */
function established(): { p: Pair; last: () => Uint8Array; c: number; s: number } {
  const p = makePair();
  let last = new Uint8Array(0);
  p.drop = (from, frame) => {
    if (from === 'a') last = frame.slice();
    return false;
  };
  const l = p.b.socket('inet', 'stream');
  p.b.bind(l, { addr: '0.0.0.0', port: 80 });
  p.b.listen(l, 5);
  const c = p.a.socket('inet', 'stream');
  p.a.connect(c, { addr: '10.0.0.2', port: 80 });
  p.run(1_000_000);
  const s = p.b.accept(l);
  assert.ok(s >= 0);
  return { p, last: () => last, c, s };
}

/** A copy of IPv4 segment `f` with `payload` bytes, new flags and seq, checksums fixed. */
function forge(f: Uint8Array, o: { flags?: number; seq?: number; payload?: number }): Uint8Array {
  const ihl = (f[0]! & 15) * 4;
  const thoff = (f[ihl + 12]! >> 4) * 4;
  const n = o.payload ?? 0;
  const g = new Uint8Array(ihl + thoff + n);
  g.set(f.subarray(0, ihl + thoff));
  const dv = new DataView(g.buffer);
  dv.setUint16(2, g.length);
  dv.setUint16(10, 0);
  dv.setUint16(10, internetChecksum(g, 0, ihl));
  if (o.seq !== undefined) dv.setUint32(ihl + 4, o.seq >>> 0);
  if (o.flags !== undefined) g[ihl + 13] = o.flags;
  dv.setUint16(ihl + 16, l4Checksum4(g, 0, ihl, g.length - ihl, 6, 16));
  return g;
}

function state(p: Pair, side: 'a' | 'b', fd: number): number {
  const i = p[side].tcpInfo(fd);
  assert.ok(typeof i === 'object');
  return i.tcpi_state;
}

test('100,000 forged SYNs into an established connection draw at most ack_war_cnt challenge ACKs a window', () => {
  const { p, last, s } = established();
  const ack = last();
  const sentB = p.sent.b;
  let seq = 0x1234567;
  // 100,000 SYNs 50 µs apart: five virtual seconds, five ack_war_timewindows.
  for (let i = 0; i < 100_000; i++) {
    seq = (Math.imul(seq, 1103515245) + 12345) >>> 0;
    p.b.input('tun0', forge(ack, { flags: 0x02, seq }), p.now);
    p.run(p.now + 50);
  }
  const challenges = p.sent.b - sentB;
  assert.equal(p.b.tcp.stat.tcps_badsyn_chackrst, 100_000);
  // ack_war_cnt (5) in each of the six windows the five seconds touch.
  assert.ok(challenges <= 5 * 6, `${challenges} challenge ACKs`);
  assert.ok(challenges >= 5, `${challenges} challenge ACKs`);
  assert.equal(p.b.tcp.stat.tcps_ack_war_limited, 100_000 - challenges);
  assert.equal(state(p, 'b', s), TCPS_ESTABLISHED);
});

/**
 * One forged in-window data segment with the right ACK and timestamp moves B's RCV.NXT past
 * anything A sent: B's ACK "acks too much" at A, A's dropafterack ACK is an old duplicate at
 * B, which ACKs again — an ACK war that only the limiter ends.
 */
function ackWar(limit: boolean): { a: number; b: number; p: Pair; c: number; s: number } {
  const { p, last, c, s } = established();
  if (!limit) {
    p.a.sysctl.set('net.inet.tcp.ack_war_cnt', 0);
    p.b.sysctl.set('net.inet.tcp.ack_war_cnt', 0);
  }
  const a0 = p.sent.a;
  const b0 = p.sent.b;
  p.b.input('tun0', forge(last(), { payload: 100 }), p.now);
  p.run(p.now + (limit ? 5_000_000 : 200_000));
  return { a: p.sent.a - a0, b: p.sent.b - b0, p, c, s };
}

test('a forged in-window segment starts no endless ACK war: it ends within the rate limit', () => {
  // Without the limit the two engines exchange ACKs for as long as the run lasts.
  const storm = ackWar(false);
  assert.ok(storm.a >= 1000 && storm.b >= 1000, `${storm.a} / ${storm.b} ACKs in 0.2 s`);
  const w = ackWar(true);
  assert.ok(w.a <= 5 * 6 && w.b <= 5 * 6 + 1, `${w.a} / ${w.b} ACKs in 5 s`);
  assert.ok(w.p.a.tcp.stat.tcps_rcvacktoomuch >= 1);
  assert.ok(w.p.a.tcp.stat.tcps_ack_war_limited >= 1);
  assert.equal(state(w.p, 'a', w.c), TCPS_ESTABLISHED);
  assert.equal(state(w.p, 'b', w.s), TCPS_ESTABLISHED);
  // Quiet afterwards: the limiter ended the war, not the run's end.
  const a1 = w.p.sent.a;
  w.p.run(w.p.now + 5_000_000);
  assert.equal(w.p.sent.a, a1);
});

test('ack_war_timewindow and ack_war_cnt are sysctls with bounds', () => {
  const { p } = established();
  assert.equal(p.a.sysctl.get('net.inet.tcp.ack_war_cnt'), 5);
  assert.equal(p.a.sysctl.get('net.inet.tcp.ack_war_timewindow'), 1000);
  assert.throws(() => p.a.sysctl.set('net.inet.tcp.ack_war_cnt', -1), { code: 'EINVAL' });
  p.a.sysctl.set('net.inet.tcp.ack_war_timewindow', 0);
  assert.equal(p.a.sysctl.get('net.inet.tcp.ack_war_timewindow'), 0);
});

test('RSTs to a closed port are limited to icmplim a second and the limiting is logged', () => {
  const { p, last } = established();
  const ack = last();
  // The same segment to port 81, where no one listens: an RST each, until icmplim.
  const ihl = (ack[0]! & 15) * 4;
  const closed = ack.slice();
  closed[ihl + 3] = 81;
  const f = forge(closed, {});
  const b0 = p.sent.b;
  const t0 = Math.ceil(p.now / 1e6) * 1e6;
  for (let i = 0; i < 1000; i++) p.b.input('tun0', f, t0 + i * 500);
  assert.equal(p.sent.b - b0, 200);
  assert.equal(p.b.tcp.stat.tcps_noport, 1000);
  // The next second: sent again, and the past second's limiting is in the log.
  p.b.input('tun0', f, t0 + 1_000_000);
  assert.equal(p.sent.b - b0, 201);
  const lines = p.b.msgbuf.read().map((m) => m.text);
  assert.ok(lines.includes('Limiting closed port RST response from 1000 to 200 packets/sec'), lines.join('\n'));
});
