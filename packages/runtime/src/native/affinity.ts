/**
 * CPU pinning of the calling thread. sched_setaffinity(2) with pid 0 acts on the
 * calling thread only, and every worker_thread is an OS thread of its own, so a
 * group worker pins itself by calling pinThread from inside. Threads created
 * afterwards by a pinned thread inherit its mask.
 */
import * as libc from './libc.js';

/** The CPUs of a cpu_set_t (CPU_ISSET over all CPU_SETSIZE bits). */
function cpusOf(mask: Uint8Array): number[] {
  const cpus: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    const byte = mask[i]!;
    for (let b = 0; b < 8; b++) if (byte & (1 << b)) cpus.push(i * 8 + b);
  }
  return cpus;
}

/** The CPUs the calling thread may run on. */
export function threadAffinity(): number[] {
  const mask = new Uint8Array(libc.CPU_SETSIZE_BYTES);
  libc.schedGetaffinity(0, mask);
  return cpusOf(mask);
}

/**
 * Restrict the calling thread to `cpus`. Returns whether the thread's mask is now
 * exactly `cpus`: the kernel silently drops CPUs its cpuset does not allow, and
 * answers EINVAL (thrown as NativeError) when none is left.
 */
export function pinThread(cpus: readonly number[]): boolean {
  if (cpus.length === 0) throw new RangeError('pinThread: no CPU given');
  const mask = new Uint8Array(libc.CPU_SETSIZE_BYTES);
  for (const c of cpus) {
    if (!Number.isInteger(c) || c < 0 || c >= mask.length * 8)
      throw new RangeError(`pinThread: CPU ${c} outside 0..${mask.length * 8 - 1}`);
    mask[c >>> 3]! |= 1 << (c & 7);
  }
  libc.schedSetaffinity(0, mask);
  const want = cpusOf(mask);
  const got = threadAffinity();
  return got.length === want.length && got.every((c, i) => c === want[i]);
}
