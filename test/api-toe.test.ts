/**
 * TCP offload of active opens through @mcstack/api: stack A's cxgbe0 is a TOE card
 * (`kldload t4_tom`, `ifconfig cxgbe0 toe`); its main-thread sockets' connections to B go
 * to the card (TID, reservation held by the card, TF_TOE on the card's tcpcb) and carry
 * data byte-exact, IPv4 and IPv6; what the card cannot take (TID table full, card memory
 * full, a TCP-MD5 peer, a congestion control it lacks, IPv6 on a TOE4-only card) stays on
 * the host, counted by reason; the card killed resets its connections only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Stack, StackOptions, WorkerError } from '@mcstack/runtime';
import type { McNet, Socket } from '@mcstack/api';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TOE, IFCAP_TOE4 } from '@mcstack/netinet';
import { formatConnections, formatSockstat, formatStats } from '@mcstack/netinet/tools';
import { bounded as boundedBy } from './support/bounded.js';
import { bytes, until as untilBy } from './support/toe.js';
import { withEchoPair } from './support/toepair.js';

/** `| grep toe` */
const grepToe = (text: string) => text.split('\n').filter((l) => l.includes('toe'));

const SEED = Number(process.env.SEED ?? 0x70e);

const bounded = <T>(p: Promise<T>, ms: number, what: string) => boundedBy(p, ms, what, SEED);

const until = (what: string, cond: () => boolean | Promise<boolean>) => untilBy(what, cond, SEED);

/** A (the card, its API, TOE on) and B (an echo server on port 7 through its API). */
function withCard(toe: Partial<StackOptions>, fn: (A: Stack, netA: McNet, B: Stack) => Promise<void>): Promise<void> {
  const card = {
    capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE,
    capenable: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6,
  };
  return withEchoPair({ ...card, ...toe }, SEED, async (A, netA, B) => {
    await A.kldload('t4_tom');
    await A.ifconfig(['cxgbe0', 'toe']);
    await fn(A, netA, B);
  });
}

/** Errors sockets reported, by socket (every socket has a listener from its first moment). */
const errors = new Map<Socket, string[]>();

async function open(net: McNet, host: string): Promise<Socket> {
  const c = net.connect(7, host);
  errors.set(c, []);
  c.on('error', (e: NodeJS.ErrnoException) => errors.get(c)?.push(`${e.code} after ${c.bytesRead} bytes read`));
  await bounded(once(c, 'connect'), 10000, `connect ${host}`);
  return c;
}

/** Echo `n` bytes through `c`; true when they come back byte-exact (sha256). */
async function echo(c: Socket, n: number, seed: number): Promise<boolean> {
  const data = bytes(n, seed);
  const got = createHash('sha256');
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      got.update(b);
      received += b.length;
      if (received >= n) {
        c.off('data', onData);
        resolve();
      }
    };
    c.on('data', onData);
    c.once('error', reject);
  });
  for (let off = 0; off < n; off += 8192) if (!c.write(data.subarray(off, off + 8192))) await once(c, 'drain');
  await bounded(done, 30000, `echo of ${n} bytes (got ${received})`);
  return got.digest('hex') === createHash('sha256').update(data).digest('hex');
}

async function onCard(A: Stack): Promise<{ proto: string; toe: boolean; fport: number }[]> {
  return (await A.cardControl().snapshot()).connections
    .filter((c) => c.fport === 7)
    .map((c) => ({ proto: `${c.proto}${c.laddr.includes(':') ? 6 : 4}`, toe: c.toe, fport: c.fport }));
}

async function close(c: Socket): Promise<void> {
  const closed = once(c, 'close');
  c.end();
  await bounded(closed, 10000, 'close');
}

