/**
 * Named zones for the engine's objects, as FreeBSD's UMA (vm/uma.h): each kind of object
 * (socket, tcp_inpcb, tcpcb, syncache, tcp_reass, ...) is allocated through its zone, which
 * counts what `vmstat -z` shows — items in use, items kept free for reuse, allocations
 * asked for and allocations refused — and enforces the zone's limit (uma_zone_set_max):
 * an allocation at the limit fails (the caller returns FreeBSD's errno for it, ENOBUFS for
 * a socket) and is counted, never a crash. A zone may keep freed items for reuse with an
 * epoch-deferred free list (kern/epoch_zone.ts). One registry per engine (a vnet's zones).
 */
import { EpochZone } from './epoch_zone.js';
import { SysError } from './errno.js';
import { loaderTunable, type SysctlTree } from './sysctl.js';

export interface UmaZoneStats {
  name: string;
  /** Bytes per item (the item's fixed storage, see itemSize). */
  size: number;
  /** Most items in use at once, 0 = no limit. */
  limit: number;
  used: number;
  free: number;
  requests: number;
  fail: number;
}

/** uma_zcreate's arguments that matter here. */
export interface UmaZoneOptions<T> {
  /** uma_zone_set_max: 0 is no limit. */
  limit?: number;
  /** Freed items kept for reuse (0: none, the garbage collector takes them). */
  keep?: number;
  /** uma_fini's role: drop a kept item's references to what it served once its free takes effect. */
  fini?: (item: T) => void;
}

export class UmaZone<T = unknown> {
  /** Items allocated and not yet freed. */
  used = 0;
  /** uz_allocs: successful allocations so far. */
  requests = 0;
  /** uz_fails: allocations refused at the limit. */
  fail = 0;
  /** uma_zone_set_max: 0 is no limit. */
  limit: number;
  /** Freed items kept for reuse (absent: the garbage collector takes them). */
  private readonly cache: EpochZone<T> | null;
  /** The stack's count of this zone's items in every worker (shared memory), when shared. */
  private stack: Int32Array | null = null;
  private stackIdx = 0;

  constructor(
    readonly name: string,
    /** Bytes per item. */
    public size: number,
    opts: UmaZoneOptions<T> = {},
  ) {
    this.limit = opts.limit ?? 0;
    this.cache = opts.keep ? new EpochZone<T>(opts.keep, opts.fini) : null;
  }

  /** uma_zalloc (M_NOWAIT): false at the limit (counted in `fail`), else one more item in use. */
  alloc(): boolean {
    const st = this.stack;
    if (st !== null) {
      // The limit is the stack's: every worker's items count against it.
      const n = Atomics.add(st, this.stackIdx, 1) + 1;
      if (this.limit > 0 && n > this.limit) {
        Atomics.sub(st, this.stackIdx, 1);
        this.fail++;
        return false;
      }
    } else if (this.limit > 0 && this.used >= this.limit) {
      this.fail++;
      return false;
    }
    this.used++;
    this.requests++;
    return true;
  }

  /** Count this zone's items for the limit in a word every worker of the stack shares. */
  shareCount(words: Int32Array, idx: number): void {
    this.stack = words;
    this.stackIdx = idx;
    Atomics.add(words, idx, this.used);
  }

  /** After alloc(): an item freed in an earlier epoch, or undefined (the caller makes one). */
  take(): T | undefined {
    return this.cache?.take();
  }

  /** uma_zfree: one item fewer in use; `item` is kept for reuse when the zone keeps any. */
  free(item?: T): void {
    this.used--;
    if (this.stack !== null) Atomics.sub(this.stack, this.stackIdx, 1);
    if (item !== undefined) this.cache?.release(item);
  }

  /** End of an epoch (Engine.input, Engine.advance): items freed in it may be handed out. */
  reclaim(): void {
    this.cache?.reclaim();
  }

  /** UMA's periodic trim: kept items nobody took since the last trim go to the garbage collector. */
  trim(): void {
    this.cache?.trim();
  }

