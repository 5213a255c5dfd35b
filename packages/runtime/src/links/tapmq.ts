/**
 * A multi-queue TAP device for a multi-worker Stack (`links: [{ type: 'tap', queues:
 * 'per-worker' }]`): opened here on the main thread through the native layer (koffi:
 * /dev/net/tun, TUNSETIFF with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE, one
 * open per queue), configured with `ip`, and then used only by the group workers: queue
 * i's file descriptor is worker i's (links/queueport.ts). File descriptors belong to the
 * process, so a worker thread reads and writes its queue by number; this thread only
 * closes them after the workers have stopped.
 *
 * Offloads: TUNSETOFFLOAD with TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 is tried, then CSUM
 * alone, then none; what the kernel accepted is the interface's receive capabilities
 * (RXCSUM, LRO), and a virtio-net header on every write is what makes TXCSUM and
 * TSO4/TSO6 real (the kernel finishes partial checksums and segments GSO frames).
 */
import { SysError } from '@mcstack/netinet';
import {
  IFCAP_RXCSUM,
  IFCAP_RXCSUM_IPV6,
  IFCAP_TXCSUM,
  IFCAP_TXCSUM_IPV6,
  IFCAP_TSO4,
  IFCAP_TSO6,
  IFCAP_LRO,
} from '@mcstack/netinet';
import { openTapQueues, TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, type TapQueue } from '../native/tun.js';
import { NativeError, NativeUnavailableError } from '../native/errors.js';
import { configureTap } from './tap.js';
import type { GroupTask } from '../worker/group.js';

/** What the virtio-net header lets this side ask of the kernel on transmit. */
const TX_CAPS = IFCAP_TXCSUM | IFCAP_TXCSUM_IPV6 | IFCAP_TSO4 | IFCAP_TSO6;

export interface TapMqOptions {
  /** Device name (at most 15 bytes); default mcs<pid>q<n>. */
  name?: string;
  /** One per group worker. */
  queues: number;
  mtu?: number;
  /** Move the device into this existing namespace. */
  netns?: string;
  /** The kernel's addresses on the device, `ADDR/PLEN`. */
  addrs?: string[];
}

let seq = 0;

/** The IFCAP_* bits a device with these TUNSETOFFLOAD flags really has. */
export function tapCapabilities(offloads: number): number {
  let caps = TX_CAPS;
  if ((offloads & TUN_F_CSUM) !== 0) caps |= IFCAP_RXCSUM | IFCAP_RXCSUM_IPV6;
  if ((offloads & (TUN_F_TSO4 | TUN_F_TSO6)) !== 0) caps |= IFCAP_LRO;
  return caps;
}

/** A native-layer failure as one line naming what is missing (SysError, stable code). */
function missing(e: unknown, name: string): Error {
  if (e instanceof NativeUnavailableError) return e;
  if (e instanceof NativeError) {
    const what =
      e.code === 'EPERM' || e.code === 'EACCES'
        ? `TAP ${name}: permission denied: TUNSETIFF needs CAP_NET_ADMIN (run as root or with --cap-add NET_ADMIN)`
        : e.code === 'ENOENT' || e.code === 'ENODEV' || e.code === 'ENXIO'
          ? `TAP ${name}: /dev/net/tun is missing (no tun driver or device node)`
          : e.code === 'EINVAL' && e.syscall === 'ioctl'
            ? `TAP ${name}: the tun driver refused multi-queue/vnet-header mode (${e.message})`
            : `TAP ${name}: ${e.message}`;
    return new SysError(e.code, what, 'tap');
  }
  return e as Error;
}

export class TapMqLink {
  readonly name: string;
  readonly queues: readonly TapQueue[];
  /** TUNSETOFFLOAD flags the kernel accepted. */
  readonly offloads: number;
  /** The interface capabilities these give (IFCAP_*). */
  readonly capabilities: number;
  /** How frames move: always 'native' here (socat's path is links/tap.ts). */
  readonly path = 'native' as const;

  private constructor(name: string, queues: TapQueue[], offloads: number) {
    this.name = name;
    this.queues = queues;
    this.offloads = offloads;
    this.capabilities = tapCapabilities(offloads);
  }

  /** What worker `i` gets: its queue's fd and the shared counters. */
  queueOf(i: number, stats: SharedArrayBuffer): GroupTask['queue'] {
    return { kind: 'tap', fd: this.queues[i]!.fd, hdrSize: this.hdrSize, stats };
  }

  /** The virtio-net header size of every queue. */
  get hdrSize(): number {
    return this.queues[0]?.vnetHdrSize ?? 10;
  }

  /**
   * Create the device with `o.queues` queues and configure the kernel's side. Throws
   * NativeUnavailableError when koffi or libc cannot be loaded (the caller may fall back to
   * socat), a SysError naming the missing permission or device otherwise.
   */
  static async open(o: TapMqOptions): Promise<TapMqLink> {
    const name = o.name ?? `mcs${process.pid % 100000}q${seq++}`;
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new SysError('EINVAL', `TAP name ${JSON.stringify(name)}`, 'tap');
    if (!Number.isInteger(o.queues) || o.queues < 1) throw new SysError('EINVAL', `TAP queues: ${o.queues}`, 'tap');
    let queues: TapQueue[];
    try {
      queues = openTapQueues({ name, vnetHdr: true, vnetHdrSize: 10 }, o.queues);
    } catch (e) {
      throw missing(e, name);
    }
    let offloads = 0;
    for (const f of [TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, TUN_F_CSUM]) {
      try {
        queues[0]!.setOffload(f);
        offloads = f;
        break;
      } catch {
        /* an older or restricted driver: try less */
      }
    }
    const link = new TapMqLink(queues[0]!.name, queues, offloads);
    try {
      await configureTap(link.name, { netns: o.netns, addrs: o.addrs, mtu: o.mtu ?? 1500 });
    } catch (e) {
      link.close();
      throw new SysError('ENXIO', `TAP ${link.name}: configuring with ip failed: ${(e as Error).message}`, 'tap');
    }
    return link;
  }

  /** Close every queue (after the workers stopped); the device goes with the last one. */
  close(): void {
    for (const q of this.queues) q.close();
  }
}
