/**
 * Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport,
 * remoteip, remoteport, secretkey), F being SipHash-2-4 over (fport, lport, faddr, laddr)
 * folded to 32 bits, as FreeBSD's tcp_keyed_hash, and M a counter that, as in FreeBSD's
 * tcp_new_isn, advances at a constant rate (ISN_BYTES_PER_SECOND) by the virtual time
 * elapsed since the previous call. The secret comes from the engine's seeded random source
 * and is renewed every ISN_SECRET_RESEED_INTERVAL. The same construction under its own key
 * gives per-connection timestamp offsets (RFC 7323 §5.4, tcp_new_ts_offset).
 */
import { SipHash24, sipKeyFrom } from '../crypto/siphash.js';
import type { RandomSource } from '../kern/random.js';
import type { Inpcb } from '../netinet/in_pcb.js';

const ISN_BYTES_PER_SECOND = 1048576;
const ISN_SECRET_RESEED_INTERVAL = 3600_000_000;

export class IsnGenerator {
  private isnKey: SipHash24 | null = null;
  private readonly tsKey: SipHash24;
  private offset = 0;
  private last = 0;
  private reseedAt = 0;
  private started = false;

  constructor(private readonly random: RandomSource) {
    this.tsKey = newKey(random);
  }

  /** tcp_new_isn(inc) at virtual time `now` (µs). */
  newIsn(inp: Inpcb, now: number): number {
    if (!this.started || now >= this.reseedAt) {
      this.isnKey = newKey(this.random);
      this.reseedAt = now + ISN_SECRET_RESEED_INTERVAL;
      this.started = true;
    }
    // M: constant growth by the time since the previous call.
    this.offset = (this.offset + Math.floor(((now - this.last) * ISN_BYTES_PER_SECOND) / 1_000_000)) >>> 0;
    this.last = now;
    return (keyedHash(this.isnKey!, inp) + this.offset) >>> 0;
  }

  /** tcp_new_ts_offset: a per-4-tuple offset so timestamps leak no uptime. */
  tsOffset(inp: Inpcb): number {
    return keyedHash(this.tsKey, inp);
  }
}

/** A fresh key from the engine's seeded random source. */
function newKey(r: RandomSource): SipHash24 {
  return new SipHash24(sipKeyFrom(r));
}

/** tcp_keyed_hash: fport, lport (network order), faddr, laddr (4 or 16 bytes each). */
const tuple = new Uint8Array(36);
function keyedHash(key: SipHash24, inp: Inpcb): number {
  tuple[0] = inp.inp_fport >>> 8;
  tuple[1] = inp.inp_fport;
  tuple[2] = inp.inp_lport >>> 8;
  tuple[3] = inp.inp_lport;
  if (inp.isV6) {
    tuple.set(inp.inp_faddr, 4);
    tuple.set(inp.inp_laddr, 20);
    return key.hash32(tuple, 0, 36);
  }
  const f = inp.inp_faddr,
    l = inp.inp_laddr;
  for (let i = 0; i < 4; i++) {
    tuple[4 + i] = f[12 + i]!;
    tuple[8 + i] = l[12 + i]!;
  }
  return key.hash32(tuple, 0, 12);
}
