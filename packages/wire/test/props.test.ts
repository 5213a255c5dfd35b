// Property tests (fast-check, seeded; FC_SEED overrides): emit∘parse is the
// identity on random valid headers of every type; random, truncated and mutated
// byte strings never throw out of a parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as w from '../src/index.js';
import type { TcpOptions, TcpRepr, Ipv4Repr, Ipv6ExtRepr, IcmpRepr, Icmp6Repr } from '../src/index.js';

const seed = Number(process.env.FC_SEED ?? 20240601);
const runs = { seed, numRuns: 400 };
console.log(`# fast-check seed ${seed} (set FC_SEED to replay)`);

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u8 = fc.integer({ min: 0, max: 0xff });

/** fc.record builds null-prototype objects; Reprs are plain ones. */
function plain<T>(x: T): T {
  if (x instanceof Uint8Array || x === null || typeof x !== 'object') return x;
  if (Array.isArray(x)) return x.map(plain) as T;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) o[k] = plain(v);
  return o as T;
}

/** Emit into a buffer of `room` bytes, parse back, compare both the Repr and the bytes. */
function roundTrip<R>(
  repr: R,
  len: (r: R) => number,
  emit: (r: R, b: Uint8Array, o: number) => number,
  parse: (b: Uint8Array, o: number, l: number) => w.ParseResult<R>,
  extra = 0,
): void {
  repr = plain(repr);
  const n = len(repr);
  const off = 3;
  const buf = new Uint8Array(off + n + extra);
  assert.equal(emit(repr, buf, off), n);
  const r = parse(buf, off, n + extra);
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value, repr);
  const again = new Uint8Array(buf.length);
  again.set(buf.subarray(off + n), off + n);
  emit(r.value, again, off);
  assert.deepEqual(again, buf);
}

const ethernet = fc
  .record({
    dst: bytes(6),
    src: bytes(6),
    ethertype: u16.filter((t) => t !== w.ETHERTYPE_VLAN),
    vlan: fc.option(
      fc.record({ pcp: fc.integer({ min: 0, max: 7 }), dei: fc.boolean(), vid: fc.integer({ min: 0, max: 4095 }) }),
      { nil: undefined },
    ),
  })
  .map((r) => {
    if (!r.vlan) delete r.vlan;
    return r as w.EthernetRepr;
  });

test('ethernet: emit∘parse identity', () => {
  fc.assert(
    fc.property(ethernet, (r) => roundTrip(r, w.ethernetBufferLen, w.emitEthernet, w.parseEthernet)),
    runs,
  );
});

test('arp: emit∘parse identity', () => {
  const arp = fc.record({
    operation: u16,
    senderHw: bytes(6),
    senderProto: bytes(4),
    targetHw: bytes(6),
    targetProto: bytes(4),
  });
  fc.assert(
    fc.property(arp, (r) => roundTrip(r, w.arpBufferLen, w.emitArp, w.parseArp)),
    runs,
  );
});

/** IPv4 option TLVs (NOP or kind >= 2 with 0..6 data bytes), padded with EOL to 4. */
const ipv4Options = fc
  .array(
    fc.oneof(
      fc.constant(Uint8Array.of(1)),
      fc
        .tuple(fc.integer({ min: 2, max: 255 }), fc.uint8Array({ maxLength: 6 }))
        .map(([k, d]) => Uint8Array.of(k, d.length + 2, ...d)),
    ),
    { maxLength: 5 },
  )
  .map((parts) => {
    const flat = parts.flatMap((p) => [...p]);
    while (flat.length % 4) flat.push(0);
    return Uint8Array.from(flat.slice(0, 40 - (flat.length > 40 ? flat.length - 40 : 0)));
  })
  .filter((o) => o.length <= 40 && w.countIpv4Options(o, 0, o.length) >= 0);

const ipv4 = fc
  .record({
    src: u32,
    dst: u32,
    protocol: u8,
    ttl: u8,
    tos: u8,
    ident: u16,
    dontFrag: fc.boolean(),
    moreFrags: fc.boolean(),
    fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x << 3),
    payloadLen: fc.integer({ min: 0, max: 64 }),
    options: ipv4Options,
  })
  .map((r) => {
    const repr: Ipv4Repr = { ...r };
    if (r.options.length === 0) delete repr.options;
    else repr.optionCount = w.countIpv4Options(r.options, 0, r.options.length);
    return repr;
  });

test('ipv4: emit∘parse identity (options kept and counted)', () => {
  fc.assert(
    fc.property(ipv4, (r) =>
      roundTrip(r, w.ipv4BufferLen, w.emitIpv4, (b, o, l) => w.parseIpv4(b, o, l), r.payloadLen),
    ),
    runs,
  );
});

