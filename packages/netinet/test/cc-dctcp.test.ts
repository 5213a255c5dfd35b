/**
 * DCTCP (RFC 8257) through the cc hooks: the sender's α estimate against the §3.3
 * EWMA computed here, the cut cwnd·(1 − α/2) once per window, and the receiver's
 * §3.2 CE echo.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TF_ECN_PERMIT, TF_ECN_SND_ECE, TF_FASTRECOVERY, type Tcpcb } from '../src/tcp/var.js';
import { CC_ECN, CC_NDUPACK, CCF_ACKNOW, CCF_DELACK, CCF_IPHDR_CE, CCF_TCPHDR_CWR } from '../src/tcp/cc/cc.js';
import { dctcp, dctcpDefaults, type DctcpAlgo, type DctcpTunables } from '../src/tcp/cc/dctcp.js';
import { ISS, MSS, ack, makeTp } from './cc-harness.js';

const G = 1 / 16;

function setup(over: Partial<DctcpTunables> = {}, flags = TF_ECN_PERMIT): { algo: DctcpAlgo; tp: Tcpcb } {
  const algo = dctcp({ ...dctcpDefaults, ...over });
  return { algo, tp: makeTp(algo, flags) };
}

/** RFC 8257 §3.3, written out: window ends at SND.NXT, α ← (1 − g)α + g·F, cut once per window. */
class Rfc8257 {
  acked = 0;
  marked = 0;
  cwr = false;
  cwrEnd = 0;
  windows = 0;
  private ece = false;
  constructor(
    public alpha: number,
    public windowEnd: number,
  ) {}
  /** An ACK with ECE arrives: the cwnd it leaves. */
  onEce(cwnd: number, sndMax: number): number {
    this.ece = true;
    if (this.cwr) return cwnd;
    this.cwr = true;
    this.cwrEnd = sndMax;
    return Math.max(Math.floor((cwnd * (1 - this.alpha / 2)) / MSS), 2) * MSS;
  }
  onAck(ackNo: number, bytes: number, sndNxt: number): void {
    this.acked += bytes;
    if (this.ece) this.marked += bytes;
    this.ece = false;
    if (this.cwr && ackNo >= this.cwrEnd) this.cwr = false;
    if (ackNo > this.windowEnd) {
      this.alpha = (1 - G) * this.alpha + (G * this.marked) / this.acked;
      this.acked = this.marked = 0;
      this.windowEnd = sndNxt;
      this.windows++;
    }
  }
}

/** One ACK of an MSS, marked or not, to both the module and the model; `flight` bytes kept outstanding. */
function step(tp: Tcpcb, m: Rfc8257, marked: boolean, flight: number): void {
  const curack = tp.snd_una + MSS;
  if (marked) {
    const want = m.onEce(tp.snd_cwnd, tp.snd_max);
    tp.cc.cong_signal?.(tp, { flags: 0, bytes_this_ack: MSS, curack, nsegs: 1 }, CC_ECN);
    assert.equal(tp.snd_cwnd, want);
  }
  m.onAck(curack, MSS, tp.snd_nxt);
  ack(tp, MSS, { appLimited: true, flight });
}

test('α converges to the marking fraction F = 1/4 as the EWMA with g = 1/16 says', () => {
  const { tp } = setup({ alpha: 1024 });
  const flight = 32 * MSS;
  tp.snd_nxt = tp.snd_max = tp.snd_una + flight;
  // conn_init took SND.NXT = ISS as the first window's end.
  const m = new Rfc8257(1, ISS);
  const alphas: number[] = [];
  for (let k = 1; m.windows < 100; k++) {
    const w = m.windows;
    step(tp, m, k % 4 === 0, flight);
    if (m.windows > w) alphas.push(m.alpha);
    assert.ok(Math.abs(tp.ccv.alpha! - m.alpha) < 1e-12, `ACK ${k}: α ${tp.ccv.alpha} vs ${m.alpha}`);
  }
  // Window 1 is the first ACK alone (unmarked): α₁ = 15/16. Every later window is 32
  // ACKs, 8 of them marked: α_n = F + (α₁ − F)(1 − g)^(n−1).
  assert.equal(alphas[0], 1 - G);
  for (let n = 1; n <= 100; n++) {
    assert.ok(Math.abs(alphas[n - 1]! - (0.25 + (1 - G - 0.25) * (1 - G) ** (n - 1))) < 1e-12, `window ${n}`);
  }
  assert.ok(Math.abs(m.alpha - 0.25) < 0.002);
  // With α ≈ 1/4, an ECE in a window without a reduction yet cuts cwnd by α/2 ≈ 1/8.
  for (let i = 0; i < 40; i++) step(tp, m, false, flight);
  tp.snd_cwnd = 100 * MSS;
  step(tp, m, true, flight);
  assert.equal(tp.snd_cwnd, Math.floor((100 * MSS * (1 - m.alpha / 2)) / MSS) * MSS);
  assert.equal(tp.snd_cwnd, 88 * MSS);
});

