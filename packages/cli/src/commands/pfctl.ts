/**
 * `mcstack pfctl`, FreeBSD's pfctl(8) for the daemon's pf: `-f FILE` loads a pf.conf
 * (checked here first: a bad rule exits 2 naming its line), `-e` / `-d` enable and
 * disable, `-s rules|states|info` show (with `-v`, the rules' counters). Each worker
 * filters its own flows with its own states; what is shown is summed over them.
 * Flags combine as pfctl's do: `pfctl -e -f pf.conf` loads, then enables.
 */
import { readFileSync } from 'node:fs';
import { parsePfConf, type PfReport } from '@mcstack/netinet';
import { formatPfInfo, formatPfMemory, formatPfRules, formatPfStates } from '@mcstack/netinet/tools';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, callDaemon } from '../daemon/call.js';
import { MAX_PF_CONF_TEXT } from '../daemon/api.js';

const SHOW = ['rules', 'states', 'info', 'memory'] as const;
type Show = (typeof SHOW)[number];

interface PfctlResult {
  /** Rules loaded by -f. */
  loaded?: number;
  enabled?: boolean;
  show?: Show;
  verbose: boolean;
  report?: PfReport;
}

export const pfctl = defineCommand<PfctlResult>({
  path: ['pfctl'],
  summary: 'control the packet filter (FreeBSD pfctl)',
  description:
    'usage: mcstack pfctl [-e | -d] [-f FILE] [-s rules|states|info|memory] [-v]\n\n' +
    '  -f FILE   load the rules of FILE (pf.conf: pass/block, in/out, on IF, inet/inet6, proto,\n' +
    '            from/to addresses and ports, flags, keep/no state, quick, log; set timeout, set limit states)\n' +
    '  -e | -d   enable | disable the filter\n' +
    '  -s WHAT   show the rules, the states, the counters (info) or the limits (memory: set limit states,\n' +
    '            one limit for all the workers together); -v adds the rules\u2019 counters',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { flags, operands } = getopt(args.positionals, 'def:s:v');
    if (operands.length > 0) throw new UsageError(`unexpected operand ${operands[0]}`);
    if (flags.has('e') && flags.has('d')) throw new UsageError('give one of -e and -d');
    const show = flags.get('s') as string | undefined;
    if (show !== undefined && !(SHOW as readonly string[]).includes(show))
      throw new UsageError(`unknown show modifier '${show}' (rules, states, info, memory)`);
    if (!flags.has('e') && !flags.has('d') && !flags.has('f') && show === undefined)
      throw new UsageError('give -f FILE, -e, -d or -s WHAT');
    let text: string | undefined;
    if (flags.has('f')) {
      const file = flags.get('f') as string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
      }
      if (text.length > MAX_PF_CONF_TEXT) throw new UsageError(`${file} is longer than ${MAX_PF_CONF_TEXT} characters`);
      try {
        parsePfConf(text);
      } catch (e) {
        throw new UsageError(`${file}:${(e as Error).message.replace(/^pfctl EINVAL: /, ' ')}`);
      }
    }
    const r: PfctlResult = { verbose: flags.has('v'), show: show as Show | undefined };
    await callDaemon(args, async (api) => {
      // pfctl's order: the rules first, then enable or disable, then show.
      if (text !== undefined) r.loaded = await api.pfctlLoad(text);
      if (flags.has('e')) {
        await api.pfctlEnable(true);
        r.enabled = true;
      } else if (flags.has('d')) {
        await api.pfctlEnable(false);
        r.enabled = false;
      }
      if (show !== undefined) r.report = await api.pfctlShow();
    });
    return r;
  },
  human: (r) => {
    let out = '';
    if (r.enabled === true) out += 'pf enabled\n';
    if (r.enabled === false) out += 'pf disabled\n';
    if (r.report !== undefined) {
      if (r.show === 'rules') out += formatPfRules(r.report, r.verbose);
      else if (r.show === 'states') out += formatPfStates(r.report);
      else if (r.show === 'memory') out += formatPfMemory(r.report);
      else out += formatPfInfo(r.report);
    }
    return out;
  },
});
