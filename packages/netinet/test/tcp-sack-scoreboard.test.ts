// The sender's SACK scoreboard (tcp/sack.ts): a fresh one works whatever half of the
// sequence space the ISN is in, and RFC 6675 IsLost() takes lost holes out of the pipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SackScoreboard } from '../src/tcp/sack.js';
import { newTcpstat } from '../src/tcp/var.js';

const MSS = 1460;

for (const iss of [1000, 0x80000000 + 12345, 0xfffff000]) {
  test(`a first loss with the ISN at 0x${iss.toString(16)}: one hole, lost once 3 segments are SACKed above it`, () => {
    const sb = new SackScoreboard(); // as newtcpcb leaves it: snd_fack 0
    const una = (iss + 1 + 2920) >>> 0;
    const max = (una + 4 * MSS) >>> 0;
    const blk = (i: number) => (una + MSS + i * MSS) >>> 0;
    // Three ACKs for una SACKing one, two, three of the segments after the first.
    for (let n = 1; n <= 3; n++) {
      sb.doack(
        1,
        () => blk(0),
        () => blk(n),
        una,
        max,
        128,
        newTcpstat(),
      );
      assert.equal(sb.nholes, 1);
      assert.equal(sb.start[0], una);
      assert.equal(sb.end[0], blk(0));
      assert.equal(sb.sacked_bytes, n * MSS);
      // Lost only with more than (DupThresh - 1) * SMSS SACKed above.
      assert.equal(sb.lostBytes(MSS), n === 3 ? MSS : 0);
    }
    // Outstanding 4 segments, 3 SACKed, 1 lost: nothing in the network.
    assert.equal(sb.pipe(una, max, MSS), 0);
  });
}

test('pipe: RFC 6675 §4 with net.inet.tcp.rfc6675_pipe=1, tcp_output older estimate with 0', () => {
  const sb = new SackScoreboard();
  sb.reset(1000);
  // 10,000 bytes out, 3,000 SACKed up to 8,000, 1,000 retransmitted, no hole lost yet.
  sb.snd_fack = 8000;
  sb.sacked_bytes = 3000;
  sb.sack_bytes_rexmit = 1000;
  assert.equal(sb.pipe(1000, 11000, 1000), 10000 + 1000 - 3000);
  assert.equal(sb.pipe(1000, 11000, 1000, false, 11000), 11000 - 8000 + 1000);
});

test('a rescue hole (RFC 6675 NextSeg rule 4) lies above snd_fack and is not lost', () => {
  const sb = new SackScoreboard();
  const una = 100000;
  const high = (una + 10 * MSS) >>> 0; // snd_recover: nothing SACKed above una
  sb.reset(una);
  assert.ok(sb.rescue(una, (high - MSS) >>> 0, high, 128));
  // Nothing is SACKed above the rescue segment: RFC 6675 IsLost() is false for it.
  assert.equal(sb.lostBytes(MSS), 0);
  assert.equal(sb.sacked_bytes, 0);
  sb.sent(0, MSS);
  // The whole window below the recovery point is outstanding, the rescue segment twice.
  assert.equal(sb.pipe(una, high, MSS), 11 * MSS);
});
