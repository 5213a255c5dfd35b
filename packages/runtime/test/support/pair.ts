/**
 * Two stacks joined by the link matrix, as the runtime tests build them: B (the server
 * side) and A (the client side), N workers each, IPv4 and IPv6 addresses; and a runner
 * that starts B then A and always stops both, so no thread outlives its test.
 */
import { Stack, type StackOptions, type NetstatEntry } from '../../src/index.js';

export const MAC_A = '02:00:00:00:00:0a';
export const MAC_B = '02:00:00:00:00:0b';

export function pair(
  workers: number,
  a: Partial<StackOptions>,
  b: Partial<StackOptions>,
  strategy: StackOptions['strategy'] = 'rss-groups',
) {
  const B = Stack.create({
    name: 'B',
    workers,
    strategy,
    mac: MAC_B,
    addrs: ['10.0.0.2/24', 'fd00::2/64'],
    seed: 2,
    ...b,
  });
  const A = Stack.create({
    name: 'A',
    workers,
    strategy,
    mac: MAC_A,
    addrs: ['10.0.0.1/24', 'fd00::1/64'],
    seed: 1,
    ...a,
  });
  const link = Stack.join(A, B);
  return { A, B, link };
}

export async function withPair<T>(p: { A: Stack; B: Stack }, fn: () => Promise<T>): Promise<T> {
  try {
    await p.B.start();
    await p.A.start();
    return await fn();
  } finally {
    await p.A.stop();
    await p.B.stop();
  }
}

/** An app's stats, as a getter for waitFor. */
/** An app's summed counters; the client apps all keep `established` and `transactions`. */
export type AppCounters = Record<string, number> & { established: number; transactions: number };
export const appStats = (s: Stack, name: string) => async () => ((await s.stats()).apps[name] ?? {}) as AppCounters;
/** The connections (no listeners) of a netstat. */
export const connected = (l: NetstatEntry[]) => l.filter((e) => e.fport !== 0 && e.state !== 'LISTEN');
