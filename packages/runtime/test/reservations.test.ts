import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIP } from '@mcstack/wire';
import { IPPROTO_UDP } from '@mcstack/wire';
import { IndirectionTable, FrameClassifier } from '@mcstack/rss';
import { SeededRandom } from '@mcstack/netinet';
import { ReservationTable, SO_REUSEADDR, SO_REUSEPORT, type Reservation } from '../src/reservations.js';
import { buildFrame } from './frames.js';

const ip = (s: string) => parseIP(s)!;
const ANY4 = ip('0.0.0.0');
const A = ip('10.0.0.1');
const B = ip('10.0.0.2');
const ANY6 = ip('::');
const A6 = ip('fd00::1');

function seedOf(name: string): number {
  const env = process.env.MCSTACK_SEED;
  return env !== undefined
    ? Number(env)
    : [...name].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261);
}

/** Where a link (FrameClassifier over a real reply frame) puts the reply of a reservation. */
function replyWorker(h: FrameClassifier, t: IndirectionTable, r: Reservation, proto: 'tcp' | 'udp' = 'tcp'): number {
  const f = buildFrame({ src: fmtIP(r.faddr!), dst: fmtIP(r.laddr), sport: r.fport, dport: r.lport, proto });
  return t.workerOf(h.hashFrame(f, 0, f.length));
}
function fmtIP(a: Uint8Array): string {
  return a.length === 4
    ? a.join('.')
    : [...Array(8).keys()].map((i) => ((a[2 * i]! << 8) | a[2 * i + 1]!).toString(16)).join(':');
}

test('bind: wildcard and specific addresses conflict as in_pcbbind_setup says', () => {
  const cases: [string, Uint8Array, number, Uint8Array, number, boolean][] = [
    // first bind (addr, options), second bind (addr, options), second succeeds?
    ['same specific', A, 0, A, 0, false],
    ['specific then wildcard', A, 0, ANY4, 0, false],
    ['wildcard then specific', ANY4, 0, A, 0, false],
    ['two different specifics', A, 0, B, 0, true],
    ['wildcard then specific, SO_REUSEADDR on the second', ANY4, 0, A, SO_REUSEADDR, true],
    ['specific then wildcard, SO_REUSEADDR on the second', A, 0, ANY4, SO_REUSEADDR, true],
    ['same specific, SO_REUSEADDR on both', A, SO_REUSEADDR, A, SO_REUSEADDR, false],
    ['same specific, SO_REUSEPORT on the second only', A, 0, A, SO_REUSEPORT, false],
    ['same specific, SO_REUSEPORT on both', A, SO_REUSEPORT, A, SO_REUSEPORT, true],
    ['wildcard twice, SO_REUSEPORT on both', ANY4, SO_REUSEPORT, ANY4, SO_REUSEPORT, true],
    ['wildcard twice', ANY4, 0, ANY4, 0, false],
  ];
  for (const [name, a1, o1, a2, o2, ok] of cases) {
    const t = new ReservationTable();
    t.bind(a1, 8080, { options: o1 });
    if (ok) assert.equal(t.bind(a2, 8080, { options: o2 }).lport, 8080, name);
    else assert.throws(() => t.bind(a2, 8080, { options: o2 }), { code: 'EADDRINUSE' }, name);
    assert.equal(t.bind(a2, 8081, { options: o2 }).lport, 8081, `${name}: another port is free`);
  }
  // IPv6 is its own namespace (v6only); a connected 4-tuple blocks a plain bind of its port,
  // not one with SO_REUSEADDR.
  const t = new ReservationTable();
  t.bind(ANY4, 443, {});
  assert.equal(t.bind(ANY6, 443, {}).family, 6);
  assert.throws(() => t.bind(A6, 443, {}), { code: 'EADDRINUSE' });
  t.connect(A, 5555, B, 80);
  assert.throws(() => t.bind(ANY4, 5555, {}), { code: 'EADDRINUSE' });
  assert.equal(t.bind(A, 5555, { options: SO_REUSEADDR }).lport, 5555);
  // listening sockets follow the same rules, and an accepted connection may share the listener's port.
  const l = t.listen(t.bind(B, 80, {}).id);
  assert.equal(l.kind, 'listen');
  assert.equal(t.connect(B, 80, A, 40000, 3).worker, 3);
  assert.throws(() => t.connect(B, 80, A, 40000, 1), { code: 'EADDRINUSE' }, 'no two connections share a 4-tuple');
  assert.throws(() => t.bind(B, 80, {}), { code: 'EADDRINUSE' });
});

