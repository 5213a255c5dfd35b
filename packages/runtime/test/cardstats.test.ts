/**
 * cxgbe0's per-queue counters (cardstats.ts): each worker's tree shows every queue's rxq
 * and txq counters — its own live, the others' as their workers last published them — so
 * a LinkTx's software-queue, drop and TOE counters read back under dev.cxgbe.0.txq.N.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SysctlTree, type LroStats } from '@mcstack/netinet';
import { CardQueueStats, cardStatsBytes, nativeTxq, type TxqCounters } from '../src/cardstats.js';

type Tx = { -readonly [K in keyof TxqCounters]: number };

function queue(sab: SharedArrayBuffer, q: number) {
  const lro: LroStats = { lro_queued: 0, lro_flushed: 0, lro_bad_csum: 0 };
  const tx: Tx = { tsoWrs: 0, queued: 0, drops: 0, toCard: 0, handoffDrops: 0, wireDrops: 0 };
  const stats = new CardQueueStats(sab, q, lro, tx);
  const tree = new SysctlTree();
  stats.register(tree);
  return { lro, tx, stats, tree };
}

test('txq counters read back: live in the own tree, published in the others', () => {
  const sab = new SharedArrayBuffer(cardStatsBytes(2));
  const [q0, q1] = [queue(sab, 0), queue(sab, 1)];
  Object.assign(q1.tx, { tsoWrs: 1, queued: 2, drops: 3, toCard: 4, handoffDrops: 5, wireDrops: 7 });
  q1.lro.lro_queued = 6;
  const names = ['tso_wrs', 'r_enqueues', 'r_drops', 'toe_frames', 'toe_hold_drops', 'wire_drops'];
  const read = (t: SysctlTree, q: number) => names.map((n) => t.get(`dev.cxgbe.0.txq.${q}.${n}`));
  assert.deepEqual(read(q1.tree, 1), [1, 2, 3, 4, 5, 7], 'its own queue, live');
  assert.deepEqual(read(q0.tree, 1), [0, 0, 0, 0, 0, 0], 'not yet published');
  q1.stats.publish();
  assert.deepEqual(read(q0.tree, 1), [1, 2, 3, 4, 5, 7], 'published to the other tree');
  assert.equal(q0.tree.get('dev.cxgbe.0.rxq.1.lro_queued'), 6);
  assert.deepEqual(read(q1.tree, 0), [0, 0, 0, 0, 0, 0], 'queue 0 is its own row');
  assert.throws(() => q0.tree.set('dev.cxgbe.0.txq.1.r_drops', 0), 'read-only');
});

test('a native queue: tso_wrs is its GSO writes, the rest its LinkTx', () => {
  const tx: Tx = { tsoWrs: 9, queued: 2, drops: 3, toCard: 4, handoffDrops: 5, wireDrops: 6 };
  const port = { tsoWrs: 11 };
  const n = nativeTxq(port, tx);
  assert.deepEqual({ ...n }, { tsoWrs: 11, queued: 2, drops: 3, toCard: 4, handoffDrops: 5, wireDrops: 6 });
  port.tsoWrs = 12;
  tx.drops = 8;
  assert.equal(n.tsoWrs, 12, 'read live, not copied');
  assert.equal(n.drops, 8);
});
