/**
 * Cross-thread lookups under the owning group's lock (real worker threads: the lock is
 * between threads). Stack.pcblookup finds a connection in the group RSS puts it in; while
 * the coordinator holds a group's lock that group takes no frame off its rings, yet
 * answers control calls, and it catches up after release(); netstat and setIndirection
 * wait for the hold. Outcomes only: counters that must not move while held, and bounded
 * waits (support/wait.ts) for what must happen after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats, connected } from './support/pair.js';
import {
  type Stack,
  FrameRing,
  INPLOOKUP_RLOCKPCB,
  INPLOOKUP_WLOCKPCB,
  INPLOOKUP_WILDCARD,
  type NetstatEntry,
  type PcbTuple,
  type LinkMatrix,
} from '../src/index.js';

const RR_APP = new URL('./support/rr-app.js', import.meta.url).href;

const rr = (connections: number, addr = '10.0.0.2') => ({
  name: 'rr-client',
  options: { addr, port: 7, connections, size: 100 },
});
const tupleOf = (e: NetstatEntry): PcbTuple => ({ faddr: e.faddr, fport: e.fport, laddr: e.laddr, lport: e.lport });
const counters = (s: Stack, w: number) => s.control(w).counters();
/** Frames A's workers put on the rings to B's worker `w` that it has not taken yet. */
const queuedFor = (link: LinkMatrix, w: number) => link.aToB.reduce((n, row) => n + FrameRing.attach(row[w]!).count, 0);

