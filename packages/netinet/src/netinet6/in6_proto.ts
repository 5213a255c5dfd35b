/**
 * IPv6's attach to the stack (netinet6/in6_proto.c, ip6_init, nd6_init): ICMPv6
 * in inet6sw, ip6_input on netisr, ND as the Ethernet resolver and link-event
 * handler, and the net.inet6.* knobs.
 */
import type { Inet6Vnet } from './in6_var.js';
import { IPPROTO_ICMPV6 } from '../netinet/in.js';
import { ip6Input } from './ip6_input.js';

export function inet6Attach(ns: Inet6Vnet): void {
  ns.protosw6[IPPROTO_ICMPV6] = ns.icmp6;
  ns.netisr.ip6 = (ifp, buf, off, len, meta) => ip6Input(ns, ifp, buf, off, len, meta);
  ns.netisr.nd6resolve = (ifp, nh, nhOff, buf, off, len, meta) => ns.nd6.resolve(ifp, nh, nhOff, buf, off, len, meta);
  ns.ifevents.push((ifp, up) => {
    if (!up) ns.nd6.flush(ifp);
  });
  inet6Sysctls(ns);
}

function inet6Sysctls(ns: Inet6Vnet): void {
  const s = ns.ctx.sysctl;
  const t = ns.tun;
  s.int('net.inet6.ip6.v6only', t, 'ip6_v6only', 'Default value of per-socket IPV6_V6ONLY (new sockets)', {
    min: 0,
    max: 1,
  });
  s.int('net.inet6.ip6.hlim', t, 'ip6_defhlim', 'Default hop limit to use for outgoing IPv6 packets', {
    min: 1,
    max: 255,
  });
  const f6 = ns.frag6.tun;
  s.int(
    'net.inet6.ip6.maxfragpackets',
    f6,
    'maxfragpackets',
    'Default maximum number of outstanding fragmented IPv6 packets',
    { min: 0, onSet: (v) => ns.frag6.setMaxfragpackets(v) },
  );
  s.int(
    'net.inet6.ip6.maxfragbucketsize',
    f6,
    'maxfragbucketsize',
    'Maximum number of reassembly queues per hash bucket',
    { min: 1 },
  );
  s.int('net.inet6.ip6.maxfrags', f6, 'maxfrags', 'Maximum allowed number of outstanding IPv6 packet fragments', {
    min: 0,
  });
  s.int('net.inet6.ip6.maxfragsperpacket', f6, 'maxfragsperpacket', 'Maximum allowed number of fragments per packet', {
    min: 0,
  });
  s.add({
    name: 'net.inet6.ip6.frag6_nfragpackets',
    kind: 'int',
    readonly: true,
    description: 'Number of fragmented packets in the reassembly queue',
    get: () => ns.frag6.npackets,
  });
  s.add({
    name: 'net.inet6.ip6.frag6_nfrags',
    kind: 'int',
    readonly: true,
    description: 'Number of fragments in the reassembly queue',
    get: () => ns.frag6.nfragments,
  });
  const i6 = ns.icmp6.tun;
  s.int('net.inet6.icmp6.errppslimit', i6, 'errppslimit', 'Maximum ICMPv6 error messages per second', { min: 0 });
  const n6 = ns.nd6.tun;
  s.int('net.inet6.icmp6.nd6_delay', n6, 'nd6_delay', 'Delay before the first NUD probe, seconds', { min: 1 });
  s.int('net.inet6.icmp6.nd6_umaxtries', n6, 'nd6_umaxtries', 'Unicast neighbor solicitations before giving up', {
    min: 1,
  });
  s.int('net.inet6.icmp6.nd6_mmaxtries', n6, 'nd6_mmaxtries', 'Multicast neighbor solicitations before giving up', {
    min: 1,
  });
  s.int('net.inet6.icmp6.rediraccept', n6, 'rediraccept', 'Accept ICMPv6 redirect messages', { min: 0, max: 1 });
  s.int('net.inet6.icmp6.nd6_maxqueuelen', n6, 'nd6_maxqueuelen', 'Packets held per unresolved neighbor', {
    min: 0,
    max: 1,
  });
}
