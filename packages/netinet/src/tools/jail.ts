/**
 * jail(8), jls(8) and the vnet words of ifconfig(8) over a Jails set (jail.ts):
 * `jail -c name=N vnet`, `jail -r N`, `jls`, and inside a jail (`ifconfig -j J ...`)
 * `epair create`, `IF destroy`, `IF vnet K`, `IF -vnet K`, `IF inet|inet6 A/P` and the
 * interface words tools/ifconfig.ts knows. Bad words are EINVAL, as ifconfig refuses them.
 */
import { SysError } from '../kern/errno.js';
import type { JailInfo, Jails } from '../jail.js';
import { applyIfconfig, parseIfconfigArgs } from './ifconfig.js';

const einval = (msg: string, what = 'jail') => new SysError('EINVAL', msg, what);

/** `jail -c` parameters: `name=N` and `vnet` (what this stack supports). EINVAL otherwise. */
export function parseJailCreate(params: readonly string[]): { name: string; vnet: boolean } {
  let name: string | undefined;
  let vnet = false;
  for (const p of params) {
    if (p === 'vnet' || p === 'vnet=new') vnet = true;
    else if (p.startsWith('name=')) name = p.slice(5);
    else throw einval(`unknown parameter '${p}' (this stack takes name=N and vnet)`);
  }
  if (name === undefined || name === '') throw einval('name=N is required');
  return { name, vnet };
}

/**
 * `ifconfig` words run inside jail `j`: what ifconfig prints (the new epair's first
 * end's name for `epair create`, as FreeBSD prints it), else ''. Throws SysError.
 */
export function jailIfconfig(jails: Jails, j: number | string, argv: readonly string[]): string {
  const e = jails.engine(j);
  if (e === null) throw new SysError('ENOENT', `jail '${j}' not found`, 'ifconfig');
  const [ifname, w, arg, ...rest] = argv;
  if (ifname === undefined) throw einval('missing interface name', 'ifconfig');
  const extra = (n: number) => {
    if (rest.length > n) throw einval(`unexpected '${rest[n]}'`, 'ifconfig');
  };
  if (ifname === 'epair' && w === 'create') {
    if (arg !== undefined) throw einval(`unexpected '${arg}'`, 'ifconfig');
    return `${jails.epairCreate(j)[0]}\n`;
  }
  if (w === 'destroy') {
    if (arg !== undefined) throw einval(`unexpected '${arg}'`, 'ifconfig');
    if (e.ifunit(ifname) === null) throw new SysError('ENXIO', `interface ${ifname} does not exist`, 'ifconfig');
    jails.ifDestroy(ifname);
    return '';
  }
  if (w === 'vnet' || w === '-vnet') {
    if (arg === undefined) throw einval(`'${w}' needs a jail`, 'ifconfig');
    extra(0);
    if (w === 'vnet') jails.vmove(ifname, arg, j);
    else jails.vreclaim(ifname, arg, j);
    return '';
  }
  if (w === 'inet' || w === 'inet6') {
    if (arg === undefined || !arg.includes('/')) throw einval(`'${w}' needs an address/prefix`, 'ifconfig');
    if ((w === 'inet6') !== arg.includes(':')) throw einval(`'${arg}' is not an ${w} address`, 'ifconfig');
    extra(0);
    if (e.ifunit(ifname) === null) throw new SysError('ENXIO', `interface ${ifname} does not exist`, 'ifconfig');
    const r = e.addAddr(ifname, arg);
    if (r < 0) throw SysError.fromErrno(r, `ifconfig ${w}`);
    return '';
  }
  applyIfconfig(e, parseIfconfigArgs(argv));
  return '';
}

/** jls: FreeBSD's default columns (JID, IP Address, Hostname, Path), the hostname the jail's name. */
export function formatJls(list: readonly JailInfo[]): string {
  const lines = ['   JID  IP Address      Hostname                      Path'];
  for (const j of list) lines.push(`${String(j.jid).padStart(6)}  ${''.padEnd(15)} ${j.name.padEnd(29)} /`);
  return `${lines.join('\n')}\n`;
}
