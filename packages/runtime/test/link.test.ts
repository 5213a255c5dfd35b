import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  IndirectionTable,
  M_HASHTYPE_RSS_TCP_IPV4,
  M_HASHTYPE_RSS_IPV4,
  M_HASHTYPE_RSS_TCP_IPV6,
  M_HASHTYPE_RSS_IPV6,
  M_HASHTYPE_NONE,
  FrameClassifier,
} from '@mcstack/rss';
import { SeededRandom } from '@mcstack/netinet';
import { SysError } from '@mcstack/netinet';
import { CSUM_TCP, CSUM_IP, CSUM_DATA_VALID, CSUM_PSEUDO_HDR, CSUM_IP_CHECKED, CSUM_IP_VALID } from '@mcstack/netinet';
import { CSUM_IP_TSO } from '@mcstack/netinet';
import {
  FrameRing,
  RingConsumer,
  RingProducer,
  META_WORDS,
  META_CSUM_FLAGS,
  META_TSO_SEGSZ,
  type RingFrameMeta,
} from '../src/ring.js';
import { RssDispatcher, MultiQueueLink, loopbackRxCsum, type IndirectionChange } from '../src/link.js';
import { buildFrame, buildArp, type FrameSpec } from './frames.js';

interface Vector {
  family: 'ipv4' | 'ipv6';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  ipv4_only_hash: string;
  with_ports_hash: string;
}
// The rss package's copy of Microsoft's vectors (see its test/fixtures/SOURCES.md).
const fixture = JSON.parse(
  readFileSync(new URL('../../../rss/test/fixtures/toeplitz-ms-vectors.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };

/** A seeded scrambled indirection table so placement is not just hash % workers. */
function scrambledTable(workers: number, buckets: number, seed: number): IndirectionTable {
  const t = new IndirectionTable(workers, buckets);
  const r = new SeededRandom(seed);
  for (let b = 0; b < buckets; b++) t.set(b, r.below(workers));
  return t;
}

function drain(rings: readonly FrameRing[]): { worker: number; frame: Uint8Array; meta: RingFrameMeta }[][] {
  return rings.map((ring, worker) => {
    const c = new RingConsumer(ring);
    const n = c.peek(1 << 20);
    const out = [];
    for (let k = 0; k < n; k++) {
      const s = c.slot(k);
      out.push({ worker, frame: ring.frame(s).slice(), meta: ring.readMeta(s, {} as RingFrameMeta) });
    }
    c.release(n);
    return out;
  });
}

test("RSS placement on the Microsoft vectors: TCP 4-tuple, UDP 2-tuple, VLAN-tagged, each on its bucket's worker", () => {
  const workers = 3;
  const table = scrambledTable(workers, 64, 0xbeef);
  const rings = Array.from({ length: workers }, () => FrameRing.create({ slots: 64, slotSize: 256 }));
  const rss = new RssDispatcher(table, rings);
  const expected: { w: number; hash: number; type: number; frame: Uint8Array }[] = [];
  for (const v of fixture.vectors) {
    const v6 = v.family === 'ipv6';
    const cases: [FrameSpec, number, number][] = [
      [{ ...v, proto: 'tcp' }, Number(v.with_ports_hash), v6 ? M_HASHTYPE_RSS_TCP_IPV6 : M_HASHTYPE_RSS_TCP_IPV4],
      [
        { ...v, proto: 'tcp', vlan: 100, payload: 33 },
        Number(v.with_ports_hash),
        v6 ? M_HASHTYPE_RSS_TCP_IPV6 : M_HASHTYPE_RSS_TCP_IPV4,
      ],
      [{ ...v, proto: 'udp', payload: 5 }, Number(v.ipv4_only_hash), v6 ? M_HASHTYPE_RSS_IPV6 : M_HASHTYPE_RSS_IPV4],
    ];
    for (const [spec, hash, type] of cases) {
      const frame = buildFrame(spec);
      const w = rss.dispatch(frame, 0, frame.length);
      assert.equal(w, table.entries[hash & table.mask], `${v.src} ${spec.proto}`);
      expected.push({ w, hash, type, frame });
    }
  }
  assert.equal(expected.length, fixture.vectors.length * 3);
  assert.equal(drain(rings).flat().length, 0, 'nothing visible before flush');
  assert.equal(rss.flush(), expected.length);
  const got = drain(rings);
  for (let w = 0; w < workers; w++) {
    const mine = expected.filter((e) => e.w === w);
    assert.equal(got[w]!.length, mine.length);
    mine.forEach((e, i) => {
      const g = got[w]![i]!;
      assert.deepEqual(g.frame, e.frame);
      assert.equal(g.meta.flowid, e.hash);
      assert.equal(g.meta.hashType, e.type);
    });
    assert.equal(rss.packets[w], mine.length);
  }
  assert.ok(
    got.every((g) => g.length > 0),
    'the scrambled table spreads the vectors over every worker',
  );
});

test("fragments hash on the 2-tuple, non-IP and truncated frames go unhashed to bucket 0's worker", () => {
  const h = new FrameClassifier();
  const v = fixture.vectors[0]!;
  const frag = buildFrame({ ...v, fragment: true });
  h.hashFrame(frag, 0, frag.length);
  assert.equal(h.hashType, M_HASHTYPE_RSS_IPV4);
  assert.equal(h.hash, Number(v.ipv4_only_hash));
  const arp = buildArp();
  h.hashFrame(arp, 0, arp.length);
  assert.equal(h.hashType, M_HASHTYPE_NONE);
  const whole = buildFrame(v);
  for (let len = 0; len < whole.length; len++) {
    h.hashFrame(whole, 0, len); // never throws, whatever the cut
    if (len < 14 + 20) assert.equal(h.hashType, M_HASHTYPE_NONE, `cut at ${len}`);
    else if (len < 14 + 24) assert.equal(h.hashType, M_HASHTYPE_RSS_IPV4, `cut at ${len}`);
  }
  const table = new IndirectionTable(2, 4);
  table.set(0, 1);
  const rings = [FrameRing.create({ slots: 4, slotSize: 64 }), FrameRing.create({ slots: 4, slotSize: 64 })];
  const rss = new RssDispatcher(table, rings);
  assert.equal(rss.dispatch(arp, 0, arp.length), 1);
  assert.equal(rss.unhashed, 1);
});

test('full RX ring: frames are dropped and counted per worker, never waited for', () => {
  const table = new IndirectionTable(1, 1);
  const ring = FrameRing.create({ slots: 4, slotSize: 128 });
  const rss = new RssDispatcher(table, [ring]);
  const f = buildFrame(fixture.vectors[1]!);
  let ok = 0;
  for (let i = 0; i < 10; i++) if (rss.dispatch(f, 0, f.length) >= 0) ok++;
  assert.equal(ok, 4);
  assert.equal(rss.drops[0], 6);
  const big = new Uint8Array(129);
  assert.equal(rss.dispatch(big, 0, big.length), -1);
  assert.equal(rss.drops[0], 7);
  assert.throws(() => new RssDispatcher(new IndirectionTable(2), [ring]), { code: 'EINVAL' });
});

test('indirection change at run time: frames before the swap stay on the old worker, after it go to the new; the hook can refuse', () => {
  const table = new IndirectionTable(2, 8);
  const rings = [FrameRing.create({ slots: 16, slotSize: 128 }), FrameRing.create({ slots: 16, slotSize: 128 })];
  const rss = new RssDispatcher(table, rings);
  const v = fixture.vectors[2]!;
  const f = buildFrame(v);
  const bucket = Number(v.with_ports_hash) & 7;
  const from = table.entries[bucket]!;
  const to = 1 - from;
  assert.equal(rss.dispatch(f, 0, f.length), from);

  const seen: IndirectionChange[][] = [];
  let visibleAtHook = -1;
  rss.beforeIndirectionChange = (changes) => {
    seen.push([...changes]);
    visibleAtHook = rings[from]!.count;
    if (changes.some((c) => c.bucket === 0)) throw new SysError('EBUSY', 'bucket 0 has live connections');
  };
  // Refused: the table does not change at all (bucket 0 is live; the swap is all or nothing).
  assert.throws(
    () =>
      rss.setIndirection([
        [bucket === 0 ? 1 : bucket, to],
        [0, 1 - table.entries[0]!],
      ]),
    { code: 'EBUSY' },
  );
  assert.equal(table.entries[bucket], from);
  assert.equal(visibleAtHook, 1, 'frames dispatched before the swap were published before the hook ran');
  // Bad input is EINVAL before anything happens.
  assert.throws(() => rss.setIndirection([[8, 0]]), { code: 'EINVAL' });
  assert.throws(() => rss.setIndirection([[1, 2]]), { code: 'EINVAL' });
  assert.throws(
    () =>
      rss.setIndirection([
        [1, 0],
        [1, 1],
      ]),
    { code: 'EINVAL' },
  );

  if (bucket !== 0) {
    const applied = rss.setIndirection([
      [bucket, to],
      [(bucket + 1) & 7, table.entries[(bucket + 1) & 7]!],
    ]);
    assert.deepEqual(applied, [{ bucket, from, to }], 'no-op pairs are left out');
    assert.equal(rss.dispatch(f, 0, f.length), to);
    rss.flush();
    assert.equal(rings[from]!.count, 1);
    assert.equal(rings[to]!.count, 1);
  }
  assert.ok(seen.length >= 1);
});

test('multi-queue link: TX of one stack lands on the RSS-chosen RX ring of the other, checksum offload as on loopback', () => {
  const link = new MultiQueueLink({ queues: 4, ring: { slots: 64, slotSize: 2048 } });
  const txs = link.a.tx.map((r) => new RingProducer(r));
  const expect: number[] = [];
  let i = 0;
  for (const v of fixture.vectors) {
    const f = buildFrame({ ...v, payload: 1000 });
    const p = txs[i++ % 4]!;
    const s = p.push(f);
    p.ring.meta[s * META_WORDS + META_CSUM_FLAGS] = (v.family === 'ipv4' ? CSUM_IP : 0) | CSUM_TCP;
    expect.push(link.b.table.workerOf(Number(v.with_ports_hash)));
  }
  for (const p of txs) p.publish();
  assert.equal(link.poll(), fixture.vectors.length);
  assert.equal(link.poll(), 0);
  const got = drain(link.b.rx);
  for (let w = 0; w < 4; w++) assert.equal(got[w]!.length, expect.filter((e) => e === w).length);
  for (const g of got.flat()) {
    assert.equal(g.frame.length, 18 + (g.meta.hashType === M_HASHTYPE_RSS_TCP_IPV4 ? 20 : 40) + 20 + 1000 - 4);
    const v4 = g.meta.hashType === M_HASHTYPE_RSS_TCP_IPV4;
    assert.equal(g.meta.csumFlags, CSUM_DATA_VALID | CSUM_PSEUDO_HDR | (v4 ? CSUM_IP_CHECKED | CSUM_IP_VALID : 0));
    assert.equal(g.meta.csumData, 0xffff);
  }
  // And back: b's worker 0 answers; a receives through its own RSS.
  const back = new RingProducer(link.b.tx[0]!);
  const v = fixture.vectors[0]!;
  const reply = buildFrame({ src: v.dst, dst: v.src, sport: v.dport, dport: v.sport });
  back.push(reply);
  back.publish();
  assert.equal(link.poll(), 1);
  const a = drain(link.a.rx).flat();
  assert.equal(a.length, 1);
  assert.equal(a[0]!.worker, link.a.table.workerOf(a[0]!.meta.flowid));
  assert.equal(a[0]!.meta.csumFlags, 0, 'a frame with complete checksums carries no verification claim');
  assert.equal(loopbackRxCsum(0), 0);
});

test('multi-queue link: a CSUM_TSO frame is cut into tso_segsz pieces, all on the RX ring of its flow', () => {
  const link = new MultiQueueLink({ queues: 4, ring: { slots: 64, slotSize: 4096 } });
  const tx = new RingProducer(link.a.tx[0]!);
  const v = fixture.vectors.find((x) => x.family === 'ipv4')!;
  const f = buildFrame({ ...v, payload: 2500 });
  const s = tx.push(f);
  tx.ring.meta[s * META_WORDS + META_CSUM_FLAGS] = CSUM_IP | CSUM_TCP | CSUM_IP_TSO;
  tx.ring.meta[s * META_WORDS + META_TSO_SEGSZ] = 1000;
  tx.publish();
  assert.equal(link.poll(), 1);
  const got = drain(link.b.rx).flat();
  assert.equal(got.length, 3);
  const l2 = f.length - 20 - 20 - 2500;
  const seq = (g: Uint8Array) => ((g[l2 + 24]! << 24) | (g[l2 + 25]! << 16) | (g[l2 + 26]! << 8) | g[l2 + 27]!) >>> 0;
  const base = seq(f);
  assert.deepEqual(
    got.map((g) => [g.worker, g.frame.length - l2 - 40, (seq(g.frame) - base) >>> 0]),
    [
      [got[0]!.worker, 1000, 0],
      [got[0]!.worker, 1000, 1000],
      [got[0]!.worker, 500, 2000],
    ],
  );
  assert.equal(got[0]!.worker, link.b.table.workerOf(Number(v.with_ports_hash)));
  for (const g of got) assert.equal(g.meta.csumFlags & CSUM_DATA_VALID, CSUM_DATA_VALID);
});
