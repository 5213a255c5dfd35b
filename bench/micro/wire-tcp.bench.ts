// TCP+IPv4 header parse and emit (target ≥ 10 M headers/s each, docs/architecture.md "Targets"), in
// batch loops over a ring of real-looking segments: the view path the engine uses
// per packet, the checked Repr path, and emit.
import {
  Ipv4View,
  TcpView,
  TcpOptionScan,
  parseIpv4,
  parseTcp,
  emitIpv4,
  emitTcp,
  type Ipv4Repr,
  type TcpRepr,
} from '@mcstack/wire';
import type { MicroTask } from './index.js';

const BATCH = 1024;
// IPv4 + TCP with nop,nop,TS and a 100-byte payload, seq varying per frame.
const frames: Uint8Array[] = [];
const ipRepr: Ipv4Repr = {
  src: 0x0a000001,
  dst: 0x0a000002,
  protocol: 6,
  ttl: 64,
  tos: 0,
  ident: 0,
  dontFrag: true,
  moreFrags: false,
  fragOffset: 0,
  payloadLen: 32 + 100,
};
const tcpRepr: TcpRepr = {
  srcPort: 40000,
  dstPort: 80,
  seq: 1,
  ack: 2,
  flags: 0x18,
  window: 65535,
  urgentPtr: 0,
  options: { timestamp: { val: 1, ecr: 2 }, order: [1, 1, 8] },
};
for (let i = 0; i < BATCH; i++) {
  const b = new Uint8Array(20 + 32 + 100);
  emitIpv4({ ...ipRepr, ident: i }, b, 0);
  emitTcp({ ...tcpRepr, seq: i * 1000, options: { timestamp: { val: i, ecr: i + 1 }, order: [1, 1, 8] } }, b, 20);
  frames.push(b);
}
const ip = new Ipv4View();
const tcp = new TcpView();
const scan = new TcpOptionScan();
const out = new Uint8Array(20 + 32);
let sink = 0;

export const tasks: MicroTask[] = [
  {
    name: 'TCP+IPv4 view parse (all fields + options scan)',
    unitsPerOp: BATCH,
    unit: 'hdr',
    target: 1e7,
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        const f = frames[i]!;
        ip.reset(f, 0);
        if (ip.version !== 4) continue;
        const hl = ip.headerLen;
        tcp.reset(f, hl);
        const flags = tcp.flags;
        scan.scan(f, hl + 20, hl + tcp.headerLen, (flags & 2) !== 0);
        sink ^=
          ip.src ^
          ip.dst ^
          ip.totalLen ^
          ip.ident ^
          ip.fragField ^
          ip.ttl ^
          ip.protocol ^
          tcp.srcPort ^
          tcp.dstPort ^
          tcp.seq ^
          tcp.ack ^
          flags ^
          tcp.window ^
          tcp.checksum ^
          tcp.urgentPtr ^
          scan.tsVal ^
          scan.tsEcr;
      }
    },
  },
  {
    name: 'TCP+IPv4 Repr parse (checked, allocating)',
    unitsPerOp: BATCH,
    unit: 'hdr',
    target: 1e7,
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        const f = frames[i]!;
        const a = parseIpv4(f, 0, f.length, { verifyChecksum: false });
        if (!a.ok) continue;
        const t = parseTcp(f, 20, a.value.payloadLen);
        if (t.ok) sink ^= t.value.seq;
      }
    },
  },
  {
    name: 'TCP+IPv4 view emit (fields written in place)',
    unitsPerOp: BATCH,
    unit: 'hdr',
    target: 1e7,
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        ip.reset(out, 0);
        out[0] = 0x45;
        ip.tos = 0;
        ip.totalLen = 152;
        ip.ident = i;
        ip.fragField = 0x4000;
        ip.ttl = 64;
        ip.protocol = 6;
        ip.src = 0x0a000001;
        ip.dst = 0x0a000002;
        ip.checksum = 0;
        tcp.reset(out, 20);
        tcp.srcPort = 40000;
        tcp.dstPort = 80;
        tcp.seq = i;
        tcp.ack = 2;
        tcp.headerLen = 32;
        tcp.flags = 0x18;
        tcp.window = 65535;
        tcp.checksum = 0;
        tcp.urgentPtr = 0;
        sink ^= out[i & 31]!;
      }
    },
  },
  {
    name: 'TCP+IPv4 Repr emit (incl. IP header checksum)',
    unitsPerOp: BATCH,
    unit: 'hdr',
    target: 1e7,
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        tcpRepr.seq = i;
        emitIpv4(ipRepr, out, 0);
        emitTcp(tcpRepr, out, 20);
        sink ^= out[i & 31]!;
      }
    },
  },
];
export const _sink = () => sink;
