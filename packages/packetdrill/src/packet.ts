/**
 * Script packets on the wire: building the raw IP packets a script injects (`<`
 * lines: TCP segments and ICMP errors quoting a TCP header) and checking the packets
 * the engine sends against `>` lines, with packetdrill's rules (run_packet.c,
 * verify_outbound_live_packet):
 *
 * - flags, sequence number (after mapping to script space), payload length and the
 *   window (when the line gives `win`) must match exactly; the ACK number is checked
 *   when the line has the ACK flag (RFC 9293 §3.1: it is meaningless otherwise);
 * - options must have the same kinds in the same order (NOP and EOL padding included,
 *   so the data offset matches) and the same values, except TS val and ecr (packetdrill
 *   checks TS val only with --tcp_ts_tick_usecs, which the suite never sets); `<...>`
 *   skips the option check;
 * - `(tos X)`/`(class X)`, `(ttl X)` and `[noecn]`-style marks check IP fields.
 */
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IP_HDR_LEN,
  IP6_HDR_LEN,
  TCP_HDR_LEN,
  TH_ACK_FLAG,
  TH_AE,
  TH_CWR,
  TH_ECE,
  TH_FIN,
  TH_PUSH,
  TH_RST,
  TH_SYN,
  TH_URG,
  TCPOPT_EOL,
  TCPOPT_MAXSEG,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TCPOPT_WINDOW,
  TCPOPT_SIGNATURE,
  TcpOptionScan,
  tcpMd5Digest,
  tcpMd5Verify,
  emitIpv4,
  fillUdpChecksum4,
  fillUdpChecksum6,
  IPPROTO_UDP,
  emitIpv6,
  emitTcp,
  fillTcpChecksum4,
  fillTcpChecksum6,
  internetChecksum,
  l4Checksum6,
  parseIpv4,
  parseIpv6,
  parseTcp,
  formatIP,
  type TcpOptions,
  type TcpRepr,
} from '@mcstack/wire';
import { get16, get32, set16, set32 } from '@mcstack/wire';
import type { IcmpSpec, IpInfo, PacketEvent, TcpOptionSpec, TcpSegmentSpec } from './ast.js';
import type { Flow } from './flow.js';

/** Inbound packets carry this TTL / hop limit unless the line says `(ttl N)`. */
const DEFAULT_TTL = 64;

const FLAG_BITS: Record<string, number> = {
  S: TH_SYN,
  F: TH_FIN,
  R: TH_RST,
  P: TH_PUSH,
  '.': TH_ACK_FLAG,
  E: TH_ECE,
  W: TH_CWR,
  U: TH_URG,
  A: TH_AE,
};

export class UnsupportedError extends Error {
  readonly code = 'MCSTACK_DRILL_UNSUPPORTED';
}

export function tcpFlagBits(flags: string): number {
  let bits = 0;
  for (const ch of flags) {
    const b = FLAG_BITS[ch];
    if (b === undefined) throw new UnsupportedError(`TCP flag '${ch}'`);
    bits |= b;
  }
  return bits;
}

/** packetdrill's flag letters for a flags value, in its order (tcp_flags_to_string). */
export function tcpFlagString(bits: number): string {
  let s = '';
  if (bits & TH_FIN) s += 'F';
  if (bits & TH_SYN) s += 'S';
  if (bits & TH_RST) s += 'R';
  if (bits & TH_PUSH) s += 'P';
  if (bits & TH_ACK_FLAG) s += '.';
  if (bits & TH_URG) s += 'U';
  if (bits & TH_ECE) s += 'E';
  if (bits & TH_CWR) s += 'W';
  if (bits & TH_AE) s += 'A';
  return s;
}

function ecnBits(ecn: IpInfo['ecn']): number {
  switch (ecn) {
    case 'ect1':
      return 1;
    case 'ect0':
    case 'ect01':
      return 2;
    case 'ce':
      return 3;
    default:
      return 0;
  }
}

/**
 * Each script option's kind on the wire and its length there (a SACK's grows by 8 bytes a
 * block): RFC 9293 §3.1 (EOL, NOP, MSS), RFC 7323 (window scale, timestamps), RFC 2018,
 * RFC 2385 (TCP-MD5).
 */
