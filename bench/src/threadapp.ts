/**
 * The study's probe in every group worker: an in-worker app (loaded by module URL, the
 * runtime's way to run user code in a worker) that does no network work and reports its
 * thread's kernel id in the worker's stats. With it the study reads each worker's CPU time
 * by tid at the edges of a window and pins the thread to a core (affinity.ts) without
 * asking the runtime for either.
 */
import type { GroupApp } from '@mcstack/runtime';
import { threadTid } from '@mcstack/runtime';

/** The name the probe's stats are under in each WorkerStats.apps. */
export const THREAD_APP = 'study-thread';

/** Its AppSpec, for a stack's `apps`. */
export function threadAppSpec(): { module: string; name: string } {
  return { module: new URL('./threadapp.js', import.meta.url).href, name: THREAD_APP };
}

export default function threadApp(): GroupApp {
  let tid = -1;
  return {
    start() {
      tid = threadTid();
    },
    poll: () => false,
    stop() {},
    stats: () => ({ tid }),
  };
}
