/**
 * The TAP link's offload translation (links/vtnet.ts) and its segment cutter
 * (links/tsocut.ts), on frames built here: no device needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SeededRandom,
  CSUM_TCP,
  CSUM_TCP_IPV6,
  CSUM_IP,
  CSUM_IP_TSO,
  CSUM_IP6_TSO,
  CSUM_DATA_VALID,
  CSUM_PSEUDO_HDR,
  IFCAP_LRO,
  IFCAP_RXCSUM,
  newFrameMeta,
} from '@mcstack/netinet';
import {
  parseVirtioNetHdr,
  verifyChecksum,
  verifyL4Checksum4,
  verifyL4Checksum6,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_ECN,
  finish,
  sumBytes,
} from '@mcstack/wire';
import { tcpSegCut, vtnetTxOffload, vtnetRxCsum, vtnetRxSegs, tunOffloadsFor, native } from '@mcstack/runtime';
import { buildFrame } from './frames.js';

const SEED = 1207;
const L3 = 14;

/** A TCP frame with `payload` seeded bytes, sequence number 1000, the given flags, checksums complete. */
function tcpFrame(v6: boolean, payload: number, flags: number): Uint8Array {
  const f = buildFrame(
    v6
      ? { src: 'fd00::1', dst: 'fd00::2', sport: 40000, dport: 9, payload }
      : { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 9, payload },
  ).slice();
  const l4 = L3 + (v6 ? 40 : 20);
  new SeededRandom(SEED).fill(f.subarray(l4 + 20));
  f[l4 + 4] = 0;
  f[l4 + 5] = 0;
  f[l4 + 6] = 0x03;
  f[l4 + 7] = 0xe8;
  f[l4 + 13] = flags;
  f[l4 + 14] = 0xff; // window
  f[l4 + 16] = 0;
  f[l4 + 17] = 0;
  const c = finish(sumBytes(f, l4, f.length - l4, pseudo(f, v6, f.length - l4)));
  f[l4 + 16] = c >>> 8;
  f[l4 + 17] = c & 0xff;
  return f;
}

function pseudo(f: Uint8Array, v6: boolean, l4len: number): number {
  let s = 6 + l4len;
  const [a, n] = v6 ? [L3 + 8, 32] : [L3 + 12, 8];
  for (let i = 0; i < n; i += 2) s += (f[a + i]! << 8) | f[a + i + 1]!;
  if (v6) s += l4len >>> 16;
  return s;
}

function cut(f: Uint8Array, mss: number, l4csum: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  const n = tcpSegCut(f, f.length, mss, new Uint8Array(2048), (seg, len) => out.push(seg.slice(0, len)), l4csum);
  assert.equal(n, out.length);
  return out;
}

for (const v6 of [false, true]) {
  const af = v6 ? 'IPv6' : 'IPv4';
  test(`tcpSegCut (${af}): MSS segments with the payload in order, sequence numbers, FIN/PSH last, CWR first, sums valid`, () => {
    const TH_FIN = 0x01;
    const TH_PSH = 0x08;
    const TH_ACK = 0x10;
    const TH_CWR = 0x80;
    const f = tcpFrame(v6, 4000, TH_ACK | TH_PSH | TH_FIN | TH_CWR);
    const l4 = L3 + (v6 ? 40 : 20);
    const segs = cut(f, 1448, true);
    assert.deepEqual(
      segs.map((s) => s.length - l4 - 20),
      [1448, 1448, 1104],
    );
    const payload = Buffer.concat(segs.map((s) => s.subarray(l4 + 20)));
    assert.ok(payload.equals(f.subarray(l4 + 20)), 'payload differs');
    segs.forEach((s, i) => {
      const seq = ((s[l4 + 4]! << 24) | (s[l4 + 5]! << 16) | (s[l4 + 6]! << 8) | s[l4 + 7]!) >>> 0;
      assert.equal(seq, 1000 + i * 1448, `segment ${i} seq`);
      const fl = s[l4 + 13]!;
      assert.equal((fl & (TH_FIN | TH_PSH)) !== 0, i === 2, `segment ${i} FIN/PSH`);
      assert.equal((fl & TH_CWR) !== 0, i === 0, `segment ${i} CWR`);
      assert.ok((fl & TH_ACK) !== 0);
      const l4len = s.length - l4;
      if (v6) {
        assert.equal((s[L3 + 4]! << 8) | s[L3 + 5]!, l4len);
        assert.ok(verifyL4Checksum6(s, L3, l4, l4len, 6), `segment ${i} TCP checksum`);
      } else {
        assert.equal((s[L3 + 2]! << 8) | s[L3 + 3]!, 20 + l4len);
        assert.equal((s[L3 + 4]! << 8) | s[L3 + 5]!, 1 + i, 'IP ID advances');
        assert.ok(verifyChecksum(s, L3, 20), `segment ${i} IP header checksum`);
        assert.ok(verifyL4Checksum4(s, L3, l4, l4len, 6), `segment ${i} TCP checksum`);
      }
    });
  });

  test(`vtnetTxOffload (${af}): CSUM_TSO becomes GSO with the MSS, NEEDS_CSUM seeded with the pseudo-header sum`, () => {
    const f = tcpFrame(v6, 4000, 0x10);
    const l4 = L3 + (v6 ? 40 : 20);
    const m = newFrameMeta();
    m.csumFlags = v6 ? CSUM_TCP_IPV6 | CSUM_IP6_TSO : CSUM_IP | CSUM_TCP | CSUM_IP_TSO;
    m.tsoSegsz = 1448;
    const h = new Uint8Array(10);
    assert.equal(vtnetTxOffload(f, f.length, m, h, 0, 10), 1);
    const r = parseVirtioNetHdr(Buffer.concat([h, f]));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.value, {
      flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
      gsoType: v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
      hdrLen: l4 + 20,
      gsoSize: 1448,
      csumStart: l4,
      csumOffset: 16,
    });
    // The field holds the folded pseudo-header sum: summing the segment from there completes it.
    const seed = (f[l4 + 16]! << 8) | f[l4 + 17]!;
    f[l4 + 16] = 0;
    f[l4 + 17] = 0;
    const c = finish(sumBytes(f, l4, f.length - l4, seed));
    f[l4 + 16] = c >>> 8;
    f[l4 + 17] = c & 0xff;
    assert.ok(
      v6 ? verifyL4Checksum6(f, L3, l4, f.length - l4, 6) : verifyL4Checksum4(f, L3, l4, f.length - l4, 6),
      'seed + the segment sum is the checksum Linux would finish',
    );
    // CWR on a GSO frame asks the kernel for ECN-aware segmentation.
    const g = tcpFrame(v6, 4000, 0x90);
    vtnetTxOffload(g, g.length, m, h, 0, 10);
    assert.equal(h[1], (v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) | VIRTIO_NET_HDR_GSO_ECN);
  });
}

