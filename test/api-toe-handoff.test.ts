/**
 * Live handoff in the runtime (docs/toe.md, "Live handoff"): an @mcstack/api socket's
 * established connection moves from its group worker to the TOE card and back while bulk
 * data flows both ways (the reservation and the card's TID follow it; frames reaching the
 * link while it is between owners are dropped and retransmitted), and `ifconfig cxgbe0
 * -toe` brings every offloaded connection back to its RSS group. Byte-exact by SHA-256 in
 * both directions; nothing left (TIDs, card memory, reservations, pcbs) after close.
 *
 * The in-memory link has no loss knob: the only loss on the wire here is the frames the
 * link drops for a held TID during each move.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Stack } from '@mcstack/runtime';
import type { McNet, Socket } from '@mcstack/api';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TOE } from '@mcstack/netinet';
import { formatConnections } from '@mcstack/netinet/tools';
import { bounded as boundedBy } from './support/bounded.js';
import { bytes, until as untilBy } from './support/toe.js';
import { withEchoPair } from './support/toepair.js';

const SEED = Number(process.env.SEED ?? 0x40ff);
const bounded = <T>(p: Promise<T>, ms: number, what: string) => boundedBy(p, ms, what, SEED);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const until = (what: string, cond: () => boolean | Promise<boolean>) => untilBy(what, cond, SEED);

const N = 3 << 20;

/**
 * The server: sends N bytes of its own on each connection and, once that is written and it
 * has received N bytes, ends (the server closes first, so the client's side goes through
 * LAST_ACK to CLOSED). `next()` resolves with the SHA-256 of what the next connection (in
 * order of accept) received.
 */
async function bulkServer(net: McNet, seed: number): Promise<{ next(): Promise<string> }> {
  const hashes: Promise<string>[] = [];
  const dones: ((h: string) => void)[] = [];
  for (let k = 0; k < 2; k++) hashes.push(new Promise<string>((r) => dones.push(r)));
  let accepted = 0;
  let taken = 0;
  const server = net
    .createServer((s) => {
      const done = dones[accepted++] ?? (() => {});
      const h = createHash('sha256');
      let n = 0;
      let wrote = false;
      const finish = () => {
        if (n >= N && wrote) s.end();
      };
      s.on('data', (b: Buffer) => {
        h.update(b);
        n += b.length;
        if (n >= N && n - b.length < N) {
          done(h.digest('hex'));
          finish();
        }
      });
      s.on('error', () => {});
      void (async () => {
        const data = bytes(N, seed + 1);
        for (let off = 0; off < N; off += 16384) if (!s.write(data.subarray(off, off + 16384))) await once(s, 'drain');
        wrote = true;
        finish();
      })();
    })
    .listen(9);
  await bounded(once(server, 'listening'), 10000, 'listen');
  return { next: () => hashes[taken++] ?? Promise.reject(new Error('more connections than the server expects')) };
}

/** A's side: N bytes out while reading N bytes in; resolves with the SHA-256 of what came in, at 'close'. */
function bulkClient(c: Socket, seed: number): { got: Promise<string>; sentAll: Promise<void> } {
  const h = createHash('sha256');
  const errs: string[] = [];
  c.on('data', (b: Buffer) => h.update(b));
  c.on('error', (e: NodeJS.ErrnoException) => errs.push(`${e.code}: ${e.message}`));
  const got = once(c, 'close').then(() => {
    assert.deepEqual(errs, [], `socket errors (seed ${SEED})`);
    return h.digest('hex');
  });
  const sentAll = (async () => {
    const data = bytes(N, seed);
    for (let off = 0; off < N; off += 16384) if (!c.write(data.subarray(off, off + 16384))) await once(c, 'drain');
  })();
  return { got, sentAll };
}

/** A (the card, t4_tom loaded, TOE off) and B through their APIs; B's echo on 7 goes unused here. */
function pair(fn: (A: Stack, netA: McNet, netB: McNet) => Promise<void>): Promise<void> {
  const card = {
    capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE,
    capenable: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6,
    toe: { ntids: 16 },
  };
  return withEchoPair(card, SEED, async (A, netA, _B, netB) => {
    await A.kldload('t4_tom');
    await fn(A, netA, netB);
  });
}

/** Nothing of the connection left on A: no TID, no card memory, no reservation, no pcb on any worker or the card. */
async function nothingLeft(A: Stack, lport: number): Promise<void> {
  const tids = A.toeTids;
  assert.ok(tids !== null);
  await until('the TIDs and the reservation freed', () => tids.inUse === 0 && A.reservations.size === 0);
  assert.equal(tids.memInUse, 0);
  const conns = formatConnections(await A.snapshots(), { proto: 'tcp' });
  assert.ok(!conns.includes(`.${lport} `), conns);
}

