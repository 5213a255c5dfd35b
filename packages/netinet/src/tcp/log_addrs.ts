/**
 * tcp_log_addrs and tcp_log_vain (tcp_subr.c): the "TCP: [src]:sport to [dst]:dport
 * tcpflags 0x2<SYN>" prefix of the stack's TCP log lines. tcp_log_addrs lines are
 * debugging detail, logged at LOG_DEBUG only under net.inet.tcp.log_debug; log_in_vain
 * has its own switch and priority (tcp/input.ts) and shares only the prefix.
 */
import { formatIPv4, formatIPv6 } from '@mcstack/wire';
import { LOG_DEBUG } from '../kern/msgbuf.js';
import type { Tcp } from './subr.js';

/** The tcpflags bit names of FreeBSD's %b format (PRINT_TH_FLAGS). */
const TH_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

/** struct in_conninfo as the log needs it: addresses in 16-byte form (IPv4 in the last 4 bytes). */
export interface LogAddrs {
  v4: boolean;
  faddr: Uint8Array;
  fport: number;
  laddr: Uint8Array;
  lport: number;
}

/** The prefix for a segment from faddr:fport to laddr:lport; `flags` < 0 leaves out tcpflags (no header). */
export function tcpLogPrefix(a: LogAddrs, flags: number): string {
  const fmt = (x: Uint8Array) => (a.v4 ? formatIPv4(x, 12) : formatIPv6(x, 0));
  let s = `TCP: [${fmt(a.faddr)}]:${a.fport} to [${fmt(a.laddr)}]:${a.lport}`;
  if (flags >= 0) {
    const names = TH_FLAG_NAMES.filter((_, i) => (flags & (1 << i)) !== 0).join(',');
    s += ` tcpflags 0x${flags.toString(16)}<${names}>`;
  }
  return s;
}

/**
 * log(LOG_DEBUG, "%s; %s: %s\n", tcp_log_addrs(...), func, msg) when net.inet.tcp.log_debug
 * is on. Only paths for bad or unusual segments call it, so building `msg` is not per packet.
 */
export function tcpLogDebug(tcp: Tcp, a: LogAddrs, flags: number, func: string, msg: string): void {
  if (tcp.t.log_debug === 0 || tcp.log === undefined) return;
  tcp.log(LOG_DEBUG, `${tcpLogPrefix(a, flags)}; ${func}: ${msg}`);
}
