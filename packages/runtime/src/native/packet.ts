/**
 * AF_PACKET sockets with a PACKET_MMAP receive ring (Documentation/networking/
 * packet_mmap.rst, linux/if_packet.h): an existing Linux interface (a veth end, a
 * physical port) as one of a stack's queues, the way F-Stack and mTCP sit on a NIC.
 *
 * Each socket of a link: SOCK_RAW for every protocol (ETH_P_ALL), PACKET_VNET_HDR (a
 * virtio-net header before every frame both ways, so GSO and partial checksums cross
 * as on a TAP), PACKET_IGNORE_OUTGOING (a sibling's transmissions are not received),
 * TPACKET_V2 with a PACKET_RX_RING mapped into the process, bound to the interface,
 * joined to the link's PACKET_FANOUT group so the kernel spreads flows over the sockets
 * (FANOUT_CBPF: by what a classic BPF program returns, setFanoutProgram; FANOUT_HASH: by
 * the kernel's flow hash). Sending is write(2) of header and frame.
 *
 * The order of the calls is the kernel's: the header and version before the ring
 * (packet_setsockopt answers EBUSY once a ring exists), the bind before the fanout.
 */
import * as libc from './libc.js';
import { NativeError, EINVAL } from './errors.js';

// linux/socket.h, linux/if_ether.h
export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const ETH_P_ALL = 0x0003;
// linux/if_packet.h
export const SOL_PACKET = 263;
export const PACKET_ADD_MEMBERSHIP = 1;
export const PACKET_RX_RING = 5;
export const PACKET_VERSION = 10;
export const PACKET_VNET_HDR = 15;
export const PACKET_FANOUT = 18;
export const PACKET_FANOUT_DATA = 22;
export const PACKET_IGNORE_OUTGOING = 23;
export const TPACKET_V2 = 1;
export const PACKET_FANOUT_HASH = 0;
export const PACKET_FANOUT_CPU = 2;
export const PACKET_FANOUT_CBPF = 6;
export const PACKET_MR_PROMISC = 1;

/** Where the calling thread's network namespace is, to come back after opening in another. */
const SELF_NET_NS = '/proc/thread-self/ns/net';

export interface PacketRingOptions {
  ifindex: number;
  /** PACKET_FANOUT group id (16 bits) shared by the link's sockets. */
  fanoutId: number;
  fanoutMode?: number;
  /** Bytes per ring slot: its tpacket2_hdr, the virtio-net header and the largest frame. */
  frameSize: number;
  frames: number;
  /** A namespace file (/var/run/netns/NAME) to open the socket in: its interfaces are then this socket's. */
  netnsPath?: string;
}

export interface PacketRing {
  readonly fd: number;
  /** The ring's mapping: address, and slot geometry. */
  readonly addr: number;
  readonly frameSize: number;
  readonly frames: number;
  close(): void;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** socket(AF_PACKET) in the namespace at `path` (this thread's own when undefined). */
function packetSocket(path: string | undefined): number {
  const type = SOCK_RAW | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC;
  const proto = ((ETH_P_ALL & 0xff) << 8) | (ETH_P_ALL >>> 8); // htons
  if (path === undefined) return libc.socket(AF_PACKET, type, proto);
  const self = libc.open(SELF_NET_NS, libc.O_CLOEXEC);
  const there = libc.open(path, libc.O_CLOEXEC);
  try {
    libc.setns(there, libc.CLONE_NEWNET);
    try {
      return libc.socket(AF_PACKET, type, proto);
    } finally {
      libc.setns(self, libc.CLONE_NEWNET);
    }
  } finally {
    libc.close(there);
    libc.close(self);
  }
}

/**
 * Give a PACKET_FANOUT_CBPF group (through any member's `fd`) the classic BPF program
 * `filter` (struct sock_filter[], `count` instructions) that picks each frame's socket:
 * PACKET_FANOUT_DATA with a struct sock_fprog { u16 len; struct sock_filter *filter },
 * the instructions in an anonymous mapping for the call (the kernel copies them). A new
 * program replaces the last.
 */
export function setFanoutProgram(fd: number, filter: Uint8Array, count: number): void {
  const len = Math.max(4096, filter.length);
  const addr = libc.mmap(len, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_PRIVATE | libc.MAP_ANONYMOUS, -1);
  try {
    new Uint8Array(libc.mapView(addr, len)).set(filter);
    const fprog = new Uint8Array(16);
    const v = new DataView(fprog.buffer);
    v.setUint16(0, count, LITTLE_ENDIAN);
    v.setBigUint64(8, BigInt(addr), LITTLE_ENDIAN);
    libc.setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, fprog);
  } finally {
    libc.munmap(addr, len);
  }
}

/** Open one socket of a fanout group with its receive ring (see the top of the file). */
export function openPacketRing(o: PacketRingOptions): PacketRing {
  if (o.frameSize % 4096 !== 0 || o.frames < 1)
    throw new NativeError(EINVAL, 'setsockopt', 'PACKET_RX_RING: frameSize a multiple of the page size, frames >= 1');
  const fd = packetSocket(o.netnsPath);
  let addr = -1;
  const len = o.frameSize * o.frames;
  try {
    libc.setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, 1);
    libc.setsockopt(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2);
    libc.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
    // struct tpacket_req: block size and count, frame size and count; one frame per block.
    const req = new Uint8Array(16);
    const rv = new DataView(req.buffer);
    rv.setUint32(0, o.frameSize, LITTLE_ENDIAN);
    rv.setUint32(4, o.frames, LITTLE_ENDIAN);
    rv.setUint32(8, o.frameSize, LITTLE_ENDIAN);
    rv.setUint32(12, o.frames, LITTLE_ENDIAN);
    libc.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req);
    addr = libc.mmap(len, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED, fd);
    // struct sockaddr_ll: family, protocol (network order), ifindex.
    const sll = new Uint8Array(20);
    const sv = new DataView(sll.buffer);
    sv.setUint16(0, AF_PACKET, LITTLE_ENDIAN);
    sv.setUint16(2, ETH_P_ALL, false);
    sv.setInt32(4, o.ifindex, LITTLE_ENDIAN);
    libc.bind(fd, sll);
    // struct packet_mreq: the interface takes every frame, whatever its destination MAC.
    const mr = new Uint8Array(16);
    const mv = new DataView(mr.buffer);
    mv.setInt32(0, o.ifindex, LITTLE_ENDIAN);
    mv.setUint16(4, PACKET_MR_PROMISC, LITTLE_ENDIAN);
    libc.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mr);
    libc.setsockopt(
      fd,
      SOL_PACKET,
      PACKET_FANOUT,
      (o.fanoutId & 0xffff) | ((o.fanoutMode ?? PACKET_FANOUT_HASH) << 16),
    );
  } catch (e) {
    if (addr !== -1) libc.munmap(addr, len);
    libc.close(fd);
    throw e;
  }
  let open = true;
  return {
    fd,
    addr,
    frameSize: o.frameSize,
    frames: o.frames,
    close() {
      if (!open) return;
      open = false;
      libc.munmap(addr, len);
      libc.close(fd);
    },
  };
}
