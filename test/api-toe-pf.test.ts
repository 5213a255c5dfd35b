/**
 * pf's one state limit with a TOE card (docs/pf.md, "In the runtime"): a connection moved
 * to the card takes its flow's state along, and that state still counts in the stack's
 * `set limit states` and shows in `pfctl -s states`; the card runs the loaded ruleset
 * itself (its own active open is refused past the limit), keeps the moved state current,
 * and the state comes home with the connection within the limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { IFCAP_HWCSUM, IFCAP_TOE, parsePfConf } from '@mcstack/netinet';
import { pfSum } from '@mcstack/netinet/tools';
import { withEchoPair, echoThrough } from './support/toepair.js';
import { bounded as boundedBy } from './support/bounded.js';

const SEED = Number(process.env.SEED ?? 0x9f17);
const bounded = <T>(p: Promise<T>, ms: number, what: string) => boundedBy(p, ms, what, SEED);

test('a state moved to the TOE card counts in the stack-wide state limit and is listed', {
  timeout: 60000,
}, async () => {
  await withEchoPair(
    { capabilities: IFCAP_HWCSUM | IFCAP_TOE, capenable: IFCAP_HWCSUM, toe: { ntids: 8 } },
    SEED,
    async (A, netA) => {
      await A.kldload('t4_tom');
      await A.pfLoad(parsePfConf('set limit states 2\nblock all\npass out inet proto tcp to port 7 keep state\n'));
      await A.pfEnable(true);
      // Two host connections (offload off): two states, the limit.
      const c1 = netA.connect(7, '10.0.0.2');
      const c2 = netA.connect(7, '10.0.0.2');
      await bounded(Promise.all([once(c1, 'connect'), once(c2, 'connect')]), 10000, 'connect');
      assert.equal(pfSum(await A.pfReports()).statesInUse, 2);
      await A.ifconfig(['cxgbe0', 'toe']);
      await bounded(netA.handoff(c1, true), 10000, 'to the card');
      assert.equal(c1.worker, A.workers);
      const onCard = await A.pfReports();
      assert.equal(onCard.length, A.workers + 1, "the workers' reports and the card's");
      const card = onCard[A.workers]!;
      assert.equal(card.limitStates, 2, "the card took the ruleset's limit");
      assert.equal(card.states.length, 1, "c1's state moved with it");
      assert.equal(card.states[0]!.port1, c1.localPort);
      const sum = pfSum(onCard);
      assert.equal(sum.statesInUse, 2, "the card's state still counts against the one limit");
      assert.equal(sum.states.length, 2);
      assert.equal(sum.status.running, true, 'pfctl -s info: enabled (the card filters nothing itself)');
      assert.ok(await bounded(echoThrough(c1, 64 << 10, SEED).done, 20000, 'echo on the card'));
      // An active open the card makes itself needs a state too: over the one limit, refused.
      const c3 = netA.connect(7, '10.0.0.2');
      c3.on('error', () => {});
      const memory = async () => (await A.pfReports())[A.workers]!.status.counters[3]!;
      await bounded(
        (async () => {
          while ((await memory()) === 0) await new Promise((r) => setTimeout(r, 20));
        })(),
        10000,
        "the card's SYN dropped for memory",
      );
      assert.equal(c3.worker, A.workers, 'an offloaded active open');
      c3.destroy();
      // Home again: the state is re-imported within the limit, and the flow passes on it.
      await bounded(netA.handoff(c1, false), 10000, 'home');
      const home = await A.pfReports();
      assert.equal(home[A.workers]!.states.length, 0);
      assert.equal(pfSum(home).statesInUse, 2);
      assert.equal(pfSum(home).states.length, 2);
      assert.ok(await bounded(echoThrough(c1, 64 << 10, SEED + 1).done, 20000, 'echo at home'));
      assert.equal(pfSum(await A.pfReports()).status.counters[4], 0, 'no state-mismatch');
      c1.destroy();
      c2.destroy();
    },
  );
});
