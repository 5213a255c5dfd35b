/**
 * The down ring's held slots (runtime worker/downhold.ts) through the API: data a peer does
 * not read stays in its worker's down-ring slots, and the ring frees slots in order only.
 * Many connections to peers that do not read hold more than half the ring of their one
 * worker: the holds are copied out (sockapp's `heldCopied`), so another connection of the
 * same worker still gets its echo, and once the peers read, every byte arrives intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Stack } from '@mcstack/runtime';
import { mcnet, withNet, type Socket } from '@mcstack/api';
import { bounded as boundedBy } from './support/bounded.js';
import { closeStacks } from './support/teardown.js';

const SEED = Number(process.env.SEED ?? 0x5eed);
const bounded = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => boundedBy(p, ms, what, SEED);

/** Connections whose peer does not read, and what each writes. */
const SINKS = 48;
const BYTES = 384 * 1024;

/** Connection i's bytes: a seeded pattern, so a byte moved to another place shows. */
function payload(i: number): Buffer {
  const b = Buffer.allocUnsafe(BYTES);
  let x = (SEED + i * 0x9e3779b9) >>> 0 || 1;
  for (let k = 0; k < BYTES; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[k] = x & 0xff;
  }
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('holds past half the down ring are copied out: another connection is served, every byte arrives', {
  timeout: 90000,
}, async () => {
  // One worker each: every connection of A shares that worker's down ring.
  const A = Stack.create(
    withNet({ name: 'A', workers: 1, mac: '02:00:00:00:00:0a', addrs: ['10.0.0.1/24'], seed: SEED }),
  );
  const B = Stack.create(
    withNet({ name: 'B', workers: 1, mac: '02:00:00:00:00:0b', addrs: ['10.0.0.2/24'], seed: SEED + 1 }),
  );
  Stack.join(A, B);
  const netA = mcnet(A);
  const netB = mcnet(B);
  try {
    await bounded(Promise.all([B.start(), A.start()]), 20000, 'stack start');
    // The sink server pauses every connection: its worker stops reading, the window closes.
    const sinks: Socket[] = [];
    const sink = netB.createServer((s) => {
      s.pause();
      sinks.push(s);
    });
    sink.listen(9001, '10.0.0.2');
    await once(sink, 'listening');
    const echo = netB.createServer((s) => s.pipe(s));
    echo.listen(9002, '10.0.0.2');
    await once(echo, 'listening');

    const clients: Socket[] = [];
    for (let i = 0; i < SINKS; i++) {
      const c = netA.connect(9001, '10.0.0.2');
      c.write(payload(i));
      clients.push(c);
    }
    await bounded(
      (async () => {
        for (;;) {
          const st = await A.stats();
          if ((st.apps.sockapp?.heldCopied ?? 0) > 0) return;
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
      30000,
      'holds copied out',
    );

    // The same worker's ring still carries another connection both ways.
    const e = netA.connect(9002, '10.0.0.2');
    const msg = payload(SINKS).subarray(0, 64 * 1024);
    const back: Buffer[] = [];
    let got = 0;
    const echoed = new Promise<void>((resolve) =>
      e.on('data', (d: Buffer) => {
        back.push(d);
        got += d.length;
        if (got >= msg.length) resolve();
      }),
    );
    e.write(msg);
    await bounded(echoed, 20000, 'echo past the held connections');
    assert.equal(sha(Buffer.concat(back)), sha(msg));
    e.destroy();

    // The peers read now: each connection's bytes, copied out or not, arrive in order.
    await bounded(
      (async () => {
        while (sinks.length < SINKS) await new Promise((r) => setTimeout(r, 20));
      })(),
      20000,
      'every sink accepted',
    );
    const byPort = new Map(clients.map((c, i) => [c.localPort, i]));
    const received = sinks.map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          const parts: Buffer[] = [];
          let n = 0;
          s.on('data', (d: Buffer) => {
            parts.push(d);
            n += d.length;
            if (n < BYTES) return;
            const i = byPort.get(s.remotePort);
            if (i === undefined) return reject(new Error(`no client of port ${s.remotePort}`));
            if (sha(Buffer.concat(parts)) !== sha(payload(i)))
              return reject(new Error(`connection ${i}: bytes differ`));
            resolve();
          });
          s.resume();
        }),
    );
    await bounded(Promise.all(received), 60000, 'every sink read its bytes');
    for (const c of clients) c.destroy();
    for (const s of sinks) s.destroy();
    sink.close();
    echo.close();
  } finally {
    await closeStacks([netA, netB], [A, B]);
  }
});
