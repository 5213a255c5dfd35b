import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { RSS_KEY_DEFAULT, Toeplitz, toeplitzForKey, parseRssKey, RssError } from '../src/index.js';

interface Vector {
  family: 'ipv4' | 'ipv6';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  ipv4_only_hash: string;
  with_ports_hash: string;
}
// Compiled to dist/test/; the fixture stays in test/fixtures/.
const fixture = JSON.parse(
  readFileSync(new URL('../../test/fixtures/toeplitz-ms-vectors.json', import.meta.url), 'utf8'),
) as {
  key: string;
  vectors: Vector[];
};

/** FreeBSD's toeplitz_hash() (sys/net/toeplitz.c), bit by bit: the reference. */
function referenceHash(key: Uint8Array, data: Uint8Array): number {
  let hash = 0;
  let v = ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
  for (let i = 0; i < data.length; i++) {
    for (let b = 0; b < 8; b++) {
      if (data[i]! & (1 << (7 - b))) hash = (hash ^ v) >>> 0;
      v = (v << 1) >>> 0;
      if (i + 4 < key.length && key[i + 4]! & (1 << (7 - b))) v = (v | 1) >>> 0;
    }
  }
  return hash;
}

function v4(s: string): number {
  return s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
}
function v4bytes(s: string): number[] {
  return s.split('.').map(Number);
}
// The fixture's IPv6 addresses, expanded by hand (independent of any parser under test).
const V6: Record<string, number[]> = {
  '3ffe:2501:200:1fff::7': [0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 7],
  '3ffe:2501:200:3::1': [0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 1],
  '3ffe:501:8::260:97ff:fe40:efab': [
    0x3f, 0xfe, 0x05, 0x01, 0x00, 0x08, 0, 0, 0x02, 0x60, 0x97, 0xff, 0xfe, 0x40, 0xef, 0xab,
  ],
  'ff02::1': [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  '3ffe:1900:4545:3:200:f8ff:fe21:67cf': [
    0x3f, 0xfe, 0x19, 0x00, 0x45, 0x45, 0x00, 0x03, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf,
  ],
  'fe80::200:f8ff:fe21:67cf': [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf],
};
const hex = (h: number) => `0x${h.toString(16).padStart(8, '0')}`;

test('default key is the fixture key (FreeBSD rss_key[] = Microsoft key)', () => {
  assert.equal(Buffer.from(RSS_KEY_DEFAULT).toString('hex'), fixture.key);
});

test('Microsoft verification vectors: IPv4 2-tuple and 4-tuple, every entry point', () => {
  const tz = toeplitzForKey();
  const vs = fixture.vectors.filter((v) => v.family === 'ipv4');
  assert.equal(vs.length, 5);
  for (const v of vs) {
    const s = v4(v.src),
      d = v4(v.dst);
    assert.equal(hex(tz.hashIPv4(s, d)), v.ipv4_only_hash, v.src);
    assert.equal(hex(tz.hashIPv4Ports(s, d, v.sport, v.dport)), v.with_ports_hash, v.src);
    // As in a frame: 12 bytes of IPv4 header, the addresses, then a TCP header's ports.
    const frame = new Uint8Array([
      ...new Array(12).fill(0xee),
      ...v4bytes(v.src),
      ...v4bytes(v.dst),
      v.sport >> 8,
      v.sport & 255,
      v.dport >> 8,
      v.dport & 255,
    ]);
    assert.equal(hex(tz.hashIPv4At(frame, 12)), v.ipv4_only_hash);
    assert.equal(hex(tz.hashIPv4PortsAt(frame, 12, 20)), v.with_ports_hash);
    assert.equal(hex(tz.hash(frame, 12, 8)), v.ipv4_only_hash);
    assert.equal(hex(tz.hash(frame, 12, 12)), v.with_ports_hash);
  }
});

test('Microsoft verification vectors: IPv6 2-tuple and 4-tuple, every entry point', () => {
  const tz = toeplitzForKey(parseRssKey(fixture.key));
  const vs = fixture.vectors.filter((v) => v.family === 'ipv6');
  assert.equal(vs.length, 3);
  for (const v of vs) {
    const s = Uint8Array.from(V6[v.src]!),
      d = Uint8Array.from(V6[v.dst]!);
    assert.equal(hex(tz.hashIPv6(s, 0, d, 0)), v.ipv4_only_hash, v.src);
    assert.equal(hex(tz.hashIPv6Ports(s, 0, d, 0, v.sport, v.dport)), v.with_ports_hash, v.src);
    const frame = new Uint8Array([
      ...new Array(8).fill(0x55),
      ...s,
      ...d,
      v.sport >> 8,
      v.sport & 255,
      v.dport >> 8,
      v.dport & 255,
    ]);
    assert.equal(hex(tz.hashIPv6At(frame, 8)), v.ipv4_only_hash);
    assert.equal(hex(tz.hashIPv6PortsAt(frame, 8, 40)), v.with_ports_hash);
    assert.equal(hex(tz.hash(frame, 8, 36)), v.with_ports_hash);
    const w = new DataView(frame.buffer);
    const words = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => w.getUint32(8 + 4 * k)) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    assert.equal(hex(tz.hashIPv6PortsWords(...words, v.sport, v.dport)), v.with_ports_hash);
  }
});

