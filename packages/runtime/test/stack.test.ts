/**
 * The runtime with real worker threads (tier 4): two stacks joined by the link matrix,
 * in-worker servers on B and workload clients on A. Outcomes are deterministic (counts,
 * placement, codes); waits are bounded polls on those outcomes, never on timings. Every
 * stack is stopped in `finally`, so no thread outlives its test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats, connected } from './support/pair.js';
import { Stack, type WorkerError } from '../src/index.js';

for (const workers of [1, 2]) {
  test(`rr over echo, ${workers} worker(s) a side: every transaction completes, nothing hops`, async () => {
    const p = pair(
      workers,
      {
        apps: [
          { name: 'rr-client', options: { addr: '10.0.0.2', port: 7, connections: 16, size: 300, transactions: 25 } },
        ],
      },
      { apps: [{ name: 'echo', port: 7 }] },
    );
    await withPair(p, async () => {
      const st = await waitFor('rr done', appStats(p.A, 'rr-client'), (s) => s.done === workers);
      assert.equal(st.transactions, 16 * 25);
      assert.equal(st.errors, 0);
      assert.equal(st.bytesIn, 16 * 25 * 300);
      const a = await p.A.stats();
      const b = await p.B.stats();
      assert.equal(a.total.hops! + b.total.hops!, 0);
      assert.equal(a.total.misdirected! + b.total.misdirected!, 0);
      assert.equal(b.apps.echo!.accepted, 16);
      assert.equal(a.tcpstat.tcps_noport! + b.tcpstat.tcps_noport!, 0);
    });
  });

  test(`bulk over echo with verification and over discard, IPv6 too, ${workers} worker(s)`, async () => {
    const bytes = 3 << 20;
    const p = pair(
      workers,
      {
        apps: [
          {
            name: 'bulk-sender',
            options: { addr: '10.0.0.2', port: 7, bytes, mode: 'echo', verify: true, connections: workers },
          },
          // The same app loaded by module URL, as user code is.
          {
            module: new URL('../src/apps/bulk-sender.js', import.meta.url).href,
            export: 'makeBulkSender',
            name: 'bulk6',
            options: { addr: 'fd00::2', port: 9, bytes },
          },
        ],
      },
      {
        apps: [
          { name: 'echo', port: 7 },
          { name: 'discard', port: 9 },
        ],
      },
    );
    await withPair(p, async () => {
      const s4 = await waitFor('bulk done', appStats(p.A, 'bulk-sender'), (s) => s.done === workers);
      assert.equal(s4.bytesSent, bytes * workers);
      assert.equal(s4.bytesReceived, bytes * workers);
      assert.equal(s4.mismatches, 0);
      assert.equal(s4.errors, 0);
      const s6 = await waitFor('bulk6 done', appStats(p.A, 'bulk6'), (s) => s.done === workers);
      assert.equal(s6.bytesSent, bytes);
      assert.equal(s6.errors, 0);
      const b = await waitFor('discard saw everything', appStats(p.B, 'discard'), (s) => s.bytesIn === bytes);
      assert.equal(b.errors, 0);
    });
  });
}

test('crr against http-lite: connect, request, response, close, 300 times over 2 workers', async () => {
  const p = pair(
    2,
    {
      apps: [
        {
          name: 'crr-client',
          options: { addr: '10.0.0.2', port: 80, protocol: 'http', size: 1000, count: 300, concurrency: 20 },
        },
      ],
      sysctl: { 'net.inet.tcp.msl': 200 },
    },
    { apps: [{ name: 'http-lite', port: 80 }] },
  );
  await withPair(p, async () => {
    const st = await waitFor('crr done', appStats(p.A, 'crr-client'), (s) => s.done === 2);
    assert.equal(st.transactions, 300);
    assert.equal(st.connections, 300);
    assert.equal(st.errors, 0);
    const b = await waitFor('server closed all', appStats(p.B, 'http-lite'), (s) => s.closed === 300);
    assert.equal(b.requests, 300);
    // Every reservation comes back once the pcbs are gone (TIME_WAIT is 2 x 200 ms here).
    await waitFor(
      'A reservations released',
      async () => p.A.reservations.size,
      (n) => n === 0,
    );
    // Left: the two listening reservations (IPv4 and IPv6 port 80).
    await waitFor(
      'B passive reservations released',
      async () => p.B.reservations.size,
      (n) => n === 2,
    );
  });
});

test('200 concurrent connects from 2 workers: each connection lives where RSS puts it, no misdirected segment, no shared 4-tuple', async () => {
  const N = 200;
  const p = pair(
    2,
    {
      apps: [
        {
          name: 'rr-client',
          options: { addr: '10.0.0.2', port: 7, connections: N, size: 10, transactions: 1, hold: true },
        },
      ],
    },
    { apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, async () => {
    await waitFor('200 held', appStats(p.A, 'rr-client'), (s) => s.held === N);
    // Plus the listening reservations of port 7, IPv4 and IPv6.
    await waitFor(
      'B registered 200 passive opens',
      async () => p.B.reservations.size,
      (n) => n === N + 2,
    );
    const a = connected(await p.A.netstat());
    const b = connected(await p.B.netstat());
    assert.equal(a.length, N);
    assert.equal(b.length, N);
    // Placement: the bucket of what each host receives for the connection maps to the group holding it.
    for (const e of a)
      assert.equal(p.A.indirection.entries[e.bucket], e.worker, `A ${e.laddr}:${e.lport} on worker ${e.worker}`);
    for (const e of b)
      assert.equal(p.B.indirection.entries[e.bucket], e.worker, `B ${e.faddr}:${e.fport} on worker ${e.worker}`);
    assert.ok(
      new Set(a.map((e) => e.worker)).size === 2 && new Set(b.map((e) => e.worker)).size === 2,
      'both groups hold connections',
    );
    // The two views agree tuple for tuple, and no 4-tuple appears twice anywhere.
    const ka = new Set(a.map((e) => `${e.laddr}:${e.lport}-${e.faddr}:${e.fport}`));
    const kb = new Set(b.map((e) => `${e.faddr}:${e.fport}-${e.laddr}:${e.lport}`));
    assert.equal(ka.size, N);
    assert.deepEqual(ka, kb);
    const ra = [...p.A.reservations.entries()].filter((r) => r.kind === 'connected');
    assert.equal(ra.length, N);
    assert.equal(new Set(ra.map((r) => `${r.lport}`)).size, N, 'one local port per connection to the same server');
    for (const e of a)
      assert.equal(ra.find((r) => r.lport === e.lport)?.worker, e.worker, 'reserved for the group that opened it');
    assert.equal(p.B.passiveConflicts, 0);
    // Zero misdirected: no frame reached a group that does not own its bucket, no segment found no pcb.
    const sa = await p.A.stats();
    const sb = await p.B.stats();
    assert.equal(sa.total.misdirected! + sb.total.misdirected!, 0);
    assert.equal(sa.total.hops! + sb.total.hops!, 0);
    assert.equal(sa.tcpstat.tcps_noport! + sb.tcpstat.tcps_noport!, 0);
    // The worker that opened a connection received all its replies: each A worker took in
    // exactly as many connections' worth of frames as it sent SYNs for (no cross traffic).
    for (const w of sa.workers) assert.equal(w.connects, a.filter((e) => e.worker === w.worker).length);
    // Runtime indirection change: refused while a moved bucket holds live connections.
    const busy = b[0]!.bucket;
    const other = 1 - p.B.indirection.entries[busy]!;
    await assert.rejects(p.B.setIndirection([[busy, other]]), { code: 'EBUSY' });
    assert.equal(p.B.indirection.entries[busy], 1 - other);
  });
});

test('indirection change without live connections is allowed; bad pairs are EINVAL', async () => {
  const p = pair(2, {}, { apps: [{ name: 'echo', port: 7 }] });
  await withPair(p, async () => {
    const all = Array.from({ length: p.B.indirection.buckets }, (_, b) => [b, 0] as const);
    const changes = await p.B.setIndirection(all);
    assert.ok(changes.length > 0);
    assert.deepEqual([...p.B.indirection.entries], new Array(p.B.indirection.buckets).fill(0));
    await assert.rejects(p.B.setIndirection([[0, 7]]), { code: 'EINVAL' });
  });
});

test('unaligned strategy: frames land on any worker and hop to the owner; transactions still complete', async () => {
  const p = pair(
    2,
    {
      apps: [
        { name: 'rr-client', options: { addr: '10.0.0.2', port: 7, connections: 20, size: 50, transactions: 20 } },
      ],
    },
    { apps: [{ name: 'echo', port: 7 }] },
    'unaligned',
  );
  await withPair(p, async () => {
    const st = await waitFor('rr done', appStats(p.A, 'rr-client'), (s) => s.done === 2);
    assert.equal(st.transactions, 400);
    assert.equal(st.errors, 0);
    const a = await p.A.stats();
    // The closes may still be crossing: every hop arrives, but not all by the time rr is done.
    const b = await waitFor(
      'every hop arrives',
      () => p.B.stats(),
      (s) => s.total.hops! === s.total.hopsIn,
    );
    assert.ok(b.total.hops! > 0 && a.total.hops! > 0, `hops A ${a.total.hops!} B ${b.total.hops!}`);
  });
});

test('a worker that throws: worker-error with its code, its buckets move, its peers get RST, the other group keeps serving', async () => {
  const N = 40;
  const p = pair(
    2,
    {
      apps: [{ name: 'rr-client', options: { addr: '10.0.0.2', port: 7, connections: N, size: 20 } }],
      // A connection whose request the dead group had acknowledged sends nothing more: the
      // keepalive probe is what reaches the live group and draws its RST.
      sysctl: { 'net.inet.tcp.always_keepalive': 1, 'net.inet.tcp.keepidle': 300, 'net.inet.tcp.keepintvl': 300 },
    },
    { apps: [{ name: 'echo', port: 7 }] },
  );
  await withPair(p, async () => {
    await waitFor(
      'all established and busy',
      appStats(p.A, 'rr-client'),
      (s) => s.established === N && s.transactions > N * 5,
    );
    await waitFor(
      'B registered all',
      async () => p.B.reservations.size,
      (n) => n === N + 2,
    );
    const before = connected(await p.B.netstat());
    const onDead = before.filter((e) => e.worker === 1).length;
    assert.ok(onDead > 0 && onDead < N, `connections on worker 1: ${onDead}`);
    const failed = new Promise<WorkerError>((resolve) => p.B.once('worker-error', resolve));
    await p.B.control(1).sysctlSet('debug.kdb.panic', 1);
    const err = await failed;
    assert.equal(err.code, 'MCSTACK_PANIC');
    assert.equal(err.name, 'SysError');
    assert.equal(err.worker, 1);
    assert.match(err.message, /debug\.kdb\.panic/);
    assert.equal(p.B.alive(1), false);
    assert.deepEqual([...p.B.indirection.entries], new Array(p.B.indirection.buckets).fill(0));
    assert.equal(
      [...p.B.reservations.entries()].filter((r) => r.worker === 1).length,
      0,
      'the dead worker holds no reservation',
    );
    // A's connections that lived on the dead group are reset; the others keep transacting.
    const st = await waitFor('resets', appStats(p.A, 'rr-client'), (s) => s.resets === onDead);
    assert.equal(st.errors, onDead);
    const t1 = st.transactions;
    await waitFor(
      'survivors still transact',
      appStats(p.A, 'rr-client'),
      (s) => s.transactions > t1 + (N - onDead) * 5,
    );
    const live = connected(await p.A.netstat()).filter((e) => e.state === 'ESTABLISHED');
    assert.equal(live.length, N - onDead);
    assert.throws(() => p.B.control(1), { code: 'ESRCH' });
  });
});

test('bad options are EINVAL; join after start and a stack joined twice are refused', async () => {
  assert.throws(() => Stack.create({ workers: 0 }), { code: 'EINVAL' });
  assert.throws(() => Stack.create({ strategy: 'single', workers: 2 }), { code: 'EINVAL' });
  assert.throws(() => Stack.create({ addrs: ['10.0.0.300/24'] }), { code: 'EINVAL' });
  assert.throws(() => Stack.create({ mac: '02:00' }), { code: 'EINVAL' });
  const a = Stack.create({ workers: 1 });
  const b = Stack.create({ workers: 1 });
  const c = Stack.create({ workers: 1 });
  Stack.join(a, b);
  assert.throws(() => Stack.join(a, c), { code: 'EISCONN' });
  await a.stop();
});

test('sysctl across workers, control-plane errors keep their code, an unknown app fails start', async () => {
  const s = Stack.create({ name: 'S', workers: 2, addrs: ['10.0.0.9/24'] });
  try {
    await s.start();
    assert.deepEqual(await s.sysctl('net.inet.tcp.delayed_ack', 0), [1, 1]);
    assert.deepEqual(await s.sysctl('net.inet.tcp.delayed_ack'), [0, 0]);
    await assert.rejects(s.sysctl('net.inet.tcp.nonexistent'), { code: 'ENOENT' });
    await assert.rejects(s.control(0).sysctlSet('net.inet.tcp.msl', 'x'), { code: 'EINVAL' });
    const census = await s.control(1).census();
    assert.equal(census.pcbs, 0);
  } finally {
    await s.stop();
  }
  const bad = Stack.create({ workers: 1, apps: [{ name: 'no-such-app' }] });
  try {
    await assert.rejects(bad.start(), { code: 'MCSTACK_NOAPP' });
  } finally {
    await bad.stop();
  }
});

test('a receiver without RXCSUM gets real checksums from a sender that offloads them (IPv4 and IPv6)', async () => {
  // A leaves its checksums to the card (TXCSUM, TXCSUM_IPV6); B's card
  // checks nothing, so B's stack verifies every checksum in software.
  const { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TXCSUM, IFCAP_TXCSUM_IPV6 } = await import('@mcstack/netinet');
  const hw = IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6;
  const p = pair(
    1,
    {
      capabilities: hw,
      capenable: hw,
      apps: [
        { name: 'rr-client', options: { addr: '10.0.0.2', port: 7, connections: 4, size: 200, transactions: 10 } },
        {
          name: 'bulk-sender',
          options: { addr: 'fd00::2', port: 7, bytes: 1 << 20, mode: 'echo', verify: true, connections: 1 },
        },
      ],
    },
    { apps: [{ name: 'echo', port: 7 }], capabilities: hw, capenable: IFCAP_TXCSUM | IFCAP_TXCSUM_IPV6 },
  );
  await withPair(p, async () => {
    const st = await waitFor('rr done', appStats(p.A, 'rr-client'), (s) => s.done === 1);
    assert.equal(st.errors, 0);
    assert.equal(st.transactions, 40);
    const bulk = await waitFor('bulk done', appStats(p.A, 'bulk-sender'), (s) => s.done === 1);
    assert.equal(bulk.bytesReceived, 1 << 20);
    const b = await p.B.stats();
    assert.equal(b.ipstat.ips_badsum ?? 0, 0);
    assert.equal(b.tcpstat.tcps_rcvbadsum, 0);
    assert.ok(b.tcpstat.tcps_rcvpack! > 0, 'B verified data segments in software');
  });
});
