/**
 * pfil (net/pfil.c, pfil(9)): packet filter hooks on the network layer's heads.
 * A head (one per address family: "inet", "inet6") holds two ordered chains of hooks,
 * one run by ip_input/ip6_input before the protocol switch and one by
 * ip_output/ip6_output before the datagram goes to the interface. A hook sees the
 * whole IP datagram and answers PFIL_PASS, PFIL_DROPPED (the hook counts its drops: pf's `pfctl -s info`) or
 * PFIL_CONSUMED (it kept the packet; the stack forgets it).
 *
 * Ordering follows pfil.c's pfil_link: a hook is put first on the input chain and
 * last on the output chain, so the first filter to see a packet coming in is the last
 * to see one going out; PFIL_APPEND reverses both.
 *
 * With no hook the stack pays one branch per packet (`head.nIn` / `head.nOut` is 0).
 */
import type { Ifnet } from './if.js';
import { ERRNO } from '../kern/errno.js';

export const PFIL_IN = 0x00000001;
export const PFIL_OUT = 0x00000002;
/** Link the hook at the other end of each chain (pfil_link's PFIL_APPEND). */
export const PFIL_APPEND = 0x00000008;

/** What a hook returns (pfil_return_t). */
export const PFIL_PASS = 0;
export const PFIL_DROPPED = 1;
export const PFIL_CONSUMED = 2;
export type PfilReturn = typeof PFIL_PASS | typeof PFIL_DROPPED | typeof PFIL_CONSUMED;

/**
 * The link between a pcb and the filter's state for its flow (OpenBSD's inp_pf_sk,
 * the state key a pcb keeps so its packets skip the state lookup). The filter owns
 * the value; the stack only carries it.
 */
export interface PfilPcbLink {
  inp_pf_sk: unknown;
}

/**
 * What a hook sees besides the bytes, reused per head and direction (the mbuf's
 * packet header and its pf tag): the interface, the pcb a packet leaves from and the
 * state key the filter found for an incoming packet, handed on to the transport.
 */
export interface PfilPacket {
  dir: number;
  ifp: Ifnet;
  /** Output: the pcb sending the packet (null for packets no pcb sends). */
  inp: PfilPcbLink | null;
  /** Input: the state key the filter matched (pf_mtag's statekey), null when none. */
  statekey: unknown;
}

/** A hook: buf[off, off+len) is the IP datagram, header first. */
export type PfilFunc = (buf: Uint8Array, off: number, len: number, pkt: PfilPacket) => PfilReturn;

export interface PfilHook {
  /** Module and rule-set names, as `pfilctl heads` shows them ("pf", "default-in6"). */
  readonly modname: string;
  readonly rulname: string;
  readonly func: PfilFunc;
}

export class PfilHead {
  readonly name: string;
  /** Hooks run on input and on output, in order. */
  private readonly chainIn: PfilHook[] = [];
  private readonly chainOut: PfilHook[] = [];
  nIn = 0;
  nOut = 0;
  readonly pktIn: PfilPacket;
  readonly pktOut: PfilPacket;

  constructor(name: string, lo: Ifnet) {
    this.name = name;
    this.pktIn = { dir: PFIL_IN, ifp: lo, inp: null, statekey: null };
    this.pktOut = { dir: PFIL_OUT, ifp: lo, inp: null, statekey: null };
  }

  /** pfil_link: 0, -EEXIST when the hook is already on a chain it asks for, -EINVAL without a direction. */
  addHook(hook: PfilHook, flags: number): number {
    if ((flags & (PFIL_IN | PFIL_OUT)) === 0) return -ERRNO.EINVAL;
    if ((flags & PFIL_IN && this.chainIn.includes(hook)) || (flags & PFIL_OUT && this.chainOut.includes(hook)))
      return -ERRNO.EEXIST;
    const append = (flags & PFIL_APPEND) !== 0;
    if (flags & PFIL_IN) {
      if (append) this.chainIn.push(hook);
      else this.chainIn.unshift(hook);
      this.nIn = this.chainIn.length;
    }
    if (flags & PFIL_OUT) {
      if (append) this.chainOut.unshift(hook);
      else this.chainOut.push(hook);
      this.nOut = this.chainOut.length;
    }
    return 0;
  }

  /** pfil_remove_hook: 0, or -ENOENT when the hook is on neither chain. */
  removeHook(hook: PfilHook): number {
    const i = this.chainIn.indexOf(hook);
    const o = this.chainOut.indexOf(hook);
    if (i < 0 && o < 0) return -ERRNO.ENOENT;
    if (i >= 0) this.chainIn.splice(i, 1);
    if (o >= 0) this.chainOut.splice(o, 1);
    this.nIn = this.chainIn.length;
    this.nOut = this.chainOut.length;
    return 0;
  }

  /** The hooks of one direction, in the order they run (`pfilctl heads`). */
  hooks(dir: number): readonly PfilHook[] {
    return dir === PFIL_IN ? this.chainIn : this.chainOut;
  }

  /**
   * pfil_run_hooks on input: each hook in order until one does not pass. The caller
   * checks `nIn` first; pktIn.statekey holds what the filter matched afterwards.
   */
  runIn(buf: Uint8Array, off: number, len: number, ifp: Ifnet): PfilReturn {
    const pkt = this.pktIn;
    pkt.ifp = ifp;
    pkt.statekey = null;
    return this.run(this.chainIn, buf, off, len, pkt);
  }

  /** pfil_run_hooks on output, for a packet sent by `inp` (null: none). */
  runOut(buf: Uint8Array, off: number, len: number, ifp: Ifnet, inp: PfilPcbLink | null): PfilReturn {
    const pkt = this.pktOut;
    pkt.ifp = ifp;
    pkt.inp = inp;
    pkt.statekey = null;
    const r = this.run(this.chainOut, buf, off, len, pkt);
    pkt.inp = null;
    return r;
  }

  private run(chain: PfilHook[], buf: Uint8Array, off: number, len: number, pkt: PfilPacket): PfilReturn {
    for (let i = 0; i < chain.length; i++) {
      const r = chain[i]!.func(buf, off, len, pkt);
      if (r !== PFIL_PASS) return r;
    }
    return PFIL_PASS;
  }
}
