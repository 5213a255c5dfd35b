/**
 * ifnet (net/if.h, net/if_var.h): an interface's name, type, MTU, link address,
 * flags, IPv4/IPv6 addresses, multicast memberships, capabilities and
 * if_hwassist, and its if_data counters.
 *
 * Capabilities are FreeBSD's IFCAP_* bits. `capabilities` is what the "hardware"
 * can do, `capenable` what is switched on (each bit toggled independently, as
 * `ifconfig -txcsum6` does), and `hwassist` the CSUM_* offloads ip_output may leave
 * to the link, derived from capenable as a driver's SIOCSIFCAP handler does.
 */
import {
  CSUM_IP,
  CSUM_TCP,
  CSUM_UDP,
  CSUM_TCP_IPV6,
  CSUM_UDP_IPV6,
  CSUM_IP_TSO,
  CSUM_IP6_TSO,
  CSUM_IP_SCTP,
  CSUM_IP6_SCTP,
} from './mbuf.js';
import { ERRNO, SysError } from '../kern/errno.js';

export const IFCAP_RXCSUM = 0x00001;
export const IFCAP_TXCSUM = 0x00002;
export const IFCAP_NETCONS = 0x00004;
export const IFCAP_VLAN_MTU = 0x00008;
export const IFCAP_VLAN_HWTAGGING = 0x00010;
export const IFCAP_JUMBO_MTU = 0x00020;
export const IFCAP_POLLING = 0x00040;
export const IFCAP_VLAN_HWCSUM = 0x00080;
export const IFCAP_TSO4 = 0x00100;
export const IFCAP_TSO6 = 0x00200;
export const IFCAP_LRO = 0x00400;
export const IFCAP_WOL_UCAST = 0x00800;
export const IFCAP_WOL_MCAST = 0x01000;
export const IFCAP_WOL_MAGIC = 0x02000;
export const IFCAP_TOE4 = 0x04000;
export const IFCAP_TOE6 = 0x08000;
export const IFCAP_VLAN_HWFILTER = 0x10000;
export const IFCAP_VLAN_HWTSO = 0x40000;
export const IFCAP_LINKSTATE = 0x80000;
export const IFCAP_RXCSUM_IPV6 = 0x200000;
export const IFCAP_TXCSUM_IPV6 = 0x400000;
export const IFCAP_HWCSUM = IFCAP_RXCSUM | IFCAP_TXCSUM;
export const IFCAP_HWCSUM_IPV6 = IFCAP_RXCSUM_IPV6 | IFCAP_TXCSUM_IPV6;
export const IFCAP_TSO = IFCAP_TSO4 | IFCAP_TSO6;
export const IFCAP_TOE = IFCAP_TOE4 | IFCAP_TOE6;

/** if_media.h: receive PAUSE frames (honour the peer's 802.3x pause: hold frames, do not lose them). */
export const IFM_ETH_RXPAUSE = 0x200;
/** if_media.h: transmit PAUSE frames (pause the peer while our receive ring is full). */
export const IFM_ETH_TXPAUSE = 0x400;

/** `ifconfig -m` names of the capability bits, in FreeBSD's IFCAPBITS order. */
export const IFCAP_NAMES: readonly [number, string][] = [
  [IFCAP_RXCSUM, 'RXCSUM'],
  [IFCAP_TXCSUM, 'TXCSUM'],
  [IFCAP_NETCONS, 'NETCONS'],
  [IFCAP_VLAN_MTU, 'VLAN_MTU'],
  [IFCAP_VLAN_HWTAGGING, 'VLAN_HWTAGGING'],
  [IFCAP_JUMBO_MTU, 'JUMBO_MTU'],
  [IFCAP_POLLING, 'POLLING'],
  [IFCAP_VLAN_HWCSUM, 'VLAN_HWCSUM'],
  [IFCAP_TSO4, 'TSO4'],
  [IFCAP_TSO6, 'TSO6'],
  [IFCAP_LRO, 'LRO'],
  [IFCAP_WOL_UCAST, 'WOL_UCAST'],
  [IFCAP_WOL_MCAST, 'WOL_MCAST'],
  [IFCAP_WOL_MAGIC, 'WOL_MAGIC'],
  [IFCAP_TOE4, 'TOE4'],
  [IFCAP_TOE6, 'TOE6'],
  [IFCAP_VLAN_HWFILTER, 'VLAN_HWFILTER'],
  [IFCAP_VLAN_HWTSO, 'VLAN_HWTSO'],
  [IFCAP_LINKSTATE, 'LINKSTATE'],
  [IFCAP_RXCSUM_IPV6, 'RXCSUM_IPV6'],
  [IFCAP_TXCSUM_IPV6, 'TXCSUM_IPV6'],
];

