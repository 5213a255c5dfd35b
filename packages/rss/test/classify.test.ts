/**
 * The frame classifier: one packet hashes the same whether it comes bare, under an
 * 802.1Q tag, under QinQ (802.1ad outer + 802.1Q inner) or as raw IP, for IPv4 and IPv6;
 * fragments, extension headers, cut frames and non-IP frames get the type a NIC gives them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameClassifier,
  FRAME_IP,
  FRAME_NOT_IP,
  FRAME_MALFORMED,
  toeplitzForKey,
  M_HASHTYPE_NONE,
  M_HASHTYPE_RSS_IPV4,
  M_HASHTYPE_RSS_TCP_IPV4,
  M_HASHTYPE_RSS_IPV6,
  M_HASHTYPE_RSS_TCP_IPV6,
  M_HASHTYPE_RSS_UDP_IPV4,
  RSS_HASHCONFIG_DEFAULT,
  RSS_HASHTYPE_RSS_UDP_IPV4,
} from '../src/index.js';

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;

const SRC4 = [66, 9, 149, 187];
const DST4 = [161, 142, 100, 80];
const SRC6 = [0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 7];
const DST6 = [0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 1];
const SPORT = 2794;
const DPORT = 1766;

function u16(n: number): number[] {
  return [n >>> 8, n & 0xff];
}
function ports(): number[] {
  return [...u16(SPORT), ...u16(DPORT), 0, 0, 0, 0];
}

function ipv4(proto: number, fragment = false): number[] {
  return [
    0x45,
    0,
    ...u16(28),
    0,
    1,
    ...(fragment ? [0x20, 0] : [0x40, 0]),
    64,
    proto,
    0,
    0,
    ...SRC4,
    ...DST4,
    ...ports(),
  ];
}

/** IPv6 with `ext` extension headers (each 8 bytes, the last naming `proto`) before the ports. */
function ipv6(proto: number, ext: 'none' | 'hopopts' | 'fragment' = 'none'): number[] {
  const extHdr =
    ext === 'hopopts' ? [proto, 0, 1, 4, 0, 0, 0, 0] : ext === 'fragment' ? [proto, 0, 0, 0, 0, 0, 0, 1] : [];
  const next = ext === 'hopopts' ? 0 : ext === 'fragment' ? 44 : proto;
  return [0x60, 0, 0, 0, ...u16(extHdr.length + 8), next, 64, ...SRC6, ...DST6, ...extHdr, ...ports()];
}

const MACS = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
function ether(type: number, ip: number[], tags: number[] = []): Uint8Array {
  const t: number[] = [];
  for (const tpid of tags) t.push(...u16(tpid), 0, 100);
  return Uint8Array.from([...MACS, ...t, ...u16(type), ...ip]);
}

const tz = toeplitzForKey();
const tcp4 = tz.hashIPv4PortsAt(Uint8Array.from([...SRC4, ...DST4, ...ports()]), 0, 8);
const two4 = tz.hashIPv4At(Uint8Array.from([...SRC4, ...DST4]), 0);
const tcp6 = tz.hashIPv6PortsAt(Uint8Array.from([...SRC6, ...DST6, ...ports()]), 0, 32);
const two6 = tz.hashIPv6At(Uint8Array.from([...SRC6, ...DST6]), 0);

function classify(c: FrameClassifier, f: Uint8Array, linkType = LINKTYPE_ETHERNET): [number, number, number] {
  const r = c.classify(f, 0, f.length, linkType);
  return [r, c.hashType, c.hash];
}

/** The packet `ip` bare, under 802.1Q, under QinQ, and raw (LINKTYPE_RAW and its version's link type) classifies as `want`. */
function sameUnderEveryLink(
  c: FrameClassifier,
  ethertype: number,
  ip: number[],
  versionLinkType: number,
  want: number[],
): void {
  assert.deepEqual(classify(c, ether(ethertype, ip)), want, 'bare');
  assert.deepEqual(classify(c, ether(ethertype, ip, [0x8100])), want, '802.1Q');
  assert.deepEqual(classify(c, ether(ethertype, ip, [0x88a8, 0x8100])), want, 'QinQ');
  assert.deepEqual(classify(c, Uint8Array.from(ip), LINKTYPE_RAW), want, 'raw');
  assert.deepEqual(classify(c, Uint8Array.from(ip), versionLinkType), want, `link type ${versionLinkType}`);
}

