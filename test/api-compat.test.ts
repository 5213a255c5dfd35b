/**
 * node:net's behaviours, each run against node:net itself (over the host's loopback) and
 * against mcnet (two stacks A 10.0.0.1 and B 10.0.0.2 joined in memory, server on B), so
 * a difference between them shows as one of the two failing. A case the API does not
 * do yet is marked `todo` for mcnet only: its result is reported, not counted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import * as tls from 'node:tls';
import * as http from 'node:http';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from '@mcstack/runtime';
import { mcnet, withNet, type McNet } from '@mcstack/api';

/** What a case uses of a net module: node:net's own types, whichever module it is. */
interface Impl {
  name: string;
  /** The module clients connect with, and the one servers listen with. */
  client: typeof net;
  server: typeof net;
  /** The address servers listen on and clients connect to, and the client's own. */
  host: string;
  clientAddr: string;
  /** Cases not done yet in this implementation. */
  todo: Set<string>;
}

const impls: Impl[] = [];
let A: Stack;
let B: Stack;
let netA: McNet;
let netB: McNet;

const nodeImpl: Impl = {
  name: 'node:net',
  client: net,
  server: net,
  host: '127.0.0.1',
  clientAddr: '127.0.0.1',
  todo: new Set(),
};
const mcImpl: Impl = {
  name: 'mcnet',
  client: net, // replaced in before()
  server: net,
  host: '10.0.0.2',
  clientAddr: '10.0.0.1',
  todo: new Set<string>(),
};
impls.push(nodeImpl, mcImpl);

before(async () => {
  A = Stack.create(withNet({ name: 'A', workers: 1, mac: '02:00:00:00:00:0a', addrs: ['10.0.0.1/24'], seed: 11 }));
  B = Stack.create(withNet({ name: 'B', workers: 1, mac: '02:00:00:00:00:0b', addrs: ['10.0.0.2/24'], seed: 12 }));
  Stack.join(A, B);
  await Promise.all([B.start(), A.start()]);
  netA = mcnet(A);
  netB = mcnet(B);
  mcImpl.client = netA as unknown as typeof net;
  mcImpl.server = netB as unknown as typeof net;
});

after(async () => {
  netA?.close();
  netB?.close();
  await Promise.all([A?.stop(), B?.stop()]);
});

const LINUX = osConstants.errno;

