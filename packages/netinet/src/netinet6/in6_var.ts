/**
 * IPv6's per-stack state (the VNET globals of netinet6/: in6_var.h, ip6_var.h):
 * statistics, fragment reassembly, ICMPv6 and neighbor discovery, on top of
 * IPv4's (netinet/in_var.ts) — the whole stack's record. Plain data.
 */
import { InetVnet } from '../netinet/in_var.js';
import type { NetContext } from '../net/vnet.js';
import { Ip6Stat, Rip6Stat } from './ip6_var.js';
import { Frag6 } from './frag6.js';
import { Icmp6 } from './icmp6.js';
import { Nd6 } from './nd6.js';
import { PfilHead } from '../net/pfil.js';

export class Inet6Vnet extends InetVnet {
  readonly ip6stat = new Ip6Stat();
  readonly rip6stat = new Rip6Stat();
  readonly frag6: Frag6;
  readonly icmp6: Icmp6;
  readonly nd6: Nd6;
  /** V_inet6_pfil_head: the IPv6 filter hooks (net/pfil.ts). */
  readonly pfil6: PfilHead;

  constructor(ctx: NetContext) {
    super(ctx);
    this.frag6 = new Frag6(this);
    this.icmp6 = new Icmp6(this);
    this.nd6 = new Nd6(this);
    this.pfil6 = new PfilHead('inet6', this.lo0);
  }
}
