// Hand-checked cases: FreeBSD's option layouts, the VLAN tag, ICMP quotes and
// the error codes the engine counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as w from '../src/index.js';
import { hex, toHex } from './fixtures.js';

test('FreeBSD tcp_addoptions layouts', () => {
  const syn = (o: w.TcpOptions) => {
    const b = new Uint8Array(w.tcpOptionsLen(o));
    w.emitTcpOptions(o, b, 0);
    return toHex(b);
  };
  // SYN: mss, nop, wscale, sackOK, TS (20 bytes)
  assert.equal(
    syn({ mss: 1460, wscale: 6, sackPermitted: true, timestamp: { val: 1, ecr: 0 } }),
    '020405b4' + '01' + '030306' + '0402' + '080a0000000100000000',
  );
  // Established with TS: nop, nop, TS
  assert.equal(syn({ timestamp: { val: 2, ecr: 3 } }), '0101080a0000000200000003');
  // TS + 3 SACK blocks (FreeBSD fits (40 - 16) / 8 = 3)
  assert.equal(
    syn({
      timestamp: { val: 2, ecr: 3 },
      sack: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    }),
    '0101080a0000000200000003' + '0101051a' + '0000000100000002' + '0000000300000004' + '0000000500000006',
  );
  // MD5 SYN as in the RFC 2385 fixture: mss, nop, nop, signature
  assert.equal(syn({ mss: 1460, md5: new Uint8Array(16) }), `020405b401011312${'00'.repeat(16)}`);
  // mss alone; wscale alone pads to 4 with EOL
  assert.equal(syn({ mss: 536 }), '02040218');
  assert.equal(syn({ wscale: 0 }), '01030300');
  assert.equal(syn({}), '');
});

test('tcp option errors name the option', () => {
  const seg = (opts: string) => {
    const o = hex(opts);
    const b = new Uint8Array(20 + o.length);
    b[12] = ((20 + o.length) >>> 2) << 4;
    b.set(o, 20);
    return w.parseTcp(b);
  };
  assert.deepEqual(seg('02030000'), { ok: false, code: 'BAD_OPTION', field: 'tcp.option.mss' });
  assert.deepEqual(seg('02080000'), { ok: false, code: 'BAD_OPTION', field: 'tcp.option.length' });
  assert.deepEqual(seg('050900000000000000000000'), { ok: false, code: 'BAD_OPTION', field: 'tcp.option.sack' });
  assert.deepEqual(seg('080800000000000000000000'), { ok: false, code: 'BAD_OPTION', field: 'tcp.option.timestamp' });
  assert.deepEqual(seg('13040000'), { ok: false, code: 'BAD_OPTION', field: 'tcp.option.md5' });
  // Unknown kinds skipped by length and kept.
  const ok = seg('fe040102');
  assert.ok(ok.ok);
  assert.deepEqual(ok.value.options.unknown, [{ kind: 0xfe, data: Uint8Array.of(1, 2) }]);
  assert.deepEqual(w.parseTcp(new Uint8Array(19)), { ok: false, code: 'TRUNCATED', field: 'tcp.header' });
  const small = new Uint8Array(20);
  small[12] = 0x40;
  assert.deepEqual(w.parseTcp(small), { ok: false, code: 'BAD_HEADER_LEN', field: 'tcp.data_offset' });
});

test('TcpOptionScan follows tcp_dooptions: bad lengths ignored, MSS only on SYN, wscale clamped', () => {
  const s = new w.TcpOptionScan();
  const b = hex('020405b4' + '03030f' + '0203ffff' + '00');
  assert.equal(s.scan(b, 0, b.length, true), w.TOF_MSS | w.TOF_SCALE);
  assert.equal(s.mss, 1460);
  assert.equal(s.wscale, 14);
  assert.equal(s.scan(b, 0, b.length, false), 0);
  const bad = hex('0401' + '080a');
  assert.equal(s.scan(bad, 0, bad.length, true), 0);
});

