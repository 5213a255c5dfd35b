// Golden bytes: every frame of the real captures parsed down to the TCP/UDP
// payload and emitted back byte-identical (checksums recomputed by the emitters).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  readPcap,
  LINKTYPE_ETHERNET,
  isRawIpLinkType,
  parseEthernet,
  emitEthernet,
  ethernetBufferLen,
  EthernetView,
  ETHERTYPE_IP,
  ETHERTYPE_IPV6,
  parseIpv4,
  emitIpv4,
  ipv4BufferLen,
  Ipv4View,
  parseIpv6,
  emitIpv6,
  Ipv6View,
  IP6_HDR_LEN,
  parseIpv6Chain,
  emitIpv6Ext,
  ipv6ExtBufferLen,
  Ipv6ExtWalker,
  parseTcp,
  emitTcp,
  tcpBufferLen,
  TcpView,
  TcpOptionScan,
  TOF_TS,
  TOF_MSS,
  verifyTcpChecksum4,
  verifyTcpChecksum6,
  tcpChecksum4,
  tcpChecksum6,
  parseUdp,
  emitUdp,
  udpBufferLen,
  verifyUdpChecksum4,
  verifyUdpChecksum6,
  pseudoHeaderSum4,
  pseudoHeaderSum6,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from '../src/index.js';
import { FIXTURES, fixture } from './fixtures.js';

/** Re-create `frame` from its parsed headers: payload bytes copied, headers emitted. */
function rebuild(frame: Uint8Array, linkType: number): { out: Uint8Array; layers: string[] } {
  const out = new Uint8Array(frame.length);
  const layers: string[] = [];
  let off = 0;
  let ethertype: number;
  if (linkType === LINKTYPE_ETHERNET) {
    const eth = parseEthernet(frame);
    assert.ok(eth.ok, `ethernet: ${JSON.stringify(eth)}`);
    const view = new EthernetView().reset(frame, 0);
    assert.equal(view.ethertype, eth.value.ethertype);
    assert.equal(view.headerLen, ethernetBufferLen(eth.value));
    emitEthernet(eth.value, out, 0);
    layers.push('ether');
    off = ethernetBufferLen(eth.value);
    ethertype = eth.value.ethertype;
  } else {
    assert.ok(isRawIpLinkType(linkType));
    ethertype = frame[0]! >>> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP;
  }
  // Trailing bytes (Ethernet padding) are kept from the original.
  out.set(frame.subarray(off), off);
  const ipOff = off;
  let l4Off: number;
  let l4Len: number;
  let proto: number;
  let v6 = false;
  if (ethertype === ETHERTYPE_IP) {
    const ip = parseIpv4(frame, off);
    assert.ok(ip.ok, `ipv4: ${JSON.stringify(ip)}`);
    const view = new Ipv4View().reset(frame, off);
    assert.equal(view.headerLen, ipv4BufferLen(ip.value));
    assert.equal(view.payloadLen, ip.value.payloadLen);
    assert.ok(view.verifyChecksum());
    l4Off = off + ipv4BufferLen(ip.value);
    l4Len = ip.value.payloadLen;
    proto = ip.value.protocol;
    layers.push('ipv4');
    // Emitted after the upper layer, below, so its bytes are in place; header only here.
    emitIpv4(ip.value, out, off);
  } else {
    assert.equal(ethertype, ETHERTYPE_IPV6);
    v6 = true;
    const ip = parseIpv6(frame, off);
    assert.ok(ip.ok, `ipv6: ${JSON.stringify(ip)}`);
    emitIpv6(ip.value, out, off);
    layers.push('ipv6');
    const chain = parseIpv6Chain(ip.value.nextHeader, frame, off + IP6_HDR_LEN, ip.value.payloadLen);
    assert.ok(chain.ok);
    let o = off + IP6_HDR_LEN;
    for (const h of chain.value.headers) {
      emitIpv6Ext(h, out, o);
      o += ipv6ExtBufferLen(h);
      layers.push(`ipv6-ext-${h.type}`);
    }
    const walker = new Ipv6ExtWalker();
    assert.ok(walker.walk(frame, off + IP6_HDR_LEN, ip.value.nextHeader, off + IP6_HDR_LEN + ip.value.payloadLen));
    assert.equal(walker.protocol, chain.value.protocol);
    assert.equal(walker.offset, chain.value.offset);
    l4Off = chain.value.offset;
    l4Len = off + IP6_HDR_LEN + ip.value.payloadLen - l4Off;
    proto = chain.value.protocol;
    assert.equal(new Ipv6View().reset(frame, off).payloadLen, ip.value.payloadLen);
  }
  if (proto === IPPROTO_TCP) {
    const tcp = parseTcp(frame, l4Off, l4Len);
    assert.ok(tcp.ok, `tcp: ${JSON.stringify(tcp)}`);
    const view = new TcpView().reset(frame, l4Off);
    assert.equal(view.seq, tcp.value.seq);
    assert.equal(view.ack, tcp.value.ack);
    assert.equal(view.flags, tcp.value.flags);
    assert.equal(view.headerLen, tcpBufferLen(tcp.value));
    const scan = new TcpOptionScan();
    const f = scan.scan(frame, view.optionsOffset, view.payloadOffset, view.syn);
    if (tcp.value.options.timestamp) {
      assert.ok(f & TOF_TS);
      assert.equal(scan.tsVal, tcp.value.options.timestamp.val);
      assert.equal(scan.tsEcr, tcp.value.options.timestamp.ecr);
    }
    if (view.syn && tcp.value.options.mss !== undefined) {
      assert.ok(f & TOF_MSS);
      assert.equal(scan.mss, tcp.value.options.mss);
    }
    const ps = v6
      ? pseudoHeaderSum6(out, ipOff + 8, ipOff + 24, IPPROTO_TCP, l4Len)
      : pseudoHeaderSum4(out, ipOff + 12, ipOff + 16, IPPROTO_TCP, l4Len);
    emitTcp(tcp.value, out, l4Off, ps, l4Len - tcpBufferLen(tcp.value));
    assert.ok(v6 ? verifyTcpChecksum6(frame, ipOff, l4Off, l4Len) : verifyTcpChecksum4(frame, ipOff, l4Off, l4Len));
    assert.equal(
      v6 ? tcpChecksum6(frame, ipOff, l4Off, l4Len) : tcpChecksum4(frame, ipOff, l4Off, l4Len),
      view.checksum,
    );
    layers.push('tcp');
  } else if (proto === IPPROTO_UDP) {
    const udp = parseUdp(frame, l4Off, l4Len);
    assert.ok(udp.ok);
    const ps = v6
      ? pseudoHeaderSum6(out, ipOff + 8, ipOff + 24, IPPROTO_UDP, l4Len)
      : pseudoHeaderSum4(out, ipOff + 12, ipOff + 16, IPPROTO_UDP, l4Len);
    const stored = (frame[l4Off + 6]! << 8) | frame[l4Off + 7]!;
    emitUdp(udp.value, out, l4Off, stored === 0 && !v6 ? undefined : ps);
    assert.ok(v6 ? verifyUdpChecksum6(frame, ipOff, l4Off, l4Len) : verifyUdpChecksum4(frame, ipOff, l4Off, l4Len));
    layers.push('udp');
    void udpBufferLen;
  }
  return { out, layers };
}

