/**
 * FreeBSD's offload metadata (CSUM_* flags, tso_segsz) to and from the virtio-net header
 * a TAP queue opened with IFF_VNET_HDR puts before each frame — the translation a
 * virtio-net driver does (sys/dev/virtio/network/if_vtnet.c: vtnet_rxq_csum on receive,
 * vtnet_txq_offload on transmit), so the kernel hands over checksum-partial and
 * GRO-coalesced frames and takes ours the same way.
 *
 * Receive: NEEDS_CSUM (a frame the kernel made and left partial) and DATA_VALID (one it
 * verified) both mean "verified", CSUM_DATA_VALID | CSUM_PSEUDO_HDR with csum_data 0xffff,
 * as vtnet_rxq_csum and tcp_lro_flush set them; with RXCSUM off a partial checksum is
 * finished in software first (the field then holds only the pseudo-header sum).
 *
 * Transmit: a delayed L4 checksum (CSUM_DELAY_DATA*) or CSUM_TSO becomes NEEDS_CSUM with
 * csum_start/csum_offset, the field seeded with the pseudo-header sum over this frame's
 * L4 length (what Linux's CHECKSUM_PARTIAL and its GSO segmentation expect:
 * tcp_v4_send_check, tcp_gso_segment); CSUM_TSO with tso_segsz becomes GSO_TCPV4/6 with
 * gso_size = tso_segsz. The IPv4 header checksum has no virtio request and is filled here.
 */
import {
  ETHER_HDR_LEN,
  ETHER_TYPE,
  ETHERTYPE_IP,
  ETHERTYPE_IPV6,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_ECN,
  VNH_FLAGS,
  VNH_GSO_TYPE,
  VNH_HDR_LEN,
  VNH_GSO_SIZE,
  VNH_CSUM_START,
  VNH_CSUM_OFFSET,
  fold,
  internetChecksum,
  pseudoHeaderSum4,
  pseudoHeaderSum6,
} from '@mcstack/wire';
import {
  CSUM_IP,
  CSUM_DELAY_DATA,
  CSUM_DELAY_DATA_IPV6,
  CSUM_TSO,
  CSUM_DATA_VALID,
  CSUM_PSEUDO_HDR,
  finishChecksums,
  type FrameMeta,
} from '@mcstack/netinet';

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
/** TCP flag CWR (RFC 3168 §6.1): GSO must say the segments carry it (VIRTIO_NET_HDR_GSO_ECN). */
const TH_CWR = 0x80;

/** Where a frame's L4 header is; filled by locateL4 (one scratch object, no allocation per frame). */
export const l4At = { l3: 0, l4: 0, proto: 0, v6: false, l4len: 0 };

/**
 * Find the TCP or UDP header of an untagged IPv4/IPv6 Ethernet frame (no IPv6 extension
 * headers: the stack puts none before an offloaded L4 header). False for anything else.
 */
export function locateL4(f: Uint8Array, len: number): boolean {
  if (len < ETHER_HDR_LEN + 20) return false;
  const et = (f[ETHER_TYPE]! << 8) | f[ETHER_TYPE + 1]!;
  const l3 = ETHER_HDR_LEN;
  if (et === ETHERTYPE_IP) {
    const hl = (f[l3]! & 0x0f) << 2;
    const total = (f[l3 + 2]! << 8) | f[l3 + 3]!;
    if (hl < 20 || total < hl || l3 + total > len) return false;
    l4At.v6 = false;
    l4At.proto = f[l3 + 9]!;
    l4At.l4 = l3 + hl;
    l4At.l4len = total - hl;
  } else if (et === ETHERTYPE_IPV6) {
    if (len < l3 + 40) return false;
    const plen = (f[l3 + 4]! << 8) | f[l3 + 5]!;
    if (l3 + 40 + plen > len) return false;
    l4At.v6 = true;
    l4At.proto = f[l3 + 6]!;
    l4At.l4 = l3 + 40;
    l4At.l4len = plen;
  } else return false;
  l4At.l3 = l3;
  return l4At.proto === IPPROTO_TCP || l4At.proto === IPPROTO_UDP;
}

/** The folded pseudo-header sum of the located frame (not complemented: CHECKSUM_PARTIAL's seed). */
function pseudoSeed(f: Uint8Array): number {
  const l3 = l4At.l3;
  return l4At.v6
    ? fold(pseudoHeaderSum6(f, l3 + 8, l3 + 24, l4At.proto, l4At.l4len))
    : fold(pseudoHeaderSum4(f, l3 + 12, l3 + 16, l4At.proto, l4At.l4len));
}

