/**
 * netstat(1) in FreeBSD's formats (usr.bin/netstat inet.c, inet6.c, route.c):
 *
 * - connections (`-n [-a] [-x] -p tcp|udp`): protopr's columns, addresses as
 *   `addr.port` (`*` for the unspecified address or port), `tcp4`/`tcp6`/`udp46`
 *   and `toe4`/`toe6` for offloaded connections; `-x` adds the socket-buffer
 *   columns and the TCP timers (rexmt, persist, keep, 2msl, delack, rcvtime);
 * - statistics (`-s [-p proto]`): tcp_stats, udp_stats, ip_stats, icmp_stats,
 *   ip6_stats, icmp6_stats wording, counters summed over every worker. Lines whose
 *   counter this stack does not keep are left out rather than printed as 0;
 * - routes (`-rn [-F fib]`): routepr's table per address family.
 */
import { SysError } from '../kern/errno.js';
import { INP_IPV4, INP_IPV6 } from '../netinet/in_pcb.js';
import { tcpstates } from '../tcp/var.js';
import type { ConnectionSnapshot, CounterBlock, RouteSnapshot, StackSnapshot } from './snapshot.js';
import { sumSnapshotCounters } from './snapshot.js';
import { left, right, plural, plurales, pluralies } from './fmt.js';

/* ================================================================ connections */

export interface ConnectionsOptions {
  proto: 'tcp' | 'udp';
  /** -a: include listeners and sockets bound to the unspecified address. */
  all?: boolean;
  /** -4 / -6 (af1 AF_INET / AF_INET6); both when absent. */
  family?: 4 | 6;
  /** -x: socket-buffer columns and TCP timers instead of the state. */
  x?: boolean;
}

/** inetprint / inet6print with -n: `addr.port` in a 22-column field, then a space. */
function addrPort(addr: string, port: number): string {
  const unspec = addr === '0.0.0.0' || addr === '::';
  const line = `${(unspec ? '*' : addr).slice(0, 16)}.${port === 0 ? '*' : port} `;
  return `${left(line, 22)} `;
}

/** xtcp_timer fields are ms; netstat prints them as %4d.%02d seconds. */
function secs(s: number): string {
  const ms = Math.floor(s * 1000 + 1e-6);
  return `${right(Math.floor(ms / 1000), 4)}.${String(Math.floor((ms % 1000) / 10)).padStart(2, '0')}`;
}

function protoName(c: ConnectionSnapshot): string {
  const v = c.vflag & INP_IPV6 ? (c.vflag & INP_IPV4 ? '46' : '6') : c.vflag & INP_IPV4 ? '4' : '';
  const name = c.toe ? 'toe' : c.proto;
  return `${left(name, 3)}${left(v, 2)} `;
}

/**
 * protopr: `netstat -n [-a] [-x] -p tcp|udp`. Nothing at all when no socket
 * matches (the header comes with the first row, as in FreeBSD).
 */
export function formatConnections(snaps: readonly StackSnapshot[], o: ConnectionsOptions): string {
  const rows: string[] = [];
  for (const s of snaps) {
    for (const c of s.connections) {
      if (c.proto !== o.proto) continue;
      if (o.family === 4 && !(c.vflag & INP_IPV4)) continue;
      if (o.family === 6 && !(c.vflag & INP_IPV6)) continue;
      const unspec = c.laddr === '0.0.0.0' || c.laddr === '::';
      if (!o.all && (c.state === 'LISTEN' || unspec)) continue;
      let line = protoName(c);
      line += `${right(c.recvQ, 6)} ${right(c.sendQ, 6)} `;
      line += addrPort(c.laddr, c.lport) + addrPort(c.faddr, c.fport);
      if (o.x) {
        // No mbufs here (socket buffers are byte rings): MBUF/CLUS are 0, BCNT is
        // the bytes held and BMAX the high-water mark.
        line += [0, 0, 0, 0, c.rcvHiwat, c.sndHiwat, c.rcvLowat, c.sndLowat, c.recvQ, c.sendQ, c.rcvHiwat, c.sndHiwat]
          .map((n) => right(n, 6))
          .join(' ');
        if (c.timers) {
          const t = c.timers;
          line += ` ${secs(t.rexmt)} ${secs(t.persist)} ${secs(t.keep)} ${secs(t['2msl'])} ${secs(t.delack)} ${secs(t.rcvtime)}`;
        }
      } else if (c.state !== null) {
        line += left(c.state, 11, false);
      }
      rows.push(`${line}\n`);
    }
  }
  if (rows.length === 0) return '';
  let head = `Active Internet connections${o.all ? ' (including servers)' : ''}\n`;
  head += `${left('Proto', 5)} ${left('Recv-Q', 6)} ${left('Send-Q', 6)} ${left('Local Address', 22)} ${left('Foreign Address', 22)}`;
  if (o.x) {
    head += ` ${[
      'R-MBUF',
      'S-MBUF',
      'R-CLUS',
      'S-CLUS',
      'R-HIWA',
      'S-HIWA',
      'R-LOWA',
      'S-LOWA',
      'R-BCNT',
      'S-BCNT',
      'R-BMAX',
      'S-BMAX',
    ]
      .map((h) => left(h, 6))
      .join(' ')}`;
    head += ` ${['rexmt', 'persist', 'keep', '2msl', 'delack', 'rcvtime'].map((h) => right(h, 7, true)).join(' ')}`;
  } else {
    head += ` ${left('(state)', 11)}`;
  }
  return `${head}\n${rows.join('')}`;
}

