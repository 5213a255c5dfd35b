/**
 * The network layer of the sans-I/O engine — interfaces, routing, ARP/ND,
 * IPv4/IPv6 input and output, fragmentation and reassembly, ICMP/ICMPv6 — as one
 * per-stack record (FreeBSD's VNET: net/vnet.ts, netinet/in_var.ts,
 * netinet6/in6_var.ts) that the functions of each layer take as their first
 * argument. Synchronous and deterministic: time comes from ctx.now() (µs on the
 * virtual clock), timers are callouts on ctx.callouts, randomness is ctx.random,
 * frames leave through ctx.output.
 *
 * ## Use
 *
 *   const ns = netstackAttach({ now, random, callouts, sysctl, output });
 *   // lo0 (127.0.0.1/8, ::1/128) exists from the start, as on a FreeBSD host.
 *   const em0 = ifattach(ns, { name: 'em0', type: 'ether', mtu: 1500, lladdr, capabilities: IFCAP_HWCSUM });
 *   addAddr(ns, em0, '10.0.0.1/24'); addAddr(ns, em0, '2001:db8::1/64'); ifUpDown(ns, em0, true);
 *   addRoute(ns, '0.0.0.0/0', '10.0.0.254');
 *   registerProtocol(ns, IPPROTO_TCP, { input(m, off, len, pi) {...}, ctlinput(cmd, ctl) {...} });
 *   ifInput(ns, em0, frame, meta);   // a frame arrived (meta may be null)
 *   drain(ns);                       // deliver looped-back datagrams (call after every entry point)
 *
 * ## Contract with transports
 *
 * - Input: `pr.input(m, off, len, pi)` — m[off, off+len) is the transport header
 *   and payload; `pi` (reused, valid during the call) has addresses (u32 for IPv4,
 *   offsets into m for both families), TTL/TOS, M_BCAST/M_MCAST and the receive
 *   checksum flags: when `pi.csumFlags & CSUM_DATA_VALID` and `CSUM_PSEUDO_HDR`
 *   are set (and csumData === 0xffff) the checksum was verified by the interface
 *   (RXCSUM/RXCSUM_IPV6 enabled) and must not be checked again.
 * - Errors: `pr.ctlinput(PRC_*, ctl)` for ICMP unreachable / time exceeded /
 *   parameter problem / need-frag (ctl.mtu) and ICMPv6 dest unreachable / packet
 *   too big (ctl.mtu) / time exceeded / parameter problem. inetctlerrmap gives the errno.
 * - Output: the transport writes header+payload at buf[off..off+len) with at least
 *   MAX_HDR bytes of headroom in front, then `ipOutput(ns, buf, off, len, args)` or
 *   `ip6Output(ns, ...)` (args objects from newIpOutArgs()/newIp6OutArgs(), reused).
 *   For a delayed checksum it stores inPseudo()/in6Pseudo() in its checksum field
 *   and sets CSUM_TCP/CSUM_UDP (CSUM_TCP_IPV6/CSUM_UDP_IPV6) and csumOffset;
 *   ip_output finishes it in software unless if_hwassist covers it (then the
 *   frame's meta carries the request to the link). Returns 0 or -errno.
 * - Routes: `rtalloc4(ns, fib, dst)` / `rtalloc6(ns, fib, dst, off)` return the
 *   Rtentry (ifp, gateway, `pathMtu`) or null; `rtFib(ns, 0).gen` changes on any route change.
 * - Addresses: isLocal4/isLocal6, selectSource4/selectSource6 (source for an
 *   unbound socket), `ns.portrange` (net.inet.ip.portrange.* values).
 *
 * Loopback traffic (to our own addresses) is queued as netisr does and delivered
 * by drain(), never re-entrantly from inside ip_output.
 */
import type { NetContext } from './net/vnet.js';
import type { Ifnet } from './net/if.js';
import { ifUpDown } from './net/if.js';
import { delAddr4 } from './netinet/in.js';
import { delAddr6 } from './netinet6/in6.js';
import { ERRNO } from './kern/errno.js';
import { Inet6Vnet } from './netinet6/in6_var.js';
import { inetAttach } from './netinet/in_proto.js';
import { inet6Attach } from './netinet6/in6_proto.js';
import { addAddr4, INADDR_LOOPBACK, IN6ADDR_LOOPBACK } from './netinet/in.js';
import { addAddr6 } from './netinet6/in6.js';
import { parseIPv4, parseIPv6 } from '@mcstack/wire';
import { get32 } from '@mcstack/wire';

export type { NetContext } from './net/vnet.js';
/** The whole stack's record. */
export type NetStack = Inet6Vnet;

/** A network stack with lo0 up as 127.0.0.1/8 and ::1/128 (vnet_sysinit). */
export function netstackAttach(ctx: NetContext): NetStack {
  const ns = new Inet6Vnet(ctx);
  inetAttach(ns);
  inet6Attach(ns);
  addAddr4(ns, ns.lo0, INADDR_LOOPBACK, 8);
  addAddr6(ns, ns.lo0, IN6ADDR_LOOPBACK, 128);
  ifUpDown(ns, ns.lo0, true);
  return ns;
}

/** `ifconfig ifp inet A/plen` or `inet6 A/plen` from text. 0 or -errno. */
export function addAddr(ns: NetStack, ifp: Ifnet, cidr: string): number {
  const [a, p] = cidr.split('/');
  if (a === undefined) return -ERRNO.EINVAL;
  if (a.includes(':')) {
    const b = parseIPv6(a);
    const plen = p === undefined ? 64 : Number(p);
    if (!b || !Number.isInteger(plen)) return -ERRNO.EINVAL;
    return addAddr6(ns, ifp, b, plen);
  }
  const b = parseIPv4(a);
  const plen = p === undefined ? 32 : Number(p);
  if (!b || !Number.isInteger(plen)) return -ERRNO.EINVAL;
  return addAddr4(ns, ifp, get32(b, 0), plen);
}

/**
 * if_detach (net/if.c if_detach_internal): the interface goes down (ARP and ND flush its
 * entries), loses its addresses and every route through it in every FIB, and leaves the
 * list; the route caches are invalidated. The Ifnet is then no longer reachable from `ns`,
 * so if_vmove can attach it elsewhere and a destroyed vnet keeps nothing alive. 0, or
 * -EINVAL for lo0 (the loopback lives and dies with its vnet) and -ENXIO when not here.
 */
export function ifDetach(ns: NetStack, ifp: Ifnet): number {
  if (ifp === ns.lo0) return -ERRNO.EINVAL;
  const i = ns.ifnets.indexOf(ifp);
  if (i < 0) return -ERRNO.ENXIO;
  ifUpDown(ns, ifp, false);
  for (const ia of [...ifp.addrs4]) delAddr4(ns, ifp, ia.addr);
  for (const ia of [...ifp.addrs6]) delAddr6(ns, ifp, ia.addr);
  for (const fib of ns.fibs) for (const rt of fib.entries()) if (rt.ifp === ifp) fib.remove(rt);
  ifp.groups4.clear();
  ifp.groups6.clear();
  ns.ifnets.splice(i, 1);
  ns.rt4Cache = null;
  ns.rt4CacheFib = null;
  ns.rt6Cache = null;
  ns.rt6CacheFib = null;
  return 0;
}
