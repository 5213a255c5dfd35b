/**
 * ARP (RFC 826, netinet/if_ether.c) and the IPv4 link-layer table (llentry).
 *
 * Resolution is driven by outgoing traffic, as FreeBSD's arpresolve: a miss makes
 * an incomplete entry, holds the packet (one per entry, la_hold, net.link.ether
 * .inet.maxhold = 1: a newer packet replaces the held one, counted as dropped) and
 * broadcasts a request, at most once per second and at most maxtries times; after
 * that the destination is down (EHOSTDOWN, or EHOSTUNREACH via a gateway) until
 * the entry expires, net.link.ether.inet.wait seconds after the last request
 * (arpt_down). A resolved entry lives max_age seconds. Timers are callouts.
 */
import type { InetVnet } from './in_var.js';
import type { Ifnet } from '../net/if.js';
import type { FrameMeta } from '../net/mbuf.js';
import { MAX_LINKHDR } from '../net/mbuf.js';
import { Callout } from '../kern/callout.js';
import { ERRNO } from '../kern/errno.js';
import { get16, get32, set16, set32 } from '@mcstack/wire';
import { ETHER_HDR_LEN, ETHERTYPE_IP, ETHERTYPE_ARP } from '@mcstack/wire';
import { inetNtoa, ifaddr4For } from './in.js';
import { etherOutputFrame, etherSendHeld, ETHER_BCAST } from '../net/if_ethersubr.js';
import { holdPacket } from '../net/if_llatbl.js';
import type { HeldPacket } from '../net/if_llatbl.js';

export const ARPHRD_ETHER = 1;
export const ARPHRD_IEEE802 = 6;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
/** arphdr + two (6-byte, 4-byte) address pairs. */
export const ARP_ETHER_IP_LEN = 28;
export const ETHER_MIN_LEN_NOCRC = 60;

/** struct arpstat (netinet/if_ether.h). */
export class ArpStat {
  txrequests = 0;
  txreplies = 0;
  rxrequests = 0;
  rxreplies = 0;
  received = 0;
  dropped = 0; // packets dropped waiting for resolution (or malformed ARP)
  timeouts = 0; // entries removed by timeout
  dupips = 0; // someone else claims one of our addresses
}

export const LLE_INCOMPLETE = 0;
export const LLE_VALID = 1;
export const LLE_STATIC = 2;

export class ArpEntry {
  lladdr = new Uint8Array(6);
  state = LLE_INCOMPLETE;
  /** Requests sent for this (incomplete) entry (la_asked). */
  asked = 0;
  /** Last request time (µs), for one request per second. */
  lastAsked = -Infinity;
  /** Expiry time (µs) of the current state. */
  expire = 0;
  hold: HeldPacket | null = null;
  readonly timer: Callout;
  constructor(
    readonly ifp: Ifnet,
    readonly addr: number,
    onTimer: (e: ArpEntry) => void,
  ) {
    this.timer = new Callout(() => onTimer(this));
  }
}

export class Arp {
  readonly stat = new ArpStat();
  /** net.link.ether.inet.*: max_age and wait in seconds. */
  readonly tun = {
    max_age: 1200,
    maxtries: 5,
    wait: 20,
    maxhold: 1,
    useloopback: 1,
    proxyall: 0,
    log_arp_wrong_iface: 1,
  };
  private tables = new Map<Ifnet, Map<number, ArpEntry>>();

  constructor(private readonly ns: InetVnet) {}

  private table(ifp: Ifnet): Map<number, ArpEntry> {
    let t = this.tables.get(ifp);
    if (!t) {
      t = new Map();
      this.tables.set(ifp, t);
    }
    return t;
  }

  lookup(ifp: Ifnet, addr: number): ArpEntry | null {
    return this.tables.get(ifp)?.get(addr) ?? null;
  }

  /** Every entry (`arp -an`). */
  entries(): ArpEntry[] {
    const out: ArpEntry[] = [];
    for (const t of this.tables.values()) out.push(...t.values());
    return out;
  }

