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

/**
 * The prefix for a segment from faddr:fport to laddr:lport (16-byte address forms, IPv4
 * in the last 4 bytes); `flags` < 0 leaves out tcpflags (tcp_log_addrs without a header).
 */
export function tcpLogPrefix(
  v4: boolean,
  faddr: Uint8Array,
  fport: number,
  laddr: Uint8Array,
  lport: number,
  flags: number,
): string {
  const fmt = (a: Uint8Array) => (v4 ? formatIPv4(a, 12) : formatIPv6(a, 0));
  let s = `TCP: [${fmt(faddr)}]:${fport} to [${fmt(laddr)}]:${lport}`;
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
export function tcpLogDebug(
  tcp: Tcp,
  v4: boolean,
  faddr: Uint8Array,
  fport: number,
  laddr: Uint8Array,
  lport: number,
  flags: number,
  func: string,
  msg: string,
): void {
  if (tcp.t.log_debug === 0 || tcp.log === undefined) return;
  tcp.log(LOG_DEBUG, `${tcpLogPrefix(v4, faddr, fport, laddr, lport, flags)}; ${func}: ${msg}`);
}
