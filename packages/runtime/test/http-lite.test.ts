/**
 * http-lite in one thread on the virtual clock: its server engine joined to a client
 * engine by tun interfaces, the app polled as a group worker polls it, every data segment
 * the server sends logged. What a client sees (status, headers, body, keep-alive,
 * pipelining, HEAD, 404) and how the response leaves: header and body in one segment
 * where they fit, and no response waiting for a delayed ACK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, ERRNO, SysError } from '@mcstack/netinet';
import { HttpLiteApp, HTTP_LITE_INDEX, httpLiteHeader } from '../src/apps/http-lite.js';

interface Rig {
  client: Engine;
  server: Engine;
  app: HttpLiteApp;
  now: number;
  /** Payload lengths of the server's data segments. */
  segs: number[];
  run(us: number): void;
}

async function rig(): Promise<Rig> {
  const q: { to: Engine; at: number; frame: Uint8Array }[] = [];
  const handlers = new Map<number, (fd: number, ev: number) => void>();
  const r = { now: 0, segs: [] as number[] } as Rig;
  const mk = (seed: number, server: boolean): Engine =>
    new Engine({
      seed,
      output: (_ifp, frame) => {
        if (server) {
          const ihl = (frame[0]! & 0x0f) * 4;
          const len = ((frame[2]! << 8) | frame[3]!) - ihl - (frame[ihl + 12]! >> 4) * 4;
          if (len > 0) r.segs.push(len);
        }
        q.push({ to: server ? r.client : r.server, at: r.now + 100, frame: frame.slice() });
      },
      upcall: server ? (fd, ev) => handlers.get(fd)?.(fd, ev) : undefined,
    });
  r.server = mk(2, true);
  r.client = mk(1, false);
  for (const [e, me] of [
    [r.client, 1],
    [r.server, 2],
  ] as const) {
    e.ifattach({ name: 'tun0', type: 'tun', mtu: 1500 });
    e.addAddr('tun0', `10.0.0.${me}/24`);
    e.setUp('tun0', true);
  }
  r.app = new HttpLiteApp({});
  await r.app.start({
    engine: r.server,
    worker: 0,
    workers: 1,
    options: {},
    port: 80,
    addrs: ['10.0.0.2'],
    connect: async () => -ERRNO.EOPNOTSUPP,
    udpReserve: async () => {
      throw SysError.fromErrno(-ERRNO.EOPNOTSUPP, 'bind');
    },
    udpRelease: async () => {},
    listen: async (port) => {
      const fd = r.server.socket('inet', 'stream');
      r.server.bind(fd, { addr: '0.0.0.0', port });
      r.server.listen(fd, 128);
      return [fd];
    },
    unlisten: () => {},
    watch: (fd, h) => {
      if (h === null) handlers.delete(fd);
      else handlers.set(fd, h);
    },
  });
  r.run = (us) => {
    const until = r.now + us;
    for (let guard = 0; guard < 1_000_000; guard++) {
      r.app.poll(r.now);
      const tq = q.length > 0 ? q[0]!.at : Infinity;
      const t = Math.min(tq, r.client.nextTimeout(), r.server.nextTimeout());
      if (t > until) break;
      r.now = Math.max(r.now, t);
      if (tq <= t) {
        const f = q.shift()!;
        f.to.input('tun0', f.frame, r.now);
      } else {
        r.client.advance(r.now);
        r.server.advance(r.now);
      }
    }
    r.now = Math.max(r.now, until);
    r.client.advance(r.now);
    r.server.advance(r.now);
    r.app.poll(r.now);
  };
  return r;
}

function connect(r: Rig): number {
  const fd = r.client.socket('inet', 'stream');
  assert.equal(r.client.connect(fd, { addr: '10.0.0.2', port: 80 }), -ERRNO.EINPROGRESS);
  r.run(10_000);
  return fd;
}

/** Send `text`, run for `us` of virtual time, return all the client read (and whether EOF came). */
function exchange(r: Rig, fd: number, text: string, us = 5_000): { text: string; eof: boolean } {
  assert.equal(r.client.send(fd, new TextEncoder().encode(text)), text.length);
  r.run(us);
  const buf = new Uint8Array(1 << 21);
  let n = 0;
  let eof = false;
  for (;;) {
    const got = r.client.recv(fd, buf, n);
    if (got === 0) eof = true;
    if (got <= 0) break;
    n += got;
  }
  return { text: Buffer.from(buf.buffer, 0, n).toString('latin1'), eof };
}

