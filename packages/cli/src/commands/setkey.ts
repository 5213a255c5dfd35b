/**
 * `mcstack setkey -c` (statements on standard input), `-f FILE`, `-D` (dump), `-F`
 * (flush): the daemon's TCP-MD5 security associations, as FreeBSD's setkey(8) keeps
 * them for TCP_MD5SIG sockets. The statements are checked here first (a syntax error
 * exits 2 with its line), then applied on every worker.
 */
import { readFileSync } from 'node:fs';
import { formatSetkeyDump, parseSetkey, type SetkeyOp } from '@mcstack/netinet/tools';
import type { SecAssocRecord } from '@mcstack/netinet';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { getopt } from '../getopt.js';
import { SOCKET_OPTION, WORDS, callDaemon } from '../daemon/call.js';
import { MAX_SETKEY_TEXT } from '../daemon/api.js';

interface SetkeyResult {
  /** Present when the input asked for it (`dump;`, -D). */
  sas?: SecAssocRecord[];
}

export const setkey = defineCommand<SetkeyResult>({
  path: ['setkey'],
  summary: 'manage TCP-MD5 security associations (FreeBSD setkey)',
  description:
    'usage: mcstack setkey -c            statements on standard input\n' +
    '       mcstack setkey -f FILE       statements from FILE\n' +
    '       mcstack setkey -D | -F       dump | flush the SAs\n\n' +
    'Statements: add SRC DST tcp SPI -A tcp-md5 "KEY"|0xHEX ;  delete SRC DST tcp SPI ;  flush ;  dump ;',
  shortFlags: true,
  options: [SOCKET_OPTION],
  positionals: [WORDS],
  run: async (args) => {
    const { flags, operands } = getopt(args.positionals, 'cf:DF');
    if (operands.length > 0) throw new UsageError(`unexpected operand ${operands[0]}`);
    const modes = ['c', 'f', 'D', 'F'].filter((f) => flags.has(f));
    if (modes.length !== 1) throw new UsageError('give exactly one of -c, -f FILE, -D, -F');
    let text: string;
    if (flags.has('D')) text = 'dump;';
    else if (flags.has('F')) text = 'flush;';
    else {
      const from = flags.has('c') ? 0 : (flags.get('f') as string);
      try {
        text = readFileSync(from, 'utf8');
      } catch (e) {
        throw new UsageError(`cannot read ${from === 0 ? 'standard input' : from}: ${(e as Error).message}`);
      }
    }
    if (text.length > MAX_SETKEY_TEXT) throw new UsageError(`more than ${MAX_SETKEY_TEXT} characters of statements`);
    let ops: SetkeyOp[];
    try {
      ops = parseSetkey(text);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const sas = await callDaemon(args, (api) => api.setkey(text));
    return ops.some((o) => o.op === 'dump') ? { sas } : {};
  },
  human: (r) => (r.sas ? formatSetkeyDump(r.sas) : ''),
});
