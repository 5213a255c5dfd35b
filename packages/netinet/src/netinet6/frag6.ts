/**
 * IPv6 reassembly (RFC 8200 §4.5, netinet6/frag6.c). Fragments are queued per
 * (source, destination, identification) in IP6REASS_NHASH buckets hashed with a secret
 * seed. Overlapping fragments abandon the whole datagram (RFC 5722). Bad fragment lengths
 * are answered with a parameter problem as §4.5 says. A queue lives 60 s (IPV6_FRAGTTL),
 * after which its fragments count as ip6s_fragtimeout and, if the first fragment arrived,
 * an ICMPv6 time exceeded (reassembly) is sent. Limits: net.inet6.ip6.maxfragpackets
 * (queues), maxfragbucketsize (queues a bucket), maxfrags and maxfragsperpacket
 * (fragments); over them: ip6s_fragoverflow.
 *
 * A full bucket or a full table gives up its oldest queue for the new one, as IPv4's
 * ipq_reuse does (ip_reass.c), where frag6.c drops the new fragment: a flood of
 * never-completed fragments then ages out behind the datagrams that do complete, instead
 * of holding every slot until fragttl.
 */
import type { Inet6Vnet } from './in6_var.js';
import type { Ifnet } from '../net/if.js';
import { Callout } from '../kern/callout.js';
import { MAX_LINKHDR } from '../net/mbuf.js';
import { get16, get32, set16 } from '@mcstack/wire';
import { IP6_PLEN, IP6_HDR_LEN } from '@mcstack/wire';
import {
  ICMP6_PARAM_PROB,
  ICMP6_PARAMPROB_HEADER,
  ICMP6_TIME_EXCEEDED,
  ICMP6_TIME_EXCEED_REASSEMBLY,
} from './icmp6.js';
import { IPV6_MAXPACKET } from './ip6_var.js';
import { fragsJoin, type Frag } from '../netinet/ip_reass.js';

/** frag6.c: IP6REASS_NHASH_LOG2. */
const IP6REASS_NHASH = 64;

class Ip6q {
  frags: Frag[] = [];
  /** Unfragmentable part (IPv6 header + headers before the fragment header) of fragment zero. */
  unfrag: Uint8Array | null = null;
  /** Offset, within unfrag, of the next-header byte that named the fragment header. */
  nxtOff = 0;
  /** The fragment header's next header (from fragment zero). */
  nxt = 0;
  /** Fragment zero's fragment header, to quote it on timeout. */
  fhdr: Uint8Array | null = null;
  total = -1;
  readonly timer: Callout;
  ifp: Ifnet | null = null;
  /** The key: source and destination addresses (32 bytes) and the identification. */
  readonly addrs = new Uint8Array(32);
  id = 0;
  bucket = 0;
  /** Every queue in creation order, oldest first (the table's eviction order). */
  older: Ip6q | null = null;
  newer: Ip6q | null = null;
  constructor(onTimeout: (q: Ip6q) => void) {
    this.timer = new Callout(() => onTimeout(this));
  }
}

/** frag6_set_bucketsize: a bucket may hold twice its share of maxfragpackets (at least 1). */
function bucketSize(maxfragpackets: number): number {
  return Math.max(Math.floor(maxfragpackets / (IP6REASS_NHASH / 2)), 1);
}

export class Frag6 {
  private readonly buckets: Ip6q[][] = Array.from({ length: IP6REASS_NHASH }, () => []);
  private oldest: Ip6q | null = null;
  private newest: Ip6q | null = null;
  private nqueues = 0;
  private nfrags = 0;
  /**
   * ip6qb_hashseed: an attacker cannot aim at one bucket. Drawn with the first fragment,
   * so a stack that never reassembles draws from its random stream what it always did.
   */
  private seed = -1;
  readonly tun = {
    maxfragpackets: 1024,
    maxfragbucketsize: bucketSize(1024),
    maxfrags: 2048,
    maxfragsperpacket: 64,
    fragttl: 60,
  };

  constructor(private readonly ns: Inet6Vnet) {}

