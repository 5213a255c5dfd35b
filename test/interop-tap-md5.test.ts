/**
 * Tier 5 (docs/architecture.md, "Tests in tiers"): TCP-MD5 (RFC 2385) with the Linux
 * kernel as the peer, over TAP in a network namespace this test makes (as
 * interop-tap.test.ts does). Linux sets TCP_MD5SIG on its side (bench's Python peer, the
 * kernel's struct tcp_md5sig), mcstack sets TCP_MD5SIG on its sockets with the key from
 * its SA database (setkey). Linux drops unsigned or wrongly signed segments, mcstack
 * counts what it checked: so transfers that complete byte-exact, both directions and
 * both roles, with mcstack's good-signature counter moving and its bad one still, show
 * both kernels signing and verifying. A Linux client with another key gets nowhere and
 * mcstack counts its SYNs as bad signatures.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type Engine, tools } from '@mcstack/netinet';
import type { RealtimeLoop } from '@mcstack/runtime';
import { type Netns, netnsUnavailable } from '@mcstack/bench';
import { tapHost } from './support/tap-host.js';
import { Peer } from './support/peer.js';
import { planTransfers, TransferClient, TransferServer, type TransferResult } from './support/transfers.js';

const SEED = 20261207;
const KEY = 'mcstack-bgp-md5';
const LINUX4 = '10.79.0.1';
const MCS4 = '10.79.0.2';
const LINUX6 = 'fd79::1';
const MCS6 = 'fd79::2';

const skip = await netnsUnavailable();

describe('interop: TCP-MD5 with the Linux kernel over TAP', {
  skip: skip ? `needs TAP and network namespaces: ${skip}` : false,
}, () => {
  let ns: Netns;
  let engine: Engine;
  let loop: RealtimeLoop;
  let port = 7000;

  before(async () => {
    ({ ns, engine, loop } = await tapHost({
      name: 'md5',
      seed: SEED,
      lladdr: Uint8Array.of(0x02, 0, 0, 0x79, 0, 2),
      mcstack: [`${MCS4}/24`, `${MCS6}/64`],
      linux: [`${LINUX4}/24`, `${LINUX6}/64`],
    }));
    engine.setkey(
      tools.parseSetkey(`
        add ${MCS4} ${LINUX4} tcp 0x1000 -A tcp-md5 "${KEY}";
        add ${LINUX4} ${MCS4} tcp 0x1001 -A tcp-md5 "${KEY}";
        add ${MCS6} ${LINUX6} tcp 0x1002 -A tcp-md5 "${KEY}";
        add ${LINUX6} ${MCS6} tcp 0x1003 -A tcp-md5 "${KEY}";`),
    );
  });

  after(async () => {
    await loop?.close();
    await ns?.delete();
  });

  async function lines(peer: Peer, n: number): Promise<TransferResult[]> {
    const out: TransferResult[] = [];
    while (out.length < n) {
      const m = await peer.next<TransferResult & { event?: string }>();
      if (!m.event) out.push(m);
    }
    return out;
  }

  function sig() {
    const st = engine.tcp.stat;
    return { good: st.tcps_sig_rcvgoodsig, bad: st.tcps_sig_rcvbadsig, build: st.tcps_sig_err_buildsig };
  }

  for (const family of ['inet', 'inet6'] as const) {
    const [linux, mcs] = family === 'inet' ? [LINUX4, MCS4] : [LINUX6, MCS6];
    const v = family === 'inet' ? 'IPv4' : 'IPv6';

    it(`${v}: Linux client, mcstack server, both signing`, async () => {
      const plan = planTransfers(SEED + 1, 3, 256 << 10);
      const p = port++;
      const before = sig();
      const server = new TransferServer(engine, family, mcs, p, plan, { md5: true });
      const off = loop.onPoll(server.poll);
      const peer = new Peer(ns, { mode: 'client', addr: mcs, port: p, md5: { peer: mcs, key: KEY }, transfers: plan });
      try {
        const res = await lines(peer, plan.length);
        for (let i = 0; i < 200 && !server.done; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(server.error, null);
        assert.equal(server.results.length, plan.length);
        plan.forEach((t, i) => {
          assert.equal(server.results[i]!.receivedSha, res[i]!.sentSha, `transfer ${i} Linux→mcstack`);
          assert.equal(res[i]!.receivedSha, server.results[i]!.sentSha, `transfer ${i} mcstack→Linux`);
          assert.equal(res[i]!.received, t.reply);
        });
        const after = sig();
        assert.ok(after.good - before.good > 20, `${after.good - before.good} good signatures`);
        assert.equal(after.bad, before.bad);
        assert.equal(after.build, before.build);
      } finally {
        off();
        peer.kill();
      }
    });

    it(`${v}: mcstack client, Linux server, both signing`, async () => {
      const plan = planTransfers(SEED + 2, 3, 256 << 10);
      const p = port++;
      const before = sig();
      const peer = new Peer(ns, {
        mode: 'server',
        addr: linux,
        port: p,
        md5: { peer: mcs, key: KEY },
        transfers: plan.map((x) => ({ send: x.reply, seed: x.seed })),
      });
      let off = () => {};
      try {
        assert.equal((await peer.next<{ event?: string }>()).event, 'listening');
        const client = new TransferClient(engine, family, linux, p, plan, { md5: true });
        off = loop.onPoll(client.poll);
        loop.kick();
        const res = await lines(peer, plan.length);
        for (let i = 0; i < 200 && !client.done; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(client.error, null);
        plan.forEach((_t, i) => {
          assert.equal(client.results[i]!.receivedSha, res[i]!.sentSha, `transfer ${i} Linux→mcstack`);
          assert.equal(res[i]!.receivedSha, client.results[i]!.sentSha, `transfer ${i} mcstack→Linux`);
        });
        const after = sig();
        assert.ok(after.good - before.good > 20, `${after.good - before.good} good signatures`);
        assert.equal(after.bad, before.bad);
      } finally {
        off();
        peer.kill();
      }
    });
  }

  it('IPv4: a Linux client with another key is never accepted; mcstack counts its SYNs as bad', async () => {
    const plan = planTransfers(SEED + 3, 1, 1024);
    const p = port++;
    const before = sig();
    const server = new TransferServer(engine, 'inet', MCS4, p, plan, { md5: true });
    const off = loop.onPoll(server.poll);
    const peer = new Peer(ns, {
      mode: 'client',
      addr: MCS4,
      port: p,
      timeout: 3,
      md5: { peer: MCS4, key: 'not-the-key' },
      transfers: plan,
    });
    try {
      await assert.rejects(peer.next(), /timed out|exited/);
      assert.equal(server.results.length, 0);
      assert.equal(server.current, -1, 'nothing accepted');
      assert.ok(sig().bad - before.bad >= 2, 'the SYN and its retransmissions');
    } finally {
      off();
      peer.kill();
    }
  });
});
