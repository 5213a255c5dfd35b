/**
 * The TCP host cache (FreeBSD tcp_hostcache.c): per remote host, the path MTU learnt
 * from ICMP and the RTT, RTT variance, ssthresh and cwnd of connections that closed, so
 * new connections start from them.
 *
 * One cache serves the whole stack: it lives in one (Shared)ArrayBuffer that every group
 * worker's engine maps (docs/architecture.md, "Rings for the data plane": threads share
 * memory, not messages). As in FreeBSD it is a hash table of `hashsize` rows, each row a
 * most-recently-used-first list of at most `bucketlimit` entries under its own lock, with
 * at most `cachelimit` entries in all. An insert into a full row, or into any row of a
 * full cache, reuses that row's least recently used entry (tcps_hc_bucketoverflow); an
 * insert into an empty row of a full cache fails, and callers carry on without the cache
 * (the change notes: tcp_mss_update takes the offered MTU itself for that reason).
 * Entries count down `expire` seconds, `prune` seconds at a time, on a callout.
 *
 * The row locks are GroupLocks (netinet/in_pcbgroup.ts): a lock word per row, taken with
 * compare-exchange and Atomics.wait, held only while one entry is read or written. A
 * further lock guards the entry zone's free list.
 */
import { formatIP } from '@mcstack/wire';
import { SysError } from '../kern/errno.js';
import type { Kenv } from '../kern/kenv.js';
import { GROUP_LOCK_BYTES, GroupLock } from '../netinet/in_pcbgroup.js';
import { addrIsV4Mapped } from '../netinet/in_pcb.js';
import type { Tcpstat } from './var.js';

/** FreeBSD's defaults (tcp_hostcache.c). */
export const TCP_HOSTCACHE_HASHSIZE = 512;
export const TCP_HOSTCACHE_BUCKETLIMIT = 30;
export const TCP_HOSTCACHE_EXPIRE = 60 * 60;
export const TCP_HOSTCACHE_PRUNE = 5 * 60;

/** hc_metrics_lite: what tcp_hc_get returns and tcp_hc_update folds in (rtt, rttvar in µs). */
export interface HcMetricsLite {
  rmx_mtu: number;
  rmx_ssthresh: number;
  rmx_rtt: number;
  rmx_rttvar: number;
  rmx_cwnd: number;
  rmx_sendpipe: number;
  rmx_recvpipe: number;
}

export function newHcMetricsLite(): HcMetricsLite {
  return { rmx_mtu: 0, rmx_ssthresh: 0, rmx_rtt: 0, rmx_rttvar: 0, rmx_cwnd: 0, rmx_sendpipe: 0, rmx_recvpipe: 0 };
}

/** The loader tunables that size the cache (read once, when the cache is made). */
export interface HostcacheTunables {
  hashsize?: number;
  bucketlimit?: number;
  cachelimit?: number;
}

/** tcp_hc_init's TUNABLE_INT_FETCHes. */
export function hostcacheTunables(kenv: Kenv): HostcacheTunables {
  return {
    hashsize: kenv.fetchInt('net.inet.tcp.hostcache.hashsize'),
    bucketlimit: kenv.fetchInt('net.inet.tcp.hostcache.bucketlimit'),
    cachelimit: kenv.fetchInt('net.inet.tcp.hostcache.cachelimit'),
  };
}

/* Header words (Int32). */
const H_MAGIC = 0;
const H_HASHSIZE = 1;
const H_BUCKETLIMIT = 2;
const H_CACHELIMIT = 3;
const H_COUNT = 4;
const H_EXPIRE = 5;
const H_PRUNE = 6;
const H_PURGEALL = 7;
const H_ENABLE = 8;
const H_FREE = 9; // free list head (entry index + 1, 0: empty)
const H_BUMP = 10; // entries ever taken from the pool
const H_RUNS = 11; // prune runs so far (claimPrune)
const HEADER_WORDS = 16;
const ZONE_LOCK_BYTE = HEADER_WORDS * 4;
const MAGIC = 0x68636331; // "hcc1"

