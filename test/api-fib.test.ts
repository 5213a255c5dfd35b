/**
 * The node:net-like API's `fib` option (SO_SETFIB) over real threads: stack A has two
 * routing tables (net.fibs=2, a loader tunable); only FIB 1 routes 192.0.2.0/24, through B
 * (10.0.0.2), which holds 192.0.2.1. A connection asked for in FIB 1 reaches B's echo
 * server; the same connect in FIB 0 finds no route; a FIB past net.fibs is EINVAL from the
 * worker, a value that is no FIB number a RangeError at once. The dgram module's `fib`
 * option the same way.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Stack } from '@mcstack/runtime';
import { mcdgram, mcnet, withNet, type McNet, type Socket } from '@mcstack/api';
import { bounded } from './support/bounded.js';
import { closeStacks } from './support/teardown.js';

const SEED = 7;

let A: Stack;
let B: Stack;
let netA: McNet;
let netB: McNet;

before(async () => {
  A = Stack.create(
    withNet({
      name: 'A',
      workers: 1,
      mac: '02:00:00:00:00:0a',
      addrs: ['10.0.0.1/24'],
      tunables: { 'net.fibs': 2 },
      routes: [{ dst: '192.0.2.0/24', gateway: '10.0.0.2', fib: 1 }],
      seed: SEED,
      // In-worker apps: one in FIB 1 (as `mcstack setfib 1 serve` runs them), one in FIB 0.
      apps: [
        {
          name: 'rr-client',
          fib: 1,
          options: { addr: '192.0.2.1', port: 7, connections: 1, transactions: 3, hold: true },
        },
        { name: 'crr-client', options: { addr: '192.0.2.1', port: 7, concurrency: 1, count: 1 } },
      ],
    }),
  );
  B = Stack.create(
    withNet({
      name: 'B',
      workers: 1,
      mac: '02:00:00:00:00:0b',
      addrs: ['10.0.0.2/24', '192.0.2.1/32'],
      seed: SEED + 1,
      apps: [{ name: 'echo', port: 7 }],
    }),
  );
  Stack.join(A, B);
  // B's echo listens before A's apps connect.
  await bounded(B.start(), 20000, 'B start', SEED);
  await bounded(A.start(), 20000, 'A start', SEED);
  netA = mcnet(A);
  netB = mcnet(B);
});

after(() => closeStacks([netA, netB], [A, B]));

/** The error a connect ends with, or 'connected'. */
async function outcome(s: Socket): Promise<string> {
  const r = await bounded(
    new Promise<string>((resolve) => {
      s.once('connect', () => resolve('connected'));
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    }),
    10000,
    'connect',
    SEED,
  );
  s.destroy();
  return r;
}

test('a socket in FIB 1 reaches the network only FIB 1 routes; FIB 0 has no route there', {
  timeout: 30000,
}, async () => {
  const server = netB.createServer((s) => s.pipe(s));
  server.listen(9);
  await bounded(once(server, 'listening'), 10000, 'listen', SEED);
  const s = netA.connect({ host: '192.0.2.1', port: 9, fib: 1 });
  await bounded(once(s, 'connect'), 10000, 'connect in FIB 1', SEED);
  s.write('through fib 1');
  const [echo] = await bounded(once(s, 'data'), 10000, 'echo', SEED);
  assert.equal(String(echo), 'through fib 1');
  s.destroy();
  assert.equal(await outcome(netA.connect({ host: '192.0.2.1', port: 9 })), 'ENETUNREACH');
  server.close();
});

test('fib past net.fibs is EINVAL (connect and listen); no FIB number is ERR_OUT_OF_RANGE', {
  timeout: 30000,
}, async () => {
  assert.equal(await outcome(netA.connect({ host: '10.0.0.2', port: 9, fib: 2 })), 'EINVAL');
  const srv = netA.createServer({ fib: 5 });
  srv.listen(99);
  const [err] = await bounded(once(srv, 'error'), 10000, 'listen error', SEED);
  assert.equal((err as NodeJS.ErrnoException).code, 'EINVAL');
  assert.throws(() => netA.connect({ host: '10.0.0.2', port: 9, fib: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => netA.createServer({ fib: 1.5 }), { code: 'ERR_OUT_OF_RANGE' });
});

test("an in-worker app's fib: its connections route in that FIB", { timeout: 30000 }, async () => {
  const end = Date.now() + 10000;
  let apps = (await A.stats()).apps;
  while (Date.now() < end && ((apps['rr-client']?.held ?? 0) < 1 || (apps['crr-client']?.errors ?? 0) < 1)) {
    await new Promise((r) => setTimeout(r, 50));
    apps = (await A.stats()).apps;
  }
  assert.equal(apps['rr-client']?.transactions, 3, JSON.stringify(apps));
  assert.equal(apps['rr-client']?.errors, 0);
  // The same destination from FIB 0: no route (ENETUNREACH, FreeBSD's 51).
  assert.equal(apps['crr-client']?.errors, 1, JSON.stringify(apps));
  assert.equal(apps['crr-client']?.lastErrno, 51);
});

test('dgram: a socket in FIB 1 reaches 192.0.2.1 through B; in FIB 0 the send finds no route; past net.fibs the bind is EINVAL', async () => {
  const srv = mcdgram(B).createSocket('udp4', (msg, rinfo) => srv.send(msg, rinfo.port, rinfo.address));
  await bounded(new Promise<void>((r) => srv.bind(7070, '192.0.2.1', r)), 10000, 'B bind', SEED);
  const inFib1 = mcdgram(A).createSocket({ type: 'udp4', fib: 1 });
  const echoed = once(inFib1, 'message');
  // The first datagram may wait for nothing: the neighbour is static (Stack.join).
  const sent = await new Promise<Error | null>((r) => inFib1.send('via fib 1', 7070, '192.0.2.1', r));
  assert.equal(sent, null);
  const [msg] = (await bounded(echoed, 10000, 'echo in FIB 1', SEED)) as [Buffer];
  assert.equal(msg.toString(), 'via fib 1');
  const inFib0 = mcdgram(A).createSocket('udp4');
  const err = await new Promise<Error | null>((r) => inFib0.send('via fib 0', 7070, '192.0.2.1', r));
  assert.equal((err as NodeJS.ErrnoException | null)?.code, 'ENETUNREACH');
  const past = mcdgram(A).createSocket({ type: 'udp4', fib: 2 });
  past.bind(0);
  const [bindErr] = (await bounded(once(past, 'error'), 10000, 'bind past net.fibs', SEED)) as [NodeJS.ErrnoException];
  assert.equal(bindErr.code, 'EINVAL');
  assert.throws(() => mcdgram(A).createSocket({ type: 'udp4', fib: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  for (const s of [inFib1, inFib0, srv]) await new Promise<void>((r) => s.close(r));
});
