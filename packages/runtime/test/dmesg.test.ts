/**
 * The message buffer through the runtime: a stack with net.inet.tcp.log_in_vain=1 logs the
 * SYNs of connects to a port nobody listens on, and the worker's snapshot (what `mcstack
 * dmesg` reads) carries the lines; dmesg's formatter merges the workers' buffers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDmesg } from '@mcstack/netinet/tools';
import { Stack } from '../src/index.js';
import { waitFor } from './support/wait.js';

test('log_in_vain lines reach the snapshot of the worker that got the SYN', { timeout: 30000 }, async () => {
  const B = Stack.create({
    name: 'B',
    workers: 2,
    mac: '02:00:00:00:00:0b',
    addrs: ['10.0.0.2/24'],
    seed: 2,
    sysctl: { 'net.inet.tcp.log_in_vain': 1 },
  });
  const A = Stack.create({
    name: 'A',
    workers: 1,
    mac: '02:00:00:00:00:0a',
    addrs: ['10.0.0.1/24'],
    seed: 1,
    apps: [{ name: 'crr-client', options: { addr: '10.0.0.2', port: 9, concurrency: 4, count: 4 } }],
  });
  Stack.join(A, B);
  try {
    await B.start();
    await A.start();
    // Every connect is refused (RST): four SYNs to a closed port, each logged once by B.
    const snaps = await waitFor(
      'four log_in_vain lines',
      () => Promise.all([B.control(0).snapshot(), B.control(1).snapshot()]),
      (s) => s.reduce((n, x) => n + x.messages.length, 0) >= 4,
    );
    const text = formatDmesg(snaps);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 4, text);
    for (const l of lines) {
      assert.match(
        l,
        /^TCP: \[10\.0\.0\.1\]:\d+ to \[10\.0\.0\.2\]:9 tcpflags 0x2<SYN>; tcp_input: Connection attempt to closed port$/,
      );
    }
    // Refused: each connect's first write fails (EPIPE, as FreeBSD's sosend checks SBS_CANTSENDMORE first).
    // B logs a SYN before its RST reaches A: wait until A has no connect left in flight.
    const st = await waitFor(
      'no connect in flight',
      async () => (await A.stats()).apps['crr-client'] ?? {},
      (s) => s.opened === 4 && s.live === 0,
    );
    assert.equal(st.errors, 4, JSON.stringify(st));
  } finally {
    await Promise.allSettled([A.stop(), B.stop()]);
  }
});