  get npackets(): number {
    return this.nqueues;
  }
  get nfragments(): number {
    return this.nfrags;
  }
  /** The queues in the fullest bucket (bounded by maxfragbucketsize). */
  get maxBucketLength(): number {
    let m = 0;
    for (const b of this.buckets) m = Math.max(m, b.length);
    return m;
  }

  /** The net.inet6.ip6.maxfragpackets handler: the bucket size follows (frag6_set_bucketsize). */
  setMaxfragpackets(v: number): void {
    this.tun.maxfragpackets = v;
    if (v > 0) this.tun.maxfragbucketsize = bucketSize(v);
  }

  /**
   * A fragment: IPv6 header at buf[ip], fragment header at buf[fh], `nxtOff` the
   * byte that named it, datagram ends at `end`. Returns the reassembled datagram
   * (IPv6 header at 0, fragment header removed, payload length fixed) or null.
   */
  input(
    buf: Uint8Array,
    ip: number,
    fh: number,
    nxtOff: number,
    end: number,
    ifp: Ifnet,
    _mflags: number,
  ): Uint8Array | null {
    const st = this.ns.ip6stat;
    const t = this.tun;
    st.ip6s_fragments++;
    const offlg = get16(buf, fh + 2);
    const fo = offlg & 0xfff8;
    const more = (offlg & 1) !== 0;
    const flen = end - (fh + 8);
    // RFC 8200 §4.5: a non-last fragment must carry a multiple of 8 bytes.
    if (more && (flen === 0 || (flen & 7) !== 0)) {
      st.ip6s_fragdropped++;
      this.ns.icmp6.error(buf, ip, end - ip, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, IP6_PLEN, ifp, 0);
      return null;
    }
    // ... and must not end beyond 65535 bytes of fragmentable part.
    if (fo + flen > IPV6_MAXPACKET - (fh + 8 - ip - IP6_HDR_LEN)) {
      st.ip6s_fragdropped++;
      this.ns.icmp6.error(buf, ip, end - ip, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, fh + 2 - ip, ifp, 0);
      return null;
    }
    if (t.maxfragpackets <= 0 || t.maxfrags <= 0) {
      st.ip6s_fragoverflow++;
      return null;
    }
    const id = get32(buf, fh + 4);
    const b = this.hash(buf, ip + 8, id);
    let q = this.lookup(b, buf, ip + 8, id);
    if (q === undefined) {
      // ipq_reuse: the bucket's oldest queue makes room, else the table's oldest.
      const bucket = this.buckets[b]!;
      if (bucket.length >= t.maxfragbucketsize) this.overflow(bucket[0]!);
      while (this.nqueues >= t.maxfragpackets && this.oldest !== null) this.overflow(this.oldest);
      q = this.create(b, buf, ip + 8, id, ifp);
    }
    // maxfrags: the oldest other queues go first, then this fragment.
    while (this.nfrags >= t.maxfrags && this.oldest !== null && this.oldest !== q) this.overflow(this.oldest);
    if (this.nfrags >= t.maxfrags) {
      st.ip6s_fragoverflow++;
      if (q.frags.length === 0) this.free(q);
      return null;
    }
    if (q.frags.length >= t.maxfragsperpacket) {
      st.ip6s_fragoverflow++;
      st.ip6s_fragdropped += q.frags.length;
      this.free(q);
      return null;
    }
    if (!more) {
      if (q.total >= 0 && q.total !== fo + flen) {
        this.abandon(q, 1);
        return null;
      }
      q.total = fo + flen;
    }
    // RFC 5722: any overlap abandons the datagram.
    const fend = fo + flen;
    let i = 0;
    const frags = q.frags;
    while (i < frags.length && frags[i]!.off < fo) i++;
    if (
      (i > 0 && frags[i - 1]!.end > fo) ||
      (i < frags.length && frags[i]!.off < fend) ||
      (q.total >= 0 && fend > q.total)
    ) {
      this.abandon(q, 1);
      return null;
    }
    frags.splice(i, 0, { off: fo, end: fend, data: buf.slice(fh + 8, end) });
    this.nfrags++;
    if (fo === 0) {
      q.unfrag = buf.slice(ip, fh);
      q.nxtOff = nxtOff - ip;
      q.nxt = buf[fh]!;
      q.fhdr = buf.slice(fh, fh + 8);
    }
    if (q.total < 0 || q.unfrag === null) return null;
    const out = fragsJoin(q.unfrag, frags, q.total);
    if (out === null) return null;
    out[q.nxtOff] = q.nxt;
    set16(out, IP6_PLEN, out.length - IP6_HDR_LEN);
    this.free(q);
    st.ip6s_reassembled++;
    return out;
  }

