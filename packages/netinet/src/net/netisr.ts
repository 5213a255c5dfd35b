/**
 * netisr_dispatch (net/netisr.c): a received IP datagram goes to the protocol
 * that attached to netisr (ip_input / ip6_input), after the receive offload
 * results are dropped unless the interface has RXCSUM(_IPV6) enabled.
 */
import type { Vnet } from './vnet.js';
import type { Ifnet } from './if.js';
import { IFCAP_RXCSUM, IFCAP_RXCSUM_IPV6 } from './if.js';
import type { FrameMeta } from './mbuf.js';

/** An IPv4 (af 4) or IPv6 datagram at buf[off, off+len) from ifp, after any link header. */
export function netisrDispatch(
  v: Vnet,
  af: 4 | 6,
  ifp: Ifnet,
  buf: Uint8Array,
  off: number,
  len: number,
  meta: FrameMeta,
): void {
  if (af === 4) {
    if (!(ifp.capenable & IFCAP_RXCSUM)) meta.csumFlags = 0;
    v.netisr.ip(ifp, buf, off, len, meta);
  } else {
    if (!(ifp.capenable & IFCAP_RXCSUM_IPV6)) meta.csumFlags = 0;
    v.netisr.ip6(ifp, buf, off, len, meta);
  }
}
