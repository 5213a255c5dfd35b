/**
 * cxgbe0's per-queue counters in shared memory. Each group worker is one queue of the
 * card: its LRO (rxq) and its link's transmit side (txq: the TSO it cuts, its software
 * queue, and the frames it hands the receiver's TOE card). FreeBSD's driver shows every
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
/**
 * The transmit side's counters (linkmatrix.ts LinkTx), by their sysctl names. `r_enqueues`
 * and `r_drops` are t4_sge.c's mp_ring counters; here only a frame that found the receiver's
 * ring full is enqueued (the pause it honoured). The `toe_*` pair has no FreeBSD name: this
 * sender plays the receiving card's lookup of its TIDs, so the counts live on this side.
 */
const TXQ = [
  ['tso_wrs', 'tsoWrs', 'TSO segments cut into MSS-sized frames'],
  ['r_enqueues', 'queued', 'frames that waited in the software queue for a full ring (pause honoured)'],
  ['r_drops', 'drops', 'frames refused: the ring full and, with flow control, its queue too'],
  ['toe_frames', 'toCard', "frames the receiver's TOE card took by its TID table before RSS"],
  ['toe_hold_drops', 'handoffDrops', 'frames lost while their connection moved to or from the TOE card'],
  ['wire_drops', 'wireDrops', "frames the wire lost at the stack's plr (a pipe's plr: its random_loss)"],
] as const;

/** What the txq rows read: a worker's LinkTx. */
export type TxqCounters = { readonly [K in (typeof TXQ)[number][1]]: number };

/**
 * The txq of a worker on a native queue: the frames it writes as GSO are its TSO work
 * requests (the kernel behind the queue cuts them); the rest is its LinkTx's.
 */
export function nativeTxq(queue: { readonly tsoWrs: number }, tx: TxqCounters): TxqCounters {
  return {
    get tsoWrs() {
      return queue.tsoWrs;
    },
    get queued() {
      return tx.queued;
    },
    get drops() {
      return tx.drops;
    },
    get toCard() {
      return tx.toCard;
    },
    get handoffDrops() {
      return tx.handoffDrops;
    },
    get wireDrops() {
      return tx.wireDrops;
    },
  };
}

const WORDS = RXQ.length + TXQ.length;

export function cardStatsBytes(queues: number): number {
  return queues * WORDS * Float64Array.BYTES_PER_ELEMENT;
}

export class CardQueueStats {
  private readonly rows: Float64Array;

  constructor(
    sab: SharedArrayBuffer,
    private readonly queue: number,
    private readonly lro: LroStats,
    private readonly tx: TxqCounters,
  ) {
    this.rows = new Float64Array(sab);
  }

  /** Copy this queue's counters into its row (once per loop turn: nine stores). */
  publish(): void {
    const r = this.rows;
    const b = this.queue * WORDS;
    const l = this.lro;
    const t = this.tx;
    r[b] = l.lro_queued;
    r[b + 1] = l.lro_flushed;
    r[b + 2] = l.lro_bad_csum;
    const x = b + RXQ.length;
    r[x] = t.tsoWrs;
    r[x + 1] = t.queued;
    r[x + 2] = t.drops;
    r[x + 3] = t.toCard;
    r[x + 4] = t.handoffDrops;
    r[x + 5] = t.wireDrops;
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
      TXQ.forEach(([name, field, description], k) => {
        tree.add({
          name: `dev.cxgbe.0.txq.${q}.${name}`,
          kind: 'int',
          readonly: true,
          description,
          get: own ? () => this.tx[field] : () => this.rows[q * WORDS + RXQ.length + k]!,
        });
      });
    }
  }
}
