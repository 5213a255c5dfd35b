/**
 * The simulator's event queue: whatever mix of in-order and out-of-order pushes
 * and interleaved pops, items come out by (time, scheduling order), as a stable
 * sort would give them — the in-order ring beside the heap must not change that.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventQueue } from '../src/sim/events.js';

const seed = 0x5e7e47;

test('EventQueue pops by (time, push order) for any push/pop sequence', () => {
  const op = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 20 }) }), fc.record({ pop: fc.constant(true) }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const q = new EventQueue<number>();
      const ref: { t: number; id: number }[] = [];
      let id = 0;
      let base = 0;
      for (const o of ops) {
        if ('push' in o) {
          // Times mostly move forward (as a wire's), sometimes back: both paths get used.
          const t = o.push < 15 ? base + o.push : base - (o.push - 15);
          if (o.push < 5) base = t;
          q.push(t, id);
          ref.push({ t, id });
          id++;
        } else {
          ref.sort((a, b) => a.t - b.t || a.id - b.id);
          const want = ref.shift();
          assert.equal(q.peekTime(), want === undefined ? Infinity : want.t);
          assert.equal(q.pop(), want?.id);
        }
        assert.equal(q.size, ref.length);
      }
      ref.sort((a, b) => a.t - b.t || a.id - b.id);
      for (const w of ref) assert.equal(q.pop(), w.id);
      assert.equal(q.pop(), undefined);
    }),
    { seed, numRuns: 300 },
  );
});

test('EventQueue: the in-order ring grows past its first capacity and wraps', () => {
  const q = new EventQueue<number>();
  let next = 0;
  let t = 0;
  for (let round = 0; round < 50; round++) {
    for (let k = 0; k < 37 + round * 3; k++) q.push(t++, t);
    for (let k = 0; k < 30 + round * 2; k++) assert.equal(q.pop(), ++next);
  }
  while (q.size > 0) assert.equal(q.pop(), ++next);
});
