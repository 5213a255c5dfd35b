/**
 * TSO, LRO and checksum offload between two engines on the simulated wire: TSO's
 * pieces are byte for byte the segments TSO off sends, LRO gives the same bytes and
 * acknowledges only what arrived, both under seeded loss and reordering, and
 * `ifconfig -tso` / `-lro` take effect mid-transfer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBulk, type BulkOptions } from '../src/sim/bulk.js';
import type { FaultConfig } from '../src/sim/wire.js';
import { IFCAP_TSO, IFCAP_LRO } from '../src/net/if.js';
import { newTsoFrame, tcpTsoParse, tcpTsoSegment } from '../src/tcp/tso.js';
import { verifyL4Checksum4, internetChecksum } from '@mcstack/wire';
import { LroCtrl } from '../src/tcp/lro.js';
import { newFrameMeta, CSUM_DATA_VALID, CSUM_PSEUDO_HDR } from '../src/net/mbuf.js';
import { finishChecksums } from '../src/net/hwcsum.js';

const FAULTS: [string, FaultConfig][] = [
  ['clean', { delayUs: 50 }],
  ['loss 2%', { delayUs: 50, loss: 0.02 }],
  ['reorder 5%', { delayUs: 50, reorder: 0.05, reorderDelayUs: 300 }],
];

function run(o: Partial<BulkOptions> & { seed: number }, capture?: (fromClient: boolean, f: Uint8Array) => void) {
  const r = runBulk({
    bytes: 600_000,
    csumOffload: true,
    timeLimitUs: 120e6,
    ...o,
    tap: capture ? (c, f) => capture(c, f) : o.tap,
  });
  assert.ok(r.ok, `seed ${o.seed}: ${r.reason}`);
  return r;
}

for (const family of ['inet', 'inet6'] as const) {
  for (const [name, faults] of FAULTS) {
    test(`TSO ${family} ${name}: the cut pieces are exactly what TSO off sends`, () => {
      const seed = 11;
      const wires: Buffer[][] = [];
      const results = [false, true].map((tso) => {
        const frames: Buffer[] = [];
        wires.push(frames);
        return run({ seed, family, faults, tso }, (c, f) => {
          if (c) frames.push(Buffer.from(f));
        });
      });
      const [off, on] = wires as [Buffer[], Buffer[]];
      assert.equal(results[0]!.offload.tsoWrs, 0);
      assert.ok(results[1]!.offload.tsoWrs > 10, `seed ${seed}: TSO used ${results[1]!.offload.tsoWrs} times`);
      // Fewer segments leave tcp_output with TSO (one per burst), the same frames the wire.
      assert.ok(results[1]!.tcpstat.client.tcps_sndpack < results[0]!.tcpstat.client.tcps_sndpack);
      assert.equal(on.length, off.length, `seed ${seed}: frame count`);
      for (let i = 0; i < off.length; i++) assert.ok(on[i]!.equals(off[i]!), `seed ${seed}: frame ${i} differs`);
    });
  }
}

test('tcp_tso cutter: lengths, ids, sequence numbers, flags and checksums of each piece', () => {
  const pay = 2500;
  const f = new Uint8Array(14 + 20 + 32 + pay);
  f[12] = 0x08;
  const ip = 14;
  f[ip] = 0x45;
  f[ip + 2] = (20 + 32 + pay) >>> 8;
  f[ip + 3] = (20 + 32 + pay) & 0xff;
  f[ip + 4] = 0x12; // id 0x1234, no DF: ids advance per piece
  f[ip + 5] = 0x34;
  f[ip + 8] = 64;
  f[ip + 9] = 6;
  f.set([10, 0, 0, 1, 10, 0, 0, 2], ip + 12);
  const th = ip + 20;
  f.set([0x13, 0x89, 0x00, 0x50, 0xff, 0xff, 0xfc, 0x00], th); // seq wraps inside the burst
  f[th + 12] = 8 << 4;
  f[th + 13] = 0x80 | 0x10 | 0x08 | 0x01; // CWR ACK PSH FIN
  f.set([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9], th + 20);
  for (let i = 0; i < pay; i++) f[th + 32 + i] = (i * 7) & 0xff;
  const t = newTsoFrame();
  assert.equal(tcpTsoParse(f, f.length, 14, 1000, t), 3);
  const dst = new Uint8Array(2048);
  const flags: number[] = [];
  let data = 0;
  for (let i = 0; i < 3; i++) {
    const n = tcpTsoSegment(f, t, i, dst, true);
    const plen = Math.min(1000, pay - i * 1000);
    assert.equal(n, 14 + 20 + 32 + plen);
    assert.equal((dst[ip + 2]! << 8) | dst[ip + 3]!, 20 + 32 + plen);
    assert.equal((dst[ip + 4]! << 8) | dst[ip + 5]!, 0x1234 + i);
    assert.equal(internetChecksum(dst, ip, 20), 0, `piece ${i}: IP header checksum`);
    assert.ok(verifyL4Checksum4(dst, ip, th, 32 + plen, 6), `piece ${i}: TCP checksum`);
    const seq = ((dst[th + 4]! << 24) | (dst[th + 5]! << 16) | (dst[th + 6]! << 8) | dst[th + 7]!) >>> 0;
    assert.equal(seq, (0xfffffc00 + i * 1000) >>> 0);
    assert.deepEqual([...dst.subarray(th + 20, th + 32)], [...f.subarray(th + 20, th + 32)], 'options carried');
    for (let k = 0; k < plen; k++) assert.equal(dst[th + 32 + k], f[th + 32 + i * 1000 + k]);
    flags.push(dst[th + 13]!);
    data += plen;
  }
  assert.equal(data, pay);
  assert.deepEqual(flags, [0x80 | 0x10, 0x10, 0x10 | 0x08 | 0x01], 'CWR on the first, PSH and FIN on the last');
  // Not a TCP segment, or IP options: nothing to cut.
  const g = f.slice();
  g[ip + 9] = 17;
  assert.equal(tcpTsoParse(g, g.length, 14, 1000, t), 0);
  g[ip + 9] = 6;
  g[ip] = 0x46;
  assert.equal(tcpTsoParse(g, g.length, 14, 1000, t), 0);
});

for (const family of ['inet', 'inet6'] as const) {
  for (const [name, faults] of FAULTS) {
    test(`LRO ${family} ${name}: same bytes, ACKs only at segment ends the sender sent`, () => {
      for (const seed of [3, 4]) {
        const ends = new Set<number>();
        const acks: number[] = [];
        const seen = (c: boolean, f: Uint8Array) => {
          const tcp = family === 'inet' ? f[12] === 0x08 && f[23] === 6 : f[12] === 0x86 && f[20] === 6;
          if (!tcp) return; // ARP, neighbour discovery
          const th = 14 + (family === 'inet' ? 20 : 40);
          const hl = (f[th + 12]! >>> 4) << 2;
          const seq = ((f[th + 4]! << 24) | (f[th + 5]! << 16) | (f[th + 6]! << 8) | f[th + 7]!) >>> 0;
          const ack = ((f[th + 8]! << 24) | (f[th + 9]! << 16) | (f[th + 10]! << 8) | f[th + 11]!) >>> 0;
          const plen = f.length - th - hl;
          const syn = f[th + 13]! & 0x02 ? 1 : 0;
          const fin = f[th + 13]! & 0x01 ? 1 : 0;
          if (c) ends.add((seq + plen + syn + fin) >>> 0);
          else acks.push(ack);
        };
        const plain = run({ seed, family, faults, lro: false });
        const lro = run({ seed, family, faults, lro: true }, seen);
        assert.equal(lro.receivedHash, plain.receivedHash, `seed ${seed}: bytes`);
        const s = lro.offload.lro;
        assert.ok(s.lro_queued > s.lro_flushed && s.lro_flushed > 0, `seed ${seed}: ${JSON.stringify(s)}`);
        assert.equal(plain.offload.lro.lro_queued, 0);
        // Merging never acknowledges part of a segment, nor what did not arrive.
        for (const a of acks) assert.ok(a === 0 || ends.has(a), `seed ${seed}: ACK ${a} is no segment end`);
        // Nor does it stretch them: the sender hears of every second segment as it would
        // unmerged (RFC 5681 §4.2), so its ACK clock and slow start do not change.
        const n = lro.tcpstat.server.tcps_sndacks;
        const p = plain.tcpstat.server.tcps_sndacks;
        assert.ok(n >= p * 0.95, `seed ${seed}: ${n} ACKs merged, ${p} unmerged`);
        if (faults.loss === undefined && faults.reorder === undefined) {
          let last = acks.find((a) => a !== 0)!;
          for (const a of acks) {
            const adv = (a - last) | 0;
            assert.ok(a === 0 || adv <= 2 * 1460, `seed ${seed}: ACK ${a} advances ${adv} bytes`);
            if (a !== 0 && adv > 0) last = a;
          }
        }
      }
    });
  }
}

test('LRO under loss: no more retransmission timeouts than without it (seeded 2% loss both ways)', () => {
  // One ACK per merged batch starved the sender's ACK clock, and a lost one cost an RTO
  // (13 against 7 over seeds 1-8 before merged segments were acknowledged per segment).
  // With SACK recovery's rescue retransmission RTOs are rare either way (a handful in 24
  // seeds), so the comparison takes 24 seeds for counts that mean something.
  for (const family of ['inet', 'inet6'] as const) {
    const rto = { off: 0, on: 0 };
    for (let seed = 1; seed <= 24; seed++)
      for (const lro of [false, true]) {
        const r = run({ seed, family, lro, bytes: 1_000_000, verify: false, faults: { delayUs: 500, loss: 0.02 } });
        rto[lro ? 'on' : 'off'] += r.tcpstat.client.tcps_rexmttimeo;
      }
    assert.ok(rto.on <= rto.off, `${family}: ${rto.on} RTOs with LRO, ${rto.off} without (seeds 1-24)`);
  }
});

test('tcp_input: a merged segment after a hole is taken as its segments, one duplicate ACK each', () => {
  const r = run({ seed: 5, lro: true, faults: { delayUs: 500, loss: 0.02 } });
  const dupacks = r.tcpstat.client.tcps_rcvdupack;
  const plain = run({ seed: 5, lro: false, faults: { delayUs: 500, loss: 0.02 } });
  // Folded into one per merged batch, the sender saw a fifth of them.
  assert.ok(
    dupacks >= plain.tcpstat.client.tcps_rcvdupack * 0.7,
    `${dupacks} vs ${plain.tcpstat.client.tcps_rcvdupack}`,
  );
  assert.ok(r.offload.lro.lro_queued > r.offload.lro.lro_flushed);
});

test('ifconfig -tso mid-transfer: segments shrink to the MSS, the transfer completes', () => {
  let frames = 0;
  let tsoOff = false;
  let bigAfter = 0;
  let wrsAtOff = 0;
  const r = runBulk({
    seed: 5,
    bytes: 600_000,
    csumOffload: true,
    tso: true,
    faults: { delayUs: 50 },
    tap: (c, f, _now, ifs) => {
      if (!c) return;
      frames++;
      if (tsoOff && f.length > 1514) bigAfter++;
      if (frames === 150) {
        assert.equal(ifs.client.setCap(IFCAP_TSO, false), 0);
        assert.equal(ifs.client.capenable & IFCAP_TSO, 0);
        tsoOff = true;
      }
    },
  });
  assert.ok(r.ok, r.reason);
  assert.equal(bigAfter, 0);
  wrsAtOff = r.offload.tsoWrs;
  assert.ok(wrsAtOff > 0);
  // tcp_output met EMSGSIZE once and stopped asking: pieces before, MSS segments after.
  const again = runBulk({ seed: 5, bytes: 600_000, csumOffload: true, tso: true, faults: { delayUs: 50 } });
  assert.ok(again.offload.tsoWrs > wrsAtOff, `${again.offload.tsoWrs} > ${wrsAtOff}`);
});

test('ifconfig -lro mid-transfer: nothing more is queued', () => {
  let frames = 0;
  let queuedAtOff = -1;
  let stats: { lro_queued: number } | null = null;
  const r = runBulk({
    seed: 6,
    bytes: 600_000,
    csumOffload: true,
    lro: true,
    faults: { delayUs: 50 },
    tap: (c, _f, _now, ifs) => {
      if (!c) return;
      if (++frames === 200) {
        assert.equal(ifs.server.setCap(IFCAP_LRO, false), 0);
        queuedAtOff = -2;
      }
    },
  });
  assert.ok(r.ok, r.reason);
  stats = r.offload.lro;
  const full = runBulk({ seed: 6, bytes: 600_000, csumOffload: true, lro: true, faults: { delayUs: 50 } });
  assert.equal(queuedAtOff, -2);
  assert.ok(stats.lro_queued > 0 && stats.lro_queued < full.offload.lro.lro_queued / 2, JSON.stringify(stats));
});

/** An Ethernet/IPv4/TCP frame with the timestamp option and `n` payload bytes, checksums set. */
function seg(o: { sport?: number; seq: number; ack: number; flags?: number; n: number; ts: number; win?: number }) {
  const f = new Uint8Array(14 + 20 + 32 + o.n);
  f[12] = 0x08;
  const ip = 14;
  f[ip] = 0x45;
  f[ip + 2] = (52 + o.n) >>> 8;
  f[ip + 3] = (52 + o.n) & 0xff;
  f[ip + 6] = 0x40;
  f[ip + 8] = 64;
  f[ip + 9] = 6;
  f.set([10, 0, 0, 1, 10, 0, 0, 2], ip + 12);
  const th = ip + 20;
  const sport = o.sport ?? 5000;
  const put32 = (at: number, v: number) => f.set([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff], at);
  f.set([sport >>> 8, sport & 0xff, 0x00, 0x07], th);
  put32(th + 4, o.seq);
  put32(th + 8, o.ack);
  f[th + 12] = 8 << 4;
  f[th + 13] = o.flags ?? 0x10;
  f[th + 14] = (o.win ?? 1000) >>> 8;
  f[th + 15] = (o.win ?? 1000) & 0xff;
  f.set([1, 1, 8, 10], th + 20);
  put32(th + 24, o.ts);
  put32(th + 28, 77);
  for (let i = 0; i < o.n; i++) f[th + 32 + i] = (o.seq + i) & 0xff;
  finishChecksums(f, 14, true, true);
  return f;
}

