/**
 * pf in the group workers (tier 4): B's two workers load `block all` and one stateful
 * pass rule for echo, so every answer B sends and every later segment it gets passes only
 * on a state. The transactions all completing shows each flow's state lives in the worker
 * RSS gives both its directions; each worker holds only its own flows' states, and the
 * rule counters add up over the workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePfConf, type PfReport } from '@mcstack/netinet';
import { pfSum } from '@mcstack/netinet/tools';
import { waitFor } from './support/wait.js';
import { pair, appStats } from './support/pair.js';

test('pf in 2 workers: states with the flow owner, counters summed, rr over a block-all ruleset completes', async () => {
  const CONNS = 16;
  const p = pair(
    2,
    {
      apps: [
        { name: 'rr-client', options: { addr: '10.0.0.2', port: 7, connections: CONNS, size: 100, transactions: 20 } },
      ],
    },
    { apps: [{ name: 'echo', port: 7 }] },
  );
  try {
    await p.B.start();
    await p.B.pfLoad(parsePfConf('block all\npass in inet proto tcp from any to any port 7 keep state\n'));
    await p.B.pfEnable(true);
    await assert.rejects(p.B.pfEnable(true), { code: 'EEXIST' });
    await p.A.start();
    const st = await waitFor('rr done', appStats(p.A, 'rr-client'), (s) => s.done === 2);
    assert.equal(st.transactions, CONNS * 20);
    assert.equal(st.errors, 0);
    const reports = await p.B.pfReports();
    assert.equal(reports.length, 2);
    const flows = reports.map((r) => r.states.map((s) => `${s.addr0}:${s.port0}`));
    assert.ok(
      flows.every((f) => f.length > 0),
      'both workers own some flows',
    );
    assert.equal(new Set(flows.flat()).size, CONNS, 'one state per connection, in one worker only');
    for (const r of reports) {
      assert.equal(r.status.counters[4], 0, 'no state-mismatch');
      assert.equal(r.status.dropIn + r.status.dropOut, 0, 'nothing of the flows was blocked');
    }
    const sum = pfSum(reports);
    assert.equal(sum.status.states, CONNS);
    assert.equal(sum.counters[1]!.statesTot, CONNS);
    assert.equal(
      sum.counters[1]!.packetsIn,
      reports.reduce((n, r) => n + r.counters[1]!.packetsIn, 0),
    );
    assert.equal(sum.counters[1]!.packetsIn, CONNS, 'the rule saw only the SYNs; the rest passed on states');
    await p.B.pfEnable(false);
  } finally {
    await p.A.stop();
    await p.B.stop();
  }
});

test('set limit states is one limit for the stack: 2 workers, 16 connections, 6 states in all', async () => {
  const CONNS = 16;
  const LIMIT = 6;
  const p = pair(
    2,
    {
      apps: [
        { name: 'rr-client', options: { addr: '10.0.0.2', port: 7, connections: CONNS, size: 100, transactions: 5 } },
      ],
    },
    { apps: [{ name: 'echo', port: 7 }] },
  );
  try {
    await p.B.start();
    await p.B.pfLoad(
      parsePfConf(`set limit states ${LIMIT}\nblock all\npass in inet proto tcp to port 7 keep state\n`),
    );
    await p.B.pfEnable(true);
    await p.A.start();
    // Each worker owns about half the flows (8): a limit per worker would let 12 states in, and
    // would never drop for memory (counter 3) in a worker holding fewer than LIMIT states.
    const underOwnLimit = (rs: PfReport[]) => rs.some((r) => r.status.counters[3]! > 0 && r.status.states < LIMIT);
    const reports = await waitFor(
      'the limit reached',
      () => p.B.pfReports(),
      (rs) => pfSum(rs).status.states === LIMIT && underOwnLimit(rs),
    );
    const sum = pfSum(reports);
    assert.equal(sum.status.states, LIMIT, 'no more states than the one limit, over both workers');
    assert.equal(sum.statesInUse, LIMIT);
    assert.ok(sum.counters[1]!.packetsIn > LIMIT, 'more flows came than were let in');
    await p.B.pfEnable(false);
  } finally {
    await p.A.stop();
    await p.B.stop();
  }
});
