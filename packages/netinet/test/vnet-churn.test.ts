/**
 * Vnet teardown leaks nothing (sim/vnet_churn.ts): 1,000 cycles of jail create, epair,
 * connect, transfer both ways and jail remove with the connection open. Every cycle's
 * host end sees the RST, every removed stack reports no zone item, callout, pcb or
 * descriptor left, the host's zones and census end where they started after the warm-up,
 * and after a full GC the heap's data (V8's own code aside) and the ArrayBuffer memory are
 * back within a bound per cycle far below what one leaked connection or stack would add.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { VNET_CHURN_HEAP_SLACK, runVnetChurn, vnetChurnClean } from '../src/sim/vnet_churn.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CYCLES = 1000;

test(`${CYCLES} vnet create/connect/transfer/destroy cycles leave zones, census and heap where they started`, async () => {
  const r = await runVnetChurn({ cycles: CYCLES, seed: 7, gc });
  assert.equal(r.resets, CYCLES, 'every live connection was reset when its jail went');
  assert.equal(r.bytes, CYCLES * 2 * 4096);
  assert.deepEqual(r.leftovers, { zoneItems: 0, callouts: 0, pcbs: 0, tcbs: 0, fds: 0 });
  assert.deepEqual(r.zoneDrift, [], 'every host zone back at its used count');
  assert.deepEqual(r.hostAfter, r.hostBefore);
  assert.ok(r.heapBefore.heapUsed > 0, 'memory measured after a full GC');
  const data = (r.heapAfter.data - r.heapBefore.data) / CYCLES;
  const ab = (r.heapAfter.arrayBuffers - r.heapBefore.arrayBuffers) / CYCLES;
  assert.ok(data < VNET_CHURN_HEAP_SLACK, `heap data grew ${data.toFixed(1)} bytes per cycle`);
  assert.ok(ab < VNET_CHURN_HEAP_SLACK, `ArrayBuffer memory grew ${ab.toFixed(1)} bytes per cycle`);
  assert.ok(vnetChurnClean(r));
});
