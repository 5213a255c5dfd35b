/**
 * Two engines with an RDMA device each, over tcp-harness's link (raw IP, a fixed
 * one-way delay, an optional seeded loss), the devices serviced after every
 * 100 µs of virtual time. Deterministic.
 */
import assert from 'node:assert/strict';
import { makePair, type Pair } from './tcp-harness.js';
import { SeededRandom } from '../src/kern/random.js';
import {
  C4iwDev,
  type IwCq,
  type IwQp,
  type IwPd,
  type IwMr,
  type IwCmId,
  type RdmaCmEvent,
  type MpaParams,
  RDMA_CM_EVENT_CONNECT_REQUEST,
  RDMA_CM_EVENT_ESTABLISHED,
} from '../src/dev/cxgbe/iw_cxgbe/index.js';
import { IBV_ACCESS_LOCAL_WRITE, IBV_ACCESS_REMOTE_READ, IBV_ACCESS_REMOTE_WRITE } from '../src/ofed/ib_verbs.js';

export interface Side {
  dev: C4iwDev;
  pd: IwPd;
  scq: IwCq;
  rcq: IwCq;
  qp: IwQp;
  id: IwCmId | null;
  events: RdmaCmEvent[];
}

export interface RdmaPair {
  p: Pair;
  a: Side;
  b: Side;
  /** Run until `stop()` or `us` of virtual time passed. */
  run(us: number, stop?: () => boolean): void;
  /** Register a region of `n` bytes on a side. */
  mr(s: Side, n: number, access?: number): IwMr;
  /** The link runs IPv6 (2001:db8::1 and ::2). */
  v6: boolean;
}

export const ALL_ACCESS = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;

function side(dev: C4iwDev): Side {
  const pd = dev.allocPd();
  const scq = dev.createCq(4096) as IwCq;
  const rcq = dev.createCq(4096) as IwCq;
  const qp = dev.createQp(pd, { sendCq: scq, recvCq: rcq, maxSendWr: 1024, maxRecvWr: 1024 }) as IwQp;
  return { dev, pd, scq, rcq, qp, id: null, events: [] };
}

/** A pair of engines and devices; `lossPct` of frames (both ways) dropped with `seed`. */
export function makeRdmaPair(seed: number, lossPct = 0, v6 = false): RdmaPair {
  const p = makePair(v6, seed);
  if (lossPct > 0) {
    const r = new SeededRandom(seed * 7919 + 1);
    p.drop = () => r.below(1000) < lossPct * 10;
  }
  const a = side(new C4iwDev(p.a, 'cxgb4_0'));
  const b = side(new C4iwDev(p.b, 'cxgb4_0'));
  const run = (us: number, stop?: () => boolean) => {
    const end = p.now + us;
    while (p.now < end) {
      if (stop?.()) return;
      p.run(Math.min(end, p.now + 100));
      a.dev.service();
      b.dev.service();
    }
  };
  const mr = (s: Side, n: number, access = ALL_ACCESS) => {
    const m = s.dev.regMr(s.pd, new Uint8Array(new SharedArrayBuffer(n)), access, 0x10000);
    assert.ok(typeof m !== 'number', `reg_mr: ${m}`);
    return m as IwMr;
  };
  return { p, a, b, run, mr, v6 };
}

/** b listens on `port` and accepts with `bp`; a connects with `ap`; both see ESTABLISHED. */
export function connectPair(r: RdmaPair, ap: MpaParams = {}, bp: MpaParams = {}, port = 4791): void {
  const { a, b } = r;
  const l = b.dev.listen({ addr: r.v6 ? '::' : '0.0.0.0', port }, 8, (ev) => {
    b.events.push(ev);
    if (ev.event === RDMA_CM_EVENT_CONNECT_REQUEST) {
      b.id = ev.id;
      assert.equal(b.dev.accept(ev.id, b.qp, bp), 0);
    }
  });
  assert.ok(typeof l !== 'number', `listen: ${l}`);
  const id = a.dev.connect(a.qp, { addr: r.v6 ? '2001:db8::2' : '10.0.0.2', port }, ap, (ev) => a.events.push(ev));
  assert.ok(typeof id !== 'number', `connect: ${id}`);
  a.id = id as IwCmId;
  r.run(1_000_000, () => a.events.some((e) => e.event === RDMA_CM_EVENT_ESTABLISHED));
  assert.ok(
    a.events.some((e) => e.event === RDMA_CM_EVENT_ESTABLISHED),
    `not established: ${a.events.map((e) => e.event)}`,
  );
  b.dev.destroyId(l as IwCmId);
}