test('802.1Q tag', () => {
  const f = hex('ffffffffffff' + '020000000001' + '8100' + 'a00a' + '0800' + '45');
  const v = new w.EthernetView().reset(f);
  assert.ok(v.tagged);
  assert.equal(v.ethertype, 0x0800);
  assert.equal(v.vid, 10);
  assert.equal(v.pcp, 5);
  assert.equal(v.headerLen, 18);
  assert.ok(v.isMulticast);
  const r = w.parseEthernet(f);
  assert.ok(r.ok);
  assert.deepEqual(r.value.vlan, { pcp: 5, dei: false, vid: 10 });
  assert.deepEqual(w.parseEthernet(f.subarray(0, 16)), { ok: false, code: 'TRUNCATED', field: 'ether.vlan' });
});

test('IPv4 errors the engine counts', () => {
  const h = hex('45000073000040004011b861c0a80001c0a800c7');
  const full = new Uint8Array(0x73);
  full.set(h);
  assert.ok(w.parseIpv4(full).ok);
  assert.deepEqual(w.parseIpv4(h), { ok: false, code: 'TRUNCATED', field: 'ipv4.payload' });
  const bad = full.slice();
  bad[10] = bad[10]! ^ 1;
  assert.deepEqual(w.parseIpv4(bad), { ok: false, code: 'BAD_CHECKSUM', field: 'ipv4.checksum' });
  assert.ok(w.parseIpv4(bad, 0, bad.length, { verifyChecksum: false }).ok);
  const v6 = full.slice();
  v6[0] = 0x65;
  assert.equal((w.parseIpv4(v6) as w.ParseError).code, 'BAD_VERSION');
  const ihl = full.slice();
  ihl[0] = 0x44;
  assert.deepEqual(w.parseIpv4(ihl), { ok: false, code: 'BAD_HEADER_LEN', field: 'ipv4.ihl' });
  const view = new w.Ipv4View().reset(full);
  assert.equal(view.dontFrag, true);
  assert.equal(view.isFragment, false);
  assert.equal(view.src, 0xc0a80001);
  assert.equal(w.formatIPv4(full, view.dstOffset), '192.168.0.199');
});

test('ICMP fragmentation needed: next-hop MTU and the quoted TCP header', () => {
  // The quoted datagram: the first MD5 fixture segment's IP header and 8 bytes of TCP.
  const orig = hex('45000040123440004006a5d9c0000201c0a800019c401f900102030400000000b002ffff361e0000');
  const quote = orig.subarray(0, 28);
  const msg: w.IcmpRepr = {
    kind: 'destUnreachable',
    code: w.ICMP_UNREACH_NEEDFRAG,
    nextHopMtu: 1280,
    data: quote.slice(),
  };
  const b = new Uint8Array(w.icmpBufferLen(msg));
  w.emitIcmp(msg, b, 0);
  const v = new w.IcmpView().reset(b);
  assert.equal(v.type, 3);
  assert.equal(v.nextHopMtu, 1280);
  assert.ok(v.verifyChecksum(b.length));
  const r = w.parseIcmp(b);
  assert.ok(r.ok && r.value.kind === 'destUnreachable');
  assert.equal(r.value.nextHopMtu, 1280);
  const q = w.parseIcmpQuote4(r.value.data);
  assert.ok(q.ok);
  assert.equal(q.value.ip.protocol, 6);
  assert.equal(q.value.ip.payloadLen, 44);
  assert.equal(q.value.l4Offset, 20);
  assert.equal(q.value.l4Len, 8);
  const t = new w.TcpView().reset(r.value.data, q.value.l4Offset);
  assert.equal(t.srcPort, 40000);
  assert.equal(t.seq, 0x01020304);
  assert.deepEqual(w.parseIcmpQuote4(quote.subarray(0, 24)), {
    ok: false,
    code: 'TRUNCATED',
    field: 'icmp.quote.payload',
  });
  b[9] = b[9]! ^ 0xff;
  assert.deepEqual(w.parseIcmp(b), { ok: false, code: 'BAD_CHECKSUM', field: 'icmp.checksum' });
});

