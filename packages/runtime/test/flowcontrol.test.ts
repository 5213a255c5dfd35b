/**
 * Flow control across real workers: B's worker stops polling its rings for a while
 * (debug.rxstall_ms, a descheduled receiver) during a bulk transfer over small rings.
 * With flow control (the default, mediaopt rxpause,txpause) A's frames wait in its
 * transmit queue: nothing is dropped and no retransmission timeout fires. Without it
 * (flowControl: false) the full ring loses frames, counted in txDrops. Both byte-exact.
 * A's queue shows both in its tree: dev.cxgbe.0.txq.0.r_enqueues and r_drops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats } from './support/pair.js';

const BYTES = 24 << 20;
/** Stalls shorter than net.inet.tcp.rexmit_min (30 ms): an RTO would be the drops' doing. */
const STALL_MS = 8;

/** `off`: created without it; `ifconfig`: turned off on A's cxgbe0 with -mediaopt before the stalls. */
async function stalledBulk(flowControl: boolean | 'ifconfig') {
  const opts = { flowControl: flowControl === true || flowControl === 'ifconfig', ringSlots: 64, qsizeTxq: 2048 };
  const p = pair(
    1,
    {
      ...opts,
      apps: [{ name: 'bulk-sender', options: { addr: '10.0.0.2', port: 7, bytes: BYTES, mode: 'echo', verify: true } }],
    },
    { ...opts, apps: [{ name: 'echo', port: 7 }] },
  );
  return withPair(p, async () => {
    if (flowControl === 'ifconfig') await p.A.ifconfig(['cxgbe0', '-mediaopt', 'rxpause,txpause']);
    await waitFor('bulk under way', appStats(p.A, 'bulk-sender'), (s) => (s.bytesSent ?? 0) > 1 << 20);
    for (let i = 0; i < 4; i++) {
      await p.B.sysctl('debug.rxstall_ms', STALL_MS);
      await new Promise((r) => setTimeout(r, STALL_MS * 3));
    }
    const st = await waitFor('bulk done', appStats(p.A, 'bulk-sender'), (s) => s.done === 1, 60_000);
    const a = await p.A.stats();
    const [enqueues] = await p.A.sysctl('dev.cxgbe.0.txq.0.r_enqueues');
    const [rDrops] = await p.A.sysctl('dev.cxgbe.0.txq.0.r_drops');
    const drops = a.total.txDrops ?? 0;
    assert.equal(rDrops, drops, 'r_drops is the worker counters txDrops');
    return { st, drops, enqueues: enqueues as number, rto: a.tcpstat.tcps_rexmttimeo ?? 0 };
  });
}

test('receiver stalls with flow control: no drops, no RTO, byte-exact', async () => {
  const r = await stalledBulk(true);
  assert.equal(r.st.bytesReceived, BYTES);
  assert.equal(r.st.mismatches ?? 0, 0);
  assert.equal(r.drops, 0, 'frames dropped with flow control on');
  assert.ok(r.enqueues > 0, 'no frame waited in the transmit queue although the receiver stalled');
  assert.equal(r.rto, 0, 'a retransmission timeout with flow control on');
});

test('receiver stalls without flow control: the full ring drops frames (counted), still byte-exact', async () => {
  const r = await stalledBulk(false);
  assert.equal(r.st.bytesReceived, BYTES);
  assert.equal(r.st.mismatches ?? 0, 0);
  assert.ok(r.drops > 0, 'no drops although the receiver stalled with a 64-slot ring');
  assert.equal(r.enqueues, 0, 'a frame queued without flow control');
});

test('ifconfig cxgbe0 -mediaopt rxpause,txpause on a running stack: its frames are dropped again', async () => {
  const r = await stalledBulk('ifconfig');
  assert.equal(r.st.bytesReceived, BYTES);
  assert.ok(r.drops > 0, 'no drops although flow control was turned off and the receiver stalled');
});
