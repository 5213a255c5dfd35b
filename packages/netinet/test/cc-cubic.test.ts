/**
 * CUBIC (RFC 9438) and HyStart++ (RFC 9406) through the cc hooks on a virtual clock.
 * Every expected window is computed here from the RFCs' formulas, in segments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TF_CONGRECOVERY, TF_FASTRECOVERY, type Tcpcb } from '../src/tcp/var.js';
import { CC_NDUPACK, CC_RTO, CC_ECN } from '../src/tcp/cc/cc.js';
import { cubic, cubicDefaults, type CubicTunables } from '../src/tcp/cc/cubic.js';
import { Clock, MSS, ack, makeTp, roundTrip } from './cc-harness.js';

const C = 0.4;
const BETA = 0.7;
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);
/** RFC 9438 Figure 1/2 in segments and seconds. */
const kOf = (wmax: number, epoch: number): number => Math.cbrt((wmax - epoch) / C);
const wCubic = (tsec: number, k: number, wmax: number): number => C * (tsec - k) ** 3 + wmax;
const segs = (tp: Tcpcb): number => tp.snd_cwnd / MSS;

function setup(over: Partial<CubicTunables> = {}): { clock: Clock; tp: Tcpcb } {
  const clock = new Clock();
  const tp = makeTp(cubic({ ...cubicDefaults, ...over }, clock.now));
  return { clock, tp };
}

/** Fast retransmit at cwnd = `w` segments, then leave recovery with a full window in flight, as tcp_input does. */
function loss(tp: Tcpcb, w: number): void {
  tp.snd_cwnd = w * MSS;
  tp.snd_max = tp.snd_nxt = tp.snd_una + w * MSS;
  tp.cc.cong_signal?.(tp, { flags: 0, bytes_this_ack: 0, curack: tp.snd_una, nsegs: 1 }, CC_NDUPACK);
  assert.ok(tp.inFastRecovery());
  const curack = tp.snd_una;
  tp.snd_max = tp.snd_nxt = curack + tp.snd_ssthresh; // pipe = ssthresh when the recovery ends
  tp.cc.post_recovery?.(tp, { flags: 0, bytes_this_ack: 0, curack, nsegs: 1 });
  tp.t_flags &= ~(TF_FASTRECOVERY | TF_CONGRECOVERY);
  tp.snd_max = tp.snd_nxt = tp.snd_una + tp.snd_cwnd;
}

test('loss: ssthresh = β·cwnd; cwnd follows W_cubic — concave up to W_max at t = K, convex after', () => {
  const { clock, tp } = setup();
  const rtt = 100_000;
  tp.t_srtt = rtt;
  loss(tp, 100);
  assert.equal(tp.snd_ssthresh, 70 * MSS);
  assert.equal(tp.snd_cwnd, 70 * MSS);
  // cwnd = ssthresh is still slow start (RFC 9438 §4.10 "no more than ssthresh"): one ACK
  // adds an SMSS, and the congestion-avoidance stage starts at cwnd_epoch = 71.
  const K = kOf(100, 71); // ≈ 4.17 s
  const t0 = clock.t;
  const incs: number[] = [];
  let prev = segs(tp);
  let atK = NaN;
  // Until W_est reaches cwnd_prior = 100 (29/α RTTs ≈ 5.48 s) the Reno estimate is far below.
  for (let r = 0; r < 53; r++) {
    roundTrip(tp, clock, rtt);
    const t = (clock.t - t0) / 1e6;
    const w = segs(tp);
    // Growth per ACK toward W_cubic(t + RTT) keeps cwnd between W_cubic(t) and W_cubic(t + RTT).
    assert.ok(
      w >= wCubic(t, K, 100) - 1 && w <= wCubic(t + rtt / 1e6, K, 100) + 1,
      `t=${t.toFixed(2)} cwnd=${w.toFixed(2)} W_cubic=${wCubic(t, K, 100).toFixed(2)}`,
    );
    // The Reno estimate stays below: this is the CUBIC region (RFC 9438 §4.4, §4.5).
    assert.ok(71 + ALPHA * (t / 0.1) < w);
    if (Math.abs(t - K) < 0.05) atK = w;
    incs.push(w - prev);
    prev = w;
  }
  assert.ok(Math.abs(atK - 100) <= 0.5, `cwnd at t=K is ${atK} segments, W_max is 100`);
  const rK = Math.round(K / 0.1);
  // Concave: the increments shrink toward K; convex: they grow after it.
  assert.ok(incs[2]! > incs[20]! && incs[20]! > incs[rK - 2]!);
  assert.ok(incs[rK + 3]! < incs[rK + 7]! && incs[rK + 7]! < incs[rK + 10]!);
  assert.ok(segs(tp) > 100);
  // Past t ≈ 5.5 s W_est (now +1 per RTT) overtakes W_cubic: Reno-friendly from there on.
  for (let r = 0; r < 15; r++) roundTrip(tp, clock, rtt);
  const t = (clock.t - t0) / 1e6;
  assert.ok(segs(tp) > wCubic(t + rtt / 1e6, K, 100) + 2);
});