const OPT_WIRE: Record<TcpOptionSpec['kind'], readonly [kind: number, len: number]> = {
  nop: [TCPOPT_NOP, 1],
  eol: [TCPOPT_EOL, 1],
  mss: [TCPOPT_MAXSEG, 4],
  wscale: [TCPOPT_WINDOW, 3],
  sackOK: [TCPOPT_SACK_PERMITTED, 2],
  sack: [TCPOPT_SACK, 2],
  timestamp: [TCPOPT_TIMESTAMP, 10],
  md5: [TCPOPT_SIGNATURE, 18],
};

/** The TcpOptions (with an explicit wire order) for a script option list. */
function scriptOptions(list: TcpOptionSpec[], flow: Flow, inbound: boolean, ack: boolean): TcpOptions {
  const o: TcpOptions = {};
  const order: number[] = [];
  for (const opt of list) {
    order.push(OPT_WIRE[opt.kind][0]);
    switch (opt.kind) {
      case 'mss':
        o.mss = opt.value;
        break;
      case 'wscale':
        o.wscale = opt.value;
        break;
      case 'sackOK':
        o.sackPermitted = true;
        break;
      case 'sack':
        // Inbound SACK blocks acknowledge the local host's data (mapped like the ACK).
        o.sack = opt.blocks.map(([a, b]) =>
          inbound ? [flow.localToLive(a), flow.localToLive(b)] : [a >>> 0, b >>> 0],
        );
        break;
      case 'timestamp':
        o.timestamp = { val: opt.val >>> 0, ecr: inbound && ack ? flow.tsEcrToLive(opt.ecr) : opt.ecr >>> 0 };
        break;
      default:
        // nop, eol; md5: its digest is written once the packet is whole (signInbound).
        break;
    }
  }
  o.order = order;
  return o;
}

function ipHeaderLen(family: 4 | 6): number {
  return family === 4 ? IP_HDR_LEN : IP6_HDR_LEN;
}

/** Write the IP header for `l4Len` bytes of `proto` from `src` to `dst`. */
function emitIp(
  family: 4 | 6,
  buf: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  l4Len: number,
  ip: IpInfo,
): void {
  const tos = ip.tos !== undefined ? ip.tos : ecnBits(ip.ecn);
  const ttl = ip.ttl ?? DEFAULT_TTL;
  if (family === 4) {
    emitIpv4(
      {
        src: get32(src, 0),
        dst: get32(dst, 0),
        protocol: proto,
        ttl,
        tos,
        ident: 0,
        dontFrag: false,
        moreFrags: false,
        fragOffset: 0,
        payloadLen: l4Len,
      },
      buf,
      0,
    );
  } else {
    emitIpv6(
      { src, dst, nextHeader: proto, hopLimit: ttl, trafficClass: tos, flowLabel: 0, payloadLen: l4Len },
      buf,
      0,
    );
  }
}