export function ifcapNames(bits: number): string[] {
  return IFCAP_NAMES.filter(([b]) => (bits & b) !== 0).map(([, n]) => n);
}

/** if_flags (net/if.h). IFF_DRV_RUNNING is folded in as RUNNING. */
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_POINTOPOINT = 0x10;
export const IFF_RUNNING = 0x40;
export const IFF_MULTICAST = 0x8000;

/** if_type (net/if_types.h). */
export const IFT_ETHER = 0x06;
export const IFT_LOOP = 0x18;
export const IFT_PROPVIRTUAL = 0x35;

export type IfType = 'ether' | 'tun' | 'loop';

/** An IPv4 address on an interface (struct in_ifaddr). Addresses are host-order u32. */
export interface InIfaddr {
  readonly ifp: Ifnet;
  readonly addr: number;
  readonly plen: number;
  readonly mask: number;
  /** Directed broadcast address (0 on point-to-point links). */
  readonly broadcast: number;
}

/** An IPv6 address on an interface (struct in6_ifaddr). */
export interface In6Ifaddr {
  readonly ifp: Ifnet;
  readonly addr: Uint8Array;
  readonly plen: number;
}

/** if_data counters (struct if_data), the names `netstat -i` reads. */
export interface IfData {
  ifi_ipackets: number;
  ifi_ierrors: number;
  ifi_opackets: number;
  ifi_oerrors: number;
  ifi_ibytes: number;
  ifi_obytes: number;
  ifi_imcasts: number;
  ifi_omcasts: number;
  ifi_iqdrops: number;
  ifi_oqdrops: number;
  ifi_noproto: number;
}

export interface IfattachOptions {
  name: string;
  type: IfType;
  mtu?: number;
  /** 6-byte MAC for 'ether' (required there). */
  lladdr?: Uint8Array;
  /** IFCAP_* bits the "hardware" offers. lo0 defaults to the loopback set. */
  capabilities?: number;
  /** IFCAP_* bits enabled at attach; default: every capability except TOE (`ifconfig toe` turns it on). */
  capenable?: number;
  /**
   * if_fib: the FIB of the packets the interface receives (M_SETFIB in ether_input), hence
   * of the connections they open, and of its addresses' routes without net.add_addr_allfibs.
   */
  fib?: number;
}

/** if_attach's if_hw_tsomax default: min(IP_MAXPACKET, 32 * MCLBYTES - (ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN)). */
export const IF_HW_TSOMAX_DEFAULT = Math.min(65535, 32 * 2048 - (14 + 4));

/** The loopback set (if_loop.c, r235961): checksum offload for IPv4 and IPv6, each direction. */
export const LO_CAPABILITIES = IFCAP_HWCSUM | IFCAP_HWCSUM_IPV6 | IFCAP_LINKSTATE;

export class Ifnet {
  readonly name: string;
  readonly index: number;
  readonly type: IfType;
  /** IFT_* of the type. */
  readonly ifType: number;
  mtu: number;
  /** The largest MTU the driver carries (SIOCSIFMTU above it is EINVAL, as a driver's ioctl refuses it). */
  mtuMax = 65535;
  readonly lladdr: Uint8Array | null;
  flags: number;
  readonly capabilities: number;
  /** ifmedia options the driver offers (IFM_ETH_RXPAUSE | IFM_ETH_TXPAUSE where it does 802.3x). */
  mediaoptCap = 0;
  /** The ifmedia options switched on (ifconfig mediaopt / -mediaopt). */
  mediaopt = 0;
  private _capenable = 0;
  private _hwassist = 0;
  /**
   * if_hw_tsomax: the longest TSO frame the link takes, headers included (if.c's default
   * for a driver that sets none: 32 clusters less an Ethernet and a VLAN header).
   */
  hw_tsomax = IF_HW_TSOMAX_DEFAULT;
  /** if_fib (see IfattachOptions.fib); `ifconfig IF fib N` sets it (ifSetFib). */
  fib: number;
  /**
   * TOEDEV(ifp) (netinet/toecore.h): the toedev a loaded TOM (t4_tom, t3_tom) registered
   * with this port, or null; IFCAP_TOE bits can be turned on only where it offers them.
   */
  toedev: { readonly caps: number } | null = null;
  readonly addrs4: InIfaddr[] = [];
  readonly addrs6: In6Ifaddr[] = [];
  /** Joined IPv4 groups (host-order u32) with reference counts. */
  readonly groups4 = new Map<number, number>();
  /** Joined IPv6 groups, keyed by their text form, with reference counts. */
  readonly groups6 = new Map<string, { addr: Uint8Array; refs: number }>();
  readonly data: IfData = {
    ifi_ipackets: 0,
    ifi_ierrors: 0,
    ifi_opackets: 0,
    ifi_oerrors: 0,
    ifi_ibytes: 0,
    ifi_obytes: 0,
    ifi_imcasts: 0,
    ifi_omcasts: 0,
    ifi_iqdrops: 0,
    ifi_oqdrops: 0,
    ifi_noproto: 0,
  };

