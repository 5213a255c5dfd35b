/**
 * The tcpcb zone (Tcp.newtcpcb / tcp_close / Engine's epoch): a freed tcpcb is handed out
 * again only after the engine was entered anew, and then starts from a new connection's
 * state — a connection on a reused tcpcb behaves exactly as one on a fresh tcpcb.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO } from '../src/kern/errno.js';
import { TCPCB_NUM_FIELDS, TT_N, Tcpcb } from '../src/tcp/var.js';
import { EpochZone } from '../src/kern/epoch_zone.js';
import { makePair, type Pair } from './tcp-harness.js';

/** One short connection a→b: connect, 5 bytes each way, client closes first; the client tcpcb. */
function exchange(p: Pair, lfd: number): Tcpcb {
  const buf = new Uint8Array(64);
  const c = p.a.socket('inet', 'stream');
  assert.equal(p.a.connect(c, { addr: '10.0.0.2', port: 80 }), -ERRNO.EINPROGRESS);
  const tp = p.a.tcp.tcbs.size > 0 ? [...p.a.tcp.tcbs].at(-1)! : null;
  assert.ok(tp !== null);
  let s = -1;
  p.run(p.now + 1_000_000, () => {
    if (s < 0) s = p.b.accept(lfd);
    return s >= 0 && p.a.send(c, Uint8Array.of(1, 2, 3, 4, 5), 0, 5) === 5;
  });
  p.run(p.now + 1_000_000, () => p.b.recv(s, buf, 0, 64) === 5);
  assert.equal(p.b.send(s, buf, 0, 5), 5);
  p.run(p.now + 1_000_000, () => p.a.recv(c, buf, 0, 64) === 5);
  assert.deepEqual([...buf.subarray(0, 5)], [1, 2, 3, 4, 5]);
  p.a.close(c);
  p.run(p.now + 1_000_000, () => p.b.recv(s, buf, 0, 64) === 0);
  p.b.close(s);
  return tp;
}

test('a freed tcpcb is reused only after the epoch ends, and starts clean', () => {
  const p = makePair(false, 11);
  p.a.sysctl.set('net.inet.tcp.msl', 100);
  p.b.sysctl.set('net.inet.tcp.msl', 100);
  const lfd = p.b.socket('inet', 'stream');
  p.b.bind(lfd, { addr: '10.0.0.2', port: 80 });
  p.b.listen(lfd, 8);
  const first = exchange(p, lfd);
  const fresh = new Tcpcb(first.inp, first.cc, () => {});
  // The numeric own fields but where each tcpcb's slots begin in the slab it shares (tvo).
  const snapshot = (tp: Tcpcb) =>
    Object.fromEntries(Object.entries(tp).filter(([k, v]) => typeof v === 'number' && k !== 'tvo'));
  const nums = (tp: Tcpcb) => ({
    timers: [...tp.tv.subarray(tp.tvo, tp.tvo + TT_N)],
    ...Object.fromEntries(TCPCB_NUM_FIELDS.map((k) => [k, (tp as unknown as Record<string, number>)[k]])),
  });
  // TIME_WAIT ends (2*MSL) inside advance(): the tcpcb goes to limbo, not to the free list.
  p.run(p.now + 1_000_000);
  assert.equal(p.a.tcp.tcbs.has(first), false);
  const c = p.a.socket('inet', 'stream');
  p.a.close(c); // a syscall is not an epoch boundary
  assert.equal(p.a.tcp.tcbZone.kept, 1);
  // The same call chain may not get it back: it is still in limbo until the engine is entered.
  const s2 = p.a.socket('inet', 'stream');
  assert.equal(p.a.connect(s2, { addr: '10.0.0.2', port: 81 }), -ERRNO.EINPROGRESS);
  const other = [...p.a.tcp.tcbs].at(-1)!;
  assert.notEqual(other, first, 'reused inside the epoch that freed it');
  p.a.close(s2); // SYN_SENT: closed at once, freed too
  p.run(p.now + 1_000_000);
  // Entered again: the next connection runs on the reused tcpcb, from a new connection's state.
  const second = exchange(p, lfd);
  assert.ok(second === first || second === other, 'the zone handed a freed tcpcb out again');
  p.run(p.now + 1_000_000);
  assert.deepEqual(p.a.census(), { pcbs: 0, tcbs: 0, callouts: 0, fds: 0, syncache: 0 });
  // What reuse runs (init) leaves a used tcpcb exactly as a new one: no field is missed.
  second.init();
  assert.deepEqual(snapshot(second), snapshot(fresh));
  assert.deepEqual(nums(second), nums(fresh), 'numeric fields and timers');
  assert.deepEqual(second.sackblks, fresh.sackblks);
  assert.deepEqual(second.ccv, fresh.ccv);
});

test('an epoch zone hands out only what was freed before the last reclaim, and keeps at most its bound', () => {
  const z = new EpochZone<number>(3);
  z.release(1);
  z.release(2);
  assert.equal(z.take(), undefined, 'limbo until the epoch ends');
  z.reclaim();
  z.release(3);
  z.release(4); // 4 is past the bound: left to the collector
  assert.equal(z.size, 3);
  assert.deepEqual([z.take(), z.take(), z.take()], [2, 1, undefined]);
  z.reclaim();
  assert.equal(z.take(), 3);
});
