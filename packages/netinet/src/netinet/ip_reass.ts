/**
 * IPv4 reassembly (netinet/ip_reass.c). Fragments are queued per (src, dst, id,
 * protocol) in offset order; overlaps are trimmed as FreeBSD does (data already
 * queued wins at the front of a new fragment, the new fragment wins over what it
 * overlaps behind it). Limits are net.inet.ip.maxfragpackets (queues),
 * maxfragsperpacket and maxfrags (fragments); a queue lives at most
 * net.inet.ip.fragttl (30 s, IPFRAGTTL) on the callout wheel, then its fragments
 * count as ips_fragtimeout and, if fragment zero arrived, an ICMP time exceeded
 * (reassembly) goes back (RFC 1122 §3.3.2, RFC 792).
 */
import type { InetVnet } from './in_var.js';
import { Callout } from '../kern/callout.js';
import { get16, get32, set16 } from '@mcstack/wire';
import { sumBytes, finish } from '@mcstack/wire';
import { IP_LEN, IP_ID, IP_OFF, IP_P, IP_SRC, IP_DST, IP_SUM, IP_MF, IP_OFFMASK } from '@mcstack/wire';
import { IP_MAXPACKET } from './ip_var.js';
import { MAX_LINKHDR } from '../net/mbuf.js';
import { ICMP_TIMXCEED, ICMP_TIMXCEED_REASS } from './ip_icmp.js';

/** A queued fragment's data and its place in the datagram (IPv4 and IPv6 reassembly). */
export interface Frag {
  off: number;
  end: number;
  data: Uint8Array;
}

/**
 * The datagram, `head` then the fragments' data, once `frags` (sorted by offset, no
 * overlap) run without a hole from 0 to `total`; null while one is missing.
 */
export function fragsJoin(head: Uint8Array, frags: readonly Frag[], total: number): Uint8Array | null {
  let next = 0;
  for (const f of frags) {
    if (f.off !== next) return null;
    next = f.end;
  }
  if (next !== total) return null;
  const out = new Uint8Array(head.length + total);
  out.set(head, 0);
  let p = head.length;
  for (const f of frags) {
    out.set(f.data, p);
    p += f.data.length;
  }
  return out;
}

class Ipq {
  frags: Frag[] = [];
  /** Header (with options) of fragment zero, once it arrived. */
  hdr: Uint8Array | null = null;
  /** Data length known from the last fragment (MF clear), -1 until then. */
  total = -1;
  nfrags = 0;
  timer: Callout;
  constructor(
    readonly key: string,
    readonly born: number,
    onTimeout: (q: Ipq) => void,
  ) {
    this.timer = new Callout(() => onTimeout(this));
  }
}

export interface IpReassTunables {
  maxfragpackets: number;
  maxfragsperpacket: number;
  maxfrags: number;
  /** Seconds a datagram may spend in reassembly. */
  fragttl: number;
}

export class IpReass {
  private queues = new Map<string, Ipq>();
  private nfrags = 0;
  readonly tun: IpReassTunables = { maxfragpackets: 1024, maxfragsperpacket: 16, maxfrags: 2048, fragttl: 30 };

  constructor(private readonly ns: InetVnet) {}

  /** Queues in progress (for tests and `netstat -s`). */
  get npackets(): number {
    return this.queues.size;
  }
  get nfragments(): number {
    return this.nfrags;
  }

