/**
 * Names a script may use for numbers (packetdrill's symbols_freebsd.c): socket, IP and
 * TCP constants come from the engine's own definitions; fcntl flags, DSCP code points
 * and tcp_info state names are FreeBSD's header values (sys/fcntl.h, netinet/ip.h,
 * netinet/tcp_fsm.h).
 */
import {
  AF_INET,
  AF_INET6,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_BROADCAST,
  SO_DEBUG,
  SO_DONTROUTE,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_OOBINLINE,
  SO_RCVBUF,
  SO_RCVLOWAT,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_SNDLOWAT,
  SO_TYPE,
  MSG_DONTROUTE,
  MSG_DONTWAIT,
  MSG_EOR,
  MSG_NOSIGNAL,
  MSG_OOB,
  MSG_PEEK,
  MSG_WAITALL,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLPRI,
} from '@mcstack/netinet';
import { ERRNO } from '@mcstack/netinet';
import {
  IPPROTO_IP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_IPV6,
  IP_TOS,
  IP_TTL,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  IPV6_TCLASS,
} from '@mcstack/netinet';
import {
  TCP_NODELAY,
  TCP_MAXSEG,
  TCP_NOPUSH,
  TCP_NOOPT,
  TCP_MD5SIG,
  TCP_INFO,
  TCP_CONGESTION,
  TCP_KEEPINIT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_KEEPCNT,
  TCP_REMOTE_UDP_ENCAPS_PORT,
  TCPI_OPT_TIMESTAMPS,
  TCPI_OPT_SACK,
  TCPI_OPT_WSCALE,
  TCPI_OPT_ECN,
  TCPI_OPT_TOE,
} from '@mcstack/netinet';
import { tcpstates } from '@mcstack/netinet';

/* sys/fcntl.h */
export const F_GETFL = 3;
export const F_SETFL = 4;
export const O_RDONLY = 0x0000;
export const O_WRONLY = 0x0001;
export const O_RDWR = 0x0002;
export const O_NONBLOCK = 0x0004;

/**
 * tcpi_state names (TCPI_* in scripts): tcp_fsm.h's state names as sockstat prints
 * them, except that tcp_info spells SYN_RCVD as SYN_RECEIVED.
 */
export const TCP_STATES: readonly string[] = tcpstates.map((s) => (s === 'SYN_RCVD' ? 'SYN_RECEIVED' : s));

/** The names sockstat prints (tcpstates[] in tcp_fsm.h). */
export const SOCKSTAT_STATES: readonly string[] = tcpstates;

const TABLE = new Map<string, number>(
  Object.entries({
    AF_INET,
    AF_INET6,
    PF_INET: AF_INET,
    PF_INET6: AF_INET6,
    SOCK_STREAM,
    SOCK_DGRAM,
    SOL_SOCKET,
    SO_ACCEPTCONN,
    SO_BROADCAST,
    SO_DEBUG,
    SO_DONTROUTE,
    SO_ERROR,
    SO_KEEPALIVE,
    SO_LINGER,
    SO_OOBINLINE,
    SO_RCVBUF,
    SO_RCVLOWAT,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SO_SNDBUF,
    SO_SNDLOWAT,
    SO_TYPE,
    MSG_DONTROUTE,
    MSG_DONTWAIT,
    MSG_EOR,
    MSG_NOSIGNAL,
    MSG_OOB,
    MSG_PEEK,
    MSG_WAITALL,
    SHUT_RD,
    SHUT_RDWR,
    SHUT_WR,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLNVAL,
    POLLOUT,
    POLLPRI,
    F_GETFL,
    F_SETFL,
    O_RDONLY,
    O_WRONLY,
    O_RDWR,
    O_NONBLOCK,
    IPPROTO_IP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPPROTO_IPV6,
    IP_TOS,
    IP_TTL,
    IPV6_UNICAST_HOPS,
    IPV6_V6ONLY,
    IPV6_TCLASS,
    TCP_NODELAY,
    TCP_MAXSEG,
    TCP_NOPUSH,
    TCP_NOOPT,
    TCP_MD5SIG,
    TCP_INFO,
    TCP_CONGESTION,
    TCP_KEEPINIT,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    TCP_KEEPCNT,
    TCP_REMOTE_UDP_ENCAPS_PORT,
    // netinet/tcp.h options of FreeBSD's RACK and BBR stacks: the base stack, as here,
    // answers them with ENOPROTOOPT (the suite runs them --non_fatal=syscall).
    TCP_RACK_PACE_MAX_SEG: 1054,
    TCP_RACK_PACE_ALWAYS: 1055,
    TCP_RACK_PACE_RATE_SS: 1119,
    // netinet/ip.h DSCP code points (as the TOS byte).
    IPTOS_DSCP_CS0: 0x00,
    IPTOS_DSCP_CS1: 0x20,
    IPTOS_DSCP_CS2: 0x40,
    IPTOS_DSCP_CS3: 0x60,
    IPTOS_DSCP_CS4: 0x80,
    IPTOS_DSCP_CS5: 0xa0,
    IPTOS_DSCP_CS6: 0xc0,
    IPTOS_DSCP_CS7: 0xe0,
    IPTOS_DSCP_EF: 0xb8,
    IPTOS_ECN_NOTECT: 0,
    IPTOS_ECN_ECT1: 1,
    IPTOS_ECN_ECT0: 2,
    IPTOS_ECN_CE: 3,
    TCPI_OPT_TIMESTAMPS,
    TCPI_OPT_SACK,
    TCPI_OPT_WSCALE,
    TCPI_OPT_ECN,
    TCPI_OPT_TOE,
  }),
);
TCP_STATES.forEach((s, i) => {
  TABLE.set(`TCPI_${s}`, i);
});
for (const [k, v] of Object.entries(ERRNO)) TABLE.set(k, v);
TABLE.set('EWOULDBLOCK', ERRNO.EAGAIN);

/** The value of a symbol, or undefined when the runner does not know it. */
export function symbolValue(name: string): number | undefined {
  return TABLE.get(name);
}

/** The errno number for a name (EWOULDBLOCK is EAGAIN), or undefined. */
export function errnoValue(name: string): number | undefined {
  if (name === 'EWOULDBLOCK') return ERRNO.EAGAIN;
  return (ERRNO as Record<string, number>)[name];
}