const ipv6 = fc.record({
  src: bytes(16),
  dst: bytes(16),
  nextHeader: u8,
  hopLimit: u8,
  trafficClass: u8,
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  payloadLen: fc.integer({ min: 0, max: 64 }),
});

test('ipv6: emit∘parse identity', () => {
  fc.assert(
    fc.property(ipv6, (r) =>
      roundTrip(r, w.ipv6BufferLen, w.emitIpv6, (b, o, l) => w.parseIpv6(b, o, l), r.payloadLen),
    ),
    runs,
  );
});

/** Valid options area of 8k-2 bytes: PadN/other TLVs filling it exactly. */
const ip6OptionsArea = fc.integer({ min: 0, max: 3 }).chain((k) => {
  const n = 8 * k + 6;
  return fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }).map((sizes) => {
    const out: number[] = [];
    for (const s of sizes) if (out.length + 2 + s <= n) out.push(0x3e, s, ...new Array<number>(s).fill(0xab));
    const left = n - out.length;
    if (left === 1) out.push(w.IP6OPT_PAD1);
    else if (left >= 2) out.push(w.IP6OPT_PADN, left - 2, ...new Array<number>(left - 2).fill(0));
    return Uint8Array.from(out);
  });
});

const ip6Ext: fc.Arbitrary<Ipv6ExtRepr> = fc.oneof(
  fc.record({ type: fc.constantFrom(w.IPPROTO_HOPOPTS, w.IPPROTO_DSTOPTS), nextHeader: u8, options: ip6OptionsArea }),
  fc.record({
    type: fc.constant(w.IPPROTO_ROUTING),
    nextHeader: u8,
    routingType: u8,
    segmentsLeft: u8,
    data: fc.integer({ min: 0, max: 3 }).chain((k) => bytes(8 * k + 4)),
  }),
  fc.record({
    type: fc.constant(w.IPPROTO_FRAGMENT),
    nextHeader: u8,
    fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x << 3),
    moreFrags: fc.boolean(),
    ident: u32,
  }),
) as fc.Arbitrary<Ipv6ExtRepr>;

test('ipv6 extension headers: emit∘parse identity, and the walker agrees with the chain', () => {
  fc.assert(
    fc.property(ip6Ext, (r) =>
      roundTrip(r, w.ipv6ExtBufferLen, w.emitIpv6Ext, (b, o, l) => w.parseIpv6Ext(r.type, b, o, l)),
    ),
    runs,
  );
  fc.assert(
    fc.property(fc.array(ip6Ext, { maxLength: 4 }), u8, (hdrs, upper) => {
      // Chain them: each nextHeader names the following header; hop-by-hop only first.
      const chain = hdrs
        .filter((h, i) => i === 0 || h.type !== w.IPPROTO_HOPOPTS)
        .map((h) => (h.type === w.IPPROTO_FRAGMENT ? { ...h, fragOffset: 0 } : h));
      const upperProto = w.isIpv6ExtHeader(upper) ? w.IPPROTO_NONE : upper;
      const total = chain.reduce((s, h) => s + w.ipv6ExtBufferLen(h), 0);
      const buf = new Uint8Array(total + 8);
      let o = 0;
      chain.forEach((h, i) => {
        h.nextHeader = i + 1 < chain.length ? chain[i + 1]!.type : upperProto;
        o += w.emitIpv6Ext(h, buf, o);
      });
      const first = chain.length ? chain[0]!.type : upperProto;
      const walker = new w.Ipv6ExtWalker();
      assert.ok(walker.walk(buf, 0, first, buf.length), `${walker.errorCode} ${walker.errorField}`);
      assert.equal(walker.protocol, upperProto);
      assert.equal(walker.offset, total);
      assert.equal(walker.count, chain.length);
      const parsedChain = w.parseIpv6Chain(first, buf, 0, buf.length);
      assert.ok(parsedChain.ok);
      assert.deepEqual(parsedChain.value.headers, plain(chain));
    }),
    runs,
  );
});

const icmp: fc.Arbitrary<IcmpRepr> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const),
    ident: u16,
    seq: u16,
    data: fc.uint8Array({ maxLength: 64 }),
  }),
  fc
    .record({
      kind: fc.constant('destUnreachable' as const),
      code: fc.integer({ min: 0, max: 15 }),
      nextHopMtu: u16,
      data: fc.uint8Array({ maxLength: 64 }),
    })
    .map((r) => (r.code === w.ICMP_UNREACH_NEEDFRAG ? r : { ...r, nextHopMtu: 0 })),
  fc.record({
    kind: fc.constant('timeExceeded' as const),
    code: fc.integer({ min: 0, max: 1 }),
    data: fc.uint8Array({ maxLength: 64 }),
  }),
  fc.record({
    kind: fc.constant('other' as const),
    type: fc.constantFrom(5, 12, 13, 14, 40),
    code: u8,
    rest: u32,
    data: fc.uint8Array({ maxLength: 64 }),
  }),
);