  constructor(index: number, o: IfattachOptions) {
    this.name = o.name;
    this.index = index;
    this.type = o.type;
    this.fib = o.fib ?? 0;
    switch (o.type) {
      case 'ether':
        this.ifType = IFT_ETHER;
        this.mtu = o.mtu ?? 1500;
        this.flags = IFF_BROADCAST | IFF_MULTICAST;
        this.lladdr = o.lladdr ? o.lladdr.slice(0, 6) : null;
        break;
      case 'tun':
        this.ifType = IFT_PROPVIRTUAL;
        this.mtu = o.mtu ?? 1500;
        this.flags = IFF_POINTOPOINT | IFF_MULTICAST;
        this.lladdr = null;
        break;
      case 'loop':
        this.ifType = IFT_LOOP;
        this.mtu = o.mtu ?? 16384;
        this.flags = IFF_LOOPBACK | IFF_MULTICAST;
        this.lladdr = null;
        break;
    }
    this.capabilities = o.capabilities ?? (o.type === 'loop' ? LO_CAPABILITIES : 0);
    // TOE needs a TOM loaded first (toecore.ts): never on at attach.
    this.setCapenable((o.capenable ?? this.capabilities) & ~IFCAP_TOE);
  }

  get up(): boolean {
    return (this.flags & IFF_UP) !== 0;
  }
  get capenable(): number {
    return this._capenable;
  }
  /** CSUM_* offloads the link performs on transmit (if_hwassist). */
  get hwassist(): number {
    return this._hwassist;
  }

  /**
   * SIOCSIFCAP: set capenable to `want` (bits outside `capabilities` are EINVAL).
   * As drivers do, TSO needs the matching TXCSUM: asking for TSO4 without TXCSUM is
   * EAGAIN ("enable txcsum first"), and turning TXCSUM off turns TSO4 off with it.
   * Returns 0 or -errno.
   */
  setCapenable(want: number): number {
    if ((want & ~this.capabilities) !== 0) return -ERRNO.EINVAL;
    const turningOn = want & ~this._capenable;
    // The driver without its TOM (or a T3 asked for TOE6): EOPNOTSUPP, as cxgbe's toe_capability.
    if ((turningOn & IFCAP_TOE) !== 0 && (this.toedev === null || (turningOn & IFCAP_TOE & ~this.toedev.caps) !== 0))
      return -ERRNO.EOPNOTSUPP;
    if (turningOn & IFCAP_TSO4 && !(want & IFCAP_TXCSUM)) return -ERRNO.EAGAIN;
    if (turningOn & IFCAP_TSO6 && !(want & IFCAP_TXCSUM_IPV6)) return -ERRNO.EAGAIN;
    if (!(want & IFCAP_TXCSUM)) want &= ~IFCAP_TSO4;
    if (!(want & IFCAP_TXCSUM_IPV6)) want &= ~IFCAP_TSO6;
    this._capenable = want;
    this._hwassist = hwassistFor(this.type, want);
    return 0;
  }

  /** Toggle single bits: `setCap(IFCAP_TXCSUM_IPV6, false)` is `ifconfig -txcsum6`. */
  setCap(bits: number, on: boolean): number {
    return this.setCapenable(on ? this._capenable | bits : this._capenable & ~bits);
  }

