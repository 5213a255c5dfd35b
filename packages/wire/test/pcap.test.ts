// pcap/pcapng write→read round trips (both byte orders, µs and ns), and the
// captures read through pcapng as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  readPcap,
  writePcap,
  readPcapng,
  writePcapng,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  isRawIpLinkType,
  PCAP_MAGIC_NSEC,
  type CapturedPacket,
  type PcapngPacket,
} from '../src/index.js';
import { fixture } from './fixtures.js';

const seed = Number(process.env.FC_SEED ?? 77);
const packet = fc
  .record({
    tsSec: fc.integer({ min: 0, max: 0xffffffff }),
    tsNsec: fc.integer({ min: 0, max: 999_999_999 }),
    data: fc.uint8Array({ maxLength: 80 }),
    extra: fc.nat(100),
  })
  .map((p) => ({ tsSec: p.tsSec, tsNsec: p.tsNsec, origLen: p.data.length + p.extra, data: p.data }));

test('pcap write→read round trip, both byte orders, µs and ns', () => {
  fc.assert(
    fc.property(
      fc.array(packet, { maxLength: 6 }),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom(1, 101),
      (pkts, ns, be, lt) => {
        const bytes = writePcap({ linkType: lt, nanosecond: ns, bigEndian: be }, pkts);
        const r = readPcap(bytes);
        assert.ok(r.ok);
        assert.equal(r.value.linkType, lt);
        assert.equal(r.value.nanosecond, ns);
        assert.equal(r.value.bigEndian, be);
        const want = pkts.map((p) => ({ ...p, tsNsec: ns ? p.tsNsec : Math.floor(p.tsNsec / 1000) * 1000 }));
        assert.deepEqual(
          r.value.packets.map((p) => ({ ...p, data: Uint8Array.from(p.data) })),
          want,
        );
      },
    ),
    { seed, numRuns: 200 },
  );
});

test('pcap nanosecond magic and DLT_RAW values are recognised', () => {
  const b = writePcap({ linkType: 12, nanosecond: true }, [
    { tsSec: 1, tsNsec: 5, origLen: 1, data: Uint8Array.of(0x45) },
  ]);
  assert.equal(new DataView(b.buffer).getUint32(0, true), PCAP_MAGIC_NSEC);
  const r = readPcap(b);
  assert.ok(r.ok && isRawIpLinkType(r.value.linkType) && r.value.packets[0]!.tsNsec === 5);
  assert.ok(isRawIpLinkType(14) && isRawIpLinkType(LINKTYPE_RAW) && !isRawIpLinkType(LINKTYPE_ETHERNET));
});

test('pcap: truncated records and bad magic are parse errors', () => {
  const b = writePcap({ linkType: 1 }, [{ tsSec: 1, tsNsec: 0, origLen: 10, data: new Uint8Array(10) }]);
  assert.deepEqual(readPcap(b.subarray(0, b.length - 1)), { ok: false, code: 'TRUNCATED', field: 'pcap.record.data' });
  assert.deepEqual(readPcap(b.subarray(0, 30)), { ok: false, code: 'TRUNCATED', field: 'pcap.record' });
  const bad = b.slice();
  bad[0] = 0;
  assert.deepEqual(readPcap(bad), { ok: false, code: 'BAD_FIELD', field: 'pcap.magic' });
});

test('pcapng write→read round trip, both byte orders, tsresol 6, 9 and 2^-20', () => {
  fc.assert(
    fc.property(
      fc.array(packet, { maxLength: 6 }),
      fc.boolean(),
      fc.constantFrom(6, 9, 0x80 | 20),
      (pkts, be, tsresol) => {
        const interfaces = [
          { linkType: LINKTYPE_ETHERNET, snapLen: 65535, tsresol },
          { linkType: LINKTYPE_RAW, snapLen: 0, tsresol: 9 },
        ];
        const ng: PcapngPacket[] = pkts.map((p, i) => ({ ...p, interfaceId: i % 2 }));
        const r = readPcapng(writePcapng({ interfaces, bigEndian: be }, ng));
        assert.ok(r.ok, JSON.stringify(r));
        assert.equal(r.value.bigEndian, be);
        assert.deepEqual(r.value.interfaces, interfaces);
        assert.equal(r.value.packets.length, ng.length);
        r.value.packets.forEach((p, i) => {
          const want = ng[i]!;
          assert.equal(p.interfaceId, want.interfaceId);
          assert.equal(p.tsSec, want.tsSec);
          assert.deepEqual(Uint8Array.from(p.data), want.data);
          assert.equal(p.origLen, want.origLen);
          const res = interfaces[want.interfaceId]!.tsresol;
          // Within one unit of the interface's resolution.
          const unitNs = res === 9 ? 1 : res === 6 ? 1000 : 1e9 / 2 ** 20;
          assert.ok(want.tsNsec - p.tsNsec >= 0 && want.tsNsec - p.tsNsec < unitNs, `${want.tsNsec} vs ${p.tsNsec}`);
        });
      },
    ),
    { seed, numRuns: 200 },
  );
});

test('the captures survive pcap → pcapng → pcap unchanged', () => {
  for (const name of [
    'pcap/tcpdump-dns_tcp.pcap',
    'pcap/gopacket-test_ethernet.pcap',
    'pcap/pcapplusplus-one_ipv6_http_stream.pcap',
    'tcp-md5/tcp-md5-derived.pcap',
  ]) {
    const orig = fixture(name);
    const f = readPcap(orig);
    assert.ok(f.ok);
    const ng = readPcapng(
      writePcapng(
        { interfaces: [{ linkType: f.value.linkType, snapLen: f.value.snapLen, tsresol: f.value.nanosecond ? 9 : 6 }] },
        f.value.packets.map((p: CapturedPacket) => ({ ...p, interfaceId: 0 })),
      ),
    );
    assert.ok(ng.ok);
    const back = writePcap(
      {
        linkType: f.value.linkType,
        nanosecond: f.value.nanosecond,
        snapLen: f.value.snapLen,
        bigEndian: f.value.bigEndian,
      },
      ng.value.packets,
    );
    // Same records; the global header's version/zone/sigfigs fields are ours.
    assert.deepEqual(back.subarray(24), orig.subarray(24), name);
    assert.deepEqual(back.subarray(16, 24), orig.subarray(16, 24), name);
  }
});

test('pcapng: a block running past the end is TRUNCATED, a file without SHB is refused', () => {
  const b = writePcapng({ interfaces: [{ linkType: 1, snapLen: 0, tsresol: 6 }] }, [
    { interfaceId: 0, tsSec: 1, tsNsec: 0, origLen: 3, data: Uint8Array.of(1, 2, 3) },
  ]);
  const r = readPcapng(b.subarray(0, b.length - 4));
  assert.equal(r.ok, false);
  assert.deepEqual(readPcapng(b.subarray(28)), { ok: false, code: 'BAD_FIELD', field: 'pcapng.shb' });
});
