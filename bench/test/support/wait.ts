/** A bounded wait for tests with real threads: it says what it waited for, never how long it took. */
import assert from 'node:assert/strict';

/** Poll `get` until `cond` holds; fail naming `what` and the last value after `limitMs`. */
export async function waitFor<T>(what: string, get: () => Promise<T>, cond: (v: T) => boolean, limitMs = 30_000): Promise<T> {
  const end = Date.now() + limitMs;
  let v = await get();
  while (!cond(v)) {
    if (Date.now() > end) assert.fail(`gave up waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
    v = await get();
  }
  return v;
}