test('GET / says what the server is and what it serves; HEAD has the headers only', async () => {
  const r = await rig();
  const fd = connect(r);
  const got = exchange(r, fd, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(got.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(got.text, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
  assert.ok(got.text.endsWith(`\r\n\r\n${HTTP_LITE_INDEX}`));
  assert.match(HTTP_LITE_INDEX, /GET \/<n>/);
  assert.equal(got.eof, false);
  const head = exchange(r, fd, 'HEAD /128 HTTP/1.1\r\n\r\n');
  assert.equal(head.text, httpLiteHeader(128));
  const head0 = exchange(r, fd, 'HEAD / HTTP/1.1\r\n\r\n');
  assert.match(head0.text, new RegExp(`Content-Length: ${HTTP_LITE_INDEX.length}\r\n\r\n$`));
});

test('unknown paths are 404 and the connection stays; other methods 405, garbage 400, both close', async () => {
  const r = await rig();
  const fd = connect(r);
  const nf = exchange(r, fd, 'GET /favicon.ico HTTP/1.1\r\n\r\n');
  assert.match(nf.text, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.equal(nf.eof, false);
  assert.equal(r.app.stats().notFound, 1);
  const post = exchange(r, fd, 'POST /0 HTTP/1.1\r\nContent-Length: 0\r\n\r\n');
  assert.match(post.text, /^HTTP\/1\.1 405 Method Not Allowed\r\n[\s\S]*Allow: GET, HEAD\r\n/);
  assert.equal(post.eof, true);
  const fd2 = connect(r);
  const bad = exchange(r, fd2, 'hello\r\n\r\n');
  assert.match(bad.text, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*Connection: close\r\n/);
  assert.equal(bad.eof, true);
});

test('keep-alive by version: HTTP/1.0 closes unless asked to keep alive; Connection: close closes', async () => {
  const r = await rig();
  const a = connect(r);
  const ka = exchange(r, a, 'GET /5 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n');
  assert.match(ka.text, /Connection: keep-alive\r\n\r\nxxxxx$/);
  assert.equal(ka.eof, false);
  const one = exchange(r, a, 'GET /3 HTTP/1.0\r\n\r\n');
  assert.match(one.text, /Connection: close\r\n\r\nxxx$/);
  assert.equal(one.eof, true);
  const b = connect(r);
  const cl = exchange(r, b, 'GET /2?q=1 HTTP/1.1\r\nConnection: close\r\n\r\n');
  assert.match(cl.text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n\r\nxx$/);
  assert.equal(cl.eof, true);
});

test('pipelined requests are answered in order', async () => {
  const r = await rig();
  const fd = connect(r);
  const got = exchange(
    r,
    fd,
    'GET /1 HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\nHEAD /7 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n',
  );
  const statuses = [...got.text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '404', '200', '200']);
  assert.ok(got.text.startsWith(`${httpLiteHeader(1)}x`));
  assert.ok(got.text.endsWith(`${httpLiteHeader(7)}${httpLiteHeader(2)}xx`));
});

test('header and body reach the peer in one segment when they fit; no response waits for a delayed ACK', async () => {
  const r = await rig();
  const fd = connect(r);
  for (const n of [0, 128, 1000]) {
    r.segs.length = 0;
    const got = exchange(r, fd, `GET /${n} HTTP/1.1\r\n\r\n`, 2_000);
    assert.equal(got.text.length, httpLiteHeader(n).length + n);
    assert.deepEqual(r.segs, [httpLiteHeader(n).length + n], `GET /${n}`);
  }
  // Larger bodies: full segments and one tail, all within a few round trips of 200 µs,
  // far below the 40 ms of a delayed ACK; the 1 MiB one crosses several writes (TCP_NOPUSH).
  for (const n of [16384, 1 << 20]) {
    r.segs.length = 0;
    const t0 = r.now;
    const want = httpLiteHeader(n).length + n;
    const req = new TextEncoder().encode(`GET /${n} HTTP/1.1\r\n\r\n`);
    assert.equal(r.client.send(fd, req), req.length);
    const buf = new Uint8Array(1 << 16);
    let got = 0;
    while (got < want && r.now - t0 < 1_000_000) {
      r.run(100);
      for (let k = r.client.recv(fd, buf); k > 0; k = r.client.recv(fd, buf)) got += k;
    }
    assert.equal(got, want);
    assert.ok(r.now - t0 < 20_000, `GET /${n} took ${r.now - t0} µs of virtual time`);
    const short = r.segs.filter((l) => l < 1448);
    assert.ok(short.length <= 1, `GET /${n}: short segments ${short}`);
  }
});
