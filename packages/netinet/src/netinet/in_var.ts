/**
 * IPv4's per-stack state (the VNET globals of netinet/: in_var.h, ip_var.h):
 * statistics, the ip_id counter, the port range, the reused input record, and
 * the reassembly queue, ICMP and ARP, on top of the network layer's (net/vnet.ts).
 * Plain data, used by the functions of ip_input.ts, ip_output.ts, in.ts and the rest.
 */
import { PfilHead } from '../net/pfil.js';
import { Vnet } from '../net/vnet.js';
import type { NetContext } from '../net/vnet.js';
import { IpStat, newPktInfo } from './ip_var.js';
import type { PktInfo } from './ip_var.js';
import { IpReass } from './ip_reass.js';
import { Icmp } from './ip_icmp.js';
import { Arp } from './if_ether.js';

/** net.inet.ip.portrange.* (the pcb code allocates ports from these). */
export interface PortRange {
  lowfirst: number;
  lowlast: number;
  first: number;
  last: number;
  hifirst: number;
  hilast: number;
  randomized: number;
  reservedhigh: number;
  reservedlow: number;
}

export class InetVnet extends Vnet {
  readonly ipstat = new IpStat();
  readonly portrange: PortRange = {
    lowfirst: 1023,
    lowlast: 600,
    first: 10000,
    last: 65535,
    hifirst: 49152,
    hilast: 65535,
    randomized: 1,
    reservedhigh: 1023,
    reservedlow: 0,
  };
  /** The last ip_id handed out (sequential ids, net.inet.ip.random_id=0). */
  ipIdCounter: number;
  /** The PktInfo passed to pr_input, reused (valid during the call). */
  readonly pi: PktInfo;
  readonly ipReass: IpReass;
  readonly icmp: Icmp;
  readonly arp: Arp;
  /** V_inet_pfil_head: the IPv4 filter hooks (net/pfil.ts). */
  readonly pfil4: PfilHead;

  constructor(ctx: NetContext) {
    super(ctx);
    this.ipIdCounter = ctx.random.u32() & 0xffff;
    this.pi = newPktInfo(this.lo0);
    this.ipReass = new IpReass(this);
    this.icmp = new Icmp(this);
    this.arp = new Arp(this);
    this.pfil4 = new PfilHead('inet', this.lo0);
  }
}
