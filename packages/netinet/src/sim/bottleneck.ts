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
 *
 * The state (and the random generator's) is one Float64Array, in shared memory when the
 * runtime's workers feed one bottleneck (runtime pipe.ts, docs/cc.md): the same decisions
 * for the simulator and the real links.
 */
import { type RandomSource, SeededRandom } from '../kern/random.js';

export type Aqm = 'droptail' | 'red' | 'codel';

export interface BottleneckConfig {
  /** Link rate, bit/s (0: no rate limit, the delay and loss only). */
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

/* The state, a Float64Array (in shared memory when several threads feed one bottleneck). */
const BUSY = 0;
const HEAD = 1;
const COUNT = 2;
const RED_AVG = 3;
const RED_COUNT = 4;
const IDLE_SINCE = 5;
const CODEL_FIRST_ABOVE = 6;
const CODEL_DROP_NEXT = 7;
const CODEL_COUNT = 8;
const CODEL_LAST_COUNT = 9;
const CODEL_DROPPING = 10;
const ST_ENQUEUED = 11;
const ST_TAIL = 12;
const ST_AQM = 13;
const ST_LOSS = 14;
const ST_CE = 15;
/** The dequeue-time ring of the queued packets starts here. */
const DEQ = 16;
/*
 * Shared layout, Int32 words: the lock (0 free, else its owner's id), the random
 * generator's four, the count of locks broken, then a bitmap of owners known dead; the
 * state (Float64) follows.
 */
const W_LOCK = 0;
const W_BREAKS = 5;
const W_DEAD = 6;
const DEAD_WORDS = 32;
/** Owner ids are 1 .. MAX_OWNER (the bitmap's bits). */
export const BOTTLENECK_MAX_OWNER = DEAD_WORDS * 32 - 1;
const SHARED_HDR = 4 * (W_DEAD + DEAD_WORDS);
/**
 * Spins between looks at whether the lock's owner is still alive (an enqueue holds the
 * lock a few hundred ns; this is far longer than any live holder takes).
 */
const SPINS_PER_CHECK = 1 << 14;

export class Bottleneck {
  /** Whether the packet just accepted is to be marked CE. */
  ce = false;
  private readonly v: Float64Array;
  /** Dequeue-time ring length (queue + the one in service). */
  private readonly deqLen: number;
  /** The shared header's words (lock, random, breaks, dead owners), or null when not shared. */
  private readonly lock: Int32Array | null;
  /** This thread's owner id in the lock word (shared memory only). */
  private readonly owner: number;
  private readonly random: RandomSource;
  private sojourn = new Float64Array(4096);
  private samples = 0;
  /** Keep each packet's sojourn time (the simulator's percentiles; off in shared memory). */
  private readonly keepSojourn: boolean;

  /**
   * A bottleneck of its own (the simulator's, drawing from `random`), or one in shared
   * memory made by `Bottleneck.shared` (every thread that attaches feeds the same queue),
   * whose lock it takes as `owner` (1 .. BOTTLENECK_MAX_OWNER, distinct per thread: the
   * id `Bottleneck.ownerGone` publishes when that thread dies).
   */
  constructor(
    readonly c: BottleneckConfig,
    random: RandomSource | SharedArrayBuffer,
    owner = 1,
  ) {
    this.deqLen = Math.max(1, c.queuePkts) + 1;
    if (!Number.isInteger(owner) || owner < 1 || owner > BOTTLENECK_MAX_OWNER)
      throw new RangeError(`bottleneck owner ${owner} is not in 1..${BOTTLENECK_MAX_OWNER}`);
    this.owner = owner;
    if (random instanceof SharedArrayBuffer) {
      this.lock = new Int32Array(random, 0, W_DEAD + DEAD_WORDS);
      this.random = SeededRandom.attach(new Int32Array(random, 4, 4));
      this.v = new Float64Array(random, SHARED_HDR, DEQ + this.deqLen);
      this.keepSojourn = false;
    } else {
      this.lock = null;
      this.random = random;
      this.v = new Float64Array(DEQ + this.deqLen);
      this.keepSojourn = true;
    }
    this.v[RED_COUNT] = -1;
  }

  /** Shared memory for one bottleneck of `c` that threads attach to (`new Bottleneck(c, sab)`). */
  static shared(c: BottleneckConfig, seed: number): SharedArrayBuffer {
    const sab = new SharedArrayBuffer(SHARED_HDR + 8 * (DEQ + Math.max(1, c.queuePkts) + 1));
    new SeededRandom(seed, new Int32Array(sab, 4, 4));
    new Float64Array(sab, SHARED_HDR)[RED_COUNT] = -1;
    return sab;
  }

  /**
   * The thread whose owner id is `owner` is gone (its worker died): a waiter that finds
   * the lock held by it takes the lock over (counted, `lockBreaks`) instead of spinning on.
   */
  static ownerGone(sab: SharedArrayBuffer, owner: number): void {
    if (!Number.isInteger(owner) || owner < 1 || owner > BOTTLENECK_MAX_OWNER) return;
    Atomics.or(new Int32Array(sab, 0, W_DEAD + DEAD_WORDS), W_DEAD + (owner >>> 5), 1 << (owner & 31));
  }

  /** Locks taken over from a dead owner (shared memory; 0 otherwise). */
  get lockBreaks(): number {
    return this.lock === null ? 0 : Atomics.load(this.lock, W_BREAKS);
  }

  get stats(): BottleneckStats {
    const v = this.v;
    return {
      enqueued: v[ST_ENQUEUED]!,
      tailDrops: v[ST_TAIL]!,
      aqmDrops: v[ST_AQM]!,
      randomLoss: v[ST_LOSS]!,
      ceMarks: v[ST_CE]!,
      sojourn: this.sojourn,
      samples: this.samples,
    };
  }

  private uniform(): number {
    return this.random.u32() / 0x100000000;
  }

  /** Packets waiting at `now` (those whose transmission has not begun). */
  private backlog(now: number): number {
    const v = this.v;
    let head = v[HEAD]!;
    let count = v[COUNT]!;
    while (count > 0 && v[DEQ + head]! <= now) {
      head = (head + 1) % this.deqLen;
      count--;
    }
    v[HEAD] = head;
    v[COUNT] = count;
    return count;
  }

  /**
   * A `len`-byte packet (ECN-capable: `ect`) reaches the queue at `now`: its arrival time
   * at the far end, or -1 when it is dropped. Sets `ce` when it leaves marked. In shared
   * memory the decision is taken under the bottleneck's lock (a few hundred ns).
   */
  enqueue(now: number, len: number, ect: boolean): number {
    const lock = this.lock;
    if (lock === null) return this.decide(now, len, ect);
    const me = this.owner;
    if (Atomics.compareExchange(lock, W_LOCK, 0, me) !== 0) this.acquire(lock, me);
    try {
      return this.decide(now, len, ect);
    } finally {
      // Only the holder frees it: a lock broken from under a holder thought dead stays the breaker's.
      Atomics.compareExchange(lock, W_LOCK, me, 0);
    }
  }

  /**
   * Wait for the lock; now and then look whether its holder is a thread published dead
   * (ownerGone), and if so take it over — a worker that died holding it would otherwise
   * stall every other one for good. Its update may be half done; the state stays numbers
   * the next decision reads as they are (one packet's accounting at worst).
   */
  private acquire(lock: Int32Array, me: number): void {
    for (let spins = 0; ; spins++) {
      if (Atomics.compareExchange(lock, W_LOCK, 0, me) === 0) return;
      if ((spins & (SPINS_PER_CHECK - 1)) !== SPINS_PER_CHECK - 1) continue;
      const holder = Atomics.load(lock, W_LOCK);
      if (holder <= 0 || holder > BOTTLENECK_MAX_OWNER) continue;
      const dead = (Atomics.load(lock, W_DEAD + (holder >>> 5)) & (1 << (holder & 31))) !== 0;
      if (dead && Atomics.compareExchange(lock, W_LOCK, holder, me) === holder) {
        Atomics.add(lock, W_BREAKS, 1);
        return;
      }
    }
  }

  private decide(now: number, len: number, ect: boolean): number {
    const c = this.c;
    const v = this.v;
    this.ce = false;
    const q = this.backlog(now);
    if (q >= c.queuePkts) {
      v[ST_TAIL]!++;
      return -1;
    }
    const start = Math.max(now, v[BUSY]!);
    if (c.aqm === 'red' && this.redDrop(now, q)) {
      if (c.ecn && ect) this.ce = true;
      else {
        v[ST_AQM]!++;
        return -1;
      }
    }
    if (c.aqm === 'codel' && this.codelDrop(start, start - now)) {
      if (c.ecn && ect) this.ce = true;
      else {
        v[ST_AQM]!++;
        return -1;
      }
    }
    if (c.ecnThresholdPkts !== undefined && ect && q > c.ecnThresholdPkts) this.ce = true;
    if (this.ce) v[ST_CE]!++;
    v[ST_ENQUEUED]!++;
    if (this.keepSojourn) this.recordSojourn(start - now);
    const tx = c.rateBps > 0 ? (len * 8e6) / c.rateBps : 0;
    const busy = start + tx;
    v[BUSY] = busy;
    if (start > now) {
      v[DEQ + ((v[HEAD]! + q) % this.deqLen)] = start;
      v[COUNT] = q + 1;
    } else {
      v[IDLE_SINCE] = busy;
    }
    if (c.loss && this.uniform() < c.loss) {
      v[ST_LOSS]!++;
      return -1;
    }
    return busy + (c.delayUs ?? 0);
  }

  private recordSojourn(us: number): void {
    if (this.samples === this.sojourn.length) {
      const n = new Float64Array(this.sojourn.length * 2);
      n.set(this.sojourn);
      this.sojourn = n;
    }
    this.sojourn[this.samples++] = us;
  }

  /** RED's decision on an arriving packet with `q` packets queued (Floyd & Jacobson §4, "gentle" off). */
  private redDrop(now: number, q: number): boolean {
    const c = this.c;
    const v = this.v;
    const minTh = c.redMin ?? c.queuePkts / 4;
    const maxTh = c.redMax ?? (3 * c.queuePkts) / 4;
    const maxP = c.redMaxP ?? 0.1;
    const wq = c.redWq ?? 0.002;
    let avg = v[RED_AVG]!;
    if (q > 0) {
      avg = (1 - wq) * avg + wq * q;
    } else {
      // An idle queue: the average decays as if m small packets had passed (§11).
      const m = Math.max(0, (now - v[IDLE_SINCE]!) / ((1500 * 8e6) / c.rateBps));
      avg = (1 - wq) ** m * avg;
    }
    v[RED_AVG] = avg;
    if (avg < minTh) {
      v[RED_COUNT] = -1;
      return false;
    }
    if (avg >= maxTh) {
      v[RED_COUNT] = 0;
      return true;
    }
    const count = v[RED_COUNT]! + 1;
    v[RED_COUNT] = count;
    const pb = (maxP * (avg - minTh)) / (maxTh - minTh);
    const pa = count * pb >= 1 ? 1 : pb / (1 - count * pb);
    if (this.uniform() < pa) {
      v[RED_COUNT] = 0;
      return true;
    }
    return false;
  }

  /** CoDel's dequeue at `t` of a packet that waited `sojourn` µs (RFC 8289 §5.3-5.5, one packet per call). */
  private codelDrop(t: number, sojourn: number): boolean {
    const v = this.v;
    const target = this.c.codelTargetUs ?? 5000;
    const interval = this.c.codelIntervalUs ?? 100_000;
    let okToDrop = false;
    if (sojourn < target) {
      v[CODEL_FIRST_ABOVE] = 0;
    } else if (v[CODEL_FIRST_ABOVE] === 0) {
      v[CODEL_FIRST_ABOVE] = t + interval;
    } else if (t >= v[CODEL_FIRST_ABOVE]!) {
      okToDrop = true;
    }
    if (v[CODEL_DROPPING] !== 0) {
      if (!okToDrop) {
        v[CODEL_DROPPING] = 0;
        return false;
      }
      if (t >= v[CODEL_DROP_NEXT]!) {
        const count = v[CODEL_COUNT]! + 1;
        v[CODEL_COUNT] = count;
        v[CODEL_DROP_NEXT] = v[CODEL_DROP_NEXT]! + interval / Math.sqrt(count);
        return true;
      }
      return false;
    }
    if (okToDrop) {
      v[CODEL_DROPPING] = 1;
      // §5.4: resume near the last drop rate if dropping stopped only recently.
      const delta = v[CODEL_COUNT]! - v[CODEL_LAST_COUNT]!;
      const count = delta > 1 && t - v[CODEL_DROP_NEXT]! < 16 * interval ? delta : 1;
      v[CODEL_COUNT] = count;
      v[CODEL_LAST_COUNT] = count;
      v[CODEL_DROP_NEXT] = t + interval / Math.sqrt(count);
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