test('vtnetTxOffload: a delayed checksum alone is NEEDS_CSUM without GSO; no flags, a zero header', () => {
  const f = tcpFrame(false, 100, 0x10);
  const m = newFrameMeta();
  const h = new Uint8Array(12).fill(0xaa);
  assert.equal(vtnetTxOffload(f, f.length, m, h, 0, 12), 0);
  assert.deepEqual([...h], new Array(12).fill(0));
  m.csumFlags = CSUM_TCP;
  m.tsoSegsz = 0;
  assert.equal(vtnetTxOffload(f, f.length, m, h, 0, 12), 0);
  assert.equal(h[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
  assert.equal(h[1], 0);
});

test('vtnetRxCsum: kernel-verified and partial frames are CSUM_DATA_VALID; with RXCSUM off a partial sum is finished', () => {
  const m = newFrameMeta();
  const f = tcpFrame(false, 300, 0x10);
  const l4 = L3 + 20;
  const good = f.slice();
  const h = new Uint8Array(10);
  h[0] = VIRTIO_NET_HDR_F_DATA_VALID;
  vtnetRxCsum(h, 0, f, f.length, true, m);
  assert.equal(m.csumFlags, CSUM_DATA_VALID | CSUM_PSEUDO_HDR);
  assert.equal(m.csumData, 0xffff);
  h[0] = 0;
  vtnetRxCsum(h, 0, f, f.length, true, m);
  assert.equal(m.csumFlags, 0);
  // A partial checksum (only the seed in the field), RXCSUM off: finished in software.
  f[l4 + 16] = 0x12;
  f[l4 + 17] = 0x34;
  h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vtnetRxCsum(h, 0, f, f.length, false, m);
  assert.equal(m.csumFlags, 0);
  assert.deepEqual(f, good);
});

test('tunOffloadsFor: LRO asks for GSO (TSO4/6 with CSUM), RXCSUM for partial checksums, neither for none', () => {
  assert.equal(tunOffloadsFor(IFCAP_LRO | IFCAP_RXCSUM), native.TUN_F_CSUM | native.TUN_F_TSO4 | native.TUN_F_TSO6);
  assert.equal(tunOffloadsFor(IFCAP_RXCSUM), native.TUN_F_CSUM);
  assert.equal(tunOffloadsFor(0), 0);
});

test('vtnetRxSegs: a GSO frame holds its payload over gso_size segments, rounded up; anything else one', () => {
  for (const v6 of [false, true]) {
    const f = tcpFrame(v6, 4000, 0x18);
    assert.equal(vtnetRxSegs(f, f.length, 1448), 3, `v6 ${v6}`);
    assert.equal(vtnetRxSegs(f, f.length, 2000), 2, `v6 ${v6}: exact`);
    assert.equal(vtnetRxSegs(f, f.length, 0), 1, `v6 ${v6}: not GSO`);
    assert.equal(vtnetRxSegs(f, f.length, 4000), 1, `v6 ${v6}: one segment`);
  }
  const udp = tcpFrame(false, 4000, 0x10);
  udp[L3 + 9] = 17;
  assert.equal(vtnetRxSegs(udp, udp.length, 1448), 1, 'not TCP');
});
