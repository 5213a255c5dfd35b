/**
 * `mcstack bench vnet`: vnet teardown under churn (@mcstack/netinet/sim vnet_churn): each
 * cycle creates a vnet jail, joins it to the host by an epair, connects to the host,
 * moves data both ways and removes the jail with the connection open. Reports, per
 * repeat, cycles per wall second, the RSTs the host saw, what the removed stacks still
 * held, the host's zone drift, and after a full GC the heap (all of it, its data without
 * V8's code, and the ArrayBuffer memory) against the warm-up baseline;
 * the rate as the median of the repeats with their range (all in this one run).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runVnetChurn, vnetChurnClean, VNET_CHURN_HEAP_SLACK, type VnetChurnResult } from '@mcstack/netinet/sim';
import { defineCommand } from '../command.js';

const DEFAULT_CYCLES = 1000;
const DEFAULT_REPEATS = 3;

export interface BenchVnetRun extends VnetChurnResult {
  cyclesPerSecond: number;
  /** Growth per cycle, bytes: the heap's data (V8's code aside) and ArrayBuffer memory. */
  dataPerCycle: number;
  arrayBuffersPerCycle: number;
  clean: boolean;
}

export interface BenchVnetResult {
  cycles: number;
  repeats: number;
  runs: BenchVnetRun[];
  /** Median cycles per second over the repeats, and the slowest and fastest. */
  cyclesPerSecond: { median: number; min: number; max: number };
  heapSlackPerCycle: number;
  /** Every repeat clean: all resets seen, nothing held, no zone drift, heap within slack. */
  met: boolean;
}

/** global.gc, made available in this process (V8 allows turning the flag on at run time). */
function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export const benchVnet = defineCommand<BenchVnetResult>({
  path: ['bench', 'vnet'],
  summary: 'vnet jails created and removed with live connections: leaks (zones, heap) and cycles/s',
  description:
    'Each cycle: jail -c, epair create, ifconfig epairNb vnet J, connect to the host, 4 KiB each way,\n' +
    'jail -r with the connection open (the host must see the RST), ifconfig epairNa destroy.\n' +
    'Heap figures follow a full GC; the baseline is taken after a warm-up.',
  options: [
    {
      name: 'cycles',
      type: 'int',
      arg: 'N',
      min: 1,
      max: 1_000_000,
      help: `cycles per repeat (default ${DEFAULT_CYCLES})`,
    },
    { name: 'repeats', type: 'int', arg: 'R', min: 1, max: 100, help: `repeats (default ${DEFAULT_REPEATS})` },
    { name: 'seed', type: 'int', arg: 'S', min: 0, help: 'seed (default 1)' },
  ],
  run: async (args) => {
    const cycles = args.int('cycles') ?? DEFAULT_CYCLES;
    const repeats = args.int('repeats') ?? DEFAULT_REPEATS;
    const seed = args.int('seed') ?? 1;
    const gc = fullGc();
    const runs: BenchVnetRun[] = [];
    for (let i = 0; i < repeats; i++) {
      const r = await runVnetChurn({ cycles, seed: seed + i, gc });
      runs.push({
        ...r,
        cyclesPerSecond: cycles / (r.wallMs / 1000),
        dataPerCycle: (r.heapAfter.data - r.heapBefore.data) / cycles,
        arrayBuffersPerCycle: (r.heapAfter.arrayBuffers - r.heapBefore.arrayBuffers) / cycles,
        clean: vnetChurnClean(r),
      });
    }
    const rates = runs.map((r) => r.cyclesPerSecond).sort((a, b) => a - b);
    const mid = rates.length >> 1;
    const median = rates.length % 2 ? rates[mid]! : (rates[mid - 1]! + rates[mid]!) / 2;
    return {
      cycles,
      repeats,
      runs,
      cyclesPerSecond: { median, min: rates[0]!, max: rates[rates.length - 1]! },
      heapSlackPerCycle: VNET_CHURN_HEAP_SLACK,
      met: runs.every((r) => r.clean),
    };
  },
  human: (r) => {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
    const lines = [
      `vnet churn: ${r.repeats} x ${r.cycles} cycles (jail -c, epair, connect, 4 KiB each way, jail -r with the connection open)`,
      'run  cycles/s  resets  left(zone/callout/pcb/fd)  zone drift  heap after GC (code)              data/cycle  ab/cycle',
    ];
    r.runs.forEach((x, i) => {
      const l = x.leftovers;
      lines.push(
        `${String(i + 1).padEnd(4)} ${x.cyclesPerSecond.toFixed(0).padStart(8)}  ${String(x.resets).padStart(6)}  ` +
          `${`${l.zoneItems}/${l.callouts}/${l.pcbs + l.tcbs}/${l.fds}`.padEnd(25)}  ${String(x.zoneDrift.length).padStart(10)}  ` +
          `${`${mib(x.heapBefore.heapUsed)} -> ${mib(x.heapAfter.heapUsed)} (${mib(x.heapAfter.code)})`.padEnd(33)}  ` +
          `${`${x.dataPerCycle.toFixed(1)} B`.padStart(10)}  ${`${x.arrayBuffersPerCycle.toFixed(1)} B`.padStart(8)}`,
      );
    });
    const c = r.cyclesPerSecond;
    lines.push(`cycles/s median ${c.median.toFixed(0)} (range ${c.min.toFixed(0)} .. ${c.max.toFixed(0)})`);
    lines.push(
      `leak check (zones and census exact; heap data and ArrayBuffers under ${r.heapSlackPerCycle} B/cycle): ${r.met ? 'clean' : 'LEAK'}`,
    );
    return lines.join('\n');
  },
});