test('bad arguments are EINVAL (or EADDRNOTAVAIL for a zero foreign end, as in_pcbconnect_setup)', () => {
  const t = new ReservationTable();
  const ind = new IndirectionTable(2);
  assert.throws(() => t.bind(new Uint8Array(5), 1, {}), { code: 'EINVAL' });
  assert.throws(() => t.bind(A, 70000, {}), { code: 'EINVAL' });
  assert.throws(() => t.connect(A, 1000, A6, 80), { code: 'EINVAL' });
  assert.throws(() => t.connectReserve(ANY4, B, 80, 0, ind), { code: 'EINVAL' });
  assert.throws(() => t.connectReserve(A, B, 80, 2, ind), { code: 'EINVAL' });
  assert.throws(() => t.connectReserve(A, B, 0, 0, ind), { code: 'EADDRNOTAVAIL' });
  assert.throws(() => t.connectReserve(A, ANY4, 80, 0, ind), { code: 'EADDRNOTAVAIL' });
  assert.throws(() => t.listen(999), { code: 'EINVAL' });
  assert.throws(() => new ReservationTable({ portRange: { first: 3000, last: 2000 } }), { code: 'EINVAL' });
});

test('ephemeral bind: in net.inet.ip.portrange, randomised from the seed, EADDRNOTAVAIL when exhausted', () => {
  const t1 = new ReservationTable({ seed: 1 });
  const t2 = new ReservationTable({ seed: 1 });
  const p1 = [0, 1, 2, 3].map(() => t1.bind(A, 0).lport);
  assert.deepEqual(
    [0, 1, 2, 3].map(() => t2.bind(A, 0).lport),
    p1,
    'same seed, same ports',
  );
  assert.ok(p1.every((p) => p >= 10000 && p <= 65535));
  assert.ok(new Set(p1).size === 4);
  const small = new ReservationTable({ seed: 2, portRange: { first: 20000, last: 20009 } });
  const got = new Set<number>();
  for (let i = 0; i < 10; i++) got.add(small.bind(ANY4, 0).lport);
  assert.equal(got.size, 10);
  assert.throws(() => small.bind(A, 0), { code: 'EADDRNOTAVAIL' });
  const seq = new ReservationTable({ portRange: { first: 30000, last: 30100, randomized: false } });
  assert.deepEqual([seq.bind(A, 0).lport, seq.bind(A, 0).lport], [30000, 30001]);
});

test("connectReserve: every chosen port's return 4-tuple lands on the requesting worker (IPv4 and IPv6, via the link's hasher)", () => {
  const seed = seedOf('align');
  const rnd = new SeededRandom(seed);
  const workers = 4;
  const ind = new IndirectionTable(workers, 64);
  for (let b = 0; b < 64; b++) ind.set(b, rnd.below(workers));
  for (let w = 0; w < workers; w++) if (ind.bucketsOf(w).length === 0) ind.set(w, w);
  const t = new ReservationTable({ seed });
  const h = new FrameClassifier();
  for (let i = 0; i < 2000; i++) {
    const w = rnd.below(workers);
    const v6 = i % 3 === 0;
    const laddr = v6 ? A6 : A;
    const faddr = v6 ? ip(`fd00::${(rnd.below(0xfff) + 2).toString(16)}`) : ip(`192.0.2.${rnd.below(250) + 1}`);
    const r = t.connectReserve(laddr, faddr, 1 + rnd.below(0xfffe), w, ind);
    assert.equal(
      replyWorker(h, ind, r),
      w,
      `seed ${seed}: reply of ${fmtIP(r.faddr!)}:${r.fport} -> :${r.lport} misdirected`,
    );
    assert.equal(r.worker, w);
  }
  assert.equal(t.size, 2000);
});

