/**
 * 802.3x flow control on the in-memory link (linkmatrix.ts LinkTx, txq.ts): a frame for a
 * full receive ring waits in the destination's transmit queue and goes into the ring, in
 * order, at a later flush once the receiver has made room; only a full queue refuses a
 * frame (ENOBUFS, counted). Without flow control a full ring loses the frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO, newFrameMeta } from '@mcstack/netinet';
import { LinkTx } from '../src/linkmatrix.js';
import { FrameRing, RingConsumer } from '../src/ring.js';
import { Doorbell } from '../src/doorbell.js';
import { buildFrame } from './frames.js';

const SLOTS = 8;

function link(txqlen: number) {
  const ring = FrameRing.create({ slots: SLOTS, slotSize: 2048 });
  const tx = new LinkTx(
    [ring.sab],
    [new Doorbell().sab],
    new SharedArrayBuffer(2 * 4),
    'rss-groups',
    undefined,
    undefined,
    txqlen,
  );
  return { ring, tx, rx: new RingConsumer(ring) };
}

/** Frame i: one connection (one queue), its number in the last payload byte. */
function frame(i: number): Uint8Array {
  const f = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 5000, dport: 80, payload: 64 });
  f[f.length - 1] = i;
  return f;
}

/** Take everything the receiver can see; the frame numbers in order. */
function receive(ring: FrameRing, rx: RingConsumer): number[] {
  const out: number[] = [];
  const n = rx.peek(SLOTS);
  for (let k = 0; k < n; k++) {
    const s = rx.slot(k);
    out.push(ring.views[s]![ring.len(s) - 1]!);
  }
  rx.release(n);
  return out;
}

test('flow control: frames beyond the ring wait and arrive in order, none lost', () => {
  const { ring, tx, rx } = link(16);
  const meta = newFrameMeta();
  for (let i = 0; i < 20; i++) assert.equal(tx.send(frame(i), meta), 0, `frame ${i}`);
  assert.equal(tx.drops, 0);
  assert.equal(tx.queued, 12);
  tx.flush();
  assert.equal(tx.pending, 12, 'the ring is full: they still wait');
  const got: number[] = receive(ring, rx);
  // New frames go behind the waiting ones, never ahead of them.
  assert.equal(tx.send(frame(20), meta), 0);
  for (let turn = 0; turn < 4 && got.length < 21; turn++) {
    tx.flush();
    got.push(...receive(ring, rx));
  }
  assert.deepEqual(
    got,
    Array.from({ length: 21 }, (_, i) => i),
  );
  assert.equal(tx.pending, 0);
});

test('flow control: a full transmit queue refuses with ENOBUFS and counts it', () => {
  const { tx } = link(4);
  const meta = newFrameMeta();
  for (let i = 0; i < SLOTS + 4; i++) assert.equal(tx.send(frame(i), meta), 0);
  assert.equal(tx.send(frame(99), meta), -ERRNO.ENOBUFS);
  assert.equal(tx.drops, 1);
});

test('without flow control (-mediaopt rxpause,txpause) a full ring drops', () => {
  const { ring, tx, rx } = link(16);
  tx.pause = false;
  const meta = newFrameMeta();
  let refused = 0;
  for (let i = 0; i < 20; i++) if (tx.send(frame(i), meta) === -ERRNO.ENOBUFS) refused++;
  assert.equal(refused, 12);
  assert.equal(tx.drops, 12);
  tx.flush();
  assert.deepEqual(
    receive(ring, rx),
    Array.from({ length: SLOTS }, (_, i) => i),
  );
});
