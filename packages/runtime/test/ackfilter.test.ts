/**
 * The native queue's ACK filter (links/ackfilter.ts): a held pure ACK is replaced only by
 * a pure ACK of the same connection that acknowledges more; duplicate ACKs, SACK, data,
 * other flags and other connections are never folded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckFilter } from '@mcstack/runtime';
import { newFrameMeta } from '@mcstack/netinet';
import { buildFrame } from './frames.js';

const L4 = 14 + 20;

/** An IPv4 ACK from port `sport` acknowledging `ack`, with `opts` TCP option bytes and `payload` bytes. */
function ack(o: {
  ack: number;
  sport?: number;
  flags?: number;
  opts?: number[];
  payload?: number;
  id?: number;
}): Uint8Array {
  const opts = o.opts ?? [];
  const base = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: o.sport ?? 40000, dport: 9, payload: 0 });
  const f = new Uint8Array(L4 + 20 + opts.length + (o.payload ?? 0));
  f.set(base.subarray(0, L4 + 20));
  f.set(opts, L4 + 20);
  const ipLen = f.length - 14;
  f[16] = ipLen >>> 8;
  f[17] = ipLen & 0xff;
  f[18] = (o.id ?? 1) >>> 8;
  f[19] = (o.id ?? 1) & 0xff;
  f[L4 + 8] = o.ack >>> 24;
  f[L4 + 9] = (o.ack >>> 16) & 0xff;
  f[L4 + 10] = (o.ack >>> 8) & 0xff;
  f[L4 + 11] = o.ack & 0xff;
  f[L4 + 12] = ((20 + opts.length) >>> 2) << 4;
  f[L4 + 13] = o.flags ?? 0x10;
  return f;
}

const TS = (v: number) => [1, 1, 8, 10, 0, 0, 0, v, 0, 0, 0, 1];
const ackOf = (f: Uint8Array) => ((f[L4 + 8]! << 24) | (f[L4 + 9]! << 16) | (f[L4 + 10]! << 8) | f[L4 + 11]!) >>> 0;

/** A filter whose written frames are recorded as [source port, ack, window byte]. */
function harness() {
  const out: [number, number, number][] = [];
  const a = new AckFilter((b, _len) => out.push([(b[L4]! << 8) | b[L4 + 1]!, ackOf(b), b[L4 + 14]!]));
  const m = newFrameMeta();
  const offer = (f: Uint8Array) => a.offer(f, f.length, m);
  return { a, out, offer };
}

test('AckFilter: a later cumulative ACK of the connection replaces the held one; the newest window and timestamp go', () => {
  const { a, out, offer } = harness();
  // A connection not seen before: its first ACK is pinned (what was written before is unknown).
  assert.equal(offer(ack({ ack: 1000, opts: TS(1) })), true);
  assert.equal(offer(ack({ ack: 2000, opts: TS(2), id: 7 })), true);
  const w = ack({ ack: 3000, opts: TS(3), id: 9 });
  w[L4 + 14] = 0x12;
  assert.equal(offer(w), true);
  a.flush();
  assert.deepEqual(out, [
    [40000, 1000, 0],
    [40000, 3000, 0x12],
  ]);
  assert.equal(a.dropped, 1);
  // The next turn: the slot remembers 3000 was written, so 4000 may be replaced by 5000.
  out.length = 0;
  offer(ack({ ack: 4000, opts: TS(4) }));
  offer(ack({ ack: 5000, opts: TS(5) }));
  a.flush();
  assert.deepEqual(
    out.map((o) => o[1]),
    [5000],
  );
  // Sequence space wraps: 0xfffffff0 then 0x10 moves forward.
  const h = harness();
  h.offer(ack({ ack: 0xfffffff0 }));
  h.offer(ack({ ack: 0xfffffff8 }));
  h.offer(ack({ ack: 0x10 }));
  h.a.flush();
  assert.deepEqual(
    h.out.map((o) => o[1]),
    [0xfffffff0, 0x10],
  );
});

test('AckFilter: duplicate ACKs and window updates are written; connections interleave; SACK, data and flags pass', () => {
  const { a, out, offer } = harness();
  offer(ack({ ack: 1000 }));
  a.flush();
  out.length = 0;
  // A duplicate of what was written, then one that acknowledges more: both go out.
  offer(ack({ ack: 1000 }));
  offer(ack({ ack: 1000 }));
  offer(ack({ ack: 2000 }));
  a.flush();
  assert.deepEqual(
    out.map((o) => o[1]),
    [1000, 1000, 2000],
  );
  // A window update of the held ACK replaces it; a true duplicate (same window) does not.
  out.length = 0;
  offer(ack({ ack: 2100 }));
  const wu = ack({ ack: 2100 });
  wu[L4 + 14] = 0x40;
  offer(wu);
  offer(wu.slice());
  a.flush();
  assert.deepEqual(out, [
    [40000, 2100, 0x40],
    [40000, 2100, 0x40],
  ]);
  // Two connections' ACKs alternate: each folds into its own slot.
  out.length = 0;
  for (let i = 1; i <= 4; i++) {
    offer(ack({ ack: 2100 + i * 100 }));
    offer(ack({ ack: 9000 + i * 100, sport: 40001 }));
  }
  a.flush();
  assert.deepEqual(out, [
    [40001, 9100, 0],
    [40000, 2500, 0],
    [40001, 9400, 0],
  ]);
  // More connections than slots: the held ones are written to make room, nothing is lost.
  out.length = 0;
  for (let p = 0; p < 6; p++) offer(ack({ ack: 50_000, sport: 41000 + p }));
  a.flush();
  assert.equal(out.length, 6);
  // Not pure ACKs: SACK, data, FIN, ECE, PSH.
  const sack = ack({ ack: 3000, opts: [1, 1, 5, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0] });
  assert.equal(offer(sack), false, 'SACK blocks go out as sent');
  assert.equal(offer(ack({ ack: 3000, payload: 10 })), false, 'data');
  for (const flags of [0x11, 0x50, 0x18]) assert.equal(offer(ack({ ack: 3000, flags })), false, `flags ${flags}`);
  // Another option layout is another kind of frame: held apart, never folded together.
  out.length = 0;
  offer(ack({ ack: 3000 }));
  offer(ack({ ack: 3100, opts: TS(1) }));
  a.flush();
  assert.deepEqual(
    out.map((o) => o[1]),
    [3000, 3100],
  );
});
