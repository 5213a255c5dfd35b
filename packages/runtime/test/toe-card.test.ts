/**
 * The TOE card as a worker of its own (worker/card.ts): started by `kldload t4_tom` with
 * the configured limits, stopped by kldunload; `ifconfig cxgbe0 toe` refused until then;
 * the link handing the card its TIDs' frames before RSS (the groups no longer see them);
 * the card's failure reported as 'worker-error' with its code, its TIDs taken away, the
 * host serving on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIP } from '@mcstack/wire';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TOE } from '@mcstack/netinet';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats, connected } from './support/pair.js';
import { ToeCard } from '../src/toecard.js';
import { ReservationTable } from '../src/reservations.js';
import type { WorkerError } from '../src/index.js';

const TOE_CARD = {
  capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE,
  capenable: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6,
  toe: { ntids: 64, memory: 1 << 20 },
};

test('kldload t4_tom starts the card with its limits; toe refused before; kldunload EBUSY while toe is on', async () => {
  const p = pair(1, {}, { ...TOE_CARD, apps: [{ name: 'echo', port: 7 }] });
  await withPair(p, async () => {
    const B = p.B;
    assert.equal(B.cardAlive, false);
    await assert.rejects(B.control(0).ifconfig(['cxgbe0', 'toe']), { code: 'EOPNOTSUPP' });
    await B.kldload('t4_tom');
    assert.equal(B.cardAlive, true);
    const card = B.cardControl();
    assert.equal(await card.sysctlGet('dev.t4nex.0.toe.ntids'), 64);
    assert.equal(await card.sysctlGet('dev.t4nex.0.toe.memory'), 1 << 20);
    assert.equal(await card.sysctlGet('dev.t4nex.0.toe.tids_in_use'), 0);
    await B.control(0).ifconfig(['cxgbe0', 'toe']);
    await assert.rejects(B.kldunload('t4_tom'), { code: 'EBUSY' });
    assert.equal(B.cardAlive, true);
    await B.control(0).ifconfig(['cxgbe0', '-toe']);
    await B.kldunload('t4_tom');
    assert.equal(B.cardAlive, false);
    assert.throws(() => B.cardControl(), { code: 'ESRCH' });
  });
});

test('the link gives the card its TIDs frames before RSS; the card failing is a worker-error, its TIDs go, the host serves on', async () => {
  const N = 8;
  const p = pair(
    2,
    { apps: [{ name: 'rr-client', options: { addr: '10.0.0.2', port: 7, connections: N, size: 20 } }] },
    { ...TOE_CARD, apps: [{ name: 'echo', port: 7 }], modules: ['t4_tom'] },
  );
  await withPair(p, async () => {
    const B = p.B;
    assert.equal(B.cardAlive, true, 'modules: [t4_tom] starts the card with the stack');
    await waitFor('rr running', appStats(p.A, 'rr-client'), (s) => s.established === N && s.transactions > 4 * N);
    // One of B's connections gets a TID by hand: from now on its segments reach the card,
    // which holds no pcb for it and resets it; the groups never see them.
    const victim = connected(await B.netstat())[0]!;
    const tids = B.toeTids!;
    tids.insert({
      src: parseIP(victim.faddr)!,
      dst: parseIP(victim.laddr)!,
      sport: victim.fport,
      dport: victim.lport,
    });
    const c = await waitFor(
      'the card got its frames',
      () => B.cardCounters(),
      (x) => (x?.rxFrames ?? 0) > 0,
    );
    assert.equal(c!.tidsInUse, 1);
    await waitFor('A saw the reset', appStats(p.A, 'rr-client'), (s) => (s.errors ?? 0) >= 1);
    const before = (await appStats(p.A, 'rr-client')()).transactions;
    const failed = new Promise<WorkerError>((resolve) => B.once('worker-error', resolve));
    await B.cardControl().sysctlSet('debug.kdb.panic', 1);
    const err = await failed;
    assert.equal(err.code, 'MCSTACK_PANIC');
    assert.equal(err.worker, B.workers, 'the card reports as worker `workers`');
    assert.equal(B.cardAlive, false);
    assert.equal(tids.inUse, 0, 'its TIDs are gone');
    assert.ok(B.alive(0) && B.alive(1));
    await waitFor('the host serves on', appStats(p.A, 'rr-client'), (s) => s.transactions > before + 4 * N);
  });
});

test("the card admits by the hosts' congestion-control algorithm from the start: a config's cubic is refused_cc", () => {
  assert.equal(ToeCard.forStack({ capabilities: IFCAP_TOE })?.ccAlgorithm, 'newreno');
  const card = ToeCard.forStack({ capabilities: IFCAP_TOE, sysctl: { 'net.inet.tcp.cc.algorithm': 'cubic' } });
  assert.equal(card?.ccAlgorithm, 'cubic');
});

test('a misspelt toe limit is EINVAL, not the default in force unseen', () => {
  assert.throws(() => ToeCard.forStack({ capabilities: IFCAP_TOE, toe: { ntid: 8 } as never }), { code: 'EINVAL' });
  assert.equal(
    ToeCard.forStack({ capabilities: IFCAP_TOE, toe: { ntids: 8, memory: 1 << 20, apps: [] } })?.tids.ntids,
    8,
  );
});

test("a card run that fails after kldload started the next leaves the next run's TIDs and reservations alone", () => {
  // stop() gives a run 5 s, then drops it: its thread can still fail after a new kldload.
  const card = ToeCard.forStack({ capabilities: IFCAP_TOE })!;
  const inner = card as unknown as { run: unknown; failed(host: unknown, run: unknown, info: unknown): void };
  inner.run = { alive: true };
  assert.ok(
    card.tids.insert({ src: Uint8Array.of(10, 0, 0, 1), dst: Uint8Array.of(10, 0, 0, 2), sport: 1, dport: 2 }) >= 0,
  );
  let released = 0;
  const host = {
    workers: 1,
    reservations: { releaseWorker: () => released++ },
    cardFailed: () => assert.fail('a stale run is not reported'),
  };
  inner.failed(host, { alive: false }, { code: 'EIO', message: 'late' });
  assert.equal(card.tids.inUse, 1, "the new run's TID stays");
  assert.equal(released, 0, "the new run's reservations stay");
});

/** Import refused (the handoff's arriving half failing). */
const refused = () => Promise.reject(Object.assign(new Error('import refused'), { code: 'ENOMEM' }));