test('property: table-driven hash equals the bit-by-bit reference for random keys and inputs', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 4, maxLength: 64 }),
      fc.uint8Array({ minLength: 0, maxLength: 80 }),
      (key, data) => {
        const tz = new Toeplitz(key);
        assert.equal(tz.hash(data), referenceHash(key, data));
      },
    ),
    { seed: 0x5eed, numRuns: 300 },
  );
});

test('property: specialised tuple functions equal the generic hash for random keys (any length)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 4, maxLength: 48 }),
      fc.uint8Array({ minLength: 36, maxLength: 36 }),
      (key, d) => {
        const tz = new Toeplitz(key);
        const dv = new DataView(d.buffer, d.byteOffset);
        const s4 = dv.getUint32(0),
          d4 = dv.getUint32(4),
          sp = dv.getUint16(8),
          dp = dv.getUint16(10);
        assert.equal(tz.hashIPv4(s4, d4), referenceHash(key, d.subarray(0, 8)));
        assert.equal(tz.hashIPv4Ports(s4, d4, sp, dp), referenceHash(key, d.subarray(0, 12)));
        assert.equal(tz.hashIPv4PortsAt(d, 0, 8), referenceHash(key, d.subarray(0, 12)));
        const p6 = new Uint8Array(36);
        p6.set(d);
        const sp6 = dv.getUint16(32),
          dp6 = dv.getUint16(34);
        assert.equal(tz.hashIPv6(d, 0, d, 16), referenceHash(key, d.subarray(0, 32)));
        assert.equal(tz.hashIPv6Ports(d, 0, d, 16, sp6, dp6), referenceHash(key, d));
        assert.equal(tz.hashIPv6PortsAt(p6, 0, 32), referenceHash(key, d));
      },
    ),
    { seed: 0xbeef, numRuns: 200 },
  );
});

test("tables are cached per key contents and independent of later changes to the caller's key", () => {
  const k = Uint8Array.from(RSS_KEY_DEFAULT);
  const a = toeplitzForKey(k);
  assert.equal(toeplitzForKey(Uint8Array.from(RSS_KEY_DEFAULT)), a);
  const before = a.hashIPv4(1, 2);
  k[0] = k[0]! ^ 0xff;
  assert.equal(a.hashIPv4(1, 2), before);
  assert.notEqual(toeplitzForKey(k), a);
});

test('bad keys are EINVAL RssErrors', () => {
  assert.throws(
    () => new Toeplitz(new Uint8Array(3)),
    (e: unknown) => e instanceof RssError && e.code === 'EINVAL',
  );
  for (const bad of ['', 'xyz', '6d5', '6d5a56', '6d:5a:5', 'zz5a56da']) {
    assert.throws(
      () => parseRssKey(bad),
      (e: unknown) => e instanceof RssError && e.code === 'EINVAL',
      bad,
    );
  }
  assert.deepEqual([...parseRssKey('0x6d:5a:56:DA')], [0x6d, 0x5a, 0x56, 0xda]);
});