function lroHarness() {
  const got: { f: Uint8Array; nsegs: number; flags: number }[] = [];
  const lro = new LroCtrl((f, m) => got.push({ f: f.slice(), nsegs: m.lroNsegs ?? 0, flags: m.csumFlags }));
  const rx = (f: Uint8Array) => lro.rx(f, newFrameMeta());
  return { lro, got, rx };
}

const u32 = (f: Uint8Array, at: number) => ((f[at]! << 24) | (f[at + 1]! << 16) | (f[at + 2]! << 8) | f[at + 3]!) >>> 0;

test('tcp_lro: in-order ACK/PSH segments merge into one with the last ACK, window and timestamp', () => {
  const { lro, got, rx } = lroHarness();
  assert.equal(rx(seg({ seq: 1000, ack: 9, n: 100, ts: 5 })), true);
  assert.equal(rx(seg({ seq: 1100, ack: 9, n: 100, ts: 5, flags: 0x18 })), true);
  assert.equal(rx(seg({ seq: 1200, ack: 19, n: 100, ts: 6, win: 2000 })), true);
  assert.equal(got.length, 0, 'held until the batch ends');
  lro.flush();
  assert.equal(got.length, 1);
  const m = got[0]!;
  const f = m.f;
  const th = 34;
  assert.equal(f.length, 14 + 52 + 300);
  assert.equal((f[16]! << 8) | f[17]!, 52 + 300, 'IP total length');
  assert.equal(internetChecksum(f, 14, 20), 0, 'IP header checksum');
  assert.equal(u32(f, th + 4), 1000);
  assert.equal(u32(f, th + 8), 19);
  assert.equal((f[th + 14]! << 8) | f[th + 15]!, 2000);
  assert.equal(u32(f, th + 24), 6);
  assert.equal(f[th + 13], 0x18, 'PSH from the second piece');
  for (let i = 0; i < 300; i++) assert.equal(f[th + 32 + i], (1000 + i) & 0xff);
  assert.equal(m.nsegs, 3);
  assert.equal(m.flags & (CSUM_DATA_VALID | CSUM_PSEUDO_HDR), CSUM_DATA_VALID | CSUM_PSEUDO_HDR);
  assert.deepEqual({ ...lro.stats }, { lro_queued: 3, lro_flushed: 1, lro_bad_csum: 0 });
});

