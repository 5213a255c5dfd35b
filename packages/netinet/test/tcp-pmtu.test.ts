/**
 * Path MTU discovery (RFC 1191, RFC 8201, RFC 5927) as FreeBSD's tcp_ctlinput,
 * tcp_mtudisc and tcp_mss_update do it, with the host cache (tcp_hostcache.c): two
 * engines back to back, and between them a "router" whose path MTU is smaller than the
 * links': a frame too big for it with DF set is dropped and answered with ICMP
 * fragmentation-needed / ICMPv6 packet-too-big quoting it; one without DF is passed
 * (the router fragments; the far end would reassemble).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair, bulkTransfer, addr16, type Pair, type Transfer } from './tcp-harness.js';
import { ip4, ip6, icmp4, icmp6In } from './net-harness.js';
import { TCPS_ESTABLISHED, type Tcpcb } from '../src/tcp/var.js';
import type { EngineOptions } from '../src/engine.js';
import { parseIPv6 } from '@mcstack/wire';

interface Router {
  /** The path MTU (changeable mid-transfer). */
  mtu: number;
  /** The MTU the router's ICMP reports: the path MTU, or 0 as a router predating RFC 1191 says. */
  report: (mtu: number) => number;
  icmps: number;
  /** Data-carrying frames A sent, and of them those with DF set / larger than the MTU at the time. */
  frames: { len: number; df: boolean }[];
}

function router(p: Pair, v6: boolean, mtu: number): Router {
  const r: Router = { mtu, report: (m) => m, icmps: 0, frames: [] };
  p.drop = (from, frame) => {
    if (from !== 'a') return false;
    const df = v6 || (frame[6]! & 0x40) !== 0;
    if (frame.length > 80) r.frames.push({ len: frame.length, df });
    if (frame.length <= r.mtu || !df) return false;
    r.icmps++;
    if (v6)
      p.inject('a', icmp6In(2, 0, r.report(r.mtu), frame.subarray(0, 48), { src: '2001:db8::fe', dst: '2001:db8::1' }));
    else
      p.inject(
        'a',
        ip4(icmp4(3, 4, r.report(r.mtu), frame.subarray(0, 28)), { proto: 1, src: '10.0.0.254', dst: '10.0.0.1' }),
      );
    return true;
  };
  return r;
}

/** A's tcpcb of a transfer's connection. */
function tpOf(p: Pair, x: Transfer): Tcpcb {
  const tp = p.a.sockets.lookup(x.c)?.so_pcb?.inp_ppcb;
  assert.ok(tp);
  return tp;
}

test('need-frag with the host cache full: the MSS still drops, the data is resent once at the new size, no ICMP ping-pong', () => {
  // Two entries fill the cache; neither shares 10.0.0.2's row, so its insert fails
  // (tcp_hc_insert returns NULL), as in the change notes' report.
  const opts: EngineOptions = { tunables: { 'net.inet.tcp.hostcache.cachelimit': 2 } };
  const p = makePair(false, 3, 50, 1500, opts);
  const hc = p.a.tcp.hostcache;
  assert.ok(hc.updatemtu(addr16('192.0.2.1'), 1400));
  assert.ok(hc.updatemtu(addr16('198.51.100.7'), 1400));
  assert.equal(p.a.sysctl.get('net.inet.tcp.hostcache.count'), 2);
  const r = router(p, false, 1200);
  const x = bulkTransfer(p, false, 1 << 20, 1);
  const tp = tpOf(p, x);
  x.finish();
  // The cache had no room: no entry for the peer, the count unchanged.
  assert.equal(hc.getmtu(addr16('10.0.0.2')), 0);
  assert.equal(p.a.sysctl.get('net.inet.tcp.hostcache.count'), 2);
  assert.equal(p.a.tcp.stat.tcps_hc_added, 2);
  // Yet the MSS came down to the offered MTU and stayed there.
  assert.equal(tp.t_maxseg, 1200 - 40);
  assert.ok(p.a.tcp.stat.tcps_mturesent >= 1);
  // Only the segments already in flight at the old size drew an ICMP; nothing after.
  const firstSmall = r.frames.findIndex((f) => f.len <= 1200);
  assert.ok(firstSmall > 0);
  assert.equal(r.frames.slice(firstSmall).filter((f) => f.len > 1200).length, 0);
  assert.ok(r.icmps <= firstSmall, `${r.icmps} ICMPs for ${firstSmall} big segments`);
  assert.ok(r.icmps < 20, `ICMP storm: ${r.icmps}`);
});

