/**
 * Ethernet II (IEEE 802.3 type field) with an optional IEEE 802.1Q tag.
 *
 *   0      6      12         14                 18
 *   | dst  | src  | 0x8100   | PCP|DEI|VID      | ethertype | payload
 *                 | ethertype| payload   (untagged)
 */
import { type ParseResult, parseError, parsed, WireEmitError } from './errors.js';
import { get16, set16, copyBytes, putBytes, ByteView } from './bytes.js';

export const ETHER_ADDR_LEN = 6;
export const ETHER_DST = 0;
export const ETHER_SRC = 6;
export const ETHER_TYPE = 12;
export const ETHER_HDR_LEN = 14;
export const ETHER_VLAN_ENCAP_LEN = 4;
/** Offset of the TCI in a tagged frame; the inner ethertype follows it. */
export const ETHER_VLAN_TCI = 14;
export const ETHER_VLAN_TYPE = 16;

export const ETHERTYPE_IP = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
/** IEEE 802.1ad service tag (the outer tag of QinQ; an 802.1Q tag follows). */
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_IPV6 = 0x86dd;

/** Zero-allocation view: `reset` over a frame, then read fields. */
export class EthernetView extends ByteView {
  get tagged(): boolean {
    return get16(this.buf, this.off + ETHER_TYPE) === ETHERTYPE_VLAN;
  }
  /** The outer type field (0x8100 when tagged). */
  get outerType(): number {
    return get16(this.buf, this.off + ETHER_TYPE);
  }
  set outerType(v: number) {
    set16(this.buf, this.off + ETHER_TYPE, v);
  }
  /** The type of the payload: the inner type when tagged. */
  get ethertype(): number {
    const t = get16(this.buf, this.off + ETHER_TYPE);
    return t === ETHERTYPE_VLAN ? get16(this.buf, this.off + ETHER_VLAN_TYPE) : t;
  }
  get tci(): number {
    return get16(this.buf, this.off + ETHER_VLAN_TCI);
  }
  get vid(): number {
    return this.tci & 0x0fff;
  }
  get pcp(): number {
    return this.tci >>> 13;
  }
  get headerLen(): number {
    return this.tagged ? ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN : ETHER_HDR_LEN;
  }
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  get dstOffset(): number {
    return this.off + ETHER_DST;
  }
  get srcOffset(): number {
    return this.off + ETHER_SRC;
  }
  /** I/G bit of the destination: multicast or broadcast. */
  get isMulticast(): boolean {
    return (this.buf[this.off]! & 1) !== 0;
  }
}

export interface VlanTag {
  /** Priority code point (802.1p), 0..7. */
  pcp: number;
  /** Drop eligible indicator. */
  dei: boolean;
  /** VLAN identifier, 0..4095. */
  vid: number;
}

export interface EthernetRepr {
  dst: Uint8Array;
  src: Uint8Array;
  /** The payload's type (inner type when tagged). */
  ethertype: number;
  vlan?: VlanTag;
}

export function ethernetBufferLen(repr: EthernetRepr): number {
  return repr.vlan ? ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN : ETHER_HDR_LEN;
}

export function parseEthernet(buf: Uint8Array, off = 0, len = buf.length - off): ParseResult<EthernetRepr> {
  if (off < 0 || len < ETHER_HDR_LEN || off + len > buf.length) return parseError('TRUNCATED', 'ether.header');
  const t = get16(buf, off + ETHER_TYPE);
  const dst = copyBytes(buf, off + ETHER_DST, 6);
  const src = copyBytes(buf, off + ETHER_SRC, 6);
  if (t !== ETHERTYPE_VLAN) return parsed({ dst, src, ethertype: t });
  if (len < ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN) return parseError('TRUNCATED', 'ether.vlan');
  const tci = get16(buf, off + ETHER_VLAN_TCI);
  return parsed({
    dst,
    src,
    ethertype: get16(buf, off + ETHER_VLAN_TYPE),
    vlan: { pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff },
  });
}

export function emitEthernet(repr: EthernetRepr, buf: Uint8Array, off = 0): number {
  const n = ethernetBufferLen(repr);
  if (off + n > buf.length) throw new WireEmitError('ethernet: buffer too small');
  putBytes(buf, off + ETHER_DST, repr.dst, 6);
  putBytes(buf, off + ETHER_SRC, repr.src, 6);
  if (repr.vlan) {
    const { pcp, dei, vid } = repr.vlan;
    set16(buf, off + ETHER_TYPE, ETHERTYPE_VLAN);
    set16(buf, off + ETHER_VLAN_TCI, ((pcp & 7) << 13) | (dei ? 0x1000 : 0) | (vid & 0xfff));
    set16(buf, off + ETHER_VLAN_TYPE, repr.ethertype);
  } else {
    set16(buf, off + ETHER_TYPE, repr.ethertype);
  }
  return n;
}
