/**
 * How long an idle group worker spins (re-polling its rings) before it sleeps on its
 * doorbell. Spinning saves the wake-up (a futex wake and a reschedule) when the worker has
 * a core to itself; when the process has more busy threads than cores — two stacks of N
 * workers and the main thread on a 2-core machine — a spinning worker only takes the core
 * from the thread whose frames it waits for (measured: crr with 2 workers per stack on 2
 * cores, 12k conn/s spinning vs 16k not; bulk and rr the same throughput for half the CPU).
 * So every Stack in the process counts its live workers here, and the budget is IDLE_SPINS
 * while live workers + the main thread fit the cores, else 0. Workers read the budget at
 * each idle decision (one Atomics.load), so a stack started later changes it for all.
 */
import { availableParallelism } from 'node:os';

/** Empty turns before sleeping when the threads fit the cores. */
export const IDLE_SPINS = 1024;

const S_LIVE = 0;
const S_BUDGET = 1;
const share = new Int32Array(new SharedArrayBuffer(8));
Atomics.store(share, S_BUDGET, IDLE_SPINS);

/** The word pair workers read (S_BUDGET is the spin budget). */
export function spinShare(): SharedArrayBuffer {
  return share.buffer as SharedArrayBuffer;
}

/** A worker's view: the current budget (worker threads call this per idle decision). */
export function spinBudget(words: Int32Array): number {
  return Atomics.load(words, S_BUDGET);
}

/** `n` workers of a stack started (positive) or ended (negative). */
export function workersLive(n: number, cores = availableParallelism()): void {
  let live: number;
  for (;;) {
    const old = Atomics.load(share, S_LIVE);
    live = Math.max(0, old + n);
    if (Atomics.compareExchange(share, S_LIVE, old, live) === old) break;
  }
  Atomics.store(share, S_BUDGET, live + 1 <= cores ? IDLE_SPINS : 0);
}

/** Live workers counted in this process (tests). */
export function liveWorkers(): number {
  return Atomics.load(share, S_LIVE);
}