test('connectReserve: EADDRNOTAVAIL once every aligned port of a small range is taken; a release frees one', () => {
  const ind = new IndirectionTable(2, 8);
  const t = new ReservationTable({ seed: 7, portRange: { first: 20000, last: 20063 } });
  const h = new FrameClassifier();
  const faddr = ip('198.51.100.7');
  // Count the aligned ports independently: hash the reply frame of each candidate port.
  let aligned = 0;
  for (let p = 20000; p <= 20063; p++) {
    const f = buildFrame({ src: '198.51.100.7', dst: '10.0.0.1', sport: 443, dport: p });
    if (ind.workerOf(h.hashFrame(f, 0, f.length)) === 1) aligned++;
  }
  assert.ok(aligned > 0 && aligned < 64);
  // A bound port and a wildcard listener inside the range are never handed out.
  const held = t.bind(ANY4, 0, {});
  const got: Reservation[] = [];
  for (;;) {
    try {
      got.push(t.connectReserve(A, faddr, 443, 1, ind));
    } catch (e) {
      assert.equal((e as { code: string }).code, 'EADDRNOTAVAIL');
      break;
    }
  }
  const heldAligned = replyWorker(h, ind, { ...held, faddr, fport: 443, laddr: A } as Reservation) === 1 ? 1 : 0;
  assert.equal(got.length, aligned - heldAligned);
  assert.ok(got.every((r) => r.lport !== held.lport));
  assert.equal(new Set(got.map((r) => r.lport)).size, got.length);
  // Another destination may reuse the same local ports (the 4-tuple is what must be unique).
  assert.ok(t.connectReserve(A, faddr, 444, 1, ind).lport >= 20000);
  t.release(got[3]!.id);
  assert.equal(t.connectReserve(A, faddr, 443, 1, ind).lport, got[3]!.lport);
});

test('connectReserve with a 2-tuple hash type (UDP under the default config): the address pair decides', () => {
  const ind = new IndirectionTable(2, 2);
  const t = new ReservationTable();
  const h = new FrameClassifier();
  const faddr = ip('203.0.113.9');
  const f = buildFrame({ src: '203.0.113.9', dst: '10.0.0.1', sport: 53, dport: 1, proto: 'udp' });
  const owner = ind.workerOf(h.hashFrame(f, 0, f.length));
  const r = t.connectReserve(A, faddr, 53, owner, ind, { protocol: IPPROTO_UDP });
  assert.equal(replyWorker(h, ind, r, 'udp'), owner);
  assert.throws(() => t.connectReserve(A, faddr, 53, 1 - owner, ind, { protocol: IPPROTO_UDP }), {
    code: 'EADDRNOTAVAIL',
  });
});

