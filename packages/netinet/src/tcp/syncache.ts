/**
 * The SYN cache and SYN cookies (FreeBSD tcp_syncache.c): a SYN to a listener
 * makes a small entry, not a socket; the SYN-ACK is retransmitted from it
 * (net.inet.tcp.syncache.rexmtlimit = 3); the socket is created when the handshake's
 * ACK arrives (syncache_expand → syncache_socket). The cache is `hashsize` buckets of at
 * most `bucketlimit` entries, `cachelimit` in all (loader tunables, read at start), its
 * entries from the "syncache" zone. With net.inet.tcp.syncookies on, every SYN-ACK's ISS
 * is a cookie (syncookie_generate), so a connection whose entry was pushed out still
 * completes; a bucket overflowing pauses the cache (syncache_pause): SYNs are answered
 * with cookies alone, keeping no state, until the flood has stopped for a while.
 */
import { SipHash24, sipKeyFrom } from '../crypto/siphash.js';
import type { UmaZone } from '../kern/uma.js';
import { itemSize } from '../kern/uma.js';
import { LOG_WARNING } from '../kern/msgbuf.js';
import { get32, set16, set32 } from '@mcstack/wire';
import { seqGeq, seqLeq, seqGt, seqLt } from '@mcstack/wire';
import { TOF_MSS, TOF_SCALE, TOF_SACKPERM, TOF_TS } from '@mcstack/wire';
import { ERRNO } from '../kern/errno.js';
import { Callout } from '../kern/callout.js';
import type { PktInfo } from '../netinet/ip_var.js';
import { Inpcb, INP_IPV4, INP_IPV6, addrEq } from '../netinet/in_pcb.js';
import { hashTuple } from '../netinet/in_pcbgroup.js';
import { type Tcp, newtcpcb, tcpTsGetticks } from './subr.js';
import {
  type Tcpcb,
  TCPS_SYN_RECEIVED,
  TH_SYN,
  TH_ACK,
  TH_RST,
  TH_ECE,
  TH_CWR,
  TCP_MAXWIN,
  TCP_MAX_WINSHIFT,
  TF_REQ_SCALE,
  TF_RCVD_SCALE,
  TF_REQ_TSTMP,
  TF_RCVD_TSTMP,
  TF_SACK_PERMIT,
  TF_ECN_PERMIT,
  TCPTV_REXMTMAX,
  TF_NOOPT,
  TF_SIGNATURE,
  type TcpSeg,
  sendseqinit,
  rcvseqinit,
} from './var.js';
import { setState } from './fsm.js';
import { TCP_OUT_OFF, pseudoSum, rangeset } from './output.js';
import { tcpSignatureAddOption, tcpSignatureSign } from './signature.js';
import { tcpTunnelEncap } from './tunnel.js';
import { segAddrs, dropWithReset, tcpMss, mssFromMtu, copyForm, logDebugSeg } from './input.js';
import { tcpLogDebug, tcpLogPrefix } from './log_addrs.js';
import { BANDLIM_RST_OPENPORT } from '../netinet/ip_icmp.js';

const tcp_syn_backoff = [1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64];
/** tcp_sc_msstab and tcp_sc_wstab: the MSS and send window scale a cookie's 3-bit indices stand for. */
const COOKIE_MSS = [216, 536, 1200, 1360, 1400, 1440, 1452, 1460];
const COOKIE_WSCALE = [0, 0, 1, 2, 4, 6, 7, 8];
/** SYNCOOKIE_LIFETIME (15 s, µs): a secret's life; a cookie is good for 15 to 30 s. */
const SYNCOOKIE_LIFETIME = 15_000_000;
/** TCP_SYNCACHE_PAUSE_TIME and TCP_SYNCACHE_MAX_BACKOFF: a pause lasts 15 s << backoff. */
const TCP_SYNCACHE_PAUSE_TIME = SYNCOOKIE_LIFETIME;
const TCP_SYNCACHE_MAX_BACKOFF = 6;
/** Freed entries the zone keeps for reuse. */
const SYNCACHE_ZONE_KEEP = 1024;
/** The syncookie MAC's message: two addresses of up to 16 bytes, ports, irs, flags, secmod, epoch. */
const cookieMsg = new Uint8Array(52);

interface SyncacheEntry {
  /** Its bucket (hashOf the 4-tuple) and the next entry there. */
  hash: number;
  next: SyncacheEntry | null;
  listener: Inpcb;
  v4: boolean;
  laddr: Uint8Array;
  faddr: Uint8Array;
  lport: number;
  fport: number;
  iss: number;
  irs: number;
  peerMss: number;
  /** Peer's window scale, -1 without the option. */
  wscale: number;
  /** Our window scale (request_r_scale). */
  rscale: number;
  tsRecent: number;
  ts: boolean;
  tsOffset: number;
  sack: boolean;
  ecn: boolean;
  wnd: number;
  mssopt: number;
  rxmits: number;
  timer: Callout;
  /** SCF_NOOPT: the listener has TCP_NOOPT, the SYN-ACK carries no options at all. */
  noopt?: boolean;
  /** SCF_SIGNATURE: the listener has TCP_MD5SIG, the SYN-ACK is signed (tcp/signature.ts). */
  sig?: boolean;
  /** sc_port: the UDP port the SYN was tunneled from (tcp/tunnel.ts), else 0. */
  port?: number;
  /** SCF_UNREACH: an ICMP unreachable quoted our SYN-ACK once already. */
  unreach?: boolean;
}

