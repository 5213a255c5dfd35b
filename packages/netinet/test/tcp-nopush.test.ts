/**
 * What a server uses against the Nagle/delayed-ACK stall, on the virtual clock: writev
 * (one send for header and body), TCP_NOPUSH as FreeBSD's tcp_output.c and tcp_usrreq.c
 * have it (short segments held until a full one can go or the option is cleared, clearing
 * it calls tcp_output) and TCP_NODELAY.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePair, type Pair } from './tcp-harness.js';
import { ERRNO } from '../src/kern/errno.js';
import { IPPROTO_TCP } from '../src/netinet/in.js';
import { TCP_NODELAY, TCP_NOPUSH } from '../src/tcp/usrreq.js';

interface Conn {
  p: Pair;
  /** Client fd on a, server fd on b. */
  c: number;
  s: number;
  /** Payload lengths of the data segments b sent, in order, and when. */
  segs: { len: number; at: number }[];
}

/** An established connection 10.0.0.1 → 10.0.0.2:80 whose server side's segments are logged. */
function connected(): Conn {
  const p = makePair();
  const segs: { len: number; at: number }[] = [];
  p.drop = (from, frame) => {
    if (from !== 'b') return false;
    const ihl = (frame[0]! & 0x0f) * 4;
    const total = (frame[2]! << 8) | frame[3]!;
    const len = total - ihl - (frame[ihl + 12]! >> 4) * 4;
    if (len > 0) segs.push({ len, at: p.now });
    return false;
  };
  const l = p.b.socket('inet', 'stream');
  p.b.bind(l, { addr: '0.0.0.0', port: 80 });
  p.b.listen(l, 5);
  const c = p.a.socket('inet', 'stream');
  assert.equal(p.a.connect(c, { addr: '10.0.0.2', port: 80 }), -ERRNO.EINPROGRESS);
  p.run(1_000_000);
  const s = p.b.accept(l);
  assert.ok(s > 0);
  return { p, c, s, segs };
}

const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(0x61);

/** Everything readable on the client now. */
function drain(k: Conn): number {
  const buf = new Uint8Array(1 << 16);
  let n = 0;
  for (;;) {
    const r = k.p.a.recv(k.c, buf);
    if (r <= 0) return n;
    n += r;
  }
}

test('two sends: the second short segment waits under Nagle for the delayed ACK', () => {
  const k = connected();
  const t0 = k.p.now;
  assert.equal(k.p.b.send(k.s, bytes(40)), 40);
  assert.equal(k.p.b.send(k.s, bytes(100)), 100);
  k.p.run(t0 + 1_000_000);
  assert.deepEqual(
    k.segs.map((s) => s.len),
    [40, 100],
  );
  // The peer's delayed ACK (net.inet.tcp.delacktime, 40 ms) released the second.
  assert.ok(k.segs[1]!.at - t0 >= 40_000, `second segment at +${k.segs[1]!.at - t0} µs`);
});

test('sendv: header and body leave in one segment when they fit', () => {
  const k = connected();
  const t0 = k.p.now;
  assert.equal(k.p.b.sendv(k.s, [bytes(40), bytes(100), bytes(9)], [40, 100, 0]), 140);
  k.p.run(t0 + 1_000);
  assert.deepEqual(
    k.segs.map((s) => s.len),
    [140],
  );
  assert.equal(drain(k), 140);
  // Once that is acknowledged (idle again), a larger write goes out as full segments
  // and the tail at once.
  k.p.run(k.p.now + 100_000);
  k.segs.length = 0;
  const t1 = k.p.now;
  assert.equal(k.p.b.sendv(k.s, [bytes(40), bytes(4000)]), 4040);
  k.p.run(t1 + 1_000);
  assert.deepEqual(
    k.segs.map((s) => s.len),
    [1448, 1448, 1144],
  );
  assert.equal(drain(k), 4040);
});