const pcaps = readdirSync(join(FIXTURES, 'pcap')).filter((n) => n.endsWith('.pcap'));
const all = [...pcaps.map((n) => `pcap/${n}`), 'tcp-md5/tcp-md5-derived.pcap'];

for (const name of all) {
  test(`golden round trip: ${name}`, () => {
    const file = readPcap(fixture(name));
    assert.ok(file.ok, JSON.stringify(file));
    assert.ok(file.value.packets.length > 0);
    let tcp = 0;
    file.value.packets.forEach((pk, i) => {
      const { out, layers } = rebuild(pk.data, file.value.linkType);
      assert.deepEqual(out, pk.data, `frame ${i + 1} (${layers.join('/')}) differs`);
      if (layers.includes('tcp')) tcp++;
    });
    assert.equal(tcp, file.value.packets.length, 'every frame of these captures is TCP');
  });
}

test('frame counts match SOURCES.md', () => {
  const count = (n: string) => {
    const f = readPcap(fixture(n));
    assert.ok(f.ok);
    return f.value.packets.length;
  };
  assert.equal(count('pcap/tcpdump-dns_tcp.pcap'), 11);
  assert.equal(count('pcap/gopacket-test_ethernet.pcap'), 10);
  assert.equal(count('pcap/pcapplusplus-one_ipv6_http_stream.pcap'), 19);
  assert.equal(count('tcp-md5/tcp-md5-derived.pcap'), 4);
});