/** The raw IP packet for an inbound TCP line. */
export function buildInboundTcp(seg: TcpSegmentSpec, ip: IpInfo, flow: Flow): Uint8Array {
  if (seg.seq === null) throw new UnsupportedError('a wildcard (...) sequence number on an inbound segment');
  const flags = tcpFlagBits(seg.flags);
  const hasAck = (flags & TH_ACK_FLAG) !== 0;
  if (seg.options === 'any') throw new UnsupportedError('<...> options on an inbound segment');
  const options: TcpOptions = seg.options ? scriptOptions(seg.options, flow, true, hasAck) : {};
  if (!seg.options) options.order = [];
  const repr: TcpRepr = {
    srcPort: flow.remotePort,
    dstPort: flow.localPort,
    seq: seg.seq >>> 0,
    ack: seg.ack === undefined ? 0 : hasAck ? flow.localToLive(seg.ack) : seg.ack >>> 0,
    flags,
    window: seg.win ?? 0,
    urgentPtr: 0,
    options,
  };
  const ipLen = ipHeaderLen(flow.family);
  // Header length first (options padded to 4 bytes), then the zero payload.
  const probe = new Uint8Array(TCP_HDR_LEN + 40);
  const thLen = emitTcp(repr, probe, 0);
  const l4Len = thLen + seg.payloadLen;
  const udp = udpPorts(seg, flow, true);
  const uLen = udp ? UDP_HDR_LEN : 0;
  const th = ipLen + uLen;
  const buf = new Uint8Array(th + l4Len);
  emitIp(flow.family, buf, flow.remote, flow.local, udp ? IPPROTO_UDP : IPPROTO_TCP, uLen + l4Len, ip);
  emitTcp(repr, buf, th);
  const md5 = seg.options?.find((o) => o.kind === 'md5');
  if (md5 !== undefined) signInbound(buf, th, l4Len, md5.text === 'valid', flow);
  if (udp) {
    // TCP over UDP as FreeBSD sends it: the UDP checksum covers it, th_sum stays zero.
    set16(buf, ipLen, udp.src);
    set16(buf, ipLen + 2, udp.dst);
    set16(buf, ipLen + 4, uLen + l4Len);
    if (flow.family === 4) fillUdpChecksum4(buf, 0, ipLen, uLen + l4Len);
    else fillUdpChecksum6(buf, 0, ipLen, uLen + l4Len);
  } else if (flow.family === 4) fillTcpChecksum4(buf, 0, ipLen, l4Len);
  else fillTcpChecksum6(buf, 0, ipLen, l4Len);
  return buf;
}

const optScan = new TcpOptionScan();
const UDP_HDR_LEN = 8;

/**
 * The UDP ports a segment travels between, or null when it is not encapsulated: the
 * line's `/udp(src > dst)`, else under --udp_encapsulation the flow's ports (inbound:
 * remote → local).
 */
function udpPorts(seg: TcpSegmentSpec, flow: Flow, inbound: boolean): { src: number; dst: number } | null {
  if (seg.udp) return seg.udp;
  const e = flow.udpEncaps;
  if (e === null) return null;
  return inbound ? { src: e.remote, dst: e.local } : { src: e.local, dst: e.remote };
}

function md5Key(flow: Flow): Uint8Array {
  if (flow.md5Key === null) throw new UnsupportedError('md5 options without --tcp_md5_secret');
  return flow.md5Key;
}

/** The RFC 2385 digest of an inbound segment under --tcp_md5_secret; a wrong one unless `valid`. */
function signInbound(buf: Uint8Array, th: number, l4Len: number, valid: boolean, flow: Flow): void {
  const hlen = (buf[th + 12]! >>> 4) << 2;
  optScan.scan(buf, th + TCP_HDR_LEN, th + hlen, (buf[th + 13]! & TH_SYN) !== 0);
  const at = optScan.signatureOffset;
  buf.set(tcpMd5Digest(buf, 0, th, l4Len, md5Key(flow)), at);
  if (!valid) buf[at]! ^= 0xff;
}

/* ICMP types and codes by packetdrill's names (icmp_packet.c). */
const ICMP4_TYPES: Record<string, [number, Record<string, number>?]> = {
  echo_reply: [0],
  unreachable: [
    3,
    {
      net_unreachable: 0,
      host_unreachable: 1,
      protocol_unreachable: 2,
      port_unreachable: 3,
      frag_needed: 4,
      source_route_failed: 5,
      net_unknown: 6,
      host_unknown: 7,
      source_host_isolated: 8,
      net_prohibited: 9,
      host_prohibited: 10,
      net_unreachable_for_tos: 11,
      host_unreachable_for_tos: 12,
      packet_filtered: 13,
      precedence_violation: 14,
      precedence_cutoff: 15,
    },
  ],
  source_quench: [4],
  redirect: [5],
  echo_request: [8],
  time_exceeded: [11, { ttl_exceeded_in_transit: 0, frag_reass_exceeded: 1 }],
  parameter_problem: [12],
  timestamp_request: [13],
  timestamp_reply: [14],
};
const ICMP6_TYPES: Record<string, [number, Record<string, number>?]> = {
  unreachable: [1, { no_route: 0, admin_prohibited: 1, not_neighbour: 2, address_unreachable: 3, port_unreachable: 4 }],
  packet_too_big: [2],
  time_exceeded: [3, { exceeded_hop_limit: 0, exceeded_frag_time: 1 }],
  parameter_problem: [4, { header_field: 0, unknown_next_header: 1, unknown_option: 2 }],
};

