import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tunPair, etherPair, type Host } from './net-harness.js';
import {
  MAX_HDR,
  CSUM_UDP,
  CSUM_TCP,
  CSUM_IP,
  CSUM_UDP_IPV6,
  CSUM_DATA_VALID,
  CSUM_PSEUDO_HDR,
  CSUM_IP_TSO,
} from '../src/net/mbuf.js';
import {
  IFCAP_RXCSUM,
  IFCAP_TXCSUM,
  IFCAP_TXCSUM_IPV6,
  IFCAP_RXCSUM_IPV6,
  IFCAP_TSO4,
  IFCAP_TOE4,
  IFCAP_HWCSUM,
  IFCAP_HWCSUM_IPV6,
  ifSetMtu,
  ifattach,
} from '../src/net/if.js';
import { newIpOutArgs } from '../src/netinet/ip_var.js';
import type { PktInfo } from '../src/netinet/ip_var.js';
import { newIp6OutArgs } from '../src/netinet6/ip6_var.js';
import { inAddr, in6Addr, inPseudo, in6Pseudo, selectSource4 } from '../src/netinet/in.js';
import { ERRNO } from '../src/kern/errno.js';
import { get16, set16 } from '@mcstack/wire';
import { verifyChecksum, pseudoHeaderSum4, sumBytes, fold } from '@mcstack/wire';
import { ipOutput } from '../src/netinet/ip_output.js';
import { selectSource6 } from '../src/netinet6/in6.js';
import { ip6Output } from '../src/netinet6/ip6_output.js';
import { registerProtocol } from '../src/net/protosw.js';
import { addRoute } from '../src/net/route.js';
import { ifInput } from '../src/net/if_var.js';
import { drain } from '../src/net/if_loop.js';

/** A UDP datagram with only the pseudo-header sum filled in (delayed checksum), as udp_output does. */
function udp4(h: Host, dst: string, n: number, df = false): { err: number } {
  const len = 8 + n;
  const buf = new Uint8Array(MAX_HDR + len);
  const o = MAX_HDR;
  set16(buf, o, 5000);
  set16(buf, o + 2, 9);
  set16(buf, o + 4, len);
  for (let i = 0; i < n; i++) buf[o + 8 + i] = i & 0xff;
  const a = newIpOutArgs();
  a.src = selectSource4(h.ns, 0, inAddr(dst));
  a.dst = inAddr(dst);
  a.proto = 17;
  a.df = df;
  set16(buf, o + 6, inPseudo(a.src, a.dst, 17 + len));
  a.csumFlags = CSUM_UDP;
  a.csumOffset = 6;
  return { err: ipOutput(h.ns, buf, o, len, a) };
}

function udp6(h: Host, dst: string, n: number, dontfrag = false): number {
  const len = 8 + n;
  const buf = new Uint8Array(MAX_HDR + len);
  const o = MAX_HDR;
  set16(buf, o, 5000);
  set16(buf, o + 2, 9);
  set16(buf, o + 4, len);
  const a = newIp6OutArgs();
  a.dst = in6Addr(dst);
  a.nxt = 17;
  a.dontfrag = dontfrag;
  selectSource6(h.ns, 0, a.dst, 0, a.src, 0);
  set16(buf, o + 6, in6Pseudo(a.src, 0, a.dst, 0, 17, len));
  a.csumFlags = CSUM_UDP_IPV6;
  a.csumOffset = 6;
  return ip6Output(h.ns, buf, o, len, a);
}

function collect(h: Host, af: 0 | 4 | 6 = 0) {
  const got: { data: Uint8Array; pi: PktInfo }[] = [];
  registerProtocol(
    h.ns,
    17,
    {
      input: (m, off, len, pi) => {
        got.push({ data: m.slice(off, off + len), pi: { ...pi } });
      },
    },
    af,
  );
  return got;
}

