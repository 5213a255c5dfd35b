/**
 * `rss spread`: how evenly RSS spreads flows and packets over buckets and workers, for a
 * capture or for N seeded-random flows. Captures of more than one batch are hashed in
 * parallel on a piscina pool, one task per batch of frames; smaller inputs inline.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { IPPROTO_TCP } from '@mcstack/wire';
import { type IndirectionTable, FrameClassifier, toeplitzForKey, rssHashType, hashTypeName } from '@mcstack/rss';
import { SeededRandom } from '@mcstack/netinet';
import { indexCapture } from './capture.js';
import { hashFrames, type BatchResult } from './frame-hash.js';
import type { SpreadTask } from './spread-worker.js';

export const SPREAD_BATCH_DEFAULT = 65536;

export interface SpreadOptions {
  table: IndirectionTable;
  key: Uint8Array;
  /** Packets per parallel task. */
  batch: number;
}

export interface SpreadRow {
  flows: number;
  packets: number;
  /** Fraction of all flows / packets. */
  flowShare: number;
  packetShare: number;
}

export interface SpreadResult {
  input: { file: string } | { flows: number; seed: number };
  workers: number;
  buckets: number;
  key: string;
  packets: number;
  flows: number;
  /** Packets not hashed: no IP in them, or a malformed/truncated header. */
  skipped: { nonIp: number; malformed: number };
  /** Hashed packets per FreeBSD hash type. */
  hashTypes: Record<string, number>;
  perWorker: (SpreadRow & { worker: number; buckets: number[] })[];
  perBucket: { bucket: number; worker: number; flows: number; packets: number }[];
  /** max / mean over workers (1 is perfect); 0 when there is nothing to spread. */
  imbalance: { flows: number; packets: number };
  /** How the work was split: 0 tasks means hashed inline. */
  parallel: { tasks: number; threads: number };
}

