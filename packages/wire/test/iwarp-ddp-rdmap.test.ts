// DDP (RFC 5041) and RDMAP (RFC 5040) headers: hand-built octets checked field
// by field against the RFCs' figures, emit∘parse identity, and random or
// truncated input answered with a typed error, never an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as w from '../src/index.js';
import { hex, toHex } from './fixtures.js';

const seed = Number(process.env.FC_SEED ?? 20240601);
const runs = { seed, numRuns: 400 };

// RDMA Write, last segment (RFC 5041 §4.2 tagged header, RFC 5040 §4.2 control):
// T=1 L=1 Rsvd=0 DV=01 | RV=01 Rsv=0 Opcode=0 | STag | TO (64 bits).
const WRITE = 'c1' + '40' + '12345678' + '0000000100000200';
// Send with SE and Invalidate, not last (RFC 5041 §4.3 untagged header):
// T=0 L=0 DV=01 | RV=01 Opcode=6 | Invalidate STag (RsvdULP[8:39]) | QN 0 | MSN 7 | MO 0x1000.
const SEND_SE_INV = '01' + '46' + 'deadbeef' + '00000000' + '00000007' + '00001000';
// RDMA Read Request: untagged, last, QN 1, MSN 3, MO 0 (RFC 5040 §4.5), then its 28-octet header:
// Sink STag | Sink TO | RDMA RD Size | Src STag | Src TO.
const RRQ_DDP = '41' + '41' + '00000000' + '00000001' + '00000003' + '00000000';
const RRQ = '11223344' + '0102030405060708' + '00010000' + '55667788' + 'f0e0d0c0b0a09080';

test('DDP tagged header field by field (RFC 5041 §4.2)', () => {
  const b = hex(`${WRITE}aabb`);
  const v = new w.DdpView().reset(b);
  assert.ok(v.tagged);
  assert.ok(v.last);
  assert.equal(v.version, 1);
  assert.equal(v.rsvdUlp, 0x40);
  assert.equal(v.stag, 0x12345678);
  assert.equal(v.to, 0x100000200n);
  assert.equal(v.headerLen, 14);
  assert.equal(v.payloadOffset, 14);
  const r = w.parseDdp(b);
  assert.deepEqual(r, {
    ok: true,
    value: { tagged: true, last: true, rsvdUlp: 0x40, stag: 0x12345678, to: 0x100000200n },
  });
  const out = new Uint8Array(14);
  assert.equal(w.emitDdp(r.ok ? r.value : assert.fail(), out), 14);
  assert.equal(toHex(out), WRITE);
  // The view writes in place.
  v.last = false;
  v.stag = 1;
  v.to = 0xffffffffffffffffn;
  assert.equal(toHex(b.subarray(0, 14)), '81' + '40' + '00000001' + 'ffffffffffffffff');
});

test('DDP untagged header field by field (RFC 5041 §4.3)', () => {
  const b = hex(SEND_SE_INV);
  const v = new w.DdpView().reset(b);
  assert.ok(!v.tagged);
  assert.ok(!v.last);
  assert.equal(v.version, 1);
  assert.equal(v.rsvdUlp, 0x46);
  assert.equal(v.rsvdUlpExt, 0xdeadbeef);
  assert.equal(v.qn, 0);
  assert.equal(v.msn, 7);
  assert.equal(v.mo, 0x1000);
  assert.equal(v.headerLen, 18);
  const r = w.parseDdp(b);
  assert.deepEqual(r, {
    ok: true,
    value: { tagged: false, last: false, rsvdUlp: 0x46, rsvdUlpExt: 0xdeadbeef, qn: 0, msn: 7, mo: 0x1000 },
  });
  // Reserved bits are not checked on receipt (§4.1) and are sent as zero.
  const rsvd = b.slice();
  rsvd[0] = rsvd[0]! | 0x3c;
  assert.deepEqual(w.parseDdp(rsvd), r);
  const out = new Uint8Array(18);
  w.emitDdp(r.ok ? r.value : assert.fail(), out);
  assert.equal(toHex(out), SEND_SE_INV);
});