export function icmpTypeCode(family: 4 | 6, spec: IcmpSpec): [number, number] {
  const table = family === 4 ? ICMP4_TYPES : ICMP6_TYPES;
  let type: number;
  let codes: Record<string, number> | undefined;
  const tm = /^type_(\d+)$/.exec(spec.type);
  if (tm) type = Number(tm[1]);
  else {
    const e = table[spec.type];
    if (!e) throw new UnsupportedError(`ICMP${family === 6 ? 'v6' : ''} type ${spec.type}`);
    [type, codes] = e;
  }
  let code = 0;
  if (spec.code !== undefined) {
    const cm = /^code_(\d+)$/.exec(spec.code);
    if (cm) code = Number(cm[1]);
    else if (codes && codes[spec.code] !== undefined) code = codes[spec.code]!;
    else throw new UnsupportedError(`ICMP${family === 6 ? 'v6' : ''} code ${spec.code} for ${spec.type}`);
  }
  if (type > 255 || code > 255) throw new UnsupportedError(`ICMP type/code out of range`);
  return [type, code];
}

/**
 * An inbound ICMP error quoting the IP header and first 8 bytes of a TCP segment the
 * local host sent (new_icmp_packet): ports of the flow and the quoted sequence number
 * mapped to live space.
 */
export function buildInboundIcmp(spec: IcmpSpec, ip: IpInfo, flow: Flow): Uint8Array {
  const family = flow.family;
  const [type, code] = icmpTypeCode(family, spec);
  const ipLen = ipHeaderLen(family);
  const ECHO_BYTES = 8;
  const l4Len = 8 + ipLen + ECHO_BYTES;
  const buf = new Uint8Array(ipLen + l4Len);
  emitIp(family, buf, flow.remote, flow.local, family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, l4Len, ip);
  const icmp = ipLen;
  buf[icmp] = type;
  buf[icmp + 1] = code;
  if (spec.mtu !== undefined) {
    if (family === 4) {
      if (type !== 3 || code !== 4) throw new UnsupportedError('an ICMP MTU other than on unreachable frag_needed');
      set16(buf, icmp + 6, spec.mtu);
    } else {
      if (type !== 2) throw new UnsupportedError('an ICMPv6 MTU other than on packet_too_big');
      set32(buf, icmp + 4, spec.mtu >>> 0);
    }
  }
  // The quoted packet: the local host's segment towards the remote.
  const q = icmp + 8;
  const quotedLen = ipLen + TCP_HDR_LEN + (spec.tcpPayloadLen ?? 0);
  const qhdr = new Uint8Array(ipLen);
  emitIp(family, qhdr, flow.local, flow.remote, IPPROTO_TCP, quotedLen - ipLen, {});
  buf.set(qhdr, q);
  set16(buf, q + ipLen, flow.localPort);
  set16(buf, q + ipLen + 2, flow.remotePort);
  set32(buf, q + ipLen + 4, flow.localToLive(spec.tcpSeq ?? 0));
  if (family === 4) set16(buf, icmp + 2, internetChecksum(buf, icmp, l4Len));
  else set16(buf, icmp + 2, l4Checksum6(buf, 0, icmp, l4Len, IPPROTO_ICMPV6, 2));
  return buf;
}

/** An outbound packet as decoded from the engine's output. */
export interface LivePacket {
  family: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  tos: number;
  ttl: number;
  protocol: number;
  tcp?: TcpRepr;
  /** TCP payload or ICMP body. */
  payload: Uint8Array;
  icmpType?: number;
  icmpCode?: number;
  /** The UDP ports when the segment came inside UDP (TCP over UDP). */
  udp?: { src: number; dst: number };
  /** The packet as sent and where its transport header starts and ends (for the MD5 check). */
  frame: Uint8Array;
  l4: number;
  end: number;
}

