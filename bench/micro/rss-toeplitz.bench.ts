/**
 * Toeplitz RSS hashing in batch loops, as a link hashes a burst of received frames: the
 * default 40-byte key, 1024 tuples per op taken in turn from a ring of 4096 distinct
 * random tuples (so inputs vary between ops and the working set is not one batch), each
 * hash stored into a Uint32Array (the frame metadata slot) and folded into a sink, so
 * nothing is allocated per hash and nothing is dead code.
 *
 * The issue-2 targets are for batch loops; the "(numbers)" and "(batch)" tasks use the
 * batch entry points (wasm SIMD), the "(from frame)" and "per packet" tasks the
 * per-packet functions, which the targets are shown against too, honestly.
 */
import { toeplitzForKey } from '@mcstack/rss';
import type { MicroTask } from './index.js';

const N = 1024;
const RING = 4096;
const WINDOWS = RING / N;
const tz = toeplitzForKey();

// Deterministic inputs (xorshift32), so runs compare.
let x = 0x9e3779b9;
const rnd = (): number => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
};
const src4 = new Uint32Array(RING);
const dst4 = new Uint32Array(RING);
const ports = new Uint32Array(RING); // sport << 16 | dport, as the batch API takes them
for (let i = 0; i < RING; i++) {
  src4[i] = rnd();
  dst4[i] = rnd();
  ports[i] = rnd();
}
const src6 = new Uint8Array(RING * 16);
const dst6 = new Uint8Array(RING * 16);
for (let i = 0; i < src6.length; i++) {
  src6[i] = rnd();
  dst6[i] = rnd();
}
// IPv6 frames: 40-byte IPv6 header, addresses at offset 8, then the TCP ports.
const frames6 = new Uint8Array(RING * 44);
for (let i = 0; i < frames6.length; i++) frames6[i] = rnd();
// IPv4 frames: 20-byte header, addresses at offset 12, TCP ports after it.
const frames4 = new Uint8Array(RING * 24);
for (let i = 0; i < frames4.length; i++) frames4[i] = rnd();
const out = new Uint32Array(N);

// The batch calls take one window of the ring; views made once, not per op.
const win = <T extends Uint32Array | Uint8Array>(a: T, per: number): T[] =>
  Array.from({ length: WINDOWS }, (_, w) => a.subarray(w * N * per, (w + 1) * N * per) as T);
const src4W = win(src4, 1),
  dst4W = win(dst4, 1),
  portsW = win(ports, 1);
const src6W = win(src6, 16),
  dst6W = win(dst6, 16);

let w = 0; // current window
let sink = 0;

export const tasks: MicroTask[] = [
  {
    name: 'rss toeplitz IPv4 4-tuple (numbers)',
    unitsPerOp: N,
    unit: 'hash',
    target: 250e6,
    fn: () => {
      w = (w + 1) & (WINDOWS - 1);
      tz.hashIPv4PortsBatch(src4W[w]!, dst4W[w]!, portsW[w]!, out, N);
      sink ^= out[N - 1]!;
    },
  },
  {
    name: 'rss toeplitz IPv4 4-tuple (numbers, per packet)',
    unitsPerOp: N,
    unit: 'hash',
    fn: () => {
      w = (w + 1) & (WINDOWS - 1);
      for (let i = 0, j = w * N; i < N; i++, j++) {
        const p = ports[j]!;
        out[i] = tz.hashIPv4Ports(src4[j]!, dst4[j]!, p >>> 16, p & 0xffff);
      }
      sink ^= out[N - 1]!;
    },
  },
  {
    name: 'rss toeplitz IPv4 4-tuple (from frame)',
    unitsPerOp: N,
    unit: 'hash',
    target: 250e6,
    fn: () => {
      w = (w + 1) & (WINDOWS - 1);
      for (let i = 0, o = w * N * 24; i < N; i++, o += 24) out[i] = tz.hashIPv4PortsAt(frames4, o + 12, o + 20);
      sink ^= out[N - 1]!;
    },
  },
  {
    name: 'rss toeplitz IPv6 4-tuple (batch)',
    unitsPerOp: N,
    unit: 'hash',
    target: 80e6,
    fn: () => {
      w = (w + 1) & (WINDOWS - 1);
      tz.hashIPv6PortsBatch(src6W[w]!, dst6W[w]!, portsW[w]!, out, N);
      sink ^= out[N - 1]!;
    },
  },
  {
    name: 'rss toeplitz IPv6 4-tuple (from frame)',
    unitsPerOp: N,
    unit: 'hash',
    target: 80e6,
    fn: () => {
      w = (w + 1) & (WINDOWS - 1);
      for (let i = 0, o = w * N * 44; i < N; i++, o += 44) out[i] = tz.hashIPv6PortsAt(frames6, o + 8, o + 40);
      sink ^= out[N - 1]!;
    },
  },
  {
    name: 'rss toeplitz IPv4 2-tuple (numbers)',
    unitsPerOp: N,
    unit: 'hash',
    fn: () => {
      w = (w + 1) & (WINDOWS - 1);
      for (let i = 0, j = w * N; i < N; i++, j++) out[i] = tz.hashIPv4(src4[j]!, dst4[j]!);
      sink ^= out[N - 1]!;
    },
  },
];
export const _sink = () => sink;
