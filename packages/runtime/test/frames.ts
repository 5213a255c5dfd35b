/** Test frames: Ethernet + IPv4/IPv6 + a TCP or UDP header, built with @mcstack/wire. */
import {
  emitEthernet,
  emitIpv4,
  emitIpv6,
  emitUdp,
  parseIP,
  ETHERTYPE_IP,
  ETHERTYPE_IPV6,
  ETHERTYPE_ARP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TCP_HDR_LEN,
  TH_SPORT,
  TH_DPORT,
  TH_OFF,
  UDP_HDR_LEN,
  set16,
} from '@mcstack/wire';

const MAC_A = Uint8Array.of(2, 0, 0, 0, 0, 1);
const MAC_B = Uint8Array.of(2, 0, 0, 0, 0, 2);

export interface FrameSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto?: 'tcp' | 'udp';
  vlan?: number;
  /** IPv4 only: set More Fragments. */
  fragment?: boolean;
  payload?: number;
}

export function ip4num(text: string): number {
  const b = parseIP(text)!;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function buildFrame(f: FrameSpec): Uint8Array {
  const v6 = f.src.includes(':');
  const tcp = (f.proto ?? 'tcp') === 'tcp';
  const l4len = (tcp ? TCP_HDR_LEN : UDP_HDR_LEN) + (f.payload ?? 0);
  const buf = new Uint8Array(18 + (v6 ? 40 : 20) + l4len);
  let o = emitEthernet(
    {
      dst: MAC_B,
      src: MAC_A,
      ethertype: v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP,
      ...(f.vlan !== undefined ? { vlan: { pcp: 0, dei: false, vid: f.vlan } } : {}),
    },
    buf,
    0,
  );
  const proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
  if (v6) {
    o += emitIpv6(
      {
        src: parseIP(f.src)!,
        dst: parseIP(f.dst)!,
        nextHeader: proto,
        hopLimit: 64,
        trafficClass: 0,
        flowLabel: 0,
        payloadLen: l4len,
      },
      buf,
      o,
    );
  } else {
    o += emitIpv4(
      {
        src: ip4num(f.src),
        dst: ip4num(f.dst),
        protocol: proto,
        ttl: 64,
        tos: 0,
        ident: 1,
        dontFrag: !f.fragment,
        moreFrags: !!f.fragment,
        fragOffset: 0,
        payloadLen: l4len,
      },
      buf,
      o,
    );
  }
  if (tcp) {
    set16(buf, o + TH_SPORT, f.sport);
    set16(buf, o + TH_DPORT, f.dport);
    buf[o + TH_OFF] = (TCP_HDR_LEN / 4) << 4;
    o += TCP_HDR_LEN;
  } else {
    o += emitUdp({ srcPort: f.sport, dstPort: f.dport, payloadLen: f.payload ?? 0 }, buf, o);
  }
  return buf.subarray(0, o + (f.payload ?? 0));
}

export function buildArp(): Uint8Array {
  const buf = new Uint8Array(42);
  emitEthernet({ dst: MAC_B, src: MAC_A, ethertype: ETHERTYPE_ARP }, buf, 0);
  return buf;
}