/* Row: a GroupLock, then its words. */
const ROW_BYTES = GROUP_LOCK_BYTES + 16;
const R_LENGTH = 0;
const R_HEAD = 1; // entry index + 1
const R_TAIL = 2;

/* Entry words. */
const E_NEXT = 0;
const E_PREV = 1;
const E_AF = 2; // 4 or 6
const E_ADDR = 3; // four words, the 16-byte in_conninfo address
const E_MTU = 7;
const E_SSTHRESH = 8;
const E_RTT = 9;
const E_RTTVAR = 10;
const E_CWND = 11;
const E_SENDPIPE = 12;
const E_RECVPIPE = 13;
const E_HITS = 14;
const E_UPDATES = 15;
const E_EXPIRE = 16;
const ENTRY_WORDS = 17;
/** Bytes per entry (vmstat -z SIZE). */
export const HC_ENTRY_BYTES = ENTRY_WORDS * 4;

function geometry(t: HostcacheTunables): { hashsize: number; bucketlimit: number; cachelimit: number } {
  let hashsize = t.hashsize ?? TCP_HOSTCACHE_HASHSIZE;
  // tcp_hc_init: a hash size that is not a power of 2 falls back to the default.
  if (!Number.isInteger(hashsize) || hashsize < 1 || (hashsize & (hashsize - 1)) !== 0)
    hashsize = TCP_HOSTCACHE_HASHSIZE;
  const bucketlimit = t.bucketlimit ?? TCP_HOSTCACHE_BUCKETLIMIT;
  if (!Number.isInteger(bucketlimit) || bucketlimit < 1)
    throw new SysError('EINVAL', `hostcache bucketlimit must be a positive integer, got ${bucketlimit}`, 'hostcache');
  const max = hashsize * bucketlimit;
  let cachelimit = t.cachelimit ?? max;
  if (!Number.isInteger(cachelimit) || cachelimit < 0)
    throw new SysError('EINVAL', `hostcache cachelimit must be a non-negative integer, got ${cachelimit}`, 'hostcache');
  if (cachelimit > max) cachelimit = max;
  return { hashsize, bucketlimit, cachelimit };
}

/**
 * tcp_hc_init's allocation: the cache's memory, sized by the tunables, with FreeBSD's
 * defaults for the rest. Shared (one cache for a stack's workers) or private (one engine).
 */
export function hostcacheCreate(t?: HostcacheTunables, shared?: true): SharedArrayBuffer;
export function hostcacheCreate(t: HostcacheTunables, shared: false): ArrayBuffer;
export function hostcacheCreate(t: HostcacheTunables = {}, shared = true): SharedArrayBuffer | ArrayBuffer {
  const g = geometry(t);
  const bytes = ZONE_LOCK_BYTE + GROUP_LOCK_BYTES + g.hashsize * ROW_BYTES + g.cachelimit * ENTRY_WORDS * 4;
  const buf = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const w = new Int32Array(buf, 0, HEADER_WORDS);
  w[H_HASHSIZE] = g.hashsize;
  w[H_BUCKETLIMIT] = g.bucketlimit;
  w[H_CACHELIMIT] = g.cachelimit;
  w[H_EXPIRE] = TCP_HOSTCACHE_EXPIRE;
  w[H_PRUNE] = TCP_HOSTCACHE_PRUNE;
  w[H_ENABLE] = 1;
  w[H_MAGIC] = MAGIC;
  return buf;
}

/** A 32-bit word of `a` at `o` as a little-endian CPU loads it. */
function le32(a: Uint8Array, o: number): number {
  return (a[o]! | (a[o + 1]! << 8) | (a[o + 2]! << 16) | (a[o + 3]! << 24)) >>> 0;
}

/** One row of `sysctl net.inet.tcp.hostcache.list` as data. */
export interface HcEntry {
  addr: Uint8Array;
  mtu: number;
  ssthresh: number;
  rtt: number;
  rttvar: number;
  cwnd: number;
  sendpipe: number;
  recvpipe: number;
  hits: number;
  updates: number;
  expire: number;
}

