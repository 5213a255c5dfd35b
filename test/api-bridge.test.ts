/**
 * The socket bridge without threads: the worker half (SockApp) runs on this thread over
 * two engines joined by a frame queue, with a stand-in for the runtime's AppContext, and
 * the main half (McNet) attaches to the same rings. This isolates the record protocol
 * and its flow control from the runtime: backpressure both ways (a reader that stops
 * reading makes the writer's write() return false, and nothing is lost when it resumes),
 * ECONNREFUSED, and the reset of every socket of a worker reported dead.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createHash } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { Engine } from '@mcstack/netinet';
import { ERRNO, SysError } from '@mcstack/netinet';
import type { AppContext, GroupApp } from '@mcstack/runtime';
import { SOCKAPP_MODULE } from '@mcstack/runtime/sockrec';
import { sockAppSpec, McNet, type NetHost, type Socket } from '@mcstack/api';
import { bounded as boundedBy } from './support/bounded.js';

const SEED = Number(process.env.SEED ?? 7);
const bounded = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => boundedBy(p, ms, what, SEED);

interface Host {
  /** Calls of the main half's wake-up for this worker (the runtime's rings a doorbell). */
  rings: { n: number };
  engine: Engine;
  app: GroupApp;
  host: NetHost & EventEmitter;
  net: McNet;
  ifname: string;
}

// The worker half, loaded from its module as a group worker loads it.
const { createApp } = (await import(SOCKAPP_MODULE)) as { createApp: (o: Record<string, unknown>) => GroupApp };

const queue: { to: Host; frame: Uint8Array }[] = [];
const hosts: Host[] = [];

function makeHost(addr: string, mac: number, seed: number): Host {
  const spec = sockAppSpec(1);
  const h = {} as Host;
  const watchers = new Map<number, (fd: number, events: number) => void>();
  const engine = new Engine({
    upcall: (fd, ev) => watchers.get(fd)?.(fd, ev),
    seed,
    output: (_ifp, frame) => {
      for (const o of hosts) if (o !== h) queue.push({ to: o, frame: frame.slice() });
    },
  });
  const ifp = engine.ifattach({ name: 'em0', type: 'ether', lladdr: Uint8Array.of(2, 0, 0, 0, 0, mac), mtu: 1500 });
  engine.addAddr(ifp, `${addr}/24`);
  engine.setUp(ifp);
  const ctx: AppContext = {
    engine,
    worker: 0,
    workers: 1,
    options: spec.options,
    port: undefined,
    addrs: [addr],
    // One group: the port is the stack's at once (no coordinator to share it with).
    udpReserve: async (_family, port) => port,
    udpRelease: async () => {},
    connect: async (a, p) => {
      const fd = engine.socket('inet', 'stream');
      const r = engine.connect(fd, { addr: a, port: p });
      if (r === 0 || r === -ERRNO.EINPROGRESS) return fd;
      engine.close(fd);
      return r;
    },
    listen: async (port, backlog) => {
      const fd = engine.socket('inet', 'stream');
      let r = engine.bind(fd, { addr: '0.0.0.0', port });
      if (r === 0) r = engine.listen(fd, backlog ?? 128);
      if (r < 0) {
        engine.close(fd);
        throw SysError.fromErrno(r, 'listen');
      }
      return [fd];
    },
    unlisten: () => {}, // no coordinator here: the engine's own bind check is the reservation
    watch: (fd, handler) => {
      if (handler) watchers.set(fd, handler);
      else watchers.delete(fd);
    },
  };
  const app = createApp(spec.options);
  app.start(ctx);
  const rings = { n: 0 };
  const host = Object.assign(new EventEmitter(), {
    workers: 1,
    options: { apps: [spec] },
    bells: [
      {
        ring() {
          rings.n++;
        },
      },
    ],
  }) as unknown as NetHost & EventEmitter;
  Object.assign(h, { rings, engine, app, host, net: new McNet(host), ifname: 'em0' });
  hosts.push(h);
  return h;
}

