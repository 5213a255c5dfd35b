/**
 * Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport,
 * remoteip, remoteport, secretkey), F being keyed MD5 and M a counter that, as in
 * FreeBSD's tcp_new_isn, advances at a constant rate (ISN_BYTES_PER_SECOND) by the
 * virtual time elapsed since the previous call. The secret comes from the engine's
 * seeded random source and is renewed every ISN_SECRET_RESEED_INTERVAL. The same
 * construction gives per-connection timestamp offsets (RFC 7323 §5.4, tcp_new_ts_offset).
 */
import { createHash } from 'node:crypto';
import type { RandomSource } from '../kern/random.js';
import type { Inpcb } from '../netinet/in_pcb.js';

const ISN_BYTES_PER_SECOND = 1048576;
const ISN_SECRET_RESEED_INTERVAL = 3600_000_000;

export class IsnGenerator {
  private secret = new Uint8Array(32);
  private tsSecret = new Uint8Array(32);
  private offset = 0;
  private last = 0;
  private reseedAt = 0;
  private started = false;

  constructor(private readonly random: RandomSource) {
    fill(random, this.tsSecret);
  }

  /** tcp_new_isn(inc) at virtual time `now` (µs). */
  newIsn(inp: Inpcb, now: number): number {
    if (!this.started || now >= this.reseedAt) {
      fill(this.random, this.secret);
      this.reseedAt = now + ISN_SECRET_RESEED_INTERVAL;
      this.started = true;
    }
    // M: constant growth by the time since the previous call.
    this.offset = (this.offset + Math.floor(((now - this.last) * ISN_BYTES_PER_SECOND) / 1_000_000)) >>> 0;
    this.last = now;
    return (digest(this.secret, inp) + this.offset) >>> 0;
  }

  /** tcp_new_ts_offset: a per-4-tuple offset so timestamps leak no uptime. */
  tsOffset(inp: Inpcb): number {
    return digest(this.tsSecret, inp);
  }
}

function fill(r: RandomSource, b: Uint8Array): void {
  for (let i = 0; i < b.length; i += 4) {
    const v = r.u32();
    b[i] = v >>> 24; b[i + 1] = v >>> 16; b[i + 2] = v >>> 8; b[i + 3] = v;
  }
}

const tuple = new Uint8Array(36);
function digest(secret: Uint8Array, inp: Inpcb): number {
  tuple[0] = inp.inp_fport >>> 8; tuple[1] = inp.inp_fport;
  tuple[2] = inp.inp_lport >>> 8; tuple[3] = inp.inp_lport;
  tuple.set(inp.inp_faddr, 4);
  tuple.set(inp.inp_laddr, 20);
  const h = createHash('md5').update(tuple).update(secret).digest();
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}
