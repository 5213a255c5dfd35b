// MPA (RFC 5044): Request/Reply frames against §7.1's figure, FPDUs with pad,
// markers and CRC built by hand against §4.1/§4.3, and the streaming de-framer
// fed the same stream cut at every octet boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as w from '../src/index.js';
import { hex, toHex } from './fixtures.js';

const seed = Number(process.env.FC_SEED ?? 20240601);

/** CRC-32C bit at a time, independent of the tables under test. */
function crcRef(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
/** The CRC field as sent: least significant octet first, as RFC 3720 B.4 lists CRC bytes. */
function crcField(b: Uint8Array): string {
  const c = crcRef(b);
  return toHex(Uint8Array.of(c, c >>> 8, c >>> 16, c >>> 24));
}

function deframe(stream: Uint8Array, f: w.MpaFraming, cuts: number[], o: Partial<w.MpaDeframerOptions> = {}) {
  const d = new w.MpaDeframer({ ...f, ...o });
  const out: Uint8Array[] = [];
  let prev = 0;
  let err: w.ParseError | null = null;
  const got: Uint8Array[] = [];
  for (const c of [...cuts, stream.length]) {
    err = d.push(stream.subarray(prev, c), got);
    for (const u of got) out.push(u.slice()); // the de-framer's views last until its next push
    got.length = 0;
    prev = c;
    if (err) break;
  }
  return { out, err, d };
}

test('MPA Request and Reply frames field by field (RFC 5044 §7.1)', () => {
  // Key "MPA ID Req Frame", M=1 C=1 R=0 Res=0, Rev=1, PD_Length=3, "abc".
  const req = hex('4d50412049442052657120' + '4672616d65' + 'c0' + '01' + '0003' + '616263');
  const v = new w.MpaRrView().reset(req);
  assert.ok(v.isRequest);
  assert.ok(!v.isReply);
  assert.ok(v.markers && v.crc && !v.reject);
  assert.equal(v.revision, 1);
  assert.equal(v.pdLength, 3);
  assert.equal(v.privateDataOffset, 20);
  const r = w.parseMpaRr(req);
  assert.deepEqual(r, {
    ok: true,
    value: { kind: 'request', markers: true, crc: true, reject: false, revision: 1, privateData: hex('616263') },
  });
  const again = new Uint8Array(req.length);
  assert.equal(w.emitMpaRr(r.ok ? r.value : assert.fail(), again), 23);
  assert.deepEqual(again, req);

  // Reply "MPA ID Rep Frame" with R (0x20) and C, Res bits set (not checked), no private data.
  const rep = hex('4d50412049442052657020' + '4672616d65' + '7f' + '01' + '0000');
  const p = w.parseMpaRr(rep);
  assert.ok(p.ok);
  assert.deepEqual(p.value, {
    kind: 'reply',
    markers: false,
    crc: true,
    reject: true,
    revision: 1,
    privateData: new Uint8Array(0),
  });
  // §7.1: a Request's R bit is not checked on receipt.
  const reqR = req.slice();
  reqR[16] = 0xe0;
  assert.equal(w.parseMpaRr(reqR).ok && (w.parseMpaRr(reqR) as w.Parsed<w.MpaRrRepr>).value.reject, false);
  // A Reply followed by FPDU octets: the frame ends after PD_Length octets.
  const more = new Uint8Array(rep.length + 8);
  more.set(rep);
  const m = w.parseMpaRr(more);
  assert.ok(m.ok);
  assert.equal(w.mpaRrBufferLen(m.value), 20);

  assert.deepEqual(w.parseMpaRr(req.subarray(0, 19)), { ok: false, code: 'TRUNCATED', field: 'mpa.rr.header' });
  assert.deepEqual(w.parseMpaRr(req.subarray(0, 22)), { ok: false, code: 'TRUNCATED', field: 'mpa.rr.private_data' });
  const badKey = req.slice();
  badKey[8] = 0x72;
  assert.deepEqual(w.parseMpaRr(badKey), { ok: false, code: 'BAD_FIELD', field: 'mpa.rr.key' });
  const big = new Uint8Array(20 + 513);
  big.set(req.subarray(0, 18));
  big[18] = 0x02;
  big[19] = 0x01;
  assert.deepEqual(w.parseMpaRr(big), { ok: false, code: 'BAD_FIELD', field: 'mpa.rr.pd_length' });
  assert.throws(
    () =>
      w.emitMpaRr(
        { kind: 'reply', markers: false, crc: false, reject: false, revision: 1, privateData: new Uint8Array(513) },
        new Uint8Array(600),
      ),
    w.WireEmitError,
  );
});

test('FPDU without markers: ULPDU_Length, ULPDU, pad to 4, CRC over all three (RFC 5044 §4.1, §4.4)', () => {
  const ulpdu = hex('010203');
  // 2 + 3 = 5 octets: 3 octets of pad make 8; the CRC covers those 8.
  const body = '0003' + '010203' + '000000';
  const f = w.mpaFrame([ulpdu], { markers: false, crc: true });
  assert.equal(toHex(f), body + crcField(hex(body)));
  assert.equal(w.mpaPadLen(3), 3);
  assert.equal(w.mpaPadLen(2), 0);
  assert.equal(w.mpaPadLen(0), 2);
  assert.equal(w.mpaFpduLen(3), 12);
  // Without CRC the field is present and zero.
  assert.equal(toHex(w.mpaFrame([ulpdu], { markers: false, crc: false })), `${body}00000000`);
  // A DDP-sized ULPDU of 14 octets needs no pad: 2 + 14 = 16.
  const u14 = hex('41' + '43' + '00000001' + '0000000000001000');
  assert.equal(
    toHex(w.mpaFrame([u14], { markers: false, crc: true })),
    `000e${toHex(u14)}${crcField(hex(`000e${toHex(u14)}`))}`,
  );
});

test('markers: first at the start of the FPDU stream, FPDUPTR back to the FPDU, CRC covering them (RFC 5044 §4.3)', () => {
  const mf = { markers: true, crc: true };
  // Position 0: a marker (reserved 0, FPDUPTR 0) precedes the first ULPDU_Length and is part of that FPDU.
  const a = w.mpaFrame([hex('010203')], mf, 0);
  const aBody = '00000000' + '0003' + '010203' + '000000';
  assert.equal(toHex(a), aBody + crcField(hex(aBody)));
  // Position 508: header and 2 ULPDU octets, then the marker at 512 pointing 4 octets back.
  const u = hex('0a0b0c0d0e0f10111213');
  const b = w.mpaFrame([u], mf, 508);
  const bBody = '000a' + '0a0b' + '00000004' + '0c0d0e0f10111213';
  assert.equal(toHex(b), bBody + crcField(hex(bBody)));
  assert.equal(w.mpaWireLen(10, 508, mf), 20);
  const mv = new w.MpaMarkerView().reset(b, 4);
  assert.equal(mv.reserved, 0);
  assert.equal(mv.fpduPtr, 4);
  // Position 500: the marker at 512 falls between the pad and the CRC, and the CRC covers it.
  const c = w.mpaFrame([hex('0102030405060708')], mf, 500);
  const cBody = '0008' + '0102030405060708' + '0000' + '0000000c';
  assert.equal(toHex(c), cBody + crcField(hex(cBody)));
  // Position 496: the FPDU ends exactly at 512; the marker there belongs to the next FPDU.
  assert.equal(w.mpaWireLen(10, 496, mf), 16);
  const d = w.mpaFrame([hex('0102030405060708090a'), hex('01')], mf, 496);
  assert.equal(toHex(d.subarray(16, 20)), '00000000');
  for (const [s, pos] of [
    [a, 0],
    [b, 508],
    [c, 500],
    [d, 496],
  ] as const) {
    const r = deframe(s, mf, [], { pos });
    assert.equal(r.err, null);
  }
  assert.throws(() => w.mpaFrame([u], mf, 2), w.WireEmitError);
});

/** Random ULPDUs, some longer than a marker interval. */
const ulpdus = fc.array(
  fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 500, maxLength: 1400 })),
  { minLength: 1, maxLength: 6 },
);
const framing = fc.record({ markers: fc.boolean(), crc: fc.boolean() });
const startPos = fc.integer({ min: 0, max: 0x3fffffff }).map((x) => x * 4);

