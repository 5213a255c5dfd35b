/**
 * Packet capture (`mcstack capture -i IF -w FILE.pcapng [-c COUNT]`): a tap on
 * one interface of an engine that copies every frame it sends and receives, with
 * the engine's clock as the timestamp (ns resolution), written as pcapng
 * (Ethernet link type for Ethernet interfaces, raw IP for tun and lo0).
 *
 * The tap wraps the engine's two frame paths without changing the engine: the
 * network layer's output callback (NetStack ctx.output, where every frame leaves)
 * and its input entry (if_input's bpf taps, where every frame arrives).
 *
 * A frame leaving with a checksum left to the "hardware" (CSUM_IP, CSUM_TCP...
 * in its meta, when TXCSUM is on) is captured as the wire will carry it: the tap
 * finishes those checksums in its copy, as the NIC would. A received frame the
 * link marked checksum-verified (CSUM_DATA_VALID | CSUM_PSEUDO_HDR, CSUM_IP_VALID)
 * is likewise stored with the checksums its sender's NIC would have written.
 * Frames without such flags are stored byte for byte, so corruption on the wire
 * shows up in the capture.
 */
import type { Engine } from '../engine.js';
import type { Ifnet } from '../net/if.js';
import type { FrameMeta } from '../net/mbuf.js';
import type { BpfTap } from '../net/vnet.js';
import {
  CSUM_IP,
  CSUM_DELAY_DATA,
  CSUM_DELAY_DATA_IPV6,
  CSUM_IP_VALID,
  CSUM_DATA_VALID,
  CSUM_PSEUDO_HDR,
} from '../net/mbuf.js';
import { writePcapng, type PcapngPacket } from '@mcstack/wire';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '@mcstack/wire';
import { ETHER_HDR_LEN } from '@mcstack/wire';
import { finishChecksums } from '../net/hwcsum.js';
import { SysError } from '../kern/errno.js';

/** One captured frame: plain data, so captures from several workers can be merged. */
export interface CapturedFrame {
  /** Engine time, ns. */
  timeNs: number;
  dir: 'in' | 'out';
  /** Length on the wire (the stored data may be cut at the snap length). */
  origLen: number;
  data: Uint8Array;
}

export interface CaptureOptions {
  /** Interface to capture on. */
  ifname: string;
  /** Stop after this many frames (-c). Default: no limit. */
  count?: number;
  /** Bytes kept of each frame. Default 262144 (tcpdump's). */
  snapLen?: number;
  /** Called once when the count is reached. */
  onLimit?: () => void;
}

export const DEFAULT_SNAPLEN = 262144;

export class CaptureTap {
  readonly frames: CapturedFrame[] = [];
  readonly linkType: number;
  readonly snapLen: number;
  private readonly limit: number;
  private detachFn: (() => void) | null = null;

  constructor(
    readonly ifp: Ifnet,
    private readonly o: CaptureOptions,
  ) {
    this.linkType = ifp.type === 'ether' ? LINKTYPE_ETHERNET : LINKTYPE_RAW;
    this.snapLen = o.snapLen ?? DEFAULT_SNAPLEN;
    this.limit = o.count ?? Infinity;
  }

  /** The count is reached: nothing more is recorded. */
  get full(): boolean {
    return this.frames.length >= this.limit;
  }

  /** Record a frame seen at `nowUs` going `dir`; `meta` may carry offload flags. */
  observe(dir: 'in' | 'out', frame: Uint8Array, meta: FrameMeta | null, nowUs: number): void {
    if (this.full) return;
    const data = frame.slice(0, Math.min(frame.length, this.snapLen));
    const flags = meta?.csumFlags ?? 0;
    if (data.length === frame.length) {
      const l3 = this.linkType === LINKTYPE_ETHERNET ? ETHER_HDR_LEN : 0;
      if (dir === 'out') {
        finishChecksums(data, l3, (flags & CSUM_IP) !== 0, (flags & (CSUM_DELAY_DATA | CSUM_DELAY_DATA_IPV6)) !== 0);
      } else {
        finishChecksums(
          data,
          l3,
          (flags & CSUM_IP_VALID) !== 0,
          (flags & (CSUM_DATA_VALID | CSUM_PSEUDO_HDR)) === (CSUM_DATA_VALID | CSUM_PSEUDO_HDR),
        );
      }
    }
    this.frames.push({ timeNs: Math.round(nowUs * 1000), dir, origLen: frame.length, data });
    if (this.full) this.o.onLimit?.();
  }

  /** Stop tapping the engine (the frames stay). */
  detach(): void {
    this.detachFn?.();
    this.detachFn = null;
  }

  /** The capture as a pcapng file. */
  toPcapng(): Uint8Array {
    return writeCapture(this.frames, this.linkType, this.snapLen);
  }

  /** @internal */
  setDetach(fn: () => void): void {
    this.detachFn = fn;
  }
}

/**
 * Start capturing on `o.ifname` of `engine`. ENXIO when there is no such
 * interface. Several taps may be stacked; detach them in reverse order.
 */
export function attachCapture(engine: Engine, o: CaptureOptions): CaptureTap {
  const ifp = engine.ifunit(o.ifname);
  if (!ifp) throw new SysError('ENXIO', `interface ${o.ifname} does not exist`, 'capture');
  const tap = new CaptureTap(ifp, o);
  const net = engine.net;
  const ctx = net.ctx;
  const prevOutput = ctx.output;
  ctx.output = (oifp, frame, meta) => {
    if (oifp === ifp) tap.observe('out', frame, meta, engine.now);
    return prevOutput.call(ctx, oifp, frame, meta);
  };
  const input: BpfTap = (iifp, frame, meta) => {
    if (iifp === ifp) tap.observe('in', frame, meta, engine.now);
  };
  net.bpf.push(input);
  tap.setDetach(() => {
    ctx.output = prevOutput;
    const i = net.bpf.indexOf(input);
    if (i >= 0) net.bpf.splice(i, 1);
  });
  return tap;
}

/**
 * Frames (from one tap, or several workers' taps of the same interface) as one
 * pcapng file, in time order (stable for equal times).
 */
export function writeCapture(
  frames: readonly CapturedFrame[],
  linkType: number,
  snapLen = DEFAULT_SNAPLEN,
): Uint8Array {
  const sorted = frames.map((f, i) => ({ f, i })).sort((a, b) => a.f.timeNs - b.f.timeNs || a.i - b.i);
  const packets: PcapngPacket[] = sorted.map(({ f }) => ({
    interfaceId: 0,
    tsSec: Math.floor(f.timeNs / 1e9),
    tsNsec: f.timeNs % 1e9,
    origLen: f.origLen,
    data: f.data,
  }));
  return writePcapng({ interfaces: [{ linkType, snapLen, tsresol: 9 }] }, packets);
}
