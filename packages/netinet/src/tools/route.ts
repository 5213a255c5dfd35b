/**
 * route(8) (sbin/route/route.c): the parser and applier of
 *
 *   route [-n] [-F fib] add|change|delete|get|show [-net|-host] [-inet|-inet6] DEST [GATEWAY]
 *         [-interface IF] [-mtu N] [-fib N]
 *
 * `change` (RTM_CHANGE) gives an existing route a new gateway and/or MTU.
 * over one engine, and `route get`'s report (print_getmsg). `show` is `get`, as in
 * route.c's keyword table. DEST is `default`, an address (a host) or ADDR/LEN; a gateway is
 * an address, or the interface named by -interface (-iface). -F and -fib pick the table
 * (net.fibs of them; EINVAL past it, as the routing socket answers).
 */
import { SysError, ERRNO } from '../kern/errno.js';
import type { Engine } from '../engine.js';
import { RTF_GATEWAY, RTF_HOST, rtFibValid, rtalloc4, rtalloc6 } from '../net/route.js';
import { parseIPv4, parseIPv6, get32 } from '@mcstack/wire';
import { type RouteSnapshot, routeSnapshot } from './snapshot.js';
import { printb } from './fmt.js';

export interface RouteRequest {
  cmd: 'add' | 'change' | 'delete' | 'get';
  fib: number;
  /** The destination in the text form addRoute takes: 'default', 'default6', ADDR or ADDR/LEN. */
  dst: string;
  /** A gateway address, or null with `iface`. */
  gateway: string | null;
  iface: string | null;
  mtu: number;
}

/** What `route get` found, or what add/delete did (FreeBSD prints "add net DEST: gateway GW fib N"). */
export type RouteResult =
  | { cmd: 'get'; to: string; route: RouteSnapshot /** The path MTU (rmx_mtu, or the interface's). */; mtu: number }
  | { cmd: 'add' | 'change' | 'delete'; message: string };

const einval = (msg: string) => new SysError('EINVAL', msg, 'route');

function fibArg(v: string | undefined, what: string): number {
  if (v === undefined || !/^\d+$/.test(v)) throw einval(`${what}: bad fib '${v ?? ''}'`);
  return Number(v);
}

/** Parse the words after `route`. Unknown words, a missing destination or gateway: EINVAL. */
export function parseRouteArgs(argv: readonly string[]): RouteRequest {
  let i = 0;
  let fib = 0;
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const w = argv[i]!;
    if (w === '-n') continue;
    if (w === '-F') fib = fibArg(argv[++i], '-F');
    else throw einval(`unknown option '${w}'`);
  }
  const verb = argv[i++];
  const cmd = verb === 'show' ? 'get' : verb;
  if (cmd !== 'add' && cmd !== 'change' && cmd !== 'delete' && cmd !== 'get')
    throw einval(
      `${verb === undefined ? 'missing command' : `unknown command '${verb}'`} (add, change, delete, get, show)`,
    );
  let inet6 = false;
  let host = false;
  let net = false;
  let iface: string | null = null;
  let mtu = 0;
  const words: string[] = [];
  for (; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '-inet6') inet6 = true;
    else if (w === '-inet') inet6 = false;
    else if (w === '-host') host = true;
    else if (w === '-net') net = true;
    else if (w === '-fib') fib = fibArg(argv[++i], '-fib');
    else if (w === '-interface' || w === '-iface') {
      const v = argv[++i];
      if (v === undefined) throw einval(`'${w}' needs an interface`);
      iface = v;
    } else if (w === '-mtu') {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v)) throw einval(`-mtu: bad value '${v ?? ''}'`);
      mtu = Number(v);
    } else if (w.startsWith('-')) throw einval(`unknown modifier '${w}'`);
    else words.push(w);
  }
  const [d, gw, ...rest] = words;
  if (d === undefined) throw einval('missing destination');
  if (rest.length > 0) throw einval(`unexpected argument '${rest[0]}'`);
  let dst = d;
  if (d === 'default') dst = inet6 ? 'default6' : 'default';
  else {
    const [a, len] = d.split('/');
    const six = (a ?? '').includes(':');
    if ((six ? parseIPv6(a ?? '') : parseIPv4(a ?? '')) === null) throw einval(`${d}: bad address`);
    if (len !== undefined && (!/^\d+$/.test(len) || Number(len) > (six ? 128 : 32)))
      throw einval(`${d}: bad prefix length`);
    if (host && len !== undefined) throw einval(`${d}: -host with a prefix length`);
    if (net && len === undefined) throw einval(`${d}: -net needs ADDR/LEN`);
  }
  if (cmd === 'add' && gw === undefined && iface === null) throw einval('add needs a gateway or -interface IF');
  if (cmd === 'change' && gw === undefined && iface === null && mtu === 0)
    throw einval('change needs a gateway, -interface IF or -mtu N');
  if ((cmd === 'delete' || cmd === 'get') && (gw !== undefined || iface !== null || mtu !== 0))
    throw einval(`${cmd} takes a destination only`);
  if (gw !== undefined && (gw.includes(':') ? parseIPv6(gw) : parseIPv4(gw)) === null)
    throw einval(`${gw}: bad gateway address`);
  return { cmd, fib, dst, gateway: gw ?? null, iface, mtu };
}

