/**
 * ifconfig(8): FreeBSD's status output for interface snapshots, and the parser
 * (and applier) of `ifconfig IF [-]rxcsum [-]txcsum [-]rxcsum6 [-]txcsum6 [-]tso
 * [-]tso4 [-]tso6 [-]lro [-]toe [-]mediaopt rxpause,txpause mtu N fib N up down`.
 *
 *   em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
 *   	options=...<RXCSUM,TXCSUM,...>         (IFCAP_* enabled, when any)
 *   	capabilities=...<...,TOE4,TOE6>        (-m: what the interface offers)
 *   	ether 02:00:00:00:00:0a
 *   	inet 10.0.0.1 netmask 0xffffff00 broadcast 10.0.0.255
 *   	inet6 fd00::1 prefixlen 64
 *   	fib: 1                                 (if_fib, when not the default FIB: iffib.c)
 *   	media: Ethernet autoselect
 *   	status: active
 */
import { SysError } from '../kern/errno.js';
import type { Engine } from '../engine.js';
import {
  IFCAP_NAMES,
  IFCAP_RXCSUM,
  IFCAP_TXCSUM,
  IFCAP_RXCSUM_IPV6,
  IFCAP_TXCSUM_IPV6,
  IFCAP_TSO,
  IFCAP_TSO4,
  IFCAP_TSO6,
  IFCAP_LRO,
  IFCAP_TOE,
  IFM_ETH_RXPAUSE,
  IFM_ETH_TXPAUSE,
} from '../net/if.js';
import type { InterfaceSnapshot, StackSnapshot } from './snapshot.js';
import { printb } from './fmt.js';

/** IFFBITS (ifconfig.c): the if_flags names, in bit order. */
export const IFF_NAMES: readonly (readonly [number, string])[] = [
  [0x1, 'UP'],
  [0x2, 'BROADCAST'],
  [0x4, 'DEBUG'],
  [0x8, 'LOOPBACK'],
  [0x10, 'POINTOPOINT'],
  [0x40, 'RUNNING'],
  [0x80, 'NOARP'],
  [0x100, 'PROMISC'],
  [0x200, 'ALLMULTI'],
  [0x400, 'OACTIVE'],
  [0x800, 'SIMPLEX'],
  [0x1000, 'LINK0'],
  [0x2000, 'LINK1'],
  [0x4000, 'LINK2'],
  [0x8000, 'MULTICAST'],
  [0x20000, 'PPROMISC'],
  [0x40000, 'MONITOR'],
  [0x80000, 'STATICARP'],
];

export interface IfconfigOptions {
  /** -m: also the `capabilities=` line. */
  m?: boolean;
  /** One interface (`ifconfig em0`); all when absent (`ifconfig -a`). */
  name?: string;
}

/**
 * `ifconfig [-a] [-m] [IF]` over the first snapshot's interfaces (every worker
 * holds the same interface configuration). An unknown name is ENXIO, as
 * "ifconfig: interface em9 does not exist".
 */
export function formatIfconfig(snaps: readonly StackSnapshot[], o: IfconfigOptions = {}): string {
  const ifs = snaps[0]?.interfaces ?? [];
  const list = o.name === undefined ? ifs : ifs.filter((i) => i.name === o.name);
  if (o.name !== undefined && list.length === 0) {
    throw new SysError('ENXIO', `interface ${o.name} does not exist`, 'ifconfig');
  }
  return list.map((i) => formatInterface(i, o.m ?? false)).join('');
}

function formatInterface(i: InterfaceSnapshot, m: boolean): string {
  let s = `${i.name}: ${printb('flags', i.flags, IFF_NAMES)} metric ${i.metric} mtu ${i.mtu}\n`;
  if (i.capenable !== 0) s += `\t${printb('options', i.capenable, IFCAP_NAMES)}\n`;
  if (m && i.capabilities !== 0) s += `\t${printb('capabilities', i.capabilities, IFCAP_NAMES)}\n`;
  if (i.lladdr !== null) s += `\tether ${i.lladdr}\n`;
  for (const a of i.inet) {
    s += `\tinet ${a.addr} netmask 0x${a.netmask.toString(16).padStart(8, '0')}`;
    if (a.broadcast !== null && i.flags & 0x2) s += ` broadcast ${a.broadcast}`;
    s += '\n';
  }
  for (const a of i.inet6) {
    s += `\tinet6 ${a.addr}${a.scopeid ? `%${i.name}` : ''} prefixlen ${a.plen}`;
    if (a.scopeid) s += ` scopeid 0x${a.scopeid.toString(16)}`;
    s += '\n';
  }
  if (i.fib !== 0) s += `\tfib: ${i.fib}\n`;
  if (i.type === 'ether') {
    s += `\tmedia: Ethernet autoselect${mediaoptText(i.mediaopt ?? 0)}\n`;
    s += `\tstatus: ${i.active ? 'active' : 'no carrier'}\n`;
  }
  return s;
}

/* ------------------------------------------------------------ changing an interface */

export type IfconfigOp =
  | { op: 'cap'; word: string; bits: number; on: boolean }
  | { op: 'mtu'; mtu: number }
  | { op: 'mediaopt'; bits: number; on: boolean }
  | { op: 'fib'; fib: number }
  | { op: 'up'; up: boolean };

export interface IfconfigRequest {
  ifname: string;
  ops: IfconfigOp[];
}

