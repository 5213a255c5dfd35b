/**
 * CPU time per OS thread, read from Linux procfs: how much CPU each
 * group worker, the coordinator and the rest of the process (V8's GC and compiler threads,
 * libuv) really used, whatever the threads were doing (polling, sleeping on a doorbell,
 * waiting for a lock).
 *
 * Source, best first: `schedstat`'s first field (sum_exec_runtime, ns; needs the kernel's
 * CONFIG_SCHED_INFO, which every distribution kernel has), else `stat`'s utime + stime in
 * USER_HZ ticks (10 ms: coarse over short windows). Node 20 has no per-thread CPU clock
 * (process.threadCpuUsage came in Node 23.9), and process.cpuUsage() is the whole process.
 *
 * Reading a file allocates: call these at the edges of a measured window, never per packet.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * The tick of /proc's utime/stime fields. The kernel exports them in USER_HZ, fixed at 100
 * on every architecture Node runs on (it is the ABI constant, not CONFIG_HZ: `getconf
 * CLK_TCK` prints it).
 */
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

/** Fields after the `(comm)` of /proc/.../stat, counted from 0 at `state` (field 3). */
const STAT_UTIME = 14 - 3;
const STAT_STIME = 15 - 3;

function cpuNsOf(dir: string): number {
  try {
    const s = readFileSync(`${dir}/schedstat`, 'latin1');
    const sp = s.indexOf(' ');
    const ns = Number(s.slice(0, sp < 0 ? undefined : sp));
    if (Number.isFinite(ns)) return ns;
  } catch {
    // no schedstat: fall through to stat
  }
  try {
    const s = readFileSync(`${dir}/stat`, 'latin1');
    // comm may hold spaces and parentheses: the fields start after the last ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[STAT_UTIME]) + Number(f[STAT_STIME])) * NS_PER_TICK;
  } catch {
    return NaN;
  }
}

/** Whether this system exposes per-thread CPU time (Linux procfs). */
export function threadCpuAvailable(): boolean {
  return Number.isFinite(cpuNsOf('/proc/thread-self'));
}

/** CPU time the calling thread has used since it started, in ns; NaN without procfs. */
export function threadCpuNs(): number {
  return cpuNsOf('/proc/thread-self');
}

/**
 * The calling thread's kernel thread id (the `tid` of gettid()), so another thread can read
 * its CPU time with taskCpuNs() without asking it; -1 without procfs.
 */
export function threadTid(): number {
  try {
    // "/proc/thread-self" -> "<pid>/task/<tid>"
    const link = readlinkSync('/proc/thread-self');
    return Number(link.slice(link.lastIndexOf('/') + 1));
  } catch {
    return -1;
  }
}

/** CPU time of thread `tid` of this process in ns; NaN once the thread has exited. */
export function taskCpuNs(tid: number): number {
  return cpuNsOf(`/proc/self/task/${tid}`);
}

/** CPU time of every live thread of this process (tid -> ns). */
export function tasksCpuNs(): Map<number, number> {
  const out = new Map<number, number>();
  let names: string[];
  try {
    names = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const name of names) {
    const ns = cpuNsOf(`/proc/self/task/${name}`);
    if (Number.isFinite(ns)) out.set(Number(name), ns);
  }
  return out;
}

/** User + system CPU time of the whole process (every thread, live or exited), in ns. */
export function processCpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}
