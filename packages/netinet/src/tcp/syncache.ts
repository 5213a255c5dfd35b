/**
 * The SYN cache and SYN cookies (FreeBSD tcp_syncache.c): a SYN to a listener
 * makes a small entry, not a socket; the SYN-ACK is retransmitted from it
 * (net.inet.tcp.syncache.rexmtlimit = 3); the socket is created when the handshake's
 * ACK arrives (syncache_expand → syncache_socket). When the cache is full and
 * net.inet.tcp.syncookies is on, the state travels in the ISN instead (a keyed hash
 * with the MSS index in its low bits, valid for two 15 s epochs).
 */
import { SipHash24, sipKeyFrom } from '../crypto/siphash.js';
import { EpochZone } from '../kern/epoch_zone.js';
import { get32, set16, set32 } from '@mcstack/wire';
import { seqGeq, seqLeq, seqGt, seqLt } from '@mcstack/wire';
import { TOF_MSS, TOF_SCALE, TOF_SACKPERM, TOF_TS } from '@mcstack/wire';
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
  type TcpSeg,
  sendseqinit,
  rcvseqinit,
} from './var.js';
import { setState } from './fsm.js';
import { TCP_OUT_OFF, pseudoSum, rangeset } from './output.js';
import { segAddrs, dropWithReset, tcpMss, mssFromMtu } from './input.js';

const SYNCACHE_MAXREXMTS = 3;
const SYNCACHE_LIMIT = 15360;
const tcp_syn_backoff = [1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64];
const COOKIE_MSS = [216, 536, 1200, 1360, 1400, 1440, 1452, 1460];
const COOKIE_EPOCH = 15_000_000;
/** Freed entries the zone keeps. */
const SYNCACHE_ZONE_MAX = 1024;
/** The syncookie MAC's message: two addresses of up to 16 bytes, ports, irs, epoch. */
const cookieMsg = new Uint8Array(44);

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
}

export class Syncache {
  /**
   * The cache (sch_bucket): bucket hash → the first entry, entries chained by `next`.
   * The hash is keyed by a secret seed (FreeBSD's sch_hashsecret), so a sender cannot aim
   * SYNs at one chain; no string is built per segment.
   */
  private buckets = new Map<number, SyncacheEntry>();
  private entries = 0;
  private readonly hashSeed: number;
  private readonly cookieKey: SipHash24;
  /** FreeBSD's "syncache" UMA zone: entries reused with their address arrays and callout. */
  readonly zone = new EpochZone<SyncacheEntry>(SYNCACHE_ZONE_MAX);
  /** struct in_conninfo of the SYN being handled: addresses and ports for mss and ISN. */
  private readonly inc: Inpcb;
  /** Source address the route lookup writes (unused: the SYN's destination is ours). */
  private readonly routeSrc = new Uint8Array(16);

  constructor(private readonly tcp: Tcp) {
    const secret = sipKeyFrom(tcp.random);
    this.cookieKey = new SipHash24(secret);
    // From the secret already drawn: another draw would shift the engine's seeded sequence.
    this.hashSeed = get32(secret, 0) ^ get32(secret, 8);
    this.inc = new Inpcb(tcp.pcbinfo, null, false);
  }

  get size(): number {
    return this.entries;
  }

  /** Entries of one listener (for sockstat and tests). */
  count(listener?: Inpcb): number {
    if (!listener) return this.entries;
    return this.list().filter((e) => e.listener === listener).length;
  }

  /** Every entry (control paths only). */
  private list(): SyncacheEntry[] {
    const out: SyncacheEntry[] = [];
    for (const head of this.buckets.values())
      for (let e: SyncacheEntry | null = head; e !== null; e = e.next) out.push(e);
    return out;
  }

  /** The bucket of a 4-tuple: the group table's tuple hash under this cache's secret seed. */
  private hashOf(laddr: Uint8Array, faddr: Uint8Array, lport: number, fport: number): number {
    return hashTuple(get32(faddr, 12), fport, get32(laddr, 12), lport, -1, this.hashSeed);
  }

  private find(
    h: number,
    laddr: Uint8Array,
    faddr: Uint8Array,
    lport: number,
    fport: number,
  ): SyncacheEntry | undefined {
    for (let e = this.buckets.get(h) ?? null; e !== null; e = e.next) {
      if (e.lport === lport && e.fport === fport && addrEq(e.laddr, laddr, 0, 16) && addrEq(e.faddr, faddr, 0, 16))
        return e;
    }
    return undefined;
  }

  private insert(e: SyncacheEntry): void {
    e.next = this.buckets.get(e.hash) ?? null;
    this.buckets.set(e.hash, e);
    this.entries++;
  }

