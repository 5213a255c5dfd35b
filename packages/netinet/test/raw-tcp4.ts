/**
 * Raw IPv4 TCP segments for tests that play a host the engine has never seen (spoofed SYN
 * floods, forged ACKs and RSTs): a 20-byte IP header and a TCP header, with an MSS option
 * when asked, checksums filled.
 */
import { emitIpv4, l4Checksum4, set16, set32 } from '@mcstack/wire';

export interface RawTcp4 {
  /** Addresses as 32-bit numbers. */
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  /** An MSS option's value; absent: no options. */
  mss?: number;
}

/** Write the segment into `buf` (at least 44 bytes) and return the frame's view of it. */
export function rawTcp4(buf: Uint8Array, o: RawTcp4): Uint8Array {
  const tl = o.mss === undefined ? 20 : 24;
  emitIpv4(
    {
      src: o.src,
      dst: o.dst,
      protocol: 6,
      ttl: 64,
      tos: 0,
      ident: 0,
      dontFrag: true,
      moreFrags: false,
      fragOffset: 0,
      payloadLen: tl,
    },
    buf,
    0,
  );
  const t = 20;
  set16(buf, t, o.sport);
  set16(buf, t + 2, o.dport);
  set32(buf, t + 4, o.seq);
  set32(buf, t + 8, o.ack ?? 0);
  buf[t + 12] = (tl >>> 2) << 4;
  buf[t + 13] = o.flags;
  set16(buf, t + 14, 65535);
  set16(buf, t + 16, 0);
  set16(buf, t + 18, 0);
  if (o.mss !== undefined) {
    buf[t + 20] = 2;
    buf[t + 21] = 4;
    set16(buf, t + 22, o.mss);
  }
  set16(buf, t + 16, l4Checksum4(buf, 0, t, tl, 6, 16));
  return buf.subarray(0, 20 + tl);
}
