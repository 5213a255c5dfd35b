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
  /**
   * Heap position, -1 when not pending. A pending callout's deadline, arming order and
   * heap key live in the wheel's typed arrays at this position, not on the callout: a
   * double field is a boxed heap number in V8, and a tcpcb is a callout (memory per idle
   * connection, docs/architecture.md).
   */
  index = -1;
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

function swapAt(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/** Heaps longer than this that fall to a quarter of their peak are copied into a small array. */
const HEAP_SHRINK_MIN = 1024;

export class CalloutWheel {
  private heap: Callout[] = [];
  /**
   * Per heap position: the callout's deadline (µs) and arming order, and the (time, order)
   * the heap has it under: ≤ (when, seq); equal unless it was pushed later since.
   */
  private whens = new Float64Array(16);
  private seqs = new Float64Array(16);
  private keys = new Float64Array(16);
  private keySeqs = new Float64Array(16);
  private armed = 0;
  /** The heap's longest length since it was last copied (V8 keeps an array's peak storage). */
  private peak = 0;

  get size(): number {
    return this.heap.length;
  }

  /** The deadline of `c` (µs), Infinity when it is not pending. */
  when(c: Callout): number {
    return c.index >= 0 ? this.whens[c.index]! : Infinity;
  }

  /** callout_reset: (re)arm `c` to fire at absolute time `when`. */
  reset(c: Callout, when: number): void {
    const seq = ++this.armed;
    let i = c.index;
    if (i >= 0) {
      this.whens[i] = when;
      this.seqs[i] = seq;
      // Not earlier than its heap key: leave it where it is (see the class comment).
      if (when >= this.keys[i]!) return;
    } else {
      i = this.heap.length;
      if (i === this.whens.length) this.grow();
      c.index = i;
      this.heap.push(c);
      if (this.heap.length > this.peak) this.peak = this.heap.length;
      this.whens[i] = when;
      this.seqs[i] = seq;
    }
    this.keys[i] = when;
    this.keySeqs[i] = seq;
    this.siftUp(i);
  }

  private grow(): void {
    const n = this.whens.length * 2;
    for (const k of ['whens', 'seqs', 'keys', 'keySeqs'] as const) {
      const a = new Float64Array(n);
      a.set(this[k]);
      this[k] = a;
    }
  }

  /** Bring the top's key up to date until the top is a callout due at its key. */
  private settle(): Callout | undefined {
    const h = this.heap;
    for (;;) {
      const c = h[0];
      if (c === undefined || (this.keys[0] === this.whens[0] && this.keySeqs[0] === this.seqs[0])) return c;
      this.keys[0] = this.whens[0]!;
      this.keySeqs[0] = this.seqs[0]!;
      this.siftDown(0);
    }
  }

  /** callout_stop: disarm; returns whether it was pending. */
  stop(c: Callout): boolean {
    const i = c.index;
    if (i < 0) return false;
    const last = this.heap.pop()!;
    const n = this.heap.length;
    if (last !== c) {
      this.heap[i] = last;
      last.index = i;
      this.move(n, i);
      this.siftUp(i);
      this.siftDown(last.index);
    }
    c.index = -1;
    if (this.peak > HEAP_SHRINK_MIN && n < this.peak >> 2) {
      // A burst of connections is over: give its storage back (amortised O(1) per stop).
      this.heap = this.heap.slice();
      this.peak = n;
      const cap = Math.max(16, 2 ** Math.ceil(Math.log2(n + 1)));
      for (const k of ['whens', 'seqs', 'keys', 'keySeqs'] as const) this[k] = this[k].slice(0, cap);
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
    return c !== undefined ? this.whens[0]! : Infinity;
  }

  /** Fire every callout due at or before `now`, in (time, arming) order. */
  run(now: number): number {
    let fired = 0;
    for (;;) {
      const c = this.settle();
      if (c === undefined || this.whens[0]! > now) break;
      this.stop(c);
      fired++;
      (c.fn as (arg: unknown) => void)(c.arg);
    }
    return fired;
  }

  /** Whether the entry at heap position a comes before the one at b. */
  private less(a: number, b: number): boolean {
    const ka = this.keys[a]!;
    const kb = this.keys[b]!;
    return ka < kb || (ka === kb && this.keySeqs[a]! < this.keySeqs[b]!);
  }

  /** Copy the per-position values of heap position `from` to `to`. */
  private move(from: number, to: number): void {
    this.whens[to] = this.whens[from]!;
    this.seqs[to] = this.seqs[from]!;
    this.keys[to] = this.keys[from]!;
    this.keySeqs[to] = this.keySeqs[from]!;
  }

  /** Swap heap positions i and j (callouts and their values). */
  private swap(i: number, j: number): void {
    const h = this.heap;
    const a = h[i]!;
    const b = h[j]!;
    h[i] = b;
    b.index = i;
    h[j] = a;
    a.index = j;
    swapAt(this.whens, i, j);
    swapAt(this.seqs, i, j);
    swapAt(this.keys, i, j);
    swapAt(this.keySeqs, i, j);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private siftDown(i: number): void {
    const n = this.heap.length;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && this.less(m + 1, m)) m++;
      if (!this.less(m, i)) break;
      this.swap(i, m);
      i = m;
    }
  }
}
