/**
 * Thread pinning for the studies: each worker thread on a core of its own choosing, as
 * F-Stack and mTCP pin their lcores, so the scheduler cannot move a thread mid-window or put
 * the two ends of a connection on one core in one window and on two in the next (on a
 * 2-core machine that alone halves or doubles rr's throughput).
 *
 * Linux only: libc's `sched_setaffinity(tid, size, mask)` called through koffi (a foreign
 * function interface with prebuilt binaries, loaded on demand: nothing here is needed to run
 * unpinned). Any thread of the process can be pinned from the main thread by its kernel
 * thread id; the workers report theirs (threadapp.ts). Every failure — no koffi, another
 * platform, a CPU outside the process's allowed set, EPERM — leaves the study unpinned with
 * the reason, never fails it.
 */
import { readFileSync } from 'node:fs';

/** Whether pinning took effect, and on which CPUs, or why not. */
export type Pinning = { on: true; cpus: number[] } | { on: false; reason: string };

export interface Pinner {
  /** The CPUs the process may run on (sched_getaffinity of the process). */
  allowed: number[];
  /** Pin thread `tid` (0: the calling thread) to `cpus`; 0, or the errno. */
  pin(tid: number, cpus: readonly number[]): number;
}

/** CPU mask bytes passed to the kernel: 1024 CPUs, glibc's cpu_set_t. */
const MASK_BYTES = 128;
const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 3: 'ESRCH', 14: 'EFAULT', 22: 'EINVAL' };

export function errnoName(e: number): string {
  return ERRNO_NAMES[e] ?? `errno ${e}`;
}

/**
 * A CPU list as Linux writes them (cpuset(7) "list format", taskset -c): `0-3,8,10-11`.
 * Sorted, without duplicates; throws a RangeError naming the bad part.
 */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) throw new RangeError(`not a CPU or CPU range: ${JSON.stringify(part)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new RangeError(`CPU range runs backwards: ${JSON.stringify(part)}`);
    if (hi >= MASK_BYTES * 8) throw new RangeError(`CPU ${hi} is beyond the ${MASK_BYTES * 8} a mask holds`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** The list in its short form: [0, 1, 2, 5] → "0-2,5". */
export function formatCpuList(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(j === i ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The mask of a CPU list: bit c%8 of byte c/8 for CPU c (the kernel's bitmap of longs, read as bytes on a little-endian machine). */
export function cpuMask(cpus: readonly number[]): Uint8Array {
  const m = new Uint8Array(MASK_BYTES);
  for (const c of cpus) m[c >> 3]! |= 1 << (c & 7);
  return m;
}

function maskCpus(m: Uint8Array): number[] {
  const out: number[] = [];
  for (let c = 0; c < m.length * 8; c++) if (m[c >> 3]! & (1 << (c & 7))) out.push(c);
  return out;
}

let cached: Promise<Pinner | string> | null = null;

/** The pinner, or why there is none (loaded once per process). */
export function loadPinner(): Promise<Pinner | string> {
  cached ??= load();
  return cached;
}

async function load(): Promise<Pinner | string> {
  if (process.platform !== 'linux') return `not Linux (${process.platform}): no sched_setaffinity`;
  // The bitmap of longs reads as bytes only on a little-endian machine.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) return 'big-endian machine: the CPU mask is not written';
  let koffi: KoffiLike;
  try {
    const mod = (await import('koffi')) as { default?: KoffiLike } & KoffiLike;
    koffi = mod.default ?? mod;
  } catch (e) {
    return `koffi could not be loaded (${(e as Error).message.split('\n')[0]})`;
  }
  try {
    const libc = koffi.load('libc.so.6');
    const set = libc.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)');
    const get = libc.func('int sched_getaffinity(int pid, size_t size, _Out_ uint8_t *mask)');
    const mask = new Uint8Array(MASK_BYTES);
    if (get(0, MASK_BYTES, mask) !== 0) return `sched_getaffinity: ${errnoName(koffi.errno())}`;
    const allowed = maskCpus(mask);
    return {
      allowed,
      pin(tid, cpus) {
        return set(tid, MASK_BYTES, cpuMask(cpus)) === 0 ? 0 : koffi.errno();
      },
    };
  } catch (e) {
    return `libc's sched_setaffinity is not reachable through koffi (${(e as Error).message.split('\n')[0]})`;
  }
}

interface KoffiLike {
  load(path: string): { func(signature: string): (...args: unknown[]) => number };
  errno(): number;
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
    return `CPU ${formatCpuList(bad)} not in the process's allowed set ${formatCpuList(allowed)} (sched_getaffinity)`;
  return [...requested];
}

/** The process's allowed CPUs from procfs (no koffi needed): what `--cpus` defaults to. */
export function allowedFromProc(): number[] | null {
  try {
    const s = readFileSync('/proc/self/status', 'latin1');
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(s);
    return m ? parseCpuList(m[1]!) : null;
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