test('ICMPv6 neighbor solicitation with source link-layer address (RFC 4861 §4.3)', () => {
  const target = w.parseIPv6('fe80::1')!;
  const ns: w.Icmp6Repr = { kind: 'neighborSolicit', target, sourceLinkAddr: hex('020000000002') };
  const src = w.parseIPv6('fe80::2')!;
  const dst = w.parseIPv6('ff02::1:ff00:1')!;
  const n = w.icmp6BufferLen(ns);
  assert.equal(n, 32);
  const pkt = new Uint8Array(40 + n);
  w.emitIpv6({ src, dst, nextHeader: 58, hopLimit: 255, trafficClass: 0, flowLabel: 0, payloadLen: n }, pkt, 0);
  w.emitIcmp6(ns, pkt, 40, w.pseudoHeaderSum6(pkt, 8, 24, 58, n));
  assert.ok(w.verifyIcmp6Checksum(pkt, 0, 40, n));
  assert.equal(toHex(pkt.subarray(40 + 24)), '0101020000000002');
  const r = w.parseIcmp6(pkt, 40, n);
  assert.ok(r.ok);
  assert.deepEqual(r.value, ns);
  // A zero-length option is invalid (RFC 4861 §4.6).
  pkt[40 + 25] = 0;
  assert.deepEqual(w.parseIcmp6(pkt, 40, n), { ok: false, code: 'BAD_OPTION', field: 'icmp6.nd.option' });
});

test('IPv6 walker stops at a non-first fragment and reports errors', () => {
  // hop-by-hop (PadN) -> fragment (offset 8, M) -> TCP
  const b = hex('2c00010400000000' + '06000009deadbeef');
  const wk = new w.Ipv6ExtWalker();
  assert.ok(wk.walk(b, 0, w.IPPROTO_HOPOPTS, b.length));
  assert.equal(wk.protocol, 6);
  assert.equal(wk.offset, 16);
  assert.ok(wk.hasFragment && wk.moreFrags);
  assert.equal(wk.fragOffset, 8);
  assert.equal(wk.fragIdent, 0xdeadbeef);
  assert.equal(wk.walk(b, 0, w.IPPROTO_HOPOPTS, 12), false);
  assert.equal(wk.errorCode, 'TRUNCATED');
  assert.equal(wk.errorField, 'ipv6.fragment');
  // hop-by-hop after another header is refused (RFC 8200 §4.1)
  const hh = hex('0000010400000000' + '3b00010400000000');
  assert.equal(wk.walk(hh, 0, w.IPPROTO_DSTOPTS, hh.length), false);
  assert.equal(wk.errorField, 'ipv6.hopopts.position');
});

test('emitters refuse impossible input with MCSTACK_WIRE_EMIT', () => {
  const tcp: w.TcpRepr = {
    srcPort: 1,
    dstPort: 2,
    seq: 0,
    ack: 0,
    flags: 2,
    window: 0,
    urgentPtr: 0,
    options: {
      md5: new Uint8Array(16),
      timestamp: { val: 0, ecr: 0 },
      sack: [
        [1, 2],
        [3, 4],
      ],
    },
  };
  assert.throws(() => w.emitTcp(tcp, new Uint8Array(80), 0), { code: 'MCSTACK_WIRE_EMIT' });
  assert.throws(
    () =>
      w.emitIpv4(
        {
          src: 0,
          dst: 0,
          protocol: 6,
          ttl: 1,
          tos: 0,
          ident: 0,
          dontFrag: false,
          moreFrags: false,
          fragOffset: 0,
          payloadLen: 0,
        },
        new Uint8Array(10),
        0,
      ),
    w.WireEmitError,
  );
});
