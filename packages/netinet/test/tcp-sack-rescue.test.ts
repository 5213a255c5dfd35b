// The scoreboard after a rescue retransmission (RFC 6675 §4 NextSeg rule 4, tcp/sack.ts
// rescue()): the rescue hole lies above snd_fack, so the next SACK block above snd_fack
// must reshape it, as FreeBSD's tcp_sack_doack does ("check if there was a successful
// Rescue Retransmission, and move this hole left"), not add a second hole over it.
// Seeded: a failure prints its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SackScoreboard } from '../src/tcp/sack.js';
import { SeededRandom } from '../src/kern/random.js';
import { newTcpstat } from '../src/tcp/var.js';

const MSS = 1000;

/** Holes in order, disjoint, non-empty, above snd_una, each rxmit inside its hole. */
function checkHoles(sb: SackScoreboard, una: number, what: string): void {
  for (let i = 0; i < sb.nholes; i++) {
    const s = sb.start[i]!;
    const e = sb.end[i]!;
    const hole = `hole ${i} [${s - una}, ${e - una})`;
    assert.ok(((e - s) | 0) > 0, `${what}: ${hole} is empty`);
    assert.ok(((s - una) | 0) >= 0, `${what}: ${hole} starts below snd_una`);
    const rx = sb.rxmit[i]!;
    assert.ok(((rx - s) | 0) >= 0 && ((e - rx) | 0) >= 0, `${what}: ${hole} rxmit ${rx - una} outside it`);
    if (i > 0) {
      const pe = sb.end[i - 1]!;
      assert.ok(((s - pe) | 0) >= 0, `${what}: ${hole} overlaps the hole before it, ending at ${pe - una}`);
    }
  }
}

test('a SACK block above the recovery point after a rescue: the rescue hole moves left, no second hole over it', () => {
  const una = 100_000;
  const recover = una + 10 * MSS;
  const max = recover + 4 * MSS; // new data sent during recovery
  const sb = new SackScoreboard();
  sb.reset(una);
  assert.ok(sb.rescue(una, recover - MSS, recover, 128));
  sb.sent(0, MSS); // the rescue segment left
  // The receiver SACKs a segment of new data above the recovery point.
  sb.doack(
    1,
    () => recover + MSS,
    () => recover + 2 * MSS,
    una,
    max,
    128,
    newTcpstat(),
  );
  checkHoles(sb, una, 'after the first SACK');
  assert.equal(sb.nholes, 1, 'one hole: [snd_una, the block)');
  assert.equal(sb.start[0], una);
  assert.equal(sb.end[0], recover + MSS);
  assert.equal(sb.rxmit[0], una, 'FreeBSD: the moved hole is retransmitted from its start');
  assert.equal(sb.snd_fack, recover + 2 * MSS);
  assert.equal(sb.sacked_bytes, MSS);
  assert.equal(sb.sack_bytes_rexmit, 0);
});

test('seeded: after a rescue, random receiver progress never leaves overlapping holes', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = new SeededRandom(seed);
    const una0 = (r.u32() & 0x7fffffff) >>> 0;
    const win = 4 + r.below(20); // segments below the recovery point
    const extra = r.below(8); // new data sent in recovery
    const nseg = win + extra;
    const recover = (una0 + win * MSS) >>> 0;
    const max = (una0 + nseg * MSS) >>> 0;
    const got = new Array<boolean>(nseg).fill(false);
    const sb = new SackScoreboard();
    sb.reset(una0);
    const st = newTcpstat();
    let una = una0;
    assert.ok(sb.rescue(una, (recover - MSS) >>> 0, recover, 128), `seed ${seed}`);
    sb.sent(0, MSS);
    for (let step = 0; step < 12; step++) {
      // Some segments arrive (the first rarely: the loss that holds snd_una).
      for (let k = 0; k < 3; k++) {
        const i = r.below(nseg);
        if (i > 0 || r.below(4) === 0) got[i] = true;
      }
      let ackSeg = 0;
      while (ackSeg < nseg && got[ackSeg]) ackSeg++;
      // SACK blocks: runs of received segments above the ack, up to 3, in random order.
      const runs: [number, number][] = [];
      for (let i = ackSeg; i < nseg; ) {
        if (!got[i]) {
          i++;
          continue;
        }
        let j = i;
        while (j < nseg && got[j]) j++;
        runs.push([i, j]);
        i = j;
      }
      for (let i = runs.length - 1; i > 0; i--) {
        const j = r.below(i + 1);
        [runs[i], runs[j]] = [runs[j]!, runs[i]!];
      }
      const blocks = runs.slice(0, 3);
      const ack = (una0 + ackSeg * MSS) >>> 0;
      sb.doack(
        blocks.length,
        (b) => (una0 + blocks[b]![0] * MSS) >>> 0,
        (b) => (una0 + blocks[b]![1] * MSS) >>> 0,
        ack,
        max,
        128,
        st,
      );
      una = ack;
      checkHoles(sb, una, `seed ${seed} step ${step}`);
      if (ackSeg === nseg) break;
    }
  }
});
