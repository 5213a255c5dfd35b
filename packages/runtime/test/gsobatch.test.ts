/**
 * GsoBatch (links/gsobatch.ts): MSS segments joined into one GSO frame come back as the
 * same segments when cut (links/tsocut.ts does what the kernel's tcp_gso_segment does).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SeededRandom,
  newFrameMeta,
  CSUM_TCP,
  CSUM_TCP_IPV6,
  CSUM_IP_TSO,
  CSUM_IP6_TSO,
  IFCAP_TSO4,
  IFCAP_TSO6,
} from '@mcstack/netinet';
import { tcpSegCut, GsoBatch } from '@mcstack/runtime';
import { buildFrame } from './frames.js';

const SEED = 1208;

/** An ACK segment (optionally PSH) with `payload` seeded bytes at sequence `seq`. */
function segment(v6: boolean, seq: number, payload: number, flags = 0x10, seed = SEED): Uint8Array {
  const f = buildFrame(
    v6
      ? { src: 'fd00::1', dst: 'fd00::2', sport: 40000, dport: 9, payload }
      : { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 9, payload },
  ).slice();
  const l4 = 14 + (v6 ? 40 : 20);
  new SeededRandom(seed + seq).fill(f.subarray(l4 + 20));
  new DataView(f.buffer).setUint32(l4 + 4, seq);
  f[l4 + 13] = flags;
  f[l4 + 14] = 0x10;
  return f;
}

for (const v6 of [false, true]) {
  const af = v6 ? 'IPv6' : 'IPv4';
  const l4 = 14 + (v6 ? 40 : 20);
  const meta = newFrameMeta();
  meta.csumFlags = v6 ? CSUM_TCP_IPV6 : CSUM_TCP;
  const caps = IFCAP_TSO4 | IFCAP_TSO6;

  test(`GsoBatch (${af}): 3 full segments and a short PSH one make one GSO frame that cuts back into them`, () => {
    const segs = [
      segment(v6, 1000, 1448),
      segment(v6, 2448, 1448),
      segment(v6, 3896, 1448),
      segment(v6, 5344, 500, 0x18),
    ];
    const b = new GsoBatch(new Uint8Array(70000));
    assert.ok(b.start(segs[0]!, segs[0]!.length, meta, caps));
    for (const s of segs.slice(1)) assert.ok(b.append(s, s.length));
    assert.ok(b.closed, 'a short PSH segment ends the batch');
    assert.equal(b.segs, 4);
    const buf = (b as unknown as { buf: Uint8Array }).buf;
    const len = b.finish();
    assert.equal(len, l4 + 20 + 3 * 1448 + 500);
    assert.equal(b.meta.tsoSegsz, 1448);
    assert.ok((b.meta.csumFlags & (v6 ? CSUM_IP6_TSO : CSUM_IP_TSO)) !== 0);
    const back: Uint8Array[] = [];
    tcpSegCut(buf, len, b.meta.tsoSegsz, new Uint8Array(2048), (s, n) => back.push(s.slice(0, n)), false);
    assert.equal(back.length, 4);
    back.forEach((s, i) => {
      const want = segs[i]!;
      assert.equal(s.length, want.length, `segment ${i} length`);
      // Equal but for what segmentation rewrites: the IPv4 ID and header checksum.
      const skip = v6 ? [] : [18, 19, 24, 25];
      for (let k = 0; k < s.length; k++) if (!skip.includes(k)) assert.equal(s[k], want[k], `segment ${i} byte ${k}`);
    });
  });

  test(`GsoBatch (${af}): what cannot join is refused — a gap, other ports, SYN, a larger segment, TSO off`, () => {
    const b = new GsoBatch(new Uint8Array(70000));
    const first = segment(v6, 1000, 1000);
    assert.equal(b.start(first, first.length, meta, 0), false, 'TSO disabled');
    assert.equal(b.start(segment(v6, 1000, 1000, 0x12), first.length, meta, caps), false, 'SYN|ACK');
    assert.equal(b.start(first, first.length, newFrameMeta(), caps), false, 'checksum already done');
    assert.ok(b.start(first, first.length, meta, caps));
    const gap = segment(v6, 2100, 1000);
    assert.equal(b.append(gap, gap.length), false, 'sequence gap');
    const big = segment(v6, 2000, 1001);
    assert.equal(b.append(big, big.length), false, 'larger than the first');
    const port = segment(v6, 2000, 1000);
    port[l4 + 2] = 0x01;
    assert.equal(b.append(port, port.length), false, 'another connection');
    assert.equal(b.segs, 1);
    assert.equal(b.finish(), first.length);
    assert.equal(b.meta.tsoSegsz, 0, 'one segment goes as it is');
  });
}
