import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import {
  FrameRing,
  RingProducer,
  RingConsumer,
  META_WORDS,
  META_LEN,
  META_FLOWID,
  META_HASHTYPE,
  META_CSUM_FLAGS,
  META_TSO_SEGSZ,
  META_FLOW_TAG,
  frameRingBytes,
  type RingFrameMeta,
} from '../src/ring.js';

/** What a role's thread posts back (ring-worker.ts); a count a role does not keep reads 0. */
type RoleCounts = Record<string, number> & {
  published: number;
  received: number;
  errors: number;
  full: number;
  sleeps: number;
  notifies: number;
};

function pair(opts: { slots?: number; slotSize?: number; startIndex?: number } = {}) {
  const ring = FrameRing.create(opts);
  return { ring, p: new RingProducer(ring), c: new RingConsumer(ring) };
}

test('geometry: SAB size, attach from the buffer, bad geometry is EINVAL', () => {
  const ring = FrameRing.create({ slots: 8, slotSize: 128 });
  assert.equal(ring.sab.byteLength, frameRingBytes(8, 128));
  const other = FrameRing.attach(ring.sab);
  assert.equal(other.slots, 8);
  assert.equal(other.slotSize, 128);
  assert.equal(other.views[3]!.byteLength, 128);
  for (const bad of [{ slots: 6 }, { slots: 0 }, { slotSize: 100 }, { slotSize: 0 }]) {
    assert.throws(() => FrameRing.create(bad), { code: 'EINVAL' });
  }
  assert.throws(() => FrameRing.attach(new SharedArrayBuffer(4096)), { code: 'EINVAL' });
});

test('in-place batch: reserve, write through the slot view, commit, publish once; peek, release', () => {
  const { ring, p, c } = pair({ slots: 8, slotSize: 64 });
  const n = p.reserve(5);
  assert.equal(n, 5);
  for (let k = 0; k < n; k++) {
    const s = p.slot(k);
    ring.views[s]!.fill(k + 1, 0, 10 + k);
    p.setLen(s, 10 + k);
    ring.meta[s * META_WORDS + META_FLOWID] = 0xdeadbeef + k;
    ring.meta[s * META_WORDS + META_HASHTYPE] = 0x82;
  }
  p.commit(n);
  assert.equal(c.peek(8), 0, 'committed frames are invisible before publish');
  assert.equal(p.publish(), 5);
  assert.equal(p.publish(), 0);
  assert.equal(c.peek(3), 3);
  assert.equal(c.peek(32), 5);
  const m = {} as RingFrameMeta;
  for (let k = 0; k < 5; k++) {
    const s = c.slot(k);
    assert.equal(ring.len(s), 10 + k);
    assert.deepEqual([...ring.frame(s)], new Array(10 + k).fill(k + 1));
    ring.readMeta(s, m);
    assert.equal(m.flowid, (0xdeadbeef + k) >>> 0);
    assert.equal(m.hashType, 0x82);
  }
  c.release(5);
  assert.equal(ring.count, 0);
  assert.equal(p.reserve(100), 8);
});

test('full ring: the producer is told how much fit and never blocks; freed slots come back', () => {
  const { ring, p, c } = pair({ slots: 4, slotSize: 32 });
  const f = new Uint8Array(20).fill(7);
  let fit = 0,
    dropped = 0;
  for (let i = 0; i < 10; i++) p.push(f) >= 0 ? fit++ : dropped++;
  assert.equal(fit, 4);
  assert.equal(dropped, 6);
  assert.equal(p.reserve(3), 0);
  p.publish();
  assert.equal(c.peek(10), 4);
  c.release(1);
  assert.equal(p.reserve(3), 1);
  assert.equal(ring.count, 3);
  assert.throws(() => p.push(new Uint8Array(33)), { code: 'EINVAL' });
});

test('a producer that found the ring full asks to be woken: the consumer sees the ask once, after a release', () => {
  const { p, c } = pair({ slots: 4, slotSize: 32 });
  const f = new Uint8Array(8);
  assert.equal(p.roomAfterAsk(), true);
  assert.equal(c.spaceWanted(), false, 'room: nothing asked');
  for (let i = 0; i < 4; i++) assert.ok(p.push(f) >= 0);
  p.publish();
  assert.equal(p.roomAfterAsk(), false, 'full: asks');
  assert.equal(c.peek(4), 4);
  c.release(2);
  assert.equal(c.spaceWanted(), true, 'the ask, once');
  assert.equal(c.spaceWanted(), false);
  assert.equal(p.roomAfterAsk(), true);
  c.release(2);
  assert.equal(c.spaceWanted(), false, 'a release nobody waited for wakes nobody');
});

