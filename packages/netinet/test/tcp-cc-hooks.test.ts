/**
 * What the congestion-control framework asks of the engine (tcp/cc/cc_hooks.ts), seen on
 * live connections: the spurious-timeout undo (CC_RTO_ERR), ccv times rebased on
 * export/import, DCTCP's receiver echoing CE exactly (ecnpkt_handler) and ECT(1), and
 * the per-ACK RTT sample HyStart++ reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internetChecksum } from '@mcstack/wire';
import { Engine } from '../src/engine.js';
import { ERRNO } from '../src/kern/errno.js';
import { TCP_CONGESTION } from '../src/tcp/usrreq.js';
import { IPPROTO_TCP } from '../src/netinet/in.js';
import { CC_ACK, type CcAckInfo } from '../src/tcp/cc/cc.js';
import { TF_ECN_PERMIT, type Tcpcb } from '../src/tcp/var.js';
import { establish, makePair, transfer } from './tcp-harness.js';

const senderTcb = (e: Engine): Tcpcb => [...e.tcp.tcbs].find((tp) => tp.inp.inp_socket !== null)!;

for (const ts of [true, false]) {
  test(`a timeout the ACKs prove spurious restores the window (CC_RTO_ERR, ${ts ? 'by timestamp echo' : 'within srtt/2'})`, () => {
    const p = makePair(false, 11, 5000);
    if (!ts) {
      p.a.sysctl.set('net.inet.tcp.rfc1323', 0);
      p.b.sysctl.set('net.inet.tcp.rfc1323', 0);
    }
    const { c, s } = establish(p, 6001);
    transfer(p, c, s, 300_000);
    const tp = senderTcb(p.a);
    // Hold the receiver's ACKs past the sender's RTO, then let them go.
    const held: Uint8Array[] = [];
    p.drop = (from, f) => {
      if (from !== 'b') return false;
      held.push(f.slice());
      return true;
    };
    const data = new Uint8Array(20_000).fill(1);
    assert.equal(p.a.send(c, data), data.length);
    const cwnd = tp.snd_cwnd;
    const ssthresh = tp.snd_ssthresh;
    const rto = p.a.tcp.stat.tcps_rexmttimeo;
    p.run(p.now + 10 * tp.t_rxtcur, () => p.a.tcp.stat.tcps_rexmttimeo > rto);
    assert.equal(p.a.tcp.stat.tcps_rexmttimeo, rto + 1, 'the timer fired');
    assert.equal(tp.snd_cwnd, tp.t_maxseg);
    p.drop = null;
    // Without timestamps the undo must come within srtt/2 of the timeout: release at once.
    for (const f of held.splice(0)) p.a.input('tun0', f, p.now);
    assert.equal(p.a.tcp.stat.tcps_sndrexmitbad, 1);
    assert.equal(tp.snd_ssthresh, ssthresh);
    assert.ok(tp.snd_cwnd >= cwnd, `cwnd ${tp.snd_cwnd} restored from ${cwnd}`);
    assert.equal(tp.t_rxtshift, 0);
  });
}

test("a connection's CUBIC epoch moves with it to an engine on another clock", () => {
  const p = makePair(false, 12, 2000);
  assert.ok(p.a.kldload('cc_cubic') > 1);
  try {
    const { c, s } = establish(p, 6002);
    assert.equal(p.a.setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, 'cubic'), 0);
    transfer(p, c, s, 200_000);
    const tp = senderTcb(p.a);
    const age = p.a.now - tp.ccv.t_epoch!;
    const x = p.a.exportConnection(c);
    assert.ok(typeof x !== 'number');
    assert.equal(x.cc.name, 'cubic');
    assert.equal(x.cc.vars.t_epoch, -age, 'relative on the wire');
    const later = 987_654_321;
    const d = new Engine({ seed: 99, now: later });
    d.ifattach({ name: 'tun0', type: 'tun', mtu: 1500 });
    d.addAddr('tun0', '10.0.0.1/24');
    d.setUp('tun0', true);
    const fd = d.importConnection(x);
    assert.ok(fd >= 0);
    const moved = senderTcb(d);
    assert.equal(moved.cc.name, 'cubic');
    assert.equal(later - moved.ccv.t_epoch!, age, "the epoch's age is kept");
    // The moved connection goes on under CUBIC (and keeps the module busy) until switched.
    assert.equal(p.a.kldunload('cc_cubic'), -ERRNO.EBUSY);
    assert.equal(d.setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, 'newreno'), 0);
    d.close(fd);
    p.b.close(s);
  } finally {
    assert.equal(p.a.kldunload('cc_cubic'), 0);
  }
});

/** Mark an IPv4 packet CE (RFC 3168 §5), header checksum redone. */
function markCe(f: Uint8Array): void {
  if (f[0]! >> 4 !== 4 || (f[1]! & 3) === 0) return;
  f[1] = f[1]! | 3;
  f[10] = 0;
  f[11] = 0;
  const sum = internetChecksum(f, 0, (f[0]! & 0xf) * 4);
  f[10] = sum >> 8;
  f[11] = sum & 0xff;
}