export class Syncache {
  /** sch_bucket heads: the newest entry of each bucket, entries chained by `next`. */
  private heads: (SyncacheEntry | null)[] = [];
  /** sch_length per bucket. */
  private lengths = new Int32Array(0);
  /** sch_last_overflow per bucket (µs): a cookie is looked for only after a recent overflow. */
  private lastOverflow = new Float64Array(0);
  private hashmask = 0;
  private readonly hashSeed: number;
  private readonly cookieKey: SipHash24;
  /** FreeBSD's "syncache" UMA zone, its limit the cache limit; made by start(). */
  zone: UmaZone<SyncacheEntry> | null = null;
  /** The entry of a SYN answered without state (syncache_add's `scs` on the stack): reused. */
  private readonly scs: SyncacheEntry;
  /** syncache_pause: cookies only until pauseUntil (µs); backoff doubles a renewed attack's pause. */
  private paused = false;
  private pauseUntil = -TCP_SYNCACHE_PAUSE_TIME;
  private pauseBackoff = 0;
  private readonly pauseTimer = new Callout(() => this.unpause());
  /** struct in_conninfo of the SYN being handled: addresses and ports for mss and ISN. */
  private readonly inc: Inpcb;
  /** Source address the route lookup writes (unused: the SYN's destination is ours). */
  private readonly routeSrc = new Uint8Array(16);
  /** The addresses of an ICMP error's quoted segment, in 16-byte form. */
  private readonly icmpL = new Uint8Array(16);
  private readonly icmpF = new Uint8Array(16);

  constructor(private readonly tcp: Tcp) {
    const secret = sipKeyFrom(tcp.random);
    this.cookieKey = new SipHash24(secret);
    // From the secret already drawn: another draw would shift the engine's seeded sequence.
    this.hashSeed = get32(secret, 0) ^ get32(secret, 8);
    this.inc = new Inpcb(tcp.pcbinfo, null, false);
    this.scs = this.newEntry();
  }

  /**
   * syncache_init: size the table and the zone from the loader tunables. A hash size that
   * is not a power of two falls back to 512, as FreeBSD warns and does.
   */
  start(): void {
    const t = this.tcp.t;
    let hs = t.syncache_hashsize;
    if (hs <= 0 || (hs & (hs - 1)) !== 0) {
      this.tcp.log?.(LOG_WARNING, 'WARNING: syncache hash size is not a power of 2.');
      hs = t.syncache_hashsize = 512;
    }
    if (t.syncache_cachelimit <= 0) t.syncache_cachelimit = hs * t.syncache_bucketlimit;
    this.hashmask = hs - 1;
    this.heads = new Array<SyncacheEntry | null>(hs).fill(null);
    this.lengths = new Int32Array(hs);
    this.lastOverflow = new Float64Array(hs).fill(-(SYNCOOKIE_LIFETIME + 1));
    this.zone = this.tcp.uma.create<SyncacheEntry>('syncache', itemSize(this.scs), {
      limit: t.syncache_cachelimit,
      keep: SYNCACHE_ZONE_KEEP,
    });
  }

  /** net.inet.tcp.syncache.count: entries in the cache. */
  get size(): number {
    return this.zone?.used ?? 0;
  }

  /** Entries of one listener (for sockstat and tests). */
  count(listener?: Inpcb): number {
    if (!listener) return this.size;
    return this.list().filter((e) => e.listener === listener).length;
  }

  /** Every entry (control paths only). */
  private list(): SyncacheEntry[] {
    const out: SyncacheEntry[] = [];
    for (const head of this.heads) for (let e: SyncacheEntry | null = head; e !== null; e = e.next) out.push(e);
    return out;
  }

  /** syncache_hashbucket: the group table's tuple hash under this cache's secret seed. */
  private hashOf(laddr: Uint8Array, faddr: Uint8Array, lport: number, fport: number): number {
    return hashTuple(get32(faddr, 12), fport, get32(laddr, 12), lport, -1, this.hashSeed);
  }

  /** syncache_cookiesonly: no state is kept (syncookies_only, or paused by an overflow). */
  private cookiesOnly(): boolean {
    return this.tcp.t.syncookies !== 0 && (this.paused || this.tcp.t.syncookies_only !== 0);
  }

  private find(
    h: number,
    laddr: Uint8Array,
    faddr: Uint8Array,
    lport: number,
    fport: number,
  ): SyncacheEntry | undefined {
    for (let e = this.heads[h] ?? null; e !== null; e = e.next) {
      if (e.lport === lport && e.fport === fport && addrEq(e.laddr, laddr, 0, 16) && addrEq(e.faddr, faddr, 0, 16))
        return e;
    }
    return undefined;
  }

  /** The oldest entry of a bucket (TAILQ_LAST: entries go in at the head). */
  private oldest(h: number): SyncacheEntry | null {
    let e = this.heads[h] ?? null;
    while (e !== null && e.next !== null) e = e.next;
    return e;
  }

