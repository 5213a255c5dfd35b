/**
 * Toeplitz RSS hashing in batch loops, as a link hashes a burst of received frames: the
 * default 40-byte key, 1024 random tuples per op, each hash stored into a Uint32Array
 * (the frame metadata slot), so nothing is allocated per hash.
 */
import { toeplitzForKey } from '@mcstack/rss';
import type { MicroTask } from './index.js';

const N = 1024;
const tz = toeplitzForKey();

// Deterministic inputs (xorshift32), so runs compare.
let x = 0x9e3779b9;
const rnd = (): number => {
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
  return x >>> 0;
};
const src4 = new Uint32Array(N);
const dst4 = new Uint32Array(N);
const sport = new Uint16Array(N);
const dport = new Uint16Array(N);
for (let i = 0; i < N; i++) {
  src4[i] = rnd(); dst4[i] = rnd(); sport[i] = rnd(); dport[i] = rnd();
}
// IPv6 addresses as they sit in frames: 40-byte IPv6 header, addresses at offset 8.
const frames6 = new Uint8Array(N * 40);
for (let i = 0; i < frames6.length; i++) frames6[i] = rnd();
// The same frames as IPv4 (20-byte header, addresses at offset 12) with TCP ports after it.
const frames4 = new Uint8Array(N * 24);
for (let i = 0; i < frames4.length; i++) frames4[i] = rnd();
const out = new Uint32Array(N);

export const tasks: MicroTask[] = [
  {
    name: 'rss toeplitz IPv4 4-tuple (numbers)',
    unitsPerOp: N,
    unit: 'hash',
    target: 250e6,
    fn: () => {
      for (let i = 0; i < N; i++) out[i] = tz.hashIPv4Ports(src4[i]!, dst4[i]!, sport[i]!, dport[i]!);
    },
  },
  {
    name: 'rss toeplitz IPv4 4-tuple (from frame)',
    unitsPerOp: N,
    unit: 'hash',
    target: 250e6,
    fn: () => {
      for (let i = 0, o = 0; i < N; i++, o += 24) out[i] = tz.hashIPv4PortsAt(frames4, o + 12, o + 20);
    },
  },
  {
    name: 'rss toeplitz IPv6 4-tuple (from frame)',
    unitsPerOp: N,
    unit: 'hash',
    target: 80e6,
    fn: () => {
      for (let i = 0, o = 0; i < N; i++, o += 40) out[i] = tz.hashIPv6Ports(frames6, o + 8, frames6, o + 24, sport[i]!, dport[i]!);
    },
  },
  {
    name: 'rss toeplitz IPv4 2-tuple (numbers)',
    unitsPerOp: N,
    unit: 'hash',
    fn: () => {
      for (let i = 0; i < N; i++) out[i] = tz.hashIPv4(src4[i]!, dst4[i]!);
    },
  },
];
export const _sink = () => out[0];
