/**
 * Test harness: two engines joined back to back by 'tun' interfaces (raw IP, no
 * ARP), frames copied into a FIFO and delivered with a fixed one-way delay on the
 * virtual clock, with an optional drop filter. Deterministic.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Engine, type EngineOptions } from '../src/engine.js';
import { SeededRandom } from '../src/kern/random.js';
import { ERRNO } from '../src/kern/errno.js';
import { parseIPv4 } from '@mcstack/wire';

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
  /** Deliver `frame` to `to` after the one-way delay (as a router on the path would answer). */
  inject(to: 'a' | 'b', frame: Uint8Array): void;
}

export function makePair(v6 = false, seed = 1, delayUs = 50, mtu = 1500, opts: EngineOptions = {}): Pair {
  const q: { to: 'a' | 'b'; at: number; frame: Uint8Array }[] = [];
  const pair = {} as Pair;
  pair.now = 0;
  pair.drop = null;
  pair.sent = { a: 0, b: 0 };
  pair.delay = delayUs;
  const mk = (name: 'a' | 'b', s: number) =>
    new Engine({
      ...opts,
      seed: s,
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

/** A one-way transfer from A to B on a pair (bulkTransfer()). */
export interface Transfer {
  /** A's socket. */
  c: number;
  /** Run until at least `n` bytes arrived (at EOF when `n` < 0). */
  until(n: number): void;
  /** Run to B's EOF; check every byte arrived in order (SHA-256); close B's sockets. */
  finish(): void;
}

/**
 * A connects to B (port `port`), sends `size` bytes from `seed` and closes; B accepts
 * and reads. Time moves 1 ms at a time; ten virtual minutes without progress fail.
 */
export function bulkTransfer(p: Pair, v6: boolean, size: number, seed: number, port = 5001): Transfer {
  const data = new SeededRandom(seed).fill(new Uint8Array(size));
  const l = p.b.socket(v6 ? 'inet6' : 'inet', 'stream');
  assert.equal(p.b.bind(l, { addr: v6 ? '::' : '0.0.0.0', port }), 0);
  assert.equal(p.b.listen(l, 5), 0);
  const c = p.a.socket(v6 ? 'inet6' : 'inet', 'stream');
  assert.equal(p.a.connect(c, { addr: v6 ? '2001:db8::2' : '10.0.0.2', port }), -ERRNO.EINPROGRESS);
  let s = -1;
  let off = 0;
  const got = createHash('sha256');
  let recvd = 0;
  let eof = false;
  const buf = new Uint8Array(65536);
  let closed = false;
  const pump = () => {
    if (s < 0) {
      const r = p.b.accept(l);
      if (r >= 0) s = r;
    }
    while (off < size) {
      const n = p.a.send(c, data, off, Math.min(65536, size - off));
      if (n <= 0) break;
      off += n;
    }
    if (off === size && !closed) {
      assert.equal(p.a.close(c), 0);
      closed = true;
    }
    if (s >= 0)
      for (;;) {
        const n = p.b.recv(s, buf);
        if (n > 0) {
          got.update(buf.subarray(0, n));
          recvd += n;
          continue;
        }
        if (n === 0) eof = true;
        break;
      }
  };
  const until = (want: number) => {
    let t = p.now;
    const start = t;
    for (pump(); want < 0 ? !eof : recvd < want; pump()) {
      t += 1000;
      p.run(t);
      if (t - start > 600_000_000) assert.fail(`stuck at ${recvd}/${size}`);
    }
  };
  return {
    c,
    until,
    finish() {
      until(-1);
      assert.equal(recvd, size);
      assert.equal(got.digest('hex'), createHash('sha256').update(data).digest('hex'));
      p.b.close(s);
      p.b.close(l);
    },
  };
}

/** An IPv4 address in the 16-byte in_conninfo form (v4-mapped), as the host cache keys it. */
export function addr16(text: string): Uint8Array {
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  assert.ok(parseIPv4(text, a, 12));
  return a;
}
