/**
 * A fixed, seeded scene for the tools' golden tests: host A (`cxgbe0`, a T4-like
 * card with checksum offload, TSO, LRO and TOE capabilities) serving echo on
 * TCP port 7 (IPv4 and IPv6) and discard on UDP port 9, with an IPv6 UDP socket
 * connected to B; host B (`em0`) connected to both echo listeners, with 3000
 * bytes A has not read yet, and one more connection that A closed first (so A
 * holds it in TIME_WAIT without a descriptor). The wire between them finishes
 * the checksums A leaves to its card, as a NIC does.
 */
import assert from 'node:assert/strict';
import { Engine } from '../src/engine.js';
import { Simulator } from '../src/sim/simulator.js';
import { ERRNO } from '../src/kern/errno.js';
import {
  IFCAP_RXCSUM,
  IFCAP_TXCSUM,
  IFCAP_RXCSUM_IPV6,
  IFCAP_TXCSUM_IPV6,
  IFCAP_TSO4,
  IFCAP_TSO6,
  IFCAP_LRO,
  IFCAP_TOE4,
  IFCAP_TOE6,
  IFCAP_LINKSTATE,
  IFCAP_VLAN_MTU,
  IFCAP_JUMBO_MTU,
} from '../src/net/if.js';
import { CSUM_IP, CSUM_DELAY_DATA, CSUM_DELAY_DATA_IPV6 } from '../src/net/mbuf.js';
import { IPPROTO_IPV6, IPV6_V6ONLY } from '../src/netinet/in.js';
import { finishChecksums } from '../src/net/hwcsum.js';
import { snapshot, type StackSnapshot } from '../src/tools/snapshot.js';

export const CXGBE_CAPS =
  IFCAP_RXCSUM |
  IFCAP_TXCSUM |
  IFCAP_VLAN_MTU |
  IFCAP_JUMBO_MTU |
  IFCAP_TSO4 |
  IFCAP_TSO6 |
  IFCAP_LRO |
  IFCAP_TOE4 |
  IFCAP_TOE6 |
  IFCAP_LINKSTATE |
  IFCAP_RXCSUM_IPV6 |
  IFCAP_TXCSUM_IPV6;

export interface Scene {
  sim: Simulator;
  a: Engine;
  b: Engine;
  /** Application of each of A's descriptors. */
  apps: Map<number, string>;
  snap(worker?: number): StackSnapshot;
}

export function buildScene(seed = 7): Scene {
  const sim = new Simulator(seed);
  // A's "card": the checksums A's stack leaves to it are written on the way out.
  const nic = (ifp: unknown, frame: Uint8Array, csum: number) => {
    const f = frame.slice();
    finishChecksums(f, 14, (csum & CSUM_IP) !== 0, (csum & (CSUM_DELAY_DATA | CSUM_DELAY_DATA_IPV6)) !== 0);
    sim.transmit(ifp, f);
  };
  const a = new Engine({ seed: seed * 2 + 1, output: (ifp, f, m) => nic(ifp, f, m.csumFlags) });
  const b = new Engine({ seed: seed * 2 + 2, output: (ifp, f) => sim.transmit(ifp, f) });
  const ia = a.ifattach({
    name: 'cxgbe0',
    type: 'ether',
    lladdr: Uint8Array.of(0x00, 0x07, 0x43, 0x12, 0x34, 0x56),
    capabilities: CXGBE_CAPS,
  });
  const ib = b.ifattach({ name: 'em0', type: 'ether', lladdr: Uint8Array.of(0x02, 0, 0, 0, 0, 0x0b) });
  assert.equal(a.addAddr(ia, '10.0.0.1/24'), 0);
  assert.equal(a.addAddr(ia, 'fd00::1/64'), 0);
  a.setUp(ia);
  assert.equal(b.addAddr(ib, '10.0.0.2/24'), 0);
  assert.equal(b.addAddr(ib, 'fd00::2/64'), 0);
  b.setUp(ib);
  assert.equal(a.addRoute('0.0.0.0/0', '10.0.0.254'), 0);
  sim.connect({ engine: a, ifp: ia }, { engine: b, ifp: ib });

  const apps = new Map<number, string>();
  const ok = (r: number, what: string) => {
    assert.ok(r >= 0, `${what}: errno ${-r}`);
    return r;
  };
  const l4 = ok(a.socket('inet', 'stream'), 'socket');
  ok(a.bind(l4, { addr: '0.0.0.0', port: 7 }), 'bind');
  ok(a.listen(l4, 16), 'listen');
  const l6 = ok(a.socket('inet6', 'stream'), 'socket6');
  ok(a.setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, 1), 'v6only');
  ok(a.bind(l6, { addr: '::', port: 7 }), 'bind6');
  ok(a.listen(l6, 16), 'listen6');
  const u = ok(a.socket('inet', 'dgram'), 'udp');
  ok(a.bind(u, { addr: '0.0.0.0', port: 9 }), 'bind udp');
  const u6 = ok(a.socket('inet6', 'dgram'), 'udp6');
  ok(a.connect(u6, { addr: 'fd00::2', port: 53 }), 'connect udp6');
  for (const fd of [l4, l6]) apps.set(fd, 'echo');
  apps.set(u, 'discard');
  apps.set(u6, 'dns');

  const c4 = b.socket('inet', 'stream');
  const c6 = b.socket('inet6', 'stream');
  const c4b = b.socket('inet', 'stream');
  assert.equal(b.connect(c4, { addr: '10.0.0.1', port: 7 }), -ERRNO.EINPROGRESS);
  assert.equal(b.connect(c6, { addr: 'fd00::1', port: 7 }), -ERRNO.EINPROGRESS);
  assert.equal(b.connect(c4b, { addr: '10.0.0.1', port: 7 }), -ERRNO.EINPROGRESS);
  // Two SYNs wait on one ARP entry (net.link.ether.inet.maxhold 1): one is resent after the 1 s RTO.
  sim.run(2_000_000);
  // Which accepted descriptor is which connection: by B's local port (the first SYN
  // may have been the one that waited).
  const x = ok(a.accept(l4), 'accept4');
  const y = ok(a.accept(l4), 'accept4b');
  const s6 = ok(a.accept(l6), 'accept6');
  const bport = (fd: number) => (b.getsockname(fd) as { port: number }).port;
  const aport = (fd: number) => (a.getpeername(fd) as { port: number }).port;
  const [s4, s4b] = aport(x) === bport(c4) ? [x, y] : [y, x];
  assert.equal(aport(s4b), bport(c4b));
  for (const fd of [s4, s6]) apps.set(fd, 'echo');
  assert.equal(b.send(c4, new Uint8Array(3000).fill(0x61)), 3000);
  // A closes one connection first: it stays in TIME_WAIT on A without a descriptor.
  assert.equal(a.close(s4b), 0);
  sim.run(2_200_000);
  assert.equal(b.close(c4b), 0);
  sim.run(2_400_000);
  return {
    sim,
    a,
    b,
    apps,
    snap: (worker = 1) => snapshot(a, { worker, app: (fd) => apps.get(fd), pid: 4242, user: 'root' }),
  };
}