/* ================================================================ statistics */

/** A line of a stats table: the format with %s for the value(s), and how to print it. */
type Line =
  | { k: 'p'; f: string; m: string } // value, plural(value)
  | { k: 'p1a'; f: string; m: string } // value only
  | { k: 'p2'; f: string; g: string; m: string } // v1, plural(v1), v2, plural(v2)
  | { k: 'p2a'; f: string; g: string; m: string } // v1, plural(v1), v2
  | { k: 'p3'; f: string; m: string; pl: (n: number) => string } // value, plurales/pluralies
  | { k: 'raw'; text: (c: CounterBlock, zeros: boolean) => string };

const p = (f: string, m: string): Line => ({ k: 'p', f, m });
const p1a = (f: string, m: string): Line => ({ k: 'p1a', f, m });
const p2 = (f: string, g: string, m: string): Line => ({ k: 'p2', f, g, m });
const p2a = (f: string, g: string, m: string): Line => ({ k: 'p2a', f, g, m });
const p3 = (f: string, m: string, pl: (n: number) => string): Line => ({ k: 'p3', f, m, pl });

/** Fill `%v` (a value) and `%s` (its plural) in order. */
function fill(m: string, args: (string | number)[]): string {
  let i = 0;
  return m.replace(/%[vs]/g, () => String(args[i++]));
}

function renderLines(lines: readonly Line[], c: CounterBlock, zeros: boolean): string {
  const num = (f: string): number | undefined => {
    const v = c[f];
    return typeof v === 'number' ? v : undefined;
  };
  let out = '';
  for (const l of lines) {
    if (l.k === 'raw') {
      out += l.text(c, zeros);
      continue;
    }
    const a = num(l.f);
    if (a === undefined) continue; // a counter this stack does not keep
    if (l.k === 'p2' || l.k === 'p2a') {
      const b = num(l.g);
      if (b === undefined) continue;
      if (!zeros && a === 0 && b === 0) continue;
      out += fill(l.m, l.k === 'p2' ? [a, plural(a), b, plural(b)] : [a, plural(a), b]);
      continue;
    }
    if (!zeros && a === 0) continue;
    out += fill(l.m, l.k === 'p1a' ? [a] : l.k === 'p3' ? [a, l.pl(a)] : [a, plural(a)]);
  }
  return out;
}

