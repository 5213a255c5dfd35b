/**
 * tcp_output's ENOBUFS path (tcp_output.c's error case): a driver whose transmit queue is
 * full refuses the segment, tcp_output backs out snd_nxt (the bytes were never sent),
 * keeps the retransmit timer and sets cwnd to one segment. The stream stays in order on
 * the wire (the receiver never sees a hole), arrives byte-exact, and once the refusals
 * stop no retransmission timeout follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBulk } from '../src/sim/bulk.js';
import { ETHER_HDR_LEN } from '@mcstack/wire';

/** TCP payload bytes of an Ethernet frame (IPv4 or IPv6), 0 for anything else. */
function payload(f: Uint8Array): number {
  const ip = ETHER_HDR_LEN;
  if (f[12] === 0x08 && f[13] === 0x00 && f[ip + 9] === 6) {
    const total = (f[ip + 2]! << 8) | f[ip + 3]!;
    const hl = (f[ip]! & 15) * 4;
    return total - hl - (f[ip + hl + 12]! >> 4) * 4;
  }
  if (f[12] === 0x86 && f[13] === 0xdd && f[ip + 6] === 6) {
    const plen = (f[ip + 4]! << 8) | f[ip + 5]!;
    return plen - (f[ip + 40 + 12]! >> 4) * 4;
  }
  return 0;
}

for (const family of ['inet', 'inet6'] as const) {
  for (const tso of [false, true]) {
    test(`ENOBUFS ${family}${tso ? ' TSO' : ''}: refused segments are backed out, byte-exact, no RTO after`, () => {
      const seed = 7;
      // The client's driver refuses every 4th data segment between 0.3 and 2 ms of virtual time.
      const from = 300;
      const until = 2_000;
      let seen = 0;
      let refused = 0;
      let rtoAtEnd = -1;
      const r = runBulk({
        seed,
        family,
        bytes: 3_000_000,
        csumOffload: true,
        tso,
        faults: { delayUs: 100 },
        timeLimitUs: 60e6,
        refuse: (c, f, now) => {
          if (!c || now < from || now >= until || payload(f) === 0) return false;
          if (++seen % 4 !== 0) return false;
          refused++;
          return true;
        },
        tap: (c, _f, now, ifs) => {
          if (c && rtoAtEnd < 0 && now >= until) rtoAtEnd = ifs.clientEngine.tcp.stat.tcps_rexmttimeo;
        },
      });
      assert.ok(r.ok, `seed ${seed}: ${r.reason}`);
      assert.ok(refused >= 3, `seed ${seed}: only ${refused} refusals`);
      assert.ok(rtoAtEnd >= 0, `seed ${seed}: the transfer ended inside the refusal window`);
      // Backed out: the next segment starts where the refused one did, so the receiver
      // never holds data out of order and never asks for a retransmission.
      assert.equal(r.tcpstat.server.tcps_rcvoopack, 0, `seed ${seed}: a hole was seen`);
      assert.equal(r.tcpstat.client.tcps_sack_rexmits, 0, `seed ${seed}: SACK recovery ran`);
      assert.equal(r.tcpstat.client.tcps_rexmttimeo, rtoAtEnd, `seed ${seed}: RTO after the refusals stopped`);
    });
  }
}

test('ENOBUFS on the FIN: it goes again with its data, the close completes', () => {
  const seed = 3;
  let refused = 0;
  const r = runBulk({
    seed,
    bytes: 200_000,
    faults: { delayUs: 100 },
    timeLimitUs: 60e6,
    // Refuse the first two segments that carry the FIN (flags byte: FIN is bit 0).
    refuse: (c, f) => {
      if (!c || f[12] !== 0x08 || f[ETHER_HDR_LEN + 9] !== 6) return false;
      const th = ETHER_HDR_LEN + (f[ETHER_HDR_LEN]! & 15) * 4;
      if ((f[th + 13]! & 1) === 0 || refused >= 2) return false;
      refused++;
      return true;
    },
  });
  assert.ok(r.ok, `seed ${seed}: ${r.reason}`);
  assert.equal(refused, 2);
  assert.equal(r.tcpstat.server.tcps_rcvoopack, 0, `seed ${seed}: a hole was seen`);
});
