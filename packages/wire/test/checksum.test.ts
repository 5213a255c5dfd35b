// Every stored checksum in the vectors recomputed equal, and RFC 1624 incremental
// update against a full recompute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  internetChecksum,
  verifyChecksum,
  sumBytes,
  fold,
  incrementalUpdate,
  incrementalUpdate32,
  Ipv4View,
  tcpChecksum4,
  tcpChecksum6,
  verifyTcpChecksum4,
  verifyTcpChecksum6,
  udpChecksum4,
  verifyUdpChecksum4,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from '../src/index.js';
import { fixtureJson, hex } from './fixtures.js';

interface Vectors {
  published: {
    data_hex?: string;
    ones_complement_sum_published?: string;
    checksum_field_value?: string;
    ipv4_header_hex?: string;
    checksum?: string;
  }[];
  from_pcaps: Record<
    string,
    {
      frame: number;
      ip: string;
      l4: string;
      l4_len: number;
      packet_hex: string;
      ipv4_hdr_cksum_stored?: string;
      ipv4_hdr_cksum_computed?: string;
      l4_cksum_stored: string;
      l4_cksum_computed: string;
      l4_cksum_ok: boolean;
    }[]
  >;
}
const vectors = fixtureJson<Vectors>('checksum/checksum-vectors.json');

test('RFC 1071 §3 numerical example and published IPv4 headers', () => {
  let n = 0;
  for (const v of vectors.published) {
    if (v.data_hex) {
      const b = hex(v.data_hex);
      assert.equal(fold(sumBytes(b, 0, b.length)), Number(v.ones_complement_sum_published));
      assert.equal(internetChecksum(b), Number(v.checksum_field_value));
      n++;
    }
    if (v.ipv4_header_hex) {
      const b = hex(v.ipv4_header_hex);
      const ip = new Ipv4View().reset(b, 0);
      assert.equal(ip.checksum, Number(v.checksum));
      assert.ok(ip.verifyChecksum());
      b[10] = 0;
      b[11] = 0;
      assert.equal(internetChecksum(b), Number(v.checksum));
      ip.fillChecksum();
      assert.equal(ip.checksum, Number(v.checksum));
      n++;
    }
  }
  assert.equal(n, 3);
});

test('every checksum stored in the captures recomputed equal', () => {
  let n = 0;
  for (const [file, list] of Object.entries(vectors.from_pcaps)) {
    for (const v of list) {
      const b = hex(v.packet_hex);
      const where = `${file} frame ${v.frame}`;
      const v4 = v.ip === '4';
      const ipLen = v4 ? (b[0]! & 0x0f) * 4 : 40;
      if (v4) {
        const ip = new Ipv4View().reset(b, 0);
        assert.equal(ip.checksum, Number(v.ipv4_hdr_cksum_stored), where);
        const h = b.slice(0, ipLen);
        h[10] = 0;
        h[11] = 0;
        assert.equal(internetChecksum(h), Number(v.ipv4_hdr_cksum_computed), where);
        assert.ok(verifyChecksum(b, 0, ipLen), where);
      }
      assert.equal(b.length - ipLen, v.l4_len, where);
      const stored = (b[ipLen + (v.l4 === 'tcp' ? 16 : 6)]! << 8) | b[ipLen + (v.l4 === 'tcp' ? 17 : 7)]!;
      assert.equal(stored, Number(v.l4_cksum_stored), where);
      if (v.l4 === 'tcp') {
        const c = v4 ? tcpChecksum4(b, 0, ipLen, v.l4_len) : tcpChecksum6(b, 0, ipLen, v.l4_len);
        assert.equal(c, Number(v.l4_cksum_computed), where);
        assert.equal(
          v4 ? verifyTcpChecksum4(b, 0, ipLen, v.l4_len) : verifyTcpChecksum6(b, 0, ipLen, v.l4_len),
          v.l4_cksum_ok,
          where,
        );
      } else {
        assert.equal(udpChecksum4(b, 0, ipLen, v.l4_len), Number(v.l4_cksum_computed), where);
        assert.equal(verifyUdpChecksum4(b, 0, ipLen, v.l4_len), v.l4_cksum_ok, where);
      }
      n++;
    }
  }
  assert.equal(n, 40);
  void IPPROTO_TCP;
  void IPPROTO_UDP;
});

