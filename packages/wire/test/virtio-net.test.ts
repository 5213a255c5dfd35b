// The virtio-net header: golden bytes as Linux TAP writes them for the common
// offloads (little-endian fields), the EINVAL cases of virtio_net_hdr_to_skb as
// parse errors, and emit∘parse the identity on random valid headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as w from '../src/index.js';
import type { VirtioNetHdrRepr } from '../src/index.js';
import { hex, toHex } from './fixtures.js';

/** `hdr` followed by a frame of `frameLen` zero bytes, as read from a TAP queue. */
function withFrame(hdr: string, frameLen: number): Uint8Array {
  const h = hex(hdr);
  const b = new Uint8Array(h.length + frameLen);
  b.set(h, 0);
  return b;
}

const GOLDEN: { name: string; bytes: string; repr: VirtioNetHdrRepr }[] = [
  // A frame with nothing to offload (ARP, or a frame whose checksum is complete).
  {
    name: 'plain',
    bytes: '00000000000000000000',
    repr: { flags: 0, gsoType: w.VIRTIO_NET_HDR_GSO_NONE, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 },
  },
  // UDP/IPv4 with a partial checksum: start at the UDP header (14 + 20), field at +6.
  {
    name: 'udp4 csum partial',
    bytes: '01000000000022000600',
    repr: { flags: w.VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 34, csumOffset: 6 },
  },
  // TSO over IPv4: headers 14 + 20 + 32 (timestamps) = 66, MSS 1448, th_sum at +16.
  {
    name: 'tcp4 tso',
    bytes: '0101' + '4200' + 'a805' + '2200' + '1000',
    repr: { flags: 1, gsoType: w.VIRTIO_NET_HDR_GSO_TCPV4, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 },
  },
  // TSO over IPv6 with ECN: headers 14 + 40 + 32 = 86, MSS 1428, start at 54.
  {
    name: 'tcp6 tso ecn',
    bytes: '0184' + '5600' + '9405' + '3600' + '1000',
    repr: {
      flags: 1,
      gsoType: w.VIRTIO_NET_HDR_GSO_TCPV6 | w.VIRTIO_NET_HDR_GSO_ECN,
      hdrLen: 86,
      gsoSize: 1428,
      csumStart: 54,
      csumOffset: 16,
    },
  },
  // Received with the checksum already verified.
  {
    name: 'data valid',
    bytes: '02000000000000000000',
    repr: { flags: w.VIRTIO_NET_HDR_F_DATA_VALID, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 },
  },
];

test('golden headers parse, emit and view alike (little-endian fields)', () => {
  const view = new w.VirtioNetHdrView();
  for (const g of GOLDEN) {
    const frame = withFrame(g.bytes, 1514);
    const p = w.parseVirtioNetHdr(frame);
    assert.deepEqual(p, { ok: true, value: g.repr }, g.name);
    const out = new Uint8Array(w.VIRTIO_NET_HDR_LEN);
    assert.equal(w.emitVirtioNetHdr(g.repr, out), 10);
    assert.equal(toHex(out), g.bytes, g.name);
    view.reset(frame, 0);
    assert.deepEqual(
      {
        flags: view.flags,
        gsoType: view.gsoType,
        hdrLen: view.hdrLen,
        gsoSize: view.gsoSize,
        csumStart: view.csumStart,
        csumOffset: view.csumOffset,
      },
      g.repr,
      g.name,
    );
  }
});

test('the 12-byte form (TUNSETVNETHDRSZ 12) carries num_buffers after the same 10 bytes', () => {
  const b = hex('0101' + '4200' + 'a805' + '2200' + '1000' + '0100');
  const p = w.parseVirtioNetHdr(b, 0, b.length, w.VIRTIO_NET_HDR_MRG_LEN);
  // 12 bytes of header and no frame: a checksum at 34+16 lies past it.
  assert.deepEqual(p, { ok: false, code: 'BAD_FIELD', field: 'virtio_net.csum_offset' });
  const framed = new Uint8Array(12 + 100);
  framed.set(b, 0);
  const q = w.parseVirtioNetHdr(framed, 0, framed.length, 12);
  assert.ok(q.ok);
  assert.equal(q.value.numBuffers, 1);
  assert.equal(q.value.gsoSize, 1448);
  const out = new Uint8Array(14).fill(0xaa);
  assert.equal(w.emitVirtioNetHdr(q.value, out, 1, 12), 12);
  assert.equal(toHex(out), `aa${toHex(b)}aa`);
  assert.equal(new w.VirtioNetHdrView().reset(out, 1).numBuffers, 1);
  // The 10-byte parse of the same bytes has no numBuffers.
  const ten = w.parseVirtioNetHdr(framed, 0, framed.length);
  assert.ok(ten.ok);
  assert.equal('numBuffers' in ten.value, false);
});

test('view setters write what parse reads; clear() is "no offload"', () => {
  const b = new Uint8Array(12 + 64);
  const v = new w.VirtioNetHdrView().reset(b, 2);
  v.flags = w.VIRTIO_NET_HDR_F_NEEDS_CSUM;
  v.gsoType = w.VIRTIO_NET_HDR_GSO_UDP_L4;
  v.hdrLen = 42;
  v.gsoSize = 1472;
  v.csumStart = 34;
  v.csumOffset = 6;
  assert.equal(toHex(b.subarray(2, 12)), '0105' + '2a00' + 'c005' + '2200' + '0600');
  assert.deepEqual(w.parseVirtioNetHdr(b, 2), {
    ok: true,
    value: { flags: 1, gsoType: 5, hdrLen: 42, gsoSize: 1472, csumStart: 34, csumOffset: 6 },
  });
  v.clear();
  assert.equal(toHex(b.subarray(2, 12)), '00'.repeat(10));
});