test('small BDP: the Reno-friendly W_est (α_cubic, then 1 past cwnd_prior) wins over W_cubic', () => {
  const { clock, tp } = setup();
  const rtt = 1_000;
  tp.t_srtt = rtt;
  loss(tp, 10);
  assert.equal(tp.snd_cwnd, 7 * MSS);
  const K = kOf(10, 7); // ≈ 1.96 s: cubic growth would take 1960 RTTs
  // The first ACK is slow start (cwnd = ssthresh), so the stage starts at W_est = cwnd_epoch = 8.
  const n1 = 2 / ALPHA; // RTTs for W_est to climb from 8 to cwnd_prior = 10
  const t0 = clock.t;
  // Figure 4 per ACK, in bytes: W_est += α·SMSS·bytes_acked/cwnd, cwnd = W_est (Reno-friendly).
  let west = 8 * MSS;
  let cwnd = 8 * MSS;
  for (let n = 1; n <= 40; n++) {
    roundTrip(tp, clock, rtt);
    for (let left = n === 1 ? 7 * MSS - MSS : cwnd; left > 0; ) {
      const b = Math.min(MSS, left);
      left -= b;
      west += ((west >= 10 * MSS ? 1 : ALPHA) * MSS * b) / cwnd;
      cwnd = Math.max(cwnd, Math.floor(west));
    }
    const w = segs(tp);
    assert.ok(Math.abs(w - cwnd / MSS) <= 0.01, `RTT ${n}: cwnd ${w.toFixed(2)}, W_est ${(west / MSS).toFixed(2)}`);
    // Closed form, per RTT: +α until cwnd_prior, then +1.
    const approx = n <= n1 ? 8 + ALPHA * n : 10 + (n - n1);
    assert.ok(Math.abs(w - approx) <= 2, `RTT ${n}: cwnd ${w.toFixed(2)}, ≈ ${approx.toFixed(2)}`);
    assert.ok(w > wCubic((clock.t - t0) / 1e6 + rtt / 1e6, K, 10) + (n > 10 ? 3 : 0));
  }
});

test('fast convergence (§4.7): a loss below W_max sets W_max = cwnd·(1+β)/2, so the plateau is lower', () => {
  const run = (fc: number): { ssthresh: number; at: (t: number) => number } => {
    const { clock, tp } = setup({ fast_convergence: fc });
    tp.t_srtt = 100_000;
    loss(tp, 1000); // W_max = 1000
    loss(tp, 800); // a second loss before regaining W_max
    const ssthresh = tp.snd_ssthresh;
    const t0 = clock.t;
    const samples: Array<[number, number]> = [];
    for (let r = 0; r < 80; r++) {
      roundTrip(tp, clock, 100_000);
      samples.push([(clock.t - t0) / 1e6, segs(tp)]);
    }
    return { ssthresh, at: (t) => samples.reduce((a, b) => (Math.abs(b[0] - t) < Math.abs(a[0] - t) ? b : a))[1] };
  };
  const fcOn = run(1);
  const fcOff = run(0);
  assert.equal(fcOn.ssthresh, 560 * MSS);
  assert.equal(fcOff.ssthresh, 560 * MSS);
  const wmaxFc = (800 * (1 + BETA)) / 2; // 680
  const kFc = kOf(wmaxFc, 560);
  assert.ok(Math.abs(fcOn.at(kFc) - wmaxFc) <= 2, `fc: cwnd ${fcOn.at(kFc)} at K=${kFc.toFixed(2)} s, W_max ${wmaxFc}`);
  // Without it W_max stays 800: at the same time cwnd is near 800, far above 680.
  const kOff = kOf(800, 560);
  assert.ok(Math.abs(fcOff.at(kFc) - wCubic(kFc, kOff, 800)) <= 2, `no fc: ${fcOff.at(kFc)}`);
  assert.ok(fcOff.at(kFc) > wmaxFc + 100);
});

