/**
 * The work list of an app: fds whose readiness changed (engine upcalls are edge-triggered,
 * so an fd an app could not finish with stays on the list). Each fd is listed once.
 */

export class ReadySet {
  private cur: number[] = [];
  private next: number[] = [];
  private mark = new Uint8Array(1024);

  add(fd: number): void {
    if (fd >= this.mark.length) {
      const m = new Uint8Array(Math.max(fd + 1, this.mark.length * 2));
      m.set(this.mark);
      this.mark = m;
    }
    if (this.mark[fd] !== 0) return;
    this.mark[fd] = 1;
    this.next.push(fd);
  }

  get size(): number {
    return this.next.length;
  }

  /** Run `fn` on every listed fd; those it returns true for (not finished) stay listed. */
  drain(fn: (fd: number) => boolean): number {
    const list = this.next;
    if (list.length === 0) return 0;
    this.next = this.cur;
    this.cur = list;
    const n = list.length;
    for (let i = 0; i < n; i++) {
      const fd = list[i]!;
      this.mark[fd] = 0;
      if (fn(fd)) this.add(fd);
    }
    list.length = 0;
    return n;
  }
}
