/**
 * A bottleneck link for the simulator's wire: a transmitter of `rateBps` behind a FIFO
 * of `queuePkts` packets, a one-way propagation delay, random loss, and a queue
 * discipline: drop-tail, RED (S. Floyd, V. Jacobson, "Random Early Detection Gateways
 * for Congestion Avoidance", IEEE/ACM ToN 1(4), 1993) or CoDel (RFC 8289), with ECN
 * marking of ECT packets instead of dropping (RFC 3168 §5), and DCTCP's marking at a
 * queue threshold K (RFC 8257 §3.1: CE when the instantaneous queue exceeds K).
 *
 * The link is FIFO and its service is deterministic, so a packet's dequeue time is known
 * when it arrives: CoDel's dequeue-time decision runs then, on the packet's future
 * sojourn time, in dequeue order, exactly as it would at dequeue; a packet CoDel drops
 * frees its transmission slot. Every random draw comes from the simulator's seeded
 * source. Sojourn times are kept for the study's percentiles.
 */
import type { SeededRandom } from '../kern/random.js';

export type Aqm = 'droptail' | 'red' | 'codel';

export interface BottleneckConfig {
  /** Link rate, bit/s. */
  rateBps: number;
  /** One-way propagation delay after the link, µs. */
  delayUs?: number;
  /** Packets the queue holds (the one being sent not counted). */
  queuePkts: number;
  aqm?: Aqm;
  /** Mark ECT packets CE when the queue holds more than K packets (DCTCP's marking). */
  ecnThresholdPkts?: number;
  /** The AQM marks ECT packets instead of dropping them (RFC 3168 §5). */
  ecn?: boolean;
  /** Probability a packet is lost on the link (after the queue). */
  loss?: number;
  /** RED: thresholds in packets (default queue/4 and 3·queue/4), max_p, w_q. */
  redMin?: number;
  redMax?: number;
  redMaxP?: number;
  redWq?: number;
  /** CoDel target and interval, µs (RFC 8289 §4.2-4.3: 5 ms, 100 ms). */
  codelTargetUs?: number;
  codelIntervalUs?: number;
}

export interface BottleneckStats {
  enqueued: number;
  tailDrops: number;
  aqmDrops: number;
  randomLoss: number;
  ceMarks: number;
  /** Sojourn times (µs) of the packets sent, in order; `samples` of them are valid. */
  sojourn: Float64Array;
  samples: number;
}

export class Bottleneck {
  readonly stats: BottleneckStats = {
    enqueued: 0,
    tailDrops: 0,
    aqmDrops: 0,
    randomLoss: 0,
    ceMarks: 0,
    sojourn: new Float64Array(4096),
    samples: 0,
  };
  /** Whether the packet just accepted is to be marked CE. */
  ce = false;
  /** Dequeue times of the packets in the queue (a ring, oldest first). */
  private readonly deq: Float64Array;
  private head = 0;
  private count = 0;
  private busyUntil = 0;
  /* RED */
  private avg = 0;
  private redCount = -1;
  private idleSince = 0;
  /* CoDel (RFC 8289 §5) */
  private firstAboveTime = 0;
  private dropNext = 0;
  private codelCount = 0;
  private lastCount = 0;
  private dropping = false;

  constructor(
    readonly c: BottleneckConfig,
    private readonly random: SeededRandom,
  ) {
    this.deq = new Float64Array(Math.max(1, c.queuePkts) + 1);
  }

  private uniform(): number {
    return this.random.u32() / 0x100000000;
  }

  /** Packets waiting at `now` (those whose transmission has not begun). */
  private backlog(now: number): number {
    while (this.count > 0 && this.deq[this.head]! <= now) {
      this.head = (this.head + 1) % this.deq.length;
      this.count--;
    }
    return this.count;
  }

  /**
   * A `len`-byte packet (ECN-capable: `ect`) reaches the queue at `now`: its arrival time
   * at the far end, or -1 when it is dropped. Sets `ce` when it leaves marked.
   */
  enqueue(now: number, len: number, ect: boolean): number {
    const c = this.c;
    const st = this.stats;
    this.ce = false;
    const q = this.backlog(now);
    if (q >= c.queuePkts) {
      st.tailDrops++;
      return -1;
    }
    const start = Math.max(now, this.busyUntil);
    if (c.aqm === 'red' && this.redDrop(now, q)) {
      if (c.ecn && ect) this.ce = true;
      else {
        st.aqmDrops++;
        return -1;
      }
    }
    if (c.aqm === 'codel' && this.codelDrop(start, start - now)) {
      if (c.ecn && ect) this.ce = true;
      else {
        st.aqmDrops++;
        return -1;
      }
    }
    if (c.ecnThresholdPkts !== undefined && ect && q > c.ecnThresholdPkts) this.ce = true;
    if (this.ce) st.ceMarks++;
    st.enqueued++;
    this.recordSojourn(start - now);
    const tx = (len * 8e6) / c.rateBps;
    this.busyUntil = start + tx;
    if (start > now) {
      this.deq[(this.head + this.count) % this.deq.length] = start;
      this.count++;
    } else {
      this.idleSince = this.busyUntil;
    }
    if (c.loss && this.uniform() < c.loss) {
      st.randomLoss++;
      return -1;
    }
    return this.busyUntil + (c.delayUs ?? 0);
  }

