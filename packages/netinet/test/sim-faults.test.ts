/**
 * Tier 3 of the design card: two engines over a virtual wire with seeded faults.
 * Each case is a bulk transfer of a seeded random size (up to 16 MiB), checked
 * byte for byte by SHA-256, closed cleanly from both ends, with no pcb, tcpcb,
 * socket, syncache entry or callout left once TIME_WAIT and the ARP/ND entries
 * have run out. A failing case prints its seed: `runBulk({seed, ...})` replays it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBulk, type BulkOptions } from '../src/sim/bulk.js';
import { SeededRandom } from '../src/kern/random.js';
import type { FaultConfig } from '../src/sim/wire.js';

const MiB = 1 << 20;

interface Case {
  name: string;
  family: 'inet' | 'inet6';
  faults: FaultConfig;
  maxBytes: number;
  mtu?: number;
  offload?: boolean;
}

const cases: Case[] = [
  { name: 'clean, 16 MiB', family: 'inet', faults: {}, maxBytes: 16 * MiB },
  { name: '20% loss', family: 'inet', faults: { loss: 0.2, delayUs: 2000 }, maxBytes: 1 * MiB },
  { name: '20% loss', family: 'inet6', faults: { loss: 0.2, delayUs: 2000 }, maxBytes: 1 * MiB },
  { name: 'duplication', family: 'inet', faults: { duplicate: 0.1, delayUs: 1000, jitterUs: 200 }, maxBytes: 4 * MiB },
  {
    name: 'reordering',
    family: 'inet6',
    faults: { reorder: 0.1, reorderDelayUs: 3000, delayUs: 1000 },
    maxBytes: 4 * MiB,
  },
  { name: 'corruption', family: 'inet', faults: { corrupt: 0.05, delayUs: 500 }, maxBytes: 2 * MiB },
  { name: 'corruption', family: 'inet6', faults: { corrupt: 0.05, delayUs: 500 }, maxBytes: 2 * MiB },
  {
    name: 'rate limit 100 Mbit/s, 64 KiB queue, 10 ms',
    family: 'inet',
    faults: { rateBps: 100e6, queueBytes: 64 * 1024, delayUs: 10_000 },
    maxBytes: 8 * MiB,
  },
  {
    name: 'everything at once',
    family: 'inet',
    faults: { loss: 0.05, duplicate: 0.02, reorder: 0.05, corrupt: 0.01, delayUs: 5000, jitterUs: 1000 },
    maxBytes: 2 * MiB,
  },
  {
    name: 'everything at once',
    family: 'inet6',
    faults: { loss: 0.05, duplicate: 0.02, reorder: 0.05, corrupt: 0.01, delayUs: 5000, jitterUs: 1000 },
    maxBytes: 2 * MiB,
  },
  {
    name: 'jumbo MTU 9000 with offload',
    family: 'inet',
    faults: { loss: 0.01, delayUs: 100 },
    maxBytes: 16 * MiB,
    mtu: 9000,
    offload: true,
  },
];

const base = Number(process.env.MCSTACK_SEED ?? 20261124);

cases.forEach((c, i) => {
  const seed = base + i;
  const rnd = new SeededRandom(seed);
  // Random size in [maxBytes/2, maxBytes], not a multiple of anything in particular.
  const bytes = c.maxBytes - rnd.below(c.maxBytes / 2);
  test(`bulk ${c.family} ${c.name}: ${bytes} bytes (seed ${seed})`, () => {
    const o: BulkOptions = { seed, bytes, family: c.family, faults: c.faults, mtu: c.mtu, csumOffload: c.offload };
    const r = runBulk(o);
    assert.ok(r.ok, `seed ${seed}: ${r.reason} (replay: runBulk(${JSON.stringify(o)}))`);
    assert.equal(r.received, bytes);
    assert.equal(r.sentHash, r.receivedHash);
    const w = r.wire.clientToServer;
    // The fault actually happened (a test that cannot fail is no test).
    if (c.faults.loss)
      assert.ok(w.lost > 0 && r.tcpstat.client.tcps_sndrexmitpack > 0, `seed ${seed}: no loss happened`);
    if (c.faults.duplicate)
      assert.ok(w.duplicated > 0 && r.tcpstat.server.tcps_rcvduppack > 0, `seed ${seed}: no duplicate seen`);
    if (c.faults.reorder)
      assert.ok(w.reordered > 0 && r.tcpstat.server.tcps_rcvoopack > 0, `seed ${seed}: no reordering seen`);
    if (c.faults.corrupt) assert.ok(w.corrupted > 0, `seed ${seed}: nothing corrupted`);
    if (c.faults.rateBps)
      assert.ok(
        w.queueDrops > 0 || r.transferUs >= (bytes * 8e6) / c.faults.rateBps,
        `seed ${seed}: rate limit not felt`,
      );
  });
});