test('output fragmentation (DF clear) into MTU-sized fragments, reassembled by the peer with a valid checksum', () => {
  const { clock, a, b, ta } = tunPair();
  ifSetMtu(a.ns, ta, 576);
  const got = collect(b);
  const n = a.sent.length;
  assert.equal(udp4(a, '192.168.0.2', 2000).err, 0);
  const frags = a.since(n);
  assert.equal(frags.length, 4); // (576-20)&~7 = 552 bytes of data per fragment
  for (const f of frags) assert.ok(f.frame.length <= 576);
  assert.equal(get16(frags[0]!.frame, 6) & 0x2000, 0x2000);
  assert.equal(get16(frags[3]!.frame, 6) & 0x2000, 0);
  assert.equal(a.ns.ipstat.ips_fragmented, 1);
  assert.equal(a.ns.ipstat.ips_ofragments, 4);
  clock.run();
  assert.equal(got.length, 1);
  const d = got[0]!.data;
  assert.equal(d.length, 2008);
  const ipsum = pseudoHeaderSum4(frags[0]!.frame, 12, 16, 17, d.length);
  assert.equal(fold(sumBytes(d, 0, d.length, ipsum)), 0xffff);
});

test('DF set and too big: EMSGSIZE and ips_cantfrag; the route MTU counts', () => {
  const { a, ta } = tunPair();
  assert.equal(udp4(a, '192.168.0.2', 1473, true).err, -ERRNO.EMSGSIZE);
  assert.equal(a.ns.ipstat.ips_cantfrag, 1);
  assert.equal(udp4(a, '192.168.0.2', 1472, true).err, 0);
  addRoute(a.ns, '10.0.0.0/8', ta, { mtu: 1000 });
  assert.equal(udp4(a, '10.1.1.1', 1000, true).err, -ERRNO.EMSGSIZE);
});

test('IPv6: source fragmentation with a Fragment header; dontfrag → EMSGSIZE', () => {
  const { clock, a, b } = tunPair();
  const got = collect(b, 6);
  const n = a.sent.length;
  assert.equal(udp6(a, 'fd00::2', 3000), 0);
  const frags = a.since(n);
  assert.equal(frags.length, 3);
  for (const f of frags) {
    assert.equal(f.frame[6], 44);
    assert.ok(f.frame.length <= 1500);
  }
  clock.run();
  assert.equal(got.length, 1);
  assert.equal(got[0]!.data.length, 3008);
  assert.equal(udp6(a, 'fd00::2', 3000, true), -ERRNO.EMSGSIZE);
  assert.equal(a.ns.ip6stat.ip6s_cantfrag, 1);
});

test('delayed checksum: finished in software without TXCSUM, left to the link (meta) with it', () => {
  const { a, ea } = etherPair(1, { capsA: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 });
  // Resolve ARP first so frames go straight out.
  udp4(a, '10.0.0.2', 4);
  a.clock.run();
  ea.setCap(IFCAP_TXCSUM, false);
  let n = a.sent.length;
  udp4(a, '10.0.0.2', 100);
  let f = a.since(n)[0]!;
  assert.equal(f.meta.csumFlags & (CSUM_UDP | CSUM_IP), 0);
  assert.ok(verifyChecksum(f.frame, 34, 108, pseudoHeaderSum4(f.frame, 26, 30, 17, 108)), 'software UDP checksum');
  assert.ok(verifyChecksum(f.frame, 14, 20), 'software IP header checksum');
  ea.setCap(IFCAP_TXCSUM, true);
  n = a.sent.length;
  udp4(a, '10.0.0.2', 100);
  f = a.since(n)[0]!;
  assert.equal(f.meta.csumFlags & CSUM_UDP, CSUM_UDP);
  assert.equal(f.meta.csumFlags & CSUM_IP, CSUM_IP);
  assert.equal(f.meta.csumData, 6);
  assert.equal(get16(f.frame, 24), 0, 'IP header checksum left to the NIC');
  const pseudo = fold(pseudoHeaderSum4(f.frame, 26, 30, 17, 108));
  assert.equal(get16(f.frame, 40), pseudo, 'only the pseudo-header sum is in the UDP checksum field');
  // IPv6 offload is toggled independently (RFC-era change: TXCSUM_IPV6).
  ea.setCap(IFCAP_TXCSUM_IPV6, false);
  assert.equal(ea.hwassist & CSUM_UDP_IPV6, 0);
  assert.equal(ea.hwassist & CSUM_UDP, CSUM_UDP);
});

