/**
 * A stack with a TOE card joined to a plain one that echoes on port 7 through its
 * @mcstack/api server, and a byte-exact echo through a socket: what the card tests share.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Stack, type StackOptions } from '@mcstack/runtime';
import { mcnet, withNet, type McNet, type Socket } from '@mcstack/api';
import { bounded } from './bounded.js';
import { closeStacks } from './teardown.js';
import { bytes } from './toe.js';

/**
 * A (10.0.0.1, fd00::1, `a` on top) joined to B (10.0.0.2, fd00::2) echoing on 7; both stopped after `fn`,
 * which also gets B's API for servers of its own.
 */
export async function withEchoPair(
  a: Partial<StackOptions>,
  seed: number,
  fn: (A: Stack, netA: McNet, B: Stack, netB: McNet) => Promise<void>,
): Promise<void> {
  const A = Stack.create(
    withNet({ name: 'A', workers: 2, mac: '02:00:00:00:00:0a', addrs: ['10.0.0.1/24', 'fd00::1/64'], seed, ...a }),
  );
  const B = Stack.create(
    withNet({ name: 'B', workers: 2, mac: '02:00:00:00:00:0b', addrs: ['10.0.0.2/24', 'fd00::2/64'], seed: seed + 1 }),
  );
  Stack.join(A, B);
  let netA: McNet | null = null;
  let netB: McNet | null = null;
  try {
    await bounded(Promise.all([B.start(), A.start()]), 20000, 'stack start', seed);
    netA = mcnet(A);
    netB = mcnet(B);
    const server = netB.createServer((s) => s.pipe(s));
    server.listen(7);
    await bounded(once(server, 'listening'), 10000, 'listen', seed);
    await fn(A, netA, B, netB);
  } finally {
    await closeStacks([netA, netB], [A, B]);
  }
}

/**
 * Write `n` bytes of `seed`'s pattern to `c` and hash what comes back: `done` resolves,
 * once `n` bytes came back, to whether they are the bytes sent (sha256).
 */
export function echoThrough(c: Socket, n: number, seed: number): { done: Promise<boolean>; received: () => number } {
  const data = bytes(n, seed);
  const got = createHash('sha256');
  let received = 0;
  const done = new Promise<boolean>((resolve) => {
    const onData = (b: Buffer) => {
      got.update(b);
      received += b.length;
      if (received >= n) {
        c.off('data', onData);
        resolve(got.digest('hex') === createHash('sha256').update(data).digest('hex'));
      }
    };
    c.on('data', onData);
  });
  void (async () => {
    for (let off = 0; off < n; off += 8192) if (!c.write(data.subarray(off, off + 8192))) await once(c, 'drain');
  })();
  return { done, received: () => received };
}
