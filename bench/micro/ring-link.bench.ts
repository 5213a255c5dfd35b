/**
 * RSS at the link: 32 TCP/IPv4 frames of 1500 bytes per op hashed (Toeplitz 4-tuple),
 * mapped through a 4-worker indirection table, copied into their worker's RX ring with
 * hash and type in the metadata, published (one store per ring) and drained. Units: frames.
 */
import { IndirectionTable } from '@mcstack/rss';
import { FrameRing, RingConsumer, RssDispatcher } from '@mcstack/runtime';
import type { MicroTask } from './index.js';

const BATCH = 32;
const WORKERS = 4;
const rings = Array.from({ length: WORKERS }, () => FrameRing.create({ slots: 1024, slotSize: 2048 }));
const consumers = rings.map((r) => new RingConsumer(r));
const rss = new RssDispatcher(new IndirectionTable(WORKERS), rings);

// 32 distinct flows: Ethernet + IPv4 (TCP) + TCP header, padded to 1500 bytes.
const frames = Array.from({ length: BATCH }, (_, i) => {
  const f = new Uint8Array(1500);
  f[12] = 0x08;
  f[13] = 0x00;
  f[14] = 0x45;
  f[23] = 6;
  f.set([10, 0, 0, 1], 26);
  f.set([10, 0, 1, i], 30);
  f[34] = 0xc0;
  f[35] = i;
  f[36] = 0x00;
  f[37] = 80;
  return f;
});

export const tasks: MicroTask[] = [
  {
    name: 'ring link: RSS dispatch 32 x 1500 B onto 4 worker rings',
    unitsPerOp: BATCH,
    unit: 'frames',
    fn: () => {
      for (let i = 0; i < BATCH; i++) rss.dispatch(frames[i]!, 0, 1500);
      rss.flush();
      for (let w = 0; w < WORKERS; w++) consumers[w]!.release(consumers[w]!.peek(BATCH));
    },
  },
];
