import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IPPROTO_TCP, IPPROTO_UDP } from '@mcstack/wire';
import {
  rssHashType,
  hashTypeName,
  hashTypeHasPorts,
  RSS_HASHCONFIG_DEFAULT,
  M_HASHTYPE_RSS_IPV4,
  M_HASHTYPE_RSS_TCP_IPV4,
  M_HASHTYPE_RSS_IPV6,
  M_HASHTYPE_RSS_TCP_IPV6,
  M_HASHTYPE_RSS_UDP_IPV4,
  M_HASHTYPE_RSS_UDP_IPV6,
  M_HASHTYPE_NONE,
  RSS_HASHTYPE_RSS_UDP_IPV4,
  RSS_HASHTYPE_RSS_UDP_IPV6,
  RSS_HASHTYPE_RSS_TCP_IPV4,
} from '../src/index.js';

test('FreeBSD numeric values (sys/sys/mbuf.h, HASHPROP 0x80)', () => {
  assert.deepEqual(
    [
      M_HASHTYPE_RSS_IPV4,
      M_HASHTYPE_RSS_TCP_IPV4,
      M_HASHTYPE_RSS_IPV6,
      M_HASHTYPE_RSS_TCP_IPV6,
      M_HASHTYPE_RSS_UDP_IPV4,
      M_HASHTYPE_RSS_UDP_IPV6,
    ],
    [0x81, 0x82, 0x83, 0x84, 0x87, 0x89],
  );
  assert.equal(RSS_HASHCONFIG_DEFAULT, 0x7e);
});

test('default policy: 4-tuple for TCP over IPv4/IPv6, 2-tuple otherwise', () => {
  assert.equal(rssHashType(4, IPPROTO_TCP), M_HASHTYPE_RSS_TCP_IPV4);
  assert.equal(rssHashType(6, IPPROTO_TCP), M_HASHTYPE_RSS_TCP_IPV6);
  for (const p of [IPPROTO_UDP, 1, 58, 132]) {
    assert.equal(rssHashType(4, p), M_HASHTYPE_RSS_IPV4);
    assert.equal(rssHashType(6, p), M_HASHTYPE_RSS_IPV6);
  }
});

test('UDP 4-tuple when configured; NONE when nothing applies', () => {
  const cfg = RSS_HASHCONFIG_DEFAULT | RSS_HASHTYPE_RSS_UDP_IPV4 | RSS_HASHTYPE_RSS_UDP_IPV6;
  assert.equal(rssHashType(4, IPPROTO_UDP, cfg), M_HASHTYPE_RSS_UDP_IPV4);
  assert.equal(rssHashType(6, IPPROTO_UDP, cfg), M_HASHTYPE_RSS_UDP_IPV6);
  assert.equal(rssHashType(4, IPPROTO_UDP, RSS_HASHTYPE_RSS_TCP_IPV4), M_HASHTYPE_NONE);
});

test('names and port coverage', () => {
  assert.equal(hashTypeName(M_HASHTYPE_RSS_TCP_IPV6), 'RSS_TCP_IPV6');
  assert.equal(hashTypeName(0x42), 'UNKNOWN(66)');
  assert.ok(hashTypeHasPorts(M_HASHTYPE_RSS_TCP_IPV4));
  assert.ok(!hashTypeHasPorts(M_HASHTYPE_RSS_IPV6));
});
