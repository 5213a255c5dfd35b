/**
 * The RSS indirection table (sys/net/rss_config.c rss_table[]): the low bits of the hash
 * pick one of up to RSS_MAXBUCKETS buckets (rss_getbucket: hash & rss_mask) and each
 * bucket names the worker (FreeBSD: the CPU) whose connection group owns it.
 */
import { RssError } from './errors.js';

/** RSS_MAXBITS / RSS_TABLE_MAXLEN: Microsoft limits indirection tables to 128 entries. */
export const RSS_MAXBITS = 7;
export const RSS_MAXBUCKETS = 1 << RSS_MAXBITS;

/**
 * rss_init()'s default bucket count for `workers` CPUs: rss_bits = fls(ncpus - 1) + 1,
 * i.e. at least twice the workers rounded up to a power of two, at most 128; one bucket
 * on a uniprocessor.
 */
export function rssDefaultBuckets(workers: number): number {
  checkWorkers(workers);
  if (workers <= 1) return 1;
  const bits = Math.min(32 - Math.clz32(workers - 1) + 1, RSS_MAXBITS);
  return 1 << bits;
}

/** rss_getbucket(): the bucket of a hash for a power-of-two bucket count. */
export function rssBucket(hash: number, buckets: number): number {
  return hash & (buckets - 1);
}

export class IndirectionTable {
  readonly buckets: number;
  readonly workers: number;
  /** rss_mask: buckets - 1. */
  readonly mask: number;
  /** bucket -> worker; exposed read-only for hot paths that index it directly. */
  readonly entries: Uint16Array;

  /**
   * A table of `buckets` entries (default: rssDefaultBuckets(workers)) filled round-robin
   * as rss_init() does: bucket i -> worker i % workers.
   */
  constructor(workers: number, buckets = rssDefaultBuckets(workers)) {
    checkWorkers(workers);
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > RSS_MAXBUCKETS || (buckets & (buckets - 1)) !== 0) {
      throw new RssError(`RSS bucket count must be a power of two from 1 to ${RSS_MAXBUCKETS}, got ${buckets}`);
    }
    this.workers = workers;
    this.buckets = buckets;
    this.mask = buckets - 1;
    this.entries = new Uint16Array(buckets);
    for (let i = 0; i < buckets; i++) this.entries[i] = i % workers;
  }

  /** rss_getbucket(). */
  bucketOf(hash: number): number {
    return hash & this.mask;
  }

  /** rss_hash2cpuid(): the worker whose group owns this hash. */
  workerOf(hash: number): number {
    return this.entries[hash & this.mask]!;
  }

  /** rss_getcpu(). */
  get(bucket: number): number {
    this.checkBucket(bucket);
    return this.entries[bucket]!;
  }

  /** Point a bucket at a worker (the rebalancing knob). */
  set(bucket: number, worker: number): void {
    this.checkBucket(bucket);
    if (!Number.isInteger(worker) || worker < 0 || worker >= this.workers) {
      throw new RssError(`RSS worker must be an integer from 0 to ${this.workers - 1}, got ${worker}`);
    }
    this.entries[bucket] = worker;
  }

  /** The buckets a worker owns, ascending. */
  bucketsOf(worker: number): number[] {
    const out: number[] = [];
    for (let b = 0; b < this.buckets; b++) if (this.entries[b] === worker) out.push(b);
    return out;
  }

  private checkBucket(bucket: number): void {
    if (!Number.isInteger(bucket) || bucket < 0 || bucket >= this.buckets) {
      throw new RssError(`RSS bucket must be an integer from 0 to ${this.buckets - 1}, got ${bucket}`);
    }
  }
}

/**
 * Whether a hash lands on `worker` under a bucket->worker mapping. Pure: active opens use
 * it to pick a local port whose return 4-tuple hashes to the opening worker (docs/architecture.md,
 * "Active opens hash home"), trying ports until it says yes.
 */
export function hashMapsToWorker(entries: ArrayLike<number>, hash: number, worker: number): boolean {
  return entries[hash & (entries.length - 1)] === worker;
}

function checkWorkers(workers: number): void {
  if (!Number.isInteger(workers) || workers < 1 || workers > 0xffff) {
    throw new RssError(`RSS worker count must be an integer from 1 to 65535, got ${workers}`);
  }
}