/** A throwaway self-signed certificate for server.test (openssl), or null without openssl. */
function makeCert(): { key: Buffer; cert: Buffer } | null {
  const dir = mkdtempSync(join(tmpdir(), 'mcnet-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=server.test',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const TLS_CERT = makeCert();

// Type-level: an mcnet socket is a net.Socket, and its connect has net.createConnection's type
// (undici's connector and http's createConnection take it). Compiling this file is the test.
export const typeChecks = (m: McNet): [net.Socket, typeof net.createConnection, typeof net.connect] => [
  m.connect(1, '10.0.0.2'),
  m.createConnection,
  m.connect,
];

/** A listening server of `impl` on an ephemeral port (the port and the server). */
async function listening(impl: Impl, onConn?: (s: net.Socket) => void): Promise<[net.Server, number]> {
  const srv = impl.server.createServer(onConn);
  srv.listen(0, impl.host);
  await once(srv, 'listening');
  return [srv, (srv.address() as net.AddressInfo).port];
}

/** A port nobody listens on (one a server had a moment ago). */
async function freePort(impl: Impl): Promise<number> {
  const [srv, port] = await listening(impl);
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Both ends of one connection: the client socket, the accepted one, and the server. */
async function pair(impl: Impl, opts: Partial<net.NetConnectOpts> = {}): Promise<[net.Socket, net.Socket, net.Server]> {
  const [srv, port] = await listening(impl);
  const accepted = once(srv, 'connection') as Promise<[net.Socket]>;
  const c = impl.client.connect({ port, host: impl.host, ...opts } as net.NetConnectOpts);
  await once(c, 'connect');
  const [s] = await accepted;
  return [c, s, srv];
}

function closed(s: net.Socket): Promise<boolean> {
  if (s.destroyed && s.closed) return Promise.resolve(false);
  return new Promise((r) => s.once('close', (hadError: boolean) => r(hadError)));
}

function closeServer(srv: net.Server): Promise<void> {
  return new Promise((r) => srv.close(() => r()));
}

const cases: { name: string; fn: (impl: Impl) => Promise<void> }[] = [
  {
    name: 'a refused connect: a Node system error, then close(hadError = true)',
    fn: async (impl) => {
      const port = await freePort(impl);
      const c = impl.client.connect(port, impl.host);
      const hadError = closed(c);
      const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException & { address: string; port: number }];
      assert.ok(err instanceof Error);
      assert.equal(err.code, 'ECONNREFUSED');
      assert.equal(err.errno, -LINUX.ECONNREFUSED);
      assert.equal(err.syscall, 'connect');
      assert.equal(err.address, impl.host);
      assert.equal(err.port, port);
      assert.equal(err.message, `connect ECONNREFUSED ${impl.host}:${port}`);
      assert.equal(await hadError, true);
    },
  },
  {
    name: 'a second listen on a port: EADDRINUSE as Node words it',
    fn: async (impl) => {
      const [s1, port] = await listening(impl);
      const s2 = impl.server.createServer().listen(port, impl.host);
      const [err] = (await once(s2, 'error')) as [NodeJS.ErrnoException & { address: string; port: number }];
      assert.equal(err.code, 'EADDRINUSE');
      assert.equal(err.errno, -LINUX.EADDRINUSE);
      assert.equal(err.syscall, 'listen');
      assert.equal(err.address, impl.host);
      assert.equal(err.port, port);
      assert.equal(err.message, `listen EADDRINUSE: address already in use ${impl.host}:${port}`);
      assert.equal(s2.listening, false);
      await closeServer(s1);
    },
  },
  {
    name: "once server.close's callback ran, a connect to its port is refused",
    fn: async (impl) => {
      for (let k = 0; k < 3; k++) {
        const [srv, port] = await listening(impl);
        await closeServer(srv);
        const c = impl.client.connect(port, impl.host);
        const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException];
        assert.equal(err.code, 'ECONNREFUSED');
      }
    },
  },
  {
    name: "maxConnections: a connection past it is closed at once and reported as 'drop'",
    fn: async (impl) => {
      const [c1, s1, srv] = await pair(impl);
      srv.maxConnections = 1;
      const dropped = once(srv, 'drop') as Promise<[{ remotePort?: number }]>;
      let accepted = false;
      srv.once('connection', () => {
        accepted = true;
      });
      const c2 = impl.client.connect({ port: (srv.address() as net.AddressInfo).port, host: impl.host });
      let port2: number | undefined;
      c2.once('connect', () => {
        port2 = c2.localPort;
      });
      c2.on('error', () => {});
      c2.resume();
      const [info] = await dropped;
      await closed(c2);
      assert.equal(accepted, false);
      assert.equal(info.remotePort, port2);
      const ch = closed(c1);
      s1.resume();
      c1.resume();
      c1.end();
      await ch;
      await closeServer(srv);
    },
  },
  {
    name: "an orderly close: 'close' with hadError = false on both ends",
    fn: async (impl) => {
      const [c, s, srv] = await pair(impl);
      const ch = closed(c);
      const sh = closed(s);
      s.resume();
      c.resume();
      c.end();
      assert.equal(await ch, false);
      assert.equal(await sh, false);
      await closeServer(srv);
    },
  },
  {
    name: 'resetAndDestroy sends an RST: the peer gets read ECONNRESET',
    fn: async (impl) => {
      const [c, s, srv] = await pair(impl);
      const sh = closed(s);
      const ch = closed(c);
      const sErr = once(s, 'error') as Promise<[NodeJS.ErrnoException]>;
      c.resetAndDestroy();
      const [err] = await sErr;
      assert.equal(err.code, 'ECONNRESET');
      assert.equal(err.errno, -LINUX.ECONNRESET);
      assert.equal(err.syscall, 'read');
      assert.equal(err.message, 'read ECONNRESET');
      assert.equal(await sh, true);
      assert.equal(await ch, false);
      await closeServer(srv);
    },
  },
  {
    name: "an accepted socket nobody reads still sees the peer's FIN: 'end', 'close', server.close(cb)",
    fn: async (impl) => {
      const [c, s, srv] = await pair(impl);
      const ended = once(s, 'end');
      const sh = closed(s);
      const srvClosed = closeServer(srv);
      c.resume();
      c.end();
      await ended;
      assert.equal(await sh, false);
      await srvClosed;
    },
  },
  {
    name: 'listen again on a port whose last connection is in TIME_WAIT (SO_REUSEADDR)',
    fn: async (impl) => {
      const [c, s, srv] = await pair(impl);
      const port = (srv.address() as net.AddressInfo).port;
      const ch = closed(c);
      const sh = closed(s);
      c.resume();
      s.resume();
      s.end(); // the server closes first: its side of the connection enters TIME_WAIT
      await Promise.all([ch, sh]);
      await closeServer(srv);
      const again = impl.server.createServer();
      again.listen(port, impl.host);
      const [ev] = (await Promise.race([once(again, 'listening'), once(again, 'error')])) as [Error | undefined];
      assert.equal(ev, undefined, `listen again: ${String(ev)}`);
      await closeServer(again);
    },
  },
  {
    name: 'socket.timeout is what setTimeout set (undefined before)',
    fn: async (impl) => {
      const [c, s, srv] = await pair(impl, { timeout: 4000 });
      assert.equal(c.timeout, 4000);
      assert.equal(s.timeout, undefined);
      c.setTimeout(250);
      assert.equal(c.timeout, 250);
      const t0 = Date.now();
      await once(c, 'timeout');
      assert.ok(Date.now() - t0 >= 200);
      c.setTimeout(0);
      assert.equal(c.timeout, 0);
      c.destroy();
      s.destroy();
      await closeServer(srv);
    },
  },
  {
    name: "connect's lookup option resolves the host name ('lookup' event, then connect)",
    fn: async (impl) => {
      const [srv, port] = await listening(impl, (s) => s.end('hi'));
      const asked: string[] = [];
      const lookup = ((name: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) => {
        asked.push(name);
        setImmediate(() => {
          if (o.all) cb(null, [{ address: impl.host, family: 4 }]);
          else cb(null, impl.host, 4);
        });
      }) as unknown as net.LookupFunction;
      const c = impl.client.connect({ port, host: 'server.test', lookup });
      const [err, address, family, host] = await once(c, 'lookup');
      assert.equal(err, null);
      assert.equal(address, impl.host);
      assert.equal(family, 4);
      assert.equal(host, 'server.test');
      await once(c, 'connect');
      assert.deepEqual(asked, ['server.test']);
      assert.equal(c.remoteAddress, impl.host);
      c.resume();
      await closed(c);
      await closeServer(srv);
    },
  },
  {
    name: "a failed lookup is the socket's error, with close(hadError = true)",
    fn: async (impl) => {
      const lookup = ((name: string, _o: unknown, cb: (e: Error) => void) => {
        const e = Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), {
          code: 'ENOTFOUND',
          syscall: 'getaddrinfo',
          hostname: name,
        });
        setImmediate(() => cb(e));
      }) as unknown as net.LookupFunction;
      const c = impl.client.connect({ port: 80, host: 'nowhere.invalid', lookup });
      const hadError = closed(c);
      const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException & { hostname: string }];
      assert.equal(err.code, 'ENOTFOUND');
      assert.equal(err.hostname, 'nowhere.invalid');
      assert.equal(await hadError, true);
    },
  },
  {
    name: 'localAddress is bound',
    fn: async (impl) => {
      const [c, s, srv] = await pair(impl, { localAddress: impl.clientAddr });
      assert.equal(c.localAddress, impl.clientAddr);
      assert.equal(s.remoteAddress, impl.clientAddr);
      c.destroy();
      s.destroy();
      await closeServer(srv);
    },
  },
  {
    name: 'localPort is bound',
    fn: async (impl) => {
      const lp = await freePort(impl);
      const [c, s, srv] = await pair(impl, { localPort: lp });
      assert.equal(c.localPort, lp);
      assert.equal(s.remotePort, lp);
      c.destroy();
      s.destroy();
      await closeServer(srv);
    },
  },
  {
    name: "a localPort something holds: connect's bind fails with EADDRINUSE as node:net words it",
    fn: async (impl) => {
      // A listener of the connecting side's own holds the port.
      const holder = impl.client.createServer().listen(0, impl.clientAddr);
      await once(holder, 'listening');
      const lp = (holder.address() as net.AddressInfo).port;
      const [srv, port] = await listening(impl);
      const c = impl.client.connect({ port, host: impl.host, localPort: lp });
      const hadError = closed(c);
      const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException & { address: string; port: number }];
      assert.equal(err.code, 'EADDRINUSE');
      assert.equal(err.errno, -LINUX.EADDRINUSE);
      assert.equal(err.syscall, 'bind');
      assert.equal(err.address, '0.0.0.0');
      assert.equal(err.port, lp);
      assert.equal(err.message, `bind EADDRINUSE 0.0.0.0:${lp}`);
      assert.equal(await hadError, true);
      await closeServer(srv);
      await closeServer(holder);
    },
  },
  {
    name: 'cork/uncork and many small writes in one tick arrive whole and in order',
    fn: async (impl) => {
      const [c, s, srv] = await pair(impl, { noDelay: true });
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      const ended = once(s, 'end');
      const parts: Buffer[] = [];
      for (let i = 0; i < 3000; i++) parts.push(Buffer.from(`${i},`));
      c.cork();
      for (const p of parts.slice(0, 1000)) c.write(p);
      c.uncork();
      for (const p of parts.slice(1000)) c.write(p);
      c.end();
      await ended;
      assert.equal(Buffer.concat(chunks).toString(), Buffer.concat(parts).toString());
      assert.equal(c.bytesWritten, Buffer.concat(parts).length);
      await closed(s);
      await closeServer(srv);
    },
  },
  {
    // 12 MiB is more than a socket ring holds (8 MiB): the body's tail waits for slots.
    name: 'a corked header and a body larger than the socket ring arrive whole and in order',
    fn: async (impl) => {
      const [c, s, srv] = await pair(impl, { noDelay: true });
      const got = createHash('sha256');
      let n = 0;
      s.on('data', (d: Buffer) => {
        got.update(d);
        n += d.length;
      });
      const ended = once(s, 'end');
      const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 12582912\r\n\r\n');
      const body = Buffer.alloc(12 << 20);
      for (let i = 0; i < body.length; i += 4) body.writeUInt32LE(i, i);
      c.cork();
      c.write(head);
      c.write(body);
      c.write(''); // as node:http's end() does
      c.uncork();
      c.end();
      await ended;
      assert.equal(n, head.length + body.length);
      assert.equal(got.digest('hex'), createHash('sha256').update(head).update(body).digest('hex'));
      await closed(s);
      await closeServer(srv);
    },
  },
  {
    name: 'TLS on sockets already connected: tls.connect({ socket }) and a TLS server fed accepted sockets',
    fn: async (impl) => {
      if (TLS_CERT === null) return; // no openssl here
      const { key, cert } = TLS_CERT;
      const tlsServer = tls.createServer({ key, cert }, (t) => t.end('hi over tls'));
      const [srv, port] = await listening(impl, (s) => tlsServer.emit('connection', s));
      const raw = impl.client.connect(port, impl.host);
      await once(raw, 'connect');
      const t = tls.connect({ socket: raw, ca: cert, servername: 'server.test' });
      await once(t, 'secureConnect');
      let got = '';
      t.setEncoding('utf8');
      t.on('data', (d: string) => {
        got += d;
      });
      await once(t, 'end');
      assert.equal(got, 'hi over tls');
      t.destroy();
      await closeServer(srv);
    },
  },
  {
    name: 'ref() and unref() return the socket and the server',
    fn: async (impl) => {
      const [c, s, srv] = await pair(impl);
      assert.equal(c.unref(), c);
      assert.equal(c.ref(), c);
      assert.equal(srv.unref(), srv);
      assert.equal(srv.ref(), srv);
      c.destroy();
      s.destroy();
      await closeServer(srv);
    },
  },
  {
    name: 'servers are instances of net.Server',
    fn: async (impl) => {
      const [srv] = await listening(impl);
      assert.ok(srv instanceof net.Server);
      await closeServer(srv);
    },
  },
  {
    name: "an http.Server serves a server's connections handed to it in one line",
    fn: async (impl) => {
      const web = http.createServer((req, res) => res.end(`hello ${req.url}`));
      // node's server.listen(handle) takes only a kernel handle or fd; this line is the bridge.
      const [srv, port] = await listening(impl, (s) => web.emit('connection', s));
      const agent = new http.Agent({ keepAlive: false });
      (agent as unknown as { createConnection: typeof net.createConnection }).createConnection =
        impl.client.createConnection;
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get({ host: impl.host, port, path: '/x', agent }, (res) => {
            let b = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              b += d;
            });
            res.on('end', () => resolve(b));
          })
          .on('error', reject);
      });
      assert.equal(body, 'hello /x');
      web.closeAllConnections();
      await closeServer(srv);
    },
  },
  {
    name: 'sockets are instances of net.Socket',
    fn: async (impl) => {
      const [c, s, srv] = await pair(impl);
      assert.ok(c instanceof net.Socket);
      assert.ok(s instanceof net.Socket);
      c.destroy();
      s.destroy();
      await closeServer(srv);
    },
  },
];

