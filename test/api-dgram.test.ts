/**
 * @mcstack/api's node:dgram counterpart over real threads: two stacks A (10.0.0.1,
 * fd00::1) and B (10.0.0.2, fd00::2), two group workers each, joined in memory. Each
 * behaviour runs against node:dgram on the loopback too, in the same test, so a
 * difference between the two shows.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeDgram from 'node:dgram';
import { once } from 'node:events';
import { Stack } from '@mcstack/runtime';
import { mcdgram, mcnet, withNet, type McDgram } from '@mcstack/api';
import { bounded as boundedBy } from './support/bounded.js';
import { xorshift32 } from './support/toe.js';

const SEED = Number(process.env.SEED ?? 0x5eed);
const bounded = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => boundedBy(p, ms, what, SEED);

let A: Stack;
let B: Stack;
let dA: McDgram;
let dB: McDgram;

/** One side of a case: a dgram module and the addresses its two ends use. */
interface Side {
  name: string;
  client: Pick<typeof nodeDgram, 'createSocket'>;
  server: Pick<typeof nodeDgram, 'createSocket'>;
  v4: string;
  v6: string;
}
let sides: Side[];

before(async () => {
  A = Stack.create(
    withNet({ name: 'A', workers: 2, mac: '02:00:00:00:00:0a', addrs: ['10.0.0.1/24', 'fd00::1/64'], seed: SEED }),
  );
  B = Stack.create(
    withNet({ name: 'B', workers: 2, mac: '02:00:00:00:00:0b', addrs: ['10.0.0.2/24', 'fd00::2/64'], seed: SEED + 1 }),
  );
  Stack.join(A, B);
  await bounded(Promise.all([B.start(), A.start()]), 20000, 'stack start');
  dA = mcdgram(A);
  dB = mcdgram(B);
  sides = [
    { name: 'node:dgram', client: nodeDgram, server: nodeDgram, v4: '127.0.0.1', v6: '::1' },
    {
      name: 'mcdgram',
      client: dA as unknown as typeof nodeDgram,
      server: dB as unknown as typeof nodeDgram,
      v4: '10.0.0.2',
      v6: 'fd00::2',
    },
  ];
});

after(async () => {
  mcnet(A)?.close();
  mcnet(B)?.close();
  await Promise.all([A?.stop(), B?.stop()]);
});

/** Sizes 1..8000 (seeded), under FreeBSD's net.inet.udp.maxdgram (9216). */
function sizes(n: number): number[] {
  let x = SEED >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = xorshift32(x);
    out.push(2 + (x % 8000));
  }
  return out;
}

for (const family of [4, 6] as const) {
  test(`IPv${family}: echo of 200 datagrams, every one back intact and in order`, { timeout: 60000 }, async () => {
    for (const side of sides) {
      const type = family === 4 ? 'udp4' : 'udp6';
      const server = side.server.createSocket(type);
      server.on('message', (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address));
      await new Promise<void>((r) => server.bind(0, r));
      const port = server.address().port;
      assert.ok(port > 0, side.name);

      const client = side.client.createSocket(type);
      const addr = family === 4 ? side.v4 : side.v6;
      // Address resolution first: while a neighbour is unresolved, nd6 keeps only a few
      // packets (nd6_maxqueuelen), so a burst of fragments may be dropped, as a kernel's is.
      for (let k = 0; ; k++) {
        const echoed = once(client, 'message');
        client.send('warm-up', port, addr);
        const r = await Promise.race([echoed, new Promise((t) => setTimeout(t, 200, null))]);
        if (r !== null) break;
        assert.ok(k < 20, `${side.name}: no warm-up echo`);
      }
      const want = sizes(200);
      const got: Buffer[] = [];
      const done = new Promise<void>((r) => {
        client.on('message', (msg, rinfo) => {
          if (msg.length === 7 && msg.toString() === 'warm-up') return; // a late warm-up echo
          assert.equal(rinfo.port, port, side.name);
          assert.equal(rinfo.family, family === 4 ? 'IPv4' : 'IPv6', side.name);
          assert.equal(rinfo.size, msg.length, side.name);
          got.push(msg);
          if (got.length === want.length) r();
        });
      });
      // At most 4 datagrams (32 KB) in flight: UDP has no flow control, and FreeBSD's
      // receive buffer (net.inet.udp.recvspace, 41,984 bytes) drops what does not fit.
      for (let i = 0; i < want.length; i++) {
        const b = Buffer.alloc(want[i]!, i & 0xff);
        b.writeUInt16BE(i, 0);
        await new Promise<void>((r, j) => client.send(b, port, addr, (e) => (e ? j(e) : r())));
        while (got.length < i - 4) await new Promise((r) => setTimeout(r, 1));
      }
      await bounded(done, 20000, `${side.name} echo (got ${got.length})`);
      for (let i = 0; i < want.length; i++) {
        assert.equal(got[i]!.length, want[i], `${side.name} #${i}`);
        assert.equal(got[i]!.readUInt16BE(0), i, `${side.name}: datagram ${i} out of order`);
      }
      await new Promise<void>((r) => client.close(r));
      await new Promise<void>((r) => server.close(r));
    }
  });
}

