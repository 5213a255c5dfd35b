/**
 * HD and CHD (FreeBSD cc_hd.c, cc_chd.c) through the cc hooks with h_ertt delays the test
 * imposes and a random source it controls: the backoff probability
 * p(qdly) = pmax·(qdly − qmin)/(qth − qmin) below qth, pmax at qth,
 * pmax·(maxq − qdly)/(maxq − qth) above, computed here, decides the backoff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TF_CONGRECOVERY, TF_FASTRECOVERY, type Tcpcb } from '../src/tcp/var.js';
import { CC_NDUPACK } from '../src/tcp/cc/cc.js';
import { Ertt, ERTT_NEW_MEASUREMENT } from '../src/tcp/khelp/h_ertt.js';
import { hd, hdDefaults } from '../src/tcp/cc/hd.js';
import { chd, chdDefaults } from '../src/tcp/cc/chd.js';
import { MSS, ack, makeTp } from './cc-harness.js';

const BASE = 50_000;

function p(pmax: number, qmin: number, qth: number, qdly: number, maxq: number): number {
  if (qdly < qth) return ((pmax / 100) * (qdly - qmin)) / (qth - qmin);
  if (qdly > qth) return ((pmax / 100) * (maxq - qdly)) / (maxq - qth);
  return pmax / 100;
}

function delay(e: Ertt, qdlyMs: number, maxqMs: number): void {
  e.minrtt = BASE;
  e.rtt = BASE + qdlyMs * 1000;
  e.maxrtt = BASE + maxqMs * 1000;
  e.flags |= ERTT_NEW_MEASUREMENT;
}

test('HD: at each queueing delay, a draw below p halves the window (as ECN), above it NewReno grows', () => {
  const maxq = 40;
  for (const qdly of [3, 5, 6, 10, 15, 20, 25, 30, 39]) {
    const want = qdly > hdDefaults.qmin ? p(hdDefaults.pmax, hdDefaults.qmin, hdDefaults.qthresh, qdly, maxq) : 0;
    for (const side of [-1e-9, 1e-9]) {
      const e = new Ertt();
      const tp = makeTp(
        hd(
          hdDefaults,
          () => want + side,
          () => e,
        ),
      );
      tp.snd_cwnd = 30 * MSS;
      tp.snd_ssthresh = 20 * MSS;
      delay(e, qdly, maxq);
      ack(tp, MSS);
      const backoff = side < 0 && want > 0;
      if (backoff) {
        assert.equal(tp.snd_cwnd, 15 * MSS, `qdly ${qdly}: halved`);
        assert.equal(tp.snd_ssthresh, 15 * MSS);
        assert.notEqual(tp.t_flags & TF_CONGRECOVERY, 0);
      } else {
        assert.equal(tp.snd_cwnd, 30 * MSS, `qdly ${qdly}: no backoff (growth waits for a window)`);
        assert.equal(tp.t_flags & TF_CONGRECOVERY, 0);
      }
    }
  }
});

function chdTp(rand: number, e: Ertt): Tcpcb {
  const tp = makeTp(
    chd(
      chdDefaults,
      () => rand,
      () => e,
    ),
  );
  tp.snd_cwnd = 30 * MSS;
  tp.snd_ssthresh = 20 * MSS;
  return tp;
}

test('CHD: once per RTT, a backoff with p leaves ssthresh = w − max(w/2, 1) segments', () => {
  const maxq = 40;
  for (const qdly of [4, 8, 20, 30]) {
    const want = qdly > chdDefaults.qmin ? p(chdDefaults.pmax, chdDefaults.qmin, chdDefaults.qthresh, qdly, maxq) : 0;
    const e = new Ertt();
    const tp = chdTp(want > 0 ? want - 1e-9 : 0, e);
    delay(e, qdly, maxq);
    ack(tp, MSS);
    if (want > 0) {
      const w = 30;
      assert.equal(tp.snd_ssthresh, Math.max(w - Math.max(Math.floor(w / 2), 1), 2) * MSS, `qdly ${qdly}`);
      assert.equal(tp.snd_cwnd, tp.snd_ssthresh);
    } else {
      assert.equal(tp.snd_cwnd, 30 * MSS);
    }
    // The next ACK without a new measurement does not back off again (at ssthresh it is slow start).
    const c = tp.snd_cwnd;
    tp.t_flags &= ~TF_CONGRECOVERY;
    ack(tp, MSS);
    assert.equal(tp.snd_cwnd, c <= tp.snd_ssthresh ? c + MSS : c);
  }
});

test('CHD: a loss with little queueing delay keeps the window; with more than qth it is congestion', () => {
  const ci = { flags: 0, bytes_this_ack: 0, curack: 0, nsegs: 1 };
  for (const [qdly, congested] of [
    [2, false],
    [25, true],
  ] as const) {
    const e = new Ertt();
    const tp = chdTp(0.999, e);
    delay(e, qdly, 40);
    e.flags &= ~ERTT_NEW_MEASUREMENT;
    tp.cc.cong_signal?.(tp, { ...ci, curack: tp.snd_una }, CC_NDUPACK);
    assert.notEqual(tp.t_flags & TF_FASTRECOVERY, 0);
    assert.equal(tp.snd_ssthresh, congested ? 15 * MSS : 30 * MSS, `qdly ${qdly}`);
  }
});