/** tcp_stats (inet.c), in its order and wording. */
const TCP_LINES: readonly Line[] = [
  p('tcps_sndtotal', '\t%v packet%s sent\n'),
  p2('tcps_sndpack', 'tcps_sndbyte', '\t\t%v data packet%s (%v byte%s)\n'),
  p2('tcps_sndrexmitpack', 'tcps_sndrexmitbyte', '\t\t%v data packet%s (%v byte%s) retransmitted\n'),
  p('tcps_sndrexmitbad', '\t\t%v data packet%s unnecessarily retransmitted\n'),
  p('tcps_mturesent', '\t\t%v resend%s initiated by MTU discovery\n'),
  p2a('tcps_sndacks', 'tcps_delack', '\t\t%v ack-only packet%s (%v delayed)\n'),
  p('tcps_sndurg', '\t\t%v URG only packet%s\n'),
  p('tcps_sndprobe', '\t\t%v window probe packet%s\n'),
  p('tcps_sndwinup', '\t\t%v window update packet%s\n'),
  p('tcps_sndctrl', '\t\t%v control packet%s\n'),
  p('tcps_rcvtotal', '\t%v packet%s received\n'),
  p2('tcps_rcvackpack', 'tcps_rcvackbyte', '\t\t%v ack%s (for %v byte%s)\n'),
  p('tcps_rcvdupack', '\t\t%v duplicate ack%s\n'),
  p('tcps_rcvacktoomuch', '\t\t%v ack%s for unsent data\n'),
  p2('tcps_rcvpack', 'tcps_rcvbyte', '\t\t%v packet%s (%v byte%s) received in-sequence\n'),
  p2('tcps_rcvduppack', 'tcps_rcvdupbyte', '\t\t%v completely duplicate packet%s (%v byte%s)\n'),
  p('tcps_pawsdrop', '\t\t%v old duplicate packet%s\n'),
  p2('tcps_rcvpartduppack', 'tcps_rcvpartdupbyte', '\t\t%v packet%s with some dup. data (%v byte%s duped)\n'),
  p2('tcps_rcvoopack', 'tcps_rcvoobyte', '\t\t%v out-of-order packet%s (%v byte%s)\n'),
  p2('tcps_rcvpackafterwin', 'tcps_rcvbyteafterwin', '\t\t%v packet%s (%v byte%s) of data after window\n'),
  p('tcps_rcvwinprobe', '\t\t%v window probe%s\n'),
  p('tcps_rcvwinupd', '\t\t%v window update packet%s\n'),
  p('tcps_rcvafterclose', '\t\t%v packet%s received after close\n'),
  p('tcps_rcvbadsum', '\t\t%v discarded for bad checksum%s\n'),
  p('tcps_rcvbadoff', '\t\t%v discarded for bad header offset field%s\n'),
  p1a('tcps_rcvshort', '\t\t%v discarded because packet too short\n'),
  p1a('tcps_rcvmemdrop', '\t\t%v discarded due to memory problems\n'),
  p('tcps_connattempt', '\t%v connection request%s\n'),
  p('tcps_accepts', '\t%v connection accept%s\n'),
  p('tcps_badsyn', '\t%v bad connection attempt%s\n'),
  p('tcps_listendrop', '\t%v listen queue overflow%s\n'),
  p('tcps_badrst', '\t%v ignored RSTs in the window%s\n'),
  p('tcps_connects', '\t%v connection%s established (including accepts)\n'),
  p('tcps_usedrtt', '\t\t%v time%s used RTT from hostcache\n'),
  p('tcps_usedrttvar', '\t\t%v time%s used RTT variance from hostcache\n'),
  p('tcps_usedssthresh', '\t\t%v time%s used slow-start threshold from hostcache\n'),
  p2('tcps_closed', 'tcps_drops', '\t%v connection%s closed (including %v drop%s)\n'),
  p('tcps_cachedrtt', '\t\t%v connection%s updated cached RTT on close\n'),
  p('tcps_cachedrttvar', '\t\t%v connection%s updated cached RTT variance on close\n'),
  p('tcps_cachedssthresh', '\t\t%v connection%s updated cached ssthresh on close\n'),
  p('tcps_conndrops', '\t%v embryonic connection%s dropped\n'),
  p2('tcps_rttupdated', 'tcps_segstimed', '\t%v segment%s updated rtt (of %v attempt%s)\n'),
  p('tcps_rexmttimeo', '\t%v retransmit timeout%s\n'),
  p('tcps_timeoutdrop', '\t\t%v connection%s dropped by rexmit timeout\n'),
  p('tcps_persisttimeo', '\t%v persist timeout%s\n'),
  p('tcps_persistdrop', '\t\t%v connection%s dropped by persist timeout\n'),
  p('tcps_finwait2_drops', '\t%v Connection%s (fin_wait_2) dropped because of timeout\n'),
  p('tcps_keeptimeo', '\t%v keepalive timeout%s\n'),
  p('tcps_keepprobe', '\t\t%v keepalive probe%s sent\n'),
  p('tcps_keepdrops', '\t\t%v connection%s dropped by keepalive\n'),
  p('tcps_predack', '\t%v correct ACK header prediction%s\n'),
  p('tcps_preddat', '\t%v correct data packet header prediction%s\n'),
  p3('tcps_sc_added', '\t%v syncache entr%s added\n', pluralies),
  p1a('tcps_sc_retransmitted', '\t\t%v retransmitted\n'),
  p1a('tcps_sc_dupsyn', '\t\t%v dupsyn\n'),
  p1a('tcps_sc_dropped', '\t\t%v dropped\n'),
  p1a('tcps_sc_completed', '\t\t%v completed\n'),
  p1a('tcps_sc_bucketoverflow', '\t\t%v bucket overflow\n'),
  p1a('tcps_sc_cacheoverflow', '\t\t%v cache overflow\n'),
  p1a('tcps_sc_reset', '\t\t%v reset\n'),
  p1a('tcps_sc_stale', '\t\t%v stale\n'),
  p1a('tcps_sc_aborted', '\t\t%v aborted\n'),
  p1a('tcps_sc_badack', '\t\t%v badack\n'),
  p1a('tcps_sc_unreach', '\t\t%v unreach\n'),
  p('tcps_sc_zonefail', '\t\t%v zone failure%s\n'),
  p('tcps_sc_sendcookie', '\t%v cookie%s sent\n'),
  p('tcps_sc_recvcookie', '\t%v cookie%s received\n'),
  p3('tcps_hc_added', '\t%v hostcache entr%s added\n', pluralies),
  p1a('tcps_hc_bucketoverflow', '\t\t%v bucket overflow\n'),
  p('tcps_sack_recovery_episode', '\t%v SACK recovery episode%s\n'),
  p('tcps_sack_rexmits', '\t%v segment rexmit%s in SACK recovery episodes\n'),
  p('tcps_sack_rexmit_bytes', '\t%v byte rexmit%s in SACK recovery episodes\n'),
  p('tcps_sack_rcv_blocks', '\t%v SACK option%s (SACK blocks) received\n'),
  p('tcps_sack_send_blocks', '\t%v SACK option%s (SACK blocks) sent\n'),
  p1a('tcps_sack_sboverflow', '\t%v SACK scoreboard overflow\n'),
  p('tcps_ecn_ce', '\t%v packet%s with ECN CE bit set\n'),
  p('tcps_ecn_ect0', '\t%v packet%s with ECN ECT(0) bit set\n'),
  p('tcps_ecn_ect1', '\t%v packet%s with ECN ECT(1) bit set\n'),
  p('tcps_ecn_shs', '\t%v successful ECN handshake%s\n'),
  p('tcps_ecn_rcwnd', '\t%v time%s ECN reduced the congestion window\n'),
  p('tcps_sig_rcvgoodsig', '\t%v packet%s with matching signature received\n'),
  p('tcps_sig_rcvbadsig', '\t%v packet%s with bad signature received\n'),
  p('tcps_sig_err_buildsig', '\t%v time%s failed to make signature due to no SA\n'),
  p('tcps_sig_err_sigopt', '\t%v time%s unexpected signature received\n'),
  p('tcps_sig_err_nosigopt', '\t%v time%s no signature provided by segment\n'),
  {
    k: 'raw',
    text: (c, zeros) => {
      const st = c.tcps_states;
      if (!Array.isArray(st)) return '';
      let s = 'TCP connection count by state:\n';
      tcpstates.forEach((name, i) => {
        const n = st[i] ?? 0;
        if (!zeros && n === 0) return;
        s += `\t${n} ${n === 1 ? 'connection' : 'connections'} in ${name} state\n`;
      });
      return s;
    },
  },
];

