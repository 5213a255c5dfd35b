/**
 * The coordinator's reservation table under crr's load: an active open's reservation (an
 * ephemeral port whose return 4-tuple hashes to the opening worker, in_pcb_lport's probe)
 * and the release of the oldest, with 22k tuples held (TIME-WAIT at 44k conn/s and
 * msl 250 ms: 40% of the ephemeral range). At 2 workers half the ports are aligned to a
 * worker, so the probe looks at more of them. Units: reserve+release pairs.
 */
import { ReservationTable } from '@mcstack/runtime';
import { IndirectionTable } from '@mcstack/rss';
import type { MicroTask } from './index.js';

const HELD = 22_000;
const LADDR = 0x0a000001;
const FADDR = 0x0a000002;
const FPORT = 5001;

function churn(workers: number): () => void {
  const t = new ReservationTable({ seed: 1 });
  const ind = new IndirectionTable(workers);
  const ring = new Int32Array(HELD);
  let w = 0;
  for (let i = 0; i < HELD; i++) {
    ring[i] = t.connectReserve4(LADDR, FADDR, FPORT, w, ind).id;
    w = (w + 1) % workers;
  }
  let head = 0;
  return () => {
    t.release(ring[head]!);
    ring[head] = t.connectReserve4(LADDR, FADDR, FPORT, w, ind).id;
    head = (head + 1) % HELD;
    w = (w + 1) % workers;
  };
}

export const tasks: MicroTask[] = [
  { name: 'reservation connect+release, 1 worker, 40% held', unitsPerOp: 1, unit: 'pairs', fn: churn(1) },
  { name: 'reservation connect+release, 2 workers, 40% held', unitsPerOp: 1, unit: 'pairs', fn: churn(2) },
];