  /** Take `e` out of its chain; false when the cache did not hold it. */
  private unlink(e: SyncacheEntry): boolean {
    let prev: SyncacheEntry | null = null;
    for (let c = this.buckets.get(e.hash) ?? null; c !== null; prev = c, c = c.next) {
      if (c !== e) continue;
      if (prev !== null) prev.next = e.next;
      else if (e.next !== null) this.buckets.set(e.hash, e.next);
      else this.buckets.delete(e.hash);
      e.next = null;
      this.entries--;
      return true;
    }
    return false;
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
    const h = this.hashOf(laddr, faddr, s.dport, s.sport);
    const sc = this.find(h, laddr, faddr, s.dport, s.sport);
    // RFC 9293 §3.10.7.2 first: an RST to a listener is ignored, unless it hits a syncache entry.
    if (f & TH_RST) {
      if (sc !== undefined) this.chkrst(sc, s);
      return null;
    }
    if ((f & TH_SYN) === 0 && (f & TH_ACK) !== 0) return this.expand(ltp, sc, s, laddr, faddr);
    // Second: SYN|ACK is bogus on a listen socket. RFC 9293 §3.10.7.2 would answer with
    // an RST; FreeBSD's tcp_input drops it silently ("SYN|ACK invalid, segment rejected").
    if (f & TH_ACK) {
      st.tcps_badsyn++;
      return null;
    }
    // Third: a SYN.
    if ((f & TH_SYN) === 0) return null;
    const so = ltp.inp.inp_socket;
    if (so === null) return null;
    if (so.so_comp.length >= so.so_qlimit) {
      st.tcps_listendrop++;
      return null;
    }
    if (sc !== undefined) {
      // A retransmitted SYN: answer again (syncache_add's duplicate path).
      st.tcps_sc_dupsyn++;
      sc.irs = s.seq;
      this.respond(sc);
      sc.rxmits = 0;
      this.arm(sc);
      return null;
    }
    const o = tcp.opt;
    const t = tcp.t;
    const v4 = s.v4;
    const mtu = tcp.net ? tcp.net.route(v4, faddr, laddr, this.routeSrc) : -1;
    const e = this.alloc();
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
    e.noopt = (ltp.t_flags & TF_NOOPT) !== 0;
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
    e.mssopt = mssFromMtu(tcp, tmp, mtu > 0 ? mtu : 1500);
    if (e.wscale >= 0) {
      while (e.rscale < TCP_MAX_WINSHIFT && TCP_MAXWIN << e.rscale < t.maxsockbuf) e.rscale++;
    }
    if (e.ts) e.tsOffset = tcp.isn.tsOffset(tmp);
    if (this.entries >= SYNCACHE_LIMIT || t.syncookies_only) {
      if (!t.syncookies) {
        st.tcps_sc_cacheoverflow++;
        this.zone.release(e);
        return null;
      }
      // No room (or cookies only): the SYN-ACK carries the state (syncookie_generate).
      e.iss = this.cookie(e, tcp.now(), 0);
      e.wscale = -1;
      e.ts = false;
      e.sack = false;
      e.ecn = false;
      st.tcps_sc_sendcookie++;
      this.respond(e);
      this.zone.release(e);
      return null;
    }
    e.iss = tcp.isn.newIsn(tmp, tcp.now());
    this.insert(e);
    st.tcps_sc_added++;
    this.respond(e);
    this.arm(e);
    return null;
  }

  private arm(e: SyncacheEntry): void {
    const tcp = this.tcp;
    const rexmt = tcp.t.rexmit_initial * 1000 * tcp_syn_backoff[e.rxmits]!;
    tcp.wheel.reset(e.timer, tcp.now() + rangeset(tcp, rexmt, tcp.t.rexmit_min * 1000, TCPTV_REXMTMAX));
  }

  /** syncache_timer: retransmit the SYN-ACK, or give up after rexmtlimit. */
  private timeout(e: SyncacheEntry): void {
    const tcp = this.tcp;
    if (e.rxmits >= SYNCACHE_MAXREXMTS) {
      this.unlink(e);
      this.zone.release(e);
      tcp.stat.tcps_sc_stale++;
      return;
    }
    e.rxmits++;
    tcp.stat.tcps_sc_retransmitted++;
    this.respond(e);
    this.arm(e);
  }

  /** syncache_chkrst (RFC 5961 §3.2 for the embryonic connection). */
  private chkrst(e: SyncacheEntry, s: TcpSeg): void {
    const tcp = this.tcp;
    // RFC 9293 §3.10.7.4 first / RFC 5961 §3.2: in window is RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND.
    const rcvNxt = (e.irs + 1) >>> 0;
    if ((seqGeq(s.seq, rcvNxt) && seqLt(s.seq, (rcvNxt + e.wnd) >>> 0)) || (e.wnd === 0 && s.seq === rcvNxt)) {
      if (tcp.t.insecure_rst || s.seq === rcvNxt) {
        this.remove(e);
        tcp.stat.tcps_sc_reset++;
      } else {
        tcp.stat.tcps_badrst_chackrst++;
        this.respond(e, TH_ACK);
      }
    } else {
      tcp.stat.tcps_badrst++;
    }
  }

  private remove(e: SyncacheEntry): void {
    this.tcp.wheel.stop(e.timer);
    // Into the zone once, and only an entry the cache held.
    if (this.unlink(e)) this.zone.release(e);
  }

  /** An entry from the zone, so a SYN allocates nothing once the zone is warm. */
  private alloc(): SyncacheEntry {
    const e = this.zone.take();
    if (e !== undefined) return e;
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
    } satisfies SyncacheEntry;
    n.timer = new Callout(() => this.timeout(n));
    return n;
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

