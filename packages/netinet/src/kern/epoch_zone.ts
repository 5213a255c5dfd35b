/**
 * A free list whose frees take effect at the end of the current epoch (FreeBSD's UMA zone
 * with SMR / network-epoch freeing): an item freed now goes to limbo and is handed out
 * again only after reclaim(), which the engine calls when it is next entered from outside
 * (Engine.input, Engine.advance). Code still running on a freed object in the same call
 * chain — tcp_input after tcp_close, syncache_expand after its entry left the cache —
 * never sees it reused. Bounded: past `max` kept items the rest go to the garbage collector.
 */
export class EpochZone<T> {
  private readonly free: T[] = [];
  private readonly limbo: T[] = [];
  /** The fewest free items since the last trim(): those nobody needed (UMA's uzd_imin). */
  private imin = 0;

  /**
   * `clear` drops an item's references to what it served (its pcb...) when its free takes
   * effect, so a cached item keeps nothing else alive.
   */
  constructor(
    private readonly max: number,
    private readonly clear?: (item: T) => void,
  ) {}

  /** An item freed in an earlier epoch, or undefined (the caller makes a new one). */
  take(): T | undefined {
    const item = this.free.pop();
    if (this.free.length < this.imin) this.imin = this.free.length;
    return item;
  }

  /** uma_zfree (deferred): reusable after the next reclaim(). */
  release(item: T): void {
    if (this.free.length + this.limbo.length < this.max) this.limbo.push(item);
  }

  /** End of an epoch: what was freed in it may be handed out. */
  reclaim(): void {
    const l = this.limbo;
    for (let i = 0; i < l.length; i++) {
      this.clear?.(l[i]!);
      this.free.push(l[i]!);
    }
    l.length = 0;
  }

  /**
   * UMA's periodic trim (uma_timeout → bucket_cache_reclaim): the items that stayed free
   * through the whole interval since the last trim go to the garbage collector, so a zone
   * gives back what a burst left behind once the burst is over.
   */
  trim(): void {
    this.free.length -= Math.min(this.imin, this.free.length);
    this.imin = this.free.length;
  }

  /** Items kept (vmstat -z FREE), limbo included. */
  get size(): number {
    return this.free.length + this.limbo.length;
  }
}
