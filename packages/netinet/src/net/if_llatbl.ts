/**
 * What ARP and ND share of a link-layer table entry (net/if_llatbl.h): the
 * packet held (la_hold) while the entry resolves.
 */
import type { FrameMeta } from './mbuf.js';
import { MAX_LINKHDR } from './mbuf.js';

/** A packet held while its next hop resolves (a copy: the caller's buffer is reused). */
export interface HeldPacket {
  buf: Uint8Array;
  off: number;
  len: number;
  csumFlags: number;
  csumData: number;
  l3hlen: number;
  tsoSegsz: number;
  flowid: number;
  hashType: number;
  flags: number;
}

export function holdPacket(buf: Uint8Array, off: number, len: number, meta: FrameMeta): HeldPacket {
  const copy = new Uint8Array(MAX_LINKHDR + len);
  copy.set(buf.subarray(off, off + len), MAX_LINKHDR);
  return {
    buf: copy,
    off: MAX_LINKHDR,
    len,
    csumFlags: meta.csumFlags,
    csumData: meta.csumData,
    l3hlen: meta.l3hlen,
    tsoSegsz: meta.tsoSegsz,
    flowid: meta.flowid,
    hashType: meta.hashType,
    flags: meta.flags,
  };
}
