/**
 * One side of the two-thread ring test (ring.test.ts): the producer writes `frames`
 * frames whose bytes and metadata derive from their sequence number, in seeded random
 * batch sizes with seeded pauses (so the consumer falls asleep and must be woken); the
 * consumer checks every frame and reports counts.
 */
import { workerData, parentPort } from 'node:worker_threads';
import { SeededRandom } from '@mcstack/netinet';
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
  META_VLAN,
  META_FLOW_TAG,
} from '../src/ring.js';

const { role, sab, frames, seed } = workerData as {
  role: string;
  sab: SharedArrayBuffer;
  frames: number;
  seed: number;
};
const ring = FrameRing.attach(sab);
const pauseWord = new Int32Array(new SharedArrayBuffer(4));

function lenOf(seq: number): number {
  return 8 + ((Math.imul(seq, 2654435761) >>> 0) % (ring.slotSize - 8));
}
function hashOf(seq: number): number {
  return Math.imul(seq ^ 0x9e3779b9, 0x85ebca6b) | 0;
}

if (role === 'producer') {
  const p = new RingProducer(ring);
  const rnd = new SeededRandom(seed);
  let seq = 0,
    full = 0;
  while (seq < frames) {
    const want = 1 + rnd.below(64);
    const n = p.reserve(Math.min(want, frames - seq));
    if (n === 0) {
      full++;
      continue;
    } // back-pressure: a real link would count drops; the test retries
    for (let k = 0; k < n; k++, seq++) {
      const s = p.slot(k);
      const v = ring.views[s]!;
      const len = lenOf(seq);
      v[0] = seq >>> 24;
      v[1] = seq >>> 16;
      v[2] = seq >>> 8;
      v[3] = seq;
      v[len - 1] = seq & 0xff;
      v[len - 2] = (seq >>> 8) & 0xff;
      const b = s * META_WORDS;
      ring.meta[b + META_LEN] = len;
      ring.meta[b + META_FLOWID] = hashOf(seq);
      ring.meta[b + META_HASHTYPE] = seq & 0xff;
      ring.meta[b + META_CSUM_FLAGS] = seq ^ 0x0c000000;
      ring.meta[b + META_TSO_SEGSZ] = seq & 0xffff;
      ring.meta[b + META_VLAN] = (seq * 7) & 0xffff;
      ring.meta[b + META_FLOW_TAG] = ~seq;
    }
    p.commit(n);
    p.publish();
    // Now and then stop long enough for the consumer to drain the ring and go to sleep.
    if (rnd.below(4096) === 0) Atomics.wait(pauseWord, 0, 0, 2);
  }
  p.close();
  parentPort!.postMessage({ published: p.frames, full, notifies: p.notifies });
} else {
  const c = new RingConsumer(ring);
  let expect = 0,
    errors = 0,
    firstError = '';
  const bad = (why: string) => {
    if (errors++ === 0) firstError = `seq ${expect}: ${why}`;
  };
  for (;;) {
    const n = c.peek(32);
    if (n === 0) {
      if (c.wait() === 'closed') break;
      continue;
    }
    for (let k = 0; k < n; k++, expect++) {
      const s = c.slot(k);
      const v = ring.views[s]!;
      const b = s * META_WORDS;
      const seq = ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
      const len = ring.meta[b + META_LEN]!;
      if (seq !== expect) {
        bad(`got ${seq}`);
        expect = seq;
      }
      if (len !== lenOf(seq)) bad(`len ${len}`);
      else if (v[len - 1] !== (seq & 0xff) || v[len - 2] !== ((seq >>> 8) & 0xff)) bad('tail bytes');
      if (ring.meta[b + META_FLOWID] !== hashOf(seq)) bad('flowid');
      if (ring.meta[b + META_HASHTYPE] !== (seq & 0xff)) bad('hashtype');
      if (ring.meta[b + META_CSUM_FLAGS] !== (seq ^ 0x0c000000)) bad('csum');
      if (ring.meta[b + META_TSO_SEGSZ] !== (seq & 0xffff)) bad('tso');
      if (ring.meta[b + META_VLAN] !== ((seq * 7) & 0xffff)) bad('vlan');
      if (ring.meta[b + META_FLOW_TAG] !== ~seq) bad('flow tag');
    }
    c.release(n);
  }
  parentPort!.postMessage({ received: c.frames, errors, firstError, sleeps: c.sleeps });
}
