/**
 * The stack's port, `cxgbe0` (or a T3's `cxgb0`: cardmodel.ts), as each thread's engine attaches it: the stack's MAC, MTU,
 * capabilities and addresses (the same in every group worker and on the TOE card: queues
 * and offload engine of one NIC), up, with static ARP entries for the IPv4 neighbours
 * (IPv6 neighbours are learnt: the link floods ND to every queue).
 */
import {
  SysError,
  CSUM_IP_CHECKED,
  CSUM_DATA_VALID,
  IFCAP_RXCSUM,
  IFCAP_RXCSUM_IPV6,
  finishChecksums,
  type Engine,
  type FrameMeta,
  type Ifnet,
} from '@mcstack/netinet';
import { ETHER_HDR_LEN, ETHER_TYPE, parseIP } from '@mcstack/wire';
import { META_CSUM_DATA, META_CSUM_FLAGS, META_FLOWID, META_HASHTYPE, META_WORDS } from '../ring.js';
import { parseMac } from '../addrs.js';
import type { NeighborSpec } from '../control.js';
import { DEFAULT_IFNAME } from '../cardmodel.js';

export interface PortSpec {
  /** The port's name (cardmodel.ts): `cxgbe0` when absent. */
  ifname?: string;
  mac: string;
  mtu: number;
  capabilities?: number;
  capenable?: number;
  addrs: readonly string[];
  neighbors: readonly NeighborSpec[];
}

export function attachPort(e: Engine, p: PortSpec): Ifnet {
  const cx = e.ifattach({
    name: p.ifname ?? DEFAULT_IFNAME,
    type: 'ether',
    lladdr: parseMac(p.mac),
    mtu: p.mtu,
    capabilities: p.capabilities,
    capenable: p.capenable,
  });
  for (const a of p.addrs) {
    const r = e.addAddr(cx, a);
    if (r < 0) throw SysError.fromErrno(r, `addAddr ${a}`);
  }
  e.setUp(cx, true);
  for (const n of p.neighbors) {
    const a = parseIP(n.addr);
    if (a === null) throw new SysError('EINVAL', `bad neighbour address ${n.addr}`);
    if (a.length === 4)
      e.net.arp.addStatic(cx, ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0, parseMac(n.mac as string));
  }
  return cx;
}

/** The capability that verifies this frame's checksums: RXCSUM_IPV6 for IPv6, RXCSUM otherwise. */
function rxcsumCap(frame: Uint8Array): number {
  return frame[ETHER_TYPE] === 0x86 && frame[ETHER_TYPE + 1] === 0xdd ? IFCAP_RXCSUM_IPV6 : IFCAP_RXCSUM;
}

/**
 * The receive metadata of ring slot `s` into the reused `m` for cx's input of frame `v`.
 * A sender that left its checksums to its card meets a port that does not verify them:
 * the frame must carry the bytes the sending card put on the wire, so they are finished here.
 */
export function rxSlotMeta(m: FrameMeta, meta: Int32Array, s: number, cx: Ifnet, v: Uint8Array): void {
  const b = s * META_WORDS;
  m.csumFlags = meta[b + META_CSUM_FLAGS]!;
  m.csumData = meta[b + META_CSUM_DATA]!;
  // rxcsum and rxcsum6 toggle apart: the frame's family picks the one that applies.
  if (m.csumFlags !== 0 && (cx.capenable & rxcsumCap(v)) === 0) {
    finishChecksums(v, ETHER_HDR_LEN, (m.csumFlags & CSUM_IP_CHECKED) !== 0, (m.csumFlags & CSUM_DATA_VALID) !== 0);
    m.csumFlags = 0;
    m.csumData = 0;
  }
  m.flowid = meta[b + META_FLOWID]! >>> 0;
  m.hashType = meta[b + META_HASHTYPE]!;
  m.vlanTag = 0;
  m.flags = 0;
  m.tsoSegsz = 0;
  m.l2hlen = 0;
  m.l3hlen = 0;
}
