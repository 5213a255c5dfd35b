/**
 * The TCP host cache (FreeBSD tcp_hostcache.c): per remote host, the path MTU
 * learnt from ICMP and the RTT, variance and ssthresh of connections that closed,
 * so new connections start from them. `net.inet.tcp.hostcache.purgenow=1` empties
 * it; `hostcache.enable=0` stops lookups and updates; entries expire after
 * `hostcache.expire` seconds of virtual time.
 */
import { get32 } from '@mcstack/wire';
import { addrIsV4Mapped } from '../netinet/in_pcb.js';

export interface HcMetrics {
  rmx_mtu: number;
  rmx_ssthresh: number;
  rmx_rtt: number;
  rmx_rttvar: number;
  rmx_cwnd: number;
  rmx_sendpipe: number;
  rmx_recvpipe: number;
  /** Updates folded into the averages. */
  rmx_hits: number;
  expire: number;
}

const keyBuf: string[] = [];

export class TcpHostcache {
  private entries = new Map<string | number, HcMetrics>();
  constructor(private readonly t: { hostcache_enable: number; hostcache_expire: number }) {}

  /** An IPv4 host is its 32-bit address (no string per lookup); IPv6 a string. */
  private key(addr: Uint8Array): string | number {
    if (addrIsV4Mapped(addr)) return get32(addr, 12);
    keyBuf.length = 0;
    for (let i = 0; i < 16; i++) keyBuf.push(addr[i]!.toString(16));
    return keyBuf.join(':');
  }

  get size(): number {
    return this.entries.size;
  }

  /** tcp_hc_get: the entry for a host, or undefined. */
  get(addr: Uint8Array, now: number): HcMetrics | undefined {
    if (!this.t.hostcache_enable) return undefined;
    const k = this.key(addr);
    const e = this.entries.get(k);
    if (e && e.expire <= now) {
      this.entries.delete(k);
      return undefined;
    }
    return e;
  }

  private entry(addr: Uint8Array, now: number): HcMetrics | undefined {
    if (!this.t.hostcache_enable) return undefined;
    const k = this.key(addr);
    let e = this.entries.get(k);
    if (!e) {
      e = {
        rmx_mtu: 0,
        rmx_ssthresh: 0,
        rmx_rtt: 0,
        rmx_rttvar: 0,
        rmx_cwnd: 0,
        rmx_sendpipe: 0,
        rmx_recvpipe: 0,
        rmx_hits: 0,
        expire: 0,
      };
      this.entries.set(k, e);
    }
    e.expire = now + this.t.hostcache_expire * 1_000_000;
    return e;
  }

  /** tcp_hc_updatemtu: ICMP "fragmentation needed" / "packet too big". */
  updateMtu(addr: Uint8Array, mtu: number, now: number): void {
    const e = this.entry(addr, now);
    if (e) e.rmx_mtu = mtu;
  }

  /** tcp_hc_update: fold a closing connection's metrics in (averaged as FreeBSD does). */
  update(addr: Uint8Array, m: { rtt: number; rttvar: number; ssthresh: number; cwnd: number }, now: number): void {
    const e = this.entry(addr, now);
    if (!e) return;
    const avg = (old: number, v: number) => (old === 0 ? v : Math.floor((old + v) / 2));
    if (m.rtt) e.rmx_rtt = avg(e.rmx_rtt, m.rtt);
    if (m.rttvar) e.rmx_rttvar = avg(e.rmx_rttvar, m.rttvar);
    if (m.ssthresh) e.rmx_ssthresh = avg(e.rmx_ssthresh, m.ssthresh);
    if (m.cwnd) e.rmx_cwnd = avg(e.rmx_cwnd, m.cwnd);
    e.rmx_hits++;
  }

  purge(): void {
    this.entries.clear();
  }

  /** The entries by host (IPv4 dotted, IPv6 as kept). */
  list(): [string, HcMetrics][] {
    return [...this.entries].map(([k, e]): [string, HcMetrics] => [
      typeof k === 'number' ? `${k >>> 24}.${(k >>> 16) & 255}.${(k >>> 8) & 255}.${k & 255}` : k,
      e,
    ]);
  }
}
