/**
 * Connection churn between two engines in one thread over a function-call wire (no
 * threads, no link): what a connection costs the protocol engine itself, both ends.
 *
 *   crr    connect, 1-byte request and echo, close, 64 in flight, msl 250 ms; virtual time
 *          moves 5 ms per turn so the delayed ACKs and TIME-WAIT run their course. Wall µs
 *          per connection, client and server engine together (the loop's own work included).
 *   close  N connections established to one server port, then every one closed from both
 *          ends: wall µs per connection, where a per-port list that scans its members shows.
 *
 *   npx tsc -b && node bench/dist/engine-conns.js [crrConnections=40000] [closeConnections=40000]
 */
import { Engine, ERRNO } from '@mcstack/netinet';
import type { Ifnet } from '@mcstack/netinet';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Host {
  e: Engine;
  cx: Ifnet;
  q: Uint8Array[];
}

let now = 1_000_000;

function pair(): { a: Host; b: Host } {
  const mk = (x: number): Host => {
    const e = new Engine({ seed: x, now });
    const cx = e.ifattach({ name: 'cxgbe0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, x), mtu: 1500 });
    e.addAddr(cx, `10.0.0.${x}/24`);
    e.setUp(cx, true);
    e.net.arp.addStatic(cx, 0x0a000000 | (3 - x), Uint8Array.of(2, 0, 0, 0, 0, 3 - x));
    e.sysctl.set('net.inet.tcp.msl', 250);
    return { e, cx, q: [] };
  };
  const a = mk(1),
    b = mk(2);
  a.e.output = (_ifp, f) => {
    b.q.push(f.slice());
  };
  b.e.output = (_ifp, f) => {
    a.q.push(f.slice());
  };
  return { a, b };
}

function pump(a: Host, b: Host): void {
  for (let k = 0; k < 100 && (a.q.length > 0 || b.q.length > 0); k++) {
    for (const f of a.q.splice(0)) a.e.input(a.cx, f, now);
    for (const f of b.q.splice(0)) b.e.input(b.cx, f, now);
  }
}

function listen(b: Host, backlog: number): number {
  const fd = b.e.socket('inet', 'stream');
  b.e.bind(fd, { addr: '0.0.0.0', port: 5001 });
  b.e.listen(fd, backlog);
  return fd;
}

function acceptAll(b: Host, lfd: number, into: Set<number> | number[]): void {
  for (let fd = b.e.accept(lfd); fd >= 0; fd = b.e.accept(lfd)) {
    if (into instanceof Set) into.add(fd);
    else into.push(fd);
  }
}

function crr(n: number): number {
  const { a, b } = pair();
  const lfd = listen(b, 1024);
  const buf = new Uint8Array(64);
  const one = Uint8Array.of(1);
  const servers = new Set<number>();
  const clients = new Map<number, boolean>(); // fd -> request sent
  const open = () => {
    const fd = a.e.socket('inet', 'stream');
    a.e.connect(fd, { addr: '10.0.0.2', port: 5001 });
    clients.set(fd, false);
  };
  for (let i = 0; i < 64; i++) open();
  let done = 0;
  const t0 = performance.now();
  while (done < n) {
    now += 5000;
    a.e.advance(now);
    b.e.advance(now);
    pump(a, b);
    acceptAll(b, lfd, servers);
    for (const fd of servers) {
      const r = b.e.recv(fd, buf);
      if (r > 0) b.e.send(fd, buf, 0, r);
      else if (r === 0 || (r < 0 && r !== -ERRNO.EAGAIN)) {
        b.e.close(fd);
        servers.delete(fd);
      }
    }
    for (const [fd, sent] of clients) {
      if (!sent) {
        if (a.e.send(fd, one) === 1) clients.set(fd, true);
        continue;
      }
      if (a.e.recv(fd, buf) === 1) {
        done++;
        a.e.close(fd);
        clients.delete(fd);
        open();
      }
    }
    pump(a, b);
  }
  return ((performance.now() - t0) * 1000) / n;
}

function closeMany(n: number): number {
  const { a, b } = pair();
  const lfd = listen(b, 65535);
  const clients: number[] = [];
  const servers: number[] = [];
  for (let i = 0; i < n; i++) {
    const fd = a.e.socket('inet', 'stream');
    a.e.connect(fd, { addr: '10.0.0.2', port: 5001 });
    clients.push(fd);
    if (i % 64 === 63) {
      pump(a, b);
      acceptAll(b, lfd, servers);
    }
  }
  pump(a, b);
  acceptAll(b, lfd, servers);
  if (servers.length !== n) throw new Error(`only ${servers.length} of ${n} connections accepted`);
  const t0 = performance.now();
  for (const fd of servers) b.e.close(fd);
  pump(a, b);
  for (const fd of clients) a.e.close(fd);
  pump(a, b);
  now += 10_000_000;
  a.e.advance(now);
  b.e.advance(now);
  pump(a, b);
  return ((performance.now() - t0) * 1000) / n;
}

const nCrr = Number(process.argv[2] ?? 40_000);
const nClose = Number(process.argv[3] ?? 40_000);
crr(5_000); // warm-up: let V8 tier the engine up
const rows = [
  { what: `crr, ${nCrr} connections, 64 in flight`, usPerConnection: crr(nCrr) },
  { what: `close ${nClose} connections on one server port`, usPerConnection: closeMany(nClose) },
];
console.table(rows.map((r) => ({ ...r, usPerConnection: r.usPerConnection.toFixed(1) })));
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'engine-conns.json'),
  JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2),
);
console.log(`wrote ${join(out, 'engine-conns.json')}`);