export class TcpHostcache {
  readonly buf: SharedArrayBuffer | ArrayBuffer;
  readonly hashsize: number;
  readonly bucketlimit: number;
  readonly cachelimit: number;
  private readonly hashmask: number;
  private readonly h: Int32Array;
  private readonly rows: Int32Array[];
  private readonly locks: RowLock[];
  private readonly zoneLock: RowLock;
  private readonly e: Int32Array;
  private readonly eBase: number;
  /** The row entry() left locked. */
  private held = 0;
  /**
   * The RW knobs (net.inet.tcp.hostcache.enable, expire, prune, purge), each a word of
   * the shared header, so one value holds for every worker.
   */
  readonly knobs: { enable: number; expire: number; prune: number; purge: number };

  constructor(
    buf: SharedArrayBuffer | ArrayBuffer,
    private readonly stat: Tcpstat,
  ) {
    const h = new Int32Array(buf, 0, HEADER_WORDS);
    if (h[H_MAGIC] !== MAGIC) throw new SysError('EINVAL', 'not a host cache (hostcacheCreate)', 'hostcache');
    this.buf = buf;
    this.h = h;
    this.hashsize = h[H_HASHSIZE]!;
    this.bucketlimit = h[H_BUCKETLIMIT]!;
    this.cachelimit = h[H_CACHELIMIT]!;
    this.hashmask = this.hashsize - 1;
    // A private cache has no other thread to exclude.
    const lockAt = (off: number): RowLock => (buf instanceof SharedArrayBuffer ? new GroupLock(buf, off) : NO_LOCK);
    this.zoneLock = lockAt(ZONE_LOCK_BYTE);
    const rows0 = ZONE_LOCK_BYTE + GROUP_LOCK_BYTES;
    this.rows = [];
    this.locks = [];
    for (let i = 0; i < this.hashsize; i++) {
      const off = rows0 + i * ROW_BYTES;
      this.locks.push(lockAt(off));
      this.rows.push(new Int32Array(buf, off + GROUP_LOCK_BYTES, 4));
    }
    this.eBase = rows0 + this.hashsize * ROW_BYTES;
    this.e = new Int32Array(buf, this.eBase, this.cachelimit * ENTRY_WORDS);
    const knobs = {} as { enable: number; expire: number; prune: number; purge: number };
    for (const [name, word] of [
      ['enable', H_ENABLE],
      ['expire', H_EXPIRE],
      ['prune', H_PRUNE],
      ['purge', H_PURGEALL],
    ] as const)
      Object.defineProperty(knobs, name, {
        get: () => Atomics.load(h, word),
        set: (v: number) => Atomics.store(h, word, v),
        enumerable: true,
      });
    this.knobs = knobs;
  }

  /** net.inet.tcp.hostcache.count */
  get count(): number {
    return Atomics.load(this.h, H_COUNT);
  }
  /**
   * HOSTCACHE_HASH / HOSTCACHE_HASH6 over the address words as an amd64 kernel reads them
   * (s_addr in network order loaded little-endian), so rows fill as FreeBSD's do.
   */
  private hash(addr: Uint8Array): number {
    if (addrIsV4Mapped(addr)) {
      const a = le32(addr, 12);
      return (a ^ (a >>> 7) ^ (a >>> 17)) & this.hashmask;
    }
    return (le32(addr, 0) ^ le32(addr, 4) ^ le32(addr, 8) ^ le32(addr, 12)) & this.hashmask;
  }

  private word(addr: Uint8Array, i: number): number {
    const o = i * 4;
    return (addr[o]! << 24) | (addr[o + 1]! << 16) | (addr[o + 2]! << 8) | addr[o + 3]!;
  }

  /** tcp_hc_lookup with the row locked by the caller: the entry's word offset, or -1. */
  private lookup(row: Int32Array, addr: Uint8Array): number {
    const e = this.e;
    const a0 = this.word(addr, 0);
    const a1 = this.word(addr, 1);
    const a2 = this.word(addr, 2);
    const a3 = this.word(addr, 3);
    for (let i = row[R_HEAD]!; i !== 0; i = e[(i - 1) * ENTRY_WORDS + E_NEXT]!) {
      const o = (i - 1) * ENTRY_WORDS;
      if (e[o + E_ADDR + 3] === a3 && e[o + E_ADDR + 2] === a2 && e[o + E_ADDR + 1] === a1 && e[o + E_ADDR] === a0)
        return o;
    }
    return -1;
  }