/** Decode a raw IP packet; a string says why it cannot be read. */
export function decodePacket(frame: Uint8Array): LivePacket | string {
  const v = frame.length > 0 ? frame[0]! >>> 4 : 0;
  let family: 4 | 6;
  let src: Uint8Array, dst: Uint8Array, tos: number, ttl: number, protocol: number, l4: number, end: number;
  if (v === 4) {
    const r = parseIpv4(frame, 0, frame.length);
    if (!r.ok) return `bad IPv4 header (${r.code} ${r.field})`;
    const h = r.value;
    family = 4;
    src = frame.slice(12, 16);
    dst = frame.slice(16, 20);
    tos = h.tos;
    ttl = h.ttl;
    protocol = h.protocol;
    l4 = IP_HDR_LEN + (h.options ? h.options.length : 0);
    end = l4 + h.payloadLen;
  } else if (v === 6) {
    const r = parseIpv6(frame, 0, frame.length);
    if (!r.ok) return `bad IPv6 header (${r.code} ${r.field})`;
    const h = r.value;
    family = 6;
    src = h.src;
    dst = h.dst;
    tos = h.trafficClass;
    ttl = h.hopLimit;
    protocol = h.nextHeader;
    l4 = IP6_HDR_LEN;
    end = l4 + h.payloadLen;
  } else {
    return `not an IP packet (version ${v})`;
  }
  const pkt: LivePacket = { family, src, dst, tos, ttl, protocol, payload: new Uint8Array(0), frame, l4, end };
  if (protocol === IPPROTO_UDP && end - l4 >= UDP_HDR_LEN + TCP_HDR_LEN) {
    // TCP over UDP: the segment after the UDP header (its checksum is the UDP one).
    const r = parseTcp(frame, l4 + UDP_HDR_LEN, end - l4 - UDP_HDR_LEN);
    if (r.ok) {
      pkt.udp = { src: get16(frame, l4), dst: get16(frame, l4 + 2) };
      pkt.l4 = l4 + UDP_HDR_LEN;
      pkt.tcp = r.value;
      const hlen = (frame[pkt.l4 + 12]! >>> 4) << 2;
      pkt.payload = frame.subarray(pkt.l4 + hlen, end);
    }
  } else if (protocol === IPPROTO_TCP) {
    const r = parseTcp(frame, l4, end - l4);
    if (!r.ok) return `bad TCP header (${r.code} ${r.field})`;
    pkt.tcp = r.value;
    const hlen = (frame[l4 + 12]! >>> 4) << 2;
    pkt.payload = frame.subarray(l4 + hlen, end);
  } else if (protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6) {
    if (end - l4 < 4) return 'truncated ICMP header';
    pkt.icmpType = frame[l4]!;
    pkt.icmpCode = frame[l4 + 1]!;
    pkt.payload = frame.subarray(l4 + 4, end);
  }
  return pkt;
}

function optionText(o: TcpOptions): string {
  const parts: string[] = [];
  const sack = o.sack ?? [];
  for (const k of o.order ?? []) {
    switch (k) {
      case TCPOPT_NOP:
        parts.push('nop');
        break;
      case TCPOPT_EOL:
        parts.push('eol');
        break;
      case TCPOPT_MAXSEG:
        parts.push(`mss ${o.mss}`);
        break;
      case TCPOPT_WINDOW:
        parts.push(`wscale ${o.wscale}`);
        break;
      case TCPOPT_SACK_PERMITTED:
        parts.push('sackOK');
        break;
      case TCPOPT_SACK:
        parts.push(`sack ${sack.map(([a, b]) => `${a}:${b}`).join(' ')}`);
        break;
      case TCPOPT_TIMESTAMP:
        parts.push(`TS val ${o.timestamp?.val} ecr ${o.timestamp?.ecr}`);
        break;
      case TCPOPT_SIGNATURE:
        parts.push('md5');
        break;
      default:
        parts.push(`kind ${k}`);
    }
  }
  return parts.join(',');
}

