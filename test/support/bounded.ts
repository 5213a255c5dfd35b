/** Bounded waits for the API tests: a promise that takes longer than `ms` fails, naming what and the seed. */
export function bounded<T>(p: Promise<T>, ms: number, what: string, seed: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what}: no result in ${ms} ms (seed ${seed})`)), ms);
    }),
  ]);
}