  /** `arp -s`: a static entry that never expires. */
  addStatic(ifp: Ifnet, addr: number, lladdr: Uint8Array): void {
    const e = this.entry(ifp, addr);
    e.lladdr.set(lladdr.subarray(0, 6));
    e.state = LLE_STATIC;
    this.ns.callouts.stop(e.timer);
    this.flushHold(e);
  }

  /** `arp -d` (also used when an address or interface goes away). */
  delete(ifp: Ifnet, addr: number): boolean {
    const e = this.tables.get(ifp)?.get(addr);
    if (!e) return false;
    this.free(e);
    return true;
  }

  /** Drop every entry of an interface (down, detach). */
  flush(ifp: Ifnet): void {
    const t = this.tables.get(ifp);
    if (!t) return;
    for (const e of [...t.values()]) this.free(e);
    // The table goes too: a detached interface must not stay reachable from here.
    this.tables.delete(ifp);
  }

  private entry(ifp: Ifnet, addr: number): ArpEntry {
    const t = this.table(ifp);
    let e = t.get(addr);
    if (!e) {
      e = new ArpEntry(ifp, addr, (x) => this.timer(x));
      t.set(addr, e);
    }
    return e;
  }

  private free(e: ArpEntry): void {
    this.ns.callouts.stop(e.timer);
    if (e.hold) {
      this.stat.dropped++;
      e.hold = null;
    }
    this.tables.get(e.ifp)?.delete(e.addr);
  }

  /** arptimer: the entry's state expired. */
  private timer(e: ArpEntry): void {
    if (e.state === LLE_STATIC) return;
    this.stat.timeouts++;
    this.free(e);
  }

  /**
   * arpresolve: the link address for `nexthop`, or null when the packet was held
   * (or dropped) pending resolution, or -errno (EHOSTDOWN / EHOSTUNREACH) when the
   * neighbor did not answer maxtries requests.
   */
  resolve(
    ifp: Ifnet,
    nexthop: number,
    viaGateway: boolean,
    buf: Uint8Array,
    off: number,
    len: number,
    meta: FrameMeta,
  ): Uint8Array | null | number {
    const e = this.tables.get(ifp)?.get(nexthop);
    if (e !== undefined && e.state !== LLE_INCOMPLETE) return e.lladdr;
    const now = this.ns.ctx.now();
    const ent = e ?? this.entry(ifp, nexthop);
    if (ent.asked >= this.tun.maxtries) {
      this.stat.dropped++;
      return -(viaGateway ? ERRNO.EHOSTUNREACH : ERRNO.EHOSTDOWN);
    }
    if (this.tun.maxhold > 0) {
      if (ent.hold) this.stat.dropped++;
      ent.hold = holdPacket(buf, off, len, meta);
    } else {
      this.stat.dropped++;
    }
    if (now - ent.lastAsked >= 1e6) {
      ent.asked++;
      ent.lastAsked = now;
      this.ns.callouts.reset(ent.timer, now + this.tun.wait * 1e6);
      this.request(ifp, ifaddr4For(ifp, nexthop)?.addr ?? 0, nexthop, null);
    }
    return null;
  }

  /** arprequest: who-has `tip` tell `sip`, broadcast (or unicast to `enaddr`). */
  request(ifp: Ifnet, sip: number, tip: number, enaddr: Uint8Array | null): void {
    if (ifp.lladdr === null) return;
    const f = new Uint8Array(MAX_LINKHDR - ETHER_HDR_LEN + ETHER_MIN_LEN_NOCRC);
    const o = MAX_LINKHDR;
    this.fill(f, o, ARPOP_REQUEST, ifp.lladdr, sip, null, tip);
    this.stat.txrequests++;
    etherOutputFrame(
      this.ns,
      ifp,
      f,
      o,
      ETHER_MIN_LEN_NOCRC - ETHER_HDR_LEN,
      enaddr ?? ETHER_BCAST,
      ETHERTYPE_ARP,
      null,
    );
  }

  private fill(
    f: Uint8Array,
    o: number,
    op: number,
    sha: Uint8Array,
    spa: number,
    tha: Uint8Array | null,
    tpa: number,
  ): void {
    set16(f, o, ARPHRD_ETHER);
    set16(f, o + 2, ETHERTYPE_IP);
    f[o + 4] = 6;
    f[o + 5] = 4;
    set16(f, o + 6, op);
    f.set(sha.subarray(0, 6), o + 8);
    set32(f, o + 14, spa);
    if (tha) f.set(tha.subarray(0, 6), o + 18);
    else f.fill(0, o + 18, o + 24);
    set32(f, o + 24, tpa);
  }

