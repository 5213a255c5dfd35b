/**
 * The Linux side of the native-link interop tests: a Python peer run in a namespace.
 * 'client' sends seeded bytes to an echo server while a thread reads the echo back, and
 * prints the SHA-256 of both; 'echo' serves echo on a dual-stack port.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { netnsUnavailable, type Netns } from '@mcstack/bench';
import { native, type AppSpec, type Stack } from '@mcstack/runtime';

/** The Linux-side peer: 'client' sends while it reads the echo (a thread), 'echo' serves. */
export const LINUX_PEER = `
import hashlib, json, random, socket, sys, threading
mode = sys.argv[1]
if mode == 'client':
    addr, port, n, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    s = socket.create_connection((addr, port), timeout=60)
    res = {}
    def rd():
        h = hashlib.sha256(); got = 0; buf = bytearray(1 << 20); mv = memoryview(buf)
        while True:
            r = s.recv_into(buf)
            if r == 0: break
            h.update(mv[:r]); got += r
        res['n'] = got; res['h'] = h.hexdigest()
    t = threading.Thread(target=rd); t.start()
    rnd = random.Random(seed); h = hashlib.sha256(); left = n
    while left > 0:
        b = rnd.randbytes(min(1 << 20, left)); s.sendall(b); h.update(b); left -= len(b)
    s.shutdown(socket.SHUT_WR); t.join(); s.close()
    print(json.dumps({'sent': n, 'sentSha': h.hexdigest(), 'received': res['n'], 'receivedSha': res['h']}))
else:
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(('::', int(sys.argv[2]))); ls.listen(16)
    print('listening', flush=True)
    def serve(c):
        buf = bytearray(1 << 20); mv = memoryview(buf)
        while True:
            r = c.recv_into(buf)
            if r == 0: break
            c.sendall(mv[:r])
        c.shutdown(socket.SHUT_WR); c.close()
    while True:
        c, _ = ls.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

/** The Linux peer in `ns` sends `bytes` seeded bytes to echo (port 7) at `addr` and checks what comes back. */
export async function linuxEchoClient(ns: Netns, addr: string, bytes: number, seed: number): Promise<void> {
  const r = await ns.exec('python3', ['-c', LINUX_PEER, 'client', addr, '7', String(bytes), String(seed)]);
  const o = JSON.parse(r) as { sent: number; sentSha: string; received: number; receivedSha: string };
  assert.equal(o.sent, bytes);
  assert.equal(o.received, bytes, `${addr}: echoed ${o.received} of ${bytes} (seed ${seed})`);
  assert.equal(o.receivedSha, o.sentSha, `${addr}: the echo differs (seed ${seed})`);
}

/** Start the Linux echo server (dual-stack, `port`) in `ns`; resolves once it listens. */
export async function startLinuxEcho(ns: Netns, port: number): Promise<ChildProcess> {
  const echo = ns.spawn('python3', ['-c', LINUX_PEER, 'echo', String(port)]);
  await new Promise<void>((resolve, reject) => {
    echo.stdout!.once('data', () => resolve());
    echo.once('exit', (c) => reject(new Error(`echo server exited ${c}`)));
  });
  return echo;
}

/**
 * mcstack's echo (7) and two checking bulk-senders to the Linux echo server at `port`:
 * 'bulk-sender' over IPv4 and 'bulk-sender6' over IPv6 (a module copy under its own name,
 * since apps' stats are keyed by name).
 */
export function echoApps(linux4: string, linux6: string, port: number, bytes4: number, bytes6: number): AppSpec[] {
  const opts = (addr: string, bytes: number) => ({ addr, port, bytes, mode: 'echo', verify: true, connections: 1 });
  return [
    { name: 'echo', port: 7 },
    { name: 'bulk-sender', options: opts(linux4, bytes4) },
    {
      module: new URL('./bulk-sender-app.js', import.meta.url).href,
      name: 'bulk-sender6',
      options: opts(linux6, bytes6),
    },
  ];
}

/** Wait for both bulk-senders of echoApps() on every worker, then check every byte came back. */
export async function checkBulkSenders(stack: Stack, bytes4: number, bytes6: number): Promise<void> {
  const deadline = Date.now() + 90_000;
  const done = (x: Awaited<ReturnType<Stack['stats']>>) =>
    (x.apps['bulk-sender']?.done ?? 0) + (x.apps['bulk-sender6']?.done ?? 0);
  let s = await stack.stats();
  while (done(s) < 2 * stack.workers && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    s = await stack.stats();
  }
  for (const [app, bytes] of [
    ['bulk-sender', bytes4],
    ['bulk-sender6', bytes6],
  ] as const) {
    const b = s.apps[app]!;
    // `done` is per worker: each says its share (here one connection or none) is over.
    assert.equal(b.done, stack.workers, `${app}: ${JSON.stringify(b)}`);
    assert.equal(b.errors, 0, `${app}: ${JSON.stringify(b)}`);
    assert.equal(b.bytesSent, bytes, app);
    assert.equal(b.bytesReceived, bytes, app);
    assert.equal(b.mismatches, 0, app);
  }
  // Every frame went out through a worker's own queue, the kernel finishing checksums.
  assert.ok(s.tap!.opackets > 0 && s.tap!.csum > 0, JSON.stringify(s.tap));
  assert.equal(s.tap!.oerrors, 0);
  assert.equal(s.link, undefined, 'no main-thread link');
}

/** Why the native-link interop tests cannot run here (null: they can). */
export async function nativeLinkUnavailable(): Promise<string | null> {
  const st = native.nativeStatus();
  if (!st.ok) return `koffi's native library cannot be loaded: ${st.reason}`;
  return netnsUnavailable();
}

/**
 * tshark on `dev` in `ns` printing `fields` per frame: resolves once it captures
 * (its "Capturing on" line); waitFor() waits for a line, stop() ends it and gives its output.
 */
export async function capture(
  ns: Netns,
  dev: string,
  fields: string[],
  filter?: string,
): Promise<{
  output(): string;
  waitFor(pred: (out: string) => boolean, ms: number): Promise<void>;
  stop(): Promise<string>;
}> {
  const args = ['-i', dev, '-n', '-l', ...(filter ? ['-f', filter] : []), '-T', 'fields'];
  for (const f of fields) args.push('-e', f);
  const cap = ns.spawn('tshark', args);
  let out = '';
  let err = '';
  cap.stdout!.on('data', (s) => {
    out += s;
  });
  const exited = new Promise<void>((r) => cap.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    cap.stderr!.on('data', (s) => {
      err += s;
      if (err.includes('Capturing on')) resolve();
    });
    void exited.then(() => reject(new Error(`tshark exited: ${err.trim()}`)));
    setTimeout(() => reject(new Error(`tshark did not start capturing in 20 s: ${err.trim()}`)), 20_000).unref();
  }).catch((e: unknown) => {
    cap.kill('SIGKILL');
    throw e;
  });
  // tshark says so once dumpcap has started; its filter and socket take a moment more.
  await new Promise((r) => setTimeout(r, 1000));
  return {
    output: () => out,
    /** Until the output so far satisfies `pred` (tshark prints what it has read), or `ms` passed. */
    async waitFor(pred, ms) {
      for (const end = Date.now() + ms; !pred(out) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
    },
    async stop() {
      // tshark's capture child notices a signal only with its next packet: SIGTERM, then
      // SIGKILL (-l has flushed every line already).
      cap.kill('SIGTERM');
      const t = setTimeout(() => cap.kill('SIGKILL'), 1000);
      await exited;
      clearTimeout(t);
      return out;
    },
  };
}
