/**
 * CDG (Hayes & Armitage 2011; FreeBSD cc_cdg.c) through the cc hooks with per-RTT min and
 * max RTTs the test imposes: the delay gradient g (ticks per RTT), smoothed over the last
 * smoothing_factor RTTs, backs off with P = 1 − exp(−g/G) (G = exp_backoff_scale),
 * cwnd·beta_delay/100 — all computed here; a loss cuts only when the queue seemed full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TF_CONGRECOVERY, TF_FASTRECOVERY, type Tcpcb } from '../src/tcp/var.js';
import { CC_NDUPACK } from '../src/tcp/cc/cc.js';
import { Ertt, ERTT_NEW_MEASUREMENT } from '../src/tcp/khelp/h_ertt.js';
import { cdg, cdgDefaults, type CdgTunables } from '../src/tcp/cc/cdg.js';
import { MSS, ack, makeTp } from './cc-harness.js';

/** One RTT period whose every sample is `rttMs`, closed by a new marked measurement. */
function period(tp: Tcpcb, e: Ertt, rttMs: number): void {
  e.rtt = rttMs * 1000;
  e.minrtt = Math.min(e.minrtt || e.rtt, e.rtt);
  ack(tp, MSS);
  e.flags |= ERTT_NEW_MEASUREMENT;
  ack(tp, MSS);
}

function setup(rand: () => number, over: Partial<CdgTunables> = {}): { tp: Tcpcb; e: Ertt } {
  const e = new Ertt();
  const tp = makeTp(cdg({ ...cdgDefaults, ...over }, rand, () => e));
  tp.snd_cwnd = 40 * MSS;
  tp.snd_ssthresh = 20 * MSS;
  return { tp, e };
}

test('no smoothing: a gradient g backs off with P = 1 − exp(−g/G) to cwnd·beta_delay/100', () => {
  const G = cdgDefaults.exp_backoff_scale;
  for (const g of [0.5, 1, 2, 4, 8, 14]) {
    const P = 1 - Math.exp(-g / G);
    for (const [draw, backoff] of [
      [P - 0.02, true],
      [P + 0.02, false],
    ] as const) {
      if (draw < 0 || draw >= 1) continue;
      const { tp, e } = setup(() => draw, { smoothing_factor: 0 });
      period(tp, e, 100);
      const before = tp.snd_cwnd;
      period(tp, e, 100 + g);
      if (backoff) {
        assert.equal(tp.snd_cwnd, Math.floor((before * cdgDefaults.beta_delay) / 100), `g ${g}`);
        assert.notEqual(tp.t_flags & TF_CONGRECOVERY, 0);
      } else {
        assert.equal(tp.snd_cwnd, before + MSS, `g ${g}: one segment per RTT`);
      }
    }
  }
  // Beyond MAXGRAD·G a backoff is certain.
  const { tp, e } = setup(() => 0.999999, { smoothing_factor: 0 });
  period(tp, e, 100);
  const before = tp.snd_cwnd;
  period(tp, e, 100 + 5 * G + 1);
  assert.equal(tp.snd_cwnd, Math.floor((before * 70) / 100));
});

test('smoothing: the moving average of the last 8 gradients decides, not the last alone', () => {
  // Gradients in 1/128 ticks as FreeBSD keeps them; the average with its integer division.
  const seq = [100, 103, 106, 109, 112, 112, 112, 112, 112, 112];
  const draws: number[] = [];
  const { tp, e } = setup(() => {
    draws.push(0);
    return 0.999999;
  });
  const n = cdgDefaults.smoothing_factor;
  const qs: number[] = [];
  let trend = 0;
  period(tp, e, seq[0]!);
  for (let i = 1; i < seq.length; i++) {
    const q = (seq[i]! - seq[i - 1]!) * 128;
    if (qs.length >= n) trend += Math.trunc((q - qs.shift()!) / n);
    else trend += Math.trunc(q / n);
    qs.push(q);
    const drawsBefore = draws.length;
    period(tp, e, seq[i]!);
    // A draw is made exactly while the smoothed (or, in slow start, the raw) gradient is positive.
    assert.equal(draws.length - drawsBefore, trend > 0 ? 1 : 0, `period ${i}, trend ${trend}`);
  }
  assert.ok(trend > 0, 'the flat tail is still inside the 8-period window');
});

/** One RTT period with samples `lo` then `hi` ms, closed by a new marked measurement. */
function spread(tp: Tcpcb, e: Ertt, lo: number, hi: number): void {
  e.rtt = lo * 1000;
  e.minrtt = Math.min(e.minrtt || e.rtt, e.rtt);
  ack(tp, MSS);
  e.rtt = hi * 1000;
  e.flags |= ERTT_NEW_MEASUREMENT;
  ack(tp, MSS);
}

test('a loss: the window kept when the queue seems empty; cut to max(shadow/2, cwnd·beta_loss/100) otherwise', () => {
  const loss = (tp: Tcpcb) =>
    tp.cc.cong_signal?.(tp, { flags: 0, bytes_this_ack: 0, curack: tp.snd_una, nsegs: 1 }, CC_NDUPACK);
  const iw = 10 * MSS;
  // Min RTT flat, max RTT falling: the queue drains (EMPTY): not a congestion loss.
  let { tp, e } = setup(() => 0.999999, { smoothing_factor: 0 });
  spread(tp, e, 100, 120);
  spread(tp, e, 100, 110);
  const kept = tp.snd_cwnd;
  loss(tp);
  assert.equal(tp.snd_ssthresh, kept);
  assert.notEqual(tp.t_flags & TF_FASTRECOVERY, 0);
  // Min RTT rising, max flat: the queue is full; the shadow window (IW, one segment per
  // RTT since) halves as NewReno's would, cwnd is cut by beta_loss, the larger wins.
  ({ tp, e } = setup(() => 0.999999, { smoothing_factor: 0 }));
  spread(tp, e, 100, 120);
  spread(tp, e, 105, 120);
  const shadow = iw + 2 * MSS;
  const cwnd = tp.snd_cwnd;
  loss(tp);
  assert.equal(tp.snd_ssthresh, Math.max(Math.floor(shadow / 2), Math.floor((cwnd * cdgDefaults.beta_loss) / 100)));
});