test('DDP errors: truncated headers and a DV other than 01b', () => {
  assert.deepEqual(w.parseDdp(hex(WRITE).subarray(0, 13)), { ok: false, code: 'TRUNCATED', field: 'ddp.header' });
  assert.deepEqual(w.parseDdp(hex(SEND_SE_INV).subarray(0, 17)), { ok: false, code: 'TRUNCATED', field: 'ddp.header' });
  assert.deepEqual(w.parseDdp(hex('c1')), { ok: false, code: 'TRUNCATED', field: 'ddp.header' });
  assert.deepEqual(w.parseDdp(hex(WRITE), 0, 20), { ok: false, code: 'TRUNCATED', field: 'ddp.header' });
  const dv = hex(WRITE);
  dv[0] = 0xc2;
  assert.deepEqual(w.parseDdp(dv), { ok: false, code: 'BAD_VERSION', field: 'ddp.dv' });
});

test('RDMAP control field and Invalidate STag (RFC 5040 §4.2)', () => {
  const write = w.parseRdmapHeader(hex(WRITE));
  assert.ok(write.ok);
  assert.equal(write.value.opcode, w.RDMAP_RDMA_WRITE);
  const send = w.parseRdmapHeader(hex(SEND_SE_INV));
  assert.ok(send.ok);
  assert.equal(send.value.opcode, w.RDMAP_SEND_SE_INVALIDATE);
  assert.equal(send.value.ddp.tagged ? -1 : send.value.ddp.rsvdUlpExt, 0xdeadbeef);
  const v = new w.RdmapView().reset(hex(SEND_SE_INV));
  assert.equal(v.rv, 1);
  assert.equal(v.opcode, 6);
  assert.equal(v.invalidateStag, 0xdeadbeef);
  assert.equal(w.rdmapControl(w.RDMAP_TERMINATE), 0x47);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(w.rdmapIsTagged), [
    true,
    false,
    true,
    false,
    false,
    false,
    false,
    false,
  ]);
  // A plain Send's RsvdULP[8:39] is reserved: not checked, read back as zero.
  const plain = hex(SEND_SE_INV);
  plain[1] = 0x43;
  const p = w.parseRdmapHeader(plain);
  assert.ok(p.ok && !p.value.ddp.tagged);
  assert.equal(p.value.ddp.rsvdUlpExt, 0);
  const out = new Uint8Array(18);
  w.emitRdmapHeader({ opcode: w.RDMAP_SEND, ddp: { ...p.value.ddp, rsvdUlpExt: 0x1234 } }, out);
  assert.equal(toHex(out), '01' + '43' + '00000000' + '00000000' + '00000007' + '00001000');

  const rv = hex(WRITE);
  rv[1] = 0x80;
  assert.deepEqual(w.parseRdmapHeader(rv), { ok: false, code: 'BAD_VERSION', field: 'rdmap.rv' });
  const op = hex(WRITE);
  op[1] = 0x48;
  assert.deepEqual(w.parseRdmapHeader(op), { ok: false, code: 'BAD_FIELD', field: 'rdmap.opcode' });
  // A Send in a tagged segment, a Write in an untagged one.
  const model = hex(WRITE);
  model[1] = 0x43;
  assert.deepEqual(w.parseRdmapHeader(model), { ok: false, code: 'BAD_FIELD', field: 'rdmap.opcode' });
  const model2 = hex(SEND_SE_INV);
  model2[1] = 0x40;
  assert.deepEqual(w.parseRdmapHeader(model2), { ok: false, code: 'BAD_FIELD', field: 'rdmap.opcode' });
  assert.throws(
    () => w.emitRdmapHeader({ opcode: w.RDMAP_SEND, ddp: write.value.ddp }, new Uint8Array(18)),
    w.WireEmitError,
  );
});

