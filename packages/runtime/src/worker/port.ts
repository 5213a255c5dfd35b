/**
 * The stack's port, `cxgbe0`, as each thread's engine attaches it: the stack's MAC, MTU,
 * capabilities and addresses (the same in every group worker and on the TOE card: queues
 * and offload engine of one NIC), up, with static ARP entries for the IPv4 neighbours
 * (IPv6 neighbours are learnt: the link floods ND to every queue).
 */
import { SysError, type Engine, type Ifnet } from '@mcstack/netinet';
import { parseIP } from '@mcstack/wire';
import { parseMac } from '../addrs.js';
import type { NeighborSpec } from '../control.js';

export interface PortSpec {
  mac: string;
  mtu: number;
  capabilities?: number;
  capenable?: number;
  addrs: readonly string[];
  neighbors: readonly NeighborSpec[];
}

export function attachPort(e: Engine, p: PortSpec): Ifnet {
  const cx = e.ifattach({
    name: 'cxgbe0',
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
