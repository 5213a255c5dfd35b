/**
 * The worker doorbell's sleep/wake protocol under real threads: two ring producers and an
 * app-input producer (the shape of a group worker fed by two peer workers and sockapp)
 * hammer one consumer that sleeps whenever its re-check finds nothing. With the protocol
 * right (announce sleep, re-check every source, then wait; producers ring only when the
 * consumer announced), no sleep ever runs to its timeout. A consumer asleep in poll(2) on
 * an eventfd the doorbell names is woken by a ring or signal from another thread at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { FrameRing } from '../src/ring.js';
import { Doorbell, DOORBELL_BYTES } from '../src/doorbell.js';
import { libc, nativeStatus } from '../src/native/index.js';

/** What a role's thread posts back (doorbell-worker.ts). */
type RoleCounts = Record<string, number> & { got: number; errors: number; timedOut: number; sleeps: number };

const ROUNDS = 3000;
/** Long enough that only a lost wakeup reaches it. */
const TIMEOUT_MS = 10_000;
const SEED = 0xd00b;

const url = new URL('./doorbell-worker.js', import.meta.url);

/** Run the consumer against `ringProducers` ring producers and, when `app`, the app producer. */
async function hammer(ringProducers: number, app: boolean, seed: number): Promise<RoleCounts> {
  const rings = Array.from({ length: ringProducers }, () => FrameRing.create({ slots: 4, slotSize: 8 }).sab);
  const bell = new SharedArrayBuffer(DOORBELL_BYTES);
  const appSab = new SharedArrayBuffer(8);
  const run = (role: string, data: Record<string, unknown>) =>
    new Promise<RoleCounts>((resolve, reject) => {
      const w = new Worker(url, {
        workerData: { role, bell, app: appSab, apps: app ? 1 : 0, rounds: ROUNDS, timeoutMs: TIMEOUT_MS, ...data },
      });
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => {
        if (code !== 0) reject(new Error(`${role} exited ${code}`));
      });
    });
  const producers = rings.map((r, i) => run('ring', { rings: [r], seed: seed + 1 + i }));
  if (app) producers.push(run('app', { rings: [], seed: seed + 100 }));
  const [cons, ...prods] = await Promise.all([run('consumer', { rings, seed }), ...producers]);
  const total = ROUNDS * prods.length;
  assert.equal(
    prods.reduce((n, p) => n + p.published!, 0),
    total,
  );
  assert.equal(cons.got, total, 'every publish was taken');
  assert.equal(cons.errors, 0, 'frames in order on each ring');
  assert.equal(cons.timedOut, 0, `no sleep ran to its ${TIMEOUT_MS} ms timeout (seed ${seed}): a publish was not rung`);
  assert.ok(cons.sleeps > 0, `the consumer slept (${cons.sleeps}) and was woken every time`);
  assert.equal(new Doorbell(bell).ctl, false);
  return cons;
}

// One producer at a time: nothing else can wake the consumer, so a lost ring shows as a timeout.
test('a ring producer against a sleeping consumer: no lost wakeup', async () => {
  await hammer(1, false, SEED);
});
test('an app producer (input the re-check reads through ready()) against a sleeping consumer: no lost wakeup', async () => {
  await hammer(0, true, SEED + 7);
});
// Several producers take the one SLEEPING word: only one rings, the consumer's re-check sees the rest.
test('two ring producers and an app producer against one consumer: no lost wakeup', async () => {
  await hammer(2, true, SEED + 13);
});

test('signal() wakes a sleeper with nothing published and leaves CTL set until taken', () => {
  const d = new Doorbell();
  d.signal();
  assert.equal(
    d.sleep(TIMEOUT_MS, () => false),
    false,
    'the re-check sees CTL: no sleep',
  );
  assert.equal(d.takeCtl(), true);
  assert.equal(d.takeCtl(), false);
  assert.equal(
    d.sleep(1, () => true),
    false,
    'ready() cancels the sleep',
  );
  assert.equal(
    d.sleep(1, () => false),
    true,
  );
  assert.equal(d.timedOut, true);
});

const native = nativeStatus();
for (const how of ['ring', 'signal'] as const) {
  test(`a ${how}() from another thread ends a poll(2) sleep on the doorbell's eventfd`, (t) => {
    if (!native.ok) return t.skip(`needs the native layer: ${native.reason}`);
    const sab = new SharedArrayBuffer(DOORBELL_BYTES);
    const d = new Doorbell(sab);
    const efd = libc.eventfd();
    d.wakeFd = efd;
    const pfd = [{ fd: efd, events: libc.POLLIN, revents: 0 }];
    const wait = (ms: number): boolean => {
      const r = libc.poll(pfd, ms);
      if (r > 0) libc.eventfdDrain(efd);
      return r > 0;
    };
    try {
      // Nobody rings: the poll runs to its timeout.
      assert.equal(
        d.sleepOn(5, () => false, wait),
        true,
      );
      assert.equal(d.timedOut, true);
      // The kicker spins until SLEEPING is announced, then rings once; this thread blocks in poll.
      const w = new Worker(url, { workerData: { role: 'kick', bell: sab, signal: how === 'signal' } });
      const exited = new Promise((r) => w.once('exit', r));
      const t0 = performance.now();
      assert.equal(
        d.sleepOn(TIMEOUT_MS, () => false, wait),
        true,
      );
      const ms = performance.now() - t0;
      assert.equal(d.timedOut, false, `woken by the eventfd, not the ${TIMEOUT_MS} ms timeout`);
      assert.ok(ms < TIMEOUT_MS / 2, `woke after ${ms.toFixed(1)} ms`);
      assert.equal(d.takeCtl(), how === 'signal');
      return exited.then(() => undefined);
    } finally {
      d.wakeFd = 0;
      libc.close(efd);
    }
  });
}