test('markers land at every multiple of 512 octets of stream position, and only there', () => {
  fc.assert(
    fc.property(ulpdus, startPos, (us, pos) => {
      const withM = w.mpaFrame(us, { markers: true, crc: false }, pos);
      const plain = w.mpaFrame(us, { markers: false, crc: false }, pos);
      // FPDU starts (marker-inclusive) in stream positions.
      const starts: number[] = [];
      let p = pos;
      for (const u of us) {
        starts.push(p);
        p += w.mpaWireLen(u.length, p, { markers: true, crc: false });
      }
      assert.equal(p - pos, withM.length);
      const stripped: number[] = [];
      let markers = 0;
      for (let i = 0; i < withM.length; ) {
        const s = pos + i;
        if (s % 512 === 0) {
          markers++;
          assert.equal(withM[i], 0);
          assert.equal(withM[i + 1], 0);
          const ptr = (withM[i + 2]! << 8) | withM[i + 3]!;
          // The FPDU containing this marker is the last one starting at or before it.
          const owner = starts.filter((x) => x <= s).pop()!;
          assert.equal(ptr, s - owner);
          i += 4;
        } else {
          stripped.push(withM[i]!);
          i++;
        }
      }
      assert.equal(markers, Math.floor((pos + withM.length - 1) / 512) - Math.floor((pos - 1) / 512));
      assert.deepEqual(Uint8Array.from(stripped), plain);
    }),
    { seed, numRuns: 200 },
  );
});