test("mcnet: ref'd sockets and servers are what keeps the process alive on its account", async () => {
  const a0 = netA.refs;
  const b0 = netB.refs;
  const [c, s, srv] = await pair(mcImpl);
  assert.equal(netA.refs, a0 + 1);
  assert.equal(netB.refs, b0 + 2); // the server and the accepted socket
  c.unref();
  c.unref();
  assert.equal(netA.refs, a0);
  c.ref();
  assert.equal(netA.refs, a0 + 1);
  srv.unref();
  assert.equal(netB.refs, b0 + 1);
  const cc = closed(c);
  const sc = closed(s);
  c.destroy();
  await Promise.all([cc, sc]);
  assert.equal(netA.refs, a0);
  assert.equal(netB.refs, b0);
  srv.ref();
  assert.equal(netB.refs, b0 + 1);
  await closeServer(srv);
  assert.equal(netB.refs, b0);
});

test("mcnet has node:net's public surface", () => {
  const m = netA as unknown as Record<string, unknown>;
  const missing = Object.keys(net).filter(
    (k) => !k.startsWith('_') && k !== 'default' && typeof m[k] !== typeof (net as Record<string, unknown>)[k],
  );
  assert.deepEqual(missing, []);
});

for (const c of cases) {
  for (const impl of impls) {
    const todo = impl.todo.has(c.name.split(':')[0]!) || impl.todo.has(c.name) ? 'not done in mcnet yet' : undefined;
    test(`${impl.name}: ${c.name}`, { timeout: 20000, todo }, () => c.fn(impl));
  }
}
