/**
 * `mcstack bench conns`: as many idle established connections as asked for (up to
 * 1,000,000) between two engines in one thread, in a child process with --expose-gc and a
 * heap sized for the count (@mcstack/bench/conns-main): connections, setup rate, heap and
 * RSS, and heap bytes per idle connection end against the 1 KiB target.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConnsResult } from '@mcstack/bench';
import { defineCommand } from '../command.js';

/** Heap per idle connection end the design aims at (socket buffers empty). */
export const CONNS_TARGET_BYTES = 1024;
const DEFAULT_CONNECTIONS = 100_000;

export interface BenchConnsResult extends ConnsResult {
  targetBytesPerEnd: number;
  met: boolean;
}

export const benchConns = defineCommand<BenchConnsResult>({
  path: ['bench', 'conns'],
  summary: 'idle established connections between two engines in one process: heap and RSS per connection',
  description:
    'Two engines in one thread establish --connections TCP connections over IPv4 and leave them\n' +
    'idle with empty socket buffers. Heap figures follow a full GC. The run is a child process\n' +
    'with --expose-gc and a heap limit sized for the count.',
  options: [
    {
      name: 'connections',
      type: 'int',
      arg: 'N',
      min: 1,
      max: 1_000_000,
      help: `connections to establish (default ${DEFAULT_CONNECTIONS})`,
    },
    { name: 'seed', type: 'int', arg: 'S', min: 0, help: 'engine seed (default 1)' },
  ],
  run(args) {
    const n = args.int('connections') ?? DEFAULT_CONNECTIONS;
    const seed = args.int('seed') ?? 1;
    const script = fileURLToPath(import.meta.resolve('@mcstack/bench/conns-main'));
    // 8 KiB per connection (both ends) and 512 MiB for the rest, in MiB.
    const heapMb = 512 + Math.ceil((n * 8192) / 2 ** 20);
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', `--max-old-space-size=${heapMb}`, script, String(n), String(seed)],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(out) as ConnsResult;
    return { ...r, targetBytesPerEnd: CONNS_TARGET_BYTES, met: r.heapPerConnectionEnd <= CONNS_TARGET_BYTES };
  },
  human: (r) => {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    return [
      `idle connections   ${r.established} of ${r.connections} established (two engines, one thread)`,
      `setup              ${r.setupSeconds.toFixed(2)} s, ${Math.round(r.setupPerSecond)} connections/s`,
      `heap               ${mib(r.heapBefore)} -> ${mib(r.heapAfter)}${r.gc ? ' (after full GC)' : ''}`,
      `heap per end       ${Math.round(r.heapPerConnectionEnd)} bytes (target ${r.targetBytesPerEnd}: ${r.met ? 'met' : 'not met'})`,
      `RSS                ${mib(r.rssBefore)} -> ${mib(r.rssAfter)}, ${Math.round(r.rssPerConnectionEnd)} bytes per end`,
      `array buffers      ${mib(r.arrayBuffersAfter)}`,
    ].join('\n');
  },
});
