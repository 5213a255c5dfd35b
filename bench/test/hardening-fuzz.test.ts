/**
 * Frame fuzzing against two engines with live connections (src/hardening/fuzz.ts): a bounded
 * number of mutated ARP, ND, ICMP, ICMPv6, fragment and TCP frames, seeded — the seed is
 * printed, and MCSTACK_FUZZ_SEED replays one — must throw nothing, and a transfer over each
 * family must still work afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz } from '../src/hardening/fuzz.js';

const seed = Number(process.env.MCSTACK_FUZZ_SEED ?? 20261207);
const FRAMES = 100_000;

test(`fuzz: ${FRAMES} mutated frames, seed ${seed}: no exception, transfers work afterwards`, () => {
  console.log(`fuzz seed ${seed} (replay: MCSTACK_FUZZ_SEED=${seed})`);
  const r = fuzz(seed, FRAMES);
  for (const k of ['arp', 'nd', 'icmp', 'icmp6', 'frag4', 'frag6', 'tcp4', 'tcp6'])
    assert.ok((r.kinds[k] ?? 0) > 0, `the corpus has ${k}: ${JSON.stringify(r.kinds)}`);
  assert.equal(r.exceptions, 0, r.firstException ? `${r.firstException.message}\nframe ${r.firstException.frame}` : '');
  assert.deepEqual(r.transferAfter, { inet: true, inet6: true });
});
