/**
 * H-TCP (Leith & Shorten; FreeBSD cc_htcp.c) through the cc hooks on a virtual clock:
 * α(Δ) = 1 + 10(Δ − 1) + ((Δ − 1)/2)² segments per RTT, adaptive backoff and RTT
 * scaling, with every expectation computed here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TF_CONGRECOVERY, TF_FASTRECOVERY, TCP_MAXWIN, TCP_MAX_WINSHIFT, type Tcpcb } from '../src/tcp/var.js';
import { CC_ACK, CC_NDUPACK, CC_RTO, CCF_ABC_SENTAWND, CCF_CWND_LIMITED } from '../src/tcp/cc/cc.js';
import { htcp, htcpDefaults, type HtcpTunables } from '../src/tcp/cc/htcp.js';
import { Clock, MSS, makeTp } from './cc-harness.js';

const alphaOf = (deltaSec: number): number => {
  const d = deltaSec - 1;
  return d > 0 ? 1 + 10 * d + (d / 2) ** 2 : 1;
};

function setup(over: Partial<HtcpTunables> = {}): { clock: Clock; tp: Tcpcb } {
  const clock = new Clock();
  const tp = makeTp(htcp({ ...htcpDefaults, ...over }, clock.now));
  return { clock, tp };
}

/** Fast retransmit at `w` segments and the end of the recovery with a full pipe. */
function loss(tp: Tcpcb, w: number): void {
  tp.snd_cwnd = w * MSS;
  tp.cc.cong_signal?.(tp, { flags: 0, bytes_this_ack: 0, curack: tp.snd_una, nsegs: 1 }, CC_NDUPACK);
  const curack = tp.snd_una;
  tp.snd_max = tp.snd_nxt = curack + tp.snd_ssthresh;
  tp.cc.post_recovery?.(tp, { flags: 0, bytes_this_ack: 0, curack, nsegs: 1 });
  tp.t_flags &= ~(TF_FASTRECOVERY | TF_CONGRECOVERY);
}

/** The ACK that completes a window of data in congestion avoidance (RFC 3465 CCF_ABC_SENTAWND). */
function windowAck(tp: Tcpcb): number {
  const before = tp.snd_cwnd;
  tp.cc.ack_received?.(
    tp,
    { flags: CCF_CWND_LIMITED | CCF_ABC_SENTAWND, bytes_this_ack: MSS, curack: tp.snd_una + MSS, nsegs: 1 },
    CC_ACK,
  );
  return tp.snd_cwnd - before;
}

/** SRTT samples as tcp_xmit_timer leaves them, recorded by an ACK. */
function srtt(tp: Tcpcb, us: number): void {
  tp.t_srtt = us;
  tp.t_rttupdated = Math.max(tp.t_rttupdated, 8);
  tp.cc.ack_received?.(tp, { flags: 0, bytes_this_ack: MSS, curack: tp.snd_una, nsegs: 1 }, CC_ACK);
}

test('α(Δ): NewReno for Δ ≤ Δ_L = 1 s, then 1 + 10(Δ − 1) + ((Δ − 1)/2)² segments per window', () => {
  const { clock, tp } = setup();
  tp.snd_ssthresh = 50 * MSS; // not the first congestion event
  loss(tp, 100);
  assert.equal(tp.snd_ssthresh, 50 * MSS); // β = 0.5 without adaptive backoff
  assert.equal(tp.snd_cwnd, 50 * MSS);
  const t0 = clock.t;
  clock.t = t0 + 500_000;
  assert.equal(windowAck(tp), MSS);
  clock.t = t0 + 2_000_000;
  assert.equal(alphaOf(2), 11.25);
  assert.equal(windowAck(tp), Math.floor(11.25 * MSS));
  clock.t = t0 + 3_000_000;
  assert.equal(windowAck(tp), Math.floor(alphaOf(3) * MSS)); // 22
  // An ACK that does not complete a window adds nothing (RFC 3465).
  const w = tp.snd_cwnd;
  tp.cc.ack_received?.(
    tp,
    { flags: CCF_CWND_LIMITED, bytes_this_ack: MSS, curack: tp.snd_una + MSS, nsegs: 1 },
    CC_ACK,
  );
  assert.equal(tp.snd_cwnd, w);
});