test('classify: IPv4 TCP bare, 802.1Q, QinQ and raw IP hash alike on the 4-tuple', () => {
  const c = new FrameClassifier();
  sameUnderEveryLink(c, 0x0800, ipv4(6), LINKTYPE_IPV4, [FRAME_IP, M_HASHTYPE_RSS_TCP_IPV4, tcp4]);
  assert.equal(c.portsOff, 20);
  assert.equal(c.addrOff, 12);
  const f = ether(0x0800, ipv4(6), [0x88a8, 0x8100]);
  assert.equal(c.hashFrame(f, 0, f.length), tcp4);
});

test('classify: IPv6 TCP bare, 802.1Q, QinQ, raw IP and behind a hop-by-hop header hash alike on the 4-tuple', () => {
  const c = new FrameClassifier();
  const want = [FRAME_IP, M_HASHTYPE_RSS_TCP_IPV6, tcp6];
  sameUnderEveryLink(c, 0x86dd, ipv6(6), LINKTYPE_IPV6, want);
  sameUnderEveryLink(c, 0x86dd, ipv6(6, 'hopopts'), LINKTYPE_IPV6, want);
  assert.deepEqual(
    classify(c, ether(0x86dd, ipv6(6, 'fragment'))),
    [FRAME_IP, M_HASHTYPE_RSS_IPV6, two6],
    'fragment: 2-tuple',
  );
});

test('classify: fragments, UDP under the default configuration and cut ports hash on the 2-tuple', () => {
  const c = new FrameClassifier();
  assert.deepEqual(classify(c, ether(0x0800, ipv4(6, true), [0x88a8, 0x8100])), [FRAME_IP, M_HASHTYPE_RSS_IPV4, two4]);
  assert.deepEqual(classify(c, ether(0x0800, ipv4(17))), [FRAME_IP, M_HASHTYPE_RSS_IPV4, two4]);
  assert.equal(c.portsOff, -1);
  const f = ether(0x0800, ipv4(6), [0x8100]);
  assert.deepEqual(classify(c, f.subarray(0, 18 + 20 + 3)), [FRAME_IP, M_HASHTYPE_RSS_IPV4, two4], 'ports cut');
  const u = new FrameClassifier({ hashConfig: RSS_HASHCONFIG_DEFAULT | RSS_HASHTYPE_RSS_UDP_IPV4 });
  assert.deepEqual(
    classify(u, ether(0x0800, ipv4(17))),
    [FRAME_IP, M_HASHTYPE_RSS_UDP_IPV4, tcp4],
    'UDP 4-tuple when configured',
  );
});

test('classify: non-IP, the wrong raw version and cut headers get no hash', () => {
  const c = new FrameClassifier();
  const none = (r: number) => [r, M_HASHTYPE_NONE, 0];
  assert.deepEqual(
    classify(c, ether(0x0806, new Array(28).fill(0), [0x88a8, 0x8100])),
    none(FRAME_NOT_IP),
    'ARP under QinQ',
  );
  assert.deepEqual(classify(c, Uint8Array.from(ipv6(6)), LINKTYPE_IPV4), none(FRAME_NOT_IP), 'IPv6 in an IPv4 capture');
  assert.deepEqual(classify(c, Uint8Array.of(0x20, 0, 0, 0), LINKTYPE_RAW), none(FRAME_NOT_IP), 'not IP at all');
  assert.deepEqual(classify(c, new Uint8Array(0), LINKTYPE_RAW), none(FRAME_MALFORMED), 'empty');
  assert.deepEqual(classify(c, new Uint8Array(13)), none(FRAME_MALFORMED), 'short Ethernet');
  const f = ether(0x0800, ipv4(6), [0x88a8, 0x8100]);
  for (let len = 0; len < 22 + 20; len++) assert.equal(classify(c, f.subarray(0, len))[2], 0, `cut at ${len}`);
  assert.deepEqual(classify(c, ether(0x86dd, ipv6(6)).subarray(0, 14 + 39)), none(FRAME_MALFORMED), 'IPv6 header cut');
});
