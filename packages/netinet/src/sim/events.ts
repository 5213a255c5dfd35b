/**
 * The simulator's event queue: a binary min-heap of (time, order) with the payload
 * kept in parallel arrays, so scheduling a frame delivery allocates nothing once
 * the arrays have grown. Ties run in scheduling order: a run replays exactly.
 */
export class EventQueue<T> {
  private time: number[] = [];
  private order: number[] = [];
  private item: T[] = [];
  private seq = 0;

  get size(): number { return this.time.length; }
  peekTime(): number { return this.time.length > 0 ? this.time[0]! : Infinity; }

  push(when: number, item: T): void {
    let i = this.time.length;
    const o = this.seq++;
    this.time.push(when); this.order.push(o); this.item.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.time[p]! < when || (this.time[p] === when && this.order[p]! < o)) break;
      this.time[i] = this.time[p]!; this.order[i] = this.order[p]!; this.item[i] = this.item[p]!;
      i = p;
    }
    this.time[i] = when; this.order[i] = o; this.item[i] = item;
  }

  /** Remove and return the earliest item (undefined when empty). */
  pop(): T | undefined {
    const n = this.time.length;
    if (n === 0) return undefined;
    const top = this.item[0]!;
    const lt = this.time.pop()!; const lo = this.order.pop()!; const li = this.item.pop()!;
    if (n > 1) {
      let i = 0;
      const m = n - 1;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && (this.time[c + 1]! < this.time[c]! || (this.time[c + 1] === this.time[c] && this.order[c + 1]! < this.order[c]!))) c++;
        if (lt < this.time[c]! || (lt === this.time[c] && lo < this.order[c]!)) break;
        this.time[i] = this.time[c]!; this.order[i] = this.order[c]!; this.item[i] = this.item[c]!;
        i = c;
      }
      this.time[i] = lt; this.order[i] = lo; this.item[i] = li;
    }
    return top;
  }
}
