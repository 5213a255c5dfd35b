/**
 * ACK filtering in a native queue's transmit path (RFC 3449's "ACK filtering", as Linux's
 * sch_cake ack-filter does it): a pure cumulative ACK the engine sends is held until the
 * loop turn ends or a frame that is not a pure ACK is sent; a later pure ACK of the same
 * connection that acknowledges more replaces it, since the held one would tell the
 * sender nothing the newer does not. Receiving from a native queue, each of the kernel's
 * GRO frames (at most 64 KiB) draws an ACK at once (DELAY_ACK is false past t_maxseg),
 * so a batch of them drew one write(2) each — the receiving worker's largest cost —
 * where FreeBSD's tcp_lro, merging the whole batch, would have drawn one per connection.
 *
 * Only ACKs that carry nothing else are held: flags ACK alone, no payload, no option but
 * the timestamp (a SACK block or a changed option layout is loss information and goes
 * out as sent). One replaces another only when it has the same addresses, ports and
 * option layout and acknowledges more than the held one (or as much, with another
 * window: a window update after the ACK for data that a reader then drained); and an
 * ACK that does not move
 * past what was last written for its connection (a duplicate ACK, RFC 5681 §2, or a
 * window update) is pinned: written, never replaced. A connection not seen recently is
 * taken to have sent the same: its first held ACK is pinned too. Up to ACK_SLOTS
 * connections are held at once (ACKs of connections interleave when a worker receives
 * several); each slot remembers the last ACK written for its connection. The newest
 * window and timestamp win. Order among one connection's frames is kept; a frame that
 * is not a pure ACK writes every held ACK first.
 */
import { type FrameMeta, newFrameMeta, copyFrameMeta } from '@mcstack/netinet';
import { seqGt } from '@mcstack/wire';
import { locateL4, l4At } from './vtnet.js';

const IPPROTO_TCP = 6;
const TH_ACK = 0x10;
/** Ethernet, IPv6 and a TCP header with the timestamp option: the longest ACK held. */
const MAX_ACK = 14 + 40 + 32;
/** Connections whose ACKs are held at once. */
export const ACK_SLOTS = 4;

/** One connection's held ACK, or the memory of the last one written. */
class AckSlot {
  readonly buf = new Uint8Array(MAX_ACK);
  readonly meta: FrameMeta = newFrameMeta();
  len = 0;
  l4 = 0;
  /** The acknowledgment number of the frame in buf (held, or the last written). */
  ack = 0;
  /** buf holds a frame of some connection (held or written). */
  used = false;
  held = false;
  /** Held, but never to be replaced (see the top of the file). */
  pinned = false;
  /** When this slot was last used (least recently used slots are reused first). */
  stamp = 0;
}

export class AckFilter {
  /** ACKs held (flush() writes them). */
  held = 0;
  /** Pure ACKs a later one replaced (never written). */
  dropped = 0;
  private readonly slots: AckSlot[] = Array.from({ length: ACK_SLOTS }, () => new AckSlot());
  private clock = 0;

  /** `out` writes a frame (its first `len` bytes) with its metadata. */
  constructor(private readonly out: (buf: Uint8Array, len: number, meta: FrameMeta) => void) {}

  /**
   * Take `f` when it is a pure ACK: held, or replacing the one held for its connection.
   * False when it is not one (the caller writes what is held, then `f`).
   */
  offer(f: Uint8Array, len: number, meta: FrameMeta): boolean {
    const l4 = pureAck(f, len);
    if (l4 < 0) return false;
    const ack = get32(f, l4 + 8);
    let s = this.find(f, len, l4);
    if (s !== null) {
      if (s.held) {
        // The same ACK with another window is a window update of the held one (RFC 5681
        // §2: not a duplicate, whose window is unchanged): it supersedes it as well.
        if (!s.pinned && (seqGt(ack, s.ack) || (ack === s.ack && !sameWindow(f, s.buf, l4)))) {
          take(s, f, len, meta, l4);
          this.dropped++;
          s.stamp = ++this.clock;
          return true;
        }
        this.write(s);
      }
      // s.ack is now the last ACK written for the connection.
      take(s, f, len, meta, l4);
      s.pinned = !seqGt(ack, s.ack);
    } else {
      s = this.victim();
      take(s, f, len, meta, l4);
      s.pinned = true;
    }
    s.ack = ack;
    s.held = true;
    s.used = true;
    s.stamp = ++this.clock;
    this.held++;
    return true;
  }

  /** Write every held ACK (the end of a loop turn, or before a frame that is not one). */
  flush(): void {
    if (this.held === 0) return;
    for (let i = 0; i < ACK_SLOTS; i++) {
      const s = this.slots[i]!;
      if (s.held) this.write(s);
    }
  }

  private write(s: AckSlot): void {
    s.held = false;
    this.held--;
    this.out(s.buf, s.len, s.meta);
  }

  /** The slot of `f`'s connection, or null. */
  private find(f: Uint8Array, len: number, l4: number): AckSlot | null {
    for (let i = 0; i < ACK_SLOTS; i++) {
      const s = this.slots[i]!;
      if (s.used && s.len === len && s.l4 === l4 && sameConnection(f, s.buf, l4)) return s;
    }
    return null;
  }

  /** A slot for a new connection: the least recently used one not holding an ACK (written first if all are). */
  private victim(): AckSlot {
    if (this.held === ACK_SLOTS) this.flush();
    let v: AckSlot | null = null;
    for (let i = 0; i < ACK_SLOTS; i++) {
      const s = this.slots[i]!;
      if (!s.held && (v === null || s.stamp < v.stamp)) v = s;
    }
    return v!;
  }
}

function take(s: AckSlot, f: Uint8Array, len: number, meta: FrameMeta, l4: number): void {
  const b = s.buf;
  for (let i = 0; i < len; i++) b[i] = f[i]!;
  s.len = len;
  s.l4 = l4;
  copyFrameMeta(s.meta, meta);
}

/**
 * Every header byte up to the ports' end equal but what differs per datagram (the IPv4
 * ID and header checksum); the lengths are equal with the frames', the option layout
 * with pureAck's.
 */
function sameConnection(f: Uint8Array, b: Uint8Array, l4: number): boolean {
  const v4 = l4 === 14 + 20;
  for (let i = 0; i < l4 + 4; i++) {
    if (f[i] === b[i]) continue;
    const o = i - 14;
    if (v4 && (o === 4 || o === 5 || o === 10 || o === 11)) continue;
    return false;
  }
  return true;
}

/**
 * The TCP header offset of `f` when it is an ACK with nothing else (flags ACK, no
 * payload, no option or the timestamp alone as NOP NOP TS), else -1.
 */
function pureAck(f: Uint8Array, len: number): number {
  if (len > MAX_ACK || !locateL4(f, len) || l4At.proto !== IPPROTO_TCP) return -1;
  const l4 = l4At.l4;
  if (f[l4 + 13] !== TH_ACK) return -1;
  const thl = (f[l4 + 12]! >>> 4) << 2;
  if (l4At.l4len !== thl || l4 + thl !== len) return -1;
  if (thl === 20) return l4;
  if (thl === 32 && f[l4 + 20] === 1 && f[l4 + 21] === 1 && f[l4 + 22] === 8 && f[l4 + 23] === 10) return l4;
  return -1;
}

function sameWindow(f: Uint8Array, b: Uint8Array, l4: number): boolean {
  return f[l4 + 14] === b[l4 + 14] && f[l4 + 15] === b[l4 + 15];
}

function get32(f: Uint8Array, o: number): number {
  return ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
}