test('adaptive backoff: β = RTT_min/RTT_max (95 % hysteresis on RTT_max per event), α scaled by 2(1 − β)', () => {
  const { clock, tp } = setup({ adaptive_backoff: 1 });
  srtt(tp, 60_000);
  srtt(tp, 100_000);
  // The first congestion event halves whatever the RTTs (ssthresh still initial).
  assert.equal(tp.snd_ssthresh, (TCP_MAXWIN << TCP_MAX_WINSHIFT) >>> 0);
  loss(tp, 100);
  assert.equal(tp.snd_ssthresh, 50 * MSS);
  assert.equal(tp.snd_cwnd, 50 * MSS);
  // Second event: RTT_max decayed twice, 100 → 98 → 96.1 ms.
  const maxrtt = 60 + (60 + (100 - 60) * 0.95 - 60) * 0.95;
  const beta = 60 / maxrtt;
  loss(tp, 100);
  assert.equal(tp.snd_ssthresh, Math.floor(100 * MSS * beta));
  assert.equal(tp.snd_cwnd, Math.floor((beta * 100 * MSS) / MSS) * MSS);
  // cwnd (whole segments) is just under ssthresh here: move on to congestion avoidance.
  tp.snd_ssthresh = 10 * MSS;
  clock.t += 2_000_000;
  // This ACK records SRTT = 100 ms again: RTT_max is back at 100 ms, β = 0.6.
  assert.equal(windowAck(tp), Math.floor(2 * (1 - 60 / 100) * 11.25 * MSS));
});

test('adaptive backoff: β clamped to [0.5, 0.8]', () => {
  for (const [min, max, beta] of [
    [30_000, 100_000, 0.5],
    [98_000, 100_000, 0.8],
  ] as const) {
    const { tp } = setup({ adaptive_backoff: 1 });
    srtt(tp, min);
    srtt(tp, max);
    tp.snd_ssthresh = 10 * MSS;
    loss(tp, 100);
    assert.equal(tp.snd_ssthresh, Math.floor(100 * MSS * beta), `RTTs ${min}/${max}`);
  }
});

test('RTT scaling: α × SRTT/100 ms, the factor clamped to [0.1, 2]', () => {
  for (const [rtt, factor] of [
    [50_000, 0.5],
    [300_000, 2],
    [5_000, 0.1],
  ] as const) {
    const { clock, tp } = setup({ rtt_scaling: 1 });
    tp.snd_ssthresh = 50 * MSS;
    loss(tp, 100);
    tp.snd_ssthresh = 10 * MSS; // congestion avoidance
    tp.t_srtt = rtt;
    clock.t += 2_000_000;
    assert.equal(windowAck(tp), Math.floor(Math.max(1, factor * 11.25) * MSS), `SRTT ${rtt}`);
  }
});

test('RTO: NewReno reduction; only a repeated timeout restarts Δ', () => {
  const { clock, tp } = setup();
  tp.snd_ssthresh = 50 * MSS;
  loss(tp, 100);
  const t0 = clock.t;
  clock.t = t0 + 2_000_000;
  tp.t_rxtshift = 1;
  tp.cc.cong_signal?.(tp, { flags: 0, bytes_this_ack: 0, curack: tp.snd_una, nsegs: 1 }, CC_RTO);
  assert.equal(tp.snd_cwnd, MSS);
  assert.equal(tp.snd_ssthresh, 25 * MSS);
  tp.snd_cwnd = 30 * MSS;
  assert.equal(windowAck(tp), Math.floor(11.25 * MSS)); // Δ still counts from the loss
  tp.t_rxtshift = 2;
  tp.cc.cong_signal?.(tp, { flags: 0, bytes_this_ack: 0, curack: tp.snd_una, nsegs: 1 }, CC_RTO);
  tp.snd_cwnd = 30 * MSS;
  tp.snd_ssthresh = 10 * MSS;
  clock.t += 500_000;
  assert.equal(windowAck(tp), MSS); // Δ = 0.5 s since the second timeout
});