  /** syncookie: 29 hash bits and the MSS index (RFC 4987 §3.6 style). */
  private cookie(e: SyncacheEntry, now: number, epochBack: number): number {
    const epoch = Math.floor(now / COOKIE_EPOCH) - epochBack;
    let idx = 0;
    const mss = e.peerMss || 536;
    for (let i = COOKIE_MSS.length - 1; i >= 0; i--)
      if (COOKIE_MSS[i]! <= mss) {
        idx = i;
        break;
      }
    // syncookie_mac: SipHash-2-4 over faddr, laddr (4 or 16 bytes), fport, lport, irs, epoch.
    const m = cookieMsg;
    const a = e.faddr.length;
    m.set(e.faddr, 0);
    m.set(e.laddr, a);
    let p = 2 * a;
    m[p++] = e.fport >>> 8;
    m[p++] = e.fport;
    m[p++] = e.lport >>> 8;
    m[p++] = e.lport;
    m[p++] = e.irs >>> 24;
    m[p++] = e.irs >>> 16;
    m[p++] = e.irs >>> 8;
    m[p++] = e.irs;
    m[p++] = epoch >>> 24;
    m[p++] = epoch >>> 16;
    m[p++] = epoch >>> 8;
    m[p++] = epoch;
    const h = this.cookieKey.hash32(m, 0, p);
    return ((h & ~7) | idx) >>> 0;
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
    laddr: Uint8Array,
    faddr: Uint8Array,
  ): Tcpcb | null {
    const tcp = this.tcp;
    const st = tcp.stat;
    if (sc === undefined) {
      // Maybe a cookie.
      if (tcp.t.syncookies) {
        const e = {
          hash: 0,
          next: null,
          listener: ltp.inp,
          v4: s.v4,
          laddr: laddr.slice(),
          faddr: faddr.slice(),
          lport: s.dport,
          fport: s.sport,
          iss: (s.ack - 1) >>> 0,
          irs: (s.seq - 1) >>> 0,
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
        } as SyncacheEntry;
        const idx = e.iss & 7;
        e.peerMss = COOKIE_MSS[idx]!;
        const now = tcp.now();
        if (this.cookie(e, now, 0) === e.iss || this.cookie(e, now, 1) === e.iss) {
          st.tcps_sc_recvcookie++;
          const so = ltp.inp.inp_socket;
          e.wnd = so ? so.so_rcv.sb_hiwat : 65535;
          const mtu = tcp.net ? tcp.net.route(s.v4, faddr, laddr, new Uint8Array(16)) : 1500;
          const tmp = new Inpcb(tcp.pcbinfo, null, !s.v4);
          tmp.inp_vflag = s.v4 ? INP_IPV4 : INP_IPV6;
          e.mssopt = mssFromMtu(tcp, tmp, mtu > 0 ? mtu : 1500);
          return this.socket(ltp, e);
        }
      }
      st.tcps_sc_badack++;
      dropWithReset(tcp, null, s);
      return null;
    }
    if (s.ack !== (sc.iss + 1) >>> 0 || seqLeq(s.seq, sc.irs) || seqGt(s.seq, (sc.irs + 1 + sc.wnd) >>> 0)) {
      st.tcps_sc_badack++;
      dropWithReset(tcp, null, s);
      return null;
    }
    this.remove(sc);
    return this.socket(ltp, sc);
  }

  /** syncache_socket: a new socket in SYN-RECEIVED, its tcpcb, or null when the listener cannot take it. */
  private socket(ltp: Tcpcb, e: SyncacheEntry): Tcpcb | null {
    const tcp = this.tcp;
    const st = tcp.stat;
    const lso = ltp.inp.inp_socket;
    if (lso === null) return null;
    const so = tcp.sockets.newconn(lso);
    if (so === null) {
      st.tcps_listendrop++;
      st.tcps_sc_dropped++;
      return null;
    }
    const inp = new Inpcb(tcp.pcbinfo, so, ltp.inp.isV6 || (ltp.inp.inp_vflag & 0x4) !== 0);
    inp.inp_flags = ltp.inp.inp_flags;
    inp.inp_ip_tos = ltp.inp.inp_ip_tos;
    inp.inp_ip_ttl = ltp.inp.inp_ip_ttl;
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
  private respond(e: SyncacheEntry, flags = TH_SYN | TH_ACK): void {
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
      if ((o - th - 20) & 3) {
        buf[o++] = 0;
        while ((o - th - 20) & 3) buf[o++] = 0;
      }
    }
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
    tcp.stat.tcps_sndtotal++;
    tcp.stat.tcps_sndctrl++;
    const l = e.listener;
    tcp.net?.output(
      e.v4,
      buf,
      th,
      hdrlen,
      e.laddr,
      e.faddr,
      l.inp_ip_ttl >= 0 ? l.inp_ip_ttl : 64,
      l.inp_ip_tos & ~3,
      0,
      tcp.t.path_mtu_discovery !== 0,
    );
  }
}
