/**
 * Engine.inputQueued: an ACK that waited in a queue while the engine's thread was off the
 * CPU past the retransmission timeout is taken before the timer that fell due meanwhile,
 * so no spurious RTO; input() at the same late time runs the timer first (the contrast).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair, establish } from './tcp-harness.js';
import { IPPROTO_TCP, TCP_NODELAY } from '../src/index.js';

function lateAck(queued: boolean): { rto: number; rexmit: number } {
  const p = makePair(false, 3);
  const { c, s } = establish(p);
  p.a.setsockopt(c, IPPROTO_TCP, TCP_NODELAY, 1);
  // Hold what b sends (its ACK of the data) instead of delivering it.
  const held: Uint8Array[] = [];
  p.drop = (from, frame) => {
    if (from !== 'b') return false;
    held.push(frame.slice());
    return true;
  };
  const st = p.a.tcp.stat;
  const rto0 = st.tcps_rexmttimeo;
  assert.equal(p.a.send(c, new Uint8Array(1000).fill(1), 0, 1000), 1000);
  // b receives the segment and, after its delayed-ACK timer, ACKs it; the ACK is held.
  p.run(p.now + 150_000, () => held.length > 0);
  assert.equal(held.length, 1, 'b acknowledged the data');
  assert.equal(p.b.recv(s, new Uint8Array(2000)), 1000);
  const due = p.a.nextTimeout();
  assert.ok(due > p.now && due < p.now + 2e6, `a's retransmission timer is armed (${due - p.now} µs)`);
  // a's thread comes back 50 ms after the timer fell due, the ACK waiting in its queue.
  const late = due + 50_000;
  if (queued) {
    p.a.setClock(late);
    p.a.inputQueued('tun0', held[0]!, late);
    p.a.advance(late);
  } else p.a.input('tun0', held[0]!, late);
  return { rto: st.tcps_rexmttimeo - rto0, rexmit: st.tcps_sndrexmitpack };
}

test('inputQueued: an ACK that waited past the RTO stops the timer instead of losing to it', () => {
  const q = lateAck(true);
  assert.equal(q.rto, 0, 'no retransmission timeout');
  assert.equal(q.rexmit, 0, 'nothing retransmitted');
  const i = lateAck(false);
  assert.equal(i.rto, 1, 'input() runs the due timer before the frame: a spurious RTO');
  assert.ok(i.rexmit >= 1);
});