/** Several FPDUs spanning markers at a position where the first marker leads the stream. */
function sampleStream(f: w.MpaFraming, pos = 0) {
  const us = [
    hex('00'),
    new Uint8Array(700).map((_, i) => i),
    hex('0102'),
    new Uint8Array(333).fill(0xa5),
    new Uint8Array(14).fill(7),
    new Uint8Array(510).map((_, i) => 255 - (i & 255)),
  ];
  return { us, stream: w.mpaFrame(us, f, pos) };
}

test('the de-framer gives the same ULPDUs for the stream cut at every single octet boundary', () => {
  for (const f of [
    { markers: true, crc: true },
    { markers: false, crc: true },
    { markers: true, crc: false },
  ]) {
    for (const pos of [0, 4, 500, 508]) {
      const { us, stream } = sampleStream(f, pos);
      for (let cut = 0; cut <= stream.length; cut++) {
        const r = deframe(stream, f, [cut], { pos });
        assert.equal(r.err, null, `cut ${cut}`);
        assert.equal(r.out.length, us.length, `cut ${cut}`);
        for (let i = 0; i < us.length; i++) assert.ok(Buffer.from(r.out[i]!).equals(us[i]!), `cut ${cut} ulpdu ${i}`);
        assert.equal(r.d.inFpdu, false);
        assert.equal(r.d.pos, pos + stream.length);
      }
      // Octet at a time.
      const one = deframe(
        stream,
        f,
        Array.from({ length: stream.length }, (_, i) => i),
        { pos },
      );
      assert.deepEqual(one.out, us);
    }
  }
});

