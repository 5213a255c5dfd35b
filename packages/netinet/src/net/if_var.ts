/**
 * if_input and if_output (net/if_var.h): where a frame enters from the link and
 * an IP datagram leaves toward it, by interface type — Ethernet through
 * if_ethersubr.ts, the loopback through if_loop.ts, and tun as the raw datagram.
 */
import type { Vnet } from './vnet.js';
import type { Ifnet } from './if.js';
import type { FrameMeta } from './mbuf.js';
import { resetFrameMeta } from './mbuf.js';
import { etherInput, etherOutput, frameView } from './if_ethersubr.js';
import { loOutput } from './if_loop.js';
import { netisrDispatch } from './netisr.js';
import { ERRNO } from '../kern/errno.js';

/**
 * A frame arrived on ifp: Ethernet on 'ether', a raw IP datagram on 'tun' and
 * 'loop'. `meta` (CSUM_* receive flags, RSS hash, VLAN) may be null.
 */
export function ifInput(v: Vnet, ifp: Ifnet, frame: Uint8Array, meta: FrameMeta | null): void {
  const taps = v.bpf;
  for (let i = 0; i < taps.length; i++) taps[i]!(ifp, frame, meta);
  const m = v.inMeta;
  if (meta) Object.assign(m, meta);
  else resetFrameMeta(m);
  ifp.data.ifi_ipackets++;
  ifp.data.ifi_ibytes += frame.length;
  if (!ifp.up) {
    ifp.data.ifi_iqdrops++;
    return;
  }
  if (ifp.type === 'ether') {
    etherInput(v, ifp, frame, m);
    return;
  }
  if (frame.length < 1) {
    ifp.data.ifi_ierrors++;
    return;
  }
  netisrDispatch(v, frame[0]! >>> 4 === 6 ? 6 : 4, ifp, frame, 0, frame.length, m);
}

/**
 * if_output: the IP datagram at buf[off, off+len) leaves ifp toward nexthop
 * (IPv4 u32 or IPv6 bytes). Ethernet resolves the next hop (ARP/ND) and
 * prepends its header in the headroom; tun sends the datagram as is; the
 * loopback queues it for drain(). 0 or -errno.
 */
export function ifOutput(
  v: Vnet,
  ifp: Ifnet,
  buf: Uint8Array,
  off: number,
  len: number,
  af: 4 | 6,
  nh4: number,
  nh6: Uint8Array | null,
  nh6Off: number,
  meta: FrameMeta,
): number {
  if (!ifp.up) {
    ifp.data.ifi_oerrors++;
    return -ERRNO.ENETDOWN;
  }
  switch (ifp.type) {
    case 'loop':
      return loOutput(v, ifp, buf, off, len, af);
    case 'tun': {
      const e = v.ctx.output(ifp, frameView(v, buf, off, off + len), meta);
      if (e < 0) {
        ifp.data.ifi_oqdrops++;
        return e;
      }
      ifp.data.ifi_opackets++;
      ifp.data.ifi_obytes += len;
      return 0;
    }
    case 'ether':
      return etherOutput(v, ifp, buf, off, len, af, nh4, nh6, nh6Off, meta);
  }
}