  /** syncache_insert: a full bucket pauses the cache and loses its oldest entry. */
  private insert(e: SyncacheEntry): void {
    const h = e.hash;
    if (this.lengths[h]! >= this.tcp.t.syncache_bucketlimit) {
      this.pause(e);
      this.lastOverflow[h] = this.tcp.now();
      const old = this.oldest(h);
      if (old !== null) this.remove(old);
    }
    e.next = this.heads[h] ?? null;
    this.heads[h] = e;
    this.lengths[h]!++;
    this.tcp.stat.tcps_sc_added++;
  }

  /** Take `e` out of its chain; false when the cache did not hold it. */
  private unlink(e: SyncacheEntry): boolean {
    let prev: SyncacheEntry | null = null;
    for (let c = this.heads[e.hash] ?? null; c !== null; prev = c, c = c.next) {
      if (c !== e) continue;
      if (prev !== null) prev.next = e.next;
      else this.heads[e.hash] = e.next;
      e.next = null;
      this.lengths[e.hash]!--;
      return true;
    }
    return false;
  }

  /**
   * syncache_pause: a bucket overflowed (a flood, or one busy peer): answer with cookies
   * alone for TCP_SYNCACHE_PAUSE_TIME, doubled (up to 2^6) when the attack is renewed
   * within the last pause's length. Without cookies there is nothing to pause to; the
   * overflow is counted each time.
   */
  private pause(e: SyncacheEntry): void {
    const tcp = this.tcp;
    if (this.paused) return;
    if (!tcp.t.syncookies) {
      tcp.stat.tcps_sc_bucketoverflow++;
      return;
    }
    this.paused = true;
    tcp.stat.tcps_sc_bucketoverflow++;
    const now = tcp.now();
    let delta = TCP_SYNCACHE_PAUSE_TIME * 2 ** this.pauseBackoff;
    if (this.pauseUntil + delta - now > 0) {
      if (this.pauseBackoff < TCP_SYNCACHE_MAX_BACKOFF) {
        delta *= 2;
        this.pauseBackoff++;
      }
    } else {
      delta = TCP_SYNCACHE_PAUSE_TIME;
      this.pauseBackoff = 0;
    }
    tcp.log?.(
      LOG_WARNING,
      `TCP syncache overflow detected; using syncookies for the next ${delta / 1_000_000} seconds (last SYN: ` +
        `${tcpLogPrefix(e, -1)})`,
    );
    this.pauseUntil = now + delta;
    tcp.wheel.reset(this.pauseTimer, this.pauseUntil);
  }

  /** syncache_unpause. */
  private unpause(): void {
    const now = this.tcp.now();
    if (this.pauseUntil > now) this.tcp.wheel.reset(this.pauseTimer, this.pauseUntil);
    else this.paused = false;
  }

  private debug(e: SyncacheEntry, flags: number, func: string, msg: string): void {
    tcpLogDebug(this.tcp, e, flags, func, msg);
  }

