/**
 * The TOE card's TID table in shared memory (FreeBSD dev/cxgbe/offload.h `struct
 * tid_info`, t4_tom.c insert_tid / remove_tid / lookup_tid): one TID per offloaded
 * connection, keyed by the 4-tuple as the card receives it (source = the peer, destination
 * = this stack). The link's senders look every TCP frame up here before RSS so the card
 * matches its own connections first, as the hardware does; the coordinator is the only
 * writer. A lookup allocates nothing.
 *
 * Layout (Int32 words): a header (TIDs in use, capacity), an open-addressed index of
 * 2 * ntids rounded to a power of two (TID + 1, 0 empty, -1 deleted), then one entry per
 * TID: [state, family, 8 address words (src then dst; IPv4 uses one each), ports].
 * The writer fills an entry before it publishes the index slot (Atomics.store), so a
 * reader that finds the slot sees a whole key. A removed TID leaves a deleted slot (a
 * reader walking past it must not stop there); once empty slots fall to a quarter of the
 * index the writer rebuilds it under H_SEQ, so a miss — every host frame a sender looks
 * up — keeps stopping at an empty slot within a few steps instead of walking it all.
 */
import { SysError } from '@mcstack/netinet';

const H_INUSE = 0;
const H_NTIDS = 1;
const H_INDEX = 2;
/** Card memory the coordinator reserved for the connections holding TIDs (bytes). */
const H_MEM = 3;
/** The admission counters (TOE_STATS order), written by the coordinator, read by the card's sysctls. */
const H_STATS = 4;
/** Server TIDs (listening ports the card terminates, t4_tom's stids) among those in use. */
const H_LISTENS = H_STATS + 6;
/** The index's sequence (a seqlock): odd while the writer rebuilds it, readers then retry. */
const H_SEQ = H_LISTENS + 1;
const HEADER = H_SEQ + 1;

/**
 * Offload admission counters: connections the card took, and those left on the host by
 * reason (Stack.toeAdmit). Their sysctls are dev.t4nex.0.toe.<name>.
 */
export const TOE_STATS = [
  ['offloaded', 'connections offloaded to the card'],
  ['refused_tids', 'connections left on the host: TID table full'],
  ['refused_memory', 'connections left on the host: card memory full'],
  ['refused_md5', 'connections left on the host: TCP-MD5 signatures'],
  ['refused_cc', 'connections left on the host: congestion control the card lacks'],
  ['refused_ipv6', 'connections left on the host: IPv6 on a TOE4-only card'],
] as const;
export type ToeStat = (typeof TOE_STATS)[number][0];
const E_STATE = 0;
/** An entry's state: the TID is live (the card terminates it). */
export const TID_ACTIVE = 1;
/**
 * The connection is between owners (a live handoff): its frames are dropped at the link
 * rather than reach an engine that holds no pcb for it and would answer with an RST; TCP
 * retransmits them to the new owner (docs/handoff.md, "Frames in flight").
 */
export const TID_HOLD = 2;
const E_FAMILY = 1;
const E_ADDR = 2;
const E_PORTS = 10;
const ENTRY = 11;

/** A 4-tuple as the card receives its segments: src is the peer, dst this stack. */
export interface TidKey {
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
}

export class TidTable {
  readonly sab: SharedArrayBuffer;
  readonly ntids: number;
  private readonly w: Int32Array;
  private readonly mask: number;
  private readonly entries: number;
  /** The writer's free TIDs (coordinator side only). */
  private free: number[] = [];
  /** The writer's count of empty index slots (neither live nor deleted). */
  private empty: number;

  /** A table of `ntids` TIDs (EINVAL outside 1 .. 1 << 20). */
  static create(ntids: number): TidTable {
    if (!Number.isInteger(ntids) || ntids < 1 || ntids > 1 << 20)
      throw new SysError('EINVAL', `ntids must be an integer from 1 to ${1 << 20}, got ${ntids}`, 'toe');
    let index = 1;
    while (index < 2 * ntids) index <<= 1;
    const sab = new SharedArrayBuffer((HEADER + index + ntids * ENTRY) * 4);
    const w = new Int32Array(sab);
    w[H_NTIDS] = ntids;
    w[H_INDEX] = index;
    const t = new TidTable(sab);
    for (let i = ntids - 1; i >= 0; i--) t.free.push(i);
    return t;
  }