test('icmp: emit∘parse identity (checksum verified)', () => {
  fc.assert(
    fc.property(icmp, (r) => roundTrip(r, w.icmpBufferLen, w.emitIcmp, w.parseIcmp)),
    runs,
  );
});

const icmp6: fc.Arbitrary<Icmp6Repr> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const),
    ident: u16,
    seq: u16,
    data: fc.uint8Array({ maxLength: 64 }),
  }),
  fc.record({
    kind: fc.constant('destUnreachable' as const),
    code: fc.integer({ min: 0, max: 6 }),
    data: fc.uint8Array({ maxLength: 64 }),
  }),
  fc.record({ kind: fc.constant('packetTooBig' as const), mtu: u32, data: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({
    kind: fc.constant('timeExceeded' as const),
    code: fc.integer({ min: 0, max: 1 }),
    data: fc.uint8Array({ maxLength: 64 }),
  }),
  fc
    .record({
      kind: fc.constant('neighborSolicit' as const),
      target: bytes(16),
      sourceLinkAddr: fc.option(bytes(6), { nil: undefined }),
    })
    .map((r) => {
      if (!r.sourceLinkAddr) delete r.sourceLinkAddr;
      return r;
    }),
  fc
    .record({
      kind: fc.constant('neighborAdvert' as const),
      router: fc.boolean(),
      solicited: fc.boolean(),
      override: fc.boolean(),
      target: bytes(16),
      targetLinkAddr: fc.option(bytes(6), { nil: undefined }),
    })
    .map((r) => {
      if (!r.targetLinkAddr) delete r.targetLinkAddr;
      return r;
    }),
);

test('icmp6: emit∘parse identity, checksum with the pseudo-header', () => {
  fc.assert(
    fc.property(icmp6, bytes(16), bytes(16), (r, src, dst) => {
      roundTrip(r, w.icmp6BufferLen, (x, b, o) => w.emitIcmp6(x, b, o), w.parseIcmp6);
      const n = w.icmp6BufferLen(r);
      const pkt = new Uint8Array(40 + n);
      w.emitIpv6({ src, dst, nextHeader: 58, hopLimit: 255, trafficClass: 0, flowLabel: 0, payloadLen: n }, pkt, 0);
      w.emitIcmp6(r, pkt, 40, w.pseudoHeaderSum6(pkt, 8, 24, 58, n));
      assert.ok(w.verifyIcmp6Checksum(pkt, 0, 40, n));
      assert.equal(w.icmp6Checksum(pkt, 0, 40, n), new w.Icmp6View().reset(pkt, 40).checksum);
    }),
    runs,
  );
});

test('udp: emit∘parse identity, checksum never 0 over IPv4', () => {
  const udp = fc.record({ srcPort: u16, dstPort: u16, payloadLen: fc.integer({ min: 0, max: 64 }) });
  fc.assert(
    fc.property(udp, bytes(4), bytes(4), (r, src, dst) => {
      roundTrip(
        r,
        w.udpBufferLen,
        (x, b, o) => w.emitUdp(x, b, o),
        (b, o, l) => w.parseUdp(b, o, l),
        r.payloadLen,
      );
      const pkt = new Uint8Array(20 + 8 + r.payloadLen);
      const n = 8 + r.payloadLen;
      w.emitIpv4(
        {
          src: w.get32(src, 0),
          dst: w.get32(dst, 0),
          protocol: 17,
          ttl: 64,
          tos: 0,
          ident: 0,
          dontFrag: false,
          moreFrags: false,
          fragOffset: 0,
          payloadLen: n,
        },
        pkt,
        0,
      );
      w.emitUdp(r, pkt, 20, w.pseudoHeaderSum4(pkt, 12, 16, 17, n));
      assert.notEqual(new w.UdpView().reset(pkt, 20).checksum, 0);
      assert.ok(w.verifyUdpChecksum4(pkt, 0, 20, n));
    }),
    runs,
  );
});

/** A valid option list in a random order: each known kind at most once, ≤ 40 bytes. */
const tcpOptions: fc.Arbitrary<TcpOptions> = fc
  .record({
    mss: fc.option(u16, { nil: undefined }),
    wscale: fc.option(u8, { nil: undefined }),
    sackPermitted: fc.boolean(),
    sack: fc.option(fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 4 }), { nil: undefined }),
    timestamp: fc.option(fc.record({ val: u32, ecr: u32 }), { nil: undefined }),
    md5: fc.option(bytes(16), { nil: undefined }),
    unknown: fc.array(
      fc.record({
        kind: fc.integer({ min: 6, max: 255 }).filter((k) => k !== 8 && k !== 19),
        data: fc.uint8Array({ maxLength: 6 }),
      }),
      { maxLength: 2 },
    ),
    nops: fc.array(fc.nat(12), { maxLength: 4 }),
    shuffle: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
  })
  .map((g) => {
    const o: TcpOptions = {};
    const kinds: number[] = [];
    let len = 0;
    const take = (kind: number, size: number, set: () => void) => {
      if (len + size <= 40) {
        kinds.push(kind);
        len += size;
        set();
      }
    };
    if (g.md5)
      take(19, 18, () => {
        o.md5 = g.md5!;
      });
    if (g.timestamp)
      take(8, 10, () => {
        o.timestamp = g.timestamp!;
      });
    if (g.mss !== undefined)
      take(2, 4, () => {
        o.mss = g.mss!;
      });
    if (g.wscale !== undefined)
      take(3, 3, () => {
        o.wscale = g.wscale!;
      });
    if (g.sackPermitted)
      take(4, 2, () => {
        o.sackPermitted = true;
      });
    if (g.sack) {
      const fit = Math.min(g.sack.length, Math.floor((40 - len - 2) / 8));
      if (fit > 0)
        take(5, 2 + 8 * fit, () => {
          o.sack = g.sack!.slice(0, fit);
        });
    }
    for (const u of g.unknown)
      take(u.kind, 2 + u.data.length, () => {
        (o.unknown ??= []).push(u);
      });
    for (const _ of g.nops) take(1, 1, () => {});
    // Shuffle, keeping unknown options in their relative order (they are matched in sequence).
    const keyed = kinds.map((k, i) => ({ k, key: g.shuffle[i % 12]! + i / 100 }));
    keyed.sort((a, b) => a.key - b.key);
    const unk = o.unknown ? [...o.unknown] : [];
    const order = keyed.map((x) => x.k);
    if (o.unknown)
      o.unknown = order
        .filter((k) => ![1, 2, 3, 4, 5, 8, 19].includes(k))
        .map((k) => {
          const i = unk.findIndex((u) => u.kind === k);
          return unk.splice(i, 1)[0]!;
        });
    while (len % 4) {
      order.push(0);
      len++;
    }
    if (order.length) o.order = order;
    return o;
  });

