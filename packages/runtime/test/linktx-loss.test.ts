/**
 * The lossy wire of the in-memory link (linkmatrix.ts LinkTx.setLoss, StackOptions.plr):
 * a packet on the wire is lost with the given probability, so a TSO segment, cut into
 * its packets by the link, loses some of its pieces, not all of them or none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CSUM_TSO, newFrameMeta } from '@mcstack/netinet';
import { LinkTx } from '../src/linkmatrix.js';
import { FrameRing, RingConsumer } from '../src/ring.js';
import { Doorbell } from '../src/doorbell.js';
import { buildFrame } from './frames.js';

const PIECES = 10;
const MSS = 1000;

test('plr: each packet of a TSO segment is lost on its own', () => {
  const ring = FrameRing.create({ slots: 64, slotSize: 2048 });
  const tx = new LinkTx([ring.sab], [new Doorbell().sab], new SharedArrayBuffer(2 * 4), 'rss-groups');
  const rx = new RingConsumer(ring);
  const seed = 12345;
  tx.setLoss(0.3, seed);
  const meta = newFrameMeta();
  meta.csumFlags = CSUM_TSO;
  meta.tsoSegsz = MSS;
  const f = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 5000, dport: 80, payload: PIECES * MSS });
  const got = new Set<number>();
  let total = 0;
  for (let i = 0; i < 50; i++) {
    assert.equal(tx.send(f, meta), 0);
    tx.flush();
    const n = rx.peek(64);
    rx.release(n);
    got.add(n);
    total += n;
  }
  const partial = [...got].some((n) => n > 0 && n < PIECES);
  assert.ok(partial, `seed ${seed}: pieces per segment ${[...got].join(',')}, never a part of one`);
  assert.equal(tx.wireDrops, 50 * PIECES - total, 'each lost piece counted');
});
