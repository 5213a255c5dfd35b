/**
 * The loopback (net/if_loop.c): looutput queues a copy of the datagram as
 * if_simloop does, and drain() delivers the queue the way netisr would, never
 * re-entrantly from inside ip_output. Delivered datagrams are marked
 * checksum-verified when RXCSUM(_IPV6) is enabled on lo0 (LO_CSUM_SET), so TCP and
 * UDP skip the check.
 */
import type { Vnet, LoopItem } from './vnet.js';
import type { Ifnet } from './if.js';
import { IFCAP_RXCSUM, IFCAP_RXCSUM_IPV6 } from './if.js';
import { resetFrameMeta, CSUM_DATA_VALID, CSUM_PSEUDO_HDR, CSUM_IP_CHECKED, CSUM_IP_VALID } from './mbuf.js';
import { ERRNO } from '../kern/errno.js';

/** looutput + if_simloop: queue a copy for drain(), ENOBUFS when the queue is full. */
export function loOutput(v: Vnet, ifp: Ifnet, buf: Uint8Array, off: number, len: number, af: 4 | 6): number {
  if (v.loopq.length - v.loopHead >= v.tun.intr_queue_maxlen) {
    ifp.data.ifi_oqdrops++;
    return -ERRNO.ENOBUFS;
  }
  ifp.data.ifi_opackets++;
  ifp.data.ifi_obytes += len;
  v.loopq.push({ ifp, buf: buf.slice(off, off + len), af });
  return 0;
}

/**
 * Deliver queued loopback datagrams (including those queued while delivering).
 * Call after every entry point. Returns how many were delivered.
 */
export function drain(v: Vnet): number {
  let n = 0;
  while (v.loopHead < v.loopq.length) {
    const it = v.loopq[v.loopHead]!;
    v.loopq[v.loopHead++] = undefined as unknown as LoopItem;
    const m = resetFrameMeta(v.inMeta);
    const ifp = it.ifp;
    if (ifp.capenable & (it.af === 4 ? IFCAP_RXCSUM : IFCAP_RXCSUM_IPV6)) {
      m.csumFlags = CSUM_DATA_VALID | CSUM_PSEUDO_HDR | CSUM_IP_CHECKED | CSUM_IP_VALID;
      m.csumData = 0xffff;
    }
    ifp.data.ifi_ipackets++;
    ifp.data.ifi_ibytes += it.buf.length;
    if (it.af === 4) v.netisr.ip(ifp, it.buf, 0, it.buf.length, m);
    else v.netisr.ip6(ifp, it.buf, 0, it.buf.length, m);
    n++;
  }
  if (v.loopHead !== 0) {
    v.loopq.length = 0;
    v.loopHead = 0;
  }
  return n;
}

/** Looped-back datagrams waiting for drain(). */
export function loPending(v: Vnet): number {
  return v.loopq.length - v.loopHead;
}
