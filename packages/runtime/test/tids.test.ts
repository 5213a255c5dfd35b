/**
 * The TOE card's TID table (tids.ts) and the link's sender handing its TIDs' frames to the
 * card before RSS (linkmatrix.ts LinkTx with a CardPort): IPv4 and IPv6, a full table,
 * removal, and the frames every queue gets reaching the card too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIP } from '@mcstack/wire';
import { newFrameMeta } from '@mcstack/netinet';
import { FrameClassifier } from '@mcstack/rss';
import { TidTable, TID_ACTIVE, TID_HOLD, type TidKey } from '../src/tids.js';
import { LinkTx } from '../src/linkmatrix.js';
import { FrameRing, RingConsumer } from '../src/ring.js';
import { Doorbell } from '../src/doorbell.js';
import { buildFrame, buildArp } from './frames.js';

const key = (src: string, dst: string, sport: number, dport: number): TidKey => ({
  src: parseIP(src)!,
  dst: parseIP(dst)!,
  sport,
  dport,
});

function lookup(t: TidTable, f: Uint8Array): number {
  const c = new FrameClassifier();
  c.hashFrame(f, 0, f.length);
  return t.lookupFrame(f, c.version, c.addrOff, c.portsOff);
}

test('TIDs by tuple and by received frame, IPv4 and IPv6; full table; remove and clear', () => {
  const t = TidTable.create(3);
  const k4 = key('10.0.0.1', '10.0.0.2', 40000, 7);
  const k6 = key('fd00::1', 'fd00::2', 40001, 80);
  const a = t.insert(k4);
  const b = t.insert(k6);
  assert.ok(a >= 0 && b >= 0 && a !== b);
  assert.equal(t.inUse, 2);
  assert.throws(() => t.insert(k4), { code: 'EEXIST' });
  assert.equal(lookup(t, buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 7 })), a);
  assert.equal(lookup(t, buildFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 40001, dport: 80 })), b);
  // The other direction, another port, another address: not the card's.
  assert.equal(lookup(t, buildFrame({ src: '10.0.0.2', dst: '10.0.0.1', sport: 7, dport: 40000 })), -1);
  assert.equal(lookup(t, buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 9 })), -1);
  assert.equal(lookup(t, buildFrame({ src: 'fd00::3', dst: 'fd00::2', sport: 40001, dport: 80 })), -1);
  assert.ok(t.insert(key('10.0.0.3', '10.0.0.2', 1, 2)) >= 0);
  assert.equal(t.insert(key('10.0.0.4', '10.0.0.2', 1, 2)), -1, 'the table is full');
  assert.equal(t.remove(k4), a);
  assert.equal(t.remove(k4), -1);
  assert.equal(lookup(t, buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 7 })), -1);
  assert.equal(
    lookup(t, buildFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 40001, dport: 80 })),
    b,
    'past a deleted slot',
  );
  assert.ok(t.insert(key('10.0.0.4', '10.0.0.2', 1, 2)) >= 0, 'a freed TID is reused');
  t.clear();
  assert.equal(t.inUse, 0);
  assert.equal(lookup(t, buildFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 40001, dport: 80 })), -1);
  assert.throws(() => TidTable.create(0), { code: 'EINVAL' });
});

test('a sender hands the card its TIDs frames before RSS; floods reach the card too', () => {
  const rss = FrameRing.create({ slots: 16, slotSize: 2048 });
  const cardRing = FrameRing.create({ slots: 16, slotSize: 2048 });
  const t = TidTable.create(8);
  const indirection = new SharedArrayBuffer(2 * 4);
  const tx = new LinkTx([rss.sab], [new Doorbell().sab], indirection, 'rss-groups', undefined, {
    ring: cardRing.sab,
    bell: new Doorbell().sab,
    tids: t.sab,
  });
  const meta = newFrameMeta();
  const mine = buildFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 5000, dport: 80, payload: 100 });
  const other = buildFrame({ src: 'fd00::1', dst: 'fd00::2', sport: 5001, dport: 80, payload: 100 });
  t.insert(key('fd00::1', 'fd00::2', 5000, 80));
  assert.equal(tx.send(mine, meta), 0);
  assert.equal(tx.send(other, meta), 0);
  assert.equal(tx.send(buildArp(), meta), 0);
  tx.flush();
  const onRss = new RingConsumer(rss).peek(16);
  const onCard = new RingConsumer(cardRing).peek(16);
  assert.equal(onCard, 2, 'its TID and the ARP frame');
  assert.equal(onRss, 2, 'the other connection and the ARP frame');
  assert.equal(tx.toCard, 1);
  assert.equal(new RingConsumer(cardRing).ring.len(new RingConsumer(cardRing).slot(0)), mine.length);
});

test('a held TID (a connection in a live handoff) has its frames dropped at the link, neither card nor group', () => {
  const rss = FrameRing.create({ slots: 16, slotSize: 2048 });
  const cardRing = FrameRing.create({ slots: 16, slotSize: 2048 });
  const t = TidTable.create(4);
  const tx = new LinkTx([rss.sab], [new Doorbell().sab], new SharedArrayBuffer(2 * 4), 'rss-groups', undefined, {
    ring: cardRing.sab,
    bell: new Doorbell().sab,
    tids: t.sab,
  });
  const meta = newFrameMeta();
  const k = key('10.0.0.1', '10.0.0.2', 6000, 80);
  const f = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 6000, dport: 80, payload: 10 });
  assert.equal(t.setState(k, TID_HOLD), -1, 'no TID yet');
  const tid = t.insert(k);
  assert.equal(t.state(tid), TID_ACTIVE);
  assert.equal(t.setState(k, TID_HOLD), tid);
  assert.equal(tx.send(f, meta), 0, 'lost as on the wire: not a refusal the sender backs out');
  assert.equal(tx.handoffDrops, 1);
  t.setState(k, TID_ACTIVE);
  assert.equal(tx.send(f, meta), 0);
  tx.flush();
  assert.equal(new RingConsumer(cardRing).peek(16), 1);
  assert.equal(new RingConsumer(rss).peek(16), 0);
  assert.equal(t.remove(k), tid);
  assert.equal(t.state(tid), 0);
});

test('a server TID takes every segment to its address and port, from any peer, IPv4 and IPv6; a 4-tuple TID first', () => {
  const t = TidTable.create(4);
  const la4 = parseIP('10.0.0.2')!;
  const la6 = parseIP('fd00::2')!;
  const s4 = t.insertListen(la4, 4791);
  const s6 = t.insertListen(la6, 4791);
  assert.ok(s4 >= 0 && s6 >= 0);
  const lis = (f: Uint8Array) => {
    const c = new FrameClassifier();
    c.hashFrame(f, 0, f.length);
    return t.lookupListen(f, c.version, c.addrOff, c.portsOff);
  };
  assert.equal(lis(buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 33333, dport: 4791 })), s4);
  assert.equal(lis(buildFrame({ src: '10.0.0.9', dst: '10.0.0.2', sport: 1, dport: 4791 })), s4);
  assert.equal(lis(buildFrame({ src: 'fd00::7', dst: 'fd00::2', sport: 40000, dport: 4791 })), s6);
  // Another port, another local address, the other direction: not the listener's.
  assert.equal(lis(buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 33333, dport: 4792 })), -1);
  assert.equal(lis(buildFrame({ src: '10.0.0.1', dst: '10.0.0.3', sport: 33333, dport: 4791 })), -1);
  assert.equal(lis(buildFrame({ src: 'fd00::2', dst: 'fd00::7', sport: 4791, dport: 40000 })), -1);
  assert.equal(lis(buildFrame({ src: 'fd00::7', dst: 'fd00::3', sport: 40000, dport: 4791 })), -1);
  // Through a sender: a listener's segment reaches the card; others RSS.
  const rss = FrameRing.create({ slots: 16, slotSize: 2048 });
  const cardRing = FrameRing.create({ slots: 16, slotSize: 2048 });
  const tx = new LinkTx([rss.sab], [new Doorbell().sab], new SharedArrayBuffer(2 * 4), 'rss-groups', undefined, {
    ring: cardRing.sab,
    bell: new Doorbell().sab,
    tids: t.sab,
  });
  const meta = newFrameMeta();
  assert.equal(tx.send(buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 33333, dport: 4791 }), meta), 0);
  assert.equal(tx.send(buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 33333, dport: 80 }), meta), 0);
  tx.flush();
  assert.equal(new RingConsumer(cardRing).peek(16), 1);
  assert.equal(new RingConsumer(rss).peek(16), 1);
  assert.equal(t.removeListen(la4, 4791), s4);
  assert.equal(t.removeListen(la4, 4791), -1);
  assert.equal(lis(buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 33333, dport: 4791 })), -1);
  assert.equal(t.removeListen(la6, 4791), s6);
  assert.equal(t.inUse, 0);
});

test('deleted index slots do not pile up: after heavy churn a miss still finds an empty slot, live TIDs are still found', () => {
  // Linear probing with tombstones: a miss (every host frame the sender looks up) stops only
  // at an empty slot. Without a rehash, churn turns every slot into a tombstone and each miss
  // walks the whole index.
  const t = TidTable.create(4);
  const live = key('10.0.0.1', '10.0.0.2', 40000, 7);
  const a = t.insert(live);
  for (let n = 0; n < 500; n++) {
    const k = key(`10.0.${1 + (n >> 8)}.${n & 255}`, '10.0.0.2', 1024 + 7 * n, 80);
    assert.ok(t.insert(k) >= 0, `insert ${n}`);
    assert.ok(t.remove(k) >= 0, `remove ${n}`);
  }
  assert.ok(t.emptySlots >= 2, `${t.emptySlots} empty index slots of 8 after churn`);
  assert.equal(t.inUse, 1);
  assert.equal(lookup(t, buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 7 })), a);
  assert.equal(lookup(t, buildFrame({ src: '10.0.1.1', dst: '10.0.0.2', sport: 1500, dport: 80 })), -1);
  assert.equal(t.lookupKey(live), a);
});