test('seeded interleaving of reserve/release from many workers: never two connections on one 4-tuple, every answer as a brute-force oracle says', () => {
  const seed = seedOf('interleave');
  const rnd = new SeededRandom(seed);
  const workers = 8;
  const ind = new IndirectionTable(workers, 32);
  const first = 40000,
    last = 40127;
  const t = new ReservationTable({ seed, portRange: { first, last } });
  const h = new FrameClassifier();
  const laddrs = [A, B];
  const faddrs = [ip('192.0.2.1'), ip('192.0.2.2'), ip('192.0.2.3')];
  const fports = [80, 443];
  const live = new Map<number, Reservation>();
  const same = (x: Uint8Array, y: Uint8Array) => x.length === y.length && x.every((v, i) => v === y[i]);
  const zero = (x: Uint8Array) => x.every((v) => v === 0);
  const tupleLive = (la: Uint8Array, lp: number, fa: Uint8Array, fp: number) =>
    [...live.values()].some(
      (r) => r.kind === 'connected' && r.lport === lp && r.fport === fp && same(r.laddr, la) && same(r.faddr!, fa),
    );
  const counts = { reserve: 0, notavail: 0, explicit: 0, inuse: 0, bind: 0, bindinuse: 0, release: 0, dead: 0 };
  for (let step = 0; step < 4000; step++) {
    const w = rnd.below(workers);
    const op = rnd.below(10);
    const la = laddrs[rnd.below(2)]!;
    const fa = faddrs[rnd.below(3)]!;
    const fp = fports[rnd.below(2)]!;
    const ctx = `seed ${seed} step ${step}`;
    if (op < 4) {
      // Active open; oracle: EADDRNOTAVAIL iff no port in range is aligned, free as a tuple and unbound.
      let r: Reservation | undefined;
      try {
        r = t.connectReserve(la, fa, fp, w, ind);
      } catch (e) {
        assert.equal((e as { code: string }).code, 'EADDRNOTAVAIL', ctx);
      }
      if (r === undefined) {
        counts.notavail++;
        for (let p = first; p <= last; p++) {
          const f = buildFrame({ src: fmtIP(fa), dst: fmtIP(la), sport: fp, dport: p });
          if (ind.workerOf(h.hashFrame(f, 0, f.length)) !== w) continue;
          const bound = [...live.values()].some(
            (x) => x.kind !== 'connected' && x.lport === p && (zero(x.laddr) || same(x.laddr, la)),
          );
          assert.ok(bound || tupleLive(la, p, fa, fp), `${ctx}: port ${p} was available but refused`);
        }
      } else {
        counts.reserve++;
        assert.ok(!tupleLive(la, r.lport, fa, fp), `${ctx}: 4-tuple handed out twice`);
        assert.equal(replyWorker(h, ind, r), w, ctx);
        live.set(r.id, r);
      }
    } else if (op < 6) {
      // Passive open (a SYN on worker w) on a random port: EADDRINUSE iff the tuple is live.
      const lp = first + rnd.below(last - first + 1);
      const expectInUse = tupleLive(la, lp, fa, fp);
      try {
        const r = t.connect(la, lp, fa, fp, w);
        assert.ok(!expectInUse, `${ctx}: duplicate 4-tuple accepted`);
        live.set(r.id, r);
        counts.explicit++;
      } catch (e) {
        assert.equal((e as { code: string }).code, 'EADDRINUSE', ctx);
        assert.ok(expectInUse, `${ctx}: refused a free 4-tuple`);
        counts.inuse++;
      }
    } else if (op < 7) {
      // A bind in the range: specific or wildcard, sometimes with SO_REUSEADDR.
      const lp = first + rnd.below(last - first + 1);
      const addr = rnd.below(3) === 0 ? ANY4 : la;
      const opts = rnd.below(2) === 0 ? SO_REUSEADDR : 0;
      const expectInUse = [...live.values()].some(
        (x) =>
          x.lport === lp &&
          (opts === 0
            ? zero(addr) || zero(x.laddr) || same(x.laddr, addr)
            : x.kind !== 'connected' && same(x.laddr, addr)),
      );
      try {
        const r = t.bind(addr, lp, { options: opts, worker: w });
        assert.ok(!expectInUse, `${ctx}: conflicting bind accepted`);
        live.set(r.id, r);
        counts.bind++;
      } catch (e) {
        assert.equal((e as { code: string }).code, 'EADDRINUSE', ctx);
        assert.ok(expectInUse, `${ctx}: bind refused without a conflict`);
        counts.bindinuse++;
      }
    } else if (op < 9 && live.size > 0) {
      const ids = [...live.keys()];
      const id = ids[rnd.below(ids.length)]!;
      assert.ok(t.release(id), ctx);
      assert.ok(!t.release(id), `${ctx}: double release`);
      live.delete(id);
      counts.release++;
    } else if (op === 9 && rnd.below(20) === 0) {
      // A worker dies: the coordinator frees everything it held.
      const held = [...live.values()].filter((r) => r.worker === w).length;
      assert.equal(t.releaseWorker(w), held, ctx);
      for (const [id, r] of live) if (r.worker === w) live.delete(id);
      counts.dead++;
    }
    // Invariant after every step: the table holds exactly the live set, 4-tuples unique.
    if (step % 50 === 0 || step === 3999) {
      assert.equal(t.size, live.size, ctx);
      const keys = new Set<string>();
      for (const r of t.entries()) {
        if (r.kind !== 'connected') continue;
        const k = `${r.laddr.join('.')}:${r.lport}>${r.faddr!.join('.')}:${r.fport}`;
        assert.ok(!keys.has(k), `${ctx}: two connections share ${k}`);
        keys.add(k);
        assert.equal(t.lookupConnected(r.laddr, r.lport, r.faddr!, r.fport), r);
      }
    }
  }
  for (const [k, v] of Object.entries(counts)) assert.ok(v > 0, `seed ${seed}: the interleaving never exercised ${k}`);
});