test('RDMA Read Request header field by field (RFC 5040 §4.5)', () => {
  const b = hex(RRQ_DDP + RRQ);
  const h = w.parseRdmapHeader(b);
  assert.ok(h.ok);
  assert.equal(h.value.opcode, w.RDMAP_RDMA_READ_REQUEST);
  assert.deepEqual(h.value.ddp, {
    tagged: false,
    last: true,
    rsvdUlp: 0x41,
    rsvdUlpExt: 0,
    qn: w.RDMAP_QN_READ_REQUEST,
    msn: 3,
    mo: 0,
  });
  const v = new w.RdmaReadRequestView().reset(b, 18);
  assert.equal(v.sinkStag, 0x11223344);
  assert.equal(v.sinkTo, 0x0102030405060708n);
  assert.equal(v.size, 0x10000);
  assert.equal(v.srcStag, 0x55667788);
  assert.equal(v.srcTo, 0xf0e0d0c0b0a09080n);
  const r = w.parseRdmaReadRequest(b, 18);
  assert.deepEqual(r, {
    ok: true,
    value: {
      sinkStag: 0x11223344,
      sinkTo: 0x0102030405060708n,
      size: 0x10000,
      srcStag: 0x55667788,
      srcTo: 0xf0e0d0c0b0a09080n,
    },
  });
  const out = new Uint8Array(28);
  assert.equal(w.emitRdmaReadRequest(r.ok ? r.value : assert.fail(), out), 28);
  assert.equal(toHex(out), RRQ);
  assert.deepEqual(w.parseRdmaReadRequest(b, 18, 27), { ok: false, code: 'TRUNCATED', field: 'rdmap.read_request' });
  assert.throws(() => w.emitRdmaReadRequest({ ...r.value, srcTo: 1n << 64n }, out), w.WireEmitError);
});

test('Terminate header field by field, with the copied headers (RFC 5040 §4.8)', () => {
  // Layer DDP, EType tagged buffer, "base or bounds violation"; M and D: segment length and the Write's header.
  const t1 = hex(`1101c0000100${WRITE}`);
  const v = new w.RdmapTerminateView().reset(t1);
  assert.equal(v.layer, w.TERM_LAYER_DDP);
  assert.equal(v.etype, w.TERM_ETYPE_DDP_TAGGED);
  assert.equal(v.errorCode, w.TERM_DDP_TAGGED_BASE_BOUNDS);
  assert.equal(v.hdrct, w.RDMAP_TERM_HDRCT_M | w.RDMAP_TERM_HDRCT_D);
  assert.equal(v.ddpSegmentLength, 0x100);
  assert.equal(v.ddpHeaderOffset, 6);
  const r1 = w.parseRdmapTerminate(t1);
  assert.deepEqual(r1, {
    ok: true,
    value: { layer: 1, etype: 1, errorCode: 1, m: true, ddpSegmentLength: 0x100, ddpHeader: hex(WRITE) },
  });

  // Layer RDMA, remote protection, "access rights violation": M, D and R with a Read Request's headers.
  const t2 = hex(`0102e000002e${RRQ_DDP}${RRQ}`);
  const r2 = w.parseRdmapTerminate(t2);
  assert.ok(r2.ok);
  assert.equal(r2.value.layer, w.TERM_LAYER_RDMA);
  assert.equal(r2.value.etype, w.TERM_ETYPE_RDMA_REMOTE_PROTECTION);
  assert.equal(r2.value.errorCode, w.TERM_RDMA_ACCESS_RIGHTS);
  assert.equal(toHex(r2.value.ddpHeader!), RRQ_DDP);
  assert.equal(toHex(r2.value.rdmaHeader!), RRQ);
  assert.equal(w.rdmapTerminateBufferLen(r2.value), 4 + 2 + 18 + 28);

  // Layer LLP (MPA), "MPA CRC error" (RFC 5044 §8): no headers; reserved bits ignored.
  const t3 = hex('20' + '02' + '1f' + 'ff');
  assert.deepEqual(w.parseRdmapTerminate(t3), {
    ok: true,
    value: {
      layer: w.TERM_LAYER_LLP,
      etype: w.TERM_ETYPE_LLP_MPA,
      errorCode: w.MPA_ERR_CRC,
      m: false,
      ddpSegmentLength: 0,
    },
  });

  for (const [t, r] of [
    [t1, r1],
    [t2, r2],
  ] as const) {
    const out = new Uint8Array(t.length);
    assert.equal(w.emitRdmapTerminate(r.ok ? r.value : assert.fail(), out), t.length);
    assert.deepEqual(out, t);
  }
  assert.deepEqual(w.parseRdmapTerminate(t3.subarray(0, 3)), {
    ok: false,
    code: 'TRUNCATED',
    field: 'rdmap.terminate',
  });
  assert.deepEqual(w.parseRdmapTerminate(t1.subarray(0, 19)), {
    ok: false,
    code: 'TRUNCATED',
    field: 'rdmap.terminate.ddp_header',
  });
  assert.deepEqual(w.parseRdmapTerminate(t2.subarray(0, 50)), {
    ok: false,
    code: 'TRUNCATED',
    field: 'rdmap.terminate.rdma_header',
  });
  assert.throws(
    () =>
      w.emitRdmapTerminate(
        { ...(r1.ok ? r1.value : assert.fail()), ddpHeader: hex(WRITE).subarray(0, 13) },
        new Uint8Array(40),
      ),
    w.WireEmitError,
  );

  // The error-code constants as RFC 5040 §4.8 / RFC 5041 §7.2 / RFC 5044 §8 number them.
  assert.deepEqual(
    [
      w.TERM_RDMA_INVALID_STAG,
      w.TERM_RDMA_BASE_BOUNDS,
      w.TERM_RDMA_ACCESS_RIGHTS,
      w.TERM_RDMA_STAG_NOT_ASSOCIATED,
      w.TERM_RDMA_TO_WRAP,
      w.TERM_RDMA_INVALID_VERSION,
      w.TERM_RDMA_UNEXPECTED_OPCODE,
      w.TERM_RDMA_CATASTROPHIC_STREAM,
      w.TERM_RDMA_CATASTROPHIC_GLOBAL,
      w.TERM_RDMA_STAG_CANNOT_INVALIDATE,
      w.TERM_RDMA_UNSPECIFIED,
    ],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff],
  );
  assert.deepEqual(
    [
      w.TERM_DDP_UNTAGGED_INVALID_QN,
      w.TERM_DDP_UNTAGGED_INVALID_MSN_NO_BUFFER,
      w.TERM_DDP_UNTAGGED_INVALID_MSN_RANGE,
      w.TERM_DDP_UNTAGGED_INVALID_MO,
      w.TERM_DDP_UNTAGGED_MSG_TOO_LONG,
      w.TERM_DDP_UNTAGGED_INVALID_VERSION,
    ],
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual([w.MPA_ERR_TCP_LOST, w.MPA_ERR_CRC, w.MPA_ERR_MARKER, w.MPA_ERR_REQ_REP], [1, 2, 3, 4]);
});

