import { internetChecksum } from '@mcstack/wire';
import type { MicroTask } from './index.js';

const FRAMES = 64;
const frames = Array.from({ length: FRAMES }, (_, i) => {
  const b = new Uint8Array(1500);
  for (let j = 0; j < b.length; j++) b[j] = (i * 31 + j * 7) & 0xff;
  return b;
});
let sink = 0;

export const tasks: MicroTask[] = [
  {
    name: 'checksum 1500B (RFC 1071)',
    unitsPerOp: FRAMES * 1500,
    unit: 'B',
    target: 4e9,
    fn: () => {
      for (let i = 0; i < FRAMES; i++) sink ^= internetChecksum(frames[i]!);
    },
  },
];
export const _sink = () => sink;