const tcp: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0xfff }),
  window: u16,
  urgentPtr: u16,
  options: tcpOptions,
});

test('tcp: emit∘parse identity with options in any wire order (NOP/EOL kept)', () => {
  fc.assert(
    fc.property(tcp, (r) => roundTrip(r, w.tcpBufferLen, (x, b, o) => w.emitTcp(x, b, o), w.parseTcp)),
    runs,
  );
});

test('tcp: FreeBSD layout (no order) parses back to the same values, 4-aligned', () => {
  fc.assert(
    fc.property(tcp, (r) => {
      const o = plain({ ...r.options });
      delete o.order;
      // FreeBSD never sends more than fits: skip what tcp_addoptions would drop.
      if (w.tcpOptionsLen(o) > 40) return;
      const rr = { ...r, options: o };
      const buf = new Uint8Array(w.tcpBufferLen(rr));
      w.emitTcp(rr, buf, 0);
      assert.equal(buf.length % 4, 0);
      const p = w.parseTcp(buf);
      assert.ok(p.ok);
      const { order, ...values } = p.value.options;
      assert.deepEqual(values, o);
      assert.deepEqual(order ?? [], w.freebsdOptionOrder(o));
    }),
    runs,
  );
});

test('tcp: TcpOptionScan agrees with the Repr on every valid option list', () => {
  const scan = new w.TcpOptionScan();
  fc.assert(
    fc.property(tcp, fc.boolean(), (r, syn) => {
      const buf = new Uint8Array(w.tcpBufferLen(r));
      w.emitTcp(r, buf, 0);
      const f = scan.scan(buf, 20, buf.length, syn);
      const o = r.options;
      assert.equal((f & w.TOF_MSS) !== 0, syn && o.mss !== undefined);
      if (syn && o.mss !== undefined) assert.equal(scan.mss, o.mss);
      assert.equal((f & w.TOF_SCALE) !== 0, syn && o.wscale !== undefined);
      if (syn && o.wscale !== undefined) assert.equal(scan.wscale, Math.min(o.wscale, 14));
      assert.equal((f & w.TOF_SACKPERM) !== 0, syn && o.sackPermitted === true);
      assert.equal((f & w.TOF_TS) !== 0, o.timestamp !== undefined);
      if (o.timestamp) {
        assert.equal(scan.tsVal, o.timestamp.val);
        assert.equal(scan.tsEcr, o.timestamp.ecr);
      }
      assert.equal((f & w.TOF_SIGNATURE) !== 0, o.md5 !== undefined);
      if (o.md5) assert.deepEqual(buf.subarray(scan.signatureOffset, scan.signatureOffset + 16), o.md5);
      assert.equal((f & w.TOF_SACK) !== 0, !syn && o.sack !== undefined);
      if (!syn && o.sack) {
        assert.equal(scan.nsacks, o.sack.length);
        o.sack.forEach(([s, e], i) => {
          assert.equal(scan.sackStart(i), s);
          assert.equal(scan.sackEnd(i), e);
        });
      }
      assert.equal(scan.unknown, o.unknown?.length ?? 0);
    }),
    runs,
  );
});

