/**
 * The counters of a link's per-worker queues (links/queueport.ts), in shared memory: one
 * row of Float64 per queue, written only by the queue's worker, so every worker's sysctl
 * tree and the Stack read all queues without a message. Names are if_vtnet.c's per-queue
 * ones (vtnet_rxq_stats, vtnet_txq_stats) where one exists.
 */
export const QUEUE_RX_COUNTERS = [
  ['ipackets', 'Frames read from the queue'],
  ['ibytes', 'Bytes read from the queue'],
  ['ierrors', 'Short frames and failed reads'],
  ['host_lro', 'Frames the kernel coalesced (GSO on receive)'],
  ['forwarded', "Frames for another worker's RSS bucket, sent to it on its hop ring"],
  ['floods', 'Frames for every queue (ARP, multicast, ND), copied to each sibling'],
  ['iqdrops', "Frames dropped: the owner's hop ring full, or a frame that could not be cut"],
] as const;
export const QUEUE_TX_COUNTERS = [
  ['opackets', 'Frames written to the queue'],
  ['obytes', 'Bytes written to the queue'],
  ['tso', 'Frames written as GSO (TSO)'],
  ['csum', 'Frames written with a partial checksum for the kernel to finish'],
  ['oerrors', 'Frames too long or refused by the kernel'],
  ['ack_drops', 'Pure ACKs not written: a later ACK of the connection in the same loop turn replaced them'],
] as const;
type RxName = (typeof QUEUE_RX_COUNTERS)[number][0];
type TxName = (typeof QUEUE_TX_COUNTERS)[number][0];
export type QueueStats = Record<RxName | TxName, number>;
const NAMES: readonly (RxName | TxName)[] = [...QUEUE_RX_COUNTERS, ...QUEUE_TX_COUNTERS].map((c) => c[0]);
/** Counters per queue (Float64 words per row). */
export const K = NAMES.length;
export const IPACKETS = 0;
export const IBYTES = 1;
export const IERRORS = 2;
export const HOST_LRO = 3;
export const FORWARDED = 4;
export const FLOODS = 5;
export const IQDROPS = 6;
export const OPACKETS = 7;
export const OBYTES = 8;
export const TSO = 9;
export const CSUM = 10;
export const OERRORS = 11;
export const ACK_DROPS = 12;

/** Shared memory for `queues` queues' counters. */
export function queueStatsSab(queues: number): SharedArrayBuffer {
  return new SharedArrayBuffer(queues * K * 8);
}

/** Queue `q`'s counters (or, without `q`, every queue's summed) from the shared memory. */
export function queueStats(sab: SharedArrayBuffer, q?: number): QueueStats {
  const a = new Float64Array(sab);
  const out = {} as QueueStats;
  const queues = a.length / K;
  for (let i = 0; i < K; i++) {
    let v = 0;
    for (let j = q ?? 0; j < (q === undefined ? queues : q + 1); j++) v += a[j * K + i]!;
    out[NAMES[i]!] = v;
  }
  return out;
}

/** Read-only OIDs dev.vtnet.UNIT.rxqN.NAME and txqN.NAME for every queue (if_vtnet.c's tree). */
export function queueSysctls(
  sysctl: { add(o: { name: string; kind: 'int'; description: string; readonly: true; get(): number }): void },
  sab: SharedArrayBuffer,
  unit = 0,
): void {
  const a = new Float64Array(sab);
  for (let q = 0; q < a.length / K; q++) {
    for (let i = 0; i < K; i++) {
      const rx = i < QUEUE_RX_COUNTERS.length;
      const c = rx ? QUEUE_RX_COUNTERS[i]! : QUEUE_TX_COUNTERS[i - QUEUE_RX_COUNTERS.length]!;
      const at = q * K + i;
      sysctl.add({
        name: `dev.vtnet.${unit}.${rx ? 'rxq' : 'txq'}${q}.${c[0]}`,
        kind: 'int',
        description: c[1],
        readonly: true,
        get: () => a[at]!,
      });
    }
  }
}