/** The capability words of ifconfig.c's cmds[] this stack has bits for. */
const CAP_WORDS: Record<string, number> = {
  rxcsum: IFCAP_RXCSUM,
  txcsum: IFCAP_TXCSUM,
  rxcsum6: IFCAP_RXCSUM_IPV6,
  txcsum6: IFCAP_TXCSUM_IPV6,
  tso: IFCAP_TSO,
  tso4: IFCAP_TSO4,
  tso6: IFCAP_TSO6,
  lro: IFCAP_LRO,
  toe: IFCAP_TOE,
};

const einval = (msg: string) => new SysError('EINVAL', msg, 'ifconfig');

/** The Ethernet media option words (ifmedia's IFM_SUBTYPE_ETHERNET_OPTION_DESCRIPTIONS) this stack has. */
const MEDIAOPT_WORDS: Record<string, number> = { rxpause: IFM_ETH_RXPAUSE, txpause: IFM_ETH_TXPAUSE };

/**
 * Parse `IF word...` (the words after `ifconfig`). Unknown words, `mtu` without a
 * value or with a value that is not a whole number are EINVAL.
 */
export function parseIfconfigArgs(argv: readonly string[]): IfconfigRequest {
  const [ifname, ...rest] = argv;
  if (ifname === undefined || ifname === '' || ifname.startsWith('-')) throw einval('missing interface name');
  const ops: IfconfigOp[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w === 'mtu' || w === 'fib') {
      const v = rest[++i];
      if (v === undefined) throw einval(`'${w}' needs a value`);
      if (!/^\d+$/.test(v)) throw einval(`${w}: bad value '${v}'`);
      ops.push(w === 'mtu' ? { op: 'mtu', mtu: Number(v) } : { op: 'fib', fib: Number(v) });
      continue;
    }
    if (w === 'mediaopt' || w === '-mediaopt') {
      const v = rest[++i];
      if (v === undefined) throw einval(`'${w}' needs a value`);
      let bits = 0;
      for (const o of v.split(',')) {
        const b = MEDIAOPT_WORDS[o];
        if (b === undefined) throw einval(`unknown media option '${o}'`);
        bits |= b;
      }
      ops.push({ op: 'mediaopt', bits, on: w === 'mediaopt' });
      continue;
    }
    if (w === 'up' || w === 'down') {
      ops.push({ op: 'up', up: w === 'up' });
      continue;
    }
    const neg = w.startsWith('-');
    const bits = CAP_WORDS[neg ? w.slice(1) : w];
    if (bits === undefined) throw einval(`unknown parameter '${w}'`);
    ops.push({ op: 'cap', word: w, bits, on: !neg });
  }
  return { ifname, ops };
}

/**
 * Apply a request to one engine's interface, in order, as ifconfig issues one
 * ioctl per word: setifcap masks the request with what the interface offers
 * (SIOCGIFCAP's reqcap), so asking for an absent capability changes nothing;
 * the driver's rules stand (TSO needs TXCSUM first: EAGAIN). SIOCSIFMTU outside
 * 72..65535 is EINVAL; an unknown interface ENXIO. Throws SysError.
 */
export function applyIfconfig(engine: Engine, req: IfconfigRequest): void {
  const ifp = engine.ifunit(req.ifname);
  if (!ifp) throw new SysError('ENXIO', `interface ${req.ifname} does not exist`, 'ifconfig');
  for (const o of req.ops) {
    if (o.op === 'mtu') {
      const e = engine.setMtu(ifp, o.mtu);
      if (e < 0) throw SysError.fromErrno(e, 'ifconfig mtu');
    } else if (o.op === 'fib') {
      // SIOCSIFFIB: EINVAL past net.fibs.
      const e = engine.setIfFib(ifp, o.fib);
      if (e < 0) throw SysError.fromErrno(e, 'ifconfig fib');
    } else if (o.op === 'up') {
      engine.setUp(ifp, o.up);
    } else if (o.op === 'mediaopt') {
      // SIOCSIFMEDIA: options the driver does not offer are EINVAL ("ifconfig: SIOCSIFMEDIA
      // (mediaopt): Invalid argument"); the in-memory link's PAUSE is symmetric, both or none.
      if ((o.bits & ~ifp.mediaoptCap) !== 0) throw einval(`${req.ifname}: media option not supported`);
      const want = o.on ? ifp.mediaopt | o.bits : ifp.mediaopt & ~o.bits;
      const pause = IFM_ETH_RXPAUSE | IFM_ETH_TXPAUSE;
      if ((want & pause) !== 0 && (want & pause) !== pause)
        throw einval(`${req.ifname}: rxpause and txpause go together`);
      ifp.mediaopt = want;
    } else {
      const want = (o.on ? ifp.capenable | o.bits : ifp.capenable & ~o.bits) & ifp.capabilities;
      const e = ifp.setCapenable(want);
      if (e < 0) throw SysError.fromErrno(e, `ifconfig ${o.word}`);
    }
  }
}

/** ` <rxpause,txpause>` after the media word, as ifconfig prints the active options. */
function mediaoptText(bits: number): string {
  const names = Object.entries(MEDIAOPT_WORDS)
    .filter(([, b]) => (bits & b) !== 0)
    .map(([n]) => n);
  return names.length === 0 ? '' : ` <${names.join(',')}>`;
}