  /**
   * A segment for a LISTEN socket (tcp_input's LISTEN block, RFC 9293 §3.10.7.2).
   * Returns the connection the handshake's ACK completed (syncache_expand), for
   * tcp_input to process the segment on, or null when the segment is done with.
   */
  input(ltp: Tcpcb, s: TcpSeg, _pi: PktInfo): Tcpcb | null {
    const tcp = this.tcp;
    const st = tcp.stat;
    const f = s.flags;
    const { laddr, faddr } = segAddrs(s);
    const h = this.hashOf(laddr, faddr, s.dport, s.sport) & this.hashmask;
    const sc = this.cookiesOnly() ? undefined : this.find(h, laddr, faddr, s.dport, s.sport);
    // RFC 9293 §3.10.7.2 first: an RST to a listener is ignored, unless it hits a syncache entry.
    if (f & TH_RST) {
      if (!this.cookiesOnly()) this.chkrst(sc, s);
      return null;
    }
    if ((f & TH_SYN) === 0 && (f & TH_ACK) !== 0) return this.expand(ltp, sc, s, h, laddr, faddr);
    // Second: SYN|ACK is bogus on a listen socket. RFC 9293 §3.10.7.2 would answer with
    // an RST; FreeBSD's tcp_input drops it silently ("SYN|ACK invalid, segment rejected").
    if (f & TH_ACK) {
      logDebugSeg(tcp, s, 'tcp_input', 'Listen socket: SYN|ACK invalid, segment rejected');
      st.tcps_badsyn++;
      return null;
    }
    // Third: a SYN; anything else is dropped and counted (tcp_input's LISTEN block).
    if ((f & TH_SYN) === 0) {
      logDebugSeg(tcp, s, 'tcp_input', 'Listen socket: SYN is missing, segment ignored');
      st.tcps_badsyn++;
      return null;
    }
    const so = ltp.inp.inp_socket;
    if (so === null) return null;
    if (so.so_comp.length >= so.so_qlimit) {
      st.tcps_listendrop++;
      return null;
    }
    if (sc !== undefined) {
      // A retransmitted SYN: answer again (syncache_add's duplicate path).
      st.tcps_sc_dupsyn++;
      this.debug(sc, f, 'syncache_add', 'Received duplicate SYN, resetting timer and retransmitting SYN|ACK');
      sc.irs = s.seq;
      // A SYN-ACK that cannot be sent ends the entry (tcps_sc_dropped), as in syncache_add.
      if (this.respond(sc) < 0) {
        this.remove(sc);
        st.tcps_sc_dropped++;
        return null;
      }
      sc.rxmits = 0;
      this.arm(sc);
      return null;
    }
    const o = tcp.opt;
    const t = tcp.t;
    const v4 = s.v4;
    // The listener's FIB: the connection will be born in it (tcp_input sets inc_fibnum from so_fibnum).
    const mtu = tcp.net ? tcp.net.route(v4, faddr, laddr, this.routeSrc, ltp.inp.inc_fibnum) : -1;
    // An entry from the zone, unless no state is to be kept; at the zone's limit the
    // bucket's oldest entry makes room (tcps_sc_zonefail), else the SYN is answered
    // statelessly with a cookie, or dropped without cookies.
    let e: SyncacheEntry | null = null;
    if (!this.cookiesOnly()) {
      e = this.alloc();
      if (e === null) {
        st.tcps_sc_zonefail++;
        const old = this.oldest(h);
        if (old !== null) {
          this.lastOverflow[h] = tcp.now();
          this.remove(old);
          this.pause(old);
        }
        e = this.alloc();
        if (e === null && !t.syncookies) {
          st.tcps_sc_cacheoverflow++;
          return null;
        }
      }
    }
    const stateless = e === null;
    if (e === null) e = this.scs;
    e.hash = h;
    e.next = null;
    e.listener = ltp.inp;
    e.v4 = v4;
    e.laddr.set(laddr);
    e.faddr.set(faddr);
    e.lport = s.dport;
    e.fport = s.sport;
    e.iss = 0;
    e.irs = s.seq;
    e.peerMss = o.flags & TOF_MSS ? o.mss : 0;
    e.wscale = t.rfc1323 && o.flags & TOF_SCALE && ltp.t_flags & TF_REQ_SCALE ? o.wscale : -1;
    e.rscale = 0;
    e.tsRecent = o.tsVal;
    e.ts = !!(t.rfc1323 && o.flags & TOF_TS && ltp.t_flags & TF_REQ_TSTMP);
    e.tsOffset = 0;
    e.sack = !!(t.sack_enable && o.flags & TOF_SACKPERM && ltp.t_flags & TF_SACK_PERMIT);
    e.ecn = (f & (TH_ECE | TH_CWR)) === (TH_ECE | TH_CWR) && t.ecn_enable !== 0;
    // syncache_add: the initial receive window is sbspace clipped to [0, TCP_MAXWIN].
    e.wnd = Math.max(0, Math.min(so.so_rcv.space(), TCP_MAXWIN));
    e.mssopt = 0;
    e.rxmits = 0;
    e.unreach = false;
    e.noopt = (ltp.t_flags & TF_NOOPT) !== 0;
    e.sig = (ltp.t_flags & TF_SIGNATURE) !== 0;
    e.port = s.port;
    // TCP_NOOPT on the listener: negotiate nothing (syncache_add's SCF_NOOPT).
    if (e.noopt) {
      e.wscale = -1;
      e.ts = false;
      e.sack = false;
    }
    // The connection's addressing for the host cache and the keyed hashes (never hashed in).
    const tmp = this.inc;
    tmp.setLaddr(e.laddr);
    tmp.setFaddr(e.faddr);
    tmp.inp_lport = e.lport;
    tmp.inp_fport = e.fport;
    tmp.inp_vflag = v4 ? INP_IPV4 : INP_IPV6;
    // Over UDP (tcp/tunnel.ts) the UDP header comes off it: net.inet.tcp.udp_tunneling_overhead.
    e.mssopt = mssFromMtu(tcp, tmp, mtu > 0 ? mtu : 1500) - (e.port ? t.udp_tunneling_overhead : 0);
    if (e.wscale >= 0) {
      while (e.rscale < TCP_MAX_WINSHIFT && TCP_MAXWIN << e.rscale < t.maxsockbuf) e.rscale++;
    }
    if (e.ts) e.tsOffset = tcp.isn.tsOffset(tmp);
    // With cookies on, every ISS is one (syncookie_generate), so the handshake completes
    // even if a flood pushes this entry out before the ACK comes back.
    if (t.syncookies) {
      e.iss = this.cookie(e, tcp.now());
      st.tcps_sc_sendcookie++;
    } else e.iss = tcp.isn.newIsn(tmp, tcp.now());
    if (this.respond(e) < 0) {
      if (!stateless) this.zone!.free(e);
      st.tcps_sc_dropped++;
      return null;
    }
    if (stateless) return null;
    this.insert(e);
    this.arm(e);
    return null;
  }

  private arm(e: SyncacheEntry): void {
    const tcp = this.tcp;
    const rexmt = tcp.t.rexmit_initial * 1000 * tcp_syn_backoff[e.rxmits]!;
    tcp.wheel.reset(e.timer, tcp.now() + rangeset(tcp, rexmt, tcp.t.rexmit_min * 1000, TCPTV_REXMTMAX));
  }

  /** syncache_timer: retransmit the SYN-ACK, or give up after rexmtlimit; paused, drop it. */
  private timeout(e: SyncacheEntry): void {
    const tcp = this.tcp;
    if (this.paused) {
      this.remove(e);
      return;
    }
    if (e.rxmits >= tcp.t.syncache_rexmtlimit) {
      this.debug(e, -1, 'syncache_timer', 'Retransmits exhausted, giving up and removing syncache entry');
      this.remove(e);
      tcp.stat.tcps_sc_stale++;
      return;
    }
    e.rxmits++;
    if (tcp.t.log_debug) this.debug(e, -1, 'syncache_timer', `Response timeout, retransmitting (${e.rxmits}) SYN|ACK`);
    if (this.respond(e) < 0) {
      this.remove(e);
      tcp.stat.tcps_sc_dropped++;
      return;
    }
    tcp.stat.tcps_sc_retransmitted++;
    this.arm(e);
  }