/** Every parser and scanner over arbitrary bytes, offsets and lengths. */
function parseEverything(b: Uint8Array, off: number, len: number): void {
  const results: w.ParseResult<unknown>[] = [
    w.parseEthernet(b, off, len),
    w.parseArp(b, off, len),
    w.parseIpv4(b, off, len),
    w.parseIpv4(b, off, len, { verifyChecksum: false, allowTruncated: true }),
    w.parseIpv6(b, off, len),
    w.parseIpv6(b, off, len, { allowTruncated: true }),
    w.parseIpv6Ext(0, b, off, len),
    w.parseIpv6Ext(43, b, off, len),
    w.parseIpv6Ext(44, b, off, len),
    w.parseIpv6Ext(60, b, off, len),
    w.parseIpv6Chain(b[0] ?? 0, b, off, len),
    w.parseIcmp(b, off, len),
    w.parseIcmp(b, off, len, { verifyChecksum: false }),
    w.parseIcmpQuote4(b, off, len),
    w.parseIcmp6(b, off, len),
    w.parseUdp(b, off, len),
    w.parseTcp(b, off, len),
    w.readPcap(b.subarray(off, off + len)),
    w.readPcapng(b.subarray(off, off + len)),
  ];
  for (const r of results) {
    assert.equal(typeof r.ok, 'boolean');
    if (!r.ok) {
      assert.equal(typeof r.code, 'string');
      assert.ok(r.field.length > 0);
    }
  }
  new w.TcpOptionScan().scan(b, off, off + len, true);
  new w.Ipv6ExtWalker().walk(b, off, b[off] ?? 0, off + len);
  w.countIpv4Options(b, off, off + len);
}

test('random byte strings never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(), fc.nat(), (b, x, y) => {
      const off = b.length ? x % (b.length + 1) : 0;
      parseEverything(b, off, b.length - off);
      parseEverything(b, 0, b.length);
      // Lengths beyond the buffer are a TRUNCATED result, not an exception.
      parseEverything(b, off, y % 200);
    }),
    { seed, numRuns: 2000 },
  );
});

test('truncated and mutated valid headers never throw', () => {
  fc.assert(
    fc.property(ethernet, ipv4, tcp, fc.nat(), u8, (e, ip, t, at, v) => {
      const el = w.ethernetBufferLen(e);
      const il = w.ipv4BufferLen(ip);
      const tl = w.tcpBufferLen(t);
      const frame = new Uint8Array(el + il + tl);
      w.emitEthernet({ ...e, ethertype: w.ETHERTYPE_IP }, frame, 0);
      w.emitIpv4({ ...ip, protocol: 6, payloadLen: tl }, frame, el);
      w.emitTcp(t, frame, el + il);
      for (let cut = 0; cut <= frame.length; cut++) {
        const f = frame.subarray(0, cut);
        parseEverything(f, 0, cut);
        parseEverything(f, Math.min(el, cut), cut - Math.min(el, cut));
        if (cut < frame.length)
          assert.equal(w.parseEthernet(f).ok && w.parseIpv4(f, el).ok && w.parseTcp(f, el + il, tl).ok, false);
      }
      const m = frame.slice();
      m[at % m.length] = v;
      parseEverything(m, 0, m.length);
      parseEverything(m, el, m.length - el);
      parseEverything(m, el + il, m.length - el - il);
    }),
    { seed, numRuns: 150 },
  );
});
