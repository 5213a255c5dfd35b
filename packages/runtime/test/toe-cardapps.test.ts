/**
 * Apps on the TOE card's processor (StackOptions.toe.apps, worker/cardapps.ts): a client
 * app's connections are all the card's (TIDs, reservations held under the card's index,
 * TF_TOE), its counters come back through Stack.cardCounters; what the card cannot take is
 * refused and counted (IPv6 on a T3); a server app cannot start there (the card takes no
 * listens).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IFCAP_TOE, IFCAP_TOE4 } from '@mcstack/netinet';
import { waitFor } from './support/wait.js';
import { pair, withPair } from './support/pair.js';

const rr = (addr: string, connections: number) => ({
  name: 'rr-client',
  options: { addr, port: 7, connections, size: 16 },
});
const cardApps = async (s: { cardCounters(): Promise<{ apps: Record<string, Record<string, number>> } | null> }) =>
  (await s.cardCounters())?.apps['rr-client'] ?? {};

test("a client app on the card: every connection offloaded, held under the card's index, counted on the card", async () => {
  const N = 8;
  const p = pair(
    2,
    { capabilities: IFCAP_TOE, modules: ['t4_tom'], toe: { ntids: 16, apps: [rr('10.0.0.2', N)] } },
    { apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, async () => {
    const A = p.A;
    const st = await waitFor(
      'the card runs rr',
      () => cardApps(A),
      (s) => s.established === N && (s.transactions ?? 0) > 10 * N,
    );
    assert.equal(st.errors, 0);
    assert.equal(A.toeTids!.inUse, N);
    assert.equal(A.toeStats.offloaded, N);
    const held = [...A.reservations.entries()].filter((r) => r.worker === A.workers);
    assert.equal(held.length, N, 'the reservation table knows every 4-tuple is the card');
    const snap = await A.cardControl().snapshot();
    const conns = snap.connections.filter((c) => c.fport === 7);
    assert.equal(conns.length, N);
    assert.ok(conns.every((c) => c.toe));
    // The host's groups carry none of it.
    assert.equal((await A.stats()).apps['rr-client'], undefined);
  });
});

test('a T3 card refuses IPv6 opens of its apps (EOPNOTSUPP, refused_ipv6); a server app cannot start on a card', async () => {
  const p = pair(
    1,
    {
      ifname: 'cxgb0',
      capabilities: IFCAP_TOE4,
      modules: ['t3_tom'],
      toe: { apps: [rr('fd00::2', 2), rr('10.0.0.2', 2)] },
    },
    { apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, async () => {
    const A = p.A;
    await waitFor(
      'the IPv4 ones run',
      () => cardApps(A),
      (s) => s.established === 2 && s.errors === 2,
    );
    assert.equal(A.toeStats.refused_ipv6, 2);
    assert.equal(A.toeStats.offloaded, 2);
    assert.equal(await A.cardControl().sysctlGet('dev.cxgbc.0.toe.refused_ipv6'), 2);
  });
  const q = pair(1, { capabilities: IFCAP_TOE, modules: ['t4_tom'], toe: { apps: [{ name: 'echo', port: 7 }] } }, {});
  await assert.rejects(
    withPair(q, async () => {}),
    { code: 'EOPNOTSUPP' },
  );
});
