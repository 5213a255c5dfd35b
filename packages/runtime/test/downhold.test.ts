/**
 * sockapp's down-ring consumer with zero-copy holds (worker/downhold.ts): refused data
 * stays in its slots and keeps them (and every slot after them) from the producer until
 * it is sent; records after a hold are still handled once; and when holds keep half the
 * ring, the views are copied out (same bytes) and the slots go back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameRing, RingProducer, META_WORDS, META_LEN } from '../src/ring.js';
import { DownRing, type DownHolder } from '../src/worker/downhold.js';

const SLOTS = 8;

/** A ring of `slots` 8-byte slots, its producer, and the consumer under test. */
function setup(slots = SLOTS) {
  const ring = FrameRing.create({ slots, slotSize: 8 });
  const prod = new RingProducer(ring);
  const dr = new DownRing(ring);
  /** One record whose payload is `byte` repeated, published. */
  const put = (byte: number): boolean => {
    const s = prod.alloc();
    if (s < 0) return false;
    ring.views[s]!.fill(byte);
    ring.meta[s * META_WORDS + META_LEN] = 8;
    prod.publish();
    return true;
  };
  /** Handle every new record: the records in `keep` are held by `h` (their views), the rest consumed. Returns the bytes seen. */
  const handle = (h: DownHolder, keep: Set<number>): number[] => {
    const n = dr.peek(64);
    const seen: number[] = [];
    for (let k = dr.from(); k < n; k++) {
      const v = ring.views[dr.slot(k)]!;
      seen.push(v[0]!);
      if (keep.has(v[0]!)) {
        h.pending.push(v.subarray(0, 8));
        h.pendingAbs.push(dr.abs(k));
        dr.hold(h);
      }
    }
    dr.handled(n);
    return seen;
  };
  return { ring, prod, dr, put, handle };
}

const holder = (): DownHolder => ({ pending: [], pendingAbs: [] });

test('a held slot keeps itself and the slots after it; records after it are handled once', () => {
  const { ring, prod, dr, put, handle } = setup(16);
  const h = holder();
  for (let i = 1; i <= 4; i++) assert.ok(put(i));
  assert.deepEqual(handle(h, new Set([2])), [1, 2, 3, 4]);
  // Slot of record 1 went back; 2 is held, so 3 and 4 wait behind it.
  assert.equal(prod.reserve(16), 16 - 3);
  assert.equal(dr.hasNew(), false, 'handled records are not new work');
  assert.ok(put(5));
  assert.deepEqual(handle(h, new Set()), [5], 'records 3 and 4 are not handled again');
  assert.equal(prod.reserve(16), 16 - 4);
  // The held data is still the producer's bytes, in place (a view of the ring, not a copy).
  assert.equal(h.pending[0]![0], 2);
  assert.equal(h.pending[0]!.buffer, ring.sab);
  assert.equal(dr.copiedBytes, 0);
  // Sent: the hold ends, everything handled goes back.
  h.pending.shift();
  h.pendingAbs.shift();
  dr.settle(h);
  dr.release();
  assert.equal(prod.reserve(16), 16);
});

test('holds that keep half the ring are copied out with the same bytes, and the slots go back', () => {
  const { ring, prod, dr, put, handle } = setup();
  const h = holder();
  for (let i = 1; i <= 3; i++) assert.ok(put(i));
  handle(h, new Set([1]));
  assert.equal(dr.copiedBytes, 0, 'three slots kept of eight: still held in place');
  assert.equal(prod.reserve(SLOTS), SLOTS - 3);
  assert.ok(put(4));
  handle(h, new Set());
  // Four of eight kept: the view is replaced by a copy and every slot is free.
  assert.equal(dr.copiedBytes, 8);
  assert.equal(prod.reserve(SLOTS), SLOTS);
  assert.deepEqual(h.pendingAbs, [-1]);
  assert.notEqual(h.pending[0]!.buffer, ring.sab, 'an owned copy, not a view of the ring');
  // The producer reuses the slot: the copy keeps the old bytes.
  for (let i = 10; i < 10 + SLOTS; i++) assert.ok(put(i));
  assert.deepEqual([...h.pending[0]!], new Array(8).fill(1));
});

test('an unheld holder (closed connection) gives its slots back at the next release', () => {
  const { prod, dr, put, handle } = setup();
  const h = holder();
  for (let i = 1; i <= 2; i++) assert.ok(put(i));
  handle(h, new Set([1, 2]));
  assert.equal(prod.reserve(SLOTS), SLOTS - 2);
  h.pending.length = 0;
  h.pendingAbs.length = 0;
  dr.unhold(h);
  dr.release();
  assert.equal(prod.reserve(SLOTS), SLOTS);
});
