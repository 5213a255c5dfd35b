// The RFC 2385 frames: the kind-19 option equals the digest, and tcpMd5Digest
// recomputes it per the json's digest_input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readPcap, isRawIpLinkType, parseTcp, tcpMd5Digest, tcpMd5Verify, TCP_HDR_LEN } from '../src/index.js';
import { fixture, fixtureJson, hex, toHex } from './fixtures.js';

interface Md5Vectors {
  vectors: {
    name: string;
    key_ascii: string;
    payload_hex: string;
    md5_digest_hex: string;
    packet_hex: string;
    md5_input_pseudo_header_hex: string;
    md5_input_tcp_header_no_options_cksum0_hex: string;
  }[];
}
const json = fixtureJson<Md5Vectors>('tcp-md5/tcp-md5-derived.json');

test('TCP-MD5 frames: option kind 19 carries the json digest, and the digest recomputes', () => {
  const file = readPcap(fixture('tcp-md5/tcp-md5-derived.pcap'));
  assert.ok(file.ok);
  assert.ok(isRawIpLinkType(file.value.linkType));
  assert.equal(file.value.packets.length, json.vectors.length);
  file.value.packets.forEach((pk, i) => {
    const v = json.vectors[i]!;
    assert.equal(toHex(pk.data), v.packet_hex, v.name);
    const v4 = pk.data[0]! >>> 4 === 4;
    const ipLen = v4 ? (pk.data[0]! & 0x0f) * 4 : 40;
    const tcpLen = pk.data.length - ipLen;
    const tcp = parseTcp(pk.data, ipLen, tcpLen);
    assert.ok(tcp.ok, v.name);
    assert.ok(tcp.value.options.md5, v.name);
    assert.equal(toHex(tcp.value.options.md5), v.md5_digest_hex, v.name);
    assert.ok(tcp.value.options.order!.includes(19));
    const key = new TextEncoder().encode(v.key_ascii);
    // The digest input spelled out by the json, hashed independently.
    const ref = createHash('md5')
      .update(hex(v.md5_input_pseudo_header_hex))
      .update(hex(v.md5_input_tcp_header_no_options_cksum0_hex))
      .update(hex(v.payload_hex))
      .update(key)
      .digest('hex');
    assert.equal(ref, v.md5_digest_hex, `${v.name}: json digest_input`);
    assert.equal(toHex(tcpMd5Digest(pk.data, 0, ipLen, tcpLen, key)), v.md5_digest_hex, v.name);
    assert.ok(tcpMd5Verify(pk.data, 0, ipLen, tcpLen, key), v.name);
    assert.equal(tcpMd5Verify(pk.data, 0, ipLen, tcpLen, new TextEncoder().encode('wrong')), false);
    // Header bytes other than the checksum and options are covered.
    const b = pk.data.slice();
    b[ipLen + TCP_HDR_LEN - 6]! ^= 1; // window
    assert.equal(tcpMd5Verify(b, 0, ipLen, tcpLen, key), false);
  });
});