/**
 * Receive: set `m`'s checksum fields from the virtio-net header at `h[ho]` for the frame
 * `f` (`len` bytes). With `rxcsum` false the claim is not passed on: a partial checksum
 * is finished in software so the engine can verify the frame itself.
 */
export function vtnetRxCsum(
  h: Uint8Array,
  ho: number,
  f: Uint8Array,
  len: number,
  rxcsum: boolean,
  m: FrameMeta,
): void {
  const flags = h[ho + VNH_FLAGS]!;
  m.csumFlags = 0;
  m.csumData = 0;
  if ((flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) === 0) return;
  if (rxcsum) {
    m.csumFlags = CSUM_DATA_VALID | CSUM_PSEUDO_HDR;
    m.csumData = 0xffff;
  } else if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0 && locateL4(f, len)) {
    finishChecksums(f, ETHER_HDR_LEN, false, true);
  }
}

/** Receive: the GSO segment size the kernel coalesced this frame from, 0 for a plain frame. */
export function vtnetRxGsoSize(h: Uint8Array, ho: number): number {
  return h[ho + VNH_GSO_TYPE] === 0 ? 0 : h[ho + VNH_GSO_SIZE]! | (h[ho + VNH_GSO_SIZE + 1]! << 8);
}

/**
 * Receive: the segments a coalesced frame holds (its TCP payload over `gso`, rounded up),
 * what tcp_lro's lro_nsegs says of a merged segment; 1 when the frame is not a TCP
 * segment this can read.
 */
export function vtnetRxSegs(f: Uint8Array, len: number, gso: number): number {
  if (gso === 0 || !locateL4(f, len) || l4At.proto !== IPPROTO_TCP) return 1;
  const payload = l4At.l4len - ((f[l4At.l4 + 12]! >>> 4) << 2);
  return payload > gso ? Math.ceil(payload / gso) : 1;
}

function set16le(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

/**
 * Transmit: write the virtio-net header for frame `f` (`len` bytes) that the engine sent
 * with `m` into `h[ho .. ho+hdrSize)`, and do in the frame what the header cannot ask
 * for (the IPv4 header checksum, the pseudo-header seed). Returns 1 when the frame goes
 * as GSO, 0 otherwise.
 */
export function vtnetTxOffload(
  f: Uint8Array,
  len: number,
  m: FrameMeta,
  h: Uint8Array,
  ho: number,
  hdrSize: number,
): number {
  h.fill(0, ho, ho + hdrSize);
  const cf = m.csumFlags;
  if (cf === 0) return 0;
  if ((cf & CSUM_IP) !== 0 && ((f[ETHER_TYPE]! << 8) | f[ETHER_TYPE + 1]!) === ETHERTYPE_IP) {
    const l3 = ETHER_HDR_LEN;
    const hl = (f[l3]! & 0x0f) << 2;
    f[l3 + 10] = 0;
    f[l3 + 11] = 0;
    const c = internetChecksum(f, l3, hl);
    f[l3 + 10] = c >>> 8;
    f[l3 + 11] = c & 0xff;
  }
  if ((cf & (CSUM_DELAY_DATA | CSUM_DELAY_DATA_IPV6 | CSUM_TSO)) === 0 || !locateL4(f, len)) return 0;
  const l4 = l4At.l4;
  const at = l4At.proto === IPPROTO_TCP ? 16 : 6;
  const seed = pseudoSeed(f);
  f[l4 + at] = seed >>> 8;
  f[l4 + at + 1] = seed & 0xff;
  h[ho + VNH_FLAGS] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  set16le(h, ho + VNH_CSUM_START, l4);
  set16le(h, ho + VNH_CSUM_OFFSET, at);
  if ((cf & CSUM_TSO) === 0 || m.tsoSegsz === 0 || l4At.proto !== IPPROTO_TCP) return 0;
  const thl = (f[l4 + 12]! >>> 4) << 2;
  if (l4At.l4len - thl <= m.tsoSegsz) return 0; // fits one segment: no GSO needed
  h[ho + VNH_GSO_TYPE] =
    (l4At.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) |
    ((f[l4 + 13]! & TH_CWR) !== 0 ? VIRTIO_NET_HDR_GSO_ECN : 0);
  set16le(h, ho + VNH_HDR_LEN, l4 + thl);
  set16le(h, ho + VNH_GSO_SIZE, m.tsoSegsz);
  return 1;
}
