/**
 * ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses: the only
 * combination the stack resolves (FreeBSD if_ether.c arpintr checks the same).
 */
import { type ParseResult, parseError, parsed, WireEmitError } from './errors.js';
import { get16, set16, copyBytes, putBytes, ByteView } from './bytes.js';

export const AR_HRD = 0;
export const AR_PRO = 2;
export const AR_HLN = 4;
export const AR_PLN = 5;
export const AR_OP = 6;
export const AR_SHA = 8;
export const AR_SPA = 14;
export const AR_THA = 18;
export const AR_TPA = 24;
/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = 28;

export const ARPHRD_ETHER = 1;
export const ARP_PRO_IP = 0x0800;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

export class ArpView extends ByteView {
  get hardwareType(): number {
    return get16(this.buf, this.off + AR_HRD);
  }
  get protocolType(): number {
    return get16(this.buf, this.off + AR_PRO);
  }
  get hardwareLen(): number {
    return this.buf[this.off + AR_HLN]!;
  }
  get protocolLen(): number {
    return this.buf[this.off + AR_PLN]!;
  }
  get operation(): number {
    return get16(this.buf, this.off + AR_OP);
  }
  set operation(v: number) {
    set16(this.buf, this.off + AR_OP, v);
  }
  get senderHwOffset(): number {
    return this.off + AR_SHA;
  }
  get senderProtoOffset(): number {
    return this.off + AR_SPA;
  }
  get targetHwOffset(): number {
    return this.off + AR_THA;
  }
  get targetProtoOffset(): number {
    return this.off + AR_TPA;
  }
  /** Ethernet hardware, IPv4 protocol, lengths 6 and 4. */
  get isEtherIp(): boolean {
    return (
      this.hardwareType === ARPHRD_ETHER &&
      this.protocolType === ARP_PRO_IP &&
      this.hardwareLen === 6 &&
      this.protocolLen === 4
    );
  }
}

export interface ArpRepr {
  operation: number;
  senderHw: Uint8Array;
  senderProto: Uint8Array;
  targetHw: Uint8Array;
  targetProto: Uint8Array;
}

export function arpBufferLen(_repr: ArpRepr): number {
  return ARP_LEN;
}

export function parseArp(buf: Uint8Array, off = 0, len = buf.length - off): ParseResult<ArpRepr> {
  if (off < 0 || len < ARP_LEN || off + len > buf.length) return parseError('TRUNCATED', 'arp.header');
  if (get16(buf, off + AR_HRD) !== ARPHRD_ETHER) return parseError('UNSUPPORTED', 'arp.hrd');
  if (get16(buf, off + AR_PRO) !== ARP_PRO_IP) return parseError('UNSUPPORTED', 'arp.pro');
  if (buf[off + AR_HLN] !== 6) return parseError('BAD_FIELD', 'arp.hln');
  if (buf[off + AR_PLN] !== 4) return parseError('BAD_FIELD', 'arp.pln');
  return parsed({
    operation: get16(buf, off + AR_OP),
    senderHw: copyBytes(buf, off + AR_SHA, 6),
    senderProto: copyBytes(buf, off + AR_SPA, 4),
    targetHw: copyBytes(buf, off + AR_THA, 6),
    targetProto: copyBytes(buf, off + AR_TPA, 4),
  });
}

export function emitArp(repr: ArpRepr, buf: Uint8Array, off = 0): number {
  if (off + ARP_LEN > buf.length) throw new WireEmitError('arp: buffer too small');
  set16(buf, off + AR_HRD, ARPHRD_ETHER);
  set16(buf, off + AR_PRO, ARP_PRO_IP);
  buf[off + AR_HLN] = 6;
  buf[off + AR_PLN] = 4;
  set16(buf, off + AR_OP, repr.operation);
  putBytes(buf, off + AR_SHA, repr.senderHw, 6);
  putBytes(buf, off + AR_SPA, repr.senderProto, 4);
  putBytes(buf, off + AR_THA, repr.targetHw, 6);
  putBytes(buf, off + AR_TPA, repr.targetProto, 4);
  return ARP_LEN;
}
