/**
 * One TCP host cache for the whole stack (FreeBSD tcp_hostcache.c has one per vnet): the
 * workers are threads, and the cache lives in a SharedArrayBuffer every worker's engine
 * maps, so what one worker learns about a peer the other finds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats } from './support/pair.js';
import { Stack } from '../src/index.js';

test('two workers share one host cache: an entry one adds the other sees; the tunables size it for all', async () => {
  const p = pair(
    2,
    {
      apps: [{ name: 'bulk-sender', options: { addr: '10.0.0.2', port: 9, bytes: 256 << 10, connections: 2 } }],
      tunables: { 'net.inet.tcp.hostcache.hashsize': 64, 'net.inet.tcp.hostcache.bucketlimit': 4 },
    },
    { apps: [{ name: 'discard', port: 9 }] },
  );
  await withPair(p, async () => {
    await waitFor('bulk done', appStats(p.A, 'bulk-sender'), (s) => s.done === 2);
    // Each worker of A ran one connection; each saved its metrics as it closed.
    const st = await waitFor(
      'metrics saved',
      () => p.A.stats(),
      (s) => s.workers.every((w) => (w.tcpstat.tcps_cachedrtt ?? 0) >= 1),
    );
    assert.ok(st.workers.every((w) => (w.tcpstat.tcps_connects ?? 0) >= 1));
    // One entry for 10.0.0.2, added once (by whichever worker closed first), seen by both.
    assert.equal(st.tcpstat.tcps_hc_added, 1);
    assert.deepEqual(await p.A.sysctl('net.inet.tcp.hostcache.count'), [1, 1]);
    const lists = await p.A.sysctl('net.inet.tcp.hostcache.list');
    assert.equal(lists[0], lists[1]);
    assert.match(String(lists[0]), /^10\.0\.0\.2 +0 /m);
    assert.deepEqual(await p.A.sysctl('net.inet.tcp.hostcache.hashsize'), [64, 64]);
    assert.deepEqual(await p.A.sysctl('net.inet.tcp.hostcache.cachelimit'), [256, 256]);
    // A setting is the cache's, not a worker's: the workers set it at once, each finds the
    // default or the other's value (the sets race: two threads may both read the default
    // first), and afterwards both read the one value.
    const old = (await p.A.sysctl('net.inet.tcp.hostcache.expire', 1200)).map(Number);
    assert.ok(old.includes(3600) && old.every((v) => v === 3600 || v === 1200), `old values ${old}`);
    assert.deepEqual(await p.A.sysctl('net.inet.tcp.hostcache.expire'), [1200, 1200]);
    // purgenow through the workers empties the one cache.
    await p.A.sysctl('net.inet.tcp.hostcache.purgenow', 1);
    assert.deepEqual(await p.A.sysctl('net.inet.tcp.hostcache.count'), [0, 0]);
  });
});

test('an unknown tunable is refused at create', () => {
  assert.throws(() => Stack.create({ workers: 1, tunables: { 'net.inet.tcp.hostcache.size': 1 } }), {
    code: 'ENOENT',
  });
});
