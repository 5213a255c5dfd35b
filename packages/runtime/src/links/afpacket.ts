/**
 * An existing Linux interface as cxgbe0 (`links: [{ type: 'af_packet', ifname, netns? }]`):
 * one AF_PACKET socket per group worker with its PACKET_MMAP receive ring, all in one
 * PACKET_FANOUT group (native/packet.ts), opened here on the main thread and then used
 * only by the workers — worker i takes frames from ring i and writes to socket i
 * (links/queueport.ts). The interface stays Linux's: this link neither addresses it nor
 * brings it up; it must be up, and for a veth end its peer is the wire.
 *
 * The kernel's fanout hash picks a socket per flow; it does not learn which worker owns a
 * flow as tun does, so a frame for another worker's bucket hops to it (counted as the
 * queue's `forwarded`). Offloads: virtio-net headers both ways (PACKET_VNET_HDR), so the
 * interface offers TXCSUM/TSO (the kernel segments and finishes) and RXCSUM/LRO (its
 * GSO frames arrive whole; with LRO off the link cuts them).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SysError } from '@mcstack/netinet';
import { tapCapabilities } from './tapmq.js';
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6 } from '../native/tun.js';
import { openPacketRing, type PacketRing } from '../native/packet.js';
import { NativeError, NativeUnavailableError } from '../native/errors.js';
import type { GroupTask } from '../worker/group.js';

const run = promisify(execFile);

/** A ring slot: tpacket2_hdr, sockaddr_ll, virtio-net header and a 64 KiB GSO frame (17 pages). */
const FRAME_SIZE = 17 * 4096;
/** Slots per worker's ring (about 9 MB). */
const RING_FRAMES = 128;

export interface AfPacketOptions {
  ifname: string;
  /** The namespace the interface is in (`ip netns` name); this process's own when absent. */
  netns?: string;
  queues: number;
}

let fanoutSeq = 0;

export class AfPacketLink {
  readonly name: string;
  readonly rings: readonly PacketRing[];
  /** As a TAP taking every offload: the kernel finishes, segments and coalesces alike. */
  readonly capabilities = tapCapabilities(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
  readonly hdrSize = 10;
  /** The interface's MTU, as Linux has it. */
  readonly mtu: number;
  readonly path = 'native' as const;

  private constructor(name: string, rings: PacketRing[], mtu: number) {
    this.name = name;
    this.rings = rings;
    this.mtu = mtu;
  }

  /** What worker `i` gets: its socket, ring and the shared counters. */
  queueOf(i: number, stats: SharedArrayBuffer): GroupTask['queue'] {
    const r = this.rings[i]!;
    return {
      kind: 'af_packet',
      fd: r.fd,
      hdrSize: this.hdrSize,
      stats,
      ring: { addr: r.addr, frameSize: r.frameSize, frames: r.frames },
    };
  }

  /**
   * Open a socket and ring per queue on `ifname`. A missing interface, namespace or
   * permission is a SysError naming it; NativeUnavailableError when koffi cannot load.
   */
  static async open(o: AfPacketOptions): Promise<AfPacketLink> {
    const where = o.netns === undefined ? '' : ` in namespace ${o.netns}`;
    let info: { ifindex: number; mtu: number; operstate?: string; flags?: string[] };
    try {
      const ns = o.netns === undefined ? [] : ['-n', o.netns];
      const r = await run('ip', [...ns, '-j', 'link', 'show', 'dev', o.ifname]);
      info = (JSON.parse(r.stdout) as (typeof info)[])[0]!;
    } catch (e) {
      throw new SysError(
        'ENXIO',
        `AF_PACKET: no interface ${o.ifname}${where} (${(e as { stderr?: string }).stderr?.trim() ?? e})`,
        'af_packet',
      );
    }
    if (!(info.flags ?? []).includes('UP'))
      throw new SysError('ENETDOWN', `AF_PACKET: ${o.ifname}${where} is down`, 'af_packet');
    const fanoutId = ((process.pid & 0xfff) << 4) | (fanoutSeq++ & 0xf);
    const rings: PacketRing[] = [];
    try {
      for (let i = 0; i < o.queues; i++)
        rings.push(
          openPacketRing({
            ifindex: info.ifindex,
            fanoutId,
            frameSize: FRAME_SIZE,
            frames: RING_FRAMES,
            netnsPath: o.netns === undefined ? undefined : `/var/run/netns/${o.netns}`,
          }),
        );
    } catch (e) {
      for (const r of rings) r.close();
      if (e instanceof NativeUnavailableError) throw e;
      if (e instanceof NativeError)
        throw new SysError(
          e.code,
          e.code === 'EPERM' || e.code === 'EACCES'
            ? `AF_PACKET ${o.ifname}: permission denied: packet sockets need CAP_NET_RAW (run as root)`
            : `AF_PACKET ${o.ifname}${where}: ${e.message}`,
          'af_packet',
        );
      throw e;
    }
    return new AfPacketLink(o.ifname, rings, info.mtu);
  }

  /** Unmap and close every socket (after the workers stopped). */
  close(): void {
    for (const r of this.rings) r.close();
  }
}