  /**
   * Queue one fragment (header already validated by ip_input). Returns the
   * reassembled datagram (IPv4 header at offset 0, ip_off cleared) when complete.
   */
  input(buf: Uint8Array, off: number, hlen: number, ipLen: number, _mflags: number): Uint8Array | null {
    const st = this.ns.ipstat;
    const t = this.tun;
    st.ips_fragments++;
    if (t.maxfragpackets <= 0 || t.maxfragsperpacket <= 0 || this.nfrags >= t.maxfrags) {
      st.ips_fragdropped++;
      return null;
    }
    const ff = get16(buf, off + IP_OFF);
    const fo = (ff & IP_OFFMASK) << 3;
    const flen = ipLen - hlen;
    const more = (ff & IP_MF) !== 0;
    const key = `${get32(buf, off + IP_SRC)}:${get32(buf, off + IP_DST)}:${get16(buf, off + IP_ID)}:${buf[off + IP_P]}`;
    let q = this.queues.get(key);
    if (q === undefined) {
      if (this.queues.size >= t.maxfragpackets) this.dropOldest();
      q = new Ipq(key, this.ns.ctx.now(), (x) => this.timeout(x));
      this.queues.set(key, q);
      this.ns.callouts.reset(q.timer, this.ns.ctx.now() + t.fragttl * 1e6);
    }
    if (q.nfrags >= t.maxfragsperpacket) {
      st.ips_fragdropped += q.nfrags + 1;
      this.free(q);
      return null;
    }
    if (fo + flen + hlen > IP_MAXPACKET) {
      st.ips_fragdropped += q.nfrags + 1;
      this.free(q);
      return null;
    }
    if (!more) {
      // A second "last fragment" disagreeing on the length is bogus: drop it.
      if (q.total >= 0 && q.total !== fo + flen) {
        st.ips_fragdropped++;
        return null;
      }
      q.total = fo + flen;
    }
    let start = fo;
    const end = fo + flen;
    // Find the first queued fragment that ends after our start.
    const frags = q.frags;
    let i = 0;
    while (i < frags.length && frags[i]!.off < fo) i++;
    // Preceding fragment overlaps our front: its data wins, trim ours.
    if (i > 0) {
      const p = frags[i - 1]!;
      if (p.end > start) start = p.end;
    }
    if (start >= end) {
      st.ips_fragdropped++;
      return null;
    }
    // We overlap following fragments: trim their fronts or drop them whole.
    while (i < frags.length && frags[i]!.off < end) {
      const nx = frags[i]!;
      if (nx.end <= end) {
        frags.splice(i, 1);
        q.nfrags--;
        this.nfrags--;
        st.ips_fragdropped++;
      } else {
        nx.data = nx.data.subarray(end - nx.off);
        nx.off = end;
        break;
      }
    }
    const dataStart = off + hlen + (start - fo);
    frags.splice(i, 0, { off: start, end, data: buf.slice(dataStart, off + hlen + flen) });
    q.nfrags++;
    this.nfrags++;
    if (fo === 0) q.hdr = buf.slice(off, off + hlen);
    if (q.total < 0 || q.hdr === null) return null;
    // Complete when contiguous from 0 to total.
    const out = fragsJoin(q.hdr, frags, q.total);
    if (out === null) return null;
    set16(out, IP_LEN, out.length);
    set16(out, IP_OFF, get16(out, IP_OFF) & ~(IP_MF | IP_OFFMASK));
    set16(out, IP_SUM, 0);
    set16(out, IP_SUM, finish(sumBytes(out, 0, q.hdr.length)));
    this.free(q);
    st.ips_reassembled++;
    return out;
  }

  private free(q: Ipq): void {
    this.ns.callouts.stop(q.timer);
    this.nfrags -= q.nfrags;
    this.queues.delete(q.key);
  }

  private dropOldest(): void {
    let oldest: Ipq | null = null;
    for (const q of this.queues.values()) {
      oldest = q;
      break;
    } // Map keeps insertion order
    if (oldest) {
      this.ns.ipstat.ips_fragdropped += oldest.nfrags;
      this.free(oldest);
    }
  }

  private timeout(q: Ipq): void {
    this.ns.ipstat.ips_fragtimeout += q.nfrags;
    const first = q.frags[0];
    if (q.hdr !== null && first !== undefined && first.off === 0) {
      // Quote fragment zero (header + its first data bytes) in a time exceeded (reassembly).
      const h = q.hdr;
      const n = Math.min(first.data.length, 8);
      const m = new Uint8Array(MAX_LINKHDR + h.length + n);
      m.set(h, MAX_LINKHDR);
      m.set(first.data.subarray(0, n), MAX_LINKHDR + h.length);
      set16(m, MAX_LINKHDR + IP_LEN, h.length + first.data.length);
      this.ns.icmp.error(m, MAX_LINKHDR, h.length + n, ICMP_TIMXCEED, ICMP_TIMXCEED_REASS, 0, null);
    }
    this.free(q);
  }

  /** Drop every queue (interface detach, tests). */
  drain(): void {
    for (const q of [...this.queues.values()]) {
      this.ns.ipstat.ips_fragdropped += q.nfrags;
      this.free(q);
    }
  }
}
