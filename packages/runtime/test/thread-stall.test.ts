/**
 * A sender's worker thread kept off the CPU past its retransmission timeout (debug.stall_ms:
 * nothing runs, as when a loaded machine's scheduler keeps the thread waiting) while the
 * receiver acknowledges what was in flight: when the thread runs again it reads the ACKs
 * queued for it before running the timers that fell due (Engine.inputQueued), so no RTO
 * fires. Timers first would retransmit spuriously (tcps_rexmttimeo) before seeing the ACKs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats } from './support/pair.js';

const BYTES = 16 << 20;
/** Longer than the RTO (rexmit_min 30 ms + rexmit_slop 200 ms over an RTT of well under 1 ms). */
const STALL_MS = 400;

test('a worker kept off the CPU past the RTO reads its queued ACKs before its timers: no RTO', async () => {
  const p = pair(
    1,
    {
      apps: [{ name: 'bulk-sender', options: { addr: '10.0.0.2', port: 7, bytes: BYTES, mode: 'echo', verify: true } }],
    },
    { apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, async () => {
    await waitFor('bulk under way', appStats(p.A, 'bulk-sender'), (s) => (s.bytesSent ?? 0) > 1 << 20);
    const t0 = performance.now();
    await p.A.sysctl('debug.stall_ms', STALL_MS);
    // Reads wait for the worker's event loop, which the stall holds: 0 once it is over.
    await waitFor(
      'the stall over',
      async () => (await p.A.sysctl('debug.stall_ms'))[0],
      (v) => v === 0,
      10_000,
    );
    const stalled = performance.now() - t0;
    assert.ok(stalled >= STALL_MS - 5, `the thread stopped for ${stalled.toFixed(0)} ms only`);
    const st = await waitFor('bulk done', appStats(p.A, 'bulk-sender'), (s) => s.done === 1, 60_000);
    assert.equal(st.bytesReceived, BYTES);
    assert.equal(st.mismatches ?? 0, 0);
    const a = await p.A.stats();
    assert.equal(a.tcpstat.tcps_rexmttimeo ?? 0, 0, 'a retransmission timeout after the stall');
  });
});
