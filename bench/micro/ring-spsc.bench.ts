/**
 * The SAB frame ring on one thread: a batch of 32 frames of 1500 bytes published and
 * consumed per op (reserve, write, commit, one publish store; peek, read, one release
 * store), so the figure is the ring's own cost without cross-core traffic. "copy in" fills
 * each slot from a source frame (what a link does); "in place" writes only the headers,
 * as a stack building its frame in the slot does. Units: frames.
 */
import {
  FrameRing,
  RingProducer,
  RingConsumer,
  META_WORDS,
  META_LEN,
  META_FLOWID,
  META_HASHTYPE,
} from '@mcstack/runtime';
import type { MicroTask } from './index.js';

const BATCH = 32;
const FRAME = 1500;
const ring = FrameRing.create({ slots: 1024, slotSize: 2048 });
const p = new RingProducer(ring);
const c = new RingConsumer(ring);
const src = new Uint8Array(FRAME).map((_, i) => i * 7);
let sink = 0;

function consume(): void {
  const n = c.peek(BATCH);
  for (let k = 0; k < n; k++) {
    const s = c.slot(k);
    const len = ring.meta[s * META_WORDS + META_LEN]!;
    const v = ring.views[s]!;
    sink = (sink + v[0]! + v[len - 1]! + ring.meta[s * META_WORDS + META_FLOWID]!) | 0;
  }
  c.release(n);
}

/** Reserve, write (a full copy of `src`, or just the header bytes), commit, publish once. */
function produce(copy: boolean): void {
  const n = p.reserve(BATCH);
  for (let k = 0; k < n; k++) {
    const s = p.slot(k);
    const v = ring.views[s]!;
    if (copy) v.set(src);
    else {
      v[0] = k;
      v[12] = 0x08;
      v[13] = 0x00;
      v[FRAME - 1] = k;
    }
    const b = s * META_WORDS;
    ring.meta[b + META_LEN] = FRAME;
    ring.meta[b + META_FLOWID] = k;
    ring.meta[b + META_HASHTYPE] = 0x82;
  }
  p.commit(n);
  p.publish();
}

export const tasks: MicroTask[] = [
  {
    name: 'ring spsc: publish+consume 32 x 1500 B (copy in)',
    unitsPerOp: BATCH,
    unit: 'frames',
    fn: () => {
      produce(true);
      consume();
    },
  },
  {
    name: 'ring spsc: publish+consume 32 x 1500 B (in place, headers only)',
    unitsPerOp: BATCH,
    unit: 'frames',
    fn: () => {
      produce(false);
      consume();
    },
  },
];

export function sinkValue(): number {
  return sink;
}
