/**
 * Idle connections in one process: two engines in one thread on the virtual clock
 * (hardening/pair.ts) establish `connections` TCP connections — spread over as many server
 * ports as the ephemeral range needs — and leave them idle with empty socket buffers. The
 * heap (after a full GC when the process runs with --expose-gc) and RSS are read before
 * and after: bytes per idle connection end is the heap's growth over twice the count.
 */
import { ERRNO } from '@mcstack/netinet';
import { etherPair } from './hardening/pair.js';

export interface ConnsResult {
  connections: number;
  /** Connections established (equal to `connections` unless the engines ran out). */
  established: number;
  setupSeconds: number;
  setupPerSecond: number;
  heapBefore: number;
  heapAfter: number;
  /** (heapAfter - heapBefore) / (2 × established): both ends are in this heap. */
  heapPerConnectionEnd: number;
  rssBefore: number;
  rssAfter: number;
  rssPerConnectionEnd: number;
  /** ArrayBuffer memory (socket-buffer rings live there, outside the heap). */
  arrayBuffersAfter: number;
  /** Whether the heap figures follow a full GC (node --expose-gc). */
  gc: boolean;
}

/** Connections one client address opens to one server port (the ephemeral range, with room). Batches of 64 stay under the listen queue (kern.ipc.somaxconn 128). */
const PER_PORT = 50_000;

function settle(): { heap: number; rss: number; ab: number; gc: boolean } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, ab: m.arrayBuffers, gc: gc !== undefined };
}

/** `whileIdle` runs with the connections still up (a heap snapshot, a census). */
export function runConns(connections: number, seed = 1, whileIdle?: () => void): ConnsResult {
  const p = etherPair(seed);
  const { a, b } = p;
  // ARP and ND resolved, the listeners up, before the baseline.
  const ports = Math.max(1, Math.ceil(connections / PER_PORT));
  // kern.ipc.maxsockets (65,536 by default) raised for the count: each end holds one socket per connection.
  const maxsockets = connections + ports + 16;
  for (const s of [a, b])
    if (Number(s.e.sysctl.get('kern.ipc.maxsockets')) < maxsockets) s.e.sysctl.set('kern.ipc.maxsockets', maxsockets);
  const lfds: number[] = [];
  for (let i = 0; i < ports; i++) {
    const l = b.e.socket('inet', 'stream');
    b.e.bind(l, { addr: '0.0.0.0', port: 10_000 + i });
    b.e.listen(l, 65535);
    lfds.push(l);
  }
  const warm = a.e.socket('inet', 'stream');
  a.e.connect(warm, { addr: '10.0.0.2', port: 10_000 });
  for (let t = 0; t < 5; t++) p.pump();
  for (const l of lfds) for (let fd = b.e.accept(l); fd >= 0; fd = b.e.accept(l)) b.e.close(fd);
  a.e.close(warm);
  for (let t = 0; t < 5; t++) p.pump();
  const clients: number[] = [];
  const servers: number[] = [];
  const before = settle();
  const t0 = performance.now();
  const acceptAll = () => {
    for (const l of lfds) for (let fd = b.e.accept(l); fd >= 0; fd = b.e.accept(l)) servers.push(fd);
  };
  for (let i = 0; i < connections; i++) {
    const fd = a.e.socket('inet', 'stream');
    if (fd < 0 || a.e.connect(fd, { addr: '10.0.0.2', port: 10_000 + (i % ports) }) !== -ERRNO.EINPROGRESS) break;
    clients.push(fd);
    if ((i & 63) === 63) {
      p.pump(0);
      acceptAll();
    }
  }
  for (let t = 0; t < 3; t++) p.pump(0);
  acceptAll();
  const setupSeconds = (performance.now() - t0) / 1000;
  // Idle: the delayed ACKs go out, nothing else is due for a long time.
  for (let t = 0; t < 3; t++) p.pump(200_000);
  const after = settle();
  whileIdle?.();
  const established = servers.length;
  const ends = Math.max(1, 2 * established);
  return {
    connections,
    established,
    setupSeconds,
    setupPerSecond: established / setupSeconds,
    heapBefore: before.heap,
    heapAfter: after.heap,
    heapPerConnectionEnd: (after.heap - before.heap) / ends,
    rssBefore: before.rss,
    rssAfter: after.rss,
    rssPerConnectionEnd: (after.rss - before.rss) / ends,
    arrayBuffersAfter: after.ab,
    gc: after.gc,
  };
}