  private abandon(q: Ip6q, extra: number): void {
    this.ns.ip6stat.ip6s_fragdropped += q.frags.length + extra;
    this.free(q);
  }

  /** An over-limit queue goes: its fragments are dropped (ip6s_fragoverflow). */
  private overflow(q: Ip6q): void {
    this.ns.ip6stat.ip6s_fragoverflow++;
    this.abandon(q, 0);
  }

  /** The bucket for (src, dst, id): a seeded multiplicative hash over the 36 bytes. */
  private hash(buf: Uint8Array, addrs: number, id: number): number {
    if (this.seed < 0) this.seed = this.ns.ctx.random.u32() >>> 1;
    let h = this.seed ^ id;
    for (let i = 0; i < 32; i += 4) {
      h = Math.imul(h ^ get32(buf, addrs + i), 0x9e3779b1);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ id, 0x85ebca6b);
    return (h ^ (h >>> 13)) & (IP6REASS_NHASH - 1);
  }

  private lookup(b: number, buf: Uint8Array, addrs: number, id: number): Ip6q | undefined {
    const bucket = this.buckets[b]!;
    next: for (let j = 0; j < bucket.length; j++) {
      const q = bucket[j]!;
      if (q.id !== id) continue;
      for (let i = 0; i < 32; i++) if (q.addrs[i] !== buf[addrs + i]) continue next;
      return q;
    }
    return undefined;
  }

  private create(b: number, buf: Uint8Array, addrs: number, id: number, ifp: Ifnet): Ip6q {
    const q = new Ip6q((x) => this.timeout(x));
    q.addrs.set(buf.subarray(addrs, addrs + 32));
    q.id = id;
    q.bucket = b;
    q.ifp = ifp;
    this.buckets[b]!.push(q);
    q.older = this.newest;
    if (this.newest !== null) this.newest.newer = q;
    else this.oldest = q;
    this.newest = q;
    this.nqueues++;
    this.ns.callouts.reset(q.timer, this.ns.ctx.now() + this.tun.fragttl * 1e6);
    return q;
  }

  private free(q: Ip6q): void {
    this.ns.callouts.stop(q.timer);
    this.nfrags -= q.frags.length;
    const bucket = this.buckets[q.bucket]!;
    const i = bucket.indexOf(q);
    if (i < 0) return;
    bucket.splice(i, 1);
    if (q.older !== null) q.older.newer = q.newer;
    else this.oldest = q.newer;
    if (q.newer !== null) q.newer.older = q.older;
    else this.newest = q.older;
    q.older = q.newer = null;
    this.nqueues--;
  }

  private timeout(q: Ip6q): void {
    this.ns.ip6stat.ip6s_fragtimeout += q.frags.length;
    const first = q.frags[0];
    if (q.unfrag !== null && first !== undefined && first.off === 0) {
      // RFC 8200 §4.5: time exceeded, code 1, quoting the first fragment.
      const u = q.unfrag;
      const m = new Uint8Array(MAX_LINKHDR + u.length + 8 + first.data.length);
      const o = MAX_LINKHDR;
      m.set(u, o);
      m[o + q.nxtOff] = 44;
      m.set(q.fhdr!, o + u.length);
      m.set(first.data, o + u.length + 8);
      set16(m, o + IP6_PLEN, u.length - IP6_HDR_LEN + 8 + first.data.length);
      this.ns.icmp6.error(m, o, m.length - o, ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_REASSEMBLY, 0, q.ifp, 0);
    }
    this.free(q);
  }

  drain(): void {
    while (this.oldest !== null) this.abandon(this.oldest, 0);
  }
}