const A = makeHost('10.0.0.1', 0x0a, SEED);
const B = makeHost('10.0.0.2', 0x0b, SEED + 1);

// The "workers": one loop turn per event-loop turn, as a group worker's loop would run.
let running = true;
function turn(): void {
  if (!running) return;
  const now = performance.now() * 1000;
  for (const q of queue.splice(0)) q.to.engine.input(q.to.ifname, q.frame, now);
  for (const h of hosts) {
    h.app.poll(now);
    if (h.engine.nextTimeout() <= now) h.engine.advance(now);
  }
  setImmediate(turn);
}
setImmediate(turn);

after(() => {
  running = false;
  for (const h of hosts) {
    h.net.close();
    h.app.stop();
  }
});

/** Whether `ev` fires on `em` within `ms` (a quiescence probe, not a timing assertion). */
async function firesWithin(em: EventEmitter, ev: string, ms: number): Promise<boolean> {
  let t!: NodeJS.Timeout;
  const r = await Promise.race([
    once(em, ev).then(() => true),
    new Promise<boolean>((res) => {
      t = setTimeout(() => res(false), ms);
    }),
  ]);
  clearTimeout(t);
  return r;
}

test('a reader that stops reading pushes back to the writer; nothing is lost when it resumes', {
  timeout: 30000,
}, async (t) => {
  const srv = B.net.createServer({ pauseOnConnect: true });
  const accepted = once(srv, 'connection') as Promise<[Socket]>;
  srv.listen(5001);
  await bounded(once(srv, 'listening'), 5000, 'listen');

  const total = 8 << 20;
  const data = Buffer.alloc(total);
  let x = SEED;
  for (let i = 0; i < total; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }

  const c = A.net.connect(5001, '10.0.0.2');
  t.after(() => {
    c.destroy();
    srv.close();
  });
  await bounded(once(c, 'connect'), 5000, 'connect');
  const [server] = await bounded(accepted, 5000, 'accept');
  let off = 0;
  const writeSome = (): void => {
    while (off < total) {
      const n = Math.min(total - off, 32768);
      const ok = c.write(data.subarray(off, off + n));
      off += n;
      if (!ok) return;
    }
  };
  // The reader is paused: its stream buffer, the worker's PAUSE, the engines' buffers and
  // the in-flight window are all finite, so the writer must stop draining well before 8 MiB.
  let stalled = false;
  while (off < total) {
    writeSome();
    if (off >= total) break;
    if (!(await firesWithin(c, 'drain', 500))) {
      stalled = true;
      break;
    }
  }
  assert.ok(stalled, `the writer never stalled (${off} bytes accepted)`);
  assert.ok(off < total);
  assert.ok(c.writableLength > 0);
  assert.ok(
    server.readableLength <= server.readableHighWaterMark + 16 * 16384,
    `reader buffered ${server.readableLength}`,
  );

  // Now read everything, and write the rest as the stream drains.
  const got = createHash('sha256');
  let received = 0;
  server.on('data', (b: Buffer) => {
    got.update(b);
    received += b.length;
  });
  const ended = once(server, 'end');
  server.resume();
  while (off < total) {
    await bounded(once(c, 'drain'), 10000, `drain at ${off}`);
    writeSome();
  }
  c.end();
  await bounded(ended, 20000, `end (got ${received})`);
  assert.equal(received, total);
  assert.equal(got.digest('hex'), createHash('sha256').update(data).digest('hex'));
  assert.equal(server.bytesRead, total);
  srv.close();
  await bounded(once(srv, 'close'), 5000, 'server close');
});

