/**
 * Two multi-worker stacks whose cxgbe0s are joined by a UDP tunnel over loopback (each
 * reads its single-queue link on the main thread and spreads frames over its workers by
 * software RSS). No static neighbours: every worker resolves its peer by ARP/ND itself,
 * the replies flooded to every queue. Connections land on both workers, none misdirected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, freeUdpPort } from './support/wait.js';
import { Stack, type NetstatEntry } from '../src/index.js';

test('links: a stack refuses two links, a bad host:port, and join with a link', () => {
  assert.throws(() => Stack.create({ links: [{ type: 'udp-tunnel', remote: 'localhost:1' }] }), { code: 'EINVAL' });
  assert.throws(() => Stack.create({ links: [{ type: 'udp-tunnel', remote: '127.0.0.1:1' }, { type: 'tap' }] }), {
    code: 'EINVAL',
  });
  assert.throws(() => Stack.create({ links: [{ type: 'bogus' } as never] }), { code: 'EINVAL' });
  const a = Stack.create({ workers: 1, links: [{ type: 'udp-tunnel', remote: '[::1]:9' }] });
  assert.throws(() => Stack.join(a, Stack.create({ workers: 1 })), { code: 'EISCONN' });
});

for (const family of ['inet', 'inet6'] as const) {
  test(`two 2-worker stacks over a UDP tunnel on loopback (${family}): rr over echo, ARP/ND learnt per worker, RSS placement`, async () => {
    const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
    const server = family === 'inet' ? '10.9.0.2' : 'fd09::2';
    const B = Stack.create({
      name: 'B',
      workers: 2,
      mac: '02:00:00:00:09:0b',
      addrs: ['10.9.0.2/24', 'fd09::2/64'],
      seed: 2,
      links: [{ type: 'udp-tunnel', local: `127.0.0.1:${pb}`, remote: `127.0.0.1:${pa}` }],
      apps: [{ name: 'echo', port: 7 }],
    });
    const A = Stack.create({
      name: 'A',
      workers: 2,
      mac: '02:00:00:00:09:0a',
      addrs: ['10.9.0.1/24', 'fd09::1/64'],
      seed: 1,
      links: [{ type: 'udp-tunnel', local: `127.0.0.1:${pa}`, remote: `127.0.0.1:${pb}` }],
      apps: [
        {
          name: 'rr-client',
          options: { addr: server, port: 7, connections: 16, size: 1000, transactions: 20, hold: true },
        },
      ],
    });
    try {
      await B.start();
      await A.start();
      const st = await waitFor(
        'rr done',
        async () => (await A.stats()).apps['rr-client'] ?? {},
        (s) => s.done === 2,
      );
      assert.equal(st.errors, 0);
      assert.equal(st.transactions, 16 * 20);
      assert.equal(st.bytesIn, 16 * 20 * 1000);
      const est = (l: NetstatEntry[]) => l.filter((e) => e.state === 'ESTABLISHED');
      const served = est(await B.netstat()).filter((e) => e.lport === 7);
      assert.equal(served.length, 16);
      assert.deepEqual(new Set(served.map((e) => e.worker)), new Set([0, 1]), "connections on both of B's workers");
      for (const e of served)
        assert.equal(
          B.indirection.entries[e.bucket],
          e.worker,
          `connection ${e.faddr}:${e.fport} in its RSS bucket's group`,
        );
      const [sa, sb] = [await A.stats(), await B.stats()];
      assert.equal(sa.total.misdirected! + sb.total.misdirected!, 0);
      assert.equal(sa.total.hops! + sb.total.hops!, 0);
      assert.ok(sb.link!.floods > 0, 'neighbour resolution frames were flooded to every worker');
      assert.equal(
        sa.link!.iqdrops + sb.link!.iqdrops + sa.link!.oqdrops + sb.link!.oqdrops,
        0,
        JSON.stringify([sa.link, sb.link]),
      );
    } finally {
      await A.stop();
      await B.stop();
    }
  });
}
