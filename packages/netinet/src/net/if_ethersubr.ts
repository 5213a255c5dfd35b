/**
 * Ethernet input demux and output framing (net/if_ethersubr.c). A received
 * 802.1Q tag is stripped into the frame's metadata (M_VLANTAG, as a NIC with
 * VLAN_HWTAGGING does); frames for other stations are ignored as a NIC without
 * promiscuous mode would.
 */
import type { NetStack } from './netstack.js';
import type { Ifnet } from './if.js';
import type { FrameMeta } from './mbuf.js';
import { M_BCAST, M_MCAST, M_VLANTAG } from './mbuf.js';
import { get16 } from '@mcstack/wire/bytes';
import {
  ETHER_HDR_LEN, ETHER_TYPE, ETHER_VLAN_ENCAP_LEN, ETHER_VLAN_TCI, ETHER_VLAN_TYPE,
  ETHERTYPE_IP, ETHERTYPE_IPV6, ETHERTYPE_ARP, ETHERTYPE_VLAN,
} from '@mcstack/wire/ethernet';

export function etherInput(ns: NetStack, ifp: Ifnet, frame: Uint8Array, meta: FrameMeta): void {
  const len = frame.length;
  if (len < ETHER_HDR_LEN) { ifp.data.ifi_ierrors++; return; }
  let type = get16(frame, ETHER_TYPE);
  let off = ETHER_HDR_LEN;
  if (type === ETHERTYPE_VLAN) {
    if (len < ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN) { ifp.data.ifi_ierrors++; return; }
    meta.vlanTag = get16(frame, ETHER_VLAN_TCI);
    meta.flags |= M_VLANTAG;
    type = get16(frame, ETHER_VLAN_TYPE);
    off += ETHER_VLAN_ENCAP_LEN;
  }
  if (frame[0]! & 1) {
    let bcast = true;
    for (let i = 0; i < 6; i++) if (frame[i] !== 0xff) { bcast = false; break; }
    meta.flags |= bcast ? M_BCAST : M_MCAST;
    ifp.data.ifi_imcasts++;
  } else {
    const my = ifp.lladdr!;
    for (let i = 0; i < 6; i++) {
      if (frame[i] !== my[i]) return;   // not for this station
    }
  }
  switch (type) {
    case ETHERTYPE_IP:
      ns.ipInputFrom(ifp, frame, off, len - off, meta);
      return;
    case ETHERTYPE_IPV6:
      ns.ip6InputFrom(ifp, frame, off, len - off, meta);
      return;
    case ETHERTYPE_ARP:
      ns.arp.input(ifp, frame, off, len - off);
      return;
    default:
      ifp.data.ifi_noproto++;
  }
}