test('tens of thousands of live 4-tuples under churn: lookups, EADDRINUSE and stale ids as a Map oracle says', () => {
  const seed = seedOf('churn');
  const rnd = new SeededRandom(seed);
  const t = new ReservationTable({ seed });
  const locals = [A, B, A6, ip('fd00::2')];
  const foreign = Array.from({ length: 40 }, (_, i) =>
    i % 4 === 0 ? ip(`fd00::${(i + 16).toString(16)}`) : ip(`192.0.2.${i + 1}`),
  );
  const oracle = new Map<string, Reservation>();
  const keys: string[] = [];
  const stale: number[] = [];
  for (let step = 0; step < 60000; step++) {
    const ctx = `seed ${seed} step ${step}`;
    const fa = foreign[rnd.below(foreign.length)]!;
    const la = locals[(fa.length === 16 ? 2 : 0) + rnd.below(2)]!;
    const lport = 1 + rnd.below(2000);
    const fport = [80, 443, 8080][rnd.below(3)]!;
    const k = `${la.join('.')}:${lport}>${fa.join('.')}:${fport}`;
    const have = oracle.get(k);
    if (have !== undefined) {
      assert.throws(() => t.connect(la, lport, fa, fport), { code: 'EADDRINUSE' }, ctx);
      assert.equal(t.lookupConnected(la, lport, fa, fport), have, ctx);
    } else {
      assert.equal(t.lookupConnected(la, lport, fa, fport), undefined, ctx);
      oracle.set(k, t.connect(la, lport, fa, fport));
      keys.push(k);
    }
    if (oracle.size > 20000 || rnd.below(3) === 0) {
      const i = rnd.below(keys.length);
      const gone = keys[i]!;
      keys[i] = keys[keys.length - 1]!;
      keys.pop();
      const r = oracle.get(gone)!;
      oracle.delete(gone);
      assert.ok(t.release(r.id), ctx);
      stale.push(r.id);
    }
    // An id released earlier frees nothing, whoever holds its slot now.
    if (step % 100 === 0 && stale.length > 0) assert.equal(t.release(stale[rnd.below(stale.length)]!), false, ctx);
  }
  assert.ok(oracle.size > 15000);
  assert.equal(t.size, oracle.size);
  for (const r of oracle.values()) assert.equal(t.lookupConnected(r.laddr, r.lport, r.faddr!, r.fport), r);
  assert.equal([...t.entries()].length, oracle.size);
});

test('a full table is ENOBUFS for every kind of reservation until one is released; a worker frees only its own', () => {
  const ind = new IndirectionTable(1);
  const t = new ReservationTable({ max: 3 });
  const a = t.connect(A, 1000, B, 80, 0);
  t.bind(A, 2000, { worker: 1 });
  t.connectReserve(A, B, 80, 0, ind);
  assert.throws(() => t.connect(A, 1001, B, 80), { code: 'ENOBUFS' });
  assert.throws(() => t.connectReserve(A, B, 80, 0, ind), { code: 'ENOBUFS' });
  assert.throws(() => t.bind(A, 0), { code: 'ENOBUFS' });
  assert.equal(t.size, 3);
  assert.equal(t.release(a.id, 1), false, 'worker 1 does not hold it');
  assert.equal(t.release(a.id, 0), true);
  assert.equal(t.connect4(0x0a000001, 1001, 0x0a000002, 80, 2).worker, 2);
  assert.throws(() => new ReservationTable({ max: 0 }), { code: 'EINVAL' });
});

test('rehome: a live handoff moves a connected 4-tuple to another worker, still reserved; its new owner frees it', () => {
  const t = new ReservationTable();
  const c = t.connect(A, 1000, B, 80, 0);
  const l = t.bind(A, 2000, { worker: 0 });
  assert.equal(t.rehome(l.id, 0, 2), false, 'only connected tuples move');
  assert.equal(t.rehome(c.id, 1, 2), false, 'worker 1 does not hold it');
  assert.equal(t.rehome(c.id, 0, 2), true);
  assert.equal(t.get(c.id)?.worker, 2);
  assert.throws(() => t.connect(A, 1000, B, 80, 1), { code: 'EADDRINUSE' });
  assert.equal(t.release(c.id, 0), false, 'the old owner no longer frees it');
  assert.equal(t.rehome(c.id, 2, 0), true, 'and back');
  assert.equal(t.releaseWorker(0), 2);
  assert.equal(t.get(c.id), undefined);
});