  private unlink(row: Int32Array, o: number): void {
    const e = this.e;
    const next = e[o + E_NEXT]!;
    const prev = e[o + E_PREV]!;
    if (prev !== 0) e[(prev - 1) * ENTRY_WORDS + E_NEXT] = next;
    else row[R_HEAD] = next;
    if (next !== 0) e[(next - 1) * ENTRY_WORDS + E_PREV] = prev;
    else row[R_TAIL] = prev;
  }

  private linkHead(row: Int32Array, o: number): void {
    const e = this.e;
    const idx = o / ENTRY_WORDS + 1;
    const head = row[R_HEAD]!;
    e[o + E_PREV] = 0;
    e[o + E_NEXT] = head;
    if (head !== 0) e[(head - 1) * ENTRY_WORDS + E_PREV] = idx;
    else row[R_TAIL] = idx;
    row[R_HEAD] = idx;
  }

  /** The entry zone (uma_zalloc with the cache limit as the zone's maximum): an offset or -1. */
  private zalloc(): number {
    this.zoneLock.lock();
    try {
      const f = this.h[H_FREE]!;
      if (f !== 0) {
        const o = (f - 1) * ENTRY_WORDS;
        this.h[H_FREE] = this.e[o + E_NEXT]!;
        return o;
      }
      const n = this.h[H_BUMP]!;
      if (n >= this.cachelimit) return -1;
      this.h[H_BUMP] = n + 1;
      return n * ENTRY_WORDS;
    } finally {
      this.zoneLock.unlock();
    }
  }

  private zfree(o: number): void {
    this.zoneLock.lock();
    this.e[o + E_NEXT] = this.h[H_FREE]!;
    this.e[o + E_AF] = 0;
    this.h[H_FREE] = o / ENTRY_WORDS + 1;
    this.zoneLock.unlock();
  }

  /** tcp_hc_insert with the row locked: a fresh entry at the row's head, or -1 when none can be had. */
  private insert(row: Int32Array, addr: Uint8Array): number {
    let o: number;
    if (row[R_LENGTH]! >= this.bucketlimit || Atomics.load(this.h, H_COUNT) >= this.cachelimit) {
      // Reuse the row's least recently used entry; an empty row has none to give.
      const tail = row[R_TAIL]!;
      if (tail === 0) return -1;
      o = (tail - 1) * ENTRY_WORDS;
      this.unlink(row, o);
      row[R_LENGTH]!--;
      Atomics.sub(this.h, H_COUNT, 1);
      this.stat.tcps_hc_bucketoverflow++;
    } else {
      o = this.zalloc();
      if (o < 0) return -1;
    }
    const e = this.e;
    e.fill(0, o, o + ENTRY_WORDS);
    e[o + E_AF] = addrIsV4Mapped(addr) ? 4 : 6;
    for (let i = 0; i < 4; i++) e[o + E_ADDR + i] = this.word(addr, i);
    e[o + E_EXPIRE] = this.knobs.expire;
    this.linkHead(row, o);
    row[R_LENGTH]!++;
    Atomics.add(this.h, H_COUNT, 1);
    this.stat.tcps_hc_added++;
    return o;
  }

  /** tcp_hc_get: the cached metrics for `addr` into `out`; false (and zeros) when there are none. */
  get(addr: Uint8Array, out: HcMetricsLite): boolean {
    const r = this.knobs.enable ? this.hash(addr) : -1;
    if (r < 0) {
      Object.assign(out, ZERO);
      return false;
    }
    const row = this.rows[r]!;
    const lock = this.locks[r]!;
    lock.lock();
    const o = this.lookup(row, addr);
    if (o < 0) {
      lock.unlock();
      Object.assign(out, ZERO);
      return false;
    }
    const e = this.e;
    e[o + E_HITS]!++;
    e[o + E_EXPIRE] = this.knobs.expire;
    out.rmx_mtu = e[o + E_MTU]! >>> 0;
    out.rmx_ssthresh = e[o + E_SSTHRESH]! >>> 0;
    out.rmx_rtt = e[o + E_RTT]! >>> 0;
    out.rmx_rttvar = e[o + E_RTTVAR]! >>> 0;
    out.rmx_cwnd = e[o + E_CWND]! >>> 0;
    out.rmx_sendpipe = e[o + E_SENDPIPE]! >>> 0;
    out.rmx_recvpipe = e[o + E_RECVPIPE]! >>> 0;
    lock.unlock();
    return true;
  }