/** udp_stats (inet.c). `delivered` is derived as FreeBSD does. */
const UDP_LINES: readonly Line[] = [
  p('udps_ipackets', '\t%v datagram%s received\n'),
  p1a('udps_hdrops', '\t%v with incomplete header\n'),
  p1a('udps_badlen', '\t%v with bad data length field\n'),
  p1a('udps_badsum', '\t%v with bad checksum\n'),
  p1a('udps_nosum', '\t%v with no checksum\n'),
  p1a('udps_noport', '\t%v dropped due to no socket\n'),
  p('udps_noportbcast', '\t%v broadcast/multicast datagram%s undelivered\n'),
  p1a('udps_fullsock', '\t%v dropped due to full socket buffers\n'),
  p1a('udpps_pcbhashmiss', '\t%v not for hashed pcb\n'),
  {
    k: 'raw',
    text: (c, zeros) => {
      const n = (f: string) => (typeof c[f] === 'number' ? (c[f] as number) : 0);
      const d =
        n('udps_ipackets') -
        n('udps_hdrops') -
        n('udps_badlen') -
        n('udps_badsum') -
        n('udps_noport') -
        n('udps_noportbcast') -
        n('udps_fullsock');
      return d || zeros ? `\t${d} delivered\n` : '';
    },
  },
  p('udps_opackets', '\t%v datagram%s output\n'),
  p('udps_filtermcast', '\t%v time%s multicast source filter matched\n'),
];