test('sendv takes what fits and reports it; bad descriptors are errors', () => {
  const k = connected();
  const big = bytes(1 << 20);
  const r = k.p.b.sendv(k.s, [bytes(10), big, big]);
  assert.ok(r > 10 && r < 10 + 2 * big.length, `took ${r}`);
  assert.equal(k.p.b.sendv(99, [bytes(1)]), -ERRNO.EBADF);
  assert.equal(k.p.b.sendv(k.s, []), 0);
  assert.equal(k.p.b.sendv(k.s, [bytes(4)], [5]), -ERRNO.EFAULT);
  assert.equal(k.p.b.sendv(k.s, [bytes(4)], [-1]), -ERRNO.EFAULT);
  assert.equal(k.p.b.sendv(k.s, [bytes(4)], [1.5]), -ERRNO.EFAULT);
  const u = k.p.b.socket('inet', 'dgram');
  assert.equal(k.p.b.sendv(u, [bytes(1)]), -ERRNO.EOPNOTSUPP);
});

test('TCP_NODELAY: the second short segment goes at once', () => {
  const k = connected();
  assert.equal(k.p.b.setsockopt(k.s, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  assert.equal(k.p.b.getsockopt(k.s, IPPROTO_TCP, TCP_NODELAY), 1);
  const t0 = k.p.now;
  k.p.b.send(k.s, bytes(40));
  k.p.b.send(k.s, bytes(100));
  k.p.run(t0 + 1_000);
  assert.deepEqual(
    k.segs.map((s) => s.len),
    [40, 100],
  );
  assert.ok(k.segs[1]!.at - t0 < 1_000);
});

test('TCP_NOPUSH holds short segments until a full one can go or the option is cleared', () => {
  const k = connected();
  const { p, s } = k;
  assert.equal(p.b.setsockopt(s, IPPROTO_TCP, TCP_NOPUSH, 1), 0);
  assert.equal(p.b.getsockopt(s, IPPROTO_TCP, TCP_NOPUSH), 1);
  // Idle connection, a short write: held (Nagle alone would send it).
  p.b.send(s, bytes(100));
  p.run(p.now + 1_000_000);
  assert.equal(k.segs.length, 0);
  assert.equal(drain(k), 0);
  // Enough for two full segments: those go, the 204-byte tail stays held, even once
  // everything sent is acknowledged and the connection is idle again.
  p.b.send(s, bytes(3000));
  p.run(p.now + 1_000_000);
  assert.deepEqual(
    k.segs.map((x) => x.len),
    [1448, 1448],
  );
  assert.equal(drain(k), 2896);
  // Setting it again changes nothing; clearing it pushes the tail out at once.
  assert.equal(p.b.setsockopt(s, IPPROTO_TCP, TCP_NOPUSH, 1), 0);
  assert.equal(k.segs.length, 2);
  const t0 = p.now;
  assert.equal(p.b.setsockopt(s, IPPROTO_TCP, TCP_NOPUSH, 0), 0);
  assert.equal(k.segs.length, 3);
  assert.equal(k.segs[2]!.len, 204);
  assert.equal(k.segs[2]!.at, t0);
  p.run(p.now + 1_000);
  assert.equal(drain(k), 204);
  assert.equal(p.b.getsockopt(s, IPPROTO_TCP, TCP_NOPUSH), 0);
});

test('TCP_NOPUSH: the persist timer forces a held tail out, as tcp_output arms it', () => {
  const k = connected();
  const { p, s } = k;
  p.b.setsockopt(s, IPPROTO_TCP, TCP_NOPUSH, 1);
  p.b.send(s, bytes(100));
  p.run(p.now + 1_000_000);
  assert.equal(k.segs.length, 0);
  p.run(p.now + 60_000_000);
  assert.deepEqual(
    k.segs.map((x) => x.len),
    [100],
  );
});

test('TCP_NOPUSH cleared with data in flight: the tail still waits under Nagle unless TCP_NODELAY', () => {
  for (const nodelay of [0, 1]) {
    const k = connected();
    const { p, s } = k;
    p.b.setsockopt(s, IPPROTO_TCP, TCP_NODELAY, nodelay);
    p.b.setsockopt(s, IPPROTO_TCP, TCP_NOPUSH, 1);
    p.b.send(s, bytes(1448 + 50));
    assert.equal(k.segs.length, 1); // the full segment, now in flight
    p.b.setsockopt(s, IPPROTO_TCP, TCP_NOPUSH, 0);
    assert.equal(k.segs.length, nodelay ? 2 : 1);
    p.run(p.now + 1_000_000);
    assert.equal(drain(k), 1498);
  }
});
