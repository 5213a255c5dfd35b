/**
 * The vnet churn scenario (the leak check of vnet teardown, FreeBSD's "UMA/vmstat unhappy
 * with every stopped vnet"): cycle after cycle a vnet jail is created, joined to the host by
 * an epair, connects to the host's listener, moves data both ways and is removed with the
 * connection still open — the host's end must see the RST — then the epair is destroyed.
 * At the end every host zone's used count, the host's census and (with a gc) the heap are
 * compared with where they were after the warm-up. Used by the test and `mcstack bench vnet`.
 */
import { getHeapCodeStatistics } from 'node:v8';
import { Jails } from '../jail.js';
import type { Engine } from '../engine.js';
import { ERRNO } from '../kern/errno.js';
import type { UmaZoneStats } from '../kern/uma.js';
import type { KenvValues } from '../kern/kenv.js';

export interface VnetChurnOptions {
  cycles: number;
  /** Bytes each side sends per cycle. */
  bytes?: number;
  seed?: number;
  /** A full garbage collection (global.gc under --expose-gc): heap samples are taken after it. */
  gc?: () => void;
  /** Cycles run before the baseline is taken (JIT and zone warm-up; default 300). */
  warmup?: number;
  /** Each jail's loader tunables (e.g. a small host cache, so a cycle costs less to build). */
  tunables?: KenvValues;
}

export interface VnetChurnResult {
  cycles: number;
  /** Connections (after the warm-up) whose host end saw ECONNRESET when their jail was removed. */
  resets: number;
  /** Bytes moved, both directions, over the measured cycles. */
  bytes: number;
  /** What the removed jails' teardowns found still held, summed (all zero: nothing leaked). */
  leftovers: { zoneItems: number; callouts: number; pcbs: number; tcbs: number; fds: number };
  /** Host zones whose used count differs between baseline and end: name, before, after. */
  zoneDrift: { name: string; before: number; after: number }[];
  hostBefore: ReturnType<Engine['census']>;
  hostAfter: ReturnType<Engine['census']>;
  /** Memory after a full GC at the baseline and at the end (all 0 without gc). */
  heapBefore: HeapSample;
  heapAfter: HeapSample;
  wallMs: number;
}

/** One memory reading (bytes). */
export interface HeapSample {
  /** process.memoryUsage().heapUsed. */
  heapUsed: number;
  /** V8's compiled code and bytecode with their metadata (v8.getHeapCodeStatistics). */
  code: number;
  /** heapUsed less the code: the objects programs make. */
  data: number;
  /** ArrayBuffer backing stores (socket-buffer slabs, host caches live there). */
  arrayBuffers: number;
}

const NO_SAMPLE: HeapSample = { heapUsed: 0, code: 0, data: 0, arrayBuffers: 0 };

function heapSample(): HeapSample {
  const m = process.memoryUsage();
  const c = getHeapCodeStatistics();
  const code = c.code_and_metadata_size + c.bytecode_and_metadata_size;
  return { heapUsed: m.heapUsed, code, data: m.heapUsed - code, arrayBuffers: m.arrayBuffers };
}

/**
 * Growth per cycle (bytes, after a full GC) still taken as "back where it started", for
 * the heap's data and for ArrayBuffer memory. V8 keeps compiling each new stack's hot
 * closures, and what it keeps of that (weak lists, deoptimisation data) was measured at
 * 50 to 600 bytes a cycle here, shrinking as runs get longer. What a leak would leave is
 * far above: a tcpcb alone is about 1.6 KB, a stack hundreds of KB plus its 1 MiB
 * socket-buffer slab. (The zones, counted exactly, catch a single leaked socket.)
 */
export const VNET_CHURN_HEAP_SLACK = 1024;

/** Whether a run left nothing behind: every reset seen, nothing held, nothing drifted. */
export function vnetChurnClean(r: VnetChurnResult): boolean {
  const l = r.leftovers;
  return (
    r.resets === r.cycles &&
    l.zoneItems + l.callouts + l.pcbs + l.tcbs + l.fds === 0 &&
    r.zoneDrift.length === 0 &&
    JSON.stringify(r.hostAfter) === JSON.stringify(r.hostBefore) &&
    (r.heapAfter.data - r.heapBefore.data) / r.cycles < VNET_CHURN_HEAP_SLACK &&
    (r.heapAfter.arrayBuffers - r.heapBefore.arrayBuffers) / r.cycles < VNET_CHURN_HEAP_SLACK
  );
}

const PORT = 80;
const YIELD_EVERY = 32;
/** Cycles before the baseline: V8 compiles and optimises the stack's code meanwhile. */
const WARMUP = 300;