  /** Another thread's view of a table (a reader: lookup only). */
  static attach(sab: SharedArrayBuffer): TidTable {
    return new TidTable(sab);
  }

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.w = new Int32Array(sab);
    this.ntids = this.w[H_NTIDS]!;
    this.mask = this.w[H_INDEX]! - 1;
    this.entries = HEADER + this.w[H_INDEX]!;
    this.empty = this.w[H_INDEX]! - this.w[H_INUSE]!;
  }

  /** Index slots empty (neither live nor deleted): where a lookup that misses stops. */
  get emptySlots(): number {
    let n = 0;
    for (let i = HEADER; i < this.entries; i++) if (Atomics.load(this.w, i) === 0) n++;
    return n;
  }

  /** TIDs in use. */
  get inUse(): number {
    return Atomics.load(this.w, H_INUSE);
  }

  /** Card socket-buffer memory reserved for the connections (bytes). */
  get memInUse(): number {
    return Atomics.load(this.w, H_MEM);
  }

  /** Reserve (n > 0) or give back (n < 0) card memory (the coordinator, the only writer). */
  reserveMem(n: number): void {
    Atomics.add(this.w, H_MEM, n);
  }

  /** An admission counter (TOE_STATS). */
  stat(name: ToeStat): number {
    return Atomics.load(this.w, H_STATS + TOE_STATS.findIndex(([n]) => n === name));
  }

  /** Count one connection under `name` (the coordinator). */
  count(name: ToeStat): void {
    Atomics.add(this.w, H_STATS + TOE_STATS.findIndex(([n]) => n === name), 1);
  }

  /**
   * insert_tid: the new TID, or -1 when the table is full. EEXIST when the tuple has one.
   * The entry is live from the moment the link can find it, in `state`: a connection moving
   * in is inserted held, since in the instant between an active insert and a later hold the
   * peer's senders would hand its segments to a card without its pcb, which answers with
   * an RST that resets the peer when it lands on rcv_nxt (RFC 9293 §3.10.7.4).
   */
  insert(k: TidKey, state: typeof TID_ACTIVE | typeof TID_HOLD = TID_ACTIVE): number {
    if (this.lookupKey(k) >= 0) throw new SysError('EEXIST', 'the 4-tuple already has a TID', 'toe');
    const tid = this.free.pop();
    if (tid === undefined) return -1;
    // Before the new entry is live: the rebuild indexes the live ones.
    if (this.empty <= (this.mask + 1) >> 2) this.rehash();
    const w = this.w;
    const e = this.entries + tid * ENTRY;
    w.fill(0, e, e + ENTRY);
    w[e + E_FAMILY] = k.src.length === 4 ? 4 : 6;
    writeAddr(w, e + E_ADDR, k.src);
    writeAddr(w, e + E_ADDR + 4, k.dst);
    w[e + E_PORTS] = (k.sport << 16) | k.dport;
    Atomics.store(w, e + E_STATE, state);
    let i = keyHash(w, e) & this.mask;
    while (w[HEADER + i]! > 0) i = (i + 1) & this.mask;
    if (w[HEADER + i] === 0) this.empty--;
    Atomics.store(w, HEADER + i, tid + 1);
    Atomics.add(w, H_INUSE, 1);
    return tid;
  }

  /**
   * Rebuild the index from the live entries (the writer): deleted slots become empty.
   * Readers that overlap it see H_SEQ change and look again.
   */
  private rehash(): void {
    const w = this.w;
    Atomics.add(w, H_SEQ, 1);
    for (let i = HEADER; i < this.entries; i++) Atomics.store(w, i, 0);
    let live = 0;
    for (let tid = 0; tid < this.ntids; tid++) {
      const e = this.entries + tid * ENTRY;
      if (w[e + E_STATE] === 0) continue;
      let i = keyHash(w, e) & this.mask;
      while (w[HEADER + i] !== 0) i = (i + 1) & this.mask;
      Atomics.store(w, HEADER + i, tid + 1);
      live++;
    }
    this.empty = this.mask + 1 - live;
    Atomics.add(w, H_SEQ, 1);
  }

  /** remove_tid: free the TID of `k`; its TID, or -1 when it had none. */
  remove(k: TidKey): number {
    const slot = this.slotOf(k);
    if (slot < 0) return -1;
    const w = this.w;
    const tid = w[HEADER + slot]! - 1;
    Atomics.store(w, HEADER + slot, -1);
    w[this.entries + tid * ENTRY + E_STATE] = 0;
    Atomics.sub(w, H_INUSE, 1);
    this.free.push(tid);
    return tid;
  }

  /** Set the state (TID_ACTIVE or TID_HOLD) of the TID of `k`; the TID, or -1 when it has none. */
  setState(k: TidKey, state: typeof TID_ACTIVE | typeof TID_HOLD): number {
    const tid = this.lookupKey(k);
    if (tid >= 0) Atomics.store(this.w, this.entries + tid * ENTRY + E_STATE, state);
    return tid;
  }

  /** The state of a TID (TID_ACTIVE, TID_HOLD; 0 when free). */
  state(tid: number): number {
    return Atomics.load(this.w, this.entries + tid * ENTRY + E_STATE);
  }

  /** Free every TID (the card is gone). */
  clear(): void {
    const w = this.w;
    for (let i = HEADER; i < this.entries; i++) Atomics.store(w, i, 0);
    w.fill(0, this.entries);
    Atomics.store(w, H_INUSE, 0);
    Atomics.store(w, H_MEM, 0);
    Atomics.store(w, H_LISTENS, 0);
    this.empty = this.mask + 1;
    this.free = [];
    for (let i = this.ntids - 1; i >= 0; i--) this.free.push(i);
  }

  /**
   * A server TID (t4_tom's stid for a listening socket): every TCP segment to `dst`:`dport`
   * from anyone goes to the card, the handshake's and its connections' alike, so the
   * coordinator reserves the port for the card alone. Keyed as a connection from the
   * unspecified address and port 0. The TID, or -1 when the table is full.
   */
  insertListen(dst: Uint8Array, dport: number): number {
    const tid = this.insert(listenKey(dst, dport));
    if (tid >= 0) Atomics.add(this.w, H_LISTENS, 1);
    return tid;
  }

  removeListen(dst: Uint8Array, dport: number): number {
    const tid = this.remove(listenKey(dst, dport));
    if (tid >= 0) Atomics.sub(this.w, H_LISTENS, 1);
    return tid;
  }

  /** The server TID whose port a TCP segment is for (lookupFrame's arguments), or -1. Allocation-free. */
  lookupListen(f: Uint8Array, version: number, addrOff: number, portsOff: number): number {
    for (;;) {
      const seq = Atomics.load(this.w, H_SEQ);
      const tid = this.probeListen(f, version, addrOff, portsOff);
      if ((seq & 1) === 0 && Atomics.load(this.w, H_SEQ) === seq) return tid;
    }
  }

  private probeListen(f: Uint8Array, version: number, addrOff: number, portsOff: number): number {
    const w = this.w;
    if (Atomics.load(w, H_LISTENS) === 0 || portsOff < 0) return -1;
    const alen = version === 4 ? 4 : 16;
    const ports = (f[portsOff + 2]! << 8) | f[portsOff + 3]!;
    const dstLast = be32(f, addrOff + 2 * alen - 4);
    const lead = version === 4 ? 0 : 3;
    let i = foldHash(0, dstLast, ports) & this.mask;
    for (let n = 0; n <= this.mask; n++, i = (i + 1) & this.mask) {
      const x = Atomics.load(w, HEADER + i);
      if (x === 0) return -1;
      if (x < 0) continue;
      const e = this.entries + (x - 1) * ENTRY;
      if (w[e + E_FAMILY] !== version || w[e + E_PORTS] !== ports || w[e + E_ADDR + 7] !== dstLast) continue;
      let same = w[e + E_ADDR + 3] === 0;
      for (let j = 0; j < lead; j++) {
        if (w[e + E_ADDR + j] !== 0 || w[e + E_ADDR + 4 + j] !== be32(f, addrOff + alen + 4 * j)) same = false;
      }
      if (same) return x - 1;
    }
    return -1;
  }

  /** The TID of a tuple given as a key, or -1. */
  lookupKey(k: TidKey): number {
    const s = this.slotOf(k);
    return s < 0 ? -1 : this.w[HEADER + s]! - 1;
  }

  private slotOf(k: TidKey): number {
    const w = this.w;
    const scratch = SCRATCH;
    scratch.fill(0);
    writeAddr(scratch, 0, k.src);
    writeAddr(scratch, 4, k.dst);
    const ports = (k.sport << 16) | k.dport;
    scratch[8] = ports;
    const v6 = k.src.length === 16;
    let i = foldHash(scratch[3]!, scratch[7]!, ports) & this.mask;
    for (let n = 0; n <= this.mask; n++, i = (i + 1) & this.mask) {
      const x = Atomics.load(w, HEADER + i);
      if (x === 0) return -1;
      if (x < 0) continue;
      const e = this.entries + (x - 1) * ENTRY;
      if (w[e + E_FAMILY] !== (v6 ? 6 : 4) || w[e + E_PORTS] !== ports) continue;
      let same = true;
      for (let j = 0; j < 8; j++) if (w[e + E_ADDR + j] !== scratch[j]) same = false;
      if (same) return i;
    }
    return -1;
  }

  /**
   * lookup_tid on a received frame: the TID whose tuple the IPv4/IPv6 TCP segment at
   * `f` carries (`version` 4 or 6, source address at `addrOff`, ports at `portsOff`, as the
   * frame classifier found them), or -1. Allocation-free.
   */
  lookupFrame(f: Uint8Array, version: number, addrOff: number, portsOff: number): number {
    // Not while the writer rebuilds the index (H_SEQ odd, or changed meanwhile): look again.
    for (;;) {
      const seq = Atomics.load(this.w, H_SEQ);
      const tid = this.probeFrame(f, version, addrOff, portsOff);
      if ((seq & 1) === 0 && Atomics.load(this.w, H_SEQ) === seq) return tid;
    }
  }

  private probeFrame(f: Uint8Array, version: number, addrOff: number, portsOff: number): number {
    const w = this.w;
    if (Atomics.load(w, H_INUSE) === 0 || portsOff < 0) return -1;
    const alen = version === 4 ? 4 : 16;
    const ports = (f[portsOff]! << 24) | (f[portsOff + 1]! << 16) | (f[portsOff + 2]! << 8) | f[portsOff + 3]! | 0;
    const srcLast = be32(f, addrOff + alen - 4);
    const dstLast = be32(f, addrOff + 2 * alen - 4);
    // The leading words an IPv6 address adds (an IPv4 one fills only the last).
    const lead = version === 4 ? 0 : 3;
    let i = foldHash(srcLast, dstLast, ports) & this.mask;
    for (let n = 0; n <= this.mask; n++, i = (i + 1) & this.mask) {
      const x = Atomics.load(w, HEADER + i);
      if (x === 0) return -1;
      if (x < 0) continue;
      const e = this.entries + (x - 1) * ENTRY;
      if (w[e + E_FAMILY] !== version || w[e + E_PORTS] !== ports) continue;
      if (w[e + E_ADDR + 3] !== srcLast || w[e + E_ADDR + 7] !== dstLast) continue;
      let same = true;
      for (let j = 0; j < lead; j++) {
        if (w[e + E_ADDR + j] !== be32(f, addrOff + 4 * j) || w[e + E_ADDR + 4 + j] !== be32(f, addrOff + alen + 4 * j))
          same = false;
      }
      if (same) return x - 1;
    }
    return -1;
  }
}

const SCRATCH = new Int32Array(9);

/** Addresses are stored right-aligned in four words (IPv4 in the last), big-endian words. */
function writeAddr(w: Int32Array, at: number, a: Uint8Array): void {
  const first = 4 - a.length / 4;
  for (let j = 0; j < a.length / 4; j++) w[at + first + j] = be32(a, 4 * j);
}

function be32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

function keyHash(w: Int32Array, e: number): number {
  return foldHash(w[e + E_ADDR + 3]!, w[e + E_ADDR + 7]!, w[e + E_PORTS]!);
}

/** A cheap mix of the tuple's last address words and ports (not the RSS hash: the table needs no key). */
function foldHash(src: number, dst: number, ports: number): number {
  return Math.imul(src ^ Math.imul(dst, 0x9e3779b1) ^ ports, 0x85ebca6b) >>> 15;
}

function listenKey(dst: Uint8Array, dport: number): TidKey {
  return { src: new Uint8Array(dst.length), dst, sport: 0, dport };
}