  /** syncache_chkrst (RFC 5961 §3.2 for the embryonic connection). */
  private chkrst(e: SyncacheEntry | undefined, s: TcpSeg): void {
    const tcp = this.tcp;
    if (e === undefined) {
      logDebugSeg(
        tcp,
        s,
        'syncache_chkrst',
        'Spurious RST without matching syncache entry (possibly syncookie only), segment ignored',
      );
      tcp.stat.tcps_badrst++;
      return;
    }
    // RFC 9293 §3.10.7.4 first / RFC 5961 §3.2: in window is RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND.
    const rcvNxt = (e.irs + 1) >>> 0;
    if ((seqGeq(s.seq, rcvNxt) && seqLt(s.seq, (rcvNxt + e.wnd) >>> 0)) || (e.wnd === 0 && s.seq === rcvNxt)) {
      if (tcp.t.insecure_rst || s.seq === rcvNxt) {
        this.debug(
          e,
          s.flags,
          'syncache_chkrst',
          'Our SYN|ACK was rejected, connection attempt aborted by remote endpoint',
        );
        this.remove(e);
        tcp.stat.tcps_sc_reset++;
      } else {
        tcp.stat.tcps_badrst_chackrst++;
        if (tcp.t.log_debug)
          this.debug(
            e,
            s.flags,
            'syncache_chkrst',
            `RST with invalid  SEQ ${s.seq} != NXT ${rcvNxt} (+WND ${e.wnd}), sending challenge ACK`,
          );
        if (this.respond(e, TH_ACK) < 0) {
          this.remove(e);
          tcp.stat.tcps_sc_dropped++;
        }
      }
    } else {
      if (tcp.t.log_debug)
        this.debug(
          e,
          s.flags,
          'syncache_chkrst',
          `RST with invalid SEQ ${s.seq} != NXT ${rcvNxt} (+WND ${e.wnd}), segment ignored`,
        );
      tcp.stat.tcps_badrst++;
    }
  }

  /** syncache_drop: out of the cache and back to the zone (once, and only an entry the cache held). */
  private remove(e: SyncacheEntry): void {
    this.tcp.wheel.stop(e.timer);
    if (this.unlink(e)) this.zone!.free(e);
  }

  /** An entry from the zone (reused once the zone is warm), or null at the cache limit. */
  private alloc(): SyncacheEntry | null {
    const z = this.zone!;
    if (!z.alloc()) return null;
    return z.take() ?? this.newEntry();
  }

  private newEntry(): SyncacheEntry {
    const n = {
      hash: 0,
      next: null,
      listener: null as unknown as Inpcb,
      v4: true,
      laddr: new Uint8Array(16),
      faddr: new Uint8Array(16),
      lport: 0,
      fport: 0,
      iss: 0,
      irs: 0,
      peerMss: 0,
      wscale: -1,
      rscale: 0,
      tsRecent: 0,
      ts: false,
      tsOffset: 0,
      sack: false,
      ecn: false,
      wnd: 0,
      mssopt: 0,
      rxmits: 0,
      timer: null as unknown as Callout,
      noopt: false,
      sig: false,
      port: 0,
      unreach: false,
    } satisfies SyncacheEntry;
    n.timer = new Callout(() => this.timeout(n));
    return n;
  }

  /**
   * syncache_unreach (from tcp_ctlinput when no connection matches): an ICMP unreachable
   * quoting our SYN-ACK (its sequence our ISS) marks the entry; a second one after three
   * retransmissions removes it (tcps_sc_unreach), so a passing outage does not.
   * The quoted segment is ours: `srcOff` our address, `dstOff` the peer's.
   */
  unreach(
    buf: Uint8Array,
    srcOff: number,
    dstOff: number,
    v4: boolean,
    lport: number,
    fport: number,
    seq: number,
  ): void {
    if (this.cookiesOnly() || this.zone === null) return;
    copyForm(this.icmpL, buf, srcOff, v4);
    copyForm(this.icmpF, buf, dstOff, v4);
    const h = this.hashOf(this.icmpL, this.icmpF, lport, fport) & this.hashmask;
    const sc = this.find(h, this.icmpL, this.icmpF, lport, fport);
    if (sc === undefined || seq !== sc.iss) return;
    if (!sc.unreach || sc.rxmits < 3) {
      sc.unreach = true;
      return;
    }
    this.remove(sc);
    this.tcp.stat.tcps_sc_unreach++;
  }

  /**
   * syncache_destroy (tcp_syncache.c), the vnet going away: every entry freed without a
   * word to its peer (its listener is gone already) and the pause timer stopped.
   */
  destroy(): void {
    for (const e of this.list()) this.remove(e);
    this.tcp.wheel.stop(this.pauseTimer);
  }

  /** The listener is closing: its embryonic connections go with it. */
  dropListener(inp: Inpcb): void {
    for (const e of this.list()) {
      if (e.listener === inp) {
        this.remove(e);
        this.tcp.stat.tcps_sc_aborted++;
      }
    }
  }

