/**
 * `t` − `now` in µs rounded to the nanosecond: how a time leaves one engine for another
 * on a different clock (tcp/export.ts). Clocks in fractional µs lose a few ulps when
 * rebased; the rounding makes a time moved there and back the same number.
 */
export function timeRel(t: number, now: number): number {
  return Math.round((t - now) * 1000) / 1000;
}

/**
 * callout(9) on the virtual clock: one-shot timers kept in a binary min-heap.
 * A Callout is allocated once per owner (a tcpcb holds one per timer) and re-armed
 * with `reset`, so arming a timer allocates nothing. Ties fire in arming order, so a
 * run is deterministic. Times are microseconds on the engine's clock.
 *
 * TCP pushes most timers later as it goes (retransmit and keepalive move on with every
 * ACK), so a reset to a later time only records the new deadline: the callout keeps its
 * heap place (its key) and is moved down when it reaches the top (in next() or run()).
 * A reset to an earlier time moves it up at once. Either way a callout fires at its
 * latest deadline, in (deadline, arming) order, as with an eager heap.
 */
export class Callout {
  /** Absolute expiry time (µs); meaningful only while pending. */
  when = 0;
  /** Heap position, -1 when not pending. */
  index = -1;
  /** Arming order, to break ties deterministically. */
  seq = 0;
  /** The (time, order) the heap has it under: ≤ (when, seq); equal unless pushed later since. */
  key = 0;
  keySeq = 0;
  /**
   * `fn` runs with `arg` when the callout fires (callout_reset's func and arg): a function
   * shared by every owner and its own pointer, where a closure per owner costs ~120 bytes.
   */
  constructor(
    readonly fn: (arg: never) => void,
    public arg: unknown = undefined,
  ) {}

  /** A callout whose function takes its owner (typed: `fn` gets what `arg` is). */
  static withArg<A>(fn: (arg: A) => void, arg: A): Callout {
    return new Callout(fn, arg);
  }

  get pending(): boolean {
    return this.index >= 0;
  }
}

/** Heaps longer than this that fall to a quarter of their peak are copied into a small array. */
const HEAP_SHRINK_MIN = 1024;

export class CalloutWheel {
  private heap: Callout[] = [];
  private armed = 0;
  /** The heap's longest length since it was last copied (V8 keeps an array's peak storage). */
  private peak = 0;

  get size(): number {
    return this.heap.length;
  }

  /** callout_reset: (re)arm `c` to fire at absolute time `when`. */
  reset(c: Callout, when: number): void {
    c.when = when;
    c.seq = ++this.armed;
    // Not earlier than its heap key: leave it where it is (see the class comment).
    if (c.index >= 0 && when >= c.key) return;
    c.key = when;
    c.keySeq = c.seq;
    if (c.index >= 0) {
      this.siftUp(c.index);
    } else {
      c.index = this.heap.length;
      this.heap.push(c);
      if (this.heap.length > this.peak) this.peak = this.heap.length;
      this.siftUp(c.index);
    }
  }

  /** Bring the top's key up to date until the top is a callout due at its key. */
  private settle(): Callout | undefined {
    const h = this.heap;
    for (;;) {
      const c = h[0];
      if (c === undefined || (c.key === c.when && c.keySeq === c.seq)) return c;
      c.key = c.when;
      c.keySeq = c.seq;
      this.siftDown(0);
    }
  }

  /** callout_stop: disarm; returns whether it was pending. */
  stop(c: Callout): boolean {
    const i = c.index;
    if (i < 0) return false;
    const last = this.heap.pop()!;
    if (last !== c) {
      this.heap[i] = last;
      last.index = i;
      this.siftUp(i);
      this.siftDown(last.index);
    }
    c.index = -1;
    const n = this.heap.length;
    if (this.peak > HEAP_SHRINK_MIN && n < this.peak >> 2) {
      // A burst of connections is over: give its storage back (amortised O(1) per stop).
      this.heap = this.heap.slice();
      this.peak = n;
    }
    return true;
  }

  /** Disarm every pending callout (a destroyed vnet's wheel); returns how many there were. */
  clear(): number {
    const n = this.heap.length;
    for (const c of this.heap) c.index = -1;
    this.heap = [];
    this.peak = 0;
    return n;
  }

  /** Earliest pending expiry, or Infinity. */
  next(): number {
    const c = this.settle();
    return c !== undefined ? c.when : Infinity;
  }

  /** Fire every callout due at or before `now`, in (time, arming) order. */
  run(now: number): number {
    let fired = 0;
    for (;;) {
      const c = this.settle();
      if (c === undefined || c.when > now) break;
      this.stop(c);
      fired++;
      (c.fn as (arg: unknown) => void)(c.arg);
    }
    return fired;
  }

  private less(a: Callout, b: Callout): boolean {
    return a.key < b.key || (a.key === b.key && a.keySeq < b.keySeq);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const c = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(c, h[p]!)) break;
      h[i] = h[p]!;
      h[i]!.index = i;
      i = p;
    }
    h[i] = c;
    c.index = i;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const c = h[i]!;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && this.less(h[m + 1]!, h[m]!)) m++;
      if (!this.less(h[m]!, c)) break;
      h[i] = h[m]!;
      h[i]!.index = i;
      i = m;
    }
    h[i] = c;
    c.index = i;
  }
}