/**
 * A card (one-group stack: the card is index 1) and connection 10.0.0.2:49152 <-> 10.0.0.1:7
 * reserved for `worker`; on the card (worker 1) it also holds its TID and card memory.
 */
function cardWithConn(worker: number) {
  const card = ToeCard.forStack({ capabilities: IFCAP_TOE })!;
  const inner = card as unknown as { held: Map<number, unknown>; run: unknown };
  const reservations = new ReservationTable();
  const t = { laddr: '10.0.0.2', lport: 49152, faddr: '10.0.0.1', fport: 7 };
  const la = Uint8Array.of(10, 0, 0, 2);
  const fa = Uint8Array.of(10, 0, 0, 1);
  const id = reservations.connect(la, t.lport, fa, t.fport, worker).id;
  if (worker === 1) {
    const key = { src: fa, dst: la, sport: t.fport, dport: t.lport };
    assert.ok(card.tids.insert(key) >= 0);
    card.tids.reserveMem(98304);
    inner.held.set(id, key);
  }
  /** Nothing left of the connection: no TID, no card memory, no reservation. */
  const gone = () => {
    assert.equal(card.tids.inUse, 0, 'no TID held for a connection nowhere');
    assert.equal(card.tids.memInUse, 0, 'no card memory');
    assert.equal(reservations.lookupConnected(la, t.lport, fa, t.fport), undefined, 'no reservation');
  };
  return { card, inner, reservations, t, gone };
}

test('a live handoff whose import fails both ways frees the TID, card memory and reservation it held', async () => {
  const { card, reservations, t, gone } = cardWithConn(1);
  const host = { workers: 1, reservations } as never;
  const refuses = { sockHandoffOut: () => Promise.reject(new Error('unused')), sockHandoffIn: refused };
  const h = {} as never;
  // Card -> group 0 fails; the caller then imports it back on the card, which fails too.
  await assert.rejects(card.handoffIn(host, refuses, h, 1, 0, 1, t), { code: 'ENOMEM' });
  assert.equal(card.tids.inUse, 1, 'after the first failure the card may still take it back');
  await assert.rejects(card.handoffIn(host, refuses, h, 1, 1, 2, t), { code: 'ENOMEM' });
  gone();
});

test("an in-worker app's move back to its group whose imports fail both ways frees the TID and reservation", async () => {
  const { card, inner, reservations, t, gone } = cardWithConn(1);
  // The card's thread: it exports the connection, then refuses it back.
  inner.run = { alive: true, proxy: { sockHandoffOut: async () => ({}), sockHandoffIn: refused } };
  const group = { appFreeze: async () => {}, appLive: async () => {}, appHandoffIn: refused };
  const host = { name: 's', workers: 1, reservations, tupleWorker: () => 0, group: () => group } as never;
  await assert.rejects(card.appToHost(host, 0, 2, t), { code: 'ENOMEM' });
  gone();
});

test("an in-worker app's move to the card whose imports fail both ways frees the reservation and the TID", async () => {
  const { card, inner, reservations, t, gone } = cardWithConn(0);
  inner.run = { alive: true, proxy: { sockHandoffIn: refused } };
  card.toeOn = true;
  const group = { appConnOf: async () => 5, appHandoffOut: async () => ({ h: {}, sid: 2 }), appHandoffIn: refused };
  const host = { name: 's', workers: 1, reservations, options: {}, group: () => group } as never;
  await assert.rejects(card.appToCard(host, 0, t), { code: 'ENOMEM' });
  gone();
});