test('the cut cwnd·(1 − α/2) happens once per window of data', () => {
  const { tp } = setup({ alpha: 512 }); // α = 1/2
  tp.snd_cwnd = 100 * MSS;
  const flight = 100 * MSS;
  tp.snd_nxt = tp.snd_max = tp.snd_una + flight;
  const m = new Rfc8257(0.5, ISS);
  step(tp, m, true, flight);
  assert.equal(tp.snd_cwnd, 75 * MSS);
  step(tp, m, true, flight);
  assert.equal(tp.snd_cwnd, 75 * MSS);
  // Through the ACK of the last byte outstanding at the cut: still the same window.
  for (let k = 3; k <= 100; k++) step(tp, m, k === 60, flight);
  assert.equal(tp.snd_cwnd, 75 * MSS);
  // The next window: cut again, with the α of the window that ended at ACK 1.
  const a = (1 - G) * 0.5 + G * 1;
  assert.equal(m.alpha, a);
  step(tp, m, true, flight);
  assert.equal(tp.snd_cwnd, Math.floor((75 * MSS * (1 - a / 2)) / MSS) * MSS);
});

test('α = 0 (FreeBSD default): marks leave cwnd alone until α has grown', () => {
  const { tp } = setup();
  tp.snd_cwnd = 40 * MSS;
  const flight = 40 * MSS;
  tp.snd_nxt = tp.snd_max = tp.snd_una + flight;
  const m = new Rfc8257(0, ISS);
  step(tp, m, true, flight);
  assert.equal(tp.snd_cwnd, 40 * MSS);
});

test('loss halves as NewReno (§3.5), from the cwnd before an ECE cut in the same window', () => {
  const { tp } = setup({ alpha: 1024 });
  tp.snd_cwnd = 80 * MSS;
  tp.snd_nxt = tp.snd_max = tp.snd_una + 80 * MSS;
  const ci = { flags: 0, bytes_this_ack: MSS, curack: tp.snd_una + MSS, nsegs: 1 };
  tp.cc.cong_signal?.(tp, ci, CC_ECN);
  assert.equal(tp.snd_cwnd, 40 * MSS); // α = 1: halved
  tp.cc.cong_signal?.(tp, ci, CC_NDUPACK);
  assert.ok((tp.t_flags & TF_FASTRECOVERY) !== 0);
  assert.equal(tp.snd_ssthresh, 40 * MSS); // 80/2, not 40/2
});

test("receiver (§3.2): ECE mirrors each segment's CE; a CE change with an ACK pending is ACKed at once", () => {
  const { algo, tp } = setup();
  const seg = (ce: boolean, delack: boolean, cwr = false): { acknow: boolean; ece: boolean } => {
    const ci = {
      flags: (ce ? CCF_IPHDR_CE : 0) | (delack ? CCF_DELACK : 0) | (cwr ? CCF_TCPHDR_CWR : 0),
      bytes_this_ack: 0,
      curack: 0,
      nsegs: 1,
    };
    algo.ecnpkt_handler(tp, ci);
    return { acknow: (ci.flags & CCF_ACKNOW) !== 0, ece: (tp.t_flags & TF_ECN_SND_ECE) !== 0 };
  };
  assert.deepEqual(seg(false, true), { acknow: false, ece: false });
  assert.deepEqual(seg(true, true), { acknow: true, ece: true }); // 0 → 1 with a delayed ACK
  assert.deepEqual(seg(true, true), { acknow: false, ece: true });
  assert.deepEqual(seg(false, true), { acknow: true, ece: false }); // 1 → 0: ECE stops at once (no RFC 3168 latch)
  assert.deepEqual(seg(true, false), { acknow: false, ece: true }); // no ACK pending: the normal ACK carries it
  assert.deepEqual(seg(false, true, true), { acknow: false, ece: false }); // CWR: delayed ACK as usual
});

test('without ECN the connection is NewReno', () => {
  const { tp } = setup({}, 0);
  const w = tp.snd_cwnd;
  ack(tp, MSS);
  assert.equal(tp.snd_cwnd, w + MSS);
});
