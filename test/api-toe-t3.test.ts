/**
 * A Chelsio T3 port at run time: stack A's port is `cxgb0` (StackOptions.ifname), its card
 * offers TOE4 only, its TOM is t3_tom and its counters are cxgb(4)'s (dev.cxgbc.0.toe.*).
 * `kldload t3_tom` starts the same card worker a T4 has; with `ifconfig cxgb0 toe` an IPv4
 * active open goes to the card (toe4 in netstat and sockstat), an IPv6 one stays on the host
 * and is counted (refused_ipv6); kldunload t3_tom is EBUSY while a connection is on the card.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Stack } from '@mcstack/runtime';
import type { McNet, Socket } from '@mcstack/api';
import { IFCAP_HWCSUM, IFCAP_TOE, IFCAP_TOE4 } from '@mcstack/netinet';
import { formatConnections, formatSockstat } from '@mcstack/netinet/tools';
import { bounded as boundedBy } from './support/bounded.js';
import { until as untilBy } from './support/toe.js';
import { withEchoPair, echoThrough } from './support/toepair.js';

const SEED = Number(process.env.SEED ?? 0x7e3);
const bounded = <T>(p: Promise<T>, ms: number, what: string) => boundedBy(p, ms, what, SEED);
const until = (what: string, cond: () => boolean | Promise<boolean>) => untilBy(what, cond, SEED);
const grepToe = (text: string) => text.split('\n').filter((l) => l.includes('toe'));

async function open(net: McNet, host: string): Promise<Socket> {
  const c = net.connect(7, host);
  c.on('error', () => {});
  await bounded(once(c, 'connect'), 10000, `connect ${host}`);
  return c;
}

test('a T3 (cxgb0) offers TOE4 only: TOE6 among its capabilities is EINVAL, as is a port mcstack does not model', () => {
  assert.throws(() => Stack.create({ ifname: 'cxgb0', capabilities: IFCAP_TOE }), { code: 'EINVAL' });
  assert.throws(() => Stack.create({ ifname: 'em0' as 'cxgb0' }), { code: 'EINVAL' });
  const s = Stack.create({ ifname: 'cxgb0', capabilities: IFCAP_TOE4 });
  assert.deepEqual([s.model.tom, s.model.toeSysctl], ['t3_tom', 'dev.cxgbc.0.toe']);
});

test('t3_tom on cxgb0: IPv4 offloaded (toe4), IPv6 stays on the host counted, kldunload EBUSY while offloaded', {
  timeout: 60000,
}, async () => {
  const a = {
    ifname: 'cxgb0' as const,
    capabilities: IFCAP_HWCSUM | IFCAP_TOE4,
    capenable: IFCAP_HWCSUM,
    toe: { ntids: 16 },
  };
  await withEchoPair(a, SEED, async (A, netA) => {
    // toecore: no toedev on cxgb0 before its TOM; t4_tom is cxgbe's and does not start this card.
    await assert.rejects(A.ifconfig(['cxgb0', 'toe']), { code: 'EOPNOTSUPP' });
    await A.kldload('t4_tom');
    assert.equal(A.cardAlive, false);
    await assert.rejects(A.ifconfig(['cxgb0', 'toe']), { code: 'EOPNOTSUPP' });
    await A.kldunload('t4_tom');
    await A.kldload('t3_tom');
    assert.equal(A.cardAlive, true);
    await A.ifconfig(['cxgb0', 'toe']);
    const card = A.cardControl();
    assert.equal(await card.sysctlGet('dev.cxgbc.0.toe.ntids'), 16);
    await assert.rejects(card.sysctlGet('dev.t4nex.0.toe.ntids'), { code: 'ENOENT' });

    const c4 = await open(netA, '10.0.0.2');
    const c6 = await open(netA, 'fd00::2');
    assert.equal(A.toeTids!.inUse, 1);
    assert.equal(await card.sysctlGet('dev.cxgbc.0.toe.offloaded'), 1);
    assert.equal(await card.sysctlGet('dev.cxgbc.0.toe.refused_ipv6'), 1);
    assert.equal(await card.sysctlGet('dev.cxgbc.0.toe.tids_in_use'), 1);
    const snaps = await A.snapshots();
    const ns = grepToe(formatConnections(snaps, { proto: 'tcp' }));
    assert.equal(ns.length, 1, ns.join('\n'));
    assert.match(
      ns[0]!,
      new RegExp(`^toe4 +\\d+ +\\d+ 10\\.0\\.0\\.1\\.${c4.localPort} +10\\.0\\.0\\.2\\.7 +ESTABLISHED`),
    );
    const ss = grepToe(formatSockstat(snaps, { inet4: true, inet6: true, connected: true }));
    assert.equal(ss.length, 1, ss.join('\n'));
    assert.match(ss[0]!, /^\S+ +sockapp\/to +\d+ +\d+ +toe4 +10\.0\.0\.1:\d+ +10\.0\.0\.2:7$/);
    // The IPv6 connection is a host group's (tcp6), not the card's.
    assert.ok(
      formatConnections(snaps, { proto: 'tcp' })
        .split('\n')
        .some((l) => /^tcp6 .* fd00::2\.7 +ESTABLISHED/.test(l)),
    );
    assert.ok(await bounded(echoThrough(c4, 512 << 10, SEED).done, 30000, 'echo on the card'));
    assert.ok(await bounded(echoThrough(c6, 128 << 10, SEED + 1).done, 30000, 'echo on the host'));
    // t4_tom_deactivate's rule, t3_tom's too: not while a connection is offloaded.
    await assert.rejects(A.kldunload('t3_tom'), { code: 'EBUSY' });
    assert.equal(A.cardAlive, true);
    for (const c of [c4, c6]) {
      const closed = once(c, 'close');
      c.end();
      await bounded(closed, 10000, 'close');
    }
    await until('the card frees its TID', () => A.toeTids!.inUse === 0);
    await A.ifconfig(['cxgb0', '-toe']);
    await A.kldunload('t3_tom');
    assert.equal(A.cardAlive, false);
  });
});
