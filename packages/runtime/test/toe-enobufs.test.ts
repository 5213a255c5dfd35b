/**
 * The card's transmit side refusing a frame (its ring to a receiver that stopped reading is
 * full; the card's LinkTx has no transmit queue) is ENOBUFS to the card's TCP, as the
 * group workers' link is: tcp_output backs the segment out (FreeBSD tcp_output.c, the
 * ENOBUFS case) and sends it again as ACKs or the timer resume. The stream stays
 * byte-exact through repeated refusals (bulk-sender verifies every byte of the echo).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IFCAP_HWCSUM, IFCAP_HWCSUM_IPV6, IFCAP_TOE } from '@mcstack/netinet';
import { waitFor } from './support/wait.js';
import { pair, withPair, appStats } from './support/pair.js';

test('the card refusing frames is ENOBUFS to its TCP (backed out): the echo through the card stays byte-exact', async () => {
  const p = pair(
    1,
    {
      apps: [
        { name: 'bulk-sender', options: { addr: '10.0.0.2', port: 7, bytes: 8 << 20, mode: 'echo', verify: true } },
      ],
    },
    {
      capabilities: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_TOE,
      capenable: IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6,
      modules: ['t4_tom'],
      // The card's rings hold 16 frames: a receiver that stops reading fills one at once.
      ringSlots: 16,
      apps: [{ name: 'echo', port: 7 }],
    },
  );
  await withPair(p, async () => {
    const { A, B } = p;
    await waitFor('bulk flowing', appStats(A, 'bulk-sender'), (s) => (s.bytesReceived ?? 0) > 256 << 10);
    await B.ifconfig(['cxgbe0', 'toe']);
    const c = (await B.netstat()).find((e) => e.lport === 7 && e.fport !== 0);
    assert.ok(c !== undefined);
    await B.toeHandoff({ laddr: c.laddr, lport: c.lport, faddr: c.faddr, fport: c.fport }, true);
    // A stops reading: the card's ring to it fills and refuses.
    for (let i = 0; i < 3; i++) {
      await A.sysctl('debug.rxstall_ms', 150);
      await new Promise((r) => setTimeout(r, 300));
    }
    const st = await waitFor('bulk done', appStats(A, 'bulk-sender'), (s) => (s.done ?? 0) >= 1, 60000);
    const cc = await B.cardCounters();
    assert.ok(cc !== null);
    assert.equal(st.mismatches, 0);
    assert.equal(st.bytesReceived, 8 << 20);
    assert.ok(cc.txDrops > 0, 'the card refused frames');
    // Returned to its engine, not lost silently: each refusal reached ether_output as an
    // error, which counts it as an output queue drop (a silent loss would count a packet sent).
    const card = (await B.snapshots()).find((x) => x.worker === 'toe');
    const oqdrops = card?.interfaces.find((i) => i.name === 'cxgbe0')?.data.ifi_oqdrops ?? 0;
    assert.ok(oqdrops > 0, `the card's TCP saw its refusals (ifi_oqdrops ${oqdrops}, txDrops ${cc.txDrops})`);
  });
});
