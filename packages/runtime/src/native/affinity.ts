/**
 * CPU pinning of threads through sched_setaffinity(2). Every worker_thread is an OS
 * thread of its own with a kernel thread id (libc.gettid(), threadTid()): a thread
 * pins itself with pinThread (tid 0, the calling thread), or any thread of the
 * process is pinned from another by its tid with pinTid, as the scaling study pins
 * the group workers from the main thread. Threads created afterwards by a pinned
 * thread inherit its mask.
 *
 * The CPU-list text helpers (cpuset(7) "list format", as taskset -c and
 * /proc/self/status write them) are here too, so a list typed by a user and the
 * mask given to the kernel share one notion of which CPUs a mask can hold.
 */
import * as libc from './libc.js';

/** CPUs a cpu_set_t holds (glibc's CPU_SETSIZE). */
const CPU_SETSIZE = libc.CPU_SETSIZE_BYTES * 8;

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/** sizeof(unsigned long), the word of cpu_set_t's bitmap, on the 32-bit targets Node builds for. */
const LONG_BYTES = ['arm', 'ia32', 'mips', 'mipsel', 'ppc'].includes(process.arch) ? 4 : 8;

/**
 * The byte of a cpu_set_t holding CPU c. The set is an array of unsigned longs with CPU c
 * at bit c % bits-per-long of long c / bits-per-long (CPU_SET in sched.h): byte c / 8 on a
 * little-endian machine; on a big-endian one that byte's place is mirrored within its long.
 */
function byteOf(c: number): number {
  return LITTLE_ENDIAN ? c >>> 3 : (c >>> 3) ^ (LONG_BYTES - 1);
}

/** The cpu_set_t bytes of `cpus`; a RangeError for no CPU or one outside 0..1023. */
export function cpuSet(cpus: readonly number[], who = 'cpuSet'): Uint8Array {
  if (cpus.length === 0) throw new RangeError(`${who}: no CPU given`);
  const mask = new Uint8Array(libc.CPU_SETSIZE_BYTES);
  for (const c of cpus) {
    if (!Number.isInteger(c) || c < 0 || c >= CPU_SETSIZE)
      throw new RangeError(`${who}: CPU ${c} outside 0..${CPU_SETSIZE - 1}`);
    mask[byteOf(c)]! |= 1 << (c & 7);
  }
  return mask;
}

/** The CPUs of a cpu_set_t, ascending (CPU_ISSET over all CPU_SETSIZE bits). */
export function cpusOfSet(mask: Uint8Array): number[] {
  const cpus: number[] = [];
  for (let c = 0; c < mask.length * 8; c++) if (mask[byteOf(c)]! & (1 << (c & 7))) cpus.push(c);
  return cpus;
}

/** The CPUs thread `tid` of this process may run on (0: the calling thread). */
export function tidAffinity(tid: number): number[] {
  const mask = new Uint8Array(libc.CPU_SETSIZE_BYTES);
  libc.schedGetaffinity(tid, mask);
  return cpusOfSet(mask);
}

/** The CPUs the calling thread may run on. */
export function threadAffinity(): number[] {
  return tidAffinity(0);
}

function pin(tid: number, cpus: readonly number[], who: string): boolean {
  const mask = cpuSet(cpus, who);
  libc.schedSetaffinity(tid, mask);
  const want = cpusOfSet(mask);
  const got = tidAffinity(tid);
  return got.length === want.length && got.every((c, i) => c === want[i]);
}

/**
 * Restrict thread `tid` of this process (a kernel thread id, as libc.gettid() or
 * threadTid() report it in that thread; 0: the calling thread) to `cpus`. Returns
 * whether the thread's mask is now exactly `cpus`: the kernel silently drops CPUs
 * its cpuset does not allow, and answers EINVAL (thrown as NativeError) when none is
 * left, ESRCH when no such thread exists, EPERM when not allowed.
 */
export function pinTid(tid: number, cpus: readonly number[]): boolean {
  if (!Number.isInteger(tid) || tid < 0) throw new RangeError(`pinTid: ${tid} is not a thread id`);
  return pin(tid, cpus, 'pinTid');
}

/** Restrict the calling thread to `cpus`: pinTid(0, cpus). */
export function pinThread(cpus: readonly number[]): boolean {
  return pin(0, cpus, 'pinThread');
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
    if (hi >= CPU_SETSIZE) throw new RangeError(`CPU ${hi} is beyond the ${CPU_SETSIZE} a mask holds`);
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
