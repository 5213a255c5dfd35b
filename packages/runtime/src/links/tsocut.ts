/**
 * Cut one TCP segment with more than `mss` bytes of payload — a TSO send (CSUM_TSO with
 * tso_segsz) or a GRO-coalesced receive (a virtio-net GSO frame) — into the segments a
 * NIC puts on the wire, as Linux's tcp_gso_segment (net/ipv4/tcp_offload.c) and a TSO
 * card do: the headers repeated, sequence numbers advanced by the payload cut so far,
 * FIN and PSH only on the last segment and CWR only on the first (RFC 3168 §6.1.2, the
 * behaviour of FreeBSD's TSO drivers), IPv4 total length and ID per segment (the ID
 * incremented, as tcp_gso_segment does for a non-fixed ID) with the header checksum
 * recomputed, IPv6 payload length per segment.
 *
 * One cutter serves every link that needs it: the native TAP link, for a coalesced frame
 * that has to hop to another worker's ring (whose slots hold one MTU), and the links
 * with no segmentation of their own (the socat path), for the engine's TSO sends.
 *
 * The segments are built one at a time in `out` (headers + mss bytes at least) and given
 * to `emit(out, len)` before the next is built. With `l4csum` the TCP checksum of each
 * is computed; without it the field is left as is (a receiver told CSUM_DATA_VALID).
 * This is the slow path (a frame on the wrong queue, a link without offloads): the
 * payload is copied once per segment.
 */
import { ETHER_HDR_LEN, internetChecksum } from '@mcstack/wire';
import { finishChecksums } from '@mcstack/netinet';
import { locateL4, l4At } from './vtnet.js';

const IPPROTO_TCP = 6;
const TH_FIN = 0x01;
const TH_PSH = 0x08;
const TH_CWR = 0x80;

export type SegmentSink = (seg: Uint8Array, len: number) => void;

/**
 * Cut frame `f` (`len` bytes: Ethernet, IPv4 or IPv6, TCP) into segments of at most `mss`
 * payload bytes. Returns the number emitted, or 0 when the frame is not TCP over IP or
 * `out` is too small (nothing emitted: the caller counts the drop). A frame that already
 * fits is emitted once, unchanged.
 */
export function tcpSegCut(
  f: Uint8Array,
  len: number,
  mss: number,
  out: Uint8Array,
  emit: SegmentSink,
  l4csum: boolean,
): number {
  if (mss <= 0 || !locateL4(f, len) || l4At.proto !== IPPROTO_TCP) return 0;
  const l3 = l4At.l3;
  const l4 = l4At.l4;
  const thl = (f[l4 + 12]! >>> 4) << 2;
  const hdr = l4 + thl;
  const payload = l4At.l4len - thl;
  if (thl < 20 || payload < 0 || out.length < hdr + Math.min(mss, payload)) return 0;
  const v6 = l4At.v6;
  const seq0 = ((f[l4 + 4]! << 24) | (f[l4 + 5]! << 16) | (f[l4 + 6]! << 8) | f[l4 + 7]!) >>> 0;
  const flags0 = f[l4 + 13]!;
  const id0 = v6 ? 0 : (f[l3 + 4]! << 8) | f[l3 + 5]!;
  const iphl = l4 - l3;
  let n = 0;
  for (let at = 0; at < payload || n === 0; at += mss) {
    const plen = Math.min(mss, payload - at);
    for (let i = 0; i < hdr; i++) out[i] = f[i]!;
    out.set(f.subarray(hdr + at, hdr + at + plen), hdr);
    const last = at + plen >= payload;
    const seq = (seq0 + at) >>> 0;
    out[l4 + 4] = seq >>> 24;
    out[l4 + 5] = seq >>> 16;
    out[l4 + 6] = seq >>> 8;
    out[l4 + 7] = seq;
    let fl = flags0;
    if (!last) fl &= ~(TH_FIN | TH_PSH);
    if (n > 0) fl &= ~TH_CWR;
    out[l4 + 13] = fl;
    if (v6) {
      const pl = thl + plen;
      out[l3 + 4] = pl >>> 8;
      out[l3 + 5] = pl;
    } else {
      const tl = iphl + thl + plen;
      const id = (id0 + n) & 0xffff;
      out[l3 + 2] = tl >>> 8;
      out[l3 + 3] = tl;
      out[l3 + 4] = id >>> 8;
      out[l3 + 5] = id;
      out[l3 + 10] = 0;
      out[l3 + 11] = 0;
      const c = internetChecksum(out, l3, iphl);
      out[l3 + 10] = c >>> 8;
      out[l3 + 11] = c & 0xff;
    }
    if (l4csum) finishChecksums(out, ETHER_HDR_LEN, false, true);
    emit(out, hdr + plen);
    n++;
    if (last) break;
  }
  return n;
}
