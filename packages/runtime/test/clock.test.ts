/**
 * The engine's clock in a group worker (real threads: the clock is the worker loop's).
 * An engine's time moves only when it is told (input, advance); a worker that opens a
 * connection after idling must tell it first, or the SYN goes out stamped with the time of
 * the engine's last frame — its retransmission callout already due, its timestamp echoed
 * back as an RTT as long as the idle spell. On the in-memory link nothing is lost, so
 * after a handshake no timer may have fired and the RTO must come from the link's RTT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './support/wait.js';
import { Stack, type StackOptions } from '../src/index.js';

const LATE_RR = new URL('./support/late-rr-app.js', import.meta.url).href;
/** Longer than the initial RTO (net.inet.tcp.rexmit_initial, RFC 6298 §2.1: 1 s). */
const IDLE_MS = 1200;
const CONNECTIONS = 8;

for (const strategy of ['unaligned', 'rss-groups'] as const satisfies readonly StackOptions['strategy'][]) {
  test(`${strategy}: connections opened after the workers idled ${IDLE_MS} ms: no SYN retransmitted, RTO from the link's RTT`, async () => {
    const B = Stack.create({
      name: 'B',
      workers: 2,
      strategy,
      mac: '02:00:00:00:00:0b',
      addrs: ['10.0.0.2/24'],
      seed: 2,
      apps: [{ name: 'echo', port: 7 }],
    });
    const A = Stack.create({
      name: 'A',
      workers: 2,
      strategy,
      mac: '02:00:00:00:00:0a',
      addrs: ['10.0.0.1/24'],
      seed: 1,
      apps: [
        {
          module: LATE_RR,
          name: 'late-rr',
          options: {
            addr: '10.0.0.2',
            port: 7,
            connections: CONNECTIONS,
            size: 100,
            transactions: 2,
            hold: true,
            afterMs: IDLE_MS,
          },
        },
      ],
    });
    Stack.join(A, B);
    try {
      await B.start();
      await A.start();
      const st = await waitFor(
        'every connection did its transactions',
        async () => (await A.stats()).apps['late-rr'] ?? {},
        (s) => s.held === CONNECTIONS,
        IDLE_MS + 30_000,
      );
      assert.equal(st.errors, 0);
      const a = await A.stats();
      const b = await B.stats();
      assert.equal(a.tcpstat.tcps_rexmttimeo, 0, 'no retransmission timeout on a link that loses nothing');
      assert.equal(b.tcpstat.tcps_sc_dupsyn, 0, 'no SYN came twice');
      assert.equal(a.tcpstat.tcps_badsyn_chackrst, 0, 'no SYN,ACK came to an established connection');
      for (const w of a.workers) {
        const rto = w.apps['late-rr']!.maxRtoMs!;
        assert.ok(
          rto < 1000,
          `worker ${w.worker}: RTO ${rto} ms after a handshake over an in-memory link (srtt ${w.apps['late-rr']!.maxSrttMs} ms)`,
        );
      }
    } finally {
      await A.stop();
      await B.stop();
    }
  });
}
