/**
 * TAP device queues through /dev/net/tun (Documentation/networking/tuntap.rst).
 *
 * Each open of /dev/net/tun followed by TUNSETIFF with the same name and
 * IFF_MULTI_QUEUE adds one queue to the device: the kernel spreads the frames it
 * transmits over the queues by flow hash (tun_select_queue), and any queue may
 * write. One queue per group worker lets each worker read and write its own fd.
 *
 * With IFF_VNET_HDR every frame read or written starts with a virtio-net header
 * (@mcstack/wire virtio_net.ts) of vnetHdrSize bytes; TUNSETOFFLOAD then lets the
 * kernel hand over checksum-partial and GSO frames instead of finishing them.
 *
 * Queues are opened O_NONBLOCK: read() returns 0 when nothing is queued; wait
 * with libc.poll(). Bringing the device up and addressing it is left to `ip`.
 */
import { NativeError, EAGAIN, EINVAL } from './errors.js';
import { _IOR, _IOW } from './ioctl.js';
import * as libc from './libc.js';

// linux/if_tun.h: the ioctls, declared there as _IOW('T', nr, int) and so on.
export const TUNSETIFF = _IOW('T', 202, 4);
export const TUNGETFEATURES = _IOR('T', 207, 4);
export const TUNSETOFFLOAD = _IOW('T', 208, 4);
export const TUNGETIFF = _IOR('T', 210, 4);
export const TUNGETVNETHDRSZ = _IOR('T', 215, 4);
export const TUNSETVNETHDRSZ = _IOW('T', 216, 4);
export const TUNSETQUEUE = _IOW('T', 217, 4);
export const TUNSETVNETLE = _IOW('T', 220, 4);

// linux/if_tun.h: ifr_flags of TUNSETIFF and TUNSETQUEUE.
export const IFF_TUN = 0x0001;
export const IFF_TAP = 0x0002;
export const IFF_MULTI_QUEUE = 0x0100;
export const IFF_ATTACH_QUEUE = 0x0200;
export const IFF_DETACH_QUEUE = 0x0400;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;

// linux/if_tun.h: TUNSETOFFLOAD flags.
/** The stack accepts and sends partial checksums (VIRTIO_NET_HDR_F_NEEDS_CSUM). */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;
export const TUN_F_UFO = 0x10;
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;

/** IFNAMSIZ (linux/if.h), the terminating NUL included. */
export const IFNAMSIZ = 16;
/** sizeof(struct ifreq) on 64-bit Linux; the kernel copies no more than its own (smaller on 32-bit). */
const IFREQ_LEN = 40;
/** Offset of ifr_flags (a short, host order) in struct ifreq. */
const IFR_FLAGS = 16;

const TUN_PATH = '/dev/net/tun';

export interface TapOptions {
  /** Interface name, at most 15 bytes; '' or a name with %d lets the kernel number it. */
  name: string;
  /** Open with IFF_MULTI_QUEUE, so that further opens of the same name add queues. */
  multiQueue?: boolean;
  /** Prefix every frame with a virtio-net header (IFF_VNET_HDR). */
  vnetHdr?: boolean;
  /** 10 (struct virtio_net_hdr, the default) or 12 (with num_buffers). */
  vnetHdrSize?: 10 | 12;
  /** TUN_F_* flags for TUNSETOFFLOAD; needs vnetHdr. */
  offloads?: number;
}

export interface TapQueue {
  readonly fd: number;
  /** The device's name as the kernel gave it. */
  readonly name: string;
  /** Bytes of virtio-net header before each frame: 0 without vnetHdr. */
  readonly vnetHdrSize: number;
  /** One frame (with its header) into `buf`: its length, or 0 when none is queued. */
  read(buf: Uint8Array): number;
  /** One frame (with its header): the bytes written, or 0 when the queue is full. */
  write(buf: Uint8Array): number;
  /** readv(2): one frame spread over `bufs`, such as a header buffer and a frame slot. */
  readv(bufs: readonly Uint8Array[]): number;
  /** writev(2): one frame gathered from `bufs`. */
  writev(bufs: readonly Uint8Array[]): number;
  /** TUNSETOFFLOAD: what the kernel may send this device unfinished. */
  setOffload(flags: number): void;
  /** TUNSETQUEUE with IFF_DETACH_QUEUE: the kernel stops using this queue (multi-queue only). */
  detach(): void;
  /** TUNSETQUEUE with IFF_ATTACH_QUEUE: back in use. */
  attach(): void;
  /** Close the fd; the device goes away with its last queue (it is not persistent). */
  close(): void;
}

/** What dev_valid_name (net/core/dev.c) rejects with EINVAL, checked before the kernel truncates. */
function checkName(name: string): void {
  const bytes = Buffer.byteLength(name);
  if (bytes >= IFNAMSIZ || name === '.' || name === '..' || /[\s/:]/.test(name)) {
    throw new NativeError(
      EINVAL,
      'ioctl',
      `TUNSETIFF: invalid interface name '${name}' (at most ${IFNAMSIZ - 1} bytes, no '/', ':' or space)`,
    );
  }
}

