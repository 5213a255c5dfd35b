/**
 * The virtio-net header (struct virtio_net_hdr in linux/virtio_net.h; virtio 1.x
 * spec §5.1.6 "Device Operation") that a TAP queue opened with IFF_VNET_HDR puts
 * before every frame: it carries checksum-offload and GSO state, so the stack can
 * hand the kernel one 64 KiB TCP segment (TSO) and receive its checksum-partial
 * frames without computing sums twice.
 *
 * Two sizes, chosen per device by TUNSETVNETHDRSZ (linux/if_tun.h):
 * - 10 bytes, struct virtio_net_hdr: Linux TAP's default;
 * - 12 bytes, struct virtio_net_hdr_mrg_rxbuf (= virtio_net_hdr_v1): the same plus
 *   num_buffers. tun ignores num_buffers on write and does not fill it on read:
 *   it copies 10 bytes, then older kernels skip the other two (iov_iter_advance in
 *   tun_put_user), leaving whatever the buffer held, and newer ones zero them
 *   (tun_vnet_hdr_put; 6.18 here reads 0). Kept to round-trip the 12-byte layout.
 *
 * Endianness: the 16-bit fields are little-endian here. Virtio 1.0 made the header
 * little-endian; Linux TAP uses the host's order unless TUNSETVNETLE (or, with
 * CONFIG_TUN_VNET_CROSS_LE, TUNSETVNETBE) says otherwise (tun_is_little_endian in
 * drivers/net/tun.c; tun_vnet.h in newer kernels), which is little-endian on x86
 * and arm64. A big-endian host must set TUNSETVNETLE for these views to be right;
 * runtime/native/tun.ts does that on every vnet-header queue.
 */
import { type ParseResult, parseError, parsed, WireEmitError } from './errors.js';
import { ByteView } from './bytes.js';

export const VNH_FLAGS = 0;
export const VNH_GSO_TYPE = 1;
export const VNH_HDR_LEN = 2;
export const VNH_GSO_SIZE = 4;
export const VNH_CSUM_START = 6;
export const VNH_CSUM_OFFSET = 8;
/** Only in the 12-byte form. */
export const VNH_NUM_BUFFERS = 10;

/** sizeof(struct virtio_net_hdr): Linux TAP's default vnet_hdr_sz. */
export const VIRTIO_NET_HDR_LEN = 10;
/** sizeof(struct virtio_net_hdr_mrg_rxbuf) and of struct virtio_net_hdr_v1. */
export const VIRTIO_NET_HDR_MRG_LEN = 12;

/** csum_start/csum_offset are valid: the checksum is partial (CHECKSUM_PARTIAL). */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
/** Receive only: the checksum was verified (CHECKSUM_UNNECESSARY). */
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
/** Receive-segment-coalescing info in csum fields (virtio 1.1); Linux TAP never sets it. */
export const VIRTIO_NET_HDR_F_RSC_INFO = 4;

export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** UFO: IPv4 fragmentation of one UDP datagram. */
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
/** USO: UDP segmentation (Linux 6.2, TUN_F_USO4/6). */
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
/** Or-ed into gso_type: the segments carry ECN CWR (SKB_GSO_TCP_ECN). */
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

function get16le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

function set16le(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

export class VirtioNetHdrView extends ByteView {
  get flags(): number {
    return this.buf[this.off + VNH_FLAGS]!;
  }
  set flags(v: number) {
    this.buf[this.off + VNH_FLAGS] = v;
  }
  get gsoType(): number {
    return this.buf[this.off + VNH_GSO_TYPE]!;
  }
  set gsoType(v: number) {
    this.buf[this.off + VNH_GSO_TYPE] = v;
  }
  /** Length of the headers before the payload (a hint, for GSO). */
  get hdrLen(): number {
    return get16le(this.buf, this.off + VNH_HDR_LEN);
  }
  set hdrLen(v: number) {
    set16le(this.buf, this.off + VNH_HDR_LEN, v);
  }
  /** Payload bytes per segment (the MSS for TCP). */
  get gsoSize(): number {
    return get16le(this.buf, this.off + VNH_GSO_SIZE);
  }
  set gsoSize(v: number) {
    set16le(this.buf, this.off + VNH_GSO_SIZE, v);
  }
  /** Offset, from the start of the frame (after this header), where summing starts. */
  get csumStart(): number {
    return get16le(this.buf, this.off + VNH_CSUM_START);
  }
  set csumStart(v: number) {
    set16le(this.buf, this.off + VNH_CSUM_START, v);
  }
  /** Offset, from csumStart, of the 16-bit checksum field to fill. */
  get csumOffset(): number {
    return get16le(this.buf, this.off + VNH_CSUM_OFFSET);
  }
  set csumOffset(v: number) {
    set16le(this.buf, this.off + VNH_CSUM_OFFSET, v);
  }
  /** Only meaningful when the header is 12 bytes. */
  get numBuffers(): number {
    return get16le(this.buf, this.off + VNH_NUM_BUFFERS);
  }
  set numBuffers(v: number) {
    set16le(this.buf, this.off + VNH_NUM_BUFFERS, v);
  }

  /** Zero `hdrSize` bytes: "no offload, no GSO", what a plain frame is sent with. */
  clear(hdrSize: number = VIRTIO_NET_HDR_LEN): this {
    this.buf.fill(0, this.off, this.off + hdrSize);
    return this;
  }
}

export interface VirtioNetHdrRepr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
  /** Present when parsed from (or to be emitted as) the 12-byte form. */
  numBuffers?: number;
}