  /** tcp_hc_getmtu: the path MTU learnt for `addr`, 0 when none. */
  getmtu(addr: Uint8Array): number {
    if (!this.knobs.enable) return 0;
    const r = this.hash(addr);
    const lock = this.locks[r]!;
    lock.lock();
    const o = this.lookup(this.rows[r]!, addr);
    let mtu = 0;
    if (o >= 0) {
      this.e[o + E_HITS]!++;
      this.e[o + E_EXPIRE] = this.knobs.expire;
      mtu = this.e[o + E_MTU]! >>> 0;
    }
    lock.unlock();
    return mtu;
  }

  /**
   * The entry for `addr` (found or inserted) with row `this.held` locked, or -1 with
   * nothing locked.
   */
  private entry(addr: Uint8Array): number {
    if (!this.knobs.enable) return -1;
    const r = this.hash(addr);
    const row = this.rows[r]!;
    this.locks[r]!.lock();
    let o = this.lookup(row, addr);
    if (o < 0) o = this.insert(row, addr);
    if (o < 0) {
      this.locks[r]!.unlock();
      return -1;
    }
    this.held = r;
    this.e[o + E_UPDATES]!++;
    this.e[o + E_EXPIRE] = this.knobs.expire;
    return o;
  }

  /** Move the updated entry to its row's head and let the row go. */
  private done(o: number): void {
    const r = this.held;
    const row = this.rows[r]!;
    this.unlink(row, o);
    this.linkHead(row, o);
    this.locks[r]!.unlock();
  }

  /** tcp_hc_updatemtu: ICMP "fragmentation needed" / "packet too big" for `addr`. False when the cache had no room. */
  updatemtu(addr: Uint8Array, mtu: number): boolean {
    const o = this.entry(addr);
    if (o < 0) return false;
    this.e[o + E_MTU] = mtu;
    this.done(o);
    return true;
  }

  /** One metric as the mean of the cached value and the new one (the new one alone at first). */
  private avg(w: number, v: number): void {
    const old = this.e[w]! >>> 0;
    this.e[w] = old === 0 ? v : Math.floor((old + v) / 2);
  }

  /** tcp_hc_update: fold a closing connection's metrics in. */
  update(addr: Uint8Array, m: HcMetricsLite): void {
    const o = this.entry(addr);
    if (o < 0) return;
    const st = this.stat;
    if (m.rmx_rtt) {
      this.avg(o + E_RTT, m.rmx_rtt);
      st.tcps_cachedrtt++;
    }
    if (m.rmx_rttvar) {
      this.avg(o + E_RTTVAR, m.rmx_rttvar);
      st.tcps_cachedrttvar++;
    }
    if (m.rmx_ssthresh) {
      this.avg(o + E_SSTHRESH, m.rmx_ssthresh);
      st.tcps_cachedssthresh++;
    }
    if (m.rmx_cwnd) this.avg(o + E_CWND, m.rmx_cwnd);
    if (m.rmx_sendpipe) this.avg(o + E_SENDPIPE, m.rmx_sendpipe);
    if (m.rmx_recvpipe) this.avg(o + E_RECVPIPE, m.rmx_recvpipe);
    this.done(o);
  }

  /** tcp_hc_purge_internal: drop every entry (`all`) or those expired, counting the rest down by `prune`. */
  purge(all: boolean): void {
    const e = this.e;
    const prune = this.knobs.prune;
    for (let r = 0; r < this.hashsize; r++) {
      const row = this.rows[r]!;
      if (row[R_HEAD] === 0) continue;
      this.locks[r]!.lock();
      for (let i = row[R_HEAD]!; i !== 0; ) {
        const o = (i - 1) * ENTRY_WORDS;
        i = e[o + E_NEXT]!;
        if (all || e[o + E_EXPIRE]! <= 0) {
          this.unlink(row, o);
          row[R_LENGTH]!--;
          Atomics.sub(this.h, H_COUNT, 1);
          this.zfree(o);
        } else {
          e[o + E_EXPIRE] = e[o + E_EXPIRE]! - prune;
        }
      }
      this.locks[r]!.unlock();
    }
  }