  /** Items kept free. */
  get kept(): number {
    return this.cache?.size ?? 0;
  }

  stats(): UmaZoneStats {
    const { name, size, limit, used, requests, fail } = this;
    return { name, size, limit, used, free: this.kept, requests, fail };
  }
}

/** The zones whose limit is the stack's, counted across its workers (a vnet's zones in FreeBSD). */
const STACK_ZONES = ['socket', 'syncache'] as const;
/** Bytes of the shared memory UmaRegistry.share takes: one word per stack-limited zone. */
export const UMA_SHARED_BYTES = 4 * STACK_ZONES.length;

/** The zones of one engine, in creation order (vmstat -z lists them so). */
export class UmaRegistry {
  private readonly zones: UmaZone<never>[] = [];
  /** Zones whose lines another allocator reports (the socket-buffer rings). */
  private readonly reporters: (() => UmaZoneStats[])[] = [];

  /** uma_zcreate. */
  create<T>(name: string, size: number, opts: UmaZoneOptions<T> = {}): UmaZone<T> {
    const z = new UmaZone<T>(name, size, opts);
    this.zones.push(z as unknown as UmaZone<never>);
    return z;
  }

  /** Lines for zones an allocator of its own keeps (e.g. kern/sockbuf_zone.ts). */
  report(fn: () => UmaZoneStats[]): void {
    this.reporters.push(fn);
  }

  /**
   * One stack, several workers' engines: the socket and syncache zones' limits
   * (kern.ipc.maxsockets, net.inet.tcp.syncache.cachelimit) hold for the stack as a whole,
   * each worker counting its items in `sab` (UMA_SHARED_BYTES, the same for every worker).
   */
  share(sab: SharedArrayBuffer): void {
    const words = new Int32Array(sab, 0, STACK_ZONES.length);
    for (let i = 0; i < STACK_ZONES.length; i++) this.get(STACK_ZONES[i]!)?.shareCount(words, i);
  }

  get(name: string): UmaZone<never> | undefined {
    return this.zones.find((z) => z.name === name);
  }

  reclaim(): void {
    for (let i = 0; i < this.zones.length; i++) this.zones[i]!.reclaim();
  }

  /** uma_timeout: every zone gives back what stayed unused since the last trim. */
  trim(): void {
    for (let i = 0; i < this.zones.length; i++) this.zones[i]!.trim();
  }

  /** vm.zone_stats: every zone's line. */
  stats(): UmaZoneStats[] {
    return [...this.zones.map((z) => z.stats()), ...this.reporters.flatMap((f) => f())];
  }
}

/**
 * The bytes an item's own storage takes on V8's heap: a header (map, properties,
 * elements: 3 words) and one word per field, plus the bytes of the typed arrays and
 * fixed arrays it owns directly. Measured once per zone from a sample item; it is the
 * item's shallow size, not counting what its fields point to elsewhere.
 */
export function itemSize(sample: object): number {
  let n = 3 * 8;
  for (const v of Object.values(sample)) {
    n += 8;
    if (ArrayBuffer.isView(v)) n += v.byteLength;
    else if (Array.isArray(v)) n += 16 + v.length * 8;
  }
  return n;
}

const MAXSOCKETS = loaderTunable('kern.ipc.maxsockets');

/**
 * kern.ipc.maxsockets (uipc_socket.c sysctl_maxsockets): the socket zone's limit, any value
 * as a loader tunable, at run time only raised (a lower value is EINVAL) as FreeBSD's
 * handler allows.
 */
export function maxsocketsSysctl<T>(tree: SysctlTree, zone: UmaZone<T>): void {
  tree.add({
    name: MAXSOCKETS,
    kind: 'int',
    description: 'Maximum number of sockets available',
    get: () => zone.limit,
    set: (v) => {
      if (typeof v !== 'number' || v < zone.limit)
        throw new SysError('EINVAL', `kern.ipc.maxsockets may only be raised (now ${zone.limit})`, 'sysctl');
      zone.limit = v;
    },
    load: (v) => {
      zone.limit = v;
    },
  });
}
