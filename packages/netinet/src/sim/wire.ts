/**
 * A point-to-point virtual wire between two interfaces, with seeded faults (the
 * smoltcp "fault-injecting device"): loss, duplication, reordering, corruption,
 * propagation delay with jitter, and a rate limit with a drop-tail queue. Every
 * fault is counted, so a test can say what the transfer survived.
 */
import type { SeededRandom } from '../kern/random.js';
import { Bottleneck, type BottleneckConfig, frameEcn } from './bottleneck.js';

export interface FaultConfig {
  /** Probability that a frame is lost. */
  loss?: number;
  /** Probability that a frame is delivered twice. */
  duplicate?: number;
  /** Probability that a frame is held back by `reorderDelayUs` (so later ones overtake it). */
  reorder?: number;
  reorderDelayUs?: number;
  /** Probability that one random byte of a frame is flipped. */
  corrupt?: number;
  /** One-way propagation delay (µs) and uniform jitter on top of it. */
  delayUs?: number;
  jitterUs?: number;
  /** Serialisation rate in bit/s (0 or absent: infinitely fast). */
  rateBps?: number;
  /** Drop-tail queue limit in bytes when rate-limited. */
  queueBytes?: number;
  /** A bottleneck (bottleneck.ts) in place of rateBps/queueBytes/delayUs: a packet queue with AQM and ECN. */
  bottleneck?: BottleneckConfig;
}

export interface WireStats {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  queueDrops: number;
  bytes: number;
}

/** One direction of the wire: decides each frame's fate and its arrival time. */
export class WireDirection {
  readonly stats: WireStats = {
    sent: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    corrupted: 0,
    queueDrops: 0,
    bytes: 0,
  };
  private busyUntil = 0;
  /** The bottleneck, when configured; `ce` after fate(): mark the frame delivered. */
  readonly bottleneck: Bottleneck | null;

  constructor(
    private readonly faults: FaultConfig,
    private readonly random: SeededRandom,
  ) {
    this.bottleneck = faults.bottleneck ? new Bottleneck(faults.bottleneck, random) : null;
  }

  get ce(): boolean {
    return this.bottleneck?.ce ?? false;
  }

  /**
   * The arrival times (µs) of the copies of a `len`-byte frame sent at `now`:
   * none when lost, two when duplicated. `corruptAt` receives a byte index to flip
   * (or -1). Returns the number of copies written into `out`.
   */
  fate(now: number, len: number, out: Float64Array, corruptAt: Int32Array, frame?: Uint8Array): number {
    const f = this.faults;
    const r = this.random;
    this.stats.sent++;
    let depart = now;
    const b = this.bottleneck;
    if (b !== null) {
      const ecn = frame !== undefined ? frameEcn(frame) : -1;
      depart = b.enqueue(now, len, ecn === 1 || ecn === 2);
      if (depart < 0) {
        this.stats.queueDrops++;
        return 0;
      }
    } else if (f.rateBps) {
      const start = Math.max(now, this.busyUntil);
      const queued = ((start - now) * f.rateBps) / 8e6;
      if (f.queueBytes !== undefined && queued + len > f.queueBytes) {
        this.stats.queueDrops++;
        return 0;
      }
      this.busyUntil = start + (len * 8e6) / f.rateBps;
      depart = this.busyUntil;
    }
    if (f.loss && r.u32() / 0x100000000 < f.loss) {
      this.stats.lost++;
      return 0;
    }
    let arrive = depart + (f.delayUs ?? 0) + (f.jitterUs ? r.below(f.jitterUs + 1) : 0);
    if (f.reorder && r.u32() / 0x100000000 < f.reorder) {
      arrive += f.reorderDelayUs ?? 1000;
      this.stats.reordered++;
    }
    corruptAt[0] = -1;
    if (f.corrupt && r.u32() / 0x100000000 < f.corrupt) {
      corruptAt[0] = r.below(len);
      this.stats.corrupted++;
    }
    out[0] = arrive;
    let n = 1;
    if (f.duplicate && r.u32() / 0x100000000 < f.duplicate) {
      out[1] = arrive + (f.jitterUs ? r.below(f.jitterUs + 1) : 1);
      this.stats.duplicated++;
      n = 2;
    }
    this.stats.delivered += n;
    this.stats.bytes += len * n;
    return n;
  }
}
