/**
 * One thread of the doorbell test (doorbell.test.ts). Producers: each round publishes one
 * frame on its own SPSC ring (or, for the 'app' producer, bumps a shared input counter as
 * sockapp's main→worker ring does), rings the doorbell, then waits until the consumer took
 * it, after a seeded pause so publishes land at every point of the consumer's sleep
 * announcement. The consumer, after a seeded pause of its own (a worker polls its apps
 * and runs callouts between its drain and its sleep), sleeps on the doorbell with no spinning and a long timeout
 * whenever its re-check (every ring and the app input) finds nothing: a sleep that runs
 * to its timeout is a lost wakeup. The 'kick' role waits until the consumer announced
 * its sleep, then rings (or signals, with `signal`) once.
 */
import { workerData, parentPort } from 'node:worker_threads';
import { SeededRandom } from '@mcstack/netinet';
import { FrameRing, RingProducer, RingConsumer } from '../src/ring.js';
import { Doorbell } from '../src/doorbell.js';

const { role, rings, bell, app, apps, rounds, seed, timeoutMs, signal } = workerData as {
  role: 'ring' | 'app' | 'consumer' | 'kick';
  signal?: boolean;
  rings: SharedArrayBuffer[];
  bell: SharedArrayBuffer;
  app: SharedArrayBuffer;
  /** Consumer: how many app producers feed it (0 or 1). */
  apps: number;
  rounds: number;
  seed: number;
  timeoutMs: number;
};
const d = new Doorbell(bell);
/** [0]: app input posted, [1]: app input taken. */
const appWords = new Int32Array(app);

function pause(rnd: SeededRandom): void {
  // 0 to ~10 µs of busy work: the publish falls before, inside or after the consumer's re-check.
  let x = 0;
  for (let i = rnd.below(400); i > 0; i--) x += i;
  if (x < 0) throw new Error('unreachable');
}

if (role === 'kick') {
  const w = new Int32Array(bell);
  while (Atomics.load(w, 0) === 0) {
    /* until the consumer announces its sleep (D_SLEEPING) */
  }
  if (signal) d.signal();
  else d.ring();
  parentPort!.postMessage({ kicked: 1 });
} else if (role === 'ring') {
  const p = new RingProducer(FrameRing.attach(rings[0]!));
  const rnd = new SeededRandom(seed);
  for (let r = 0; r < rounds; r++) {
    pause(rnd);
    const s = p.alloc();
    p.ring.views[s]![0] = r & 0xff;
    p.setLen(s, 1);
    p.publish();
    d.ring();
    while (p.ring.count !== 0) {
      /* the consumer takes it */
    }
  }
  parentPort!.postMessage({ published: rounds });
} else if (role === 'app') {
  const rnd = new SeededRandom(seed);
  for (let r = 0; r < rounds; r++) {
    pause(rnd);
    Atomics.add(appWords, 0, 1);
    d.ring();
    while (Atomics.load(appWords, 1) !== r + 1) {
      /* the consumer takes it */
    }
  }
  parentPort!.postMessage({ published: rounds });
} else {
  const cs = rings.map((sab) => new RingConsumer(FrameRing.attach(sab)));
  const expect = rounds * (cs.length + apps);
  const rnd = new SeededRandom(seed);
  let got = 0,
    sleeps = 0,
    cancelled = 0,
    timedOut = 0,
    errors = 0;
  const expectByte = cs.map(() => 0);
  const ready = (): boolean => {
    for (const c of cs) if (c.peek(1) > 0) return true;
    return Atomics.load(appWords, 0) !== Atomics.load(appWords, 1);
  };
  while (got < expect) {
    let work = 0;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!;
      const n = c.peek(64);
      for (let k = 0; k < n; k++) {
        if (c.ring.views[c.slot(k)]![0] !== (expectByte[i]! & 0xff)) errors++;
        expectByte[i]!++;
      }
      c.release(n);
      work += n;
    }
    const posted = Atomics.load(appWords, 0);
    const taken = Atomics.load(appWords, 1);
    if (posted !== taken) {
      work += posted - taken;
      Atomics.store(appWords, 1, posted);
    }
    got += work;
    if (work > 0 || got >= expect) continue;
    pause(rnd);
    if (!d.sleep(timeoutMs, ready)) {
      cancelled++;
      continue;
    }
    sleeps++;
    if (d.timedOut) timedOut++;
  }
  parentPort!.postMessage({ got, sleeps, cancelled, timedOut, errors });
}