/** ip_stats (inet.c). */
const IP_LINES: readonly Line[] = [
  p('ips_total', '\t%v total packet%s received\n'),
  p('ips_badsum', '\t%v bad header checksum%s\n'),
  p1a('ips_toosmall', '\t%v with size smaller than minimum\n'),
  p1a('ips_tooshort', '\t%v with data size < data length\n'),
  p1a('ips_toolong', '\t%v with ip length > max ip packet size\n'),
  p1a('ips_badhlen', '\t%v with header length < data size\n'),
  p1a('ips_badlen', '\t%v with data length < header length\n'),
  p1a('ips_badoptions', '\t%v with bad options\n'),
  p1a('ips_badvers', '\t%v with incorrect version number\n'),
  p('ips_fragments', '\t%v fragment%s received\n'),
  p('ips_fragdropped', '\t%v fragment%s dropped (dup or out of space)\n'),
  p('ips_fragtimeout', '\t%v fragment%s dropped after timeout\n'),
  p('ips_reassembled', '\t%v packet%s reassembled ok\n'),
  p('ips_delivered', '\t%v packet%s for this host\n'),
  p('ips_noproto', '\t%v packet%s for unknown/unsupported protocol\n'),
  {
    k: 'raw',
    text: (c, zeros) => {
      const fwd = typeof c.ips_forward === 'number' ? (c.ips_forward as number) : 0;
      const ff = typeof c.ips_fastforward === 'number' ? (c.ips_fastforward as number) : 0;
      let s = '';
      if (fwd || zeros) s += `\t${fwd} packet${plural(fwd)} forwarded`;
      if (ff || zeros) s += ` (${ff} packet${plural(ff)} fast forwarded)`;
      if (fwd || zeros) s += '\n';
      return s;
    },
  },
  p('ips_cantforward', '\t%v packet%s not forwardable\n'),
  p('ips_notmember', '\t%v packet%s received for unknown multicast group\n'),
  p('ips_redirectsent', '\t%v redirect%s sent\n'),
  p('ips_localout', '\t%v packet%s sent from this host\n'),
  p('ips_rawout', '\t%v packet%s sent with fabricated ip header\n'),
  p('ips_odropped', '\t%v output packet%s dropped due to no bufs, etc.\n'),
  p('ips_noroute', '\t%v output packet%s discarded due to no route\n'),
  p('ips_fragmented', '\t%v output datagram%s fragmented\n'),
  p('ips_ofragments', '\t%v fragment%s created\n'),
  p('ips_cantfrag', "\t%v datagram%s that can't be fragmented\n"),
  p('ips_nogif', "\t%v tunneling packet%s that can't find gif\n"),
  p('ips_badaddr', '\t%v datagram%s with bad address in header\n'),
];

/** icmpnames[] (inet.c). */
const ICMP_NAMES = [
  'echo reply',
  '#1',
  '#2',
  'destination unreachable',
  'source quench',
  'routing redirect',
  '#6',
  '#7',
  'echo',
  'router advertisement',
  'router solicitation',
  'time exceeded',
  'parameter problem',
  'time stamp',
  'time stamp reply',
  'information request',
  'information request reply',
  'address mask request',
  'address mask reply',
  '#19',
  '#20',
  '#21',
  '#22',
  '#23',
  '#24',
  '#25',
  '#26',
  '#27',
  '#28',
  '#29',
  'icmp traceroute',
  'datagram conversion error',
  'mobile host redirect',
  'IPv6 where-are-you',
  'IPv6 i-am-here',
  'mobile registration req',
  'mobile registration reply',
  'domain name request',
  'domain name reply',
  'icmp SKIP',
  'icmp photuris',
];

/** icmp6names[] (inet6.c) for the types that have names; `#N` for the rest. */
const ICMP6_NAMES: Record<number, string> = {
  1: 'unreach',
  2: 'packet too big',
  3: 'time exceed',
  4: 'parameter problem',
  128: 'echo',
  129: 'echo reply',
  130: 'multicast listener query',
  131: 'MLDv1 listener report',
  132: 'MLDv1 listener done',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
  137: 'redirect',
  138: 'router renumbering',
  139: 'node information request',
  140: 'node information reply',
  141: 'inverse neighbor solicitation',
  142: 'inverse neighbor advertisement',
  143: 'MLDv2 listener report',
};

