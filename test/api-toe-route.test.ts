/**
 * Route changes reach the TOE card (Stack.route): the card keeps its own copy of the host's
 * routes — the static ones and every change made before it started, replayed at start, and
 * every later add, change and delete as the host's workers get it — so an offloaded
 * connection's MTU and next hop follow the route as a host connection's do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Stack } from '@mcstack/runtime';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TOE } from '@mcstack/netinet';
import { bounded as boundedBy } from './support/bounded.js';
import { until as untilBy } from './support/toe.js';
import { withEchoPair, echoThrough } from './support/toepair.js';

const SEED = Number(process.env.SEED ?? 0x70f);
const bounded = <T>(p: Promise<T>, ms: number, what: string) => boundedBy(p, ms, what, SEED);
const until = (what: string, cond: () => boolean | Promise<boolean>) => untilBy(what, cond, SEED);

/** A's port: a T4 with checksum offload. */
const CARD = {
  capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE,
  capenable: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6,
};

/** What B has received: data bytes and segments (no LRO here: one count per wire segment). */
async function received(B: Stack): Promise<{ bytes: number; packs: number }> {
  const t = (await B.stats()).tcpstat;
  return { bytes: t.tcps_rcvbyte ?? 0, packs: t.tcps_rcvpack ?? 0 };
}

test('route add, change and delete reach the card: an offloaded connection follows the route MTU and next hop', {
  timeout: 60000,
}, async () => {
  const a = { ...CARD, routes: [{ dst: '198.51.100.0/24', gateway: '10.0.0.8' }] };
  await withEchoPair(a, SEED, async (A, netA, B) => {
    // A change made before the card exists: the card replays it when it starts.
    await A.route(['add', '-net', '192.0.2.0/24', '10.0.0.9', '-mtu', '1400']);
    await A.kldload('t4_tom');
    await A.ifconfig(['cxgbe0', 'toe']);
    const card = A.cardControl();
    const get = async (on: 'card' | number, dst: string) => {
      const r = await (on === 'card' ? card : A.control(on)).route(['get', dst]);
      assert.equal(r.cmd, 'get');
      return r.cmd === 'get' ? { gateway: r.route.gateway, mtu: r.mtu } : null;
    };
    assert.deepEqual(await get('card', '198.51.100.1'), { gateway: '10.0.0.8', mtu: 1500 }, 'static routes');
    assert.deepEqual(await get('card', '192.0.2.7'), { gateway: '10.0.0.9', mtu: 1400 }, 'replayed at start');

    const c = netA.connect(7, '10.0.0.2');
    c.on('error', () => {});
    await bounded(once(c, 'connect'), 10000, 'connect');
    assert.equal(A.toeTids!.inUse, 1, 'offloaded');
    assert.ok(await bounded(echoThrough(c, 256 << 10, SEED).done, 30000, 'echo before'));
    const rcv = () => received(B);
    const cantfrag = async () => Number((await card.snapshot()).counters.ipstat.ips_cantfrag ?? 0);
    assert.equal(await cantfrag(), 0);

    // A host route with a smaller MTU: the card's ip_output refuses the segment that no
    // longer fits (EMSGSIZE) and its TCP takes the MSS down, as on the host.
    await A.route(['add', '-host', '10.0.0.2', '-interface', 'cxgbe0', '-mtu', '1280']);
    for (const on of ['card', 0, 1] as const) assert.equal((await get(on, '10.0.0.2'))!.mtu, 1280, `${on}`);
    const r0 = await rcv();
    assert.ok(await bounded(echoThrough(c, 1 << 20, SEED + 1).done, 30000, 'echo at MTU 1280'));
    const r1 = await rcv();
    assert.ok((await cantfrag()) > 0, 'the offloaded connection met the new route MTU');
    const perSegment = (r1.bytes - r0.bytes) / (r1.packs - r0.packs);
    assert.ok(perSegment <= 1280 - 40, `B got ${perSegment.toFixed(0)} bytes a segment at route MTU 1280`);
    await A.route(['change', '-host', '10.0.0.2', '-mtu', '1400']);
    for (const on of ['card', 0, 1] as const) assert.equal((await get(on, '10.0.0.2'))!.mtu, 1400, `${on}`);

    // The next hop: through a gateway nobody answers ARP for, the data stops; deleted, it flows.
    await A.route(['change', '-host', '10.0.0.2', '10.0.0.77']);
    assert.equal((await get('card', '10.0.0.2'))!.gateway, '10.0.0.77');
    const e = echoThrough(c, 64 << 10, SEED + 2);
    await sleep(500);
    assert.equal(e.received(), 0, 'nothing reaches 10.0.0.2 through 10.0.0.77');
    await A.route(['delete', '-host', '10.0.0.2']);
    assert.deepEqual(await get('card', '10.0.0.2'), { gateway: null, mtu: 1500 });
    assert.ok(await bounded(e.done, 30000, 'echo after the route went'), 'byte-exact');

    await assert.rejects(A.route(['delete', '-host', '10.0.0.2']), { code: 'ESRCH' });
    const closed = once(c, 'close');
    c.end();
    await bounded(closed, 10000, 'close');
    await until('the card frees its TID', () => A.toeTids!.inUse === 0);
  });
});

test('a connection offloaded in FIB 1 keeps it on the card and follows route -F 1, not FIB 0', {
  timeout: 60000,
}, async () => {
  await withEchoPair({ ...CARD, tunables: { 'net.fibs': 2 } }, SEED + 10, async (A, netA, B) => {
    await A.kldload('t4_tom');
    await A.ifconfig(['cxgbe0', 'toe']);
    const card = A.cardControl();
    const c = netA.connect({ port: 7, host: '10.0.0.2', fib: 1 });
    c.on('error', () => {});
    await bounded(once(c, 'connect'), 10000, 'connect in FIB 1');
    assert.equal(A.toeTids!.inUse, 1, 'offloaded');
    const rcv = () => received(B);
    // A smaller MTU in FIB 0 only: the FIB 1 connection does not see it.
    await A.route(['add', '-host', '10.0.0.2', '-interface', 'cxgbe0', '-mtu', '1280']);
    let r0 = await rcv();
    assert.ok(await bounded(echoThrough(c, 512 << 10, SEED).done, 30000, 'echo, FIB 0 changed'));
    let r1 = await rcv();
    assert.ok((r1.bytes - r0.bytes) / (r1.packs - r0.packs) > 1240, 'full-sized segments in FIB 1');
    // The same in FIB 1 (route -F 1): now it does.
    await A.route(['-F', '1', 'add', '-host', '10.0.0.2', '-interface', 'cxgbe0', '-mtu', '1280']);
    const got = await card.route(['-F', '1', 'get', '10.0.0.2']);
    assert.equal(got.cmd === 'get' && got.mtu, 1280);
    r0 = await rcv();
    assert.ok(await bounded(echoThrough(c, 512 << 10, SEED + 1).done, 30000, 'echo, FIB 1 changed'));
    r1 = await rcv();
    const perSegment = (r1.bytes - r0.bytes) / (r1.packs - r0.packs);
    assert.ok(perSegment <= 1240, `B got ${perSegment.toFixed(0)} bytes a segment at FIB 1's route MTU 1280`);
    const closed = once(c, 'close');
    c.end();
    await bounded(closed, 10000, 'close');
    await until('the card frees its TID', () => A.toeTids!.inUse === 0);
  });
});
