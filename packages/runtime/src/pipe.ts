/**
 * A dummynet pipe on a stack's link output (FreeBSD dummynet(4), `dnctl pipe N config bw B
 * delay D queue Q plr P red|codel|droptail`): the frames cxgbe0 transmits pass a
 * bottleneck — a rate, a queue of Q slots with drop-tail, RED or CoDel, ECN marking at a
 * threshold, random loss, then a one-way delay — before they reach the wire.
 *
 * The queue and its discipline are the simulator's (@mcstack/netinet/sim Bottleneck), its
 * state in shared memory: every worker of the stack feeds the one queue under its lock,
 * as every flow of a host shares its NIC's pipe. The link is FIFO and its service
 * deterministic, so the bottleneck answers at enqueue when the frame reaches the far end;
 * the sender's worker holds the frame in its delay line (a local FIFO of frame slots,
 * allocated once) until then and only then writes it to the wire (the peer's ring, the
 * TAP). Times are µs of one clock every thread reads (pipeClock).
 */
import { SysError, type SysctlOid } from '@mcstack/netinet';
import { Bottleneck, type BottleneckConfig, frameEcn, frameMarkCe } from '@mcstack/netinet/sim';
import type { FrameRing } from './ring.js';
import { TxQueue } from './txq.js';

/** A pipe's configuration, in dummynet's terms (dnctl pipe config). */
export interface PipeSpec {
  /** Bandwidth, bit/s (`bw`); 0 or absent: no rate limit. */
  bw?: number;
  /** One-way delay, ms (`delay`). */
  delay?: number;
  /** Queue size in slots (`queue`, default dummynet's 50). */
  queue?: number;
  /** Packet loss rate, 0..1 (`plr`). */
  plr?: number;
  /** Queue management: dummynet's droptail (default), `red` (w_q/min_th/max_th/max_p) or `codel`. */
  aqm?: 'droptail' | 'red' | 'codel';
  red?: { wq?: number; minTh?: number; maxTh?: number; maxP?: number };
  /** CoDel target and interval, ms (dummynet's defaults: 5 and 100). */
  codel?: { target?: number; interval?: number };
  /** The AQM marks ECT packets CE instead of dropping them (dummynet's `ecn`). */
  ecn?: boolean;
  /** CE-mark ECT packets when more than this many are queued (DCTCP's K, RFC 8257 §3.1). */
  markThreshold?: number;
  /** Frames the sender's delay line holds (default 4096); a full one drops (PipeLine.overflows). */
  slots?: number;
}

/** A pipe's counters (dummynet's per-pipe statistics). */
export interface PipeStats {
  /** Packets that left the queue for the wire (random loss not counted). */
  packets: number;
  tailDrops: number;
  aqmDrops: number;
  randomLoss: number;
  ceMarks: number;
  /** Times a worker took the shared queue's lock over from a worker that died holding it. */
  lockBreaks: number;
}

/** What a worker gets: the shared bottleneck and its configuration. */
export interface PipeShare {
  config: BottleneckConfig;
  sab: SharedArrayBuffer;
  slots: number;
}

const num = (v: unknown, what: string, min: number, max: number): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new SysError('EINVAL', `pipe: ${what} must be a number from ${min} to ${max}, not ${JSON.stringify(v)}`);
  return v;
};

/** EINVAL for a key of `o` not in `known` (a misspelt one would be ignored); `prefix` names where. */
function knownKeys(o: object, known: string[], prefix: string): void {
  for (const k of Object.keys(o))
    if (!known.includes(k)) throw new SysError('EINVAL', `pipe: unknown key ${prefix}${k}`);
}

