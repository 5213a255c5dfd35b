/**
 * NewReno's timeout reaction and what it does to a shared drop-tail bottleneck. RFC 5681
 * §3.1 eq. (4) halves FlightSize on the first timeout, as FreeBSD's
 * newreno_cc_cong_signal does with tcp_compute_pipe; inside SACK recovery cwnd is a
 * segment or two while the window is still in flight, so halving cwnd would leave
 * ssthresh at 2 segments and the flow crawling back one segment per RTT. And the study
 * of two NewReno flows at a 0.3-BDP queue must come near the sawtooth model's utilisation
 * (docs/cc.md: 91 % of the link, 87 % as goodput), where it used to stop at 64 %.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CC_RTO } from '../src/tcp/cc/cc.js';
import { newreno } from '../src/tcp/cc/newreno.js';
import { TF_FASTRECOVERY } from '../src/tcp/var.js';
import { runCcFlows } from '../src/sim/ccstudy.js';
import { ISS, MSS, makeTp } from './cc-harness.js';

const signal = { flags: 0, bytes_this_ack: 0, curack: ISS, nsegs: 1 };

test('CC_RTO: ssthresh is half the flight (RFC 5681 eq. 4), not half a recovery cwnd; a backed-off timeout keeps it', () => {
  const tp = makeTp(newreno({ rfc3465: 1, abc_l_var: 2, initcwnd_segments: 10 }));
  // 200 segments in flight, a SACK recovery that has cwnd at one segment.
  tp.snd_max = (tp.snd_una + 200 * MSS) >>> 0;
  tp.snd_nxt = tp.snd_una; // the timer pulled it back
  tp.snd_cwnd = MSS;
  tp.t_flags |= TF_FASTRECOVERY;
  tp.t_rxtshift = 1;
  tp.cc.cong_signal?.(tp, signal, CC_RTO);
  assert.equal(tp.snd_ssthresh, 100 * MSS);
  assert.equal(tp.snd_cwnd, MSS);
  // The second timeout of the same segment: ssthresh stays (only the first one halves).
  tp.t_rxtshift = 2;
  tp.cc.cong_signal?.(tp, signal, CC_RTO);
  assert.equal(tp.snd_ssthresh, 100 * MSS);
});

test('CC_RTO with net.inet.tcp.rfc6675_pipe=0: a scoreboard that saw no SACK is not the flight', () => {
  for (const fack of [0, 0x80000000, -1000 * MSS]) {
    const tp = makeTp(newreno({ rfc3465: 1, abc_l_var: 2, initcwnd_segments: 10, do_rfc6675_pipe: 0 }));
    tp.snd_max = (tp.snd_una + 200 * MSS) >>> 0;
    tp.snd_nxt = tp.snd_una;
    // snd_fack as a new tcpcb leaves it, or from a recovery long acknowledged.
    tp.sack.snd_fack = (tp.snd_una + fack) >>> 0;
    tp.t_rxtshift = 1;
    tp.cc.cong_signal?.(tp, signal, CC_RTO);
    assert.equal(tp.snd_ssthresh, 100 * MSS, `snd_fack = snd_una + ${fack}`);
  }
});

test('two NewReno flows at a 0.3-BDP drop-tail queue come near the sawtooth model, not 64 %', () => {
  const r = runCcFlows({
    seed: 1,
    flows: ['newreno', 'newreno'],
    rateBps: 100e6,
    rttMs: 40,
    queuePkts: 100,
    aqm: 'droptail',
    seconds: 20,
  });
  assert.ok(r.utilization >= 0.75, `utilisation ${r.utilization} (seed 1)`);
  assert.ok(r.jain >= 0.95, `Jain ${r.jain} (seed 1)`);
});
