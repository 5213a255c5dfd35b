/**
 * pcap replay: a capture of what one engine sent (ARP, UDP to a closed port, a TCP SYN
 * to a closed port), plus a corrupted copy, a runt, a record cut by the snapshot length
 * and (pcapng) a raw-IP interface's record, replayed into a fresh engine: every record
 * is fed or accounted for, and what the engine dropped shows under FreeBSD's counter names.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '@mcstack/netinet';
import {
  writePcap,
  writePcapng,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  type CapturedPacket,
  type PcapngPacket,
} from '@mcstack/wire';
import { replayCapture, readCapture } from '../src/links/pcapreplay.js';
import { RealtimeLoop } from '../src/links/realtime.js';
import type { FrameLink } from '../src/links/udptunnel.js';

const MAC_A = Uint8Array.of(2, 0, 0, 0x80, 0, 1);
const MAC_B = Uint8Array.of(2, 0, 0, 0x80, 0, 2);

function host(seed: number, mac: Uint8Array, addr: string): Engine {
  const e = new Engine({ seed });
  const ifp = e.ifattach({ name: 'em0', type: 'ether', lladdr: mac, mtu: 1500 });
  e.addAddr(ifp, `${addr}/24`);
  e.setUp(ifp);
  return e;
}

/** A's frames to B, captured 1 ms apart (B answers so that ARP resolves). */
function captureAtoB(): CapturedPacket[] {
  const a = host(1, MAC_A, '10.80.0.1');
  const b = host(2, MAC_B, '10.80.0.2');
  const ab: Uint8Array[] = [];
  const ba: Uint8Array[] = [];
  a.output = (_i, f) => {
    ab.push(f.slice());
  };
  b.output = (_i, f) => {
    ba.push(f.slice());
  };
  const captured: CapturedPacket[] = [];
  let t = 1_000_000;
  const run = () => {
    while (ab.length || ba.length) {
      for (const f of ab.splice(0)) {
        t += 1000;
        captured.push({ tsSec: Math.floor(t / 1e6), tsNsec: (t % 1e6) * 1000, origLen: f.length, data: f });
        b.input('em0', f, t);
      }
      for (const f of ba.splice(0)) a.input('em0', f, t);
    }
  };
  const u = a.socket('inet', 'dgram');
  for (let i = 0; i < 3; i++) {
    assert.ok(a.sendto(u, new Uint8Array(100 + i), { addr: '10.80.0.2', port: 9 }) >= 0);
    run();
  }
  const s = a.socket('inet', 'stream');
  a.connect(s, { addr: '10.80.0.2', port: 80 });
  run();
  return captured;
}

const usOf = (p: CapturedPacket) => p.tsSec * 1e6 + p.tsNsec / 1000;

function withOddities(base: CapturedPacket[]): CapturedPacket[] {
  const udp = base.find((p) => p.data[12] === 0x08 && p.data[13] === 0x00 && p.data[23] === 17)!;
  const bad = udp.data.slice();
  bad[22] = bad[22]! ^ 0xff; // IP TTL: the header checksum no longer matches
  const last = base[base.length - 1]!;
  const at = (k: number) => {
    const us = usOf(last) + k * 1000;
    return { tsSec: Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000 };
  };
  return [
    ...base,
    { ...at(1), origLen: bad.length, data: bad },
    { ...at(2), origLen: 10, data: udp.data.slice(0, 10) }, // a runt
    { ...at(3), origLen: udp.data.length, data: udp.data.slice(0, 40) }, // cut by snaplen
  ];
}

describe('pcap replay', () => {
  const base = captureAtoB();
  const packets = withOddities(base);

  it('the capture holds ARP, UDP and TCP from the engine', () => {
    const types = base.map((p) => (p.data[12]! << 8) | p.data[13]!);
    assert.ok(types.includes(0x0806), 'ARP');
    assert.equal(base.filter((p) => p.data[23] === 17).length, 3, 'UDP datagrams');
    assert.ok(
      base.some((p) => p.data[23] === 6),
      'TCP',
    );
  });

  it('pcap, as fast as possible: every record fed or accounted for, drops by name', async () => {
    const cap = writePcap({ linkType: LINKTYPE_ETHERNET, nanosecond: true }, packets);
    const c = host(3, MAC_B, '10.80.0.2');
    let replies = 0;
    c.output = () => {
      replies++;
    };
    const r = await replayCapture(c, 'em0', cap);
    assert.equal(r.records, packets.length);
    assert.equal(r.truncated, 1);
    assert.equal(r.wrongLinkType, 0);
    assert.equal(r.frames, packets.length - 1);
    assert.equal(r.drops.udps_noport, 3, JSON.stringify(r.drops));
    assert.equal(r.drops.ips_badsum, 1, JSON.stringify(r.drops));
    assert.equal(r.drops.ifi_ierrors, 1, JSON.stringify(r.drops));
    assert.equal(
      r.dropped,
      Object.values(r.drops).reduce((x, y) => x + y, 0),
    );
    assert.equal(r.spanUs, usOf(packets[packets.length - 1]!) - usOf(packets[0]!));
    // C answered: the ARP request, an ICMP port unreachable per datagram, an RST to the SYN.
    assert.ok(replies >= 1 + 3 + 1, `replies ${replies}`);
  });

  it('pcapng at the recorded pace through a real-time loop, raw-IP records skipped on an Ethernet interface', async () => {
    const ng: PcapngPacket[] = packets.map((p) => ({ ...p, interfaceId: 0 }));
    ng.splice(2, 0, {
      ...packets[2]!,
      data: packets[2]!.data.subarray(14),
      origLen: packets[2]!.origLen - 14,
      interfaceId: 1,
    });
    const cap = writePcapng(
      {
        interfaces: [
          { linkType: LINKTYPE_ETHERNET, snapLen: 65535, tsresol: 6 },
          { linkType: LINKTYPE_RAW, snapLen: 65535, tsresol: 6 },
        ],
      },
      ng,
    );
    assert.equal(readCapture(cap).packets.length, ng.length);
    const c = host(4, MAC_B, '10.80.0.2');
    const loop = new RealtimeLoop(c);
    const sent: number[] = [];
    const sink: FrameLink = {
      name: 'sink',
      onframe: null,
      transmit: (f) => {
        sent.push(f.length);
        return true;
      },
      close: async () => {},
    };
    loop.attach('em0', sink);
    loop.start();
    try {
      const r = await replayCapture(c, 'em0', cap, { pace: 'recorded', speed: 4, loop });
      assert.equal(r.records, ng.length);
      assert.equal(r.wrongLinkType, 1);
      assert.equal(r.truncated, 1);
      assert.equal(r.frames, packets.length - 1);
      assert.equal(r.drops.udps_noport, 3);
      assert.equal(r.drops.ips_badsum, 1);
      assert.ok(sent.length >= 5, `the loop carried C's replies out (${sent.length})`);
    } finally {
      await loop.close();
    }
  });

  it('a malformed capture is EINVAL naming the field; an unknown interface is ENXIO', async () => {
    const c = host(5, MAC_B, '10.80.0.2');
    await assert.rejects(replayCapture(c, 'em0', new Uint8Array(10)), { code: 'EINVAL' });
    const cap = writePcap({ linkType: LINKTYPE_ETHERNET }, base);
    await assert.rejects(
      replayCapture(c, 'em0', cap.subarray(0, cap.length - 3)),
      (e: Error & { code: string }) => e.code === 'EINVAL' && /pcap\.record/.test(e.message),
    );
    await assert.rejects(replayCapture(c, 'em9', cap), { code: 'ENXIO' });
  });
});