test('a corrupted byte fails verification', () => {
  const v = vectors.from_pcaps['pcap/tcpdump-dns_tcp.pcap']![3]!;
  const b = hex(v.packet_hex);
  b[b.length - 1]! ^= 0x40;
  assert.equal(verifyTcpChecksum4(b, 0, 20, v.l4_len), false);
});

const seed = Number(process.env.FC_SEED ?? 0x5eed);

test('RFC 1624 incremental update equals a full recompute', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 4, maxLength: 200 }).filter((a) => a.length % 2 === 0),
      fc.nat(),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (data, at, w16, w32) => {
        const b = Uint8Array.from(data);
        // checksum field in words 0..1; the changed field elsewhere
        b[0] = 0;
        b[1] = 0;
        const c0 = internetChecksum(b);
        b[0] = c0 >>> 8;
        b[1] = c0 & 0xff;
        const words = (b.length >>> 1) - 1;
        const i = 2 + 2 * (at % words);
        const old = (b[i]! << 8) | b[i + 1]!;
        b[i] = w16 >>> 8;
        b[i + 1] = w16 & 0xff;
        const inc = incrementalUpdate(c0, old, w16);
        b[0] = 0;
        b[1] = 0;
        const full = internetChecksum(b);
        // One's complement has two zeros; RFC 1624 §3 eqn. 3 never yields the other.
        assert.ok(inc === full || ((inc ^ full) === 0xffff && (inc === 0 || full === 0)), `inc ${inc} full ${full}`);
        if (b.length >= 8 && i + 4 <= b.length) {
          b[0] = full >>> 8;
          b[1] = full & 0xff;
          const old32 = ((b[i] << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
          b[i] = w32 >>> 24;
          b[i + 1] = (w32 >>> 16) & 0xff;
          b[i + 2] = (w32 >>> 8) & 0xff;
          b[i + 3] = w32 & 0xff;
          const inc32 = incrementalUpdate32(full, old32, w32);
          b[0] = 0;
          b[1] = 0;
          const full32 = internetChecksum(b);
          assert.ok(inc32 === full32 || ((inc32 ^ full32) === 0xffff && (inc32 === 0 || full32 === 0)));
        }
      },
    ),
    { seed, numRuns: 500 },
  );
});

test('sumBytes: the aligned fast path equals the bytewise sum at every offset and length', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.nat(8), (data, shift) => {
      const big = new Uint8Array(data.length + 8);
      big.set(data, shift);
      let ref = 0;
      for (let i = 0; i + 1 < data.length; i += 2) ref += (data[i]! << 8) | data[i + 1]!;
      if (data.length & 1) ref += data[data.length - 1]! << 8;
      assert.equal(fold(sumBytes(big, shift, data.length)), fold(ref) || 0);
    }),
    { seed, numRuns: 300 },
  );
});

test('sumBytes: multi-block sums (folded between blocks) stay exact on all-ones and across cached buffers', () => {
  for (const n of [(1 << 18) - 2, 1 << 18, (1 << 21) + 6]) {
    const ff = new Uint8Array(n).fill(0xff);
    // n/2 words of 0xffff fold to 0xffff (end-around carry).
    assert.equal(fold(sumBytes(ff, 0, n)), 0xffff);
    assert.equal(fold(sumBytes(ff, 2, n - 2)), 0xffff);
  }
  // Alternating among more buffers than the view cache holds still sums each correctly.
  const bufs = [1, 2, 3].map((k) => new Uint8Array(256).fill(k));
  for (let r = 0; r < 3; r++) {
    for (const [i, b] of bufs.entries())
      assert.equal(fold(sumBytes(b, 0, 256)), fold(128 * (((i + 1) << 8) | (i + 1))));
  }
});

test('fold: end-around carry of any sum below 2^53 equals the BigInt reference', () => {
  const ref = (x: bigint): number => {
    while (x > 0xffffn) x = (x & 0xffffn) + (x >> 16n);
    return Number(x);
  };
  const cases = [0, 1, 0xffff, 0x10000, 0xffffffff, 2 ** 32, 2 ** 48 - 1, 2 ** 48, 2 ** 53 - 1, 2 ** 53 - 2 ** 32];
  for (const c of cases) assert.equal(fold(c), ref(BigInt(c)), `fold(${c})`);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => fold(n) === ref(BigInt(n))),
    { seed, numRuns: 2000 },
  );
});
