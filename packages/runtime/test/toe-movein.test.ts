/**
 * A connection moving into the card (docs/toe.md, "Live handoff"): its TID is held from the
 * first instant the link can find it, so no segment of the peer reaches the card before
 * the card has the pcb. A TID published live and held a moment later let a peer's
 * sender hand the card a segment of a connection it did not have yet: the card answered
 * with an RST (tcps_noport), which reset the peer when it landed on its rcv_nxt (EPIPE at
 * an in-worker crr-client whose echo server's connection moved after accept).
 *
 * Deterministic: the coordinator's move-in runs with a peer sender (linkmatrix.ts LinkTx
 * on the card's TID table) transmitting one of the connection's segments after every
 * store the coordinator makes to shared memory — every instant a sender on another thread
 * could look the tuple up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIP } from '@mcstack/wire';
import { IFCAP_TOE, newFrameMeta } from '@mcstack/netinet';
import { ToeCard, type HandoffPeer, type ToeCardHost } from '../src/toecard.js';
import { TID_HOLD } from '../src/tids.js';
import { LinkTx } from '../src/linkmatrix.js';
import { FrameRing, RingConsumer } from '../src/ring.js';
import { Doorbell } from '../src/doorbell.js';
import type { SockHandoff } from '../src/sockrec.js';
import { buildFrame } from './frames.js';

test('a connection moving into the card is held from the instant its TID is visible: no segment reaches the card before its pcb', async () => {
  const card = ToeCard.forStack({ capabilities: IFCAP_TOE, toe: { ntids: 8, memory: 1 << 20 } })!;
  // The card's thread is not needed to take a TID: the coordinator's half runs alone.
  Object.defineProperty(card, 'alive', { get: () => true });
  card.toeOn = true;
  const host = { workers: 1, options: { capabilities: IFCAP_TOE } } as unknown as ToeCardHost;
  const rss = FrameRing.create({ slots: 256, slotSize: 2048 });
  const cardRing = FrameRing.create({ slots: 256, slotSize: 2048 });
  const tx = new LinkTx([rss.sab], [new Doorbell().sab], new SharedArrayBuffer(2 * 4), 'rss-groups', undefined, {
    ring: cardRing.sab,
    bell: new Doorbell().sab,
    tids: card.tids.sab,
  });
  const meta = newFrameMeta();
  const seg = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 7, payload: 10 });
  const t = { laddr: '10.0.0.2', lport: 7, faddr: '10.0.0.1', fport: 40000 };
  const key = { src: parseIP(t.faddr)!, dst: parseIP(t.laddr)!, sport: t.fport, dport: t.lport };
  // Another connection already on the card (an empty table hides the tuple from every lookup).
  card.tids.insert({ ...key, sport: 40001 });
  let exported = false;
  let instants = 0;
  // The peer's sender between any two of the coordinator's shared-memory stores.
  const store = Atomics.store;
  let inSend = false;
  const send = () => {
    if (inSend || exported) return;
    inSend = true;
    instants++;
    assert.equal(tx.send(seg, meta), 0);
    tx.flush();
    inSend = false;
  };
  const add = Atomics.add;
  const hooked = Atomics as { store: typeof Atomics.store; add: typeof Atomics.add };
  hooked.store = ((a: Int32Array, i: number, v: number) => {
    const r = store(a, i, v);
    send();
    return r;
  }) as typeof Atomics.store;
  hooked.add = ((a: Int32Array, i: number, v: number) => {
    const r = add(a, i, v);
    send();
    return r;
  }) as typeof Atomics.add;
  const group: HandoffPeer = {
    sockHandoffOut: async () => {
      // The old owner exports now: from here on the card must be the one to take the segments.
      assert.equal(card.tids.state(card.tids.lookupKey(key)), TID_HOLD);
      exported = true;
      return {} as SockHandoff;
    },
    sockHandoffIn: async () => {},
  };
  try {
    await card.handoffOut(host, group, 0, host.workers, 1, t);
  } finally {
    hooked.store = store;
    hooked.add = add;
  }
  assert.ok(exported, 'the group was asked to export');
  assert.ok(instants > 0, 'the sender ran while the TID was taken');
  assert.equal(tx.toCard, 0, `a segment reached the card before its pcb (${instants} instants)`);
  assert.equal(new RingConsumer(cardRing).peek(256), 0);
  // Before the TID existed the segments went by RSS (the group still had the pcb), after it they were lost.
  assert.equal(tx.handoffDrops + new RingConsumer(rss).peek(256), instants);
});
