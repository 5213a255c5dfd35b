/**
 * cxgbe0's per-queue offload counters in shared memory. Each group worker is one queue
 * of the card: its LRO (rxq) and the TSO its link cuts (txq). FreeBSD's driver shows every
 * queue in one tree (`dev.cxgbe.0.rxq.N.lro_queued`, `lro_flushed`, `dev.cxgbe.0.txq.N.tso_wrs`);
 * here each worker's sysctl tree must hold the same names as every other's (the tools read
 * one worker), so each worker copies its queue's counters into its row once per loop turn
 * and every tree reads every row. A worker reads its own row live.
 *
 * tso_wrs counts what the card (the link) was asked to cut: on the in-memory link the
 * TSO segments LinkTx cuts; on a native queue the frames written as GSO for the kernel
 * to cut (links/queueport.ts's txq `tso`, the engine's TSO and its joined segments).
 * A native queue's own counters (read, written, forwarded) are links/queuestats.ts's
 * dev.vtnet tree.
 */
import type { LroStats, SysctlTree } from '@mcstack/netinet';

/** The counters of a row, in order. */
const RXQ = ['lro_queued', 'lro_flushed', 'lro_bad_csum'] as const;
const RXQ_DESCR: Record<(typeof RXQ)[number], string> = {
  lro_queued: 'LRO segments queued',
  lro_flushed: 'LRO entries flushed to the stack',
  lro_bad_csum: 'LRO segments with a bad checksum',
};
const WORDS = RXQ.length + 1;
const TSO_WRS = RXQ.length;

export function cardStatsBytes(queues: number): number {
  return queues * WORDS * Float64Array.BYTES_PER_ELEMENT;
}

export class CardQueueStats {
  private readonly rows: Float64Array;

  constructor(
    sab: SharedArrayBuffer,
    private readonly queue: number,
    private readonly lro: LroStats,
    /** What counts TSO work requests: the in-memory link's LinkTx or a native queue's QueuePort. */
    private readonly tso: { readonly tsoWrs: number },
  ) {
    this.rows = new Float64Array(sab);
  }

  /** Copy this queue's counters into its row (once per loop turn: four stores). */
  publish(): void {
    const r = this.rows;
    const b = this.queue * WORDS;
    const l = this.lro;
    r[b] = l.lro_queued;
    r[b + 1] = l.lro_flushed;
    r[b + 2] = l.lro_bad_csum;
    r[b + TSO_WRS] = this.tso.tsoWrs;
  }

  /** Read-only OIDs for every queue of the card, as a driver's attach registers them. */
  register(tree: SysctlTree): void {
    const queues = this.rows.length / WORDS;
    for (let q = 0; q < queues; q++) {
      const own = q === this.queue;
      RXQ.forEach((name, k) => {
        tree.add({
          name: `dev.cxgbe.0.rxq.${q}.${name}`,
          kind: 'int',
          readonly: true,
          description: RXQ_DESCR[name],
          get: own ? () => this.lro[name] : () => this.rows[q * WORDS + k]!,
        });
      });
      tree.add({
        name: `dev.cxgbe.0.txq.${q}.tso_wrs`,
        kind: 'int',
        readonly: true,
        description: 'TSO segments cut into MSS-sized frames (by the link, or by the kernel behind a native queue)',
        get: own ? () => this.tso.tsoWrs : () => this.rows[q * WORDS + TSO_WRS]!,
      });
    }
  }
}
