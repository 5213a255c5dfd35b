/**
 * Test harness: two engines joined back to back by 'tun' interfaces (raw IP, no
 * ARP), frames copied into a FIFO and delivered with a fixed one-way delay on the
 * virtual clock, with an optional drop filter. Deterministic.
 */
import assert from 'node:assert/strict';
import { Engine, type EngineOptions } from '../src/engine.js';
import { ERRNO } from '../src/kern/errno.js';

export interface Pair {
  a: Engine;
  b: Engine;
  now: number;
  /** Return true to drop the frame (from: 'a' | 'b'). */
  drop: ((from: 'a' | 'b', frame: Uint8Array, n: number) => boolean) | null;
  sent: { a: number; b: number };
  /** One-way delay, µs, for frames sent from now on; the link stays FIFO (a shorter delay waits behind frames in flight). */
  delay: number;
  run(untilUs: number, stop?: () => boolean): void;
}

export function makePair(v6 = false, seed = 1, delayUs = 50, mtu = 1500, tunables?: EngineOptions['tunables']): Pair {
  const q: { to: 'a' | 'b'; at: number; frame: Uint8Array }[] = [];
  const pair = {} as Pair;
  pair.now = 0;
  pair.drop = null;
  pair.sent = { a: 0, b: 0 };
  pair.delay = delayUs;
  const mk = (name: 'a' | 'b', s: number) =>
    new Engine({
      seed: s,
      tunables,
      output: (_ifp, frame) => {
        const n = ++pair.sent[name];
        if (pair.drop?.(name, frame, n)) return;
        q.push({ to: name === 'a' ? 'b' : 'a', at: pair.now + pair.delay, frame: frame.slice() });
      },
    });
  pair.a = mk('a', seed);
  pair.b = mk('b', seed + 1000);
  for (const [e, me] of [
    [pair.a, 1],
    [pair.b, 2],
  ] as const) {
    e.ifattach({ name: 'tun0', type: 'tun', mtu });
    e.addAddr('tun0', v6 ? `2001:db8::${me}/64` : `10.0.0.${me}/24`);
    e.setUp('tun0', true);
  }
  pair.run = (untilUs, stop) => {
    for (let guard = 0; guard < 50_000_000; guard++) {
      if (stop?.()) return;
      const tq = q.length > 0 ? q[0]!.at : Infinity;
      const tt = Math.min(pair.a.nextTimeout(), pair.b.nextTimeout());
      const t = Math.min(tq, tt);
      if (t === Infinity || t > untilUs) {
        pair.now = Math.max(pair.now, untilUs);
        pair.a.advance(pair.now);
        pair.b.advance(pair.now);
        return;
      }
      pair.now = Math.max(pair.now, t);
      if (tq <= tt) {
        const f = q.shift()!;
        (f.to === 'a' ? pair.a : pair.b).input('tun0', f.frame, pair.now);
      } else {
        pair.a.advance(pair.now);
        pair.b.advance(pair.now);
      }
    }
    throw new Error('harness: runaway');
  };
  return pair;
}

/** a (10.0.0.1) connects to b's `port`; b accepts and closes its listener. */
export function establish(p: Pair, port = 80): { c: number; s: number } {
  const l = p.b.socket('inet', 'stream');
  assert.equal(p.b.bind(l, { addr: '0.0.0.0', port }), 0);
  assert.equal(p.b.listen(l, 5), 0);
  const c = p.a.socket('inet', 'stream');
  assert.equal(p.a.connect(c, { addr: '10.0.0.2', port }), -ERRNO.EINPROGRESS);
  p.run(p.now + 8 * p.delay + 1000);
  const s = p.b.accept(l);
  assert.ok(s >= 0);
  p.b.close(l);
  return { c, s };
}

/** Move `n` bytes a→b and read them at b, a millisecond of virtual time per turn; `each` runs after every turn. */
export function transfer(p: Pair, c: number, s: number, n: number, each?: () => void): void {
  const data = new Uint8Array(65536).fill(7);
  const buf = new Uint8Array(65536);
  let sent = 0;
  let got = 0;
  for (let guard = 0; got < n; guard++) {
    if (guard > 1_000_000) assert.fail(`stuck at ${got}/${n}`);
    if (sent < n) {
      const w = p.a.send(c, data, 0, Math.min(data.length, n - sent));
      if (w > 0) sent += w;
    }
    for (let r = p.b.recv(s, buf); r > 0; r = p.b.recv(s, buf)) got += r;
    p.run(p.now + 1000);
    each?.();
  }
}