/** Carry out a request on one engine. Throws SysError (EINVAL, EEXIST, ENETUNREACH, ESRCH, ENXIO). */
export function applyRoute(engine: Engine, r: RouteRequest): RouteResult {
  if (!rtFibValid(engine.net, r.fib))
    throw new SysError('EINVAL', `fib ${r.fib} is not below net.fibs (${engine.net.fibs.length})`, 'route');
  const fibText = ` fib ${r.fib}`;
  const kind = r.dst.includes('/') || r.dst.startsWith('default') ? 'net' : 'host';
  const shown = r.dst === 'default6' ? 'default' : r.dst;
  if (r.cmd === 'add' || r.cmd === 'change') {
    let via: string | null = r.gateway;
    if (r.iface !== null) {
      if (!engine.ifunit(r.iface)) throw new SysError('ENXIO', `interface ${r.iface} does not exist`, 'route');
      via = r.iface;
    }
    if (r.cmd === 'change') {
      const e = engine.changeRoute(r.dst, via, { fib: r.fib, mtu: r.mtu });
      if (e === -ERRNO.ENOENT) throw new SysError('ESRCH', 'not in table', `route change ${kind} ${shown}`);
      if (e < 0) throw SysError.fromErrno(e, `route change ${kind} ${shown}`);
      return { cmd: 'change', message: `change ${kind} ${shown}${via === null ? '' : `: gateway ${via}`}${fibText}` };
    }
    const e = engine.addRoute(r.dst, via ?? '', { fib: r.fib, mtu: r.mtu });
    if (e < 0) throw SysError.fromErrno(e, `route add ${kind} ${shown}`);
    return { cmd: 'add', message: `add ${kind} ${shown}: gateway ${via}${fibText}` };
  }
  if (r.cmd === 'delete') {
    const e = engine.deleteRoute(r.dst, r.fib);
    if (e === -ERRNO.ENOENT) throw new SysError('ESRCH', 'not in table', `route delete ${kind} ${shown}`);
    if (e < 0) throw SysError.fromErrno(e, `route delete ${kind} ${shown}`);
    return { cmd: 'delete', message: `delete ${kind} ${shown}${fibText}` };
  }
  // RTM_GET: the longest match for the destination's address in the table.
  const [a] = r.dst.startsWith('default') ? [r.dst === 'default6' ? '::' : '0.0.0.0'] : r.dst.split('/');
  const text = a ?? '';
  let rt = null;
  if (text.includes(':')) {
    const b = parseIPv6(text);
    if (b !== null) rt = rtalloc6(engine.net, r.fib, b, 0);
  } else {
    const b = parseIPv4(text);
    if (b !== null) rt = rtalloc4(engine.net, r.fib, get32(b, 0));
  }
  if (rt === null) throw new SysError('ESRCH', 'route has not been found', 'route');
  return { cmd: 'get', to: text, route: routeSnapshot(engine, rt), mtu: rt.pathMtu };
}

/** rt_flags names of route.c's routeflags (printb order), with RTF_DONE on a reply. */
const ROUTE_FLAG_NAMES: readonly (readonly [number, string])[] = [
  [0x1, 'UP'],
  [0x2, 'GATEWAY'],
  [0x4, 'HOST'],
  [0x8, 'REJECT'],
  [0x10, 'DYNAMIC'],
  [0x20, 'MODIFIED'],
  [0x40, 'DONE'],
  [0x800, 'STATIC'],
  [0x1000, 'BLACKHOLE'],
  [0x100000, 'PINNED'],
  [0x200000, 'LOCAL'],
  [0x400000, 'BROADCAST'],
];

function mask(r: RouteSnapshot): string {
  if (r.af === 4) {
    const m = r.plen === 0 ? 0 : (0xffffffff << (32 - r.plen)) >>> 0;
    return [24, 16, 8, 0].map((s) => (m >>> s) & 0xff).join('.');
  }
  const words: string[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, r.plen - i * 16));
    words.push(((0xffff << (16 - bits)) & 0xffff).toString(16));
  }
  // The zero words at the end as '::' (inet_ntop's longest run of zeros is the tail here).
  const first0 = words.indexOf('0');
  return first0 < 0 ? words.join(':') : `${words.slice(0, first0).join(':')}::`;
}

/** `route get`'s report (route.c print_getmsg with -n). */
export function formatRouteGet(x: { to: string; route: RouteSnapshot; mtu: number }): string {
  const r = x.route;
  const isDefault = r.plen === 0;
  let s = `   route to: ${x.to}\n`;
  s += `destination: ${isDefault ? 'default' : r.dst}\n`;
  if (!(r.flags & RTF_HOST)) s += `       mask: ${isDefault ? 'default' : mask(r)}\n`;
  if (r.flags & RTF_GATEWAY && r.gateway !== null) s += `    gateway: ${r.gateway}\n`;
  s += `        fib: ${r.fib}\n`;
  s += `  interface: ${r.ifname}\n`;
  s += `      ${printb('flags', r.flags | 0x40, ROUTE_FLAG_NAMES).replace(/^flags=[0-9a-f]+/, 'flags: ')}\n`;
  s += ' recvpipe  sendpipe  ssthresh  rtt,msec    mtu        weight    expire\n';
  s += `${[0, 0, 0, 0].map((n) => String(n).padStart(8)).join('  ')}  ${String(x.mtu).padStart(8)}  ${String(1).padStart(8)}  ${String(r.expire).padStart(8)} \n`;
  return s;
}