/** ifr_flags is a host-order short. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function ifreq(name: string, flags: number): Uint8Array {
  const r = new Uint8Array(IFREQ_LEN);
  r.set(Buffer.from(name), 0);
  new DataView(r.buffer).setUint16(IFR_FLAGS, flags, LITTLE_ENDIAN);
  return r;
}

function intArg(v: number): Uint8Array {
  return new Uint8Array(Int32Array.of(v).buffer);
}

/** TUNGETFEATURES: the IFF_* flags this kernel's tun driver accepts. */
export function tunFeatures(): number {
  const fd = libc.open(TUN_PATH, libc.O_RDWR | libc.O_CLOEXEC);
  try {
    const out = new Uint32Array(1);
    libc.ioctl(fd, TUNGETFEATURES, new Uint8Array(out.buffer), 'TUNGETFEATURES');
    return out[0]!;
  } finally {
    libc.close(fd);
  }
}

/** Open one queue of the TAP device `opts.name`, creating the device if it does not exist. */
export function openTap(opts: TapOptions): TapQueue {
  checkName(opts.name);
  const vnetHdrSize = opts.vnetHdr ? (opts.vnetHdrSize ?? 10) : 0;
  if (opts.offloads && !opts.vnetHdr)
    throw new TypeError('openTap: offloads need vnetHdr (the header is how the kernel describes them)');
  if (opts.vnetHdr && vnetHdrSize !== 10 && vnetHdrSize !== 12) throw new TypeError('openTap: vnetHdrSize is 10 or 12');
  const flags = IFF_TAP | IFF_NO_PI | (opts.vnetHdr ? IFF_VNET_HDR : 0) | (opts.multiQueue ? IFF_MULTI_QUEUE : 0);
  const fd = libc.open(TUN_PATH, libc.O_RDWR | libc.O_NONBLOCK | libc.O_CLOEXEC);
  let name: string;
  try {
    const req = ifreq(opts.name, flags);
    libc.ioctl(fd, TUNSETIFF, req, `TUNSETIFF ${opts.name}`);
    // The kernel writes the final name back (it fills in %d).
    const end = req.indexOf(0);
    name = Buffer.from(req.subarray(0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end)).toString();
    if (opts.vnetHdr) {
      // Device-wide settings; repeating them on every queue is harmless.
      libc.ioctl(fd, TUNSETVNETHDRSZ, intArg(vnetHdrSize), 'TUNSETVNETHDRSZ');
      // virtio 1.0 headers are little-endian; a no-op on a little-endian host (see virtio_net.ts).
      libc.ioctl(fd, TUNSETVNETLE, intArg(1), 'TUNSETVNETLE');
    }
    if (opts.offloads) libc.ioctl(fd, TUNSETOFFLOAD, opts.offloads, 'TUNSETOFFLOAD');
  } catch (e) {
    libc.close(fd);
    throw e;
  }
  return new Queue(fd, name, vnetHdrSize);
}

/**
 * Open `n` queues of one multi-queue TAP device (the first creates it). If one
 * fails the ones already opened are closed, so no half-built device lingers.
 */
export function openTapQueues(opts: TapOptions, n: number): TapQueue[] {
  const queues: TapQueue[] = [];
  try {
    for (let i = 0; i < n; i++) {
      // The first open may have had the kernel pick the name: the others must use it.
      queues.push(openTap({ ...opts, multiQueue: true, name: queues[0]?.name ?? opts.name }));
    }
  } catch (e) {
    for (const q of queues) q.close();
    throw e;
  }
  return queues;
}

function ioResult(r: number, syscall: string): number {
  if (r >= 0) return r;
  if (r === -EAGAIN) return 0;
  throw new NativeError(-r, syscall);
}

class Queue implements TapQueue {
  #fd: number;
  constructor(
    fd: number,
    readonly name: string,
    readonly vnetHdrSize: number,
  ) {
    this.#fd = fd;
  }

  get fd(): number {
    return this.#fd;
  }

  read(buf: Uint8Array): number {
    return ioResult(libc.read(this.#fd, buf), 'read');
  }
  write(buf: Uint8Array): number {
    return ioResult(libc.write(this.#fd, buf), 'write');
  }
  readv(bufs: readonly Uint8Array[]): number {
    return ioResult(libc.readv(this.#fd, bufs), 'readv');
  }
  writev(bufs: readonly Uint8Array[]): number {
    return ioResult(libc.writev(this.#fd, bufs), 'writev');
  }

  setOffload(flags: number): void {
    libc.ioctl(this.#fd, TUNSETOFFLOAD, flags, 'TUNSETOFFLOAD');
  }

  detach(): void {
    libc.ioctl(this.#fd, TUNSETQUEUE, ifreq('', IFF_DETACH_QUEUE), `TUNSETQUEUE detach ${this.name}`);
  }

  attach(): void {
    libc.ioctl(this.#fd, TUNSETQUEUE, ifreq('', IFF_ATTACH_QUEUE), `TUNSETQUEUE attach ${this.name}`);
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    libc.close(fd);
  }
}
