/**
 * An existing Linux interface as cxgbe0 (`links: [{ type: 'af_packet', ifname, netns? }]`):
 * one AF_PACKET socket per group worker with its PACKET_MMAP receive ring, all in one
 * PACKET_FANOUT group (native/packet.ts), opened here on the main thread and then used
 * only by the workers — worker i takes frames from ring i and writes to socket i
 * (links/queueport.ts). The interface stays Linux's: this link neither addresses it nor
 * brings it up; it must be up, and for a veth end its peer is the wire.
 *
 * The group runs PACKET_FANOUT_CBPF with a classic BPF program that computes the stack's
 * own RSS (links/rssfanout.ts): each frame lands on the socket of the worker that owns
 * its bucket, and steer() gives the group a new program when the indirection table
 * changes. Where the kernel refuses that mode, the group falls back to PACKET_FANOUT_HASH,
 * whose flow hash is not ours: a frame for another worker's bucket then hops to it
 * (counted as the queue's `forwarded`), and `steering` says 'hash'. Offloads: virtio-net headers both ways (PACKET_VNET_HDR), so the
 * interface offers TXCSUM/TSO (the kernel segments and finishes) and RXCSUM/LRO (its
 * GSO frames arrive whole; with LRO off the link cuts them).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SysError } from '@mcstack/netinet';
import { tapCapabilities } from './tapmq.js';
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6 } from '../native/tun.js';
import {
  openPacketRing,
  setFanoutProgram,
  PACKET_FANOUT_CBPF,
  PACKET_FANOUT_HASH,
  type PacketRing,
} from '../native/packet.js';
import { encode } from '../native/cbpf.js';
import { rssFanoutProgram } from './rssfanout.js';
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
  /** How the fanout group picks a frame's socket: the stack's RSS (cbpf), or the kernel's hash. */
  readonly steering: 'cbpf' | 'hash';

  private constructor(name: string, rings: PacketRing[], mtu: number, steering: 'cbpf' | 'hash') {
    this.name = name;
    this.rings = rings;
    this.mtu = mtu;
    this.steering = steering;
  }

  /**
   * Point the fanout group at the indirection table `entries` (bucket -> worker): a new
   * program for the group (rssfanout.ts). Nothing to do on a 'hash' group.
   */
  steer(entries: ArrayLike<number>): void {
    if (this.steering !== 'cbpf') return;
    const prog = rssFanoutProgram(entries);
    setFanoutProgram(this.rings[0]!.fd, encode(prog), prog.length);
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
    const rings: PacketRing[] = [];
    let steering: 'cbpf' | 'hash' = 'cbpf';
    const open = (fanoutMode: number) => {
      const fanoutId = ((process.pid & 0xfff) << 4) | (fanoutSeq++ & 0xf);
      for (let i = 0; i < o.queues; i++)
        rings.push(
          openPacketRing({
            ifindex: info.ifindex,
            fanoutId,
            fanoutMode,
            frameSize: FRAME_SIZE,
            frames: RING_FRAMES,
            netnsPath: o.netns === undefined ? undefined : `/var/run/netns/${o.netns}`,
          }),
        );
    };
    try {
      try {
        open(PACKET_FANOUT_CBPF);
      } catch (e) {
        // A kernel before 4.3 has no PACKET_FANOUT_CBPF: the kernel's hash, and hops.
        if (!(e instanceof NativeError) || e.code !== 'EINVAL') throw e;
        for (const r of rings.splice(0)) r.close();
        steering = 'hash';
        open(PACKET_FANOUT_HASH);
      }
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
    return new AfPacketLink(o.ifname, rings, info.mtu, steering);
  }

  /** Unmap and close every socket (after the workers stopped). */
  close(): void {
    for (const r of this.rings) r.close();
  }
}
