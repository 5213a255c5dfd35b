/**
 * Fail a promise that takes longer than `ms`, naming what waited and the seed (the suite
 * must stay bounded, and a failing seed is printed).
 */
export function bounded<T>(p: Promise<T>, ms: number, what: string, seed: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what}: no result in ${ms} ms (seed ${seed})`)), ms);
    }),
  ]);
}