/** Check a spec and turn it into the bottleneck's configuration (EINVAL on a bad value). */
export function pipeConfig(p: PipeSpec): BottleneckConfig {
  knownKeys(p, ['bw', 'delay', 'queue', 'plr', 'aqm', 'red', 'codel', 'ecn', 'markThreshold', 'slots'], '');
  const aqm = p.aqm ?? 'droptail';
  if (!['droptail', 'red', 'codel'].includes(aqm)) throw new SysError('EINVAL', `pipe: aqm ${String(aqm)}`);
  if (p.ecn !== undefined && typeof p.ecn !== 'boolean')
    throw new SysError('EINVAL', `pipe: ecn must be true or false, not ${JSON.stringify(p.ecn)}`);
  // Only an AQM decides to mark instead of dropping (dummynet takes ecn with red or codel);
  // drop-tail marks nothing, so ecn there would be accepted and do nothing.
  if (p.ecn === true && aqm === 'droptail')
    throw new SysError('EINVAL', 'pipe: ecn needs aqm red or codel (droptail marks at markThreshold)');
  const c: BottleneckConfig = {
    rateBps: num(p.bw ?? 0, 'bw', 0, 400e9),
    delayUs: num(p.delay ?? 0, 'delay', 0, 10_000) * 1000,
    queuePkts: Math.floor(num(p.queue ?? 50, 'queue', 1, 100_000)),
    aqm,
    loss: num(p.plr ?? 0, 'plr', 0, 1),
    ecn: p.ecn === true,
  };
  if (p.markThreshold !== undefined) c.ecnThresholdPkts = num(p.markThreshold, 'markThreshold', 0, 100_000);
  if (p.red !== undefined) {
    if (aqm !== 'red') throw new SysError('EINVAL', 'pipe: red parameters without aqm red');
    knownKeys(p.red, ['wq', 'minTh', 'maxTh', 'maxP'], 'red.');
    if (p.red.wq !== undefined) c.redWq = num(p.red.wq, 'red.wq', 1e-6, 1);
    if (p.red.minTh !== undefined) c.redMin = num(p.red.minTh, 'red.minTh', 0, c.queuePkts);
    if (p.red.maxTh !== undefined) c.redMax = num(p.red.maxTh, 'red.maxTh', c.redMin ?? 0, c.queuePkts);
    if (p.red.maxP !== undefined) c.redMaxP = num(p.red.maxP, 'red.maxP', 0, 1);
  }
  if (p.codel !== undefined) {
    if (aqm !== 'codel') throw new SysError('EINVAL', 'pipe: codel parameters without aqm codel');
    knownKeys(p.codel, ['target', 'interval'], 'codel.');
    if (p.codel.target !== undefined) c.codelTargetUs = num(p.codel.target, 'codel.target', 0.001, 10_000) * 1000;
    if (p.codel.interval !== undefined)
      c.codelIntervalUs = num(p.codel.interval, 'codel.interval', 0.001, 100_000) * 1000;
  }
  // Without a rate nothing ever waits in the queue: an AQM or a marking threshold would
  // be accepted and never act.
  if (aqm !== 'droptail' && c.rateBps === 0) throw new SysError('EINVAL', `pipe: ${aqm} needs a bw`);
  if (c.ecnThresholdPkts !== undefined && c.rateBps === 0)
    throw new SysError('EINVAL', 'pipe: markThreshold needs a bw');
  return c;
}

/** The owner id of group worker `worker` in the pipe's lock word. */
export const pipeOwner = (worker: number): number => worker + 1;

/** Worker `worker` is gone: a worker waiting on the pipe's lock may take it over from it. */
export function pipeWorkerGone(share: PipeShare, worker: number): void {
  Bottleneck.ownerGone(share.sab, pipeOwner(worker));
}

/** A pipe's shared state, made once per stack (its workers attach). */
export function pipeShare(p: PipeSpec, seed: number): PipeShare {
  const config = pipeConfig(p);
  const slots = Math.floor(num(p.slots ?? 4096, 'slots', 1, 1 << 20));
  return { config, sab: Bottleneck.shared(config, seed), slots };
}

