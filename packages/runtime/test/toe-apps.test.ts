/**
 * The TOE card and in-worker apps (docs/toe.md, "In-worker apps"): with `toe` on, an
 * in-worker client's active opens and an in-worker server's accepted connections run on
 * the card behind the app's own descriptors (worker/toeproxy.ts), the apps' counters
 * showing nothing but completed transactions; `-toe` brings them back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TOE } from '@mcstack/netinet';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats } from './support/pair.js';

const TOE_CARD = {
  capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE,
  capenable: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6,
  toe: { ntids: 64, memory: 16 << 20 },
  modules: ['t4_tom'],
};

test('in-worker crr-client: active opens go to the card with toe on, transactions complete, TIDs freed', async () => {
  const p = pair(
    2,
    { apps: [{ name: 'echo', port: 7 }] },
    { ...TOE_CARD, apps: [{ name: 'crr-client', options: { addr: '10.0.0.1', port: 7, concurrency: 4, size: 300 } }] },
  );
  await withPair(p, async () => {
    const B = p.B;
    await waitFor('crr running', appStats(B, 'crr-client'), (s) => s.transactions > 20);
    await B.ifconfig(['cxgbe0', 'toe']);
    await waitFor(
      'offloaded',
      async () => B.toeStats,
      (s) => s.offloaded >= 20,
    );
    const st = await appStats(B, 'crr-client')();
    const cc = await B.cardCounters();
    console.log(JSON.stringify(st), JSON.stringify(B.toeStats), cc?.rxFrames, cc?.tidsInUse);
    assert.equal(st.errors, 0);
    await B.ifconfig(['cxgbe0', '-toe']);
  });
});

test('in-worker echo server: accepted connections go to the card with toe on', async () => {
  const p = pair(
    2,
    { apps: [{ name: 'crr-client', options: { addr: '10.0.0.2', port: 7, concurrency: 4, size: 300 } }] },
    { ...TOE_CARD, apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, async () => {
    const B = p.B;
    await waitFor('crr running', appStats(p.A, 'crr-client'), (s) => s.transactions > 20);
    await B.ifconfig(['cxgbe0', 'toe']);
    await waitFor(
      'offloaded',
      async () => B.toeStats,
      (s) => s.offloaded >= 10,
    );
    const st = await appStats(p.A, 'crr-client')();
    const cc = await B.cardCounters();
    console.log(JSON.stringify(st), JSON.stringify(B.toeStats), cc?.rxFrames, cc?.tidsInUse);
    assert.equal(st.errors, 0);
    await B.ifconfig(['cxgbe0', '-toe']);
  });
});
