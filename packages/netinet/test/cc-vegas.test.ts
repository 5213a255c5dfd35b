/**
 * Vegas (Brakmo & Peterson 1995; FreeBSD cc_vegas.c) through the cc hooks, fed h_ertt
 * measurements the test imposes: Diff = (cwnd/BaseRTT − sent/RTT)·BaseRTT/SMSS computed
 * here decides +1, 0 or −1 segment per RTT, and slow start grows every other RTT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TF_CONGRECOVERY } from '../src/tcp/var.js';
import { Ertt, ERTT_NEW_MEASUREMENT } from '../src/tcp/khelp/h_ertt.js';
import { vegas, vegasDefaults } from '../src/tcp/cc/vegas.js';
import { MSS, ack, makeTp } from './cc-harness.js';

const BASE = 100_000;

/** One RTT's marked measurement: `sent` bytes in flight over a round trip of `rtt` µs. */
function measure(e: Ertt, cwnd: number, sent: number, rtt: number): void {
  e.minrtt = Math.min(e.minrtt || rtt, BASE);
  e.rtt = rtt;
  e.markedpkt_rtt = rtt;
  e.marked_snd_cwnd = cwnd;
  e.bytes_tx_in_marked_rtt = sent;
  e.flags |= ERTT_NEW_MEASUREMENT;
}

/** Brakmo & Peterson's Diff in segments, written out. */
const diffSegs = (cwnd: number, sent: number, rtt: number): number => (cwnd / BASE - sent / rtt) * (BASE / MSS);

test('congestion avoidance: +1 segment under alpha, none between, −1 over beta, as Diff says', () => {
  for (const rtt of [100_000, 104_000, 110_000, 114_000, 116_000, 125_000, 150_000, 300_000]) {
    const e = new Ertt();
    const tp = makeTp(vegas(vegasDefaults, () => e));
    tp.snd_cwnd = 20 * MSS;
    tp.snd_ssthresh = 10 * MSS;
    const cwnd = tp.snd_cwnd;
    measure(e, cwnd, cwnd, rtt);
    const d = diffSegs(cwnd, cwnd, rtt);
    const want = d < vegasDefaults.alpha ? cwnd + MSS : d > vegasDefaults.beta ? Math.max(2 * MSS, cwnd - MSS) : cwnd;
    ack(tp, MSS);
    assert.equal(tp.snd_cwnd, want, `rtt ${rtt}: Diff ${d.toFixed(2)}`);
    assert.equal(e.flags & ERTT_NEW_MEASUREMENT, 0, 'the measurement is used once');
    // Without a new measurement the window holds (Vegas adjusts once per RTT).
    ack(tp, MSS);
    assert.equal(tp.snd_cwnd, want);
  }
});

test('a queue building over RTTs: the window settles where alpha ≤ Diff ≤ beta', () => {
  const e = new Ertt();
  const tp = makeTp(vegas(vegasDefaults, () => e));
  tp.snd_cwnd = 10 * MSS;
  tp.snd_ssthresh = 5 * MSS;
  // A bottleneck of 10 segments per BaseRTT: what exceeds it queues and stretches the RTT.
  const bdp = 10 * MSS;
  for (let r = 0; r < 40; r++) {
    const cwnd = tp.snd_cwnd;
    const rtt = Math.max(BASE, (BASE * cwnd) / bdp);
    measure(e, cwnd, cwnd, rtt);
    ack(tp, MSS);
  }
  const queued = tp.snd_cwnd / MSS - bdp / MSS;
  assert.ok(queued >= vegasDefaults.alpha && queued <= vegasDefaults.beta + 1, `queued ${queued}`);
});

test('over beta in slow start: one segment less and slow start ends; a loss as NewReno', () => {
  const e = new Ertt();
  const tp = makeTp(vegas(vegasDefaults, () => e));
  const cwnd = tp.snd_cwnd;
  assert.ok(cwnd <= tp.snd_ssthresh);
  measure(e, cwnd, cwnd, 2 * BASE);
  ack(tp, MSS);
  assert.equal(tp.snd_cwnd, cwnd - MSS);
  assert.equal(tp.snd_ssthresh, tp.snd_cwnd);
  assert.equal(tp.t_flags & TF_CONGRECOVERY, 0);
});

test('slow start under alpha grows every other RTT (the toggle)', () => {
  const e = new Ertt();
  const tp = makeTp(vegas(vegasDefaults, () => e));
  const growth: number[] = [];
  for (let r = 0; r < 4; r++) {
    const before = tp.snd_cwnd;
    measure(e, before, before, BASE);
    for (let i = 0; i < 4; i++) ack(tp, MSS);
    growth.push((tp.snd_cwnd - before) / MSS);
  }
  // The toggle starts at 1: the first measurement turns growth off, the next on again...
  assert.deepEqual(growth, [0, 4, 0, 4]);
});