/* ---- properties ---- */

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

/** fc.record builds null-prototype objects; Reprs are plain ones. */
function plain<T>(x: T): T {
  if (x instanceof Uint8Array || x === null || typeof x !== 'object') return x;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) o[k] = plain(v);
  return o as T;
}

const ddpTagged = fc.record({
  tagged: fc.constant(true as const),
  last: fc.boolean(),
  rsvdUlp: u8,
  stag: u32,
  to: u64,
});
const ddpUntagged = fc.record({
  tagged: fc.constant(false as const),
  last: fc.boolean(),
  rsvdUlp: u8,
  rsvdUlpExt: u32,
  qn: u32,
  msn: u32,
  mo: u32,
});
const ddp: fc.Arbitrary<w.DdpRepr> = fc.oneof(ddpTagged, ddpUntagged);
const rdmapHeader: fc.Arbitrary<w.RdmapHeaderRepr> = fc.integer({ min: 0, max: 7 }).chain((opcode) =>
  (w.rdmapIsTagged(opcode) ? ddpTagged : ddpUntagged).map((d): w.RdmapHeaderRepr => {
    const dd = { ...d, rsvdUlp: w.rdmapControl(opcode) } as w.DdpRepr;
    if (!dd.tagged && !w.rdmapHasInvalidateStag(opcode)) dd.rsvdUlpExt = 0;
    return { opcode, ddp: dd };
  }),
);
const rrq = fc.record({ sinkStag: u32, sinkTo: u64, size: u32, srcStag: u32, srcTo: u64 });
const ddpHeaderBytes = ddp.map((d) => {
  const b = new Uint8Array(w.ddpBufferLen(d));
  w.emitDdp(d, b);
  return b;
});
const terminate: fc.Arbitrary<w.RdmapTerminateRepr> = fc
  .record({
    layer: fc.integer({ min: 0, max: 15 }),
    etype: fc.integer({ min: 0, max: 15 }),
    errorCode: u8,
    m: fc.boolean(),
    ddpSegmentLength: u16,
    ddpHeader: fc.option(ddpHeaderBytes, { nil: undefined }),
    rdmaHeader: fc.option(fc.uint8Array({ minLength: 28, maxLength: 28 }), { nil: undefined }),
  })
  .map((r) => {
    const t: w.RdmapTerminateRepr = {
      layer: r.layer,
      etype: r.etype,
      errorCode: r.errorCode,
      m: r.m,
      ddpSegmentLength: r.ddpHeader ? r.ddpSegmentLength : 0,
    };
    if (r.ddpHeader) t.ddpHeader = r.ddpHeader;
    if (r.rdmaHeader) t.rdmaHeader = r.rdmaHeader;
    return t;
  });