test('parse errors name the field, as virtio_net_hdr_to_skb refuses them', () => {
  const err = (hdr: string, frameLen = 100, size = 10) =>
    w.parseVirtioNetHdr(withFrame(hdr, frameLen), 0, undefined, size);
  assert.deepEqual(w.parseVirtioNetHdr(new Uint8Array(9)), {
    ok: false,
    code: 'TRUNCATED',
    field: 'virtio_net.header',
  });
  assert.deepEqual(w.parseVirtioNetHdr(new Uint8Array(11), 0, 11, 12), {
    ok: false,
    code: 'TRUNCATED',
    field: 'virtio_net.header',
  });
  assert.deepEqual(w.parseVirtioNetHdr(new Uint8Array(20), 0, 20, 11), {
    ok: false,
    code: 'UNSUPPORTED',
    field: 'virtio_net.size',
  });
  assert.deepEqual(w.parseVirtioNetHdr(new Uint8Array(20), 15), {
    ok: false,
    code: 'TRUNCATED',
    field: 'virtio_net.header',
  });
  assert.deepEqual(err('08000000000000000000'), { ok: false, code: 'UNSUPPORTED', field: 'virtio_net.flags' });
  // 2 was never assigned; ECN alone has no base type.
  assert.deepEqual(err('00020000010000000000'), { ok: false, code: 'UNSUPPORTED', field: 'virtio_net.gso_type' });
  assert.deepEqual(err('00800000010000000000'), { ok: false, code: 'UNSUPPORTED', field: 'virtio_net.gso_type' });
  assert.deepEqual(err('01010000000022001000'), { ok: false, code: 'BAD_FIELD', field: 'virtio_net.gso_size' });
  // The checksum field must lie inside the frame: 34 + 6 + 2 = 42 bytes.
  assert.ok(err('01000000000022000600', 42).ok);
  assert.deepEqual(err('01000000000022000600', 41), { ok: false, code: 'BAD_FIELD', field: 'virtio_net.csum_offset' });
  // For TSO the whole TCP header must fit: 34 + 20 = 54 bytes even though th_sum ends at 52.
  assert.deepEqual(err('01014200a80522001000', 53), { ok: false, code: 'BAD_FIELD', field: 'virtio_net.csum_offset' });
  assert.ok(err('01014200a80522001000', 54).ok);
  // Without NEEDS_CSUM the checksum fields are ignored.
  assert.ok(err('0000000000ffff00ffff', 0).ok);
});

test('emit refuses what a caller got wrong, with WireEmitError', () => {
  const ok: VirtioNetHdrRepr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  assert.throws(() => w.emitVirtioNetHdr(ok, new Uint8Array(9)), w.WireEmitError);
  assert.throws(() => w.emitVirtioNetHdr(ok, new Uint8Array(11), 0, 12), w.WireEmitError);
  assert.throws(() => w.emitVirtioNetHdr(ok, new Uint8Array(16), 0, 8), w.WireEmitError);
  assert.throws(() => w.emitVirtioNetHdr({ ...ok, flags: 256 }, new Uint8Array(10)), w.WireEmitError);
  assert.throws(() => w.emitVirtioNetHdr({ ...ok, gsoSize: 0x10000 }, new Uint8Array(10)), w.WireEmitError);
  assert.throws(() => w.emitVirtioNetHdr({ ...ok, csumStart: -1 }, new Uint8Array(10)), w.WireEmitError);
  assert.throws(() => w.emitVirtioNetHdr({ ...ok, numBuffers: 1.5 }, new Uint8Array(12), 0, 12), w.WireEmitError);
});

test('emit∘parse is the identity on random valid headers; random bytes never throw', () => {
  const seed = Number(process.env.FC_SEED ?? 20240601);
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const gso = fc.constantFrom(0, 1, 3, 4, 5, 0x81, 0x84);
  const repr = fc
    .record({
      flags: fc.constantFrom(0, 1, 2, 3),
      gsoType: gso,
      hdrLen: u16,
      gsoSize: fc.integer({ min: 1, max: 0xffff }),
      csumStart: fc.integer({ min: 0, max: 200 }),
      csumOffset: fc.integer({ min: 0, max: 100 }),
    })
    .map((r) => ({ ...r, gsoSize: r.gsoType === 0 ? 0 : r.gsoSize }));
  fc.assert(
    fc.property(repr, fc.boolean(), (r, twelve) => {
      const size = twelve ? 12 : 10;
      const rr: VirtioNetHdrRepr = twelve ? { ...r, numBuffers: 1 } : { ...r };
      const b = new Uint8Array(size + 400);
      w.emitVirtioNetHdr(rr, b, 0, size);
      const p = w.parseVirtioNetHdr(b, 0, b.length, size);
      assert.deepEqual(p, { ok: true, value: rr });
    }),
    { seed, numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(10, 12), (b, size) => {
      const p = w.parseVirtioNetHdr(b, 0, b.length, size);
      assert.equal(typeof p.ok, 'boolean');
    }),
    { seed, numRuns: 300 },
  );
});
