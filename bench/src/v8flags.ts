/**
 * The V8 flags the scaling study runs its worker isolates with, and why.
 *
 * Every window starts fresh worker isolates, and each tiers its hot code up anew. By
 * default V8 optimises on background compiler threads (`--concurrent-recompilation`, and
 * on-stack replacement with it): a function marked hot keeps running slower code until a
 * compiler thread has had the CPU to finish its job. Those threads float, and in the study
 * both CPUs already carry a pinned worker, so when a job finishes — and so on what feedback
 * the code was built, and how long the slow code ran — depends on the scheduler, differently
 * in every window. Measured (rr/single/1, windows alternating in one process, other
 * processes taking 80-100% of both CPUs): with concurrent recompilation 3 windows of 10 had
 * V8's helper threads busy inside the measured second after a settled warm-up (7-73 µs of
 * helper CPU per transaction, A's worker at 8.4-26 µs per transaction against ~5.5), and
 * without it none (at most 0.06 µs per transaction in every window): the optimising compiler
 * then runs on the worker's own thread at the moment the function turns hot, a point fixed
 * by the work done, and its cost falls in the warm-up, where the settling rule waits it out.
 *
 * V8's flags are process-wide and read when an isolate is created, so setting one before
 * the first window's workers start reaches every worker isolate of the study; the main
 * isolate keeps what it started with. The study puts the process back as it found it.
 */
import { setFlagsFromString } from 'node:v8';

/** The flag that moves TurboFan's jobs (and OSR's) onto the thread that asked for them. */
export const NO_CONCURRENT_RECOMPILATION = '--no-concurrent-recompilation';
const CONCURRENT_RECOMPILATION = '--concurrent-recompilation';

/** The V8 flags a study sets for its worker isolates: concurrent recompilation off (the default) or on. */
export function studyV8Flags(concurrentRecompilation: boolean): string[] {
  return [concurrentRecompilation ? CONCURRENT_RECOMPILATION : NO_CONCURRENT_RECOMPILATION];
}

/** Whether the process was started with concurrent recompilation (its command line's last word on it). */
export function processConcurrentRecompilation(execArgv: readonly string[] = process.execArgv): boolean {
  for (let i = execArgv.length - 1; i >= 0; i--) {
    const a = execArgv[i]!.replaceAll('_', '-');
    if (a === NO_CONCURRENT_RECOMPILATION) return false;
    if (a === CONCURRENT_RECOMPILATION) return true;
  }
  return true;
}

/**
 * Set `flags` for the isolates created from now on; the returned function puts the
 * process's own setting of concurrent recompilation back.
 */
export function applyV8Flags(flags: readonly string[], set: (f: string) => void = setFlagsFromString): () => void {
  for (const f of flags) set(f);
  const own = studyV8Flags(processConcurrentRecompilation())[0]!;
  return () => set(own);
}