for (const [family, host] of [
  ['IPv4', '10.0.0.2'],
  ['IPv6', 'fd00::2'],
] as const) {
  test(`${family}: host → card → host … in the middle of bulk transfers both ways, byte-exact`, {
    timeout: 90000,
  }, async () => {
    await pair(async (A, netA, netB) => {
      const srv = await bulkServer(netB, SEED);
      await A.ifconfig(['cxgbe0', 'toe']);
      // Opened with offload off: an ordinary host connection in its RSS group.
      await A.ifconfig(['cxgbe0', '-toe']);
      const c = netA.connect(9, host);
      await bounded(once(c, 'connect'), 10000, 'connect');
      const lport = c.localPort ?? 0;
      const home = c.worker;
      assert.ok(home >= 0 && home < A.workers);
      await A.ifconfig(['cxgbe0', 'toe']);
      const tids = A.toeTids;
      assert.ok(tids !== null);
      const io = bulkClient(c, SEED);
      let moves = 0;
      let sent = false;
      void io.sentAll.then(() => {
        sent = true;
      });
      // Moves while data flows: at least once each way, then on until the send side is done.
      while (moves < 2 || (!sent && moves < 12)) {
        await sleep(15);
        if (c.destroyed) break;
        const toCard = c.worker !== A.workers;
        await bounded(netA.handoff(c, toCard), 10000, `move ${moves}`);
        moves++;
        if (toCard) {
          assert.equal(c.worker, A.workers);
          assert.equal(tids.inUse, 1);
          const rows = formatConnections(await A.snapshots(), { proto: 'tcp' }).split('\n');
          assert.ok(
            rows.some((l) => l.startsWith(family === 'IPv4' ? 'toe4' : 'toe6') && l.includes(`.${lport} `)),
            rows.join('\n'),
          );
        } else {
          assert.equal(c.worker, home, 'back in the group that owns its RSS bucket');
          assert.equal(tids.inUse, 0);
        }
      }
      assert.ok(moves >= 2, `moved ${moves} times`);
      const [got, received] = await bounded(Promise.all([io.got, srv.next()]), 60000, 'the transfers');
      assert.equal(received, sha(bytes(N, SEED)), 'A → B byte-exact');
      assert.equal(got, sha(bytes(N, SEED + 1)), 'B → A byte-exact');
      await nothingLeft(A, lport);
    });
  });
}

test('ifconfig cxgbe0 -toe returns every offloaded connection to its RSS group mid-transfer', {
  timeout: 90000,
}, async () => {
  await pair(async (A, netA, netB) => {
    const srv = await bulkServer(netB, SEED + 7);
    await A.ifconfig(['cxgbe0', 'toe']);
    const c = netA.connect(9, '10.0.0.2');
    await bounded(once(c, 'connect'), 10000, 'connect');
    assert.equal(c.worker, A.workers, 'an offloaded active open');
    const lport = c.localPort ?? 0;
    const io = bulkClient(c, SEED + 7);
    await sleep(30);
    await A.ifconfig(['cxgbe0', '-toe']);
    assert.ok(c.worker >= 0 && c.worker < A.workers, `on worker ${c.worker}`);
    assert.equal(A.toeTids?.inUse, 0);
    assert.equal([...A.reservations.entries()].filter((r) => r.worker === A.workers).length, 0);
    const [got, received] = await bounded(Promise.all([io.got, srv.next()]), 60000, 'the transfers');
    assert.equal(received, sha(bytes(N, SEED + 7)));
    assert.equal(got, sha(bytes(N, SEED + 8)));
    // The card is empty: its TOM unloads.
    await nothingLeft(A, lport);
    await A.kldunload('t4_tom');
  });
});

test('passive offload: a connection a server accepted goes to the card right after accept (IPv4 and IPv6)', {
  timeout: 90000,
}, async () => {
  await pair(async (A, netA, netB) => {
    await A.ifconfig(['cxgbe0', 'toe']);
    const tids = A.toeTids;
    assert.ok(tids !== null);
    const srv = await bulkServer(netA, SEED + 11);
    for (const [host, family] of [
      ['10.0.0.1', 'toe4'],
      ['fd00::1', 'toe6'],
    ] as const) {
      const before = A.toeStats.offloaded;
      const c = netB.connect(9, host);
      await bounded(once(c, 'connect'), 10000, 'connect');
      const io = bulkClient(c, SEED + 11);
      await until('the accepted connection on the card', () => A.toeStats.offloaded === before + 1);
      assert.equal(tids.inUse, 1);
      const rows = formatConnections(await A.snapshots(), { proto: 'tcp' }).split('\n');
      assert.ok(
        rows.some((l) => l.startsWith(family) && l.includes('.9 ') && l.includes('ESTABLISHED')),
        rows.join('\n'),
      );
      const [got, received] = await bounded(Promise.all([io.got, srv.next()]), 60000, 'the transfers');
      assert.equal(got, sha(bytes(N, SEED + 12)), 'A → B byte-exact');
      assert.equal(received, sha(bytes(N, SEED + 11)), 'B → A byte-exact');
      // The server closed first: the card gives the TID back at TIME_WAIT (t4_tom's do_peer_close).
      await until('the TID and reservation freed', () => tids.inUse === 0 && tids.memInUse === 0);
    }
  });
});
