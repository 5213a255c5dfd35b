/**
 * The classic BPF program an AF_PACKET link's fanout group runs (PACKET_FANOUT_CBPF,
 * Documentation/networking/packet_mmap.rst "AF_PACKET fanout mode") to pick the socket of
 * each frame: the stack's own RSS — the Toeplitz hash with FreeBSD's key over what
 * rss_gethashconfig()'s default hashes (the 4-tuple of TCP over IPv4 and IPv6, the
 * 2-tuple of any other IP datagram, rssHashType in @mcstack/rss), its bucket, and the
 * indirection table's worker for it. The kernel's own fanout hash (PACKET_FANOUT_HASH,
 * skb->hash) picked another worker than the stack's owner for about half the flows, each
 * of whose frames then hopped to the owner; with this program a flow's frames land on
 * its owner's socket from the first one on.
 *
 * The Toeplitz hash unrolled: for every bit of the input that is set, the 32 key bits
 * starting at its position are XORed into the hash (kept in scratch word M[0], the byte
 * under test in X). IPv4 with fragment bits and IPv6 whose next header is not TCP hash
 * the addresses only (an IPv6 extension header before TCP is hashed so too, where the
 * stack's classifier would walk to the ports: such frames hop, counted as `forwarded`);
 * anything not IP goes to socket 0 (the queue then floods ARP and ND to its siblings).
 */
import { RSS_KEY_DEFAULT } from '@mcstack/rss';
import {
  type Insn,
  insn,
  BPF_LD,
  BPF_LDX,
  BPF_ST,
  BPF_ALU,
  BPF_JMP,
  BPF_RET,
  BPF_MISC,
  BPF_W,
  BPF_H,
  BPF_B,
  BPF_IMM,
  BPF_ABS,
  BPF_IND,
  BPF_MEM,
  BPF_AND,
  BPF_XOR,
  BPF_LSH,
  BPF_JA,
  BPF_JEQ,
  BPF_JSET,
  BPF_K,
  BPF_TAX,
  BPF_TXA,
  BPF_MAXINSNS,
  SKF_AD_OFF,
  SKF_AD_PROTOCOL,
  SKF_NET_OFF,
} from '../native/cbpf.js';

const ETHERTYPE_IP = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
/** ip_off's MF flag and fragment offset. */
const IP_MF_OFFMASK = 0x3fff;
/** Scratch words: the hash, and the IPv4 header length. */
const M_HASH = 0;
const M_IHL = 1;

/** The 32 key bits starting at bit `bit` of `key` (the Toeplitz window of input bit `bit`). */
function window(key: Uint8Array, bit: number): number {
  let w = 0;
  for (let i = 0; i < 32; i++) {
    const b = bit + i;
    w = (w << 1) | ((key[b >>> 3]! >>> (7 - (b & 7))) & 1);
  }
  return w >>> 0;
}

/**
 * The program for an indirection table `entries` (bucket -> worker; its length a power
 * of two). Throws when it would exceed BPF_MAXINSNS (it is about 2300 instructions for
 * 128 buckets).
 */
export function rssFanoutProgram(entries: ArrayLike<number>, key: Uint8Array = RSS_KEY_DEFAULT): Insn[] {
  const p: Insn[] = [];
  const emit = (i: Insn): number => p.push(i) - 1;
  /** A forward jump to be pointed later (JA's 32-bit offset: blocks are longer than 255). */
  const ja = (): number => emit(insn(BPF_JMP | BPF_JA));
  const land = (at: number): void => {
    p[at]!.k = p.length - at - 1;
  };
  /** Hash the byte now in A as input byte `n` (bits n*8 .. n*8+7). */
  const hashByte = (n: number): void => {
    emit(insn(BPF_MISC | BPF_TAX));
    for (let b = 0; b < 8; b++) {
      emit(insn(BPF_MISC | BPF_TXA));
      // Bit clear: skip the three that fold its key window in.
      emit(insn(BPF_JMP | BPF_JSET | BPF_K, 0x80 >>> b, 0, 3));
      emit(insn(BPF_LD | BPF_MEM, M_HASH));
      emit(insn(BPF_ALU | BPF_XOR | BPF_K, window(key, n * 8 + b)));
      emit(insn(BPF_ST, M_HASH));
    }
  };
  const hashAbs = (from: number, count: number, first: number): void => {
    for (let i = 0; i < count; i++) {
      emit(insn(BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF + from + i));
      hashByte(first + i);
    }
  };
  const zero = (): void => {
    emit(insn(BPF_LD | BPF_IMM, 0));
    emit(insn(BPF_ST, M_HASH));
  };
  // skb->protocol: IPv4, IPv6, or socket 0.
  emit(insn(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL));
  emit(insn(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IP, 0, 1));
  const toV4 = ja();
  emit(insn(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IPV6, 0, 1));
  const toV6 = ja();
  emit(insn(BPF_RET | BPF_K, 0));
  // IPv4: source and destination (bytes 12..19), then the ports of an unfragmented TCP segment.
  land(toV4);
  zero();
  hashAbs(12, 8, 0);
  emit(insn(BPF_LD | BPF_H | BPF_ABS, SKF_NET_OFF + 6));
  emit(insn(BPF_JMP | BPF_JSET | BPF_K, IP_MF_OFFMASK, 0, 1));
  const v4Frag = ja();
  emit(insn(BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF + 9));
  emit(insn(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 1, 0));
  const v4NotTcp = ja();
  emit(insn(BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF));
  emit(insn(BPF_ALU | BPF_AND | BPF_K, 0x0f));
  emit(insn(BPF_ALU | BPF_LSH | BPF_K, 2));
  emit(insn(BPF_ST, M_IHL));
  for (let i = 0; i < 4; i++) {
    emit(insn(BPF_LDX | BPF_W | BPF_MEM, M_IHL));
    emit(insn(BPF_LD | BPF_B | BPF_IND, SKF_NET_OFF + i));
    hashByte(8 + i);
  }
  const v4Done = ja();
  // IPv6: source and destination (bytes 8..39), then the ports when TCP follows the header.
  land(toV6);
  zero();
  hashAbs(8, 32, 0);
  emit(insn(BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF + 6));
  emit(insn(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 1, 0));
  const v6NotTcp = ja();
  hashAbs(40, 4, 32);
  // The bucket, and its worker.
  for (const at of [v4Frag, v4NotTcp, v4Done, v6NotTcp]) land(at);
  emit(insn(BPF_LD | BPF_MEM, M_HASH));
  emit(insn(BPF_ALU | BPF_AND | BPF_K, entries.length - 1));
  for (let b = 0; b < entries.length - 1; b++) {
    emit(insn(BPF_JMP | BPF_JEQ | BPF_K, b, 0, 1));
    emit(insn(BPF_RET | BPF_K, entries[b]!));
  }
  emit(insn(BPF_RET | BPF_K, entries[entries.length - 1]!));
  if (p.length > BPF_MAXINSNS) throw new RangeError(`rss fanout program: ${p.length} instructions`);
  return p;
}