  /**
   * syncookie_mac: SipHash-2-4 over faddr, laddr (16-byte forms), fport, lport, irs, the
   * cookie's flags byte, the bucket (FreeBSD's secmod) and the secret's epoch: the epoch
   * stands for FreeBSD's two secrets reseeded every SYNCOOKIE_LIFETIME, its low bit the
   * cookie's odd/even bit, so no random draw is spent on reseeding.
   */
  private mac(e: SyncacheEntry, irs: number, flags: number, epoch: number): number {
    const m = cookieMsg;
    m.set(e.faddr, 0);
    m.set(e.laddr, 16);
    let p = 32;
    m[p++] = e.fport >>> 8;
    m[p++] = e.fport;
    m[p++] = e.lport >>> 8;
    m[p++] = e.lport;
    m[p++] = irs >>> 24;
    m[p++] = irs >>> 16;
    m[p++] = irs >>> 8;
    m[p++] = irs;
    m[p++] = flags;
    m[p++] = e.hash >>> 8;
    m[p++] = e.hash;
    m[p++] = epoch >>> 24;
    m[p++] = epoch >>> 16;
    m[p++] = epoch >>> 8;
    m[p++] = epoch;
    return this.cookieKey.hash32(m, 0, p);
  }

  /**
   * syncookie_generate: 24 bits of MAC and a flags byte — send window scale index (3
   * bits), MSS index (3), SACK permitted (1), odd/even secret (1) — XORed with the MAC's
   * top byte so the flags do not show on the wire.
   */
  private cookie(e: SyncacheEntry, now: number): number {
    let mi = COOKIE_MSS.length - 1;
    while (mi > 0 && COOKIE_MSS[mi]! > e.peerMss) mi--;
    let wi = 0;
    if (e.wscale >= 0) {
      wi = COOKIE_WSCALE.length - 1;
      while (wi > 0 && COOKIE_WSCALE[wi]! > e.wscale) wi--;
    }
    const epoch = Math.floor(now / SYNCOOKIE_LIFETIME);
    const flags = (wi << 5) | (mi << 2) | (e.sack ? 2 : 0) | (epoch & 1);
    const h = this.mac(e, e.irs, flags, epoch);
    return ((h & ~0xff) | ((flags ^ (h >>> 24)) & 0xff)) >>> 0;
  }

  /**
   * syncookie_lookup: rebuild the entry from an ACK whose ack-1 is a cookie we made in
   * this secret's life or the last one; false when it is not (spoofed or too old).
   */
  private cookieLookup(e: SyncacheEntry, s: TcpSeg): boolean {
    const ack = (s.ack - 1) >>> 0;
    const seq = (s.seq - 1) >>> 0;
    const flags = (ack & 0xff) ^ (ack >>> 24);
    let epoch = Math.floor(this.tcp.now() / SYNCOOKIE_LIFETIME);
    if ((epoch & 1) !== (flags & 1)) epoch--;
    if (epoch < 0) return false;
    const h = this.mac(e, seq, flags, epoch);
    if ((ack & ~0xff) >>> 0 !== (h & ~0xff) >>> 0) return false;
    e.irs = seq;
    e.iss = ack;
    e.peerMss = COOKIE_MSS[(flags >>> 2) & 7]!;
    const wi = flags >>> 5;
    e.wscale = wi > 0 ? COOKIE_WSCALE[wi]! : -1;
    e.rscale = 0;
    if (e.wscale >= 0) {
      while (e.rscale < TCP_MAX_WINSHIFT && TCP_MAXWIN << e.rscale < this.tcp.t.maxsockbuf) e.rscale++;
    }
    e.sack = (flags & 2) !== 0;
    return true;
  }

