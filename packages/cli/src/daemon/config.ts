/**
 * The daemon's configuration (JSON): the stack it serves and, optionally, a peer stack
 * joined to its `cxgbe0` by the in-memory link. Checked completely before anything
 * starts; a mistake is a ConfigError naming the file, the field path and the reason.
 *
 *   {
 *     "name": "mcstack", "workers": 2, "strategy": "rss-groups", "seed": 1, "mtu": 1500,
 *     "mac": "02:00:00:00:00:01", "addrs": ["10.0.0.1/24", "fd00::1/64"],
 *     "capabilities": ["RXCSUM", "TXCSUM", "TSO4", "TOE4"], "capenable": ["RXCSUM", "TXCSUM"],
 *     "routes": [{ "dst": "default", "gateway": "10.0.0.254" }],
 *     "neighbors": [{ "addr": "10.0.0.254", "mac": "02:00:00:00:00:fe" }],
 *     "sysctl": { "net.inet.tcp.msl": 5000 },
 *     "tunables": { "net.inet.tcp.hostcache.hashsize": 1024 },
 *     "modules": ["t4_tom"], "toe": { "ntids": 64, "memory": 67108864 },
 *         (the TOE card; with "TOE4"/"TOE6" in capenable, `ifconfig cxgbe0 toe` at start)
 *     "apps": [{ "name": "echo", "port": 7 }, { "name": "http-lite", "port": 80 },
 *              { "module": "file:///abs/app.js", "export": "default", "options": {} }],
 *     "peer": { ...the same fields but "peer" and "links" }
 *   }
 *
 * Instead of "peer", cxgbe0 may go to real hosts over one single-queue link:
 *     "links": [{ "type": "udp-tunnel", "local": "127.0.0.1:4001", "remote": "127.0.0.1:4002" }]
 *     "links": [{ "type": "tap", "name": "tap0", "netns": "ns1", "addrs": ["10.0.0.2/24"] }]
 *     "links": [{ "type": "tap", "queues": "per-worker", "netns": "ns1", "addrs": ["10.0.0.2/24"] }]
 *     "links": [{ "type": "af_packet", "ifname": "veth1", "netns": "ns2" }]
 *
 * Either stack may put a dummynet pipe on cxgbe0's output (docs/cc.md):
 *     "pipe": { "bw": 100000000, "delay": 20, "queue": 100, "aqm": "codel", "plr": 0.001 }
 *
 * Apps by name: echo, discard, http-lite, bulk-sender, rr-client, crr-client and
 * paced-client (this folder: connections at a steady rate); by module, a file: URL that
 * exists (or a data: URL).
 *
 * Beyond each field's shape, each stack is set up once in a throwaway engine as a worker
 * sets it up (cxgbe0 with its MTU and capabilities, the addresses, the routes, the
 * sysctls in order), so what a worker would fail on at start (an unknown sysctl or a
 * value it refuses, a duplicate address, a gateway on no connected network) is a
 * ConfigError naming the field instead. The in-memory peer shares cxgbe0's link, so it
 * may not hold one of the served stack's addresses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseIP } from '@mcstack/wire';
import { Engine, IFCAP_NAMES, IFCAP_TOE, SysError, errnoName, splitLoaderTunables } from '@mcstack/netinet';
import {
  CARD_MODELS,
  cardModel,
  parseHostPort,
  appNames,
  AppOptionError,
  checkAppOptions,
  checkAppSpec,
  pipeConfig,
  type AppSpec,
  type LinkSpec,
  type PipeSpec,
  type StackOptions,
} from '@mcstack/runtime';

import { PACED_CLIENT_OPTIONS } from './paced-client.js';

export interface StackConfig extends Omit<StackOptions, 'mac' | 'neighbors'> {
  mac?: string;
  neighbors?: { addr: string; mac: string }[];
}

export interface DaemonConfig extends StackConfig {
  peer?: StackConfig;
}

/** A configuration mistake: `${file}: ${path}: ${reason}`. */
export class ConfigError extends Error {
  readonly code = 'MCSTACK_CONFIG';
  constructor(
    readonly file: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${file}: ${path === '' ? '(top level)' : path}: ${reason}`);
    this.name = 'ConfigError';
  }
}

/** The app that paces connections, loaded in workers by module URL. */
export const PACED_CLIENT = 'paced-client';
const pacedClientUrl = new URL('./paced-client.js', import.meta.url).href;

const capBits = (...names: string[]) => names.reduce((b, n) => b | IFCAP_NAMES.find(([, x]) => x === n)![0], 0);
/** What a Chelsio T6 offers as FreeBSD's cxgbe(4) lists it (the subset this stack has bits for). */
const CXGBE_CAPABILITIES = capBits(
  'RXCSUM',
  'TXCSUM',
  'VLAN_MTU',
  'JUMBO_MTU',
  'TSO4',
  'TSO6',
  'LRO',
  'TOE4',
  'TOE6',
  'LINKSTATE',
  'RXCSUM_IPV6',
  'TXCSUM_IPV6',
);
/** Enabled at start: the checksum offloads (TSO and LRO stay off until ifconfig turns them on). */
const CXGBE_CAPENABLE = capBits('RXCSUM', 'TXCSUM', 'LINKSTATE', 'RXCSUM_IPV6', 'TXCSUM_IPV6');
/**
 * The served stack's TOE card in the embedded default: t4_tom loaded and `toe` on once it
 * runs, with a TID table smaller than the paced clients' live connections, so part of them
 * runs on the card (netstat's toe4/toe6) and the rest stays on the host, counted
 * (dev.t4nex.0.toe.refused_tids).
 */
const DEMO_TOE = { ntids: 8 };
const DEMO_CAPENABLE = CXGBE_CAPENABLE | capBits('TOE4', 'TOE6');

/**
 * The peer verifies in "hardware" (the in-memory link hands over the served stack's
 * TXCSUM frames as verified, without filling the sums in, so a peer without RXCSUM would
 * drop them as bad) but computes its own sums, so `ifconfig cxgbe0 -rxcsum` on the
 * served stack keeps working.
 */
const PEER_CAPENABLE = capBits('RXCSUM', 'LINKSTATE', 'RXCSUM_IPV6');

/**
 * The embedded default: `cxgbe0` (10.0.0.1/24, fd00::1/64) with echo (7), discard (9)
 * and http-lite (80), t4_tom loaded and `toe` on (part of the connections on the card),
 * joined to a peer (10.0.0.2, fd00::2) whose paced clients open,
 * use and close connections to all three, IPv4 and IPv6, a few per second.
 */
export function defaultConfig(): DaemonConfig {
  const workers = Math.min(2, availableParallelism());
  const paced = (addr: string, port: number, protocol: string, rate: number) => ({
    name: PACED_CLIENT,
    options: { addr, port, protocol, rate, hold: 4000, interval: 400, size: 256 },
  });
  return {
    name: 'mcstack',
    workers,
    mac: '02:00:00:00:00:01',
    addrs: ['10.0.0.1/24', 'fd00::1/64'],
    capabilities: CXGBE_CAPABILITIES,
    capenable: DEMO_CAPENABLE,
    modules: ['t4_tom'],
    toe: DEMO_TOE,
    apps: [
      { name: 'echo', port: 7 },
      { name: 'discard', port: 9 },
      { name: 'http-lite', port: 80 },
    ],
    peer: {
      name: 'peer',
      workers: 1,
      mac: '02:00:00:00:00:02',
      addrs: ['10.0.0.2/24', 'fd00::2/64'],
      capabilities: CXGBE_CAPABILITIES,
      capenable: PEER_CAPENABLE,
      apps: [paced('10.0.0.1', 7, 'echo', 2), paced('fd00::1', 9, 'discard', 1), paced('10.0.0.1', 80, 'http', 1)],
    },
  };
}

/** Read and check a config file. ConfigError on any problem. */
export function loadConfig(file: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, '', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '', `not JSON: ${(e as Error).message}`);
  }
  return checkConfig(json, file);
}

type Obj = Record<string, unknown>;

const STACK_FIELDS = [
  'name',
  'workers',
  'strategy',
  'seed',
  'ifname',
  'mtu',
  'mac',
  'capabilities',
  'capenable',
  'addrs',
  'routes',
  'neighbors',
  'sysctl',
  'tunables',
  'apps',
  'buckets',
  'ringSlots',
  'links',
  'modules',
  'toe',
  'pipe',
];

/** Check a parsed config (`file` names it in errors). */
export function checkConfig(json: unknown, file: string): DaemonConfig {
  const c = checkStack(json, file, '', true) as DaemonConfig;
  const o = json as Obj;
  if (o.peer !== undefined) c.peer = checkStack(o.peer, file, 'peer', false);
  if (c.peer !== undefined) {
    const ours = new Map((c.addrs ?? []).map((a, i) => [addrKey(a), i]));
    (c.peer.addrs ?? []).forEach((a, i) => {
      const j = ours.get(addrKey(a));
      if (j !== undefined)
        throw new ConfigError(file, `peer.addrs[${i}]`, `duplicate address: ${a} is also addrs[${j}] (one link)`);
    });
  }
  if (c.peer !== undefined && (c.links?.length ?? 0) > 0)
    throw new ConfigError(file, 'links', "cxgbe0 has one link: either 'links' or 'peer', not both");
  if (c.peer?.links !== undefined)
    throw new ConfigError(
      file,
      'peer.links',
      'the in-memory peer is joined to the served stack; it takes no other link',
    );
  return c;
}

function checkStack(v: unknown, file: string, at: string, top: boolean): StackConfig {
  const fail = (path: string, reason: string): never => {
    throw new ConfigError(file, path, reason);
  };
  const p = (k: string | number) => (typeof k === 'number' ? `${at}[${k}]` : at === '' ? k : `${at}.${k}`);
  if (!isObj(v)) fail(at, 'must be an object');
  const o = v as Obj;
  for (const k of Object.keys(o)) {
    if (STACK_FIELDS.includes(k) || (top && k === 'peer')) continue;
    fail(p(k), 'unknown field');
  }
  const out: StackConfig = {};
  const str = (k: string) => {
    if (o[k] !== undefined && typeof o[k] !== 'string') fail(p(k), 'must be a string');
    return o[k] as string | undefined;
  };
  const int = (k: string, min: number, max: number) => {
    const x = o[k];
    if (x === undefined) return undefined;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max)
      fail(p(k), `must be an integer from ${min} to ${max}`);
    return x as number;
  };
  out.name = str('name');
  const cores = availableParallelism();
  out.workers = int('workers', 1, cores * 4);
  if (o.strategy !== undefined) {
    if (!['rss-groups', 'single', 'unaligned'].includes(o.strategy as string))
      fail(p('strategy'), "must be 'rss-groups', 'single' or 'unaligned'");
    out.strategy = o.strategy as StackConfig['strategy'];
    if (out.strategy === 'single' && out.workers !== undefined && out.workers !== 1)
      fail(p('workers'), "strategy 'single' runs 1 worker");
  }
  out.seed = int('seed', 0, 0xffffffff);
  if (o.ifname !== undefined) {
    if (!CARD_MODELS.some((m) => m.ifname === o.ifname))
      fail(p('ifname'), `must be ${CARD_MODELS.map((m) => `'${m.ifname}'`).join(' or ')} (a Chelsio T4 or T3 port)`);
    out.ifname = o.ifname as StackConfig['ifname'];
  }
  const port = cardModel(out.ifname);
  out.mtu = int('mtu', 72, 65535);
  out.buckets = int('buckets', 1, 65536);
  if (out.buckets !== undefined && (out.buckets & (out.buckets - 1)) !== 0)
    fail(p('buckets'), 'must be a power of two');
  out.ringSlots = int('ringSlots', 2, 1 << 20);
  if (str('mac') !== undefined) {
    if (!isMac(o.mac as string)) fail(p('mac'), `not a MAC address: ${JSON.stringify(o.mac)}`);
    out.mac = o.mac as string;
  }
  const arr = (k: string): unknown[] | undefined => {
    if (o[k] === undefined) return undefined;
    if (!Array.isArray(o[k])) fail(p(k), 'must be an array');
    return o[k] as unknown[];
  };
  const caps = (k: string): number | undefined => {
    const list = arr(k);
    if (list === undefined) return undefined;
    let bits = 0;
    list.forEach((n, i) => {
      const hit = IFCAP_NAMES.find(([, name]) => name === n);
      if (hit === undefined)
        fail(`${p(k)}[${i}]`, `not an IFCAP name (${IFCAP_NAMES.map(([, x]) => x).join(', ')}): ${JSON.stringify(n)}`);
      bits |= hit![0];
    });
    return bits;
  };
  out.capabilities = caps('capabilities');
  out.capenable = caps('capenable');
  if (out.capenable !== undefined && (out.capenable & ~(out.capabilities ?? 0)) !== 0)
    fail(p('capenable'), 'enables a capability that capabilities does not offer');
  if ((out.capabilities ?? 0) & IFCAP_TOE & ~port.toeCaps)
    fail(p('capabilities'), `${port.ifname}'s card (${port.tom}) offers TOE4 only`);
  const modules = arr('modules');
  if (modules) {
    out.modules = modules.map((m, i) => {
      if (typeof m !== 'string') fail(`${p('modules')}[${i}]`, 'must be a module name');
      return m as string;
    });
  }
  // TOE4/TOE6 in capenable: `ifconfig cxgbe0 toe` once the stack runs, as rc.conf's
  // ifconfig_cxgbe0 after kld_list loads the TOM (cxgbe refuses toe without it).
  if (((out.capenable ?? 0) & IFCAP_TOE) !== 0 && !(out.modules ?? []).includes(port.tom))
    fail(p('capenable'), `TOE4/TOE6 take effect only with '${port.tom}' in modules`);
  if (o.toe !== undefined) {
    if (!isObj(o.toe)) fail(p('toe'), 'must be an object: { "ntids": N, "memory": BYTES }');
    const to = o.toe as Obj;
    for (const k of Object.keys(to)) if (k !== 'ntids' && k !== 'memory') fail(`${p('toe')}.${k}`, 'unknown field');
    const tint = (k: string, min: number, max: number) => {
      const x = to[k];
      if (x !== undefined && (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max))
        fail(`${p('toe')}.${k}`, `must be an integer from ${min} to ${max}`);
      return x as number | undefined;
    };
    if (((out.capabilities ?? 0) & IFCAP_TOE) === 0) fail(p('toe'), `${port.ifname} offers no TOE4/TOE6 capability`);
    out.toe = {
      ...(tint('ntids', 1, 1 << 20) !== undefined ? { ntids: to.ntids as number } : {}),
      ...(tint('memory', 65536, 2 ** 40) !== undefined ? { memory: to.memory as number } : {}),
    };
  }
  const addrs = arr('addrs');
  if (addrs) {
    out.addrs = addrs.map((a, i) => {
      if (typeof a !== 'string' || !isCidr(a))
        fail(`${p('addrs')}[${i}]`, `not an address/prefix length: ${JSON.stringify(a)}`);
      return a as string;
    });
  }
  const routes = arr('routes');
  if (routes) {
    out.routes = routes.map((r, i) => {
      const rp = `${p('routes')}[${i}]`;
      if (!isObj(r)) fail(rp, 'must be an object');
      const ro = r as Obj;
      for (const k of Object.keys(ro))
        if (!['dst', 'gateway', 'fib', 'mtu'].includes(k)) fail(`${rp}.${k}`, 'unknown field');
      const dst = ro.dst;
      if (typeof dst !== 'string' || !(dst === 'default' || dst === 'default6' || isPrefix(dst)))
        fail(`${rp}.dst`, `not 'default', 'default6' or a prefix: ${JSON.stringify(dst)}`);
      const gw = ro.gateway;
      if (typeof gw !== 'string' || !(parseIP(gw) !== null || gw === port.ifname || gw === 'lo0'))
        fail(`${rp}.gateway`, `not an address or an interface (${port.ifname}, lo0): ${JSON.stringify(gw)}`);
      // The table must exist: net.fibs (a loader tunable) says how many; the dry run below checks.
      if (ro.fib !== undefined && (typeof ro.fib !== 'number' || !Number.isInteger(ro.fib) || ro.fib < 0))
        fail(`${rp}.fib`, 'must be a FIB number (0 .. net.fibs-1)');
      if (
        ro.mtu !== undefined &&
        (typeof ro.mtu !== 'number' || !Number.isInteger(ro.mtu) || ro.mtu < 0 || ro.mtu > 65535)
      )
        fail(`${rp}.mtu`, 'must be an integer from 0 to 65535');
      return {
        dst: dst as string,
        gateway: gw as string,
        fib: ro.fib as number | undefined,
        mtu: ro.mtu as number | undefined,
      };
    });
  }
  const nbs = arr('neighbors');
  if (nbs) {
    out.neighbors = nbs.map((n, i) => {
      const np = `${p('neighbors')}[${i}]`;
      if (!isObj(n)) fail(np, 'must be an object');
      const no = n as Obj;
      if (typeof no.addr !== 'string' || parseIP(no.addr) === null)
        fail(`${np}.addr`, `not an address: ${JSON.stringify(no.addr)}`);
      if (typeof no.mac !== 'string' || !isMac(no.mac))
        fail(`${np}.mac`, `not a MAC address: ${JSON.stringify(no.mac)}`);
      return { addr: no.addr as string, mac: no.mac as string };
    });
  }
  if (o.sysctl !== undefined) {
    if (!isObj(o.sysctl)) fail(p('sysctl'), 'must be an object of name: value');
    for (const [k, x] of Object.entries(o.sysctl as Obj)) {
      if (typeof x !== 'number' && typeof x !== 'string') fail(`${p('sysctl')}.${k}`, 'must be a number or a string');
    }
    out.sysctl = o.sysctl as Record<string, number | string>;
  }
  if (o.tunables !== undefined) {
    if (!isObj(o.tunables)) fail(p('tunables'), 'must be an object of name: value');
    for (const [k, x] of Object.entries(o.tunables as Obj)) {
      if (typeof x !== 'number' && typeof x !== 'string') fail(`${p('tunables')}.${k}`, 'must be a number or a string');
    }
    out.tunables = o.tunables as Record<string, number | string>;
  }
  const apps = arr('apps');
  if (apps) out.apps = apps.map((a, i) => checkApp(a, `${p('apps')}[${i}]`, fail));
  const links = arr('links');
  if (links) {
    if (links.length > 1) fail(p('links'), 'at most one link (it carries cxgbe0)');
    out.links = links.map((l, i) => checkLink(l, `${p('links')}[${i}]`, fail));
  }
  if (o.pipe !== undefined) {
    // A dummynet pipe on cxgbe0's output (docs/cc.md): checked as the stack checks it.
    if (!isObj(o.pipe)) fail(p('pipe'), 'must be an object');
    try {
      pipeConfig(o.pipe as PipeSpec);
    } catch (e) {
      fail(p('pipe'), (e as Error).message.replace(/^(EINVAL: )?pipe: /, ''));
    }
    out.pipe = o.pipe as PipeSpec;
  }
  dryRun(out, p, fail);
  return out;
}

/** The address of `a/len` as comparable text (10.0.0.1 and 10.0.0.01 alike), or null. */
function addrKey(cidr: string): string | null {
  const b = parseIP(cidr.split('/')[0] ?? '');
  return b === null ? null : Buffer.from(b).toString('hex');
}

/** Set the stack up in a throwaway engine as a group worker does (runtime worker/group.ts). */
function dryRun(
  c: StackConfig,
  p: (k: string | number) => string,
  fail: (path: string, reason: string) => never,
): void {
  const seen = new Map<string, number>();
  (c.addrs ?? []).forEach((a, i) => {
    const k = addrKey(a);
    if (k === null) return;
    const first = seen.get(k);
    if (first !== undefined) fail(`${p('addrs')}[${i}]`, `duplicate address: ${a} is also ${p('addrs')}[${first}]`);
    seen.set(k, i);
  });
  // Loader tunables first, as a worker starts its engine with them (worker/group.ts): the
  // `tunables` map and the CTLFLAG_RDTUN names of the `sysctl` map.
  const { tunables, sysctls } = splitLoaderTunables(c.sysctl ?? {});
  let e: Engine;
  try {
    e = new Engine({ seed: 1, tunables: { ...c.tunables, ...tunables } });
  } catch (err) {
    const msg = (err as Error).message;
    const name = Object.keys(tunables).find((k) => msg.includes(k));
    if (name !== undefined)
      fail(`${p('sysctl')}.${name}`, `bad value for a loader tunable: ${msg.replace(/^sysctl EINVAL: /, '')}`);
    fail(p('tunables'), msg.replace(/^(kenv|sysctl) \w+: /, ''));
  }
  const cx = e.ifattach({
    name: cardModel(c.ifname).ifname,
    type: 'ether',
    lladdr: new Uint8Array([2, 0, 0, 0, 0, 1]),
    mtu: c.mtu,
    capabilities: c.capabilities,
    capenable: c.capenable === undefined ? undefined : c.capenable & ~IFCAP_TOE,
  });
  (c.modules ?? []).forEach((m, i) => {
    const r = e.kldload(m);
    if (r < 0 && errnoName(r) !== 'EEXIST') fail(`${p('modules')}[${i}]`, `kldload ${m} fails (${errnoName(r)})`);
  });
  (c.addrs ?? []).forEach((a, i) => {
    const r = e.addAddr(cx, a);
    if (r < 0) fail(`${p('addrs')}[${i}]`, `${cx.name} refuses ${a} (${errnoName(r)})`);
  });
  e.setUp(cx, true);
  (c.routes ?? []).forEach((r, i) => {
    const via = e.ifunit(r.gateway) ?? r.gateway;
    const err = e.addRoute(r.dst, via, { fib: r.fib, mtu: r.mtu });
    if (err < 0) {
      const why =
        errnoName(err) === 'ENETUNREACH'
          ? `gateway ${r.gateway} is on no network of ${cx.name}'s addresses`
          : errnoName(err) === 'EINVAL' && (r.fib ?? 0) >= e.net.fibs.length
            ? `fib ${r.fib} is not below net.fibs (${e.net.fibs.length}; set it in tunables)`
            : '';
      fail(`${p('routes')}[${i}]`, `route add ${r.dst} ${r.gateway} fails (${errnoName(err)})${why ? `: ${why}` : ''}`);
    }
  });
  // What the worker registers itself (worker/group.ts), then the config's sysctls in order.
  e.sysctl.int('debug.kdb.panic', { panic: 0 }, 'panic', 'Set to panic the worker (failure drills)', {
    min: 0,
    max: 1,
  });
  for (const [name, value] of Object.entries(sysctls)) {
    const at = `${p('sysctl')}.${name}`;
    try {
      e.sysctl.set(name, value);
    } catch (err) {
      const code = err instanceof SysError ? err.code : '';
      if (code === 'ENOENT') fail(at, 'unknown sysctl (the engine has no such OID)');
      if (code === 'EPERM') fail(at, 'read-only sysctl');
      const msg = (err as Error).message.replace(/^sysctl EINVAL: /, '');
      fail(at, `bad value ${JSON.stringify(value)}: ${msg}`);
    }
  }
}

function checkLink(l: unknown, at: string, fail: (path: string, reason: string) => never): LinkSpec {
  if (!isObj(l)) fail(at, 'must be an object');
  const o = l as Obj;
  const fields =
    o.type === 'udp-tunnel'
      ? ['type', 'remote', 'local', 'name']
      : o.type === 'tap'
        ? ['type', 'name', 'netns', 'addrs', 'queues']
        : o.type === 'af_packet'
          ? ['type', 'ifname', 'netns']
          : null;
  if (fields === null) fail(`${at}.type`, `must be 'udp-tunnel', 'tap' or 'af_packet', got ${JSON.stringify(o.type)}`);
  for (const k of Object.keys(o))
    if (!fields.includes(k)) fail(`${at}.${k}`, `unknown field for a ${o.type as string} link`);
  for (const k of ['remote', 'local', 'name', 'netns'])
    if (o[k] !== undefined && typeof o[k] !== 'string') fail(`${at}.${k}`, 'must be a string');
  const hostPort = (k: string) => {
    try {
      return parseHostPort(o[k] as string, k);
    } catch {
      return fail(`${at}.${k}`, `not a numeric host:port ([v6]:port for IPv6): ${JSON.stringify(o[k])}`);
    }
  };
  if (o.type === 'udp-tunnel') {
    if (o.remote === undefined) fail(`${at}.remote`, 'a udp-tunnel link needs the remote host:port');
    if (hostPort('remote').port === 0) fail(`${at}.remote`, 'port 0');
    if (o.local !== undefined) hostPort('local');
    return {
      type: 'udp-tunnel',
      remote: o.remote as string,
      local: o.local as string | undefined,
      name: o.name as string | undefined,
    };
  }
  if (o.type === 'af_packet') {
    if (typeof o.ifname !== 'string' || !/^[A-Za-z0-9_.@-]{1,15}$/.test(o.ifname))
      fail(`${at}.ifname`, 'the name of an existing interface (1 to 15 letters, digits, _ . @ -)');
    return { type: 'af_packet', ifname: o.ifname as string, netns: o.netns as string | undefined };
  }
  if (o.name !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(o.name as string))
    fail(`${at}.name`, 'an interface name of 1 to 15 letters, digits, _ . -');
  let addrs: string[] | undefined;
  if (o.addrs !== undefined) {
    if (!Array.isArray(o.addrs)) fail(`${at}.addrs`, 'must be an array');
    addrs = (o.addrs as unknown[]).map((a, i) => {
      if (typeof a !== 'string' || !isCidr(a))
        fail(`${at}.addrs[${i}]`, `not an address/prefix length: ${JSON.stringify(a)}`);
      return a as string;
    });
  }
  if (o.queues !== undefined && o.queues !== 'single' && o.queues !== 'per-worker')
    fail(
      `${at}.queues`,
      `'single' (socat) or 'per-worker' (a native queue per worker), got ${JSON.stringify(o.queues)}`,
    );
  const queues = o.queues as 'single' | 'per-worker' | undefined;
  return {
    type: 'tap',
    name: o.name as string | undefined,
    netns: o.netns as string | undefined,
    addrs,
    ...(queues === undefined ? {} : { queues }),
  };
}

function checkApp(a: unknown, at: string, fail: (path: string, reason: string) => never): AppSpec {
  if (!isObj(a)) fail(at, 'must be an object');
  const o = a as Obj;
  for (const k of Object.keys(o))
    if (!['name', 'module', 'export', 'port', 'options', 'fib'].includes(k)) fail(`${at}.${k}`, 'unknown field');
  // The app's FIB (setfib(1)); net.fibs, known only to the workers, bounds it there (EINVAL).
  if (o.fib !== undefined && (typeof o.fib !== 'number' || !Number.isInteger(o.fib) || o.fib < 0))
    fail(`${at}.fib`, 'must be a FIB number (0 .. net.fibs-1)');
  const fib = o.fib as number | undefined;
  if (o.port !== undefined && (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65535))
    fail(`${at}.port`, 'must be an integer from 1 to 65535');
  if (o.options !== undefined && !isObj(o.options)) fail(`${at}.options`, 'must be an object');
  const options = (o.options ?? {}) as Record<string, unknown>;
  const port = o.port as number | undefined;
  if (o.module !== undefined) {
    if (typeof o.module !== 'string') fail(`${at}.module`, 'must be a module URL string');
    let url: URL;
    try {
      url = new URL(o.module as string);
    } catch {
      return fail(`${at}.module`, `not a URL: ${JSON.stringify(o.module)}`);
    }
    if (url.protocol === 'file:') {
      let path: string;
      try {
        path = fileURLToPath(url);
      } catch (e) {
        return fail(`${at}.module`, `not a file path: ${(e as Error).message}`);
      }
      if (!existsSync(path)) fail(`${at}.module`, `no such file: ${path}`);
    } else if (url.protocol !== 'data:') {
      fail(`${at}.module`, `must be a file: (or data:) URL, not ${url.protocol}`);
    }
    if (o.export !== undefined && typeof o.export !== 'string') fail(`${at}.export`, 'must be a string');
    return {
      module: o.module as string,
      export: o.export as string | undefined,
      name: o.name as string | undefined,
      port,
      options,
      fib,
    };
  }
  if (typeof o.name !== 'string') fail(`${at}.name`, 'an app needs a name or a module');
  const known = [...appNames().filter((n) => n !== 'sockapp'), PACED_CLIENT];
  if (!known.includes(o.name as string)) fail(`${at}.name`, `unknown app '${o.name}' (known: ${known.join(', ')})`);
  // The app's declared options (the runtime's apps/options.ts): an unknown key or a bad value is refused here.
  try {
    if (o.name === PACED_CLIENT) checkAppOptions(PACED_CLIENT, PACED_CLIENT_OPTIONS, options);
    else checkAppSpec(o.name as string, options);
  } catch (e) {
    if (e instanceof AppOptionError) fail(`${at}.options.${e.option}`, e.message);
    throw e;
  }
  if (o.name === PACED_CLIENT) return { module: pacedClientUrl, name: PACED_CLIENT, port, options, fib };
  return { name: o.name as string, port, options, fib };
}

/** The config's stack part as Stack options (the paced client named by module URL). */
export function stackOptions(c: StackConfig, fib = 0): StackOptions {
  const { ...o } = c;
  return {
    ...o,
    // TOE is never on at attach (cxgbe's toe_capability): serve applies it once the TOM runs.
    ...(c.capenable !== undefined ? { capenable: c.capenable & ~IFCAP_TOE } : {}),
    // An app without its own FIB runs in `fib` (the daemon's: `mcstack setfib N serve`).
    apps: (c.apps ?? []).map((a) =>
      'name' in a && a.name === PACED_CLIENT && !('module' in a)
        ? { module: pacedClientUrl, name: PACED_CLIENT, port: a.port, options: a.options, fib: a.fib ?? fib }
        : { ...a, fib: a.fib ?? fib },
    ),
  };
}

function isObj(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isMac(m: string): boolean {
  return /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(m);
}

function isPrefix(s: string): boolean {
  const [a, l, extra] = s.split('/');
  if (extra !== undefined || a === undefined) return false;
  const b = parseIP(a);
  if (b === null) return false;
  if (l === undefined) return true;
  const n = Number(l);
  return /^\d+$/.test(l) && n <= b.length * 8;
}

function isCidr(s: string): boolean {
  return s.includes('/') && isPrefix(s);
}
