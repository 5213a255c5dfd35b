/**
 * The V8 flags the scaling study runs its worker isolates with, and why it names them.
 *
 * Every window starts fresh worker isolates, and each tiers its hot code up anew. By
 * default V8 optimises on background compiler threads (`--concurrent-recompilation`, and
 * on-stack replacement with it): a function marked hot keeps running slower code until a
 * compiler thread has had the CPU to finish its job. Those threads float, and in the study
 * both CPUs already carry a pinned worker, so when a job lands depends on the scheduler, and
 * it can land inside a measured window (docs/scaling-noise.md: on a loaded machine 12 of
 * 30 rr windows, holding every slow one). Without concurrent recompilation no such window occurred, but bulk's CPU
 * per GB came out higher and wider in the same sitting, so V8's default stays and the
 * study instead takes a window again when the helper threads were busy in it (scaling.ts).
 * `--concurrent-recompilation off` is there to compare the two.
 *
 * V8's flags are process-wide and read when an isolate is created, so setting one before
 * the first window's workers start reaches every worker isolate of the study; the main
 * isolate keeps what it started with. The study sets the chosen state explicitly (a process
 * started with the flag off still measures what it asked for) and puts the process's own back.
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