test("DCTCP: ECT(1) on request, the receiver echoes CE exactly, the sender's alpha follows the marking", () => {
  const p = makePair(false, 13, 2000);
  assert.ok(p.a.kldload('cc_dctcp') > 1);
  try {
    for (const e of [p.a, p.b]) {
      e.sysctl.set('net.inet.tcp.ecn.enable', 1);
      e.sysctl.set('net.inet.tcp.cc.algorithm', 'dctcp');
      e.sysctl.set('net.inet.tcp.cc.dctcp.ect1', 1);
      e.sysctl.set('net.inet.tcp.cc.dctcp.alpha', 0);
    }
    const { c, s } = establish(p, 6003);
    const tp = senderTcb(p.a);
    assert.notEqual(tp.t_flags & TF_ECN_PERMIT, 0);
    let ect1 = 0;
    let ect0 = 0;
    let n = 0;
    // Every other data segment marked CE at the "bottleneck".
    p.drop = (from, f) => {
      if (from === 'a' && f.length > 60) {
        if ((f[1]! & 3) === 1) ect1++;
        if ((f[1]! & 3) === 2) ect0++;
        if (n++ % 2 === 0) markCe(f);
      }
      return false;
    };
    transfer(p, c, s, 1_500_000);
    assert.ok(ect1 > 100 && ect0 === 0, `ECT(1) ${ect1}, ECT(0) ${ect0}`);
    assert.ok(p.b.tcp.stat.tcps_ecn_ce > 100);
    // Half the bytes marked: alpha converges toward F = 1/2 (RFC 8257 §3.3). A receiver that
    // latched ECE until CWR (RFC 3168) would have made nearly every byte look marked.
    const alpha = tp.ccv.alpha!;
    assert.ok(alpha > 0.3 && alpha < 0.7, `alpha ${alpha}`);
    p.a.close(c);
    p.b.close(s);
    p.run(p.now + 200_000_000);
  } finally {
    for (const e of [p.a, p.b]) e.sysctl.set('net.inet.tcp.cc.algorithm', 'newreno');
    assert.equal(p.a.kldunload('cc_dctcp'), 0);
  }
});

test('ack_received gets each ACK with its RTT sample', () => {
  const p = makePair(false, 14, 4000);
  const { c, s } = establish(p, 6004);
  const tp = senderTcb(p.a);
  const samples: number[] = [];
  const base = tp.cc;
  tp.cc = {
    ...base,
    name: 'spy',
    ack_received(t: Tcpcb, ci: CcAckInfo, type: number) {
      if (type === CC_ACK && ci.rtt_us) samples.push(ci.rtt_us);
      base.ack_received?.(t, ci, type);
    },
  };
  transfer(p, c, s, 200_000);
  assert.ok(samples.length > 10);
  // Timestamps in ms on an 8 ms path: the sample is the whole ms plus one (tcp_xmit_timer's tick).
  assert.ok(
    samples.every((r) => r === 9000),
    `samples ${[...new Set(samples)]}`,
  );
  tp.cc = base;
  p.a.close(c);
  p.b.close(s);
});
