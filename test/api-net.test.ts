/**
 * @mcstack/api over real threads: two stacks A (10.0.0.1) and B (10.0.0.2), two group
 * workers each, joined by the in-memory multi-queue link. The main thread of this test
 * uses them only through the node:net-like API (mcnet), the way Node code uses node:net.
 *
 * - echo: a server on B pipes each socket to itself; a client on A writes 1 MiB in
 *   random-size writes (seeded) and gets the same bytes back (sha256).
 * - http: node's http.Server fed by the mcstack server's 'connection' event answers a
 *   request http.request makes over an mcstack Socket (createConnection).
 * - ECONNREFUSED to a port nobody listens on; EADDRINUSE on a second listen.
 * - closed servers leave no listen reservation behind in the coordinator.
 * - connects from chosen local ports (localPort) land on the worker RSS picks for them.
 * - ECONNRESET: the B worker holding a connection panics (debug.kdb.panic); B's
 *   main-thread socket of that worker is reset, and A's socket gets the peer's RST.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { once } from 'node:events';
import { Stack } from '@mcstack/runtime';
import { mcnet, withNet, type McNet, type Socket } from '@mcstack/api';
import { bounded as boundedBy } from './support/bounded.js';
import { closeStacks } from './support/teardown.js';

const SEED = Number(process.env.SEED ?? 0x5eed);
const bounded = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => boundedBy(p, ms, what, SEED);

/** xorshift32: deterministic sizes and bytes. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

let A: Stack;
let B: Stack;
let netA: McNet;
let netB: McNet;

before(async () => {
  A = Stack.create(withNet({ name: 'A', workers: 2, mac: '02:00:00:00:00:0a', addrs: ['10.0.0.1/24'], seed: SEED }));
  B = Stack.create(
    withNet({ name: 'B', workers: 2, mac: '02:00:00:00:00:0b', addrs: ['10.0.0.2/24'], seed: SEED + 1 }),
  );
  Stack.join(A, B);
  await bounded(Promise.all([B.start(), A.start()]), 20000, 'stack start');
  netA = mcnet(A);
  netB = mcnet(B);
});

after(() => closeStacks([netA, netB], [A, B]));

test('echo: 1 MiB in random-size writes comes back byte-exact', { timeout: 60000 }, async () => {
  const server = netB.createServer((s) => s.pipe(s));
  server.listen(7);
  await bounded(once(server, 'listening'), 10000, 'listen');
  assert.equal(server.address()?.port, 7);

  const next = rng(SEED);
  const total = 1 << 20;
  const data = Buffer.allocUnsafe(total);
  for (let i = 0; i < total; i++) data[i] = next() & 0xff;

  const c = netA.connect(7, '10.0.0.2');
  await bounded(once(c, 'connect'), 10000, 'connect');
  assert.equal(c.remoteAddress, '10.0.0.2');
  assert.equal(c.remotePort, 7);
  assert.equal(c.localAddress, '10.0.0.1');
  assert.ok(c.localPort! > 0);

  const got = createHash('sha256');
  let received = 0;
  c.on('data', (b: Buffer) => {
    got.update(b);
    received += b.length;
  });
  const ended = once(c, 'end');
  const closed = once(c, 'close');

  let off = 0;
  while (off < total) {
    const n = Math.min(total - off, 1 + (next() % 65536));
    if (!c.write(data.subarray(off, off + n))) await once(c, 'drain');
    off += n;
  }
  c.end();
  await bounded(ended, 40000, `echo of ${total} bytes (got ${received})`);
  assert.equal(received, total);
  assert.equal(got.digest('hex'), createHash('sha256').update(data).digest('hex'));
  assert.equal(c.bytesWritten, total);
  assert.equal(c.bytesRead, total);
  await bounded(closed, 10000, 'close');
  server.close();
  await bounded(once(server, 'close'), 10000, 'server close');
});

test('http.Server fed by the mcstack server answers http.request over an mcstack Socket', {
  timeout: 30000,
}, async () => {
  const httpServer = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url} ${body} from ${req.socket.remoteAddress}`);
    });
  });
  const server = netB.createServer();
  server.on('connection', (s: Socket) => httpServer.emit('connection', s));
  server.listen(80);
  await bounded(once(server, 'listening'), 10000, 'listen');

  let client: Socket | undefined;
  const res = await bounded(
    new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
      const req = http.request(
        {
          // No agent: with createConnection given, http uses it (agent: false would make a real Agent).
          method: 'POST',
          host: '10.0.0.2',
          port: 80,
          path: '/hello',
          createConnection: () => (client = netA.connect(80, '10.0.0.2')) as never,
        },
        (r) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (d: string) => {
            body += d;
          });
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body, type: String(r.headers['content-type']) }));
        },
      );
      req.on('error', reject);
      req.end('ping');
    }),
    20000,
    'http request',
  );
  assert.equal(res.status, 200);
  assert.equal(res.type, 'text/plain');
  assert.equal(res.body, 'POST /hello ping from 10.0.0.1');
  assert.ok(client !== undefined && client.bytesRead > 0);
  client.destroy();
  httpServer.closeAllConnections();
  server.close();
  httpServer.close();
});

test('connect to a port nobody listens on: ECONNREFUSED', { timeout: 20000 }, async () => {
  const c = netA.connect({ port: 9999, host: '10.0.0.2' });
  const [err] = (await bounded(once(c, 'error'), 10000, 'refused')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(err.syscall, 'connect');
  assert.equal((err as { address?: string }).address, '10.0.0.2');
  assert.equal((err as { port?: number }).port, 9999);
  assert.equal(c.destroyed, true);
});

test('a second listen on the same port: EADDRINUSE; port 0 picks one port for every group', {
  timeout: 20000,
}, async () => {
  const s1 = netB.createServer().listen(8080);
  await bounded(once(s1, 'listening'), 10000, 'listen 1');
  const s2 = netB.createServer().listen(8080);
  const [err] = (await bounded(once(s2, 'error'), 10000, 'listen 2')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'EADDRINUSE');
  assert.equal(s2.listening, false);
  s1.close();
  await once(s1, 'close');

  const s3 = netB.createServer((s) => {
    s.resume();
    s.end('hi');
  });
  s3.listen(0);
  await bounded(once(s3, 'listening'), 10000, 'listen 0');
  const port = s3.address()!.port;
  assert.ok(port > 0);
  // Several connections: whichever group RSS picks has the listener on that port.
  for (let k = 0; k < 4; k++) {
    const c = netA.connect(port, '10.0.0.2');
    let s = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      s += d;
    });
    await bounded(once(c, 'end'), 10000, `connection ${k}`);
    assert.equal(s, 'hi');
  }
  s3.close();
});

test("closed servers free their ports: the coordinator's listen reservations go with the last group's listener", {
  timeout: 30000,
}, async () => {
  const listensOn = (port: number): number =>
    [...B.reservations.entries()].filter((r) => r.kind === 'listen' && r.lport === port).length;
  const ports: number[] = [];
  for (let k = 0; k < 5; k++) {
    const srv = netB.createServer();
    srv.listen(0);
    await bounded(once(srv, 'listening'), 10000, `listen ${k}`);
    const port = srv.address()!.port;
    assert.equal(listensOn(port), 1);
    ports.push(port);
    await bounded(new Promise<void>((r) => srv.close(() => r())), 10000, `close ${k}`);
  }
  // The groups tell the coordinator after they confirmed the close: wait for the last word.
  await bounded(
    (async () => {
      while (ports.some((p) => listensOn(p) !== 0)) await new Promise((r) => setTimeout(r, 10));
    })(),
    10000,
    'listen reservations released',
  );
});

test('connects from chosen local ports: each is opened on the worker its return 4-tuple hashes to', {
  timeout: 30000,
}, async () => {
  const srv = netB.createServer((s) => {
    s.resume();
    s.end('hi');
  });
  srv.listen(0);
  await bounded(once(srv, 'listening'), 10000, 'listen');
  const port = srv.address()!.port;
  // Three local ports whose return 4-tuples hash to each worker.
  const home = (lp: number): number => A.tupleWorker({ laddr: '10.0.0.1', lport: lp, faddr: '10.0.0.2', fport: port });
  const ports: number[] = [];
  for (const w of [0, 1]) {
    let n = 0;
    for (let lp = 41001; n < 3 && lp < 65536; lp += 7) {
      if (home(lp) === w && !ports.includes(lp)) {
        ports.push(lp);
        n++;
      }
    }
  }
  assert.equal(ports.length, 6);
  const workers = new Set<number>();
  for (const lp of ports) {
    const c = netA.connect({ port, host: '10.0.0.2', localPort: lp });
    let got = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      got += d;
    });
    await bounded(once(c, 'connect'), 10000, `connect from ${lp}`);
    assert.equal(c.localPort, lp);
    // The SYN-ACK reaches the worker RSS picks for the return tuple: the connection must live there.
    assert.equal(c.worker, home(lp));
    workers.add(c.worker);
    await bounded(once(c, 'end'), 10000, `answer to ${lp}`);
    assert.equal(got, 'hi');
  }
  assert.equal(workers.size, 2);
  srv.close();
});

test('the worker holding a connection dies: its main-thread socket and the peer get ECONNRESET', {
  timeout: 30000,
}, async () => {
  const server = netB.createServer();
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  server.listen(9000);
  await bounded(once(server, 'listening'), 10000, 'listen');
  const c = netA.connect(9000, '10.0.0.2');
  await bounded(once(c, 'connect'), 10000, 'connect');
  const [s] = await bounded(accepted, 10000, 'accept');
  const w = s.worker;
  assert.ok(w >= 0 && w < B.workers);

  const workerError = once(B, 'worker-error') as Promise<[Error & { code: string; worker: number }]>;
  const sErr = once(s, 'error') as Promise<[NodeJS.ErrnoException]>;
  await B.control(w).sysctlSet('debug.kdb.panic', 1);
  const [we] = await bounded(workerError, 10000, 'worker-error');
  assert.equal(we.worker, w);
  assert.equal(we.code, 'MCSTACK_PANIC');
  const [e1] = await bounded(sErr, 10000, 'B socket reset');
  assert.equal(e1.code, 'ECONNRESET');

  // A's next segment lands in a live B group with no pcb: RST (tcp_dropwithreset).
  const cErr = once(c, 'error') as Promise<[NodeJS.ErrnoException]>;
  c.write('after the crash');
  const [e2] = await bounded(cErr, 10000, 'A socket reset');
  assert.equal(e2.code, 'ECONNRESET');
  server.close();
});
