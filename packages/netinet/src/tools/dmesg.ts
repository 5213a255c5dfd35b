/**
 * `dmesg` (sbin/dmesg): the kernel message buffer's lines. Each worker's engine keeps its
 * own buffer; the lines of all of them are merged in time order (each worker's engine clock,
 * so lines of different workers a few µs apart may swap), one message a line as FreeBSD prints.
 */
import type { StackSnapshot } from './snapshot.js';
import type { LogMessage } from '../kern/msgbuf.js';

/** Every snapshot's messages, oldest first (a stable merge: a worker's own order is kept). */
export function mergeMessages(snaps: readonly StackSnapshot[]): (LogMessage & { worker: string })[] {
  const all = snaps.flatMap((s) => (s.messages ?? []).map((m) => ({ ...m, worker: s.worker })));
  return all.sort((a, b) => a.time - b.time);
}

export function formatDmesg(snaps: readonly StackSnapshot[]): string {
  return mergeMessages(snaps)
    .map((m) => `${m.text}\n`)
    .join('');
}