/** ip6nh[] (inet6.c) for the next headers that have names. */
const IP6_NH_NAMES: Record<number, string> = {
  0: 'hop by hop',
  1: 'ICMP',
  2: 'IGMP',
  4: 'IP',
  6: 'TCP',
  17: 'UDP',
  22: 'IDP',
  29: 'TP',
  41: 'IP6',
  43: 'routing',
  44: 'fragment',
  50: 'ESP',
  51: 'AH',
  58: 'ICMP6',
  59: 'no next header',
  60: 'destination option',
  62: 'mobility',
  80: 'ISOIP',
  89: 'OSPF',
  97: 'Ethernet',
  103: 'PIM',
};

function histogram(field: string, title: string, name: (i: number) => string): Line {
  return {
    k: 'raw',
    text: (c) => {
      const h = c[field];
      if (!Array.isArray(h)) return '';
      let s = '';
      h.forEach((n, i) => {
        if (n !== 0) s += `\t\t${name(i)}: ${n}\n`;
      });
      return s === '' ? '' : `\t${title}:\n${s}`;
    },
  };
}

/** icmp_stats (inet.c). */
const ICMP_LINES: readonly Line[] = [
  p('icps_error', '\t%v call%s to icmp_error\n'),
  p('icps_oldicmp', '\t%v error%s not generated in response to an icmp message\n'),
  histogram('icps_outhist', 'Output histogram', (i) => ICMP_NAMES[i] ?? `unknown ICMP #${i}`),
  p('icps_badcode', '\t%v message%s with bad code fields\n'),
  p('icps_tooshort', '\t%v message%s less than the minimum length\n'),
  p('icps_checksum', '\t%v message%s with bad checksum\n'),
  p('icps_badlen', '\t%v message%s with bad length\n'),
  p1a('icps_bmcastecho', '\t%v multicast echo requests ignored\n'),
  p1a('icps_bmcasttstamp', '\t%v multicast timestamp requests ignored\n'),
  histogram('icps_inhist', 'Input histogram', (i) => ICMP_NAMES[i] ?? `unknown ICMP #${i}`),
  p('icps_reflect', '\t%v message response%s generated\n'),
  p3('icps_badaddr', '\t%v invalid return address%s\n', plurales),
  p('icps_noroute', '\t%v no return route%s\n'),
];

/** ip6_stats (inet6.c). */
const IP6_LINES: readonly Line[] = [
  p('ip6s_total', '\t%v total packet%s received\n'),
  p1a('ip6s_toosmall', '\t%v with size smaller than minimum\n'),
  p1a('ip6s_tooshort', '\t%v with data size < data length\n'),
  p1a('ip6s_badoptions', '\t%v with bad options\n'),
  p1a('ip6s_badvers', '\t%v with incorrect version number\n'),
  p('ip6s_fragments', '\t%v fragment%s received\n'),
  p('ip6s_fragdropped', '\t%v fragment%s dropped (dup or out of space)\n'),
  p('ip6s_fragtimeout', '\t%v fragment%s dropped after timeout\n'),
  p('ip6s_fragoverflow', '\t%v fragment%s that exceeded limit\n'),
  p('ip6s_reassembled', '\t%v packet%s reassembled ok\n'),
  p('ip6s_delivered', '\t%v packet%s for this host\n'),
  p('ip6s_forward', '\t%v packet%s forwarded\n'),
  p('ip6s_cantforward', '\t%v packet%s not forwardable\n'),
  p('ip6s_redirectsent', '\t%v redirect%s sent\n'),
  p('ip6s_localout', '\t%v packet%s sent from this host\n'),
  p('ip6s_rawout', '\t%v packet%s sent with fabricated ip header\n'),
  p('ip6s_odropped', '\t%v output packet%s dropped due to no bufs, etc.\n'),
  p('ip6s_noroute', '\t%v output packet%s discarded due to no route\n'),
  p('ip6s_fragmented', '\t%v output datagram%s fragmented\n'),
  p('ip6s_ofragments', '\t%v fragment%s created\n'),
  p('ip6s_cantfrag', "\t%v datagram%s that can't be fragmented\n"),
  p('ip6s_badscope', '\t%v packet%s that violated scope rules\n'),
  p('ip6s_notmember', "\t%v multicast packet%s which we don't join\n"),
  histogram('ip6s_nxthist', 'Input histogram', (i) => IP6_NH_NAMES[i] ?? `#${i}`),
  p('ip6s_exthdrtoolong', '\t%v packet%s whose headers are not continuous\n'),
  p('ip6s_nogif', "\t%v tunneling packet%s that can't find gif\n"),
  p('ip6s_toomanyhdr', '\t%v packet%s discarded because of too many headers\n'),
];

