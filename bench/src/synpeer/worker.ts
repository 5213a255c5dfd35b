/**
 * The synthetic peer's thread, one long-lived piscina task as a group worker is: drains the
 * rings from every worker of the stack under test, answers through the StatelessResponder,
 * and writes the replies into the stack's RX rings
 * with RSS as the stack's NIC would place them (LinkTx with the stack's indirection table
 * and strategy). Sleeps on its doorbell when idle; a signal on it means stop. Its counters
 * are published in shared memory after every batch, so reading them costs the peer nothing.
 */
import { newFrameMeta } from '@mcstack/netinet';
import {
  FrameRing,
  RingConsumer,
  META_WORDS,
  META_LEN,
  META_CSUM_FLAGS,
  LinkTx,
  Doorbell,
  threadTid,
  errorInfo,
  type ErrorInfo,
} from '@mcstack/runtime';
import { StatelessResponder } from './responder.js';
import { RESPONDER_STAT_KEYS, type PeerTask } from './task.js';

const RX_BATCH = 64;
/** Idle sleep bound: the stop signal wakes us anyway; this only bounds a missed one. */
const IDLE_SLEEP_MS = 100;

/** Resolves when the peer stops; a thrown error comes back as its ErrorInfo (codes do not survive piscina's rejection). */
export default function peer(t: PeerTask): { error?: ErrorInfo } {
  try {
    serve(t);
    return {};
  } catch (e) {
    return { error: errorInfo(e) };
  }
}

function serve(t: PeerTask): void {
  const stats = new Float64Array(t.stats);
  const bell = new Doorbell(t.bell);
  const rx = t.rx.map((sab) => new RingConsumer(FrameRing.attach(sab)));
  const tx = new LinkTx(t.tx, t.bells, t.indirection, t.strategy);
  // Complete checksums and no offload request, so no "verified by the card" claim reaches the
  // stack: it checks them as it checks a peer stack's (cxgbe0 offloads nothing by default).
  // A claim would make a card without RXCSUM recompute them first (finishChecksums).
  const meta = newFrameMeta();
  const responder = new StatelessResponder(
    { addr: new Uint8Array(t.addr), mac: new Uint8Array(t.mac), port: t.port, key: new Uint8Array(t.key) },
    (frame) => {
      tx.send(frame, meta);
    },
  );
  const counters = responder.stats;
  const n0 = RESPONDER_STAT_KEYS.length;
  let loops = 0;
  let sleeps = 0;
  const publish = (): void => {
    for (let i = 0; i < n0; i++) stats[i] = counters[RESPONDER_STAT_KEYS[i]!];
    stats[n0] = loops;
    stats[n0 + 1] = sleeps;
    stats[n0 + 2] = tx.drops;
  };
  const pending = (): boolean => {
    for (const c of rx) if (c.peek(1) > 0) return true;
    return false;
  };
  // The thread id says the loop runs (start() waits for it) and lets the main thread read our CPU.
  const ready = new Int32Array(t.ready);
  Atomics.store(ready, 0, threadTid());
  Atomics.notify(ready, 0);
  for (;;) {
    loops++;
    const now = performance.now();
    let n = 0;
    for (const c of rx) {
      const k = c.peek(RX_BATCH);
      if (k === 0) continue;
      const ring = c.ring;
      const m = ring.meta;
      for (let i = 0; i < k; i++) {
        const s = c.slot(i);
        const b = s * META_WORDS;
        responder.input(ring.views[s]!, m[b + META_LEN]!, m[b + META_CSUM_FLAGS]!, now);
      }
      c.release(k);
      n += k;
    }
    if (n > 0) {
      tx.flush();
      publish();
      continue;
    }
    if (bell.takeCtl()) break;
    sleeps++;
    bell.sleep(IDLE_SLEEP_MS, pending);
  }
  tx.flush();
  publish();
}
