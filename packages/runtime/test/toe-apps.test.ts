/**
 * The TOE card and in-worker apps (docs/toe.md, "In-worker apps"): with `toe` on, an
 * in-worker client's active opens and an in-worker server's accepted connections run on
 * the card behind the app's own descriptors (worker/toeproxy.ts), the apps' counters
 * showing nothing but completed transactions; `-toe` brings the established ones back and
 * the apps go on; a card offering TOE4 only (as a T3 does) keeps IPv6 on the host, counted;
 * the card failing resets the connections it held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TOE, IFCAP_TOE4 } from '@mcstack/netinet';
import { formatConnections } from '@mcstack/netinet/tools';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats } from './support/pair.js';
import type { Stack } from '../src/index.js';

const TOE_CARD = {
  capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE,
  capenable: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6,
  toe: { ntids: 64, memory: 16 << 20 },
  modules: ['t4_tom'],
};

const toeRows = async (s: Stack) =>
  formatConnections(await s.snapshots(), { proto: 'tcp' })
    .split('\n')
    .filter((l) => /^toe[46] /.test(l));

/** Offload on for a while under `client`'s load, then -toe: no app error either way, nothing left on the card. */
async function onThenOff(B: Stack, client: Stack, app: string): Promise<void> {
  await waitFor('traffic on the host', appStats(client, app), (s) => s.transactions > 10);
  await B.ifconfig(['cxgbe0', 'toe']);
  await waitFor(
    'offloaded',
    async () => B.toeStats,
    (s) => s.offloaded >= 20,
  );
  assert.ok((await toeRows(B)).length > 0, 'netstat shows connections on the card as toe4');
  await B.ifconfig(['cxgbe0', '-toe']);
  const at = (await appStats(client, app)()).transactions;
  await waitFor('transactions go on after -toe', appStats(client, app), (s) => s.transactions > at + 10);
  await waitFor(
    'nothing left on the card',
    // An active closer's TIME_WAIT stays on the card (its TID already given back, docs/toe.md).
    async () => B.toeTids!.inUse === 0 && (await toeRows(B)).every((l) => / TIME_WAIT *$/.test(l)),
    (empty) => empty,
  );
  const st = await appStats(client, app)();
  assert.equal(st.errors, 0, `${app}: no error, last errno ${st.lastErrno}`);
}

test('in-worker crr-client: active opens go to the card with toe on, transactions complete, -toe returns them', async () => {
  const p = pair(
    2,
    { apps: [{ name: 'echo', port: 7 }] },
    { ...TOE_CARD, apps: [{ name: 'crr-client', options: { addr: '10.0.0.1', port: 7, concurrency: 4, size: 300 } }] },
  );
  await withPair(p, () => onThenOff(p.B, p.B, 'crr-client'));
});

test('in-worker echo server: accepted connections go to the card with toe on, -toe returns them', async () => {
  const p = pair(
    2,
    // Each connection carries 256 KiB so it is mid-transfer when it moves after accept and
    // when -toe brings it back (a connection already closing stays on the host). crr writes
    // its whole request before it reads and echo writes only what it reads: the client's
    // send buffer holds the request, or, until autotuning grows them (only while data
    // flows), default buffers on both ends fill and both sit in zero windows for good,
    // offloaded or not (toe-moveback.test.ts).
    {
      sysctl: { 'net.inet.tcp.sendspace': 262144 },
      apps: [{ name: 'crr-client', options: { addr: '10.0.0.2', port: 7, concurrency: 4, size: 262144 } }],
    },
    { ...TOE_CARD, apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, () => onThenOff(p.B, p.A, 'crr-client'));
});

test('a card offering TOE4 only (a T3): IPv6 opens stay on the host, counted as refused_ipv6; IPv4 ones go to the card', async () => {
  const p = pair(
    2,
    { apps: [{ name: 'echo', port: 7 }] },
    {
      ...TOE_CARD,
      capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE4,
      apps: [
        { name: 'crr-client', options: { addr: 'fd00::1', port: 7, concurrency: 2, size: 100 } },
        { name: 'rr-client', options: { addr: '10.0.0.1', port: 7, connections: 2, size: 100 } },
      ],
    },
  );
  await withPair(p, async () => {
    const B = p.B;
    await B.ifconfig(['cxgbe0', 'toe']);
    await waitFor(
      'IPv6 refused',
      async () => B.toeStats,
      (s) => s.refused_ipv6 >= 10,
    );
    const st = await appStats(B, 'crr-client')();
    assert.equal(st.errors, 0);
    assert.ok(st.transactions > 0, 'the IPv6 connections work on the host');
    const rows = await toeRows(B);
    assert.ok(
      rows.every((l) => l.startsWith('toe4 ')),
      rows.join('\n'),
    );
    await B.ifconfig(['cxgbe0', '-toe']);
  });
});

test("the card failing (a worker-error) resets the in-worker apps' connections it held: ECONNRESET", async () => {
  const p = pair(
    2,
    { apps: [{ name: 'echo', port: 7 }] },
    { ...TOE_CARD, apps: [{ name: 'rr-client', options: { addr: '10.0.0.1', port: 7, connections: 4, size: 200 } }] },
  );
  await withPair(p, async () => {
    const B = p.B;
    await waitFor('rr running on the host', appStats(B, 'rr-client'), (s) => s.transactions > 20);
    await B.ifconfig(['cxgbe0', 'toe']);
    // rr-client's connections are the host's: move them to the card (live handoff).
    for (const c of (await B.netstat()).filter((e) => e.fport === 7)) {
      await B.toeHandoff({ laddr: c.laddr, lport: c.lport, faddr: c.faddr, fport: c.fport }, true);
    }
    assert.equal((await toeRows(B)).length, 4);
    const at = (await appStats(B, 'rr-client')()).transactions;
    await waitFor('transactions on the card', appStats(B, 'rr-client'), (s) => s.transactions > at + 20);
    const failed = new Promise<{ code?: string }>((resolve) => B.once('worker-error', resolve));
    await B.cardControl().sysctlSet('debug.kdb.panic', 1);
    assert.equal((await failed).code, 'MCSTACK_PANIC');
    const st = await waitFor('the apps see the resets', appStats(B, 'rr-client'), (s) => (s.resets ?? 0) >= 4);
    assert.equal(st.resets, 4, `resets: ${JSON.stringify(st)}`);
  });
});
