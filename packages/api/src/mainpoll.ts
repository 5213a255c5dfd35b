/**
 * The main thread's side of the process's poll rule (@mcstack/runtime cpushare.ts): after
 * it wrote to a worker or read from one, its channels poll their up rings with a short run
 * of setImmediate turns instead of sleeping in Atomics.waitAsync, whose wake-up is a trip
 * through the event loop (a task posted from the notifying thread, a uv_async wake, a
 * promise) that costs more than the hand-off it ends. The window is SPIN_WINDOW_US after
 * the last activity, taken only while most windows end in records (PollWindow: on a
 * loaded machine they do not) and the awake threads fit the cores; past it the channels
 * sleep, so an idle stack costs no CPU. The main thread counts as asleep for that rule
 * only while every channel is in waitAsync. One state for the thread: a request written on
 * one stack's channel is answered on the other's.
 */
import { mayPoll, mainAsleep, PollWindow } from '@mcstack/runtime';

/** What the main thread's channels did instead of, or before, sleeping. */
export interface MainPollStats {
  /** setImmediate turns polled within a window. */
  polls: number;
  /** Polled turns after which records were there (a wake-up saved). */
  pollHits: number;
  /** Windows not taken because the awake threads filled the cores. */
  refused: number;
  /** Sleeps in Atomics.waitAsync. */
  waits: number;
}

const stats: MainPollStats = { polls: 0, pollHits: 0, refused: 0, waits: 0 };
/** The end of the current window (decided once per activity: a publish or records read). */
let pollUntil = Number.NEGATIVE_INFINITY;
/** A turn of the current window was polled: it ends in records (won) or runs out (lost). */
let polling = false;
let running = 0;
let waiting = 0;
let counted = false;
const win = new PollWindow();

/** The counters, for tests and benchmarks (a copy). */
export function mainPollStats(): MainPollStats {
  return { ...stats };
}

/** A channel wrote to its worker: the window starts again. */
export function mainActive(): void {
  pollUntil = performance.now() + win.window() / 1000;
}

/** A channel read records: a window being polled found work; a new one starts. */
export function mainRead(): void {
  if (polling) win.polled(true);
  polling = false;
  pollUntil = performance.now() + win.window() / 1000;
}

/** Whether a channel with nothing to read should poll one more turn (counted). */
export function mainPollTurn(): boolean {
  if (performance.now() >= pollUntil) {
    if (polling) win.polled(false);
    polling = false;
    return false;
  }
  if (!mayPoll()) {
    // Not a window that ran out: the cores were taken.
    polling = false;
    stats.refused++;
    return false;
  }
  stats.polls++;
  polling = true;
  return true;
}

/** A polled turn found records. */
export function mainPollHit(): void {
  stats.pollHits++;
}

/** A channel's receive loop started (+1) or ended (−1). */
export function mainLoop(n: 1 | -1): void {
  running += n;
  update();
}

/** A channel's loop enters (+1) or leaves (−1) Atomics.waitAsync. */
export function mainWait(n: 1 | -1): void {
  waiting += n;
  if (n === 1) stats.waits++;
  update();
}

function update(): void {
  const asleep = running > 0 && waiting === running;
  if (asleep === counted) return;
  counted = asleep;
  mainAsleep(asleep ? 1 : -1);
}