test('request/response: one record up per response and one wake-up per request, not one more each for the bytes the engine took', {
  timeout: 30000,
}, async (t) => {
  const srv = B.net.createServer((s) => s.on('data', (d: Buffer) => s.write(d)));
  srv.listen(5003);
  await bounded(once(srv, 'listening'), 5000, 'listen');
  const c = A.net.connect(5003, '10.0.0.2');
  t.after(() => {
    c.destroy();
    srv.close();
  });
  await bounded(once(c, 'connect'), 5000, 'connect');
  const ch = A.net._channels()[0]!;
  const records0 = ch.records;
  const rings0 = A.rings.n;
  const N = 200;
  for (let i = 0; i < N; i++) {
    c.write(Buffer.of(i));
    const [d] = (await bounded(once(c, 'data'), 5000, `response ${i}`)) as [Buffer];
    assert.deepEqual([...d], [i]);
  }
  // OP_WRITTEN comes every WRITTEN_REPORT_BYTES (sockrec.ts), and a drain of the up ring
  // wakes the worker only when it found that ring full: per request, one record each way.
  const records = ch.records - records0;
  const rings = A.rings.n - rings0;
  assert.ok(records <= N + 2, `${records} records up for ${N} responses`);
  assert.ok(rings <= N + 2, `${rings} wake-ups for ${N} requests`);
});

test('ECONNREFUSED through the bridge', { timeout: 10000 }, async () => {
  const c = A.net.connect(4444, '10.0.0.2');
  const [err] = (await bounded(once(c, 'error'), 5000, 'refused')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  // Node's errno (the host's, negative), with the engine's FreeBSD number kept aside.
  assert.equal(err.errno, -osConstants.errno.ECONNREFUSED);
  assert.equal((err as { bsdErrno?: number }).bsdErrno, ERRNO.ECONNREFUSED);
});

test('a worker reported dead resets its main-thread sockets (ECONNRESET), the rest of the API keeps its state', {
  timeout: 10000,
}, async () => {
  const srv = B.net.createServer();
  const accepted = once(srv, 'connection') as Promise<[Socket]>;
  srv.listen(5002);
  await bounded(once(srv, 'listening'), 5000, 'listen');
  const c = A.net.connect(5002, '10.0.0.2');
  await bounded(once(c, 'connect'), 5000, 'connect');
  const [s] = await bounded(accepted, 5000, 'accept');
  const closed = new Promise((r) => c.once('close', r)); // (events.once would reject on 'error')
  const err = once(c, 'error') as Promise<[NodeJS.ErrnoException]>;
  const e = Object.assign(new Error('worker 0 died'), { code: 'MCSTACK_PANIC', worker: 0 });
  A.host.emit('worker-error', e);
  const [ce] = await bounded(err, 5000, 'reset');
  assert.equal(ce.code, 'ECONNRESET');
  assert.equal(ce.syscall, 'read');
  await closed;
  // A has no live worker now: a new connect fails at once instead of hanging.
  const c2 = A.net.connect(5002, '10.0.0.2');
  const [e2] = (await bounded(once(c2, 'error'), 5000, 'no worker')) as [NodeJS.ErrnoException];
  assert.equal(e2.code, 'ENETDOWN');
  s.destroy();
  srv.close();
});

test("a server closing while its worker dies still gets 'close' (a dead worker confirms nothing)", {
  timeout: 10000,
}, async () => {
  const srv = A.net.createServer();
  // A's only worker died in the test before: listening fails, and close() has nothing to wait for.
  srv.listen(5003);
  const [e] = (await bounded(once(srv, 'error'), 5000, 'listen on a dead stack')) as [NodeJS.ErrnoException];
  assert.equal(e.code, 'ENETDOWN');
  // B is alive: its worker is told to unlisten and dies before it can confirm.
  const s2 = B.net.createServer().listen(5004);
  await bounded(once(s2, 'listening'), 5000, 'listen');
  const closed = new Promise<void>((r) => s2.close(() => r()));
  B.host.emit('worker-error', Object.assign(new Error('worker 0 died'), { code: 'MCSTACK_PANIC', worker: 0 }));
  await bounded(closed, 5000, 'close on a dying worker');
});