test('need-frag with MTU 0: the next RFC 1191 plateau below the quoted length, down to what fits', () => {
  const p = makePair(false, 4);
  const r = router(p, false, 1300);
  r.report = () => 0;
  const x = bulkTransfer(p, false, 256 << 10, 1);
  const tp = tpOf(p, x);
  x.finish();
  // 1500 → 1492 (still too big) → 1280.
  assert.equal(tp.t_maxseg, 1280 - 40);
  assert.equal(p.a.tcp.hostcache.getmtu(addr16('10.0.0.2')), 1280);
  assert.equal(r.icmps >= 2, true);
});

test('an offer below net.inet.tcp.minmss uses minmss and clears DF on the segments after it', () => {
  const p = makePair(false, 5);
  const r = router(p, false, 200);
  const x = bulkTransfer(p, false, 64 << 10, 1);
  const tp = tpOf(p, x);
  x.finish();
  assert.equal(p.a.sysctl.get('net.inet.tcp.minmss'), 216);
  assert.equal(tp.t_maxseg, 216);
  assert.equal(p.a.tcp.hostcache.getmtu(addr16('10.0.0.2')), 256);
  const firstSmall = r.frames.findIndex((f) => f.len <= 256);
  assert.ok(firstSmall > 0 && r.frames[0]!.df, 'DF set while discovery ran');
  const after = r.frames.slice(firstSmall);
  assert.ok(after.length > 100);
  assert.ok(
    after.every((f) => !f.df && f.len <= 256),
    'DF clear and at most minmss + headers for the rest of the connection',
  );
});

test('net.inet.tcp.path_mtu_discovery=0: no DF on any segment; beyond a gateway the default MSS', () => {
  const p = makePair(false, 6);
  p.a.sysctl.set('net.inet.tcp.path_mtu_discovery', 0);
  const r = router(p, false, 1500);
  const x = bulkTransfer(p, false, 32 << 10, 1);
  const tp = tpOf(p, x);
  x.finish();
  assert.ok(r.frames.length > 10);
  assert.ok(r.frames.every((f) => !f.df));
  // 10.0.0.2 is on tun0's network: the MSS the link allows.
  assert.equal(tp.t_maxseg, 1460);
  // 10.1.0.2 is reached through a gateway: without discovery, no more than mssdflt (in_localaddr).
  assert.equal(p.b.addAddr('tun0', '10.1.0.2/24'), 0);
  assert.equal(p.a.addRoute('10.1.0.0/24', '10.0.0.2'), 0);
  const c = p.a.socket('inet', 'stream');
  const l = p.b.socket('inet', 'stream');
  assert.equal(p.b.bind(l, { addr: '0.0.0.0', port: 5002 }), 0);
  assert.equal(p.b.listen(l, 5), 0);
  p.a.connect(c, { addr: '10.1.0.2', port: 5002 });
  p.run(p.now + 10_000);
  const tg = p.a.sockets.lookup(c)?.so_pcb?.inp_ppcb;
  assert.ok(tg && tg.t_state === TCPS_ESTABLISHED, 'established');
  assert.equal(tg.t_maxseg, 536);
  // With discovery on, the same path gets the full MSS.
  p.a.sysctl.set('net.inet.tcp.path_mtu_discovery', 1);
  const c2 = p.a.socket('inet', 'stream');
  p.a.connect(c2, { addr: '10.1.0.2', port: 5002 });
  p.run(p.now + 10_000);
  assert.equal(p.a.sockets.lookup(c2)?.so_pcb?.inp_ppcb?.t_maxseg, 1460);
});

test('ICMPv6 packet too big: the MSS follows it, below 1280 the minimum MTU less 8 (tcp6_next_pmtu)', () => {
  const p = makePair(true, 7);
  const r = router(p, true, 1400);
  const x = bulkTransfer(p, true, 256 << 10, 1);
  const tp = tpOf(p, x);
  x.finish();
  assert.equal(tp.t_maxseg, 1400 - 60);
  assert.ok(r.icmps >= 1);
  assert.equal(p.a.net.icmp6.stat.icp6s_pmtuchg, 1);
  // A router that claims less than IPv6's minimum MTU (RFC 8200 §5: every link carries 1280).
  const q = makePair(true, 8);
  router(q, true, 1280).report = () => 1000;
  const y = bulkTransfer(q, true, 64 << 10, 1);
  const tq = tpOf(q, y);
  y.until(1);
  y.finish();
  assert.equal(tq.t_maxseg, 1272 - 60);
});

