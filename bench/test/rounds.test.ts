/**
 * The rounds helper every A-against-B bench reads its targets through (rounds.ts): the order
 * follows from the seed alone and each round measures every point once; a ratio row is the
 * median of the rounds' ratios with its interval, its verdict at the target's boundaries;
 * the points are in the shape `bench compare` reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRatio, orderOf, ratioRow, roundPoints, runRounds, estimate } from '../src/rounds.js';
import { measurementPlan } from '../src/stats/order.js';
import { studySamples } from '../src/studyfile.js';

const KEYS = ['bulk/off', 'bulk/on', 'rr/off', 'rr/on', 'handoffs'];

test('runRounds: every point once per round, in the seed’s order, results in round order', async () => {
  const ran: string[] = [];
  const r = await runRounds(KEYS, { seed: 77, repeats: 4 }, async (key, round) => {
    ran.push(key);
    return `${key}@${round}`;
  });
  const plan = measurementPlan(KEYS, 77, 4);
  assert.deepEqual(
    ran,
    plan.steps.map((s) => s.key),
  );
  assert.deepEqual(r.plan, plan);
  for (const k of KEYS)
    assert.deepEqual(
      r.results.get(k),
      [1, 2, 3, 4].map((i) => `${k}@${i}`),
    );
  const order = orderOf(r.plan);
  assert.equal(order.length, 4);
  for (const round of order) assert.deepEqual([...round].sort(), [...KEYS].sort());
  // Reproducible from the seed; another seed gives another order.
  const again = await runRounds(KEYS, { seed: 77, repeats: 4 }, async () => 0);
  assert.deepEqual(orderOf(again.plan), order);
  const other = await runRounds(KEYS, { seed: 78, repeats: 4 }, async () => 0);
  assert.notDeepEqual(orderOf(other.plan), order);
  // Five rounds unless told.
  assert.equal((await runRounds(['a'], { seed: 1 }, async () => 0)).plan.repeats, 5);
});

test('runRounds: a throwing step ends the run with its error', async () => {
  let steps = 0;
  await assert.rejects(
    runRounds(KEYS, { seed: 1, repeats: 3 }, async () => {
      if (++steps === 4) throw new Error('the link died');
    }),
    /the link died/,
  );
  assert.equal(steps, 4);
});

test('ratioRow: the median of the rounds’ ratios, paired by round, with its order-statistic interval', () => {
  // Round 3's numerator is slow and so is its denominator: paired, the ratio holds still.
  const r = ratioRow([2, 2.2, 0.5, 1.8, 2.1], [1, 1.1, 0.25, 0.9, 1]);
  assert.deepEqual(r.ratios, [2, 2, 2, 2, 2.1]);
  assert.equal(r.ratio, 2);
  assert.deepEqual([r.ratioLo, r.ratioHi], [2, 2.1]);
  assert.equal(r.confidence, 0.9375, 'n = 5: [min, max] at 93.75%');
  assert.equal(r.verdict, undefined);
  assert.equal(r.target, undefined);
  // A zero numerator is a ratio (a cost that vanished); a zero denominator is not.
  assert.equal(ratioRow([0, 0], [1, 2]).ratio, 0);
  assert.throws(() => ratioRow([1, 2], [1, 0]), /round 2 is 2 over 0, not a ratio/);
  assert.throws(() => ratioRow([1, 2, 3], [1, 2]), /3 rounds over 2/);
  assert.throws(() => ratioRow([], []), RangeError);
});

test('ratioRow: verdicts at the target’s boundaries, at least and at most', () => {
  // Five rounds whose ratios are exactly the values given: the interval is [min, max].
  const row = (ratios: number[], direction: 'at least' | 'at most', value: number) =>
    ratioRow(
      ratios,
      ratios.map(() => 1),
      { direction, value },
    );
  const cases: [number[], 'at least' | 'at most', number, string, boolean][] = [
    [[1, 1.1, 1.2, 1.3, 1.4], 'at least', 1, 'met', true], // lo on the target: met
    [[0.8, 0.9, 1, 1.1, 1.2], 'at least', 1, 'inconclusive', true], // median on it, interval across it
    [[0.6, 0.7, 0.8, 0.9, 1], 'at least', 1, 'inconclusive', false], // hi touching it
    [[0.5, 0.6, 0.7, 0.8, 0.99], 'at least', 1, 'not met', false],
    [[0.1, 0.12, 0.15, 0.18, 0.2], 'at most', 0.2, 'met', true], // hi on the target: met
    [[0.2, 0.25, 0.3, 0.35, 0.4], 'at most', 0.2, 'inconclusive', false], // lo touching it
    [[0.21, 0.25, 0.3, 0.35, 0.4], 'at most', 0.2, 'not met', false],
  ];
  for (const [ratios, direction, value, verdict, met] of cases) {
    const r = row(ratios, direction, value);
    assert.equal(r.verdict, verdict, `${ratios.join(' ')} ${direction} ${value}`);
    assert.equal(r.met, met, `${ratios.join(' ')} ${direction} ${value}: the median's side`);
    assert.equal(r.direction, direction);
    assert.equal(r.target, value);
  }
  assert.equal(
    formatRatio(row([0.1, 0.12, 0.15, 0.18, 0.2], 'at most', 0.2)),
    '0.150 [0.100–0.200] (93.8%), target ≤ 0.2: met',
  );
  assert.equal(formatRatio(ratioRow([2, 2, 2, 2, 2, 2], [1, 1, 1, 1, 1, 1])), '2.000 [2.000–2.000] (96.9%)');
});

test('estimate: the median and its exact interval', () => {
  assert.deepEqual(estimate([5, 1, 3, 2, 4]), { median: 3, lo: 1, hi: 5, confidence: 0.9375 });
  assert.deepEqual(estimate([7]), { median: 7, lo: 7, hi: 7, confidence: 0 });
});

test('roundPoints: every point carries every figure, per round, in the shape bench compare reads', () => {
  const results = new Map([
    [
      'bulk/on',
      [
        { rate: 2, cpu: 10 },
        { rate: 3, cpu: 12 },
      ],
    ],
    [
      'rr/on',
      [
        { rate: 100, cpu: 1 },
        { rate: 120, cpu: 2 },
      ],
    ],
  ]);
  const points = roundPoints(results, {
    throughput: (x, key) => (key.startsWith('rr') ? x.rate * 2 : x.rate),
    cpu: (x) => x.cpu,
  });
  assert.deepEqual(points, [
    { key: 'bulk/on', samples: { throughput: [2, 3], cpu: [10, 12] } },
    { key: 'rr/on', samples: { throughput: [200, 240], cpu: [1, 2] } },
  ]);
  // A report carrying them is a study file for bench compare, whatever else it holds.
  const report = JSON.parse(JSON.stringify({ rows: [], seed: 1, points }));
  assert.deepEqual(studySamples(report, 'cpu'), [
    { key: 'bulk/on', samples: [10, 12] },
    { key: 'rr/on', samples: [1, 2] },
  ]);
});