test('receive offload: CSUM_DATA_VALID|CSUM_PSEUDO_HDR reaches the transport only with RXCSUM(_IPV6) on', () => {
  const { a, b, eb } = etherPair(1, { capsB: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 });
  const got = collect(b);
  udp4(a, '10.0.0.2', 4);
  a.clock.run();
  const frame = a.sent[a.sent.length - 1]!.frame;
  const meta = {
    csumFlags: CSUM_DATA_VALID | CSUM_PSEUDO_HDR,
    csumData: 0xffff,
    flowid: 0,
    hashType: 0,
    vlanTag: 0,
    flags: 0,
    tsoSegsz: 0,
    l2hlen: 0,
    l3hlen: 0,
  };
  ifInput(b.ns, eb, frame, meta);
  assert.equal(got.at(-1)!.pi.csumFlags, CSUM_DATA_VALID | CSUM_PSEUDO_HDR);
  eb.setCap(IFCAP_RXCSUM, false);
  ifInput(b.ns, eb, frame, meta);
  assert.equal(got.at(-1)!.pi.csumFlags, 0);
  eb.setCap(IFCAP_RXCSUM_IPV6, false);
  assert.equal(eb.capenable & IFCAP_RXCSUM_IPV6, 0);
});

test('lo0 announces RXCSUM, TXCSUM, RXCSUM_IPV6, TXCSUM_IPV6 and marks looped datagrams verified', () => {
  const { a } = tunPair();
  const lo = a.ns.lo0;
  for (const c of [IFCAP_RXCSUM, IFCAP_TXCSUM, IFCAP_RXCSUM_IPV6, IFCAP_TXCSUM_IPV6]) {
    assert.equal(lo.capabilities & c, c);
    assert.equal(lo.capenable & c, c);
  }
  const got = collect(a);
  udp4(a, '127.0.0.1', 10);
  drain(a.ns);
  assert.equal(got[0]!.pi.csumFlags & (CSUM_DATA_VALID | CSUM_PSEUDO_HDR), CSUM_DATA_VALID | CSUM_PSEUDO_HDR);
  assert.equal(got[0]!.pi.csumData, 0xffff);
  lo.setCap(IFCAP_RXCSUM, false);
  udp4(a, '127.0.0.1', 10);
  drain(a.ns);
  assert.equal(got[1]!.pi.csumFlags, 0);
  // The datagram itself always carries a correct checksum (TCP/UDP are not in lo0's hwassist).
  const d = got[1]!.data;
  assert.equal(
    fold(sumBytes(d, 0, d.length, pseudoHeaderSum4(new Uint8Array([127, 0, 0, 1, 127, 0, 0, 1]), 0, 4, 17, d.length))),
    0xffff,
  );
});

test('capabilities: independent bits, TSO needs TXCSUM (EAGAIN), -txcsum drops TSO, TOE off by default and refused without a TOM', () => {
  const { a } = tunPair();
  const ifp = ifattach(a.ns, {
    name: 'cxgbe0',
    type: 'ether',
    lladdr: new Uint8Array(6),
    capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TSO4 | IFCAP_TOE4,
  });
  assert.equal(ifp.capenable & IFCAP_TOE4, 0);
  assert.equal(ifp.setCap(IFCAP_TOE4, true), -ERRNO.EOPNOTSUPP, 'no TOM loaded: toecore.ts');
  assert.equal(ifp.hwassist & CSUM_IP_TSO, CSUM_IP_TSO);
  assert.equal(ifp.setCap(IFCAP_TXCSUM, false), 0);
  assert.equal(ifp.capenable & IFCAP_TSO4, 0);
  assert.equal(ifp.hwassist & (CSUM_IP_TSO | CSUM_TCP), 0);
  assert.equal(ifp.setCap(IFCAP_TSO4, true), -ERRNO.EAGAIN);
  assert.equal(ifp.setCap(1 << 30, true), -ERRNO.EINVAL);
});