/** µs on one clock for every thread of the process (each thread's performance.now() has its own origin). */
export function pipeClock(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

/**
 * One worker's end of a pipe: admission to the shared bottleneck and the delay line
 * the admitted frames wait in. Slots hold a frame and META_WORDS of metadata (the
 * caller's to fill), a destination and the time the frame is due on the wire.
 */
export class PipeLine {
  readonly bottleneck: Bottleneck;
  /** The delay line's frames, in order (a transmit queue's slots, made on first use). */
  private readonly q: TxQueue;
  /** Per slot: when its frame is due on the wire, and its destination. */
  private readonly due: Float64Array;
  private readonly dest: Int32Array;
  /** Frames refused because the delay line was full. */
  overflows = 0;

  /** `owner`: this worker's id in the bottleneck's lock word (its index + 1: what the Stack publishes when it dies). */
  constructor(share: PipeShare, slotSize: number, owner: number) {
    this.bottleneck = new Bottleneck(share.config, share.sab, owner);
    this.q = new TxQueue(share.slots, slotSize);
    // The queue's slots are a power of two at least `slots` long, indexed as its ring's.
    let n = 1;
    while (n < share.slots) n <<= 1;
    this.due = new Float64Array(n);
    this.dest = new Int32Array(n);
  }

  /** Frames waiting. */
  get length(): number {
    return this.q.length;
  }

  get frames(): FrameRing {
    return this.q.frames;
  }

  /**
   * The pipe's verdict on a `len`-byte frame sent at `now` (pipeClock): the time it is due
   * at the far end, or -1 when the queue, the AQM or the loss rate dropped it. `ce()`
   * then says whether it leaves marked.
   */
  admit(frame: Uint8Array, len: number, now: number): number {
    const ecn = frameEcn(frame);
    return this.bottleneck.enqueue(now, len, ecn === 1 || ecn === 2);
  }

  /** Whether the frame admit() just let through is to be marked CE (mark its copy with markCe). */
  get ce(): boolean {
    return this.bottleneck.ce;
  }

  /** Set CE in the frame copied into slot `s`. */
  markCe(s: number): void {
    frameMarkCe(this.frames.views[s]!);
  }

  /** A slot at the tail for a frame to `dest` due at `due` (write it into `frames`), or -1 when full. */
  alloc(dest: number, due: number): number {
    const s = this.q.alloc();
    if (s < 0) {
      this.overflows++;
      return -1;
    }
    this.due[s] = due;
    this.dest[s] = dest;
    return s;
  }

  /** The oldest frame's slot when it is due at `now`, else -1. */
  ready(now: number): number {
    if (this.q.length === 0) return -1;
    const s = this.q.peek();
    return this.due[s]! <= now ? s : -1;
  }

  /** When the oldest frame is due (Infinity when none waits). */
  get nextDue(): number {
    return this.q.length === 0 ? Infinity : this.due[this.q.peek()]!;
  }

  /** ms until the oldest frame is due on the wire (0 when it is; Infinity when none waits). */
  get waitMs(): number {
    return this.q.length === 0 ? Infinity : Math.max(0, (this.nextDue - pipeClock()) / 1000);
  }

  destOf(s: number): number {
    return this.dest[s]!;
  }

  /** The oldest frame has left. */
  shift(): void {
    this.q.shift();
  }
}

/**
 * Read-only OIDs net.inet.ip.dummynet.pipe.* on a worker's engine: the pipe's
 * configuration as dnctl(8) shows it and its counters (the shared queue's, and this
 * worker's delay-line overflows). Only where the stack has a pipe.
 */
export function pipeSysctls(sysctl: { add(o: SysctlOid): void }, line: PipeLine): void {
  const c = line.bottleneck.c;
  const add = (name: string, description: string, get: () => number | string) =>
    sysctl.add({
      name: `net.inet.ip.dummynet.pipe.${name}`,
      kind: typeof get() === 'number' ? 'int' : 'string',
      description,
      readonly: true,
      get,
    });
  add('bw', 'Bandwidth, bit/s (0: none)', () => c.rateBps);
  add('delay', 'One-way delay, ms', () => (c.delayUs ?? 0) / 1000);
  add('queue', 'Queue size, slots', () => c.queuePkts);
  add('plr', 'Packet loss rate', () => String(c.loss ?? 0));
  add('aqm', 'Queue management (droptail, red, codel) and ECN', () => `${c.aqm ?? 'droptail'}${c.ecn ? ' ecn' : ''}`);
  const st = () => line.bottleneck.stats;
  add('packets', 'Packets through the queue', () => st().enqueued - st().randomLoss);
  add('tail_drops', 'Packets dropped at a full queue', () => st().tailDrops);
  add('aqm_drops', 'Packets the AQM dropped', () => st().aqmDrops);
  add('random_loss', 'Packets lost at the loss rate', () => st().randomLoss);
  add('ce_marks', 'Packets marked CE', () => st().ceMarks);
  add('overflows', "Frames this worker's delay line had no room for", () => line.overflows);
  add('lock_breaks', "Times a worker took the queue's lock over from a dead worker", () => line.bottleneck.lockBreaks);
}
