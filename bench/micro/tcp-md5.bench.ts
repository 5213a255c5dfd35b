/**
 * TCP-MD5 signing of a full 1448-byte segment (RFC 2385): the stack's digest (wire's Md5,
 * nothing allocated per segment) beside node:crypto's createHash per segment, which is
 * what signing cost before. Same input, same digest.
 */
import { createHash } from 'node:crypto';
import { tcpMd5DigestAddrs } from '@mcstack/wire';
import type { MicroTask } from './index.js';

const SEG = 20 + 1448;
const seg = new Uint8Array(SEG);
for (let j = 0; j < SEG; j++) seg[j] = (j * 13) & 0xff;
seg[12] = 5 << 4; // data offset: 20 bytes
const src = Uint8Array.of(10, 0, 0, 1);
const dst = Uint8Array.of(10, 0, 0, 2);
const key = new TextEncoder().encode('a tcp-md5 key');
const out = new Uint8Array(16);
let sink = 0;

export const tasks: MicroTask[] = [
  {
    name: 'tcp-md5 sign 1448B segment (wire Md5)',
    unitsPerOp: 1,
    unit: 'seg',
    fn: () => {
      tcpMd5DigestAddrs(src, 0, dst, 0, false, seg, 0, SEG, key, out, 0);
      sink ^= out[0]!;
    },
  },
  {
    name: 'tcp-md5 sign 1448B segment (node:crypto createHash)',
    unitsPerOp: 1,
    unit: 'seg',
    fn: () => {
      const h = createHash('md5');
      h.update(Uint8Array.of(10, 0, 0, 1, 10, 0, 0, 2, 0, 6, SEG >>> 8, SEG & 0xff));
      h.update(seg.subarray(0, 20));
      h.update(seg.subarray(20));
      h.update(key);
      sink ^= h.digest()[0]!;
    },
  },
];
export const _sink = () => sink;