export async function spreadCapture(file: string, opts: SpreadOptions): Promise<SpreadResult> {
  const buf = new Uint8Array(await readFile(file));
  const idx = indexCapture(buf);
  const acc = new Accumulator(opts.table);
  let tasks = 0;
  let threads = 0;
  if (idx.count <= opts.batch) {
    acc.add(hashFrames(new FrameClassifier({ key: opts.key }), buf, idx.offsets, idx.lengths, idx.linkType));
  } else {
    tasks = Math.ceil(idx.count / opts.batch);
    threads = Math.max(1, Math.min(availableParallelism(), tasks));
    const pool = new Piscina({
      filename: new URL('./spread-worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
    });
    try {
      const runs: Promise<BatchResult>[] = [];
      for (let t = 0; t < tasks; t++) {
        const first = t * opts.batch;
        const last = Math.min(first + opts.batch, idx.count) - 1;
        const from = idx.offsets[first]!;
        const to = idx.offsets[last]! + idx.lengths[last]!;
        // Each task gets its own copy of its frames, transferred (not cloned) to the worker.
        const part = buf.slice(from, to);
        const offsets = idx.offsets.slice(first, last + 1).map((o) => o - from);
        const lengths = idx.lengths.slice(first, last + 1);
        const task: SpreadTask = { key: opts.key, linkType: idx.linkType, buf: part, offsets, lengths };
        runs.push(
          pool.run(task, { transferList: [part.buffer, offsets.buffer, lengths.buffer] }) as Promise<BatchResult>,
        );
      }
      // Merge in task order so the result does not depend on thread timing.
      for (const r of runs) acc.add(await r);
    } finally {
      await pool.destroy();
    }
  }
  return acc.result({ file }, opts, { tasks, threads });
}

/**
 * N random IPv4 TCP flows from a seeded generator: random addresses and ports, and a
 * heavy-tailed packet count per flow (log-uniform from 1 to 1024), as a stand-in for a
 * mix of mice and elephants.
 */
export function spreadRandomFlows(flows: number, seed: number, opts: SpreadOptions): SpreadResult {
  const rnd = new SeededRandom(seed);
  const tz = toeplitzForKey(opts.key);
  const acc = new Accumulator(opts.table);
  const typeName = hashTypeName(rssHashType(4, IPPROTO_TCP));
  let packets = 0;
  for (let i = 0; i < flows; i++) {
    const hash = tz.hashIPv4Ports(rnd.u32(), rnd.u32(), rnd.u32() & 0xffff, rnd.u32() & 0xffff);
    const n = Math.floor(2 ** ((rnd.u32() / 0x100000000) * 10));
    acc.addFlow(hash, n);
    packets += n;
  }
  acc.hashTypes[typeName] = packets;
  return acc.result({ flows, seed }, opts, { tasks: 0, threads: 0 });
}

class Accumulator {
  readonly bucketFlows: Float64Array;
  readonly bucketPackets: Float64Array;
  readonly hashTypes: Record<string, number> = {};
  /** Flow key -> bucket, to count a flow seen by several batches once. */
  private readonly seen = new Map<string, number>();
  packets = 0;
  nonIp = 0;
  malformed = 0;

  constructor(private readonly table: IndirectionTable) {
    this.bucketFlows = new Float64Array(table.buckets);
    this.bucketPackets = new Float64Array(table.buckets);
  }

  addFlow(hash: number, packets: number): void {
    const b = this.table.bucketOf(hash);
    this.bucketFlows[b]!++;
    this.bucketPackets[b]! += packets;
  }

  add(r: BatchResult): void {
    this.packets += r.packets;
    this.nonIp += r.nonIp;
    this.malformed += r.malformed;
    for (const [t, n] of Object.entries(r.hashTypes)) this.hashTypes[t] = (this.hashTypes[t] ?? 0) + n;
    for (let f = 0; f < r.flowKeys.length; f++) {
      const key = r.flowKeys[f]!;
      const b = this.table.bucketOf(r.flowHashes[f]!);
      if (!this.seen.has(key)) {
        this.seen.set(key, b);
        this.bucketFlows[b]!++;
      }
      this.bucketPackets[b]! += r.flowPackets[f]!;
    }
  }

  result(input: SpreadResult['input'], opts: SpreadOptions, parallel: SpreadResult['parallel']): SpreadResult {
    const t = this.table;
    const wFlows = new Float64Array(t.workers);
    const wPackets = new Float64Array(t.workers);
    for (let b = 0; b < t.buckets; b++) {
      wFlows[t.entries[b]!]! += this.bucketFlows[b]!;
      wPackets[t.entries[b]!]! += this.bucketPackets[b]!;
    }
    const flows = sum(wFlows);
    const packets = sum(wPackets);
    const hashed = 'file' in input ? this.packets : packets;
    return {
      input,
      workers: t.workers,
      buckets: t.buckets,
      key: Buffer.from(opts.key).toString('hex'),
      packets: hashed,
      flows,
      skipped: { nonIp: this.nonIp, malformed: this.malformed },
      hashTypes: this.hashTypes,
      perWorker: Array.from({ length: t.workers }, (_, w) => ({
        worker: w,
        buckets: t.bucketsOf(w),
        flows: wFlows[w]!,
        packets: wPackets[w]!,
        flowShare: flows ? wFlows[w]! / flows : 0,
        packetShare: packets ? wPackets[w]! / packets : 0,
      })),
      perBucket: Array.from({ length: t.buckets }, (_, b) => ({
        bucket: b,
        worker: t.entries[b]!,
        flows: this.bucketFlows[b]!,
        packets: this.bucketPackets[b]!,
      })),
      imbalance: { flows: maxOverMean(wFlows), packets: maxOverMean(wPackets) },
      parallel,
    };
  }
}

function sum(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

function maxOverMean(a: Float64Array): number {
  const mean = sum(a) / a.length;
  return mean === 0 ? 0 : Math.max(...a) / mean;
}

export function formatSpread(r: SpreadResult): string {
  const what = 'file' in r.input ? r.input.file : `${r.input.flows} random IPv4 TCP flows (seed ${r.input.seed})`;
  const skipped = r.skipped.nonIp + r.skipped.malformed;
  const lines = [
    `RSS spread of ${what}`,
    `${r.packets - skipped} packets hashed in ${r.flows} flows` +
      (skipped ? ` (${skipped} not hashed: ${r.skipped.nonIp} non-IP, ${r.skipped.malformed} malformed)` : '') +
      `; ${r.workers} workers, ${r.buckets} buckets` +
      (r.parallel.tasks ? `; ${r.parallel.tasks} tasks on ${r.parallel.threads} threads` : ''),
    `hash types: ${
      Object.entries(r.hashTypes)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ') || 'none'
    }`,
    '',
  ];
  const rows = [['worker', 'buckets', 'flows', 'share', 'packets', 'share']];
  for (const w of r.perWorker) {
    rows.push([
      String(w.worker),
      ranges(w.buckets),
      String(w.flows),
      pct(w.flowShare),
      String(w.packets),
      pct(w.packetShare),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const row of rows)
    lines.push(
      row
        .map((cell, c) => (c === 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  ')
        .trimEnd(),
    );
  lines.push(
    '',
    `imbalance (max/mean over workers): flows ${r.imbalance.flows.toFixed(3)}, packets ${r.imbalance.packets.toFixed(3)}`,
  );
  return `${lines.join('\n')}\n`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** [0,1,2,5,7,8] -> "0-2,5,7-8" */
function ranges(a: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < a.length; ) {
    let j = i;
    while (j + 1 < a.length && a[j + 1] === a[j]! + 1) j++;
    out.push(j > i ? `${a[i]}-${a[j]}` : String(a[i]));
    i = j + 1;
  }
  const text = out.join(',') || '-';
  return text.length <= 24 ? text : `${a.length}: ${text.slice(0, text.lastIndexOf(',', 18))},...`;
}
