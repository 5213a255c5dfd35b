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

function sender(addr: string, connections = 1) {
  return { name: 'bulk-sender', options: { addr, port: 7, bytes: BYTES, mode: 'echo', verify: true, connections } };
}

test('TSO cut by the link, LRO in the workers: byte-exact, tso_wrs and lro_queued move, every queue in every tree', async () => {
  const p = pair(
    2,
    { capabilities: CAPS, capenable: CAPS, apps: [sender('10.0.0.2', 2)] },
    { capabilities: CAPS, capenable: CAPS, apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, async () => {
    const st = await waitFor('bulk done', appStats(p.A, 'bulk-sender'), (s) => s.done === 2);
    assert.equal(st.bytesReceived, 2 * BYTES);
    assert.equal(st.mismatches ?? 0, 0);
    // Worker 0's tree shows both queues (as FreeBSD's one driver tree does), worker 1's the same.
    const sum = async (s: typeof p.A, name: string) => {
      const per = await Promise.all([0, 1].map((q) => s.sysctl(`dev.cxgbe.0.${name.replace('N', String(q))}`)));
      for (const v of per) assert.equal(v.length, 2, 'each worker has the OID');
      return per.reduce((a, v) => a + (v[0] as number), 0);
    };
    const tsoA = await sum(p.A, 'txq.N.tso_wrs');
    const tsoB = await sum(p.B, 'txq.N.tso_wrs');
    const queuedB = await sum(p.B, 'rxq.N.lro_queued');
    const flushedB = await sum(p.B, 'rxq.N.lro_flushed');
    assert.ok(tsoA > 0, `A cut ${tsoA} TSO segments`);
    assert.ok(tsoB > 0, `B (echoing) cut ${tsoB} TSO segments`);
    assert.ok(queuedB > flushedB && flushedB > 0, `${queuedB} > ${flushedB}`);
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