test('tcp_lro: a hole, a FIN, an older timestamp, a bad checksum or a pure ACK flush what is queued first', () => {
  const { lro, got, rx } = lroHarness();
  rx(seg({ seq: 1000, ack: 9, n: 100, ts: 5 }));
  assert.equal(rx(seg({ seq: 1300, ack: 9, n: 100, ts: 5 })), false, 'out of order: passed on');
  assert.deepEqual(
    got.map((g) => [u32(g.f, 38), g.nsegs]),
    [
      [1000, 1],
      [1300, 0],
    ],
  );
  got.length = 0;
  rx(seg({ seq: 1400, ack: 9, n: 100, ts: 5 }));
  rx(seg({ seq: 1500, ack: 9, n: 100, ts: 4 })); // older timestamp: a new entry
  assert.equal(rx(seg({ seq: 1600, ack: 9, n: 100, ts: 5, flags: 0x11 })), false, 'FIN: passed on');
  assert.deepEqual(
    got.map((g) => u32(g.f, 38)),
    [1400, 1500, 1600],
  );
  got.length = 0;
  const bad = seg({ seq: 1700, ack: 9, n: 100, ts: 5 });
  bad[80] = bad[80]! ^ 0xff;
  assert.equal(rx(bad), false);
  assert.equal(lro.stats.lro_bad_csum, 1);
  const badIp = seg({ seq: 1700, ack: 9, n: 100, ts: 5 });
  badIp[22] = 1; // TTL, under the IP header checksum only
  assert.equal(rx(badIp), false, 'a bad IP header checksum goes up alone');
  assert.equal(lro.stats.lro_bad_csum, 1);
  // Two flows interleaved merge apart; a pure ACK of one flushes only that one.
  rx(seg({ seq: 1800, ack: 9, n: 100, ts: 5 }));
  rx(seg({ sport: 6000, seq: 1, ack: 9, n: 50, ts: 5 }));
  rx(seg({ seq: 1900, ack: 9, n: 100, ts: 5 }));
  rx(seg({ sport: 6000, seq: 51, ack: 9, n: 50, ts: 5 }));
  assert.equal(rx(seg({ sport: 6000, seq: 101, ack: 10, n: 0, ts: 5 })), false);
  lro.flush();
  assert.deepEqual(
    got.slice(2).map((g) => [u32(g.f, 38), g.f.length - 66, g.nsegs]),
    [
      [1, 100, 2],
      [101, 0, 0],
      [1800, 200, 2],
    ],
  );
});

test('the MTU goes down under TSO: pieces that would not fit are refused, the MSS follows, the transfer completes', () => {
  let frames = 0;
  let loweredAt = Infinity;
  let bigAfter = 0;
  const r = runBulk({
    seed: 8,
    bytes: 600_000,
    csumOffload: true,
    tso: true,
    faults: { delayUs: 50 },
    tap: (c, f, now, ifs) => {
      if (!c) return;
      // The rest of the burst being cut at that instant was sent before the change.
      if (now > loweredAt && f.length > 14 + 1280) bigAfter++;
      if (++frames === 100) {
        assert.equal(ifs.clientEngine.setMtu(ifs.client, 1280), 0);
        loweredAt = now;
      }
    },
  });
  assert.ok(r.ok, r.reason);
  assert.ok(r.offload.tsoWrs > 0);
  assert.equal(bigAfter, 0, 'no frame over the new MTU');
});