test('Stack.pcblookup finds each connection, IPv4 and IPv6, in the group RSS puts it in; absent tuples are null; bad flags and tuples EINVAL', async () => {
  const p = pair(
    2,
    {
      apps: [rr(6), { module: RR_APP, name: 'rr6', options: { addr: 'fd00::2', port: 7, connections: 4, size: 100 } }],
    },
    { apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, async () => {
    await waitFor('rr running', appStats(p.A, 'rr-client'), (s) => s.established === 6 && s.transactions > 12);
    await waitFor('rr6 running', appStats(p.A, 'rr6'), (s) => s.established === 4 && s.transactions > 8);
    for (const s of [p.B, p.A]) {
      const live = connected(await s.netstat());
      assert.equal(live.length, 10);
      assert.deepEqual(new Set(live.map((e) => e.proto)), new Set(['tcp4', 'tcp6']));
      for (const e of live) {
        const pcb = await s.pcblookup(tupleOf(e), 0);
        assert.ok(pcb !== null, `${s.name} ${e.faddr}.${e.fport}`);
        assert.equal(pcb.locked, false);
        assert.equal(pcb.worker, e.worker, 'the owning group, from the RSS hash and the indirection table');
        assert.equal(s.indirection.entries[pcb.bucket], pcb.worker);
        assert.equal(pcb.state, 'ESTABLISHED');
        assert.deepEqual(
          [pcb.proto, pcb.faddr, pcb.fport, pcb.laddr, pcb.lport],
          [e.proto, e.faddr, e.fport, e.laddr, e.lport],
        );
        assert.ok(pcb.rcv_nxt !== 0 && pcb.snd_nxt !== 0 && pcb.snd_wnd > 0 && pcb.rcv_wnd > 0);
        pcb.release();
      }
    }
    // No such connection: null, nothing held (netstat below would wait for a hold).
    const absent = { faddr: '10.0.0.1', fport: 1, laddr: '10.0.0.2', lport: 7 };
    assert.equal(await p.B.pcblookup(absent, INPLOOKUP_RLOCKPCB), null);
    assert.equal(await p.B.pcblookup({ ...absent, faddr: 'fd00::1', laddr: 'fd00::2' }, INPLOOKUP_WLOCKPCB), null);
    // With INPLOOKUP_WILDCARD the listener every group holds answers, in the tuple's group.
    const wild = await p.B.pcblookup(absent, INPLOOKUP_WILDCARD | INPLOOKUP_RLOCKPCB);
    assert.ok(wild !== null);
    assert.equal(wild.state, 'LISTEN');
    assert.equal(wild.lport, 7);
    assert.equal(wild.locked, true);
    wild.release();
    wild.release();
    assert.equal(connected(await p.B.netstat()).length, 10);
    for (const flags of [0x8, -1, 1.5, INPLOOKUP_RLOCKPCB | INPLOOKUP_WLOCKPCB, 0x100000002]) {
      await assert.rejects(p.B.pcblookup(absent, flags), { code: 'EINVAL' }, `flags ${flags}`);
    }
    await assert.rejects(p.B.pcblookup({ ...absent, faddr: 'nope' }, 0), { code: 'EINVAL' });
    await assert.rejects(p.B.pcblookup({ ...absent, faddr: 'fd00::1' }, 0), { code: 'EINVAL' });
    await assert.rejects(p.B.pcblookup({ ...absent, lport: 65536 }, 0), { code: 'EINVAL' });
    await assert.rejects(p.B.control(0).pcblookup(absent, 0x8), { code: 'EINVAL' });
  });
});

test('a coordinator hold (INPLOOKUP_RLOCKPCB) stops the group taking frames until release(); control calls are still answered; netstat waits for it', async () => {
  const p = pair(2, { apps: [rr(8)] }, { apps: [{ name: 'echo', port: 7 }] });
  await withPair(p, async () => {
    await waitFor('rr running', appStats(p.A, 'rr-client'), (s) => s.established === 8 && s.transactions > 16);
    const e = connected(await p.B.netstat())[0]!;
    const w = e.worker;
    // A slice of the worker's after netstat's hold: a wait it began under that hold (and may
    // go on waiting in, should the hold below win the lock first) is not counted after this.
    const settled = await counters(p.B, w);
    await waitFor(
      'a slice after netstat',
      () => counters(p.B, w),
      (c) => c.loops > settled.loops,
    );
    const before = await counters(p.B, w);
    const h = await p.B.pcblookup(tupleOf(e), INPLOOKUP_RLOCKPCB);
    assert.ok(h?.locked && h.worker === w && h.state === 'ESTABLISHED');
    try {
      // Answered while held: control calls run under the coordinator's hold.
      const c0 = await counters(p.B, w);
      // The peer keeps sending (requests, retransmissions); none is taken off the rings.
      await waitFor(
        'frames queued for the held group',
        async () => queuedFor(p.link, w),
        (n) => n > 0,
      );
      // The worker's next slice found the lock held and waited (the coordinator's lockAsync
      // may have waited for the worker's slice too: both count).
      const c1 = await waitFor(
        'the held worker waited for its lock',
        () => counters(p.B, w),
        (c) => c.lockWaits > before.lockWaits,
      );
      let listed = false;
      const ns = p.B.netstat().then((l) => {
        listed = true;
        return l;
      });
      assert.equal(c1.rxFrames, c0.rxFrames, 'no frame processed while held');
      assert.equal(c1.loops, c0.loops, 'no slice ran while held');
      assert.ok(queuedFor(p.link, w) > 0);
      // The pcb is as described: nothing of the group ran.
      const now = await p.B.control(w).pcblookup(tupleOf(e), 0);
      assert.ok(now !== null);
      for (const k of ['state', 'snd_una', 'snd_nxt', 'rcv_nxt', 'recvQ', 'sendQ'] as const)
        assert.equal(now[k], h[k], k);
      await counters(p.B, w);
      assert.equal(listed, false, 'netstat waits for the group lock');
      h.release();
      assert.equal(connected(await ns).length, 8);
      // After release it catches up: the frames are taken and the connection moves on.
      await waitFor(
        'the held worker catches up',
        () => counters(p.B, w),
        (c) => c.rxFrames > c1.rxFrames && c.loops > c1.loops,
      );
      await waitFor(
        'the connection moved on',
        () => p.B.pcblookup(tupleOf(e), 0),
        (d) => d !== null && d.rcv_nxt !== h.rcv_nxt,
      );
      const st = await appStats(p.A, 'rr-client')();
      assert.equal(st.errors, 0);
      assert.equal(st.resets, 0);
    } finally {
      h.release();
    }
  });
});

test('unaligned strategy: a held owner takes no frame, hopped or not, while its sibling runs on; after release every hop arrives', async () => {
  const p = pair(2, { apps: [rr(8)] }, { apps: [{ name: 'echo', port: 7 }] }, 'unaligned');
  await withPair(p, async () => {
    await waitFor('rr running', appStats(p.A, 'rr-client'), (s) => s.established === 8 && s.transactions > 16);
    const e = connected(await p.B.netstat())[0]!;
    const w = e.worker;
    const h = await p.B.pcblookup(tupleOf(e), INPLOOKUP_WLOCKPCB);
    assert.ok(h?.locked);
    try {
      const held = await counters(p.B, w);
      const sib = await counters(p.B, 1 - w);
      // One group's lock excludes that group only: the sibling's loop goes on (taking
      // frames off the link and hopping the held group's to it, when the round robin
      // sends it any: which batches land where is the peer's timing).
      await waitFor(
        'the sibling runs',
        () => counters(p.B, 1 - w),
        (c) => c.loops > sib.loops + 1000,
      );
      const still = await counters(p.B, w);
      assert.equal(still.hopsIn, held.hopsIn, 'no hopped frame looked up while held');
      assert.equal(still.rxFrames, held.rxFrames);
      assert.equal(still.loops, held.loops);
    } finally {
      h.release();
    }
    const st = await appStats(p.A, 'rr-client')();
    await waitFor('transactions go on', appStats(p.A, 'rr-client'), (s) => s.transactions > st.transactions + 16);
    assert.equal((await appStats(p.A, 'rr-client')()).errors, 0);
    // Quiet the link, then every frame hopped has been taken off the hop rings.
    await p.A.stop();
    const t = await waitFor(
      'every hop arrives',
      async () => (await p.B.stats()).total,
      (x) => x.hops === x.hopsIn,
    );
    assert.ok(t.hops! > 0);
    assert.equal(t.hopDrops, 0);
  });
});

test("setIndirection holds the losing group's lock across its check: EBUSY for live connections, and it waits for a pcblookup hold", async () => {
  // 16 buckets, 4 connections: each group owns 8 buckets, so one of them holds none.
  const p = pair(2, { apps: [rr(4)] }, { apps: [{ name: 'echo', port: 7 }], buckets: 16 });
  await withPair(p, async () => {
    await waitFor('rr running', appStats(p.A, 'rr-client'), (s) => s.established === 4 && s.transactions > 8);
    const live = connected(await p.B.netstat());
    const e = live[0]!;
    const w = e.worker;
    const other = 1 - w;
    await assert.rejects(p.B.setIndirection([[e.bucket, other]]), { code: 'EBUSY' });
    assert.equal(p.B.indirection.entries[e.bucket], w);
    const free = p.B.indirection.bucketsOf(w).find((b) => !live.some((x) => x.bucket === b))!;
    assert.ok(free !== undefined);
    const h = await p.B.pcblookup(tupleOf(e), INPLOOKUP_RLOCKPCB);
    assert.ok(h !== null);
    let moved = false;
    const move = p.B.setIndirection([[free, other]]).then((c) => {
      moved = true;
      return c;
    });
    try {
      // Two round trips to the held worker; the change needs its lock and cannot have happened.
      await counters(p.B, w);
      await counters(p.B, w);
      assert.equal(moved, false);
      assert.equal(p.B.indirection.entries[free], w);
    } finally {
      h.release();
    }
    assert.deepEqual(await move, [{ bucket: free, from: w, to: other }]);
    assert.equal(p.B.indirection.entries[free], other);
    // The connections stay where they were and keep working.
    const st = await appStats(p.A, 'rr-client')();
    await waitFor('still serving', appStats(p.A, 'rr-client'), (s) => s.transactions > st.transactions + 8);
    assert.equal(connected(await p.B.netstat()).filter((x) => x.state === 'ESTABLISHED').length, 4);
  });
});
