/**
 * The AF_PACKET fanout program (links/rssfanout.ts) run through the reference classic
 * BPF interpreter (native/cbpf.ts): for seeded random IPv4/IPv6 TCP, UDP, ICMP and
 * fragments it picks the worker the stack's own RSS does (FrameClassifier's Toeplitz
 * hash, its bucket, the indirection table), so a flow lands on its owner's socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameClassifier, IndirectionTable } from '@mcstack/rss';
import { SeededRandom } from '@mcstack/netinet';
import { rssFanoutProgram, native } from '@mcstack/runtime';

const SEED = 1208;

/** An Ethernet frame: IPv4 or IPv6, protocol `proto`, with ports and 16 payload bytes (random). */
function frame(r: SeededRandom, v6: boolean, proto: number, frag: boolean): Uint8Array {
  const l3 = 14;
  const hl = v6 ? 40 : 20;
  const f = new Uint8Array(l3 + hl + 20 + 16);
  r.fill(f);
  f[12] = v6 ? 0x86 : 0x08;
  f[13] = v6 ? 0xdd : 0x00;
  if (v6) {
    f[l3] = 0x60;
    f[l3 + 4] = 0;
    f[l3 + 5] = 36;
    f[l3 + 6] = proto;
  } else {
    f[l3] = 0x45;
    f[l3 + 2] = 0;
    f[l3 + 3] = hl + 36;
    f[l3 + 6] = frag ? 0x20 : 0x40; // MF, or DF
    f[l3 + 9] = proto;
  }
  return f;
}

test('rssFanoutProgram: the worker the stack RSS-hashes each frame to, over the default table and a shuffled one', () => {
  const r = new SeededRandom(SEED);
  const c = new FrameClassifier();
  for (const workers of [2, 3, 4]) {
    const table = new IndirectionTable(workers);
    const shuffled = Uint16Array.from(table.entries, () => r.below(workers));
    for (const entries of [table.entries, shuffled]) {
      const prog = rssFanoutProgram(entries);
      assert.ok(prog.length <= native.cbpf.BPF_MAXINSNS, `${prog.length} instructions`);
      for (let i = 0; i < 400; i++) {
        const v6 = (i & 1) === 1;
        const proto = [6, 6, 17, 1][i % 4]!;
        const frag = !v6 && i % 7 === 0;
        const f = frame(r, v6, proto, frag);
        c.hashFrame(f, 0, f.length);
        const want = entries[c.hash & (entries.length - 1)]!;
        const got = native.cbpf.run(prog, f.subarray(14), v6 ? 0x86dd : 0x0800);
        assert.equal(
          got,
          want,
          `seed ${SEED}, workers ${workers}, frame ${i} (v6 ${v6}, proto ${proto}, frag ${frag})`,
        );
      }
    }
  }
  // Not IP: socket 0.
  const arp = frame(r, false, 6, false);
  assert.equal(native.cbpf.run(rssFanoutProgram([1, 1]), arp.subarray(14), 0x0806), 0);
});

test('cbpf.encode: struct sock_filter layout (u16 code, u8 jt, u8 jf, u32 k)', () => {
  const b = native.cbpf.encode([native.cbpf.insn(0x15, 0x86dd, 1, 2), native.cbpf.insn(0x06, 0xffffffff)]);
  assert.deepEqual([...b], [0x15, 0, 1, 2, 0xdd, 0x86, 0, 0, 0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
});
