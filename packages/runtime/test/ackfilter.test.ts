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
const held = (a: AckFilter) =>
  ((a.buf[L4 + 8]! << 24) | (a.buf[L4 + 9]! << 16) | (a.buf[L4 + 10]! << 8) | a.buf[L4 + 11]!) >>> 0;

test('AckFilter: a later cumulative ACK of the connection replaces the held one, with its window and timestamp', () => {
  const a = new AckFilter();
  const m = newFrameMeta();
  const first = ack({ ack: 1000, opts: TS(1) });
  assert.equal(a.hold(first, first.length, m), true);
  const next = ack({ ack: 3000, opts: TS(2), id: 7 });
  next[L4 + 14] = 0x12; // another window
  assert.equal(a.replace(next, next.length, m), true, 'IP ID, window and timestamp may differ');
  assert.equal(held(a), 3000);
  assert.equal(a.buf[L4 + 14], 0x12);
  assert.equal(a.buf[L4 + 27], 2);
  // Wrapping sequence space: 0xfffffff0 -> 0x10 moves forward.
  const b = new AckFilter();
  const w = ack({ ack: 0xfffffff0 });
  b.hold(w, w.length, m);
  const w2 = ack({ ack: 0x10 });
  assert.equal(b.replace(w2, w2.length, m), true);
});

test('AckFilter: duplicate ACKs, SACK, data, FIN/ECE and other connections are never folded', () => {
  const a = new AckFilter();
  const m = newFrameMeta();
  const first = ack({ ack: 1000, opts: TS(1) });
  a.hold(first, first.length, m);
  const dup = ack({ ack: 1000, opts: TS(2) });
  assert.equal(a.replace(dup, dup.length, m), false, 'a duplicate ACK counts for the sender');
  const older = ack({ ack: 900, opts: TS(2) });
  assert.equal(a.replace(older, older.length, m), false);
  const other = ack({ ack: 2000, sport: 40001, opts: TS(2) });
  assert.equal(a.replace(other, other.length, m), false, 'another connection');
  const noTs = ack({ ack: 2000 });
  assert.equal(a.replace(noTs, noTs.length, m), false, 'another option layout');
  assert.equal(held(a), 1000);
  const sack = ack({ ack: 2000, opts: [1, 1, 5, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0] });
  assert.equal(new AckFilter().hold(sack, sack.length, m), false, 'SACK blocks go out as sent');
  assert.equal(a.replace(sack, sack.length, m), false);
  for (const flags of [0x11, 0x50, 0x18]) {
    const f = ack({ ack: 2000, flags, opts: TS(2) });
    assert.equal(new AckFilter().hold(f, f.length, m), false, `flags ${flags.toString(16)}`);
  }
  const data = ack({ ack: 2000, opts: TS(2), payload: 10 });
  assert.equal(new AckFilter().hold(data, data.length, m), false, 'data');
});
