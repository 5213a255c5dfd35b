/** Bounded waits for tests with real threads: they say what they waited for, never how long it took. */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';

/** Poll `get` until `cond` holds; fail naming `what` and the last value after `limitMs`. */
export async function waitFor<T>(
  what: string,
  get: () => Promise<T>,
  cond: (v: T) => boolean,
  limitMs = 30_000,
): Promise<T> {
  const end = Date.now() + limitMs;
  let v = await get();
  while (!cond(v)) {
    if (Date.now() > end) assert.fail(`gave up waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
    v = await get();
  }
  return v;
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}
