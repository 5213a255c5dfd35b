/**
 * Thread pinning for the studies: each worker thread on a core of its own choosing, as
 * F-Stack and mTCP pin their lcores, so the scheduler cannot move a thread mid-window or put
 * the two ends of a connection on one core in one window and on two in the next (on a
 * 2-core machine that alone halves or doubles rr's throughput).
 *
 * The study's policy only: which thread goes to which CPU, and the "pinning: on/off (reason)"
 * it reports. The pinning itself is the runtime's native layer (Linux, libc's
 * `sched_setaffinity(tid, size, mask)` through koffi, loaded on demand: nothing here is
 * needed to run unpinned). Any thread of the process can be pinned from the main thread by
 * its kernel thread id; the workers report theirs (threadapp.ts). Every failure — no koffi,
 * another platform, a CPU outside the process's allowed set, EPERM — leaves the study
 * unpinned with the reason, never fails it.
 */
import { readFileSync } from 'node:fs';
import { native } from '@mcstack/runtime';

/** Whether pinning took effect, and on which CPUs, or why not. */
export type Pinning = { on: true; cpus: number[] } | { on: false; reason: string };

export interface Pinner {
  /** The CPUs the process may run on (the calling thread's mask, sched_getaffinity). */
  allowed: number[];
  /** Pin thread `tid` (0: the calling thread) to `cpus`: null, or why it is not (the errno's name). */
  pin(tid: number, cpus: readonly number[]): string | null;
}

/** A native failure in the words the study reports: the errno's name, or why there is no native layer. */
function why(e: unknown): string {
  if (e instanceof native.NativeError) return e.code;
  if (e instanceof native.NativeUnavailableError) return e.reason;
  return (e as Error).message;
}

/** The pinner, or why there is none. */
export function loadPinner(): Pinner | string {
  const status = native.nativeStatus();
  if (!status.ok) return status.reason;
  let allowed: number[];
  try {
    allowed = native.threadAffinity();
  } catch (e) {
    return `sched_getaffinity: ${why(e)}`;
  }
  return {
    allowed,
    pin(tid, cpus) {
      try {
        // false: the kernel's cpuset dropped some of `cpus` without saying so.
        return native.pinTid(tid, cpus) ? null : 'the kernel left the thread on other CPUs';
      } catch (e) {
        return why(e);
      }
    },
  };
}

/**
 * Which of the requested CPUs the study will use, or why it pins nothing: every CPU asked for
 * must be one the process may run on (a CPU outside the set would make the kernel refuse, or
 * on a cpuset-restricted container pin where nothing else can run).
 */
export function usableCpus(requested: readonly number[], allowed: readonly number[]): number[] | string {
  if (requested.length === 0) return 'no CPU listed';
  const bad = requested.filter((c) => !allowed.includes(c));
  if (bad.length > 0)
    return `CPU ${native.formatCpuList(bad)} not in the process's allowed set ${native.formatCpuList(allowed)} (sched_getaffinity)`;
  return [...requested];
}

/** The process's allowed CPUs from procfs (no koffi needed): what `--cpus` defaults to. */
export function allowedFromProc(): number[] | null {
  try {
    const s = readFileSync('/proc/self/status', 'latin1');
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(s);
    return m ? native.parseCpuList(m[1]!) : null;
  } catch {
    return null;
  }
}

/**
 * The CPU each thread of a window gets: threads in the order given (stack A's workers, then
 * stack B's or the synthetic peer's thread) round robin over the list. With one worker per
 * stack on two CPUs the client and the server each have a core; with two per stack, worker
 * i of A and worker i of B share CPU i.
 */
export function assignCpus(threads: number, cpus: readonly number[]): number[] {
  return Array.from({ length: threads }, (_, i) => cpus[i % cpus.length]!);
}
