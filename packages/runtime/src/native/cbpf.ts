/**
 * Classic BPF (linux/filter.h, linux/bpf_common.h; FreeBSD's bpf(4) instruction set):
 * the opcodes this runtime's programs use, an encoder into struct sock_filter, and a
 * reference interpreter for them, so a program can be checked in a test without a kernel.
 *
 * Loads may use Linux's negative offsets: SKF_NET_OFF + n reads byte n of the network
 * header wherever skb->data is (a fanout program runs before packet_rcv pushes the
 * link header back), SKF_AD_OFF + SKF_AD_PROTOCOL reads skb->protocol (the EtherType).
 */

// Classes, sizes, modes, ALU/jump operations and sources (bpf_common.h).
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_AND = 0x50;
export const BPF_XOR = 0xa0;
export const BPF_LSH = 0x60;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JSET = 0x40;
export const BPF_K = 0x00;
export const BPF_A = 0x10;
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;
/** The longest program the kernel takes (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
/** Scratch memory words (BPF_MEMWORDS). */
export const BPF_MEMWORDS = 16;
/** linux/filter.h: ancillary data and network-header-relative loads. */
export const SKF_AD_OFF = -0x1000;
export const SKF_AD_PROTOCOL = 0;
export const SKF_NET_OFF = -0x100000;

/** One instruction (struct sock_filter). */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export const insn = (code: number, k = 0, jt = 0, jf = 0): Insn => ({ code, jt, jf, k });

/** struct sock_filter[] bytes (u16 code, u8 jt, u8 jf, u32 k; host order, little-endian here). */
export function encode(prog: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(prog.length * 8);
  const v = new DataView(out.buffer);
  prog.forEach((p, i) => {
    v.setUint16(i * 8, p.code, true);
    out[i * 8 + 2] = p.jt;
    out[i * 8 + 3] = p.jf;
    v.setUint32(i * 8 + 4, p.k >>> 0, true);
  });
  return out;
}

/**
 * Run `prog` over a packet whose network header is `net` and whose skb->protocol is
 * `protocol`, as the kernel would for the opcodes above; the returned value, or -1 when
 * a load falls outside the packet (the kernel's program then returns 0).
 */
export function run(prog: readonly Insn[], net: Uint8Array, protocol: number): number {
  const M = new Uint32Array(BPF_MEMWORDS);
  let A = 0;
  let X = 0;
  const load = (off: number, size: number): number | null => {
    if (off === SKF_AD_OFF + SKF_AD_PROTOCOL && size === BPF_W) return protocol;
    const at = off >= 0 ? off : off - SKF_NET_OFF;
    const n = size === BPF_W ? 4 : size === BPF_H ? 2 : 1;
    if (at < 0 || at + n > net.length) return null;
    let r = 0;
    for (let i = 0; i < n; i++) r = (r << 8) | net[at + i]!;
    return r >>> 0;
  };
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc]!;
    const cls = code & 0x07;
    if (cls === BPF_LD || cls === BPF_LDX) {
      const mode = code & 0xe0;
      let v: number | null;
      if (mode === BPF_IMM) v = k >>> 0;
      else if (mode === BPF_MEM) v = M[k]!;
      else v = load(mode === BPF_IND ? (X + k) | 0 : k | 0, code & 0x18);
      if (v === null) return -1;
      if (cls === BPF_LD) A = v;
      else X = v;
    } else if (cls === BPF_ST) {
      M[k] = A;
    } else if (cls === BPF_ALU) {
      const op = code & 0xf0;
      if (op === BPF_AND) A = (A & k) >>> 0;
      else if (op === BPF_XOR) A = (A ^ k) >>> 0;
      else if (op === BPF_LSH) A = (A << k) >>> 0;
      else throw new Error(`cbpf: ALU op ${op.toString(16)}`);
    } else if (cls === BPF_JMP) {
      const op = code & 0xf0;
      if (op === BPF_JA) pc += k;
      else if (op === BPF_JEQ) pc += A === k >>> 0 ? jt : jf;
      else if (op === BPF_JSET) pc += (A & k) !== 0 ? jt : jf;
      else throw new Error(`cbpf: jump op ${op.toString(16)}`);
    } else if (cls === BPF_RET) {
      return (code & 0x18) === BPF_A ? A : k >>> 0;
    } else if (cls === BPF_MISC) {
      if ((code & 0xf8) === BPF_TXA) A = X;
      else X = A;
    }
  }
  throw new Error('cbpf: fell off the end');
}
