/**
 * The simulator's event queue, ordered by (time, order): a binary min-heap with
 * the payload kept in parallel arrays, so scheduling a frame delivery allocates
 * nothing once the arrays have grown. Ties run in scheduling order: a run replays
 * exactly.
 *
 * Most events arrive in time order (a wire without jitter or reordering delivers
 * in the order it was given frames), so those go to a FIFO ring beside the heap:
 * each is appended only when no earlier than the ring's last, which keeps the ring
 * sorted by (time, order), and pop takes the smaller of the two heads. The order
 * is exactly the heap's; only the cost of the common case changes.
 */
export class EventQueue<T> {
  private time: number[] = [];
  private order: number[] = [];
  private item: T[] = [];
  private seq = 0;
  /** The in-order ring: capacity a power of two, head index and count. */
  private rTime: number[] = new Array<number>(64).fill(0);
  private rOrder: number[] = new Array<number>(64).fill(0);
  private rItem: (T | undefined)[] = new Array<T | undefined>(64).fill(undefined);
  private rHead = 0;
  private rCount = 0;

  get size(): number {
    return this.time.length + this.rCount;
  }

  peekTime(): number {
    const h = this.time.length > 0 ? this.time[0]! : Infinity;
    if (this.rCount === 0) return h;
    const r = this.rTime[this.rHead]!;
    return Math.min(r, h);
  }

  push(when: number, item: T): void {
    const o = this.seq++;
    const n = this.rCount;
    if (n === 0 || this.rTime[(this.rHead + n - 1) & (this.rTime.length - 1)]! <= when) {
      if (n === this.rTime.length) this.growRing();
      const i = (this.rHead + n) & (this.rTime.length - 1);
      this.rTime[i] = when;
      this.rOrder[i] = o;
      this.rItem[i] = item;
      this.rCount = n + 1;
      return;
    }
    let i = this.time.length;
    this.time.push(when);
    this.order.push(o);
    this.item.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.time[p]! < when || (this.time[p] === when && this.order[p]! < o)) break;
      this.time[i] = this.time[p]!;
      this.order[i] = this.order[p]!;
      this.item[i] = this.item[p]!;
      i = p;
    }
    this.time[i] = when;
    this.order[i] = o;
    this.item[i] = item;
  }

  /** Remove and return the earliest item (undefined when empty). */
  pop(): T | undefined {
    if (this.rCount > 0) {
      const h = this.rHead;
      const hn = this.time.length;
      if (
        hn === 0 ||
        this.rTime[h]! < this.time[0]! ||
        (this.rTime[h] === this.time[0] && this.rOrder[h]! < this.order[0]!)
      ) {
        const it = this.rItem[h]!;
        this.rItem[h] = undefined;
        this.rHead = (h + 1) & (this.rTime.length - 1);
        this.rCount--;
        return it;
      }
    }
    return this.heapPop();
  }

  private growRing(): void {
    const cap = this.rTime.length;
    const t = new Array<number>(cap * 2).fill(0);
    const o = new Array<number>(cap * 2).fill(0);
    const it = new Array<T | undefined>(cap * 2).fill(undefined);
    for (let k = 0; k < this.rCount; k++) {
      const j = (this.rHead + k) & (cap - 1);
      t[k] = this.rTime[j]!;
      o[k] = this.rOrder[j]!;
      it[k] = this.rItem[j];
    }
    this.rTime = t;
    this.rOrder = o;
    this.rItem = it;
    this.rHead = 0;
  }

  private heapPop(): T | undefined {
    const n = this.time.length;
    if (n === 0) return undefined;
    const top = this.item[0]!;
    const lt = this.time.pop()!;
    const lo = this.order.pop()!;
    const li = this.item.pop()!;
    if (n > 1) {
      let i = 0;
      const m = n - 1;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= m) break;
        if (
          c + 1 < m &&
          (this.time[c + 1]! < this.time[c]! ||
            (this.time[c + 1] === this.time[c] && this.order[c + 1]! < this.order[c]!))
        )
          c++;
        if (lt < this.time[c]! || (lt === this.time[c] && lo < this.order[c]!)) break;
        this.time[i] = this.time[c]!;
        this.order[i] = this.order[c]!;
        this.item[i] = this.item[c]!;
        i = c;
      }
      this.time[i] = lt;
      this.order[i] = lo;
      this.item[i] = li;
    }
    return top;
  }
}
