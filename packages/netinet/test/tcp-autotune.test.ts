/**
 * Socket-buffer autotuning (FreeBSD tcp_autorcvbuf / tcp_sndbuf_autoscale): a bulk
 * transfer grows both buffers past net.inet.tcp.sendspace/recvspace toward
 * sendbuf_max/recvbuf_max; a size the application set (SO_SNDBUF/SO_RCVBUF) and the
 * sysctls' off switches keep them fixed; and a short write while the send buffer grows
 * still leaves the writer an edge to wake on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO } from '../src/kern/errno.js';
import { SOL_SOCKET, SO_SNDBUF, SO_RCVBUF, POLLOUT } from '../src/kern/uipc_socket.js';
import { makePair, type Pair } from './tcp-harness.js';

/** Send `total` bytes a→b as a poll loop would; the two sockets' buffer sizes at the end. */
function transfer(
  p: Pair,
  total: number,
  setup?: (c: number, lfd: number) => void,
): { snd: number; rcv: number; got: number } {
  const lfd = p.b.socket('inet', 'stream');
  p.b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  p.b.listen(lfd, 4);
  const c = p.a.socket('inet', 'stream');
  setup?.(c, lfd);
  assert.equal(p.a.connect(c, { addr: '10.0.0.2', port: 80 }), -ERRNO.EINPROGRESS);
  const chunk = new Uint8Array(65536).fill(7);
  const rbuf = new Uint8Array(1 << 20);
  let s = -1,
    sent = 0,
    got = 0;
  let snd = 0,
    rcv = 0;
  p.run(p.now + 60_000_000, () => {
    if (s < 0) s = p.b.accept(lfd);
    while (sent < total) {
      const w = p.a.send(c, chunk, 0, Math.min(chunk.length, total - sent));
      if (w <= 0) break;
      sent += w;
    }
    if (s >= 0)
      for (;;) {
        const r = p.b.recv(s, rbuf, 0, rbuf.length);
        if (r <= 0) break;
        got += r;
      }
    snd = Math.max(snd, p.a.getsockopt(c, SOL_SOCKET, SO_SNDBUF) as number);
    if (s >= 0) rcv = Math.max(rcv, p.b.getsockopt(s, SOL_SOCKET, SO_RCVBUF) as number);
    return got === total;
  });
  return { snd, rcv, got };
}

const MB = 1 << 20;
/** tcp_mss_update rounds a buffer up to whole segments (MSS 1460 here), as FreeBSD's tcp_mss does. */
const segs = (n: number) => Math.ceil(n / 1460) * 1460;

test('a bulk transfer grows both buffers beyond the initial sizes, to at most the maxima', () => {
  const p = makePair(false, 3, 500); // 1 ms RTT: the receive side measures per half RTT
  const r = transfer(p, 32 * MB);
  assert.equal(r.got, 32 * MB);
  assert.ok(r.snd > 32768, `send buffer ${r.snd}`);
  assert.ok(r.rcv > 65536, `receive buffer ${r.rcv}`);
  assert.ok(r.snd <= 2 * MB && r.rcv <= 2 * MB);
});

test('SO_SNDBUF/SO_RCVBUF set by the application, and recvbuf_auto/sendbuf_auto = 0, keep the sizes', () => {
  const p = makePair(false, 4, 500);
  const r = transfer(p, 8 * MB, (c, lfd) => {
    assert.equal(p.a.setsockopt(c, SOL_SOCKET, SO_SNDBUF, 40000), 0);
    assert.equal(p.b.setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, 50000), 0); // accepted sockets inherit
  });
  assert.equal(r.got, 8 * MB);
  assert.equal(r.snd, segs(40000));
  assert.equal(r.rcv, segs(50000));
  const q = makePair(false, 5, 500);
  q.a.sysctl.set('net.inet.tcp.sendbuf_auto', 0);
  q.b.sysctl.set('net.inet.tcp.recvbuf_auto', 0);
  const r2 = transfer(q, 8 * MB);
  assert.equal(r2.snd, segs(32768));
  assert.equal(r2.rcv, segs(65536));
});

test('a short write is followed by a POLLOUT upcall even when the buffer grew during it', () => {
  const events: number[] = [];
  const p = makePair(false, 6, 500);
  const lfd = p.b.socket('inet', 'stream');
  p.b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  p.b.listen(lfd, 4);
  const c = p.a.socket('inet', 'stream');
  p.a.sockets.upcall = (fd, ev) => {
    if (fd === c) events.push(ev);
  };
  p.a.connect(c, { addr: '10.0.0.2', port: 80 });
  let s = -1;
  const rbuf = new Uint8Array(1 << 20);
  const big = new Uint8Array(4 * MB);
  let shortWrites = 0,
    wokenAfterShort = 0,
    waiting = false,
    sent = 0;
  p.run(p.now + 30_000_000, () => {
    if (s < 0) s = p.b.accept(lfd);
    if (s >= 0) while (p.b.recv(s, rbuf, 0, rbuf.length) > 0);
    if (waiting) {
      // Edge-triggered: only an upcall with POLLOUT lets us write again.
      if (events.length === 0 || (events.at(-1)! & POLLOUT) === 0) return false;
      wokenAfterShort++;
      waiting = false;
    }
    events.length = 0;
    const w = p.a.send(c, big, 0, big.length);
    if (w > 0) sent += w;
    if (w === -ERRNO.EAGAIN || (w > 0 && w < big.length)) {
      shortWrites++;
      waiting = true;
    }
    return sent >= 64 * MB;
  });
  assert.ok(
    sent >= 64 * MB,
    `the writer stalled after ${sent} bytes (${shortWrites} short writes, ${wokenAfterShort} wakeups)`,
  );
  assert.ok(shortWrites > 10);
});