test('metadata round trip through writeMeta/readMeta, shaped like netinet FrameMeta', () => {
  const { ring, p, c } = pair({ slots: 2, slotSize: 64 });
  const s = p.push(new Uint8Array(60));
  const m: RingFrameMeta = {
    csumFlags: 0x0c000000,
    csumData: 0xffff,
    flowid: 0xfedcba98,
    hashType: 0x82,
    vlanTag: 0x2064,
    flags: 0x80,
    tsoSegsz: 1448,
    l2hlen: 14,
    l3hlen: 20,
    flowTag: 12345,
  };
  ring.writeMeta(s, m);
  p.publish();
  assert.equal(c.peek(1), 1);
  const out = ring.readMeta(c.slot(0), {} as RingFrameMeta);
  assert.deepEqual(out, m);
  assert.equal(ring.len(c.slot(0)), 60);
});

test('free-running counters wrap past 2^32 without losing or duplicating frames', () => {
  const { ring, p, c } = pair({ slots: 8, slotSize: 16, startIndex: -13 });
  const f = new Uint8Array(4);
  const dv = new DataView(f.buffer);
  let sent = 0,
    got = 0;
  for (let round = 0; round < 20; round++) {
    const n = p.reserve(5);
    for (let k = 0; k < n; k++) {
      dv.setUint32(0, sent++);
      assert.ok(p.push(f) >= 0);
    }
    p.publish();
    const m = c.peek(3 + (round % 5));
    for (let k = 0; k < m; k++) {
      const v = ring.views[c.slot(k)]!;
      assert.equal(((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0, got++);
    }
    c.release(m);
  }
  assert.ok(sent > 30 && got > 30);
  assert.ok(ring.count === sent - got);
});

test('waitAsync on the main thread: resolves on publish, on close, and on timeout', async () => {
  const { p, c } = pair({ slots: 4, slotSize: 16 });
  assert.equal(await c.waitAsync(1), 'timed-out');
  const w = c.waitAsync();
  setTimeout(() => {
    p.push(new Uint8Array(1));
    p.publish();
  }, 5);
  assert.equal(await w, 'ready');
  assert.equal(p.notifies, 1, 'the producer rang because the consumer said it sleeps');
  c.release(c.peek(4));
  p.push(new Uint8Array(1));
  p.publish();
  assert.equal(p.notifies, 1, 'no notify when nobody sleeps');
  assert.equal(await c.waitAsync(), 'ready', 'a ready frame returns at once');
  c.release(c.peek(4));
  const w2 = c.waitAsync();
  setTimeout(() => p.close(), 5);
  assert.equal(await w2, 'closed');
});

const FRAMES = 1_000_000;

test('two real threads: a million frames with sequence numbers and metadata, no loss, no duplication', async () => {
  const ring = FrameRing.create({ slots: 256, slotSize: 256 });
  const url = new URL('./ring-worker.js', import.meta.url);
  const run = (role: string) =>
    new Promise<RoleCounts>((resolve, reject) => {
      const w = new Worker(url, { workerData: { role, sab: ring.sab, frames: FRAMES, seed: 0x5eed } });
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => {
        if (code !== 0) reject(new Error(`${role} exited ${code}`));
      });
    });
  const [prod, cons] = await Promise.all([run('producer'), run('consumer')]);
  assert.equal(prod.published, FRAMES);
  assert.equal(cons.received, FRAMES, 'every frame arrived');
  assert.equal(cons.errors, 0, `first bad frame: ${cons.firstError}`);
  assert.ok(prod.full > 0, 'the ring ran full at least once (wraparound and back-pressure exercised)');
  assert.ok(cons.sleeps > 0, 'the consumer slept and was woken');
  assert.ok(prod.notifies > 0, 'the producer rang a sleeping consumer');
  assert.ok(
    prod.notifies <= cons.sleeps,
    `notifies (${prod.notifies}) only when the consumer announced sleep (${cons.sleeps})`,
  );
  assert.equal(ring.count, 0);
});

// Keep the metadata words the worker uses in sync with the exports (compile-time use).
void [META_LEN, META_CSUM_FLAGS, META_TSO_SEGSZ, META_FLOW_TAG];