  /**
   * syncache_expand: the handshake's ACK arrived; build the socket (RFC 9293
   * §3.10.7.4 SYN-RECEIVED). Returns its tcpcb, or null (the ACK was answered
   * with an RST, or no socket could be made).
   */
  private expand(
    ltp: Tcpcb,
    sc: SyncacheEntry | undefined,
    s: TcpSeg,
    h: number,
    laddr: Uint8Array,
    faddr: Uint8Array,
  ): Tcpcb | null {
    const tcp = this.tcp;
    const st = tcp.stat;
    const t = tcp.t;
    if (sc === undefined) {
      // Maybe a returning cookie: only with cookies on, and (unless cookies are all there is)
      // only after this bucket overflowed lately, so no ACK is taken for a SYN never seen.
      const fail = (msg: string) => {
        logDebugSeg(tcp, s, 'syncache_expand', msg);
        st.tcps_sc_badack++;
        // tcp_input's dropwithreset with the listener's tcpcb: its TOS, its signature.
        dropWithReset(tcp, ltp, s, BANDLIM_RST_OPENPORT);
        return null;
      };
      if (!t.syncookies) return fail('Spurious ACK, segment rejected (syncookies disabled)');
      if (!this.cookiesOnly() && this.lastOverflow[h]! < tcp.now() - SYNCOOKIE_LIFETIME)
        return fail('Spurious ACK, segment rejected (no syncache entry)');
      const e = this.scs;
      e.hash = h;
      e.next = null;
      e.listener = ltp.inp;
      e.v4 = s.v4;
      e.laddr.set(laddr);
      e.faddr.set(faddr);
      e.lport = s.dport;
      e.fport = s.sport;
      if (!this.cookieLookup(e, s))
        return fail('Segment failed SYNCOOKIE authentication, segment rejected (probably spoofed)');
      st.tcps_sc_recvcookie++;
      const so = ltp.inp.inp_socket;
      e.wnd = Math.max(0, Math.min(so ? so.so_rcv.sb_hiwat : 65535, TCP_MAXWIN));
      e.rxmits = 0;
      e.ecn = false;
      e.noopt = (ltp.t_flags & TF_NOOPT) !== 0;
      e.sig = (ltp.t_flags & TF_SIGNATURE) !== 0;
      e.port = s.port;
      const tmp = this.inc;
      tmp.setLaddr(e.laddr);
      tmp.setFaddr(e.faddr);
      tmp.inp_lport = e.lport;
      tmp.inp_fport = e.fport;
      tmp.inp_vflag = s.v4 ? INP_IPV4 : INP_IPV6;
      // Timestamps are not in the cookie: on when the ACK carries them (syncookie_lookup).
      const o = tcp.opt;
      e.ts = !e.noopt && (o.flags & TOF_TS) !== 0;
      e.tsRecent = o.tsVal;
      e.tsOffset = e.ts ? tcp.isn.tsOffset(tmp) : 0;
      const mtu = tcp.net ? tcp.net.route(s.v4, faddr, laddr, this.routeSrc, ltp.inp.inc_fibnum) : 1500;
      e.mssopt = mssFromMtu(tcp, tmp, mtu > 0 ? mtu : 1500) - (s.port ? t.udp_tunneling_overhead : 0);
      return this.socket(ltp, e, s);
    }
    if (s.ack !== (sc.iss + 1) >>> 0 || seqLeq(s.seq, sc.irs) || seqGt(s.seq, (sc.irs + 1 + sc.wnd) >>> 0)) {
      if (t.log_debug) {
        const msg =
          s.ack !== (sc.iss + 1) >>> 0
            ? `ACK ${s.ack} != ISS+1 ${(sc.iss + 1) >>> 0}, segment rejected`
            : `SEQ ${s.seq} != IRS+1 ${(sc.irs + 1) >>> 0}, segment rejected`;
        this.debug(sc, s.flags, 'syncache_expand', msg);
      }
      st.tcps_sc_badack++;
      dropWithReset(tcp, ltp, s, BANDLIM_RST_OPENPORT);
      return null;
    }
    if (!sc.ts && (tcp.opt.flags & TOF_TS) !== 0)
      this.debug(sc, s.flags, 'syncache_expand', 'Timestamp not expected, segment processed normally');
    this.remove(sc);
    return this.socket(ltp, sc, s);
  }

  /**
   * syncache_socket: a new socket in SYN-RECEIVED, its tcpcb, or null when the listener
   * cannot take it (its queue full, or the socket zone at its limit): tcps_listendrop and
   * tcps_sc_aborted, and an RST under net.inet.tcp.syncache.rst_on_sock_fail, else the
   * peer's retransmitted ACK tries again.
   */
  private socket(ltp: Tcpcb, e: SyncacheEntry, s: TcpSeg): Tcpcb | null {
    const tcp = this.tcp;
    const st = tcp.stat;
    const lso = ltp.inp.inp_socket;
    if (lso === null) return null;
    const so = tcp.sockets.newconn(lso);
    if (so === null) {
      this.debug(e, -1, 'syncache_socket', 'Socket create failed due to limits or memory shortage');
      st.tcps_listendrop++;
      st.tcps_sc_aborted++;
      const rst = tcp.t.syncache_rst_on_sock_fail !== 0;
      if (tcp.t.log_debug)
        this.debug(
          e,
          s.flags,
          'tcp_input',
          `Listen socket: Socket allocation failed due to limits or memory shortage, ${rst ? 'sending RST' : 'try again'}`,
        );
      if (rst) dropWithReset(tcp, null, s);
      return null;
    }
    const inp = new Inpcb(tcp.pcbinfo, so, ltp.inp.isV6 || (ltp.inp.inp_vflag & 0x4) !== 0);
    inp.inp_flags = ltp.inp.inp_flags;
    inp.inp_ip_tos = ltp.inp.inp_ip_tos;
    inp.inp_ip_ttl = ltp.inp.inp_ip_ttl;
    // syncache_socket: the listener's FIB (sonewconn gave the socket its so_fibnum).
    inp.inc_fibnum = ltp.inp.inc_fibnum;
    so.so_pcb = inp;
    inp.setLaddr(e.laddr);
    inp.setFaddr(e.faddr);
    inp.inp_lport = e.lport;
    inp.inp_fport = e.fport;
    inp.inp_vflag = (e.v4 ? INP_IPV4 : INP_IPV6) | (inp.inp_vflag & 0x4);
    tcp.pcbinfo.insPort(inp);
    tcp.pcbinfo.insHash(inp);
    const tp = newtcpcb(tcp, inp);
    tp.cc = ltp.cc;
    tp.t_flags = (tp.t_flags & ~(TF_REQ_SCALE | TF_REQ_TSTMP | TF_SACK_PERMIT)) | (ltp.t_flags & 0x4) /* TF_NODELAY */;
    tp.t_keepinit = ltp.t_keepinit;
    tp.t_keepidle = ltp.t_keepidle;
    tp.t_keepintvl = ltp.t_keepintvl;
    tp.t_keepcnt = ltp.t_keepcnt;
    tp.iss = e.iss;
    tp.irs = e.irs;
    rcvseqinit(tp);
    sendseqinit(tp);
    setState(st, tp, TCPS_SYN_RECEIVED);
    tp.snd_wl1 = e.irs;
    tp.snd_max = tp.snd_nxt = (e.iss + 1) >>> 0;
    tp.rcv_up = (e.irs + 1) >>> 0;
    if (e.wscale >= 0) {
      tp.t_flags |= TF_REQ_SCALE | TF_RCVD_SCALE;
      tp.snd_scale = e.wscale;
      tp.request_r_scale = e.rscale;
    }
    if (e.ts) {
      tp.t_flags |= TF_REQ_TSTMP | TF_RCVD_TSTMP;
      tp.ts_recent = e.tsRecent;
      tp.ts_recent_age = tcp.now();
      tp.ts_offset = e.tsOffset;
    }
    if (e.sack) tp.t_flags |= TF_SACK_PERMIT;
    if (e.ecn) tp.t_flags |= TF_ECN_PERMIT;
    if (e.sig) tp.t_flags |= TF_SIGNATURE;
    tp.t_port = e.port ?? 0;
    tp.t_mssopt = e.mssopt;
    tcpMss(tcp, tp, e.peerMss);
    tp.rcv_wnd = e.wnd;
    tp.rcv_adv = (tp.rcv_adv + Math.min(so.so_rcv.sb_hiwat, TCP_MAXWIN)) >>> 0;
    tp.last_ack_sent = tp.rcv_nxt;
    st.tcps_accepts++;
    st.tcps_sc_completed++;
    return tp;
  }

