/**
 * Offloads across the link matrix with real workers: A's TSO segments are cut by the
 * in-memory link into B's rings, B's worker merges them again with LRO, the data
 * arrives byte for byte (IPv4 and IPv6), the queues' counters move where cxgbe(4) shows
 * them, and `ifconfig -tso -lro` in the workers stops both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats } from './support/pair.js';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TSO, IFCAP_LRO } from '@mcstack/netinet';

const CAPS = IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TSO | IFCAP_LRO;
const BYTES = 2 << 20;

function sender(addr: string) {
  return { name: 'bulk-sender', options: { addr, port: 7, bytes: BYTES, mode: 'echo', verify: true } };
}

test('TSO cut by the link, LRO in the worker: byte-exact both ways, tso_wrs and lro_queued move; ifconfig -tso -lro stops them', async () => {
  const p = pair(
    1,
    { capabilities: CAPS, capenable: CAPS, apps: [sender('10.0.0.2')] },
    { capabilities: CAPS, capenable: CAPS, apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, async () => {
    const st = await waitFor('bulk done', appStats(p.A, 'bulk-sender'), (s) => s.done === 1);
    assert.equal(st.bytesReceived, BYTES);
    assert.equal(st.mismatches ?? 0, 0);
    const [tsoA] = await p.A.sysctl('dev.cxgbe.0.txq.0.tso_wrs');
    const [tsoB] = await p.B.sysctl('dev.cxgbe.0.txq.0.tso_wrs');
    const [queuedB] = await p.B.sysctl('dev.cxgbe.0.rxq.0.lro_queued');
    const [flushedB] = await p.B.sysctl('dev.cxgbe.0.rxq.0.lro_flushed');
    assert.ok((tsoA as number) > 0, `A cut ${tsoA} TSO segments`);
    assert.ok((tsoB as number) > 0, `B (echoing) cut ${tsoB} TSO segments`);
    assert.ok((queuedB as number) > (flushedB as number) && (flushedB as number) > 0, `${queuedB} > ${flushedB}`);
    const b = await p.B.stats();
    assert.equal(b.tcpstat.tcps_rcvbadsum ?? 0, 0);
    // The counters are read-only, as a driver's are.
    await assert.rejects(p.B.sysctl('dev.cxgbe.0.rxq.0.lro_queued', 0));
  });
});

test('ifconfig -tso -lro in a worker: that stack neither asks for TSO nor merges, its peer still does', async () => {
  // B sends (IPv6) to A's echo; A is started first and loses TSO and LRO before B starts.
  const p = pair(
    1,
    { capabilities: CAPS, capenable: CAPS, apps: [{ name: 'echo', port: 7 }] },
    { capabilities: CAPS, capenable: CAPS, apps: [sender('fd00::1')] },
  );
  try {
    await p.A.start();
    await p.A.control(0).ifconfig(['cxgbe0', '-tso', '-lro']);
    await p.B.start();
    const st = await waitFor('bulk done', appStats(p.B, 'bulk-sender'), (s) => s.done === 1);
    assert.equal(st.bytesReceived, BYTES);
    assert.deepEqual(await p.A.sysctl('dev.cxgbe.0.txq.0.tso_wrs'), [0]);
    assert.deepEqual(await p.A.sysctl('dev.cxgbe.0.rxq.0.lro_queued'), [0]);
    const [tsoB] = await p.B.sysctl('dev.cxgbe.0.txq.0.tso_wrs');
    const [queuedB] = await p.B.sysctl('dev.cxgbe.0.rxq.0.lro_queued');
    assert.ok((tsoB as number) > 0 && (queuedB as number) > 0, `B: tso_wrs ${tsoB}, lro_queued ${queuedB}`);
  } finally {
    await p.B.stop();
    await p.A.stop();
  }
});