  /** Is `a` (host-order) one of this interface's IPv4 addresses? */
  hasAddr4(a: number): boolean {
    for (const ia of this.addrs4) if (ia.addr === a) return true;
    return false;
  }
}

/**
 * if_hwassist from capenable. A NIC driver maps TXCSUM to IP/TCP/UDP offload and
 * TSO to the TSO flags; the loopback (if_loop.c) announces only SCTP offload, so
 * TCP and UDP checksums are still computed on the way out and RXCSUM marks them
 * verified on the way in (LO_CSUM_SET).
 */
export function hwassistFor(type: IfType, capenable: number): number {
  let h = 0;
  if (type === 'loop') {
    if (capenable & IFCAP_TXCSUM) h |= CSUM_IP_SCTP;
    if (capenable & IFCAP_TXCSUM_IPV6) h |= CSUM_IP6_SCTP;
    return h;
  }
  if (capenable & IFCAP_TXCSUM) h |= CSUM_IP | CSUM_TCP | CSUM_UDP;
  if (capenable & IFCAP_TXCSUM_IPV6) h |= CSUM_TCP_IPV6 | CSUM_UDP_IPV6;
  if (capenable & IFCAP_TSO4) h |= CSUM_IP_TSO;
  if (capenable & IFCAP_TSO6) h |= CSUM_IP6_TSO;
  return h;
}

/** The interface list as if_attach and ifunit see it (net/vnet.ts). */
interface IfnetList {
  readonly ifnets: Ifnet[];
  /** The FIBs (absent while the stack itself is being built: lo0, FIB 0). */
  readonly fibs?: readonly unknown[];
}

/** if_attach: a new interface, down until ifUpDown. Names are unique (a TypeError, like EEXIST). */
export function ifattach(v: IfnetList, o: IfattachOptions): Ifnet {
  if (ifunit(v, o.name)) throw new TypeError(`ifattach: ${o.name} exists`);
  if (o.type === 'ether' && (!o.lladdr || o.lladdr.length < 6))
    throw new TypeError('ifattach: ether needs a 6-byte lladdr');
  const fib = o.fib ?? 0;
  if (fib !== 0 && !(Number.isInteger(fib) && fib > 0 && fib < (v.fibs?.length ?? 1)))
    throw new SysError('EINVAL', `ifattach: ${o.name}: fib ${fib} is not below net.fibs`, 'ifattach');
  // if_index past the highest in use: an interface detached (if_vmove, epair destroy) leaves a gap.
  const ifp = new Ifnet((v.ifnets[v.ifnets.length - 1]?.index ?? 0) + 1, o);
  v.ifnets.push(ifp);
  return ifp;
}

export function ifunit(v: IfnetList, name: string): Ifnet | null {
  return v.ifnets.find((i) => i.name === name) ?? null;
}

/**
 * if_up / if_down (ifconfig up/down), then the link event handlers: ARP announces
 * the addresses of an interface coming up, ARP and ND flush what went down.
 */
export function ifUpDown(
  v: { readonly ifevents: readonly ((ifp: Ifnet, up: boolean) => void)[] },
  ifp: Ifnet,
  up: boolean,
): void {
  if (up) ifp.flags |= IFF_UP | IFF_RUNNING;
  else ifp.flags &= ~(IFF_UP | IFF_RUNNING);
  for (const h of v.ifevents) h(ifp, up);
}

/** SIOCSIFFIB (`ifconfig IF fib N`): 0 or -EINVAL for a FIB past net.fibs (if.c ifhwioctl). */
export function ifSetFib(v: { readonly fibs: readonly unknown[] }, ifp: Ifnet, fib: number): number {
  if (!Number.isInteger(fib) || fib < 0 || fib >= v.fibs.length) return -ERRNO.EINVAL;
  ifp.fib = fib;
  return 0;
}

/** SIOCSIFMTU: 0 or -EINVAL (IF_MINMTU 72 .. the driver's mtuMax, IF_MAXMTU 65535). Cached routes see the new path MTU. */
export function ifSetMtu(v: { readonly fibs: readonly { gen: number }[] }, ifp: Ifnet, mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 72 || mtu > ifp.mtuMax) return -ERRNO.EINVAL;
  ifp.mtu = mtu;
  for (const f of v.fibs) f.gen++;
  return 0;
}