  /**
   * syncache_respond: the SYN-ACK with the options the SYN asked for, or (flags
   * TH_ACK) a challenge ACK from the embryonic connection with timestamps only.
   */
  private respond(e: SyncacheEntry, flags = TH_SYN | TH_ACK): number {
    const tcp = this.tcp;
    const buf = tcp.outbuf;
    const th = TCP_OUT_OFF;
    const syn = (flags & TH_SYN) !== 0;
    let o = th + 20;
    if (!e.noopt) {
      if (syn) {
        buf[o] = 2;
        buf[o + 1] = 4;
        set16(buf, o + 2, e.mssopt);
        o += 4;
      }
      if (syn && e.wscale >= 0) {
        buf[o] = 1;
        buf[o + 1] = 3;
        buf[o + 2] = 3;
        buf[o + 3] = e.rscale;
        o += 4;
      }
      if (syn && e.sack) {
        if ((o - th - 20) & 1) buf[o++] = 1;
        buf[o] = 4;
        buf[o + 1] = 2;
        o += 2;
      }
      if (e.ts) {
        while (((o - th - 20) & 3) !== 2) buf[o++] = 1;
        buf[o] = 8;
        buf[o + 1] = 10;
        set32(buf, o + 2, (tcpTsGetticks(tcp) + e.tsOffset) >>> 0);
        set32(buf, o + 6, e.tsRecent);
        o += 10;
      }
      if (e.sig) o = tcpSignatureAddOption(buf, th, o);
      if ((o - th - 20) & 3) {
        buf[o++] = 0;
        while ((o - th - 20) & 3) buf[o++] = 0;
      }
    } else if (e.sig) o = tcpSignatureAddOption(buf, th, o);
    const hdrlen = o - th;
    set16(buf, th, e.lport);
    set16(buf, th + 2, e.fport);
    set32(buf, th + 4, syn ? e.iss : (e.iss + 1) >>> 0);
    set32(buf, th + 8, (e.irs + 1) >>> 0);
    buf[th + 12] = (hdrlen >>> 2) << 4;
    buf[th + 13] = flags | (syn && e.ecn ? TH_ECE : 0);
    set16(buf, th + 14, Math.min(e.wnd, TCP_MAXWIN));
    set16(buf, th + 18, 0);
    set16(buf, th + 16, pseudoSum(e.laddr, e.faddr, e.v4, hdrlen));
    // syncache_respond's TCPMD5_OUTPUT: no SA, no SYN-ACK. The option is last and ends
    // aligned (it starts at 2 mod 4), so its digest is the header's last 16 bytes.
    if (e.sig && tcpSignatureSign(tcp, buf, th, hdrlen, th + hdrlen - 16, e.laddr, e.faddr, e.v4) < 0)
      return -ERRNO.EACCES;
    tcp.stat.tcps_sndtotal++;
    tcp.stat.tcps_sndctrl++;
    const l = e.listener;
    const uh = e.port ? tcpTunnelEncap(tcp, buf, th, hdrlen, e.port, e.laddr, e.faddr, e.v4) : th;
    return (
      tcp.net?.output(
        e.v4,
        buf,
        uh,
        th + hdrlen - uh,
        e.laddr,
        e.faddr,
        l.inp_ip_ttl >= 0 ? l.inp_ip_ttl : 64,
        l.inp_ip_tos & ~3,
        0,
        l.inc_fibnum,
        tcp.t.path_mtu_discovery !== 0,
        uh !== th,
      ) ?? 0
    );
  }
}
