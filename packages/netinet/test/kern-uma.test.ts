/**
 * The engine's zones (kern/uma.ts): a zone at its limit refuses with FreeBSD's errno and
 * counts the failure (kern.ipc.maxsockets: socket() is ENOBUFS; a listener's new
 * connection is dropped and counted), and once every connection is closed and 2MSL has
 * passed, every zone is back to the use it started with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO } from '../src/kern/errno.js';
import { UMA_SHARED_BYTES } from '../src/kern/uma.js';
import { Engine } from '../src/engine.js';
import { makePair } from './tcp-harness.js';

test('kern.ipc.maxsockets: the socket zone at its limit gives ENOBUFS, counted; lowering at run time is EINVAL', () => {
  const p = makePair();
  const z = p.a.uma.get('socket')!;
  const used0 = z.used;
  p.a.sysctl.set('kern.ipc.maxsockets', z.limit + 1);
  assert.throws(
    () => p.a.sysctl.set('kern.ipc.maxsockets', 1),
    (e: Error & { code?: string }) => e.code === 'EINVAL',
  );
  z.limit = used0 + 2; // as the loader tunable would set it
  const s1 = p.a.socket('inet', 'stream');
  const s2 = p.a.socket('inet', 'dgram');
  assert.ok(s1 >= 0 && s2 >= 0);
  assert.equal(p.a.socket('inet', 'stream'), -ERRNO.ENOBUFS);
  assert.equal(z.fail, 1);
  p.a.close(s2);
  assert.ok(p.a.socket('inet', 'dgram') >= 0, 'a freed socket makes room');
});

test('a listener whose socket zone is full drops the completed handshake (tcps_listendrop) and resets it', () => {
  const p = makePair();
  const lfd = p.b.socket('inet', 'stream');
  p.b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  p.b.listen(lfd, 16);
  const z = p.b.uma.get('socket')!;
  z.limit = z.used;
  const c = p.a.socket('inet', 'stream');
  p.a.connect(c, { addr: '10.0.0.2', port: 80 });
  p.run(p.now + 100_000);
  assert.equal(p.b.tcp.stat.tcps_listendrop, 1);
  assert.equal(p.b.tcp.stat.tcps_sc_aborted, 1);
  assert.ok(z.fail >= 1);
  assert.equal(p.a.getsockopt(c, 0xffff, 0x1007), ERRNO.ECONNRESET, 'rst_on_sock_fail: the client was reset');
});

test('after every connection is closed and 2MSL has passed, every zone is back where it started', () => {
  const p = makePair();
  const used = () =>
    Object.fromEntries(
      [...p.a.uma.stats(), ...p.b.uma.stats()].map((z, i) => [
        `${i < p.a.uma.stats().length ? 'a' : 'b'}.${z.name}`,
        z.used,
      ]),
    );
  const lfd = p.b.socket('inet', 'stream');
  p.b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  p.b.listen(lfd, 64);
  const u = p.a.socket('inet', 'dgram');
  const start = used();
  const fds: number[] = [];
  for (let i = 0; i < 20; i++) {
    const fd = p.a.socket('inet', 'stream');
    p.a.connect(fd, { addr: '10.0.0.2', port: 80 });
    fds.push(fd);
  }
  p.run(p.now + 100_000);
  const mid = used();
  assert.ok(mid['a.socket']! > start['a.socket']! && mid['b.tcp_inpcb']! > start['b.tcp_inpcb']!);
  // One data segment lost: the ones after it wait in b's reassembly queue (the tcpreass zone).
  let lost = false;
  p.drop = (from, frame) => {
    if (lost || from !== 'a' || frame.length < 1000) return false;
    lost = true;
    return true;
  };
  assert.equal(p.a.send(fds[0]!, new Uint8Array(10_000)), 10_000);
  p.run(p.now + 2_000_000);
  assert.ok(lost && p.b.uma.get('tcpreass')!.requests > 0, 'out-of-order data was queued');
  for (let fd = p.b.accept(lfd); fd >= 0; fd = p.b.accept(lfd)) {
    p.b.send(fd, new Uint8Array(100));
    p.b.close(fd);
  }
  for (const fd of fds) p.a.close(fd);
  p.run(p.now + 2 * 30_000_000 + 1_000_000); // 2MSL
  // Zones made on first use (the socket-buffer ring sizes) started at 0.
  const end = used();
  assert.deepEqual(end, Object.fromEntries(Object.keys(end).map((k) => [k, start[k] ?? 0])));
  p.a.close(u);
});

test("a stack's workers share its limits: kern.ipc.maxsockets counts every worker's sockets", () => {
  const sab = new SharedArrayBuffer(UMA_SHARED_BYTES);
  const w = [0, 1].map((i) => new Engine({ seed: i + 1, tunables: { 'kern.ipc.maxsockets': 3 } }));
  for (const e of w) e.uma.share(sab);
  const [w0, w1] = w as [Engine, Engine];
  assert.ok(w0.socket('inet', 'stream') >= 0 && w0.socket('inet', 'dgram') >= 0);
  const s = w1.socket('inet', 'stream');
  assert.ok(s >= 0);
  assert.equal(w0.socket('inet', 'stream'), -ERRNO.ENOBUFS, 'the stack is at its limit, not worker 0');
  assert.equal(w1.socket('inet', 'stream'), -ERRNO.ENOBUFS);
  assert.equal(w0.uma.get('socket')!.fail + w1.uma.get('socket')!.fail, 2);
  w1.close(s);
  assert.ok(w0.socket('inet', 'stream') >= 0, 'a socket closed in worker 1 makes room in worker 0');
});