function endOfJob(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Before a reading: the job ends (the stacks it made are no longer held for it), a full
 * GC, and once more, so the ArrayBuffer backing stores the first one found dead are freed
 * and counted as such.
 */
async function settle(gc: (() => void) | undefined): Promise<void> {
  await endOfJob();
  gc?.();
  await endOfJob();
  gc?.();
}

function zoneUse(zs: UmaZoneStats[]): Map<string, number> {
  return new Map(zs.map((z) => [z.name, z.used]));
}

export async function runVnetChurn(o: VnetChurnOptions): Promise<VnetChurnResult> {
  const bytes = o.bytes ?? 4096;
  const warmup = o.warmup ?? WARMUP;
  const j = new Jails({ seed: o.seed ?? 1 });
  const host = j.host;
  let now = 0;
  const lfd = host.socket('inet', 'stream');
  host.bind(lfd, { addr: '0.0.0.0', port: PORT });
  host.listen(lfd, 128);
  const out = new Uint8Array(bytes).fill(0x5a);
  const buf = new Uint8Array(65536);
  const leftovers = { zoneItems: 0, callouts: 0, pcbs: 0, tcbs: 0, fds: 0 };
  let resets = 0;
  let moved = 0;
  let before = zoneUse(host.uma.stats());
  let hostBefore = host.census();
  let heapBefore = NO_SAMPLE;
  const t0 = performance.now();
  const step = (): void => {
    now += 1000;
    j.advance(now);
  };
  /** Read what is there from `fd` of `e`: bytes, or -errno. */
  const drainFd = (e: Engine, fd: number): number => {
    let n = 0;
    for (;;) {
      const r = e.recv(fd, buf);
      if (r <= 0) return r === -ERRNO.EAGAIN || r === 0 ? n : r;
      n += r;
    }
  };
  for (let c = 0; c < warmup + o.cycles; c++) {
    // The linker holds its engines by WeakRef, and a WeakRef's target lives until the end
    // of the job that made it: a run of cycles in one job would keep every stack alive.
    // The baseline too: taken with the stacks of the cycles before it still held, it would be high.
    if (c % YIELD_EVERY === 0) await endOfJob();
    if (c === warmup) {
      await settle(o.gc);
      before = zoneUse(host.uma.stats());
      hostBefore = host.census();
      heapBefore = o.gc ? heapSample() : NO_SAMPLE;
    }
    const jid = j.create({ name: `churn${c}`, vnet: true, tunables: o.tunables }, now);
    const jail = j.engine(jid)!;
    const [a, b] = j.epairCreate();
    j.vmove(b, jid);
    host.addAddr(a, '10.99.0.1/24');
    jail.addAddr(b, '10.99.0.2/24');
    const fd = jail.socket('inet', 'stream');
    jail.connect(fd, { addr: '10.99.0.1', port: PORT });
    j.flush(now);
    let afd = -1;
    for (let i = 0; i < 20 && afd < 0; i++) {
      afd = host.accept(lfd);
      if (afd < 0) step();
    }
    if (afd < 0) throw new Error(`vnet churn: cycle ${c} never connected (seed ${o.seed ?? 1})`);
    let got = 0;
    let back = 0;
    let sent = jail.send(fd, out);
    j.flush(now);
    let sentBack = host.send(afd, out);
    j.flush(now);
    for (let i = 0; i < 50 && (got < bytes || back < bytes); i++) {
      got += Math.max(0, drainFd(host, afd));
      back += Math.max(0, drainFd(jail, fd));
      if (sent < bytes) sent += Math.max(0, jail.send(fd, out, sent));
      if (sentBack < bytes) sentBack += Math.max(0, host.send(afd, out, sentBack));
      step();
    }
    if (got < bytes || back < bytes) throw new Error(`vnet churn: cycle ${c} moved ${got}/${back} of ${bytes}`);
    if (c >= warmup) moved += got + back;
    // jail -r with the connection open: the host's end must hear the RST.
    const left = j.remove(jid, now);
    leftovers.zoneItems += left.zones.reduce((s, z) => s + z.used, 0);
    leftovers.callouts += left.callouts;
    leftovers.pcbs += left.pcbs;
    leftovers.tcbs += left.tcbs;
    leftovers.fds += left.fds;
    if (drainFd(host, afd) === -ERRNO.ECONNRESET && c >= warmup) resets++;
    host.close(afd);
    j.ifDestroy(a);
    step();
  }
  // Let the host's own timers (delayed ACKs, ARP) run out, as they would between cycles.
  now += 3_600_000_000;
  j.advance(now);
  await settle(o.gc);
  const after = zoneUse(host.uma.stats());
  const zoneDrift: VnetChurnResult['zoneDrift'] = [];
  for (const [name, n] of after) {
    const was = before.get(name) ?? 0;
    if (n !== was) zoneDrift.push({ name, before: was, after: n });
  }
  return {
    cycles: o.cycles,
    resets,
    bytes: moved,
    leftovers,
    zoneDrift,
    hostBefore,
    hostAfter: host.census(),
    heapBefore,
    heapAfter: o.gc ? heapSample() : NO_SAMPLE,
    wallMs: performance.now() - t0,
  };
}
