/**
 * The Linux side of the native-link interop tests: a Python peer run in a namespace.
 * 'client' sends seeded bytes to an echo server while a thread reads the echo back, and
 * prints the SHA-256 of both; 'echo' serves echo on a dual-stack port.
 */
import assert from 'node:assert/strict';
import type { Netns } from '@mcstack/bench';

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
