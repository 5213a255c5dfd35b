/**
 * The synthetic peer: one thread that plays the far end of a stack's in-memory multi-queue
 * link as a stateless TCP request/response server (responder.ts), so a study can measure
 * one stack without a second stack sharing its cores. Its own CPU is read from the OS by
 * thread id and reported apart from the stack's.
 *
 *   const peer = SyntheticPeer.create({ addr: '10.0.0.2', mac: '02:00:00:00:00:0b', port: 5001 });
 *   peer.attach(stack);            // before either starts: the stack's cxgbe0 now leads to the peer
 *   await peer.start(); await stack.start();
 *   peer.stats()                   // counters, the peer thread's CPU (ns)
 *   await stack.stop(); await peer.stop();
 */
import { EventEmitter } from 'node:events';
import { Piscina } from 'piscina';
import { SysError } from '@mcstack/netinet';
import { SeededRandom } from '@mcstack/netinet';
import { sipKeyFrom } from '@mcstack/netinet';
import { parseIP } from '@mcstack/wire';
import {
  Doorbell,
  taskCpuNs,
  workersLive,
  rebuildError,
  Stack,
  parseMac,
  type ErrorInfo,
  type LinkPeer,
} from '@mcstack/runtime';
import { PEER_STAT_KEYS, PEER_STATS_BYTES, type PeerTask, type PeerStatKey } from './task.js';

export interface SyntheticPeerOptions {
  /** The peer's IPv4 address (a prefix length is allowed and ignored). */
  addr: string;
  mac?: string;
  /** The port it serves; segments to others are answered with RST. */
  port: number;
  /** Key of its ISN hash (16 bytes); by default drawn from `seed`. */
  key?: Uint8Array;
  /** Seed of the default key (default 1): runs repeat, as the stacks' seeds make theirs. */
  seed?: number;
}

export type SyntheticPeerStats = Record<PeerStatKey, number> & {
  /** The peer thread's CPU time (ns) from the OS; NaN where per-thread CPU is unavailable. */
  cpuNs: number;
};

const DEFAULT_PEER_MAC = '02:00:00:00:00:fe';

/** Emits 'worker-error' (Error) when its thread fails, as a Stack does for a group worker. */
export class SyntheticPeer extends EventEmitter implements LinkPeer {
  readonly workers = 1;
  readonly mac: Uint8Array;
  readonly addrs: readonly string[];
  readonly bells: readonly Doorbell[] = [new Doorbell()];
  /** One bucket: every frame the stack sends goes to the peer's one queue. */
  readonly indirectionSab = new SharedArrayBuffer(2);
  private readonly port: number;
  private readonly key: Uint8Array;
  private readonly statsSab = new SharedArrayBuffer(PEER_STATS_BYTES);
  private readonly counters = new Float64Array(this.statsSab);
  /** The peer thread's id once its loop runs (0 before). */
  private readonly tid = new Int32Array(new SharedArrayBuffer(4));
  private stack: Stack | null = null;
  private rings: { rx: SharedArrayBuffer[]; tx: SharedArrayBuffer[] } | null = null;
  private pool: Piscina | null = null;
  /** The peer's task: settles when its loop ends. */
  private task: Promise<void> = Promise.resolve();
  private stopping = false;
  private err: Error | null = null;

  private constructor(o: SyntheticPeerOptions) {
    super();
    const ip = parseIP(o.addr.split('/')[0]!);
    if (ip === null || ip.length !== 4)
      throw new SysError('EINVAL', `synthetic peer: an IPv4 address, got ${JSON.stringify(o.addr)}`);
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535)
      throw new SysError('EINVAL', `synthetic peer: port ${o.port}`);
    if (o.key !== undefined && o.key.length !== 16) throw new SysError('EINVAL', 'synthetic peer: key of 16 bytes');
    this.addrs = [o.addr.split('/')[0]!];
    this.mac = parseMac(o.mac ?? DEFAULT_PEER_MAC);
    this.port = o.port;
    this.key = o.key ?? sipKeyFrom(new SeededRandom(o.seed ?? 1));
  }

  static create(o: SyntheticPeerOptions): SyntheticPeer {
    return new SyntheticPeer(o);
  }

  /** Make this peer the far end of `stack`'s cxgbe0 (before either starts). */
  attach(stack: Stack): void {
    if (this.stack !== null) throw new SysError('EISCONN', 'synthetic peer: already attached');
    const m = Stack.join(stack, this);
    this.stack = stack;
    this.rings = { rx: m.aToB.map((row) => row[0]!), tx: m.bToA[0]! };
  }

  /** Start the peer's thread; resolves when it runs. */
  async start(): Promise<void> {
    const s = this.stack;
    if (s === null || this.rings === null) throw new SysError('ENOTCONN', 'synthetic peer: attach it to a stack first');
    if (this.pool !== null) throw new SysError('EALREADY', 'synthetic peer: already started');
    const task: PeerTask = {
      rx: this.rings.rx,
      tx: this.rings.tx,
      bells: s.bells.map((b) => b.sab),
      indirection: s.indirectionSab,
      strategy: s.strategy,
      bell: this.bells[0]!.sab,
      stats: this.statsSab,
      ready: this.tid.buffer as SharedArrayBuffer,
      addr: [...parseIP(this.addrs[0]!)!],
      mac: [...this.mac],
      port: this.port,
      key: [...this.key],
    };
    const pool = new Piscina({
      filename: new URL('./worker.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: 1,
      atomics: 'disabled',
      recordTiming: false,
    });
    this.pool = pool;
    // A busy thread like a group worker: the stack's workers spin only while all fit the cores.
    workersLive(1);
    this.task = pool
      .run(task)
      .then(
        (res: { error?: ErrorInfo }) => {
          if (res.error !== undefined) this.failed(rebuildError(res.error, 0));
        },
        (err: unknown) => {
          this.failed(
            new SysError(
              'MCSTACK_WORKER_EXIT',
              `synthetic peer: its thread ended: ${err instanceof Error ? err.message : String(err)}`,
            ),
          );
        },
      )
      .finally(() => {
        workersLive(-1);
        Atomics.notify(this.tid, 0);
      });
    // Running once it has published its tid (or ended first: the notify above).
    const running = (
      Atomics as unknown as {
        waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<unknown> };
      }
    ).waitAsync(this.tid, 0, 0);
    if (running.async) await running.value;
    if (this.err !== null) throw this.err;
  }

  /** The error the peer's thread ended with, if it failed. */
  /** The peer thread's kernel thread id once it runs (0 before): to read its CPU or pin it. */
  get threadId(): number {
    return Atomics.load(this.tid, 0);
  }

  get error(): Error | null {
    return this.err;
  }

  private failed(e: Error): void {
    if (this.err !== null) return;
    this.err = e;
    this.emit('worker-error', e);
  }

  stats(): SyntheticPeerStats {
    const c = this.counters;
    const out = {} as Record<string, number>;
    PEER_STAT_KEYS.forEach((k, i) => {
      out[k] = c[i]!;
    });
    const tid = Atomics.load(this.tid, 0);
    out.cpuNs = tid > 0 ? taskCpuNs(tid) : NaN;
    return out as SyntheticPeerStats;
  }

  /** Stop the thread (idempotent); rejects with the error it failed with, if any. */
  async stop(): Promise<void> {
    const pool = this.pool;
    if (pool !== null && !this.stopping) {
      this.stopping = true;
      this.bells[0]!.signal();
      await this.task;
      await pool.destroy();
    }
    if (this.err !== null) throw this.err;
  }
}