for (const v6 of [false, true]) {
  test(`forged quotes are ignored (${v6 ? 'ICMPv6 packet too big' : 'ICMP need-frag'}): a sequence number outside [snd_una, snd_max) or no such connection`, () => {
    const p = makePair(v6, 9);
    const x = bulkTransfer(p, v6, 4 << 20, 1);
    const tp = tpOf(p, x);
    x.until(64 << 10);
    const before = tp.t_maxseg;
    const peer = v6 ? parseIPv6('2001:db8::2') : addr16('10.0.0.2');
    assert.ok(peer);
    const offer = v6 ? 1280 : 576;
    // A quote of a segment we never sent: our addresses and ports, a chosen sequence number.
    const quote = (seq: number, sport = tp.inp.inp_lport, dport = tp.inp.inp_fport) => {
      const th = new Uint8Array(20);
      th[0] = sport >>> 8;
      th[1] = sport;
      th[2] = dport >>> 8;
      th[3] = dport;
      th[4] = seq >>> 24;
      th[5] = seq >>> 16;
      th[6] = seq >>> 8;
      th[7] = seq;
      th[12] = 0x50;
      if (v6) {
        const ip = ip6(th, { src: '2001:db8::1', dst: '2001:db8::2', nxt: 6 });
        return icmp6In(2, 0, offer, ip.subarray(0, 48), { src: '2001:db8::fe', dst: '2001:db8::1' });
      }
      const ip = ip4(th, { src: '10.0.0.1', dst: '10.0.0.2', proto: 6, df: true });
      return ip4(icmp4(3, 4, offer, ip.subarray(0, 28)), { proto: 1, src: '10.0.0.254', dst: '10.0.0.1' });
    };
    const una = tp.snd_una;
    const max = tp.snd_max;
    assert.ok(max !== una, 'data in flight');
    for (const f of [
      quote(max),
      quote((max + 100_000) >>> 0),
      quote((una - 1) >>> 0),
      quote(una, tp.inp.inp_lport + 1),
      quote(una, tp.inp.inp_lport, 9),
    ])
      p.a.input('tun0', f, p.now);
    assert.equal(tp.t_maxseg, before);
    assert.equal(p.a.tcp.stat.tcps_mturesent, 0);
    assert.equal(p.a.tcp.hostcache.getmtu(peer), 0);
    // The same error quoting an unacknowledged sequence number is believed.
    p.a.input('tun0', quote(una), p.now);
    assert.equal(tp.t_maxseg, offer - (v6 ? 60 : 40));
    assert.equal(p.a.tcp.stat.tcps_mturesent, 1);
    assert.equal(p.a.tcp.hostcache.getmtu(peer), offer);
    x.finish();
  });
}

test('a bulk transfer across a path whose MTU drops mid-transfer completes byte exact without a retransmit storm', () => {
  const p = makePair(false, 10);
  const r = router(p, false, 1500);
  const size = 4 << 20;
  const x = bulkTransfer(p, false, size, 1);
  const tp = tpOf(p, x);
  x.until(1 << 20);
  const drop1 = r.frames.length;
  r.mtu = 1006;
  x.until(2 << 20);
  const drop2 = r.frames.length;
  r.mtu = 576;
  x.finish();
  const st = p.a.tcp.stat;
  assert.equal(tp.t_maxseg, 576 - 40);
  // Each drop is acted on once: one resend of what was in flight, and from the first
  // segment at the new size on, none at the old one (no ICMP / retransmit ping-pong).
  assert.equal(st.tcps_mturesent, 2);
  for (const [from, mtu] of [
    [drop1, 1006],
    [drop2, 576],
  ] as const) {
    const frames = r.frames.slice(from);
    const first = frames.findIndex((f) => f.len <= mtu);
    assert.ok(first >= 0);
    assert.equal(frames.slice(first, first + 2000).filter((f) => f.len > mtu).length, 0);
  }
  // What was resent is about the two windows in flight, a small part of the 4 MiB.
  assert.ok(st.tcps_sndrexmitbyte < size / 8, `${st.tcps_sndrexmitbyte} bytes retransmitted`);
  assert.equal(st.tcps_rexmttimeo, 0, 'no retransmit timeouts');
});

test('ifconfig mtu lowered mid-transfer: the MSS follows the interface (tcp_output EMSGSIZE)', () => {
  const p = makePair(false, 11);
  const x = bulkTransfer(p, false, 2 << 20, 1);
  const tp = tpOf(p, x);
  x.until(256 << 10);
  assert.equal(tp.t_maxseg, 1460);
  assert.equal(p.a.setMtu('tun0', 1000), 0);
  x.finish();
  assert.equal(tp.t_maxseg, 1000 - 40);
});
