/**
 * The SAB frame ring across two real threads (not part of the micro suite): a producer
 * worker copies 1500-byte frames into slots in batches of 32 and publishes each batch
 * with one store; a consumer worker peeks, reads each frame's length and both ends, and
 * releases. Prints frames/s and GB/s (frame bytes moved) over a fixed frame count; the
 * design card's figure for this machine was 2.6 M frames/s.
 *
 *   npx tsc -b && node bench/dist/ring-threads.js [frames=5000000] [slots=1024] [batch=32] [spins=2000]
 */
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { FrameRing, RingProducer, RingConsumer, META_WORDS, META_LEN } from '@mcstack/runtime';

const FRAME = 1500;

interface Job {
  role: 'producer' | 'consumer';
  sab: SharedArrayBuffer;
  frames: number;
  batch: number;
  spins: number;
}

if (isMainThread) {
  const frames = Number(process.argv[2] ?? 5_000_000);
  const slots = Number(process.argv[3] ?? 1024);
  const batch = Number(process.argv[4] ?? 32);
  const spins = Number(process.argv[5] ?? 2000);
  const runs = 3;
  console.log(
    `ring across threads: ${frames} frames of ${FRAME} B, ${slots} slots, batches of ${batch}, consumer spins ${spins} before sleeping, ${runs} runs`,
  );
  for (let run = 0; run < runs; run++) {
    const ring = FrameRing.create({ slots, slotSize: 2048 });
    const start = (role: Job['role']) =>
      new Promise<Record<string, number>>((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), {
          workerData: { role, sab: ring.sab, frames, batch, spins } satisfies Job,
        });
        w.once('message', resolve);
        w.once('error', reject);
      });
    const t0 = process.hrtime.bigint();
    const [prod, cons] = await Promise.all([start('producer'), start('consumer')]);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    // The consumer's own span (first frame to last) excludes worker start-up.
    const span = cons.spanNs! / 1e9;
    const fps = cons.received! / span;
    console.log(
      `run ${run + 1}: ${(fps / 1e6).toFixed(2)} M frames/s, ${((fps * FRAME) / 1e9).toFixed(2)} GB/s` +
        ` (consumer span ${span.toFixed(3)} s, wall incl. start-up ${secs.toFixed(3)} s;` +
        ` producer full-ring retries ${prod.full}, consumer sleeps ${cons.sleeps}, producer notifies ${prod.notifies})`,
    );
    if (cons.received !== frames || cons.bad !== 0) throw new Error(`lost or corrupt frames: ${JSON.stringify(cons)}`);
  }
} else {
  const { role, sab, frames, batch, spins } = workerData as Job;
  const ring = FrameRing.attach(sab);
  if (role === 'producer') {
    const p = new RingProducer(ring);
    const src = new Uint8Array(FRAME).map((_, i) => i);
    let sent = 0,
      full = 0;
    while (sent < frames) {
      const n = p.reserve(Math.min(batch, frames - sent));
      if (n === 0) {
        full++;
        continue;
      }
      for (let k = 0; k < n; k++) {
        const s = p.slot(k);
        const v = ring.views[s]!;
        v.set(src);
        v[0] = sent + k;
        ring.meta[s * META_WORDS + META_LEN] = FRAME;
      }
      p.commit(n);
      p.publish();
      sent += n;
    }
    p.close();
    parentPort!.postMessage({ full, notifies: p.notifies });
  } else {
    const c = new RingConsumer(ring);
    let received = 0,
      bad = 0,
      t0 = 0n;
    for (;;) {
      const n = c.peek(batch);
      if (n === 0) {
        if (c.wait(Infinity, spins) === 'closed' && c.peek(1) === 0) break;
        continue;
      }
      if (t0 === 0n) t0 = process.hrtime.bigint();
      for (let k = 0; k < n; k++) {
        const s = c.slot(k);
        const len = ring.meta[s * META_WORDS + META_LEN]!;
        const v = ring.views[s]!;
        if (len !== FRAME || v[0] !== ((received + k) & 0xff) || v[len - 1] !== ((FRAME - 1) & 0xff)) bad++;
      }
      c.release(n);
      received += n;
    }
    parentPort!.postMessage({ received, bad, sleeps: c.sleeps, spanNs: Number(process.hrtime.bigint() - t0) });
  }
}
