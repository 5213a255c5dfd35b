/**
 * Child of tcp-churn-heap.test.ts, run with --expose-gc: N connections between two engines
 * on the virtual clock are opened, closed from both ends and left through 2MSL; prints the
 * heap before and after (after a full GC) as JSON.
 */
import { Engine } from '../src/engine.js';
import type { Ifnet } from '../src/net/if.js';

interface Host {
  e: Engine;
  cx: Ifnet;
  q: Uint8Array[];
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const n = Number(process.argv[2] ?? 100_000);
let now = 1_000_000;

function host(x: number): Host {
  const e = new Engine({ seed: x, now });
  const cx = e.ifattach({ name: 'cxgbe0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, x), mtu: 1500 });
  e.addAddr(cx, `10.0.0.${x}/24`);
  e.setUp(cx, true);
  e.net.arp.addStatic(cx, 0x0a000000 | (3 - x), Uint8Array.of(2, 0, 0, 0, 0, 3 - x));
  e.sysctl.set('net.inet.tcp.msl', 250);
  return { e, cx, q: [] };
}

function pump(a: Host, b: Host): void {
  for (let k = 0; k < 100 && (a.q.length > 0 || b.q.length > 0); k++) {
    for (const f of a.q.splice(0)) a.e.input(a.cx, f, now);
    for (const f of b.q.splice(0)) b.e.input(b.cx, f, now);
  }
}

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const a = host(1);
const b = host(2);
a.e.output = (_ifp, f) => {
  b.q.push(f.slice());
};
b.e.output = (_ifp, f) => {
  a.q.push(f.slice());
};
// Two server ports: one (address, port) pair to another has only the ephemeral range's ports.
const lfds = [5001, 5002].map((port) => {
  const fd = b.e.socket('inet', 'stream');
  b.e.bind(fd, { addr: '0.0.0.0', port });
  b.e.listen(fd, 65535);
  return fd;
});

/** n connections opened in batches, then closed from both ends, then 2MSL. */
function cycle(n: number): { pcbs: number } {
  const clients: number[] = [];
  const servers: number[] = [];
  const acceptAll = () => {
    for (const lfd of lfds) for (let fd = b.e.accept(lfd); fd >= 0; fd = b.e.accept(lfd)) servers.push(fd);
  };
  for (let i = 0; i < n; i++) {
    const fd = a.e.socket('inet', 'stream');
    a.e.connect(fd, { addr: '10.0.0.2', port: 5001 + (i & 1) });
    clients.push(fd);
    if (i % 64 === 63) {
      pump(a, b);
      acceptAll();
    }
  }
  pump(a, b);
  acceptAll();
  if (servers.length !== n) throw new Error(`only ${servers.length} of ${n} connections accepted`);
  for (const fd of servers) b.e.close(fd);
  pump(a, b);
  for (const fd of clients) a.e.close(fd);
  pump(a, b);
  for (let t = 0; t < 60; t++) {
    now += 1_000_000;
    a.e.advance(now);
    b.e.advance(now);
    pump(a, b);
  }
  return { pcbs: a.e.tcp.pcbinfo.count + b.e.tcp.pcbinfo.count - lfds.length };
}

// A small cycle first: what V8 compiles and the engine's fixed tables are not connection memory.
cycle(2000);
const before = heap();
const { pcbs } = cycle(n);
const after = heap();
process.stdout.write(
  `${JSON.stringify({ n, before, after, pcbs, callouts: a.e.callouts.size + b.e.callouts.size, zone: a.e.tcp.tcbZone.kept + b.e.tcp.tcbZone.kept })}\n`,
);