/** icmp6_stats (inet6.c). */
const ICMP6_LINES: readonly Line[] = [
  p('icp6s_error', '\t%v call%s to icmp6_error\n'),
  p('icp6s_canterror', '\t%v error%s not generated in response to an icmp6 message\n'),
  p('icp6s_toofreq', '\t%v error%s not generated because of rate limitation\n'),
  histogram('icp6s_outhist', 'Output histogram', (i) => ICMP6_NAMES[i] ?? `#${i}`),
  p('icp6s_badcode', '\t%v message%s with bad code fields\n'),
  p('icp6s_tooshort', '\t%v message%s < minimum length\n'),
  p('icp6s_checksum', '\t%v bad checksum%s\n'),
  p('icp6s_badlen', '\t%v message%s with bad length\n'),
  histogram('icp6s_inhist', 'Input histogram', (i) => ICMP6_NAMES[i] ?? `#${i}`),
  p('icp6s_reflect', '\t%v message response%s generated\n'),
  p('icp6s_nd_toomanyopt', '\t%v message%s with too many ND options\n'),
  p('icp6s_nd_badopt', '\t%v message%s with bad ND options\n'),
  p('icp6s_badns', '\t%v bad neighbor solicitation message%s\n'),
  p('icp6s_badna', '\t%v bad neighbor advertisement message%s\n'),
  p('icp6s_badredirect', '\t%v bad redirect message%s\n'),
  p('icp6s_pmtuchg', '\t%v path MTU change%s\n'),
];

/** The protocols `netstat -s` knows, in its order (protox[], then ip6protox[]). */
/** A TOE card's admission counters: where new connections went with `toe` on. */
const TOE_LINES: readonly Line[] = [
  p('offloaded', '\t%v connection%s offloaded to the card\n'),
  p('refused_tids', '\t%v connection%s left on the host: TID table full\n'),
  p('refused_memory', '\t%v connection%s left on the host: card memory full\n'),
  p('refused_md5', '\t%v connection%s left on the host: TCP-MD5 signatures\n'),
  p('refused_cc', '\t%v connection%s left on the host: congestion control the card lacks\n'),
  p('refused_ipv6', '\t%v connection%s left on the host: IPv6 on a TOE4-only card\n'),
];

const STATS: readonly {
  name: string;
  block: 'tcpstat' | 'udpstat' | 'ipstat' | 'icmpstat' | 'ip6stat' | 'icmp6stat' | 'toestat';
  lines: readonly Line[];
}[] = [
  { name: 'tcp', block: 'tcpstat', lines: TCP_LINES },
  { name: 'udp', block: 'udpstat', lines: UDP_LINES },
  { name: 'ip', block: 'ipstat', lines: IP_LINES },
  { name: 'icmp', block: 'icmpstat', lines: ICMP_LINES },
  { name: 'ip6', block: 'ip6stat', lines: IP6_LINES },
  { name: 'icmp6', block: 'icmp6stat', lines: ICMP6_LINES },
  { name: 'toe', block: 'toestat', lines: TOE_LINES },
];

export const STATS_PROTOCOLS: readonly string[] = STATS.map((s) => s.name);

export interface StatsOptions {
  /** -p proto; every protocol when absent. Unknown: EINVAL ("unknown protocol"). */
  proto?: string;
  /** Print zero counters (netstat -s); false is -s -s, which leaves them out. */
  zeros?: boolean;
}

/** `netstat -s [-p proto]` with every worker's counters summed. */
export function formatStats(snaps: readonly StackSnapshot[], o: StatsOptions = {}): string {
  const zeros = o.zeros ?? true;
  const sum = sumSnapshotCounters(snaps);
  // The toe block only where a card's snapshot is among them (or asked for by name).
  const all = sum.toestat === undefined ? STATS.filter((s) => s.block !== 'toestat') : STATS;
  const want = o.proto === undefined ? all : STATS.filter((s) => s.name === o.proto);
  if (want.length === 0) throw new SysError('EINVAL', `${o.proto}: unknown protocol`, 'netstat');
  return want.map((s) => `${s.name}:\n${renderLines(s.lines, sum[s.block] ?? {}, zeros)}`).join('');
}

