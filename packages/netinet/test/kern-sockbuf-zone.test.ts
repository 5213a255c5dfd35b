/**
 * Socket-buffer ring storage (kern/sockbuf_zone.ts): rings come back to their size's
 * free list and are handed out again, so a stream of short connections reuses the same
 * few rings; after every connection is gone, no ring is held (TIME_WAIT included: a closed
 * socket gives its buffers back when it enters TIME_WAIT) and the data still arrives intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SockbufZone, SB_RING_MIN } from '../src/kern/sockbuf_zone.js';
import { Sockbuf } from '../src/kern/sockbuf.js';
import { ERRNO } from '../src/kern/errno.js';
import { makePair } from './tcp-harness.js';

test('a given-back ring is reused; sizes are powers of two from one page', () => {
  const z = new SockbufZone();
  const a = z.take(100);
  assert.equal(a.length, SB_RING_MIN);
  const b = z.take(SB_RING_MIN + 1);
  assert.equal(b.length, 2 * SB_RING_MIN);
  z.give(a);
  assert.equal(z.take(10), a, 'the free list hands back the same ring');
  const big = z.take(1 << 20);
  assert.equal(big.length, 1 << 20);
  z.give(big);
  assert.deepEqual(
    z.stats().map((s) => [s.size, s.used, s.free, s.requests]),
    [
      [4096, 1, 0, 2],
      [8192, 1, 0, 1],
      [1 << 20, 0, 1, 1],
    ],
  );
});

test('free lists are bounded: a burst does not pin its memory', () => {
  const z = new SockbufZone();
  const rings = Array.from({ length: 4096 }, () => z.take(SB_RING_MIN));
  for (const r of rings) z.give(r);
  const s = z.stats()[0]!;
  assert.equal(s.used, 0);
  assert.ok(s.free * SB_RING_MIN <= 8 << 20, `free list holds ${s.free} rings`);
  assert.ok(s.free > 0);
});

test('a sockbuf grows through its zone and keeps its bytes in order across the wrap', () => {
  const z = new SockbufZone();
  const sb = new Sockbuf(1 << 16, 1);
  const src = Uint8Array.from({ length: 6000 }, (_, i) => i & 0xff);
  assert.equal(sb.append(src, 0, 3000, z), 3000);
  sb.drop(2500);
  assert.equal(sb.append(src, 3000, 3000, z), 3000); // wraps in the 4 KiB ring, then grows
  const out = new Uint8Array(3500);
  sb.copyOut(0, out, 0, 3500);
  assert.deepEqual(out, src.subarray(2500, 6000));
  sb.release(z);
  assert.equal(
    z.stats().reduce((n, s) => n + s.used, 0),
    0,
  );
});

test('short connections reuse rings and leave none held, TIME_WAIT included', () => {
  const p = makePair(false, 7);
  const lfd = p.b.socket('inet', 'stream');
  assert.equal(p.b.bind(lfd, { addr: '10.0.0.2', port: 80 }), 0);
  assert.equal(p.b.listen(lfd, 64), 0);
  const buf = new Uint8Array(64);
  const msg = Uint8Array.of(1, 2, 3, 4, 5);
  const N = 200;
  for (let i = 0; i < N; i++) {
    const c = p.a.socket('inet', 'stream');
    assert.equal(p.a.connect(c, { addr: '10.0.0.2', port: 80 }), -ERRNO.EINPROGRESS);
    let s = -1;
    p.run(p.now + 1_000_000, () => {
      if (s < 0) s = p.b.accept(lfd);
      return s >= 0 && p.a.send(c, msg, 0, msg.length) === msg.length;
    });
    p.run(p.now + 1_000_000, () => p.b.recv(s, buf, 0, 64) === msg.length);
    assert.deepEqual(buf.subarray(0, 5), msg);
    assert.equal(p.b.send(s, buf, 0, 5), 5);
    p.run(p.now + 1_000_000, () => p.a.recv(c, buf, 0, 64) === 5);
    p.a.close(c); // the client closes first: its side ends in TIME_WAIT
    p.run(p.now + 1_000_000, () => p.b.recv(s, buf, 0, 64) === 0);
    p.b.close(s);
    p.run(p.now + 100_000);
  }
  const held = (e: typeof p.a) => e.sockets.sbzone.stats().reduce((n, s) => n + s.used, 0);
  assert.equal(p.a.tcp.stat.tcps_states[10], N, 'every client connection is in TIME_WAIT');
  assert.equal(held(p.a), 0, 'TIME_WAIT holds no buffer rings');
  assert.equal(held(p.b), 0);
  const reqs = p.a.sockets.sbzone.stats().reduce((n, s) => n + s.requests, 0);
  assert.ok(reqs >= 2 * N, `${reqs} rings handed out`);
  assert.ok(
    p.a.sockets.sbzone.stats().every((s) => s.free <= 2),
    'the same couple of rings served every connection',
  );
  p.b.close(lfd);
});