test('RTO (§4.8): cwnd = 1 SMSS, ssthresh = β·flight; the first CA stage after it grows from K = 0', () => {
  const { clock, tp } = setup();
  const rtt = 100_000;
  tp.t_srtt = rtt;
  tp.snd_cwnd = 100 * MSS;
  tp.snd_max = tp.snd_nxt = tp.snd_una + 80 * MSS;
  tp.t_rxtshift = 1;
  tp.cc.cong_signal?.(tp, { flags: 0, bytes_this_ack: 0, curack: tp.snd_una, nsegs: 1 }, CC_RTO);
  assert.equal(tp.snd_cwnd, MSS);
  assert.equal(tp.snd_ssthresh, 56 * MSS); // floor(80·0.7) segments
  tp.snd_max = tp.snd_nxt = tp.snd_una + tp.snd_cwnd;
  // Slow start back to ssthresh, one MSS per ACK.
  let t0 = -1;
  let epoch = 0;
  while (t0 < 0) {
    const n = (tp.snd_max - tp.snd_una) / MSS;
    for (let i = 0; i < n; i++) {
      clock.t += rtt / n;
      if (t0 < 0 && tp.snd_cwnd > tp.snd_ssthresh) {
        t0 = clock.t;
        epoch = segs(tp);
      }
      ack(tp, MSS);
    }
  }
  assert.ok(epoch > 56 && epoch < 60);
  // W_max = cwnd at the stage's start and K = 0: W_cubic(t) = epoch + C·t³ (convex at once).
  while ((clock.t - t0) / 1e6 < 5) roundTrip(tp, clock, rtt);
  const t = (clock.t - t0) / 1e6;
  const w = segs(tp);
  assert.ok(w >= wCubic(t, 0, epoch) - 1 && w <= wCubic(t + 0.1, 0, epoch) + 1, `t=${t} cwnd=${w} epoch=${epoch}`);
});

test('ECN (§4.6): one reduction to β·cwnd per window of data', () => {
  const { tp } = setup();
  tp.snd_cwnd = 50 * MSS;
  tp.snd_ssthresh = 20 * MSS;
  tp.snd_max = tp.snd_nxt = tp.snd_una + 50 * MSS;
  const ci = { flags: 0, bytes_this_ack: MSS, curack: tp.snd_una + MSS, nsegs: 1 };
  tp.cc.cong_signal?.(tp, ci, CC_ECN);
  assert.equal(tp.snd_cwnd, 35 * MSS);
  assert.equal(tp.snd_ssthresh, 35 * MSS);
  assert.equal(tp.snd_recover, tp.snd_max);
  tp.cc.cong_signal?.(tp, ci, CC_ECN);
  assert.equal(tp.snd_cwnd, 35 * MSS);
});

/** HyStart++ model (RFC 9406 §4.2): per round, growth per ACK is min(N, L·SMSS), divided by 4 in CSS. */
test('HyStart++: a delay increase of max(4 ms, lastRoundMinRTT/8) enters CSS; 5 CSS rounds end slow start', () => {
  const { clock, tp } = setup();
  const rttOf = (round: number): number => (round <= 2 ? 20_000 : 26_000);
  // The model: rounds of MSS-sized ACKs for the window sent; CSS entered at the 8th sample of round 3.
  let w = 10 * MSS;
  const ends: number[] = [];
  for (let round = 1; round <= 7; round++) {
    let left = w;
    let i = 0;
    while (left > 0) {
      const b = Math.min(MSS, left);
      left -= b;
      i++;
      const css = round > 3 || (round === 3 && i > 8);
      w += css ? Math.floor(b / 4) : b;
    }
    ends.push(w);
  }
  for (let round = 1; round <= 7; round++) {
    roundTrip(tp, clock, rttOf(round), { rtt_us: rttOf(round) });
    assert.equal(tp.snd_cwnd, ends[round - 1], `end of round ${round}`);
  }
  assert.equal(ends[2], 56 * MSS);
  // The first ACK of round 8: CSS_ROUNDS (5) rounds done, ssthresh = cwnd.
  ack(tp, MSS, { rtt_us: 26_000 });
  assert.equal(tp.snd_ssthresh, ends[6]);
});

test('HyStart++: an RTT back under the CSS baseline resumes standard slow start', () => {
  const { clock, tp } = setup();
  roundTrip(tp, clock, 20_000, { rtt_us: 20_000 });
  roundTrip(tp, clock, 20_000, { rtt_us: 20_000 });
  roundTrip(tp, clock, 26_000, { rtt_us: 26_000 }); // CSS from the 8th ACK: 40 → 56
  assert.equal(tp.snd_cwnd, 56 * MSS);
  // Round 4: eight samples at 19 ms (< baseline 26 ms); the ACKs up to the 8th grow by 1/4.
  roundTrip(tp, clock, 19_000, { rtt_us: 19_000 });
  assert.equal(tp.snd_cwnd, 56 * MSS + 8 * (MSS / 4) + 48 * MSS);
});

test('HyStart++ without RTT samples (the engine gives none yet): plain slow start', () => {
  const { clock, tp } = setup();
  for (let r = 0; r < 6; r++) roundTrip(tp, clock, 20_000 + r * 10_000);
  assert.equal(tp.snd_cwnd, 640 * MSS);
  assert.equal(tp.snd_ssthresh, (65535 << 14) >>> 0);
});

test('application-limited ACKs do not grow cwnd', () => {
  const { clock, tp } = setup();
  tp.t_srtt = 50_000;
  loss(tp, 100);
  const w = tp.snd_cwnd;
  for (let r = 0; r < 20; r++) roundTrip(tp, clock, 50_000, { appLimited: true });
  assert.equal(tp.snd_cwnd, w);
});