/* ================================================================ routes */

/** route.c bits[]: flag letters in FreeBSD's order. */
const RT_BITS: readonly (readonly [number, string])[] = [
  [0x1, 'U'],
  [0x2, 'G'],
  [0x4, 'H'],
  [0x8, 'R'],
  [0x10, 'D'],
  [0x20, 'M'],
  [0x40, 'd'],
  [0x200, 'X'],
  [0x800, 'S'],
  [0x8000, '1'],
  [0x4000, '2'],
  [0x40000, '3'],
  [0x1000, 'B'],
  [0x400000, 'b'],
];

export function routeFlags(f: number): string {
  return RT_BITS.filter(([b]) => (f & b) !== 0)
    .map(([, c]) => c)
    .join('');
}

export interface RoutesOptions {
  /** -F fib (default 0). A table that does not exist is EINVAL ("N: invalid fib"). */
  fib?: number;
  /** -f inet / inet6. */
  family?: 4 | 6;
}

function routeDst(r: RouteSnapshot): string {
  if (r.plen === 0 && (r.dst === '0.0.0.0' || r.dst === '::')) return 'default';
  if (r.flags & 0x4) return r.dst; // RTF_HOST: routename, no prefix length
  return `${r.dst}/${r.plen}`;
}

function addrKey(r: RouteSnapshot): number[] {
  if (r.af === 4) return r.dst.split('.').map(Number);
  const full = expand6(r.dst);
  return full;
}

function expand6(a: string): number[] {
  const [h, t] = a.split('::') as [string, string | undefined];
  const hw = h === '' ? [] : h.split(':').map((x) => parseInt(x, 16));
  const tw = t === undefined || t === '' ? [] : t.split(':').map((x) => parseInt(x, 16));
  const mid = t === undefined ? [] : new Array<number>(8 - hw.length - tw.length).fill(0);
  return [...hw, ...mid, ...tw];
}

/** Radix-tree order: by address, then the shorter prefix first. */
function routeOrder(a: RouteSnapshot, b: RouteSnapshot): number {
  const ka = addrKey(a);
  const kb = addrKey(b);
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    const d = (ka[i] ?? 0) - (kb[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.plen - b.plen;
}

/**
 * `netstat -rn [-F fib]` (route.c p_rtable_sysctl with -n): per family a header
 * and one line per route; with -n an over-long address pushes the next columns
 * right (the "protrusion") instead of being cut. Routes come from the first
 * snapshot (every worker holds the same tables).
 */
export function formatRoutes(snaps: readonly StackSnapshot[], o: RoutesOptions = {}): string {
  const fib = o.fib ?? 0;
  const s0 = snaps[0];
  const fibs = s0?.fibs ?? 1;
  if (!Number.isInteger(fib) || fib < 0 || fib >= fibs) throw new SysError('EINVAL', `${fib}: invalid fib`, 'netstat');
  let out = `Routing tables${fib ? ` (fib: ${fib})` : ''}\n`;
  for (const af of [4, 6] as const) {
    if (o.family !== undefined && o.family !== af) continue;
    const rs = (s0?.routes ?? []).filter((r) => r.fib === fib && r.af === af).sort(routeOrder);
    if (rs.length === 0) continue;
    const wDst = af === 6 ? 33 : 18;
    const wGw = af === 6 ? 29 : 18;
    const wIf = 8;
    out += `\n${af === 4 ? 'Internet' : 'Internet6'}:\n`;
    out += `${left('Destination', wDst)} ${left('Gateway', wGw)} ${left('Flags', 6)} ${right('Netif', wIf, true)} ${right('Expire', 6)}\n`;
    for (const r of rs) {
      const dst = routeDst(r);
      let protrusion = Math.max(0, dst.length - wDst);
      let line = `${left(dst, wDst, false)} `;
      const gw = r.gateway ?? `link#${r.gatewayIndex}`;
      const gwWidth = wGw - protrusion;
      protrusion = Math.max(0, gw.length - gwWidth);
      line += `${left(gw, gwWidth, false)} `;
      line += `${left(routeFlags(r.flags), 6 - protrusion, false)} `;
      line += right(r.ifname, wIf, true);
      if (r.expire > 0) line += ` ${right(r.expire, 6)}`;
      out += `${line}\n`;
    }
  }
  return out;
}