test('active opens IPv4 and IPv6 go to the card: byte-exact, TF_TOE there, held by the card, freed after close', {
  timeout: 60000,
}, async () => {
  await withCard({ toe: { ntids: 64 } }, async (A, netA) => {
    const c4 = await open(netA, '10.0.0.2');
    const c6 = await open(netA, 'fd00::2');
    const tids = A.toeTids!;
    assert.equal(tids.inUse, 2);
    assert.equal(A.toeStats.offloaded, 2);
    const held = [...A.reservations.entries()].filter((r) => r.worker === A.workers);
    assert.equal(held.length, 2, 'the coordinator knows both 4-tuples are on the card');
    const rows = await onCard(A);
    assert.deepEqual(rows.map((r) => [r.proto, r.toe]).sort(), [
      ['tcp4', true],
      ['tcp6', true],
    ]);
    // The change notes' `netstat -np tcp | grep toe` and `sockstat -46c | grep toe`.
    const snaps = await A.snapshots();
    const ns = grepToe(formatConnections(snaps, { proto: 'tcp' }));
    assert.equal(ns.length, 2, ns.join('\n'));
    assert.match(
      ns.find((l) => l.startsWith('toe4'))!,
      new RegExp(`^toe4 +\\d+ +\\d+ 10\\.0\\.0\\.1\\.${c4.localPort} +10\\.0\\.0\\.2\\.7 +ESTABLISHED`),
    );
    assert.match(
      ns.find((l) => l.startsWith('toe6'))!,
      new RegExp(`^toe6 +\\d+ +\\d+ fd00::1\\.${c6.localPort} +fd00::2\\.7 +ESTABLISHED`),
    );
    const ss = grepToe(formatSockstat(snaps, { inet4: true, inet6: true, connected: true }));
    assert.equal(ss.length, 2, ss.join('\n'));
    assert.ok(
      ss.some((l) => /^\S+ +sockapp\/to +\d+ +\d+ +toe4 +10\.0\.0\.1:\d+ +10\.0\.0\.2:7$/.test(l)),
      ss.join('\n'),
    );
    assert.ok(
      ss.some((l) => /^\S+ +sockapp\/to +\d+ +\d+ +toe6 +fd00::1:\d+ +fd00::2:7$/.test(l)),
      ss.join('\n'),
    );
    const stats = formatStats(snaps, { proto: 'toe' });
    assert.match(
      stats,
      /^toe:\n\t2 connections offloaded to the card\n\t0 connections left on the host: TID table full\n/,
    );
    assert.ok(await echo(c4, 1 << 20, SEED));
    assert.ok(await echo(c6, 256 << 10, SEED + 1));
    const card = await A.cardCounters();
    assert.ok(card!.rxFrames > 0 && card!.txFrames > 0);
    await close(c4);
    await close(c6);
    await until('the card frees its TIDs and reservations', () => tids.inUse === 0);
    assert.equal([...A.reservations.entries()].filter((r) => r.worker === A.workers).length, 0);
    assert.equal(tids.memInUse, 0);
    // -toe: new connections stay on the host, uncounted.
    await A.ifconfig(['cxgbe0', '-toe']);
    const host = await open(netA, '10.0.0.2');
    assert.equal(tids.inUse, 0);
    assert.deepEqual(A.toeStats, { ...A.toeStats, offloaded: 2, refused_tids: 0 });
    await close(host);
  });
});

test('TID table full, a TCP-MD5 peer, a congestion control the card lacks, IPv6 on a TOE4 card: on the host, counted', {
  timeout: 60000,
}, async () => {
  const caps = IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE4;
  await withCard({ capabilities: caps, toe: { ntids: 1 } }, async (A, netA) => {
    const first = await open(netA, '10.0.0.2');
    assert.equal(A.toeStats.offloaded, 1);
    const full = await open(netA, '10.0.0.2');
    assert.equal(A.toeStats.refused_tids, 1);
    const v6 = await open(netA, 'fd00::2');
    assert.equal(A.toeStats.refused_ipv6, 1);
    for (const [i, c] of [first, full, v6].entries()) assert.ok(await echo(c, 64 << 10, SEED + i));
    assert.equal((await onCard(A)).length, 1, 'only the first is on the card');
    await close(first);
    await until('the TID is free', () => A.toeTids!.inUse === 0);
    await A.setkey([
      { op: 'add', src: '10.0.0.1', dst: '10.0.0.2', spi: 0x1000, key: Buffer.from('md5-key').toString('hex') },
    ]);
    const md5 = await open(netA, '10.0.0.2');
    assert.equal(A.toeStats.refused_md5, 1);
    await A.setkey([{ op: 'flush' }]);
    await A.kldload('cc_cubic');
    await A.sysctl('net.inet.tcp.cc.algorithm', 'cubic');
    const cubic = await open(netA, '10.0.0.2');
    assert.equal(A.toeStats.refused_cc, 1);
    await A.sysctl('net.inet.tcp.cc.algorithm', 'newreno');
    for (const [i, c] of [md5, cubic].entries()) assert.ok(await echo(c, 16 << 10, SEED + 7 + i));
    assert.equal(A.toeTids!.inUse, 0);
    assert.equal(A.toeStats.offloaded, 1);
    for (const c of [full, v6, md5, cubic]) await close(c);
  });
});

test('card memory full: on the host, counted; the card killed resets its connections, the host ones go on', {
  timeout: 60000,
}, async () => {
  // Room for one connection's buffers (32 KiB + 64 KiB).
  await withCard({ toe: { ntids: 8, memory: 98304 } }, async (A, netA) => {
    const onTheCard = await open(netA, '10.0.0.2');
    const onTheHost = await open(netA, '10.0.0.2');
    assert.equal(A.toeStats.offloaded, 1);
    assert.equal(A.toeStats.refused_memory, 1);
    assert.ok(await echo(onTheCard, 16 << 10, SEED));
    const failed = new Promise<WorkerError>((resolve) => A.once('worker-error', resolve));
    const reset = new Promise<NodeJS.ErrnoException>((resolve) => onTheCard.once('error', resolve));
    await A.cardControl().sysctlSet('debug.kdb.panic', 1);
    const err = await bounded(failed, 10000, 'worker-error');
    assert.equal(err.code, 'MCSTACK_PANIC');
    assert.equal(err.worker, A.workers);
    assert.equal((await bounded(reset, 10000, 'reset')).code, 'ECONNRESET');
    assert.equal(A.toeTids!.inUse, 0);
    assert.equal([...A.reservations.entries()].filter((r) => r.worker === A.workers).length, 0);
    assert.ok(await echo(onTheHost, 64 << 10, SEED + 1), 'the host connection is untouched');
    assert.deepEqual(errors.get(onTheHost), []);
    assert.deepEqual(errors.get(onTheCard), ['ECONNRESET after 16384 bytes read']);
    await close(onTheHost);
  });
});
