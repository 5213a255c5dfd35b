/**
 * khelp/hhook with OSD (kern/khelp.ts, kern/hhook.ts, kern/osd.ts) and h_ertt
 * (tcp/khelp/h_ertt.ts): RTT samples against the path delay the test imposes, and a
 * helper loaded and unloaded while connections run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO } from '../src/kern/errno.js';
import { khelpGetId, khelpGetOsd } from '../src/kern/khelp.js';
import { ERTT_NEW_MEASUREMENT, type Ertt } from '../src/tcp/khelp/h_ertt.js';
import { HHOOK_TCP_EST_IN, HHOOK_TCP_EST_OUT } from '../src/tcp/tcp_hhook.js';
import type { Tcpcb } from '../src/tcp/var.js';
import { TCP_CONGESTION } from '../src/tcp/usrreq.js';
import { IPPROTO_TCP } from '../src/netinet/in.js';
import { establish, makePair, type Pair, transfer } from './tcp-harness.js';

const tcbOf = (p: Pair, port: number): Tcpcb =>
  [...p.a.tcp.tcbs].find((tp) => tp.inp.inp_fport === port && tp.inp.inp_socket !== null)!;

test('h_ertt: rtt, minrtt and maxrtt follow the path delay the test imposes', () => {
  const p = makePair(false, 5, 5000);
  assert.ok(p.a.kldload('h_ertt') > 1);
  try {
    const id = khelpGetId('ertt');
    assert.ok(id > 0);
    const { c, s } = establish(p, 7001);
    const tp = tcbOf(p, 7001);
    const e = khelpGetOsd(tp.osd, id) as Ertt;
    assert.ok(e !== undefined, 'a connection made after the load carries the helper data');
    const seen = new Set<number>();
    const marks: number[] = [];
    const watch = () => {
      if (e.rtt > 0) seen.add(e.rtt);
      if ((e.flags & ERTT_NEW_MEASUREMENT) !== 0) {
        marks.push(e.markedpkt_rtt);
        assert.equal(e.marked_snd_cwnd > 0, true);
        e.flags &= ~ERTT_NEW_MEASUREMENT; // as a CC module consumes it
      }
    };
    // 5 ms each way: every sample is the 10 ms round trip (no queue, no serialization).
    transfer(p, c, s, 300_000, watch);
    assert.deepEqual([...seen], [10_000]);
    assert.equal(e.minrtt, 10_000);
    assert.equal(e.maxrtt, 10_000);
    assert.ok(marks.length >= 3, `a marked segment per round (${marks.length})`);
    assert.ok(marks.every((r) => r === 10_000));
    // 20 ms each way from now on.
    p.delay = 20_000;
    seen.clear();
    marks.length = 0;
    transfer(p, c, s, 600_000, watch);
    assert.equal(e.rtt, 40_000);
    assert.equal(e.minrtt, 10_000);
    assert.equal(e.maxrtt, 40_000);
    // Segments sent before the change and acknowledged after it took 25 or 40 ms.
    for (const r of seen) assert.ok(r === 25_000 || r === 40_000 || r === 10_000, `sample ${r}`);
    assert.equal(marks.at(-1), 40_000);
    p.a.close(c);
    p.b.close(s);
    p.run(p.now + 200_000_000);
  } finally {
    assert.equal(p.a.kldunload('h_ertt'), 0);
  }
});

test('a helper loaded and unloaded while connections run: old ones go without it, new ones hold it (EBUSY)', () => {
  const p = makePair(false, 6, 2000);
  const old = establish(p, 7002);
  transfer(p, old.c, old.s, 50_000);
  const heads = p.a.tcp.hhooks.heads;
  assert.equal(heads[HHOOK_TCP_EST_IN]!.nhooks + heads[HHOOK_TCP_EST_OUT]!.nhooks, 0);
  assert.ok(p.a.kldload('h_ertt') > 1);
  assert.equal(heads[HHOOK_TCP_EST_IN]!.nhooks, 1);
  assert.equal(heads[HHOOK_TCP_EST_OUT]!.nhooks, 1);
  const id = khelpGetId('ertt');
  const oldTp = tcbOf(p, 7002);
  assert.equal(khelpGetOsd(oldTp.osd, id), undefined);
  // The old connection runs on through the hooks, which skip it.
  transfer(p, old.c, old.s, 100_000);
  const young = establish(p, 7003);
  transfer(p, young.c, young.s, 100_000);
  const e = khelpGetOsd(tcbOf(p, 7003).osd, id) as Ertt;
  assert.equal(e.minrtt, 4000);
  assert.equal(p.a.kldunload('h_ertt'), -ERRNO.EBUSY);
  p.a.close(young.c);
  p.b.close(young.s);
  p.run(p.now + 200_000_000);
  assert.equal(p.a.kldunload('h_ertt'), 0);
  assert.equal(heads[HHOOK_TCP_EST_IN]!.nhooks + heads[HHOOK_TCP_EST_OUT]!.nhooks, 0);
  assert.equal(khelpGetId('ertt'), -ERRNO.ENOENT);
  transfer(p, old.c, old.s, 100_000);
  assert.equal(oldTp.osd.length, 0);
});

test('Vegas on h_ertt over a live connection: TCP_CONGESTION to vegas, data flows, the window follows delay', () => {
  const p = makePair(false, 8, 10_000);
  assert.ok(p.a.kldload('cc_vegas') > 1);
  try {
    const { c, s } = establish(p, 7004);
    assert.equal(p.a.setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, 'vegas'), 0);
    transfer(p, c, s, 2_000_000);
    const tp = tcbOf(p, 7004);
    assert.equal(tp.cc.name, 'vegas');
    // No queue on this path: Diff stays under alpha and the window keeps growing.
    assert.ok(tp.snd_cwnd > 20 * tp.t_maxseg, `cwnd ${tp.snd_cwnd}`);
    assert.equal(p.a.tcp.stat.tcps_sndrexmitpack, 0);
    p.a.close(c);
    p.b.close(s);
    p.run(p.now + 200_000_000);
  } finally {
    assert.equal(p.a.kldunload('cc_vegas'), 0);
    assert.equal(p.a.kldunload('h_ertt'), 0);
  }
});