  /** in_arpinput: an ARP packet at buf[off, off+len) received on ifp. */
  input(ifp: Ifnet, buf: Uint8Array, off: number, len: number): void {
    const st = this.stat;
    st.received++;
    if (len < 8) {
      st.dropped++;
      return;
    }
    const hrd = get16(buf, off);
    if (
      (hrd !== ARPHRD_ETHER && hrd !== ARPHRD_IEEE802) ||
      get16(buf, off + 2) !== ETHERTYPE_IP ||
      buf[off + 4] !== 6 ||
      buf[off + 5] !== 4 ||
      len < ARP_ETHER_IP_LEN ||
      ifp.lladdr === null
    ) {
      st.dropped++;
      return;
    }
    const op = get16(buf, off + 6);
    if (op === ARPOP_REQUEST) st.rxrequests++;
    else if (op === ARPOP_REPLY) st.rxreplies++;
    else {
      st.dropped++;
      return;
    }
    const sha = off + 8;
    const spa = get32(buf, off + 14);
    const tpa = get32(buf, off + 24);
    const my = ifp.lladdr;
    let isMine = true;
    let isBcast = true;
    for (let i = 0; i < 6; i++) {
      if (buf[sha + i] !== my[i]) isMine = false;
      if (buf[sha + i] !== 0xff) isBcast = false;
    }
    if (isMine) return; // our own request, looped back by a switch
    if (isBcast) {
      st.dropped++;
      return;
    } // "link address is broadcast"
    if (spa === 0) {
      // RFC 5227 probe: answer if it is for us, learn nothing.
      if (op === ARPOP_REQUEST && ifp.hasAddr4(tpa)) this.reply(ifp, buf, off, tpa);
      return;
    }
    if (ifp.hasAddr4(spa)) {
      st.dupips++;
      return;
    } // "is using my IP address"
    const forUs = ifp.hasAddr4(tpa);
    const t = this.tables.get(ifp);
    let e = t?.get(spa);
    // RFC 826: update an existing entry from any ARP; create one only when addressed to us.
    if (e === undefined && forUs) e = this.entry(ifp, spa);
    if (e !== undefined && e.state !== LLE_STATIC) {
      e.lladdr.set(buf.subarray(sha, sha + 6));
      e.state = LLE_VALID;
      e.asked = 0;
      this.ns.callouts.reset(e.timer, this.ns.ctx.now() + this.tun.max_age * 1e6);
      this.flushHold(e);
    }
    if (op === ARPOP_REQUEST && forUs) this.reply(ifp, buf, off, tpa);
  }

  private reply(ifp: Ifnet, req: Uint8Array, off: number, myAddr: number): void {
    const f = new Uint8Array(MAX_LINKHDR - ETHER_HDR_LEN + ETHER_MIN_LEN_NOCRC);
    const o = MAX_LINKHDR;
    const sha = req.slice(off + 8, off + 14);
    this.fill(f, o, ARPOP_REPLY, ifp.lladdr!, myAddr, sha, get32(req, off + 14));
    this.stat.txreplies++;
    etherOutputFrame(this.ns, ifp, f, o, ETHER_MIN_LEN_NOCRC - ETHER_HDR_LEN, sha, ETHERTYPE_ARP, null);
  }

  private flushHold(e: ArpEntry): void {
    const h = e.hold;
    if (h === null) return;
    e.hold = null;
    etherSendHeld(this.ns, e.ifp, h, e.lladdr, ETHERTYPE_IP);
  }

  toString(): string {
    return this.entries()
      .map(
        (e) =>
          `? (${inetNtoa(e.addr)}) at ${
            e.state === LLE_INCOMPLETE
              ? '(incomplete)'
              : [...e.lladdr].map((b) => b.toString(16).padStart(2, '0')).join(':')
          } on ${e.ifp.name}`,
      )
      .join('\n');
  }
}
