/**
 * Test harness: two engines joined back to back by 'tun' interfaces (raw IP, no
 * ARP), frames copied into a FIFO and delivered with a fixed one-way delay on the
 * virtual clock, with an optional drop filter. Deterministic.
 */
import { Engine, type EngineOptions } from '../src/engine.js';

export interface Pair {
  a: Engine;
  b: Engine;
  now: number;
  /** Return true to drop the frame (from: 'a' | 'b'). */
  drop: ((from: 'a' | 'b', frame: Uint8Array, n: number) => boolean) | null;
  sent: { a: number; b: number };
  run(untilUs: number, stop?: () => boolean): void;
  /** Deliver `frame` to `to` after the one-way delay (as a router on the path would answer). */
  inject(to: 'a' | 'b', frame: Uint8Array): void;
}

export function makePair(v6 = false, seed = 1, delayUs = 50, mtu = 1500, opts: EngineOptions = {}): Pair {
  const q: { to: 'a' | 'b'; at: number; frame: Uint8Array }[] = [];
  const pair = {} as Pair;
  pair.now = 0;
  pair.drop = null;
  pair.sent = { a: 0, b: 0 };
  const mk = (name: 'a' | 'b', s: number) =>
    new Engine({
      ...opts,
      seed: s,
      output: (_ifp, frame) => {
        const n = ++pair.sent[name];
        if (pair.drop?.(name, frame, n)) return;
        q.push({ to: name === 'a' ? 'b' : 'a', at: pair.now + delayUs, frame: frame.slice() });
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
  pair.inject = (to, frame) => q.push({ to, at: pair.now + delayUs, frame: frame.slice() });
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