  /**
   * Claim prune run `n` (the n-th period the calling engine has seen): true, and the run
   * is the caller's, when no engine has run it yet.
   */
  claimPrune(n: number): boolean {
    const cur = Atomics.load(this.h, H_RUNS);
    return cur < n && Atomics.compareExchange(this.h, H_RUNS, cur, n) === cur;
  }
  /** Prune runs so far, by any engine. */
  get pruneRuns(): number {
    return Atomics.load(this.h, H_RUNS);
  }

  /** tcp_hc_purge: the prune callout's run (a pending `purge` request expires everything). */
  pruneRun(): void {
    let all = false;
    if (Atomics.exchange(this.h, H_PURGEALL, 0) !== 0) all = true;
    this.purge(all);
  }

  /** Every entry, row by row (each row read under its lock). */
  entries(): HcEntry[] {
    const out: HcEntry[] = [];
    const e = this.e;
    for (let r = 0; r < this.hashsize; r++) {
      const row = this.rows[r]!;
      if (row[R_HEAD] === 0) continue;
      this.locks[r]!.lock();
      for (let i = row[R_HEAD]!; i !== 0; i = e[(i - 1) * ENTRY_WORDS + E_NEXT]!) {
        const o = (i - 1) * ENTRY_WORDS;
        const addr = new Uint8Array(16);
        for (let k = 0; k < 4; k++) {
          const v = e[o + E_ADDR + k]!;
          addr[k * 4] = v >>> 24;
          addr[k * 4 + 1] = v >>> 16;
          addr[k * 4 + 2] = v >>> 8;
          addr[k * 4 + 3] = v;
        }
        out.push({
          addr,
          mtu: e[o + E_MTU]! >>> 0,
          ssthresh: e[o + E_SSTHRESH]! >>> 0,
          rtt: e[o + E_RTT]! >>> 0,
          rttvar: e[o + E_RTTVAR]! >>> 0,
          cwnd: e[o + E_CWND]! >>> 0,
          sendpipe: e[o + E_SENDPIPE]! >>> 0,
          recvpipe: e[o + E_RECVPIPE]! >>> 0,
          hits: e[o + E_HITS]! >>> 0,
          updates: e[o + E_UPDATES]! >>> 0,
          expire: e[o + E_EXPIRE]!,
        });
      }
      this.locks[r]!.unlock();
    }
    return out;
  }
}

/** sysctl_tcp_hc_list: FreeBSD's table (RTT and variance in ms, EXP in seconds left). */
export function hcList(hc: TcpHostcache): string {
  const msec = (us: number) => `${Math.floor((us + 500) / 1000)}ms`;
  const pad = (v: string | number, n: number) => String(v).padStart(n);
  let s = '\nIP address        MTU  SSTRESH      RTT   RTTVAR     CWND SENDPIPE RECVPIPE HITS  UPD  EXP\n';
  for (const x of hc.entries()) {
    s +=
      `${formatIP(addrIsV4Mapped(x.addr) ? x.addr.subarray(12) : x.addr).padEnd(15)} ${pad(x.mtu, 5)} ${pad(x.ssthresh, 8)} ` +
      `${pad(msec(x.rtt), 8)} ${pad(msec(x.rttvar), 8)} ${pad(x.cwnd, 8)} ${pad(x.sendpipe, 8)} ${pad(x.recvpipe, 8)} ` +
      `${pad(x.hits, 4)} ${pad(x.updates, 4)} ${pad(x.expire, 4)}\n`;
  }
  return s;
}

const ZERO: Readonly<HcMetricsLite> = newHcMetricsLite();

/** THC_LOCK / THC_UNLOCK. */
interface RowLock {
  lock(): void;
  unlock(): void;
}
const NO_LOCK: RowLock = { lock() {}, unlock() {} };
