/**
 * How long an idle thread polls (its rings, or the main thread its channels) before it
 * sleeps. Polling saves the wake-up (a futex wake and a reschedule, or on the main thread
 * Atomics.waitAsync's trip through the event loop) when the thread has a core to itself;
 * when the process has more busy threads than cores — two stacks of N workers and the main
 * thread on a 2-core machine — a polling thread only takes the core from the thread whose
 * frames it waits for (measured: crr with 2 workers per stack on 2 cores, 12k conn/s
 * spinning vs 16k not; bulk and rr the same throughput for half the CPU).
 *
 * Two rules, both read from one process-wide word block:
 * - Workers that fit: while live workers + the main thread fit the cores, a group worker
 *   spins IDLE_SPINS empty turns (the budget; a stack started later changes it for all).
 * - Awake threads that fit: otherwise a thread may still poll for a short window after
 *   activity (SPIN_WINDOW_US), but only while the threads awake — not asleep on a doorbell
 *   or, for the main thread, with every channel in Atomics.waitAsync — fit the cores,
 *   itself included (mayPoll). A request/response exchange between threads keeps one
 *   thread busy at a time, so one poller beside it takes no core from anyone; when every
 *   thread has work, none polls. Threads of other processes are not seen: the rule keeps
 *   this process within the cores, not the machine.
 */
import { availableParallelism } from 'node:os';

/** Empty turns before sleeping when the threads fit the cores. */
export const IDLE_SPINS = 1024;
/**
 * Longest poll after activity when the threads do not all fit (µs): a few hand-offs
 * between threads (each ≈ 10–30 µs on 2 cores), far below any callout's granularity.
 */
export const SPIN_WINDOW_US = 200;

/** A thread that does not poll still polls one idle decision in this many (a probe). */
export const POLL_PROBE_EVERY = 16;

const S_LIVE = 0;
const S_BUDGET = 1;
/** Threads asleep (group workers on their doorbell; the main thread with every channel waiting). */
const S_ASLEEP = 2;
const S_CORES = 3;
const share = new Int32Array(new SharedArrayBuffer(16));
Atomics.store(share, S_BUDGET, IDLE_SPINS);
Atomics.store(share, S_CORES, availableParallelism());

/** The word block workers read (S_BUDGET is the spin budget). */
export function spinShare(): SharedArrayBuffer {
  return share.buffer as SharedArrayBuffer;
}

/** A worker's view: the current budget (worker threads call this per idle decision). */
export function spinBudget(words: Int32Array): number {
  return Atomics.load(words, S_BUDGET);
}

/**
 * Whether a thread that is awake now may poll instead of sleeping: the awake threads
 * (live workers + the main thread − those asleep) fit the cores.
 */
export function mayPoll(words: Int32Array = share): boolean {
  const awake = Atomics.load(words, S_LIVE) + 1 - Atomics.load(words, S_ASLEEP);
  return awake <= Atomics.load(words, S_CORES);
}

/** The calling thread goes to sleep (+1) or is awake again (−1). */
export function asleep(words: Int32Array, n: 1 | -1): void {
  Atomics.add(words, S_ASLEEP, n);
}

/** The main thread's side of `asleep` (its module's own view of the block). */
export function mainAsleep(n: 1 | -1): void {
  Atomics.add(share, S_ASLEEP, n);
}

/**
 * One thread's choice of polling at all: how often its recent windows ran out before work
 * came (an EWMA of lost windows). Only polled windows count: a wait measured while asleep
 * includes the wake-ups of every thread on the path, which polling would have saved, so it
 * says nothing of what polling would see. On a loaded machine, where each hand-off waits
 * for a scheduler's timeslice, windows run out and the thread sleeps at once, polling one
 * idle decision in POLL_PROBE_EVERY to notice when that changes.
 */
export class PollWindow {
  /** The EWMA of windows lost (0: every window found work, 1: none did). */
  private lossRate = 0;

  /** Idle decisions that did not poll (for the probes). */
  private skipped = 0;

  /** µs to poll at this idle decision: SPIN_WINDOW_US while most windows find work, else 0 but for the probes. */
  window(): number {
    if (this.lossRate <= 0.5) return SPIN_WINDOW_US;
    return ++this.skipped % POLL_PROBE_EVERY === 0 ? SPIN_WINDOW_US : 0;
  }

  /** A window ended with work (true) or ran out (false). */
  polled(won: boolean): void {
    this.lossRate += ((won ? 0 : 1) - this.lossRate) / 8;
  }

  /** The current rate of lost windows (tests, stats). */
  get losses(): number {
    return this.lossRate;
  }
}

/** `n` workers of a stack started (positive) or ended (negative). */
export function workersLive(n: number, cores = availableParallelism()): void {
  let live: number;
  for (;;) {
    const old = Atomics.load(share, S_LIVE);
    live = Math.max(0, old + n);
    if (Atomics.compareExchange(share, S_LIVE, old, live) === old) break;
  }
  Atomics.store(share, S_CORES, cores);
  Atomics.store(share, S_BUDGET, live + 1 <= cores ? IDLE_SPINS : 0);
}

/** Live workers counted in this process (tests). */
export function liveWorkers(): number {
  return Atomics.load(share, S_LIVE);
}
