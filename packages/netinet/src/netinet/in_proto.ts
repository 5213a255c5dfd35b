/**
 * IPv4's attach to the stack (netinet/in_proto.c, ip_init, arp_init): ICMP in
 * inetsw, ip_input and ARP on netisr, ARP as the Ethernet resolver and link-event
 * handler, and the net.inet.ip.*, net.inet.icmp.* and net.link.ether.inet.* knobs.
 */
import type { InetVnet } from './in_var.js';
import type { Ifnet } from '../net/if.js';
import { IPPROTO_ICMP } from './in.js';
import { ipInput } from './ip_input.js';

export function inetAttach(ns: InetVnet): void {
  ns.protosw4[IPPROTO_ICMP] = ns.icmp;
  const n = ns.netisr;
  n.ip = (ifp, buf, off, len, meta) => ipInput(ns, ifp, buf, off, len, meta);
  n.arp = (ifp, buf, off, len) => ns.arp.input(ifp, buf, off, len);
  n.arpresolve = (ifp, nh, gw, buf, off, len, meta) => ns.arp.resolve(ifp, nh, gw, buf, off, len, meta);
  ns.ifevents.push((ifp: Ifnet, up: boolean) => {
    if (!up) ns.arp.flush(ifp);
    else if (ifp.type === 'ether') for (const ia of ifp.addrs4) ns.arp.request(ifp, ia.addr, ia.addr, null); // gratuitous ARP
  });
  inetSysctls(ns);
}

function inetSysctls(ns: InetVnet): void {
  const s = ns.ctx.sysctl;
  const t = ns.tun;
  s.int('net.inet.ip.ttl', t, 'ip_defttl', 'Maximum TTL on IP packets', { min: 1, max: 255 });
  s.int('net.inet.ip.random_id', t, 'random_id', 'Assign random ip_id values', { min: 0, max: 1 });
  s.int('net.inet.ip.rfc6864', t, 'rfc6864', 'Use constant IP ID for atomic datagrams', { min: 0, max: 1 });
  s.int('net.inet.ip.intr_queue_maxlen', t, 'intr_queue_maxlen', 'Maximum size of the IP input queue', { min: 1 });
  const r = ns.ipReass.tun;
  s.int('net.inet.ip.maxfragpackets', r, 'maxfragpackets', 'Maximum number of IPv4 fragment reassembly queue entries', {
    min: 0,
  });
  s.int(
    'net.inet.ip.maxfragsperpacket',
    r,
    'maxfragsperpacket',
    'Maximum number of IPv4 fragments allowed per packet',
    { min: 0 },
  );
  s.int(
    'net.inet.ip.maxfrags',
    r,
    'maxfrags',
    'Maximum number of IPv4 fragments allowed across all reassembly queues',
    { min: 0 },
  );
  s.add({
    name: 'net.inet.ip.fragpackets',
    kind: 'int',
    readonly: true,
    description: 'Current number of IPv4 fragment reassembly queue entries',
    get: () => ns.ipReass.npackets,
  });
  s.add({
    name: 'net.inet.ip.curfrags',
    kind: 'int',
    readonly: true,
    description: 'Current number of IPv4 fragments across all reassembly queues',
    get: () => ns.ipReass.nfragments,
  });
  const p = ns.portrange;
  for (const k of [
    'lowfirst',
    'lowlast',
    'first',
    'last',
    'hifirst',
    'hilast',
    'reservedhigh',
    'reservedlow',
  ] as const) {
    s.int(`net.inet.ip.portrange.${k}`, p, k, `Port range: ${k}`, { min: 0, max: 65535 });
  }
  s.int('net.inet.ip.portrange.randomized', p, 'randomized', 'Enable random port allocation', { min: 0, max: 1 });
  const ic = ns.icmp.tun;
  s.int('net.inet.icmp.icmplim', ic, 'icmplim', 'Maximum number of ICMP responses per second', { min: 0 });
  s.int('net.inet.icmp.icmplim_output', ic, 'icmplim_output', 'Enable logging of ICMP response rate limiting', {
    min: 0,
    max: 1,
  });
  s.int('net.inet.icmp.bmcastecho', ic, 'bmcastecho', 'Reply to multicast/broadcast echo and timestamp requests', {
    min: 0,
    max: 1,
  });
  s.int('net.inet.icmp.drop_redirect', ic, 'drop_redirect', 'Ignore ICMP redirects', { min: 0, max: 1 });
  s.int('net.inet.icmp.tstamprepl', ic, 'tstamprepl', 'Respond to ICMP Timestamp packets', { min: 0, max: 1 });
  s.int('net.inet.icmp.quotelen', ic, 'quotelen', 'Number of bytes from original packet to quote in ICMP reply', {
    min: 0,
    max: 548,
  });
  const a = ns.arp.tun;
  s.int('net.link.ether.inet.max_age', a, 'max_age', 'ARP entry lifetime in seconds', { min: 1 });
  s.int('net.link.ether.inet.maxtries', a, 'maxtries', 'ARP resolution attempts before returning error', { min: 1 });
  s.int('net.link.ether.inet.wait', a, 'wait', 'Incomplete ARP entry lifetime in seconds', { min: 1 });
  s.int('net.link.ether.inet.maxhold', a, 'maxhold', 'Number of packets to hold per ARP entry', { min: 0, max: 1 });
}
