/**
 * callout(9) wheel: whatever mix of arming, re-arming earlier or later, stopping and
 * running, callouts fire at their latest deadline in (deadline, arming) order and next()
 * is the earliest pending deadline — the lazy re-keying of later resets must not show.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Callout, CalloutWheel } from '../src/kern/callout.js';

/** Random arm/stop/run sequences over `count` callouts against the model. */
function checkAgainstModel(count: number, maxOps: number, numRuns: number): void {
  const op = fc.oneof(
    fc.record({ reset: fc.nat(count - 1), at: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ stop: fc.nat(count - 1) }),
    fc.record({ run: fc.integer({ min: 0, max: 12 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: maxOps }), (ops) => {
      const w = new CalloutWheel();
      const fired: number[] = [];
      const cs = Array.from({ length: count }, (_, i) => new Callout(() => fired.push(i)));
      // The model: per callout its deadline and arming order, or null when not pending.
      const model: ({ when: number; seq: number } | null)[] = cs.map(() => null);
      let seq = 0;
      let now = 0;
      for (const o of ops) {
        if ('reset' in o) {
          w.reset(cs[o.reset]!, now + o.at);
          model[o.reset] = { when: now + o.at, seq: ++seq };
        } else if ('stop' in o) {
          assert.equal(w.stop(cs[o.stop]!), model[o.stop] !== null);
          model[o.stop] = null;
        } else {
          now += o.run;
          const due = model
            .map((m, i) => ({ m, i }))
            .filter((x) => x.m !== null && x.m.when <= now)
            .sort((a, b) => a.m!.when - b.m!.when || a.m!.seq - b.m!.seq)
            .map((x) => x.i);
          fired.length = 0;
          assert.equal(w.run(now), due.length);
          assert.deepEqual(fired, due);
          for (const i of due) model[i] = null;
        }
        const pending = model.filter((m) => m !== null);
        assert.equal(w.next(), pending.length ? Math.min(...pending.map((m) => m.when)) : Infinity);
        assert.equal(w.size, pending.length);
        cs.forEach((c, i) => {
          assert.equal(c.pending, model[i] !== null);
        });
      }
    }),
    { seed: 0xca11, numRuns },
  );
}

test('callouts fire by (latest deadline, arming order); next() is exact', () => {
  checkAgainstModel(16, 300, 400);
});

test('hundreds of callouts: the same order and next() with a deep heap', () => {
  checkAgainstModel(300, 2000, 60);
});