/** Emit at offset 3, parse back, compare the Repr, re-emit and compare the octets; every cut is a typed error. */
function roundTrip<R>(
  repr: R,
  len: (r: R) => number,
  emit: (r: R, b: Uint8Array, o: number) => number,
  parse: (b: Uint8Array, o: number, l: number) => w.ParseResult<R>,
): void {
  repr = plain(repr);
  const n = len(repr);
  const buf = new Uint8Array(3 + n);
  assert.equal(emit(repr, buf, 3), n);
  const r = parse(buf, 3, n);
  assert.ok(
    r.ok,
    JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
  );
  assert.deepEqual(r.value, repr);
  const again = new Uint8Array(buf.length);
  emit(r.value, again, 3);
  assert.deepEqual(again, buf);
  for (let cut = 0; cut < n; cut++) {
    const t = parse(buf.subarray(0, 3 + cut), 3, cut);
    assert.equal(t.ok, false);
    if (!t.ok) assert.equal(t.code, 'TRUNCATED');
  }
}

test('DDP, RDMAP header, Read Request and Terminate: emit∘parse identity; every truncation is TRUNCATED', () => {
  fc.assert(
    fc.property(ddp, (r) => roundTrip(r, w.ddpBufferLen, w.emitDdp, w.parseDdp)),
    runs,
  );
  fc.assert(
    fc.property(rdmapHeader, (r) => roundTrip(r, w.rdmapHeaderBufferLen, w.emitRdmapHeader, w.parseRdmapHeader)),
    runs,
  );
  fc.assert(
    fc.property(rrq, (r) => roundTrip(r, w.rdmaReadRequestBufferLen, w.emitRdmaReadRequest, w.parseRdmaReadRequest)),
    runs,
  );
  fc.assert(
    fc.property(terminate, (r) => roundTrip(r, w.rdmapTerminateBufferLen, w.emitRdmapTerminate, w.parseRdmapTerminate)),
    runs,
  );
});

function parseAll(b: Uint8Array, off: number, len: number): void {
  const results: w.ParseResult<unknown>[] = [
    w.parseDdp(b, off, len),
    w.parseRdmapHeader(b, off, len),
    w.parseRdmaReadRequest(b, off, len),
    w.parseRdmapTerminate(b, off, len),
    w.parseMpaRr(b, off, len),
  ];
  for (const r of results) {
    assert.equal(typeof r.ok, 'boolean');
    if (!r.ok) {
      assert.equal(typeof r.code, 'string');
      assert.ok(r.field.length > 0);
    }
  }
}

test('random, truncated and mutated octets never throw out of a parser', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(), fc.nat(), (b, x, y) => {
      const off = b.length ? x % (b.length + 1) : 0;
      parseAll(b, off, b.length - off);
      parseAll(b, 0, b.length);
      parseAll(b, off, y % 200); // a length past the buffer is TRUNCATED
      parseAll(b, -1, b.length);
    }),
    { seed, numRuns: 2000 },
  );
  fc.assert(
    fc.property(rdmapHeader, rrq, terminate, fc.nat(), u8, (h, q, t, at, v) => {
      const hl = w.rdmapHeaderBufferLen(h);
      const tl = w.rdmapTerminateBufferLen(t);
      const buf = new Uint8Array(hl + 28 + tl);
      w.emitRdmapHeader(h, buf, 0);
      w.emitRdmaReadRequest(q, buf, hl);
      w.emitRdmapTerminate(t, buf, hl + 28);
      for (let cut = 0; cut <= buf.length; cut++) {
        parseAll(buf.subarray(0, cut), 0, cut);
        parseAll(buf.subarray(0, cut), Math.min(hl, cut), cut - Math.min(hl, cut));
      }
      const m = buf.slice();
      m[at % m.length] = v;
      parseAll(m, 0, m.length);
      parseAll(m, hl, m.length - hl);
      parseAll(m, hl + 28, tl);
    }),
    { seed, numRuns: 300 },
  );
});
