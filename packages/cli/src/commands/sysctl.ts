/**
 * `mcstack sysctl [-j jail] NAME[=VALUE] ...` and `mcstack sysctl [-j jail] -a`: read from
 * worker 0 (every worker holds the same tree), a set goes to every worker and prints
 * `name: old -> new`. With -j, the vnet jail's own tree.
 */
import { parseSysctlArgs, formatSysctlChange } from '@mcstack/netinet/tools';
import { SysError } from '@mcstack/netinet';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { SOCKET_OPTION, WORDS, callDaemon, snapshotsOf, takeJail } from '../daemon/call.js';

interface SysctlEntry {
  name: string;
  value: number | string;
  old?: number | string;
}

export const sysctl = defineCommand<SysctlEntry[]>({
  path: ['sysctl'],
  summary: "get or set the daemon's sysctls (FreeBSD sysctl)",
  description: 'usage: mcstack sysctl [-j jail] NAME[=VALUE] ...\n       mcstack sysctl [-j jail] -a',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    let req: ReturnType<typeof parseSysctlArgs>;
    const { jail: j, rest } = takeJail(args.positionals);
    if (j === '') throw new UsageError('option requires an argument -- j');
    const jail = j === '0' ? undefined : j;
    try {
      req = parseSysctlArgs(rest);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (!req.all && req.args.length === 0) throw new UsageError('usage: sysctl NAME[=VALUE] ... | sysctl -a');
    return callDaemon(args, async (api) => {
      const out: SysctlEntry[] = [];
      const gets = req.all || req.args.some((a) => a.value === undefined);
      const oids = gets ? ((await snapshotsOf(api, jail))[0]?.sysctls ?? []) : [];
      if (req.all) for (const o of oids) if (!o.skip) out.push({ name: o.name, value: o.value });
      for (const a of req.args) {
        if (a.value !== undefined) {
          const r =
            jail === undefined ? await api.sysctl(a.name, a.value) : await api.jailSysctl(jail, a.name, a.value);
          out.push({ name: r.name, value: r.value, old: r.old });
          continue;
        }
        // A leaf prints itself, an inner node everything under it (`sysctl net.inet.tcp`).
        // A CTLFLAG_SKIP OID (hostcache.list) only by its own name.
        const hit = oids.filter((o) => o.name === a.name || (!o.skip && o.name.startsWith(`${a.name}.`)));
        if (hit.length === 0) throw new SysError('ENOENT', `unknown oid '${a.name}'`, 'sysctl');
        for (const o of hit) out.push({ name: o.name, value: o.value });
      }
      return out;
    });
  },
  human: (r) =>
    r
      .map((e) =>
        e.old !== undefined
          ? formatSysctlChange({ name: e.name, old: e.old, new: e.value })
          : `${e.name}: ${e.value}\n`,
      )
      .join(''),
});