const KNOWN_FLAGS = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_RSC_INFO;

/** Bytes of the transport header the checksum must fit in (virtio_net_hdr_to_skb's thlen). */
function transportLen(base: number): number {
  if (base === VIRTIO_NET_HDR_GSO_TCPV4 || base === VIRTIO_NET_HDR_GSO_TCPV6) return 20;
  if (base === VIRTIO_NET_HDR_GSO_UDP || base === VIRTIO_NET_HDR_GSO_UDP_L4) return 8;
  return 0;
}

/**
 * Parse the header at `off`; `len` covers the header and the frame after it, so the
 * checksum position can be checked against the frame. The checks are those of
 * virtio_net_hdr_to_skb (include/linux/virtio_net.h), where Linux answers EINVAL:
 * an unknown GSO type, a GSO frame with gso_size 0, a partial checksum whose field
 * lies past the frame. Unknown flag bits are UNSUPPORTED rather than ignored.
 */
export function parseVirtioNetHdr(
  buf: Uint8Array,
  off = 0,
  len = buf.length - off,
  hdrSize: number = VIRTIO_NET_HDR_LEN,
): ParseResult<VirtioNetHdrRepr> {
  if (hdrSize !== VIRTIO_NET_HDR_LEN && hdrSize !== VIRTIO_NET_HDR_MRG_LEN)
    return parseError('UNSUPPORTED', 'virtio_net.size');
  if (off < 0 || len < hdrSize || off + len > buf.length) return parseError('TRUNCATED', 'virtio_net.header');
  const flags = buf[off + VNH_FLAGS]!;
  const gsoType = buf[off + VNH_GSO_TYPE]!;
  const gsoSize = get16le(buf, off + VNH_GSO_SIZE);
  const csumStart = get16le(buf, off + VNH_CSUM_START);
  const csumOffset = get16le(buf, off + VNH_CSUM_OFFSET);
  if ((flags & ~KNOWN_FLAGS) !== 0) return parseError('UNSUPPORTED', 'virtio_net.flags');
  const base = gsoType & ~VIRTIO_NET_HDR_GSO_ECN;
  if (gsoType !== VIRTIO_NET_HDR_GSO_NONE) {
    if (transportLen(base) === 0) return parseError('UNSUPPORTED', 'virtio_net.gso_type');
    if (gsoSize === 0) return parseError('BAD_FIELD', 'virtio_net.gso_size');
  }
  if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) {
    const needed = csumStart + Math.max(transportLen(base), csumOffset + 2);
    if (needed > len - hdrSize) return parseError('BAD_FIELD', 'virtio_net.csum_offset');
  }
  const repr: VirtioNetHdrRepr = {
    flags,
    gsoType,
    hdrLen: get16le(buf, off + VNH_HDR_LEN),
    gsoSize,
    csumStart,
    csumOffset,
  };
  if (hdrSize === VIRTIO_NET_HDR_MRG_LEN) repr.numBuffers = get16le(buf, off + VNH_NUM_BUFFERS);
  return parsed(repr);
}

/** Write the header (10 bytes, or 12 with num_buffers); returns its length. */
export function emitVirtioNetHdr(
  repr: VirtioNetHdrRepr,
  buf: Uint8Array,
  off = 0,
  hdrSize: number = VIRTIO_NET_HDR_LEN,
): number {
  if (hdrSize !== VIRTIO_NET_HDR_LEN && hdrSize !== VIRTIO_NET_HDR_MRG_LEN)
    throw new WireEmitError('virtio_net: size is 10 or 12');
  if (off < 0 || off + hdrSize > buf.length) throw new WireEmitError('virtio_net: buffer too small');
  if (!u(repr.flags, 0xff) || !u(repr.gsoType, 0xff))
    throw new WireEmitError('virtio_net: flags or gso_type not a byte');
  if (
    !u(repr.hdrLen, 0xffff) ||
    !u(repr.gsoSize, 0xffff) ||
    !u(repr.csumStart, 0xffff) ||
    !u(repr.csumOffset, 0xffff) ||
    !u(repr.numBuffers ?? 0, 0xffff)
  )
    throw new WireEmitError('virtio_net: a 16-bit field out of range');
  buf[off + VNH_FLAGS] = repr.flags;
  buf[off + VNH_GSO_TYPE] = repr.gsoType;
  set16le(buf, off + VNH_HDR_LEN, repr.hdrLen);
  set16le(buf, off + VNH_GSO_SIZE, repr.gsoSize);
  set16le(buf, off + VNH_CSUM_START, repr.csumStart);
  set16le(buf, off + VNH_CSUM_OFFSET, repr.csumOffset);
  if (hdrSize === VIRTIO_NET_HDR_MRG_LEN) set16le(buf, off + VNH_NUM_BUFFERS, repr.numBuffers ?? 0);
  return hdrSize;
}

function u(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}
