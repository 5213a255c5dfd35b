/**
 * The study's probe in every group worker: an in-worker app (loaded by module URL, the
 * runtime's way to run user code in a worker) that does no network work and reports its
 * thread's kernel id in the worker's stats. With it the study reads each worker's CPU time
 * by tid at the edges of a window and pins the thread to a core (affinity.ts) without
 * asking the runtime for either. It also counts its isolate's garbage collections (V8's
 * `gc` performance entries): a window's GC pauses in the workers, to tell a slow window
 * stalled by the collector from one whose loop did more work per transaction.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { GroupApp } from '@mcstack/runtime';
import { defineApp, threadTid } from '@mcstack/runtime';

/** The name the probe's stats are under in each WorkerStats.apps. */
export const THREAD_APP = 'study-thread';

/** Its AppSpec, for a stack's `apps`. */
export function threadAppSpec(): { module: string; name: string } {
  return { module: new URL('./threadapp.js', import.meta.url).href, name: THREAD_APP };
}

export default defineApp(THREAD_APP, {}, threadApp);

function threadApp(): GroupApp {
  let tid = -1;
  const gc = { gcCount: 0, gcUs: 0, gcMajor: 0 };
  // Entries arrive on the worker's event loop, which the group loop visits between slices.
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.gcCount++;
      gc.gcUs += Math.round(e.duration * 1000);
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.gcMajor++;
    }
  });
  return {
    start() {
      tid = threadTid();
      obs.observe({ entryTypes: ['gc'] });
    },
    poll: () => false,
    stop() {
      obs.disconnect();
    },
    stats: () => ({ tid, ...gc }),
  };
}