test('connect: send without an address goes to the peer; only its datagrams arrive; disconnect', async () => {
  for (const side of sides) {
    const server = side.server.createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, r));
    const port = server.address().port;
    const other = side.server.createSocket('udp4');
    await new Promise<void>((r) => other.bind(0, r));
    const client = side.client.createSocket('udp4');
    await new Promise<void>((r) => client.connect(port, side.v4, r));
    assert.deepEqual(client.remoteAddress(), { address: side.v4, family: 'IPv4', port }, side.name);
    const first = once(server, 'message');
    client.send('to the peer');
    const [msg, rinfo] = (await bounded(first, 5000, `${side.name} connected send`)) as [Buffer, nodeDgram.RemoteInfo];
    assert.equal(msg.toString(), 'to the peer');
    // A stranger's datagram is not delivered to a connected socket; the peer's is.
    const seen: string[] = [];
    client.on('message', (m) => seen.push(m.toString()));
    other.send('stranger', rinfo.port, side.v4 === '127.0.0.1' ? '127.0.0.1' : '10.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    server.send('peer', rinfo.port, rinfo.address);
    const until = Date.now() + 5000;
    while (!seen.includes('peer') && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(seen, ['peer'], side.name);
    assert.throws(
      () => client.send('x', port, side.v4, () => {}),
      { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' },
      side.name,
    );
    client.disconnect();
    assert.throws(() => client.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' }, side.name);
    assert.throws(() => client.send('x'), { code: 'ERR_SOCKET_BAD_PORT' }, side.name);
    for (const s of [client, server, other]) await new Promise<void>((r) => s.close(r));
  }
});

test("errors as node:dgram's: EADDRINUSE, bad port, not running, closed twice", async () => {
  for (const side of sides) {
    const a = side.server.createSocket('udp4');
    await new Promise<void>((r) => a.bind(0, r));
    const port = a.address().port;
    const b = side.server.createSocket('udp4');
    b.bind(port);
    const [err] = (await bounded(once(b, 'error'), 5000, `${side.name} EADDRINUSE`)) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'EADDRINUSE', side.name);
    assert.equal(err.syscall, 'bind', side.name);
    assert.match(err.message, /^bind EADDRINUSE/, side.name);
    assert.throws(
      () => a.send('x', 70000, side.v4),
      { code: 'ERR_SOCKET_BAD_PORT', message: 'Port should be > 0 and < 65536. Received type number (70000).' },
      side.name,
    );
    assert.throws(() => side.client.createSocket('udp5' as 'udp4'), { code: 'ERR_SOCKET_BAD_TYPE' }, side.name);
    await new Promise<void>((r) => a.close(r));
    assert.throws(() => a.close(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }, side.name);
    // The port is free again once its socket closed.
    const c = side.server.createSocket('udp4');
    await bounded(new Promise<void>((r) => c.bind(port, r)), 5000, `${side.name} rebind`);
    await new Promise<void>((r) => c.close(r));
    b.close();
  }
});

test("mcdgram: FreeBSD's limits and what the engine lacks are refused, not pretended", async () => {
  const s = dA.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, r));
  // net.inet.udp.maxdgram (9216): a larger datagram fails with EMSGSIZE.
  const err = await new Promise<Error | null>((r) => s.send(Buffer.alloc(10000), 9, '10.0.0.2', r));
  assert.equal((err as NodeJS.ErrnoException | null)?.code, 'EMSGSIZE');
  // Broadcast needs SO_BROADCAST (udp_output: EACCES), as on FreeBSD.
  const bc = await new Promise<Error | null>((r) => s.send('b', 9, '10.0.0.255', r));
  assert.equal((bc as NodeJS.ErrnoException | null)?.code, 'EACCES');
  s.setBroadcast(true);
  assert.equal(await new Promise<Error | null>((r) => s.send('b', 9, '10.0.0.255', r)), null);
  assert.throws(() => s.addMembership('239.1.1.1'), { code: 'EOPNOTSUPP' });
  assert.equal(s.setTTL(7), 7);
  // The buffer sizes are the engine socket's (net.inet.udp.recvspace, maxdgram) until set.
  assert.equal(s.getRecvBufferSize(), 40 * (1024 + 28));
  assert.equal(s.getSendBufferSize(), 9216);
  // createSocket's sizes apply at the bind; a send before the bind waits in the queue.
  const sized = dA.createSocket({ type: 'udp4', recvBufferSize: 65536, sendBufferSize: 8192 });
  sized.send('queued', 9, '10.0.0.2');
  assert.equal(sized.getSendQueueCount(), 1);
  assert.equal(sized.getSendQueueSize(), 6);
  await once(sized, 'listening');
  assert.equal(sized.getSendQueueCount(), 0);
  assert.equal(sized.getRecvBufferSize(), 65536);
  assert.equal(sized.getSendBufferSize(), 8192);
  assert.throws(() => dA.createSocket({ type: 'udp4', recvBufferSize: 0 }), { code: 'ERR_SOCKET_BUFFER_SIZE' });
  await new Promise<void>((r) => sized.close(r));
  assert.throws(() => s.setTTL(0), { code: 'EINVAL' });
  await new Promise<void>((r) => s.close(r));
  assert.equal(dA.sockets, 0);
});