/** A live packet in script notation (sequence numbers in script space). */
export function describeLive(p: LivePacket, flow: Flow | undefined): string {
  const ipPart = `(tos 0x${p.tos.toString(16)}, ttl ${p.ttl})`;
  if (p.tcp) {
    const t = p.tcp;
    const seq = flow ? flow.localToScript(t.seq) : t.seq;
    const len = p.payload.length;
    let s = `${ipPart} ${tcpFlagString(t.flags) || '-'} ${seq}:${(seq + len) >>> 0}(${len})`;
    if (t.flags & TH_ACK_FLAG) s += ` ack ${t.ack}`;
    s += ` win ${t.window}`;
    if (t.options.order && t.options.order.length > 0) {
      // Show SACK blocks in script space (the remote's numbers are not shifted).
      s += ` <${optionText(t.options)}>`;
    }
    if (p.udp) s += `/udp(${p.udp.src} > ${p.udp.dst})`;
    return s;
  }
  if (p.icmpType !== undefined) return `${ipPart} icmp type ${p.icmpType} code ${p.icmpCode}`;
  return `${ipPart} protocol ${p.protocol} ${formatIP(p.src)} > ${formatIP(p.dst)}`;
}

/** The script line's packet in the same notation, for messages. */
export function describeScript(ev: PacketEvent): string {
  if (ev.icmp) return `icmp ${ev.icmp.type}${ev.icmp.code ? ` ${ev.icmp.code}` : ''}`;
  const t = ev.tcp!;
  let s = `${t.flags || '-'} ${t.seq === null ? '...' : `${t.seq}:${t.seqEnd}`}(${t.payloadLen})`;
  if (t.ack !== undefined) s += ` ack ${t.ack}`;
  if (t.win !== undefined) s += ` win ${t.win}`;
  if (t.options === 'any') s += ' <...>';
  else if (t.options) {
    s += ` <${t.options.map(optName).join(',')}>`;
  }
  return s;
}

/**
 * Compare a live outbound packet with a `>` line. Returns undefined when it matches,
 * else what differs. Records the TS val mapping on a match.
 */
export function verifyOutbound(ev: PacketEvent, p: LivePacket, flow: Flow): string | undefined {
  const ip = ev.ip;
  if (ip.ecn !== undefined) {
    const actual = p.tos & 3;
    if (ip.ecn === 'ect01' ? actual !== 1 && actual !== 2 : actual !== ecnBits(ip.ecn)) {
      return `IP ECN field: expected ${ip.ecn} vs actual ${actual}`;
    }
  }
  if (ip.tos !== undefined && p.tos !== ip.tos) {
    return `${p.family === 4 ? 'tos' : 'traffic class'}: expected 0x${ip.tos.toString(16)} vs actual 0x${p.tos.toString(16)}`;
  }
  if (ip.ttl !== undefined && p.ttl !== ip.ttl)
    return `${p.family === 4 ? 'ttl' : 'hop limit'}: expected ${ip.ttl} vs actual ${p.ttl}`;

  if (ev.icmp) {
    if (p.icmpType === undefined) return 'expected an ICMP packet';
    const [type, code] = icmpTypeCode(p.family, ev.icmp);
    if (p.icmpType !== type || p.icmpCode !== code)
      return `ICMP type/code: expected ${type}/${code} vs actual ${p.icmpType}/${p.icmpCode}`;
    return undefined;
  }
  const seg = ev.tcp!;
  const t = p.tcp;
  if (!t) return `expected a TCP segment, got protocol ${p.protocol}`;
  const udp = udpPorts(seg, flow, false);
  if (udp === null && p.udp) return `expected a bare TCP segment, got one inside UDP ${p.udp.src} > ${p.udp.dst}`;
  if (udp !== null && !p.udp) return `expected a TCP segment inside UDP ${udp.src} > ${udp.dst}, got a bare one`;
  if (udp !== null && p.udp && (p.udp.src !== udp.src || p.udp.dst !== udp.dst))
    return `UDP ports: expected ${udp.src} > ${udp.dst} vs actual ${p.udp.src} > ${p.udp.dst}`;
  const flags = tcpFlagBits(seg.flags);
  if ((t.flags & 0xfff) !== flags)
    return `TCP flags: expected ${seg.flags || '-'} vs actual ${tcpFlagString(t.flags) || '-'}`;
  const len = p.payload.length;
  if (len !== seg.payloadLen) return `payload length: expected ${seg.payloadLen} vs actual ${len}`;
  if (seg.seq !== null) {
    const seq = seg.absoluteSeq ? t.seq : flow.localToScript(t.seq);
    if (seq !== seg.seq >>> 0) return `sequence number: expected ${seg.seq >>> 0} vs actual ${seq}`;
  }
  if (flags & TH_ACK_FLAG) {
    const want = (seg.ack ?? 0) >>> 0;
    // The remote's numbers are not shifted (live remote ISN = script remote ISN).
    if (t.ack !== want) return `ACK number: expected ${want} vs actual ${t.ack}`;
  }
  if (seg.win !== undefined && t.window !== seg.win) return `window: expected ${seg.win} vs actual ${t.window}`;
  for (let i = 0; i < len; i++) {
    if (p.payload[i] !== 0) return 'payload bytes differ from the zeros the script wrote';
  }
  if (seg.options !== 'any') {
    const err = verifyOptions(seg.options ?? [], t.options, p, flow);
    if (err) return err;
  }
  // Remember the TS val mapping for later inbound TS ecr values.
  if (seg.options !== 'any' && seg.options) {
    const ts = seg.options.find((o) => o.kind === 'timestamp');
    if (ts && ts.kind === 'timestamp' && t.options.timestamp) flow.noteTsVal(ts.val, t.options.timestamp.val);
  }
  return undefined;
}