  private recordSojourn(us: number): void {
    const st = this.stats;
    if (st.samples === st.sojourn.length) {
      const n = new Float64Array(st.sojourn.length * 2);
      n.set(st.sojourn);
      st.sojourn = n;
    }
    st.sojourn[st.samples++] = us;
  }

  /** RED's decision on an arriving packet with `q` packets queued (Floyd & Jacobson §4, "gentle" off). */
  private redDrop(now: number, q: number): boolean {
    const c = this.c;
    const minTh = c.redMin ?? c.queuePkts / 4;
    const maxTh = c.redMax ?? (3 * c.queuePkts) / 4;
    const maxP = c.redMaxP ?? 0.1;
    const wq = c.redWq ?? 0.002;
    if (q > 0) {
      this.avg = (1 - wq) * this.avg + wq * q;
    } else {
      // An idle queue: the average decays as if m small packets had passed (§11).
      const m = Math.max(0, (now - this.idleSince) / ((1500 * 8e6) / c.rateBps));
      this.avg = (1 - wq) ** m * this.avg;
    }
    if (this.avg < minTh) {
      this.redCount = -1;
      return false;
    }
    if (this.avg >= maxTh) {
      this.redCount = 0;
      return true;
    }
    this.redCount++;
    const pb = (maxP * (this.avg - minTh)) / (maxTh - minTh);
    const pa = this.redCount * pb >= 1 ? 1 : pb / (1 - this.redCount * pb);
    if (this.uniform() < pa) {
      this.redCount = 0;
      return true;
    }
    return false;
  }

  /** CoDel's dequeue at `t` of a packet that waited `sojourn` µs (RFC 8289 §5.3-5.5, one packet per call). */
  private codelDrop(t: number, sojourn: number): boolean {
    const target = this.c.codelTargetUs ?? 5000;
    const interval = this.c.codelIntervalUs ?? 100_000;
    let okToDrop = false;
    if (sojourn < target) {
      this.firstAboveTime = 0;
    } else if (this.firstAboveTime === 0) {
      this.firstAboveTime = t + interval;
    } else if (t >= this.firstAboveTime) {
      okToDrop = true;
    }
    const law = (from: number, count: number) => from + interval / Math.sqrt(count);
    if (this.dropping) {
      if (!okToDrop) {
        this.dropping = false;
        return false;
      }
      if (t >= this.dropNext) {
        this.codelCount++;
        this.dropNext = law(this.dropNext, this.codelCount);
        return true;
      }
      return false;
    }
    if (okToDrop) {
      this.dropping = true;
      // §5.4: resume near the last drop rate if dropping stopped only recently.
      const delta = this.codelCount - this.lastCount;
      this.codelCount = delta > 1 && t - this.dropNext < 16 * interval ? delta : 1;
      this.lastCount = this.codelCount;
      this.dropNext = law(t, this.codelCount);
      return true;
    }
    return false;
  }
}

/** The ECN field of an Ethernet frame's IP header (offset 14), or -1 when not IP. */
export function frameEcn(f: Uint8Array): number {
  const type = (f[12]! << 8) | f[13]!;
  if (type === 0x0800) return f[15]! & 3;
  if (type === 0x86dd) return (f[15]! >> 4) & 3;
  return -1;
}

/** Set CE in an Ethernet frame's IP header (RFC 3168 §5), the IPv4 checksum updated (RFC 1624). */
export function frameMarkCe(f: Uint8Array): void {
  const type = (f[12]! << 8) | f[13]!;
  if (type === 0x0800) {
    const old = (f[14]! << 8) | f[15]!;
    const neu = old | 3;
    f[15] = neu & 0xff;
    // HC' = ~(~HC + ~m + m') (RFC 1624 eqn. 3).
    let s = (~((f[24]! << 8) | f[25]!) & 0xffff) + (~old & 0xffff) + neu;
    s = (s & 0xffff) + (s >>> 16);
    s = (s & 0xffff) + (s >>> 16);
    const hc = ~s & 0xffff;
    f[24] = hc >> 8;
    f[25] = hc & 0xff;
  } else if (type === 0x86dd) {
    f[15] = f[15]! | 0x30;
  }
}