test('random multi-splits parse identically (fast-check)', () => {
  fc.assert(
    fc.property(ulpdus, framing, startPos, fc.array(fc.nat(), { maxLength: 12 }), (us, f, pos, raw) => {
      const stream = w.mpaFrame(us, f, pos);
      const cuts = [...new Set(raw.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const r = deframe(stream, f, cuts, { pos });
      assert.equal(r.err, null);
      assert.deepEqual(
        r.out,
        us.map((u) => Uint8Array.from(u)),
      );
      assert.equal(r.d.pos, pos + stream.length);
    }),
    { seed, numRuns: 300 },
  );
});

test('a flipped octet is a CRC error; a flipped FPDUPTR a marker error', () => {
  const f = { markers: true, crc: true };
  const { stream } = sampleStream(f, 0);
  // Which octets are markers' FPDUPTR, and which are ULPDU_Length fields.
  const ptr = new Set<number>();
  for (let i = 0; i < stream.length; i += 512) {
    ptr.add(i + 2);
    ptr.add(i + 3);
  }
  const lenAt = new Set<number>();
  const d = new w.MpaDeframer(f);
  for (let i = 0; i < stream.length; i++) {
    const before = d.inFpdu;
    d.push(stream.subarray(i, i + 1), []);
    // The first octet of an FPDU that is not a marker octet starts its ULPDU_Length.
    if (!before && d.inFpdu && i % 512 >= 4) {
      lenAt.add(i);
      lenAt.add(i + 1);
    }
  }
  lenAt.add(4);
  lenAt.add(5);
  let crcErrors = 0;
  for (let i = 0; i < stream.length; i++) {
    const bad = stream.slice();
    bad[i] = bad[i]! ^ 0xff;
    const r = deframe(bad, f, [i]);
    if (ptr.has(i)) {
      assert.deepEqual(r.err, { ok: false, code: 'BAD_FIELD', field: 'mpa.marker.fpduptr' }, `octet ${i}`);
    } else if (lenAt.has(i)) {
      // A wrong length misframes the stream: some error, or an FPDU still waiting for octets.
      assert.ok(r.err !== null || r.d.inFpdu, `octet ${i}`);
    } else {
      assert.deepEqual(r.err, { ok: false, code: 'BAD_CHECKSUM', field: 'mpa.crc' }, `octet ${i}`);
      crcErrors++;
    }
  }
  assert.ok(crcErrors > stream.length - 40);
  // Errors are sticky.
  const bad = stream.slice();
  bad[10] = bad[10]! ^ 1;
  const r = deframe(bad, f, []);
  assert.equal(r.d.push(stream, []), r.err);
  // Without CRCs the field is not checked (§4.1).
  const nf = { markers: true, crc: false };
  const s2 = sampleStream(nf).stream;
  const last = s2.slice();
  last[last.length - 1] = last[last.length - 1]! ^ 0xff;
  assert.equal(deframe(last, nf, []).err, null);
});

test('ULPDU_Length above the receiver MULPDU is an error; ULPDUs before it are delivered', () => {
  const f = { markers: true, crc: true };
  const s = w.mpaFrame([new Uint8Array(16), new Uint8Array(17)], f);
  const r = deframe(s, f, [], { maxUlpduLen: 16 });
  assert.deepEqual(r.err, { ok: false, code: 'BAD_TOTAL_LEN', field: 'mpa.ulpdu_length' });
  assert.equal(r.out.length, 1);
  assert.throws(() => w.mpaFrame([new Uint8Array(0x10000)], f), w.WireEmitError);
  // 65535 octets with markers would need an FPDUPTR past 16 bits.
  assert.throws(() => w.mpaFrame([new Uint8Array(0xffff)], f), w.WireEmitError);
});

test('Request/Reply: emit∘parse identity, and random or truncated octets never throw', () => {
  const rr = fc
    .record({
      kind: fc.constantFrom('request' as const, 'reply' as const),
      markers: fc.boolean(),
      crc: fc.boolean(),
      reject: fc.boolean(),
      revision: fc.integer({ min: 0, max: 255 }),
      privateData: fc.uint8Array({ maxLength: 512 }),
    })
    .map((r) => ({ ...r, reject: r.kind === 'reply' && r.reject }));
  fc.assert(
    fc.property(rr, (r) => {
      const b = new Uint8Array(w.mpaRrBufferLen(r) + 3);
      assert.equal(w.emitMpaRr(r, b, 3), w.mpaRrBufferLen(r));
      const p = w.parseMpaRr(b, 3);
      assert.ok(p.ok);
      assert.deepEqual(p.value, r);
      for (let cut = 0; cut < w.mpaRrBufferLen(r); cut += 7) assert.equal(w.parseMpaRr(b, 3, cut).ok, false);
    }),
    { seed, numRuns: 200 },
  );
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 80 }),
      fc.nat(),
      framing,
      fc.array(fc.nat(), { maxLength: 5 }),
      (b, x, f, raw) => {
        const off = b.length ? x % (b.length + 1) : 0;
        const r = w.parseMpaRr(b, off, b.length - off);
        if (!r.ok) assert.ok(r.field.length > 0);
        w.parseMpaRr(b, off, 1000);
        const cuts = [...new Set(raw.map((c) => c % (b.length + 1)))].sort((p, q) => p - q);
        const d = deframe(b, f, cuts, { maxUlpduLen: 64 });
        if (d.err) assert.equal(typeof d.err.code, 'string');
      },
    ),
    { seed, numRuns: 1000 },
  );
});

test('the de-framer hands out its own buffers again: no allocation per FPDU once warmed up', () => {
  for (const markers of [false, true]) {
    const f = { markers, crc: true };
    const d = new w.MpaDeframer(f);
    const a = new Uint8Array(1000).fill(1);
    const b = new Uint8Array(1000).fill(2);
    const fpdu = (u: Uint8Array, pos: number) => {
      const o = new Uint8Array(w.mpaWireLen(u.length, pos, f));
      w.emitMpaFpdu(u, f, pos, o, 0);
      return o;
    };
    let pos = 0;
    const seen = new Set<Uint8Array>();
    for (let i = 0; i < 40; i++) {
      const u = i % 2 ? b : a;
      const wire = fpdu(u, pos);
      pos += wire.length;
      // Cut inside the FPDU, so one FPDU spans two pushes as well.
      const out: Uint8Array[] = [];
      assert.equal(d.push(wire.subarray(0, 7), out), null);
      assert.equal(d.push(wire.subarray(7), out), null);
      assert.equal(out.length, 1);
      const got = out[0];
      assert.ok(got);
      assert.deepEqual(got, u, `FPDU ${i} (markers ${markers})`);
      seen.add(got);
    }
    assert.equal(seen.size, 1, `one ULPDU view serves every frame (markers ${markers})`);
  }
});