function verifyOptions(want: TcpOptionSpec[], got: TcpOptions, p: LivePacket, flow: Flow): string | undefined {
  // Expected kinds in wire order, padded with EOL to a 4-byte boundary as emitted.
  const kinds: number[] = [];
  let bytes = 0;
  for (const o of want) {
    const [kind, len] = OPT_WIRE[o.kind];
    kinds.push(kind);
    bytes += o.kind === 'sack' ? len + 8 * o.blocks.length : len;
  }
  while (bytes % 4 !== 0) {
    kinds.push(TCPOPT_EOL);
    bytes++;
  }
  const actual = got.order ?? [];
  const same = actual.length === kinds.length && actual.every((k, i) => k === kinds[i]);
  if (!same) {
    return `TCP options: expected <${want.map(optName).join(',')}> vs actual <${optionText(got)}>`;
  }
  for (const o of want) {
    switch (o.kind) {
      case 'mss':
        if (got.mss !== o.value) return `TCP option mss: expected ${o.value} vs actual ${got.mss}`;
        break;
      case 'wscale':
        if (got.wscale !== o.value) return `TCP option wscale: expected ${o.value} vs actual ${got.wscale}`;
        break;
      case 'sack': {
        const g = got.sack ?? [];
        const w = o.blocks.map(([a, b]) => `${a >>> 0}:${b >>> 0}`).join(' ');
        const a = g.map(([x, y]) => `${x}:${y}`).join(' ');
        if (w !== a) return `TCP option sack: expected ${w} vs actual ${a}`;
        break;
      }
      case 'md5': {
        const ok = tcpMd5Verify(p.frame, 0, p.l4, p.end - p.l4, md5Key(flow));
        if (ok !== (o.text === 'valid'))
          return `TCP option md5: expected ${o.text} vs actual ${ok ? 'valid' : 'invalid'} (key from --tcp_md5_secret)`;
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

function optName(o: TcpOptionSpec): string {
  switch (o.kind) {
    case 'mss':
      return `mss ${o.value}`;
    case 'wscale':
      return `wscale ${o.value}`;
    case 'sack':
      return `sack ${o.blocks.map(([a, b]) => `${a}:${b}`).join(' ')}`;
    case 'timestamp':
      return `TS val ${o.val} ecr ${o.ecr}`;
    case 'md5':
      return `md5 ${o.text}`;
    default:
      return o.kind;
  }
}
