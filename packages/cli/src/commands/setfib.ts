/**
 * `mcstack setfib FIB COMMAND [ARGS...]` (setfib(1)): run another mcstack command with FIB
 * as its process FIB: `serve` starts its in-worker apps in it (their sockets route in that
 * table, and so do the connections their listeners accept), `route` and `netstat -r` use it
 * unless -F says otherwise. The command runs in this process, its exit status is setfib's;
 * the FIB also goes to the processes it starts, through the environment.
 */
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { FIB_ENV, parseFib } from '../procfib.js';

interface SetfibResult {
  fib: number;
  command: string[];
  /** The command's exit status. */
  status: number;
}

export const setfib = defineCommand<SetfibResult>({
  path: ['setfib'],
  summary: 'run an mcstack command in another routing table (FreeBSD setfib)',
  description: 'usage: mcstack setfib FIB COMMAND [ARGS...]',
  optionsFirst: true,
  options: [],
  positionals: [
    { name: 'FIB', help: 'the routing table, 0 .. net.fibs-1' },
    { name: 'COMMAND', help: 'the mcstack command and its arguments', variadic: true },
  ],
  run: async (args) => {
    const [fibText, ...command] = args.positionals;
    const fib = parseFib(fibText);
    if (command.length === 0) throw new UsageError('missing COMMAND');
    if (command[0] === 'setfib') throw new UsageError('setfib of setfib: give one FIB');
    const was = process.env[FIB_ENV];
    process.env[FIB_ENV] = String(fib);
    try {
      // Loaded here: main imports the command table, which holds this command.
      const { main } = await import('../main.js');
      return { fib, command, status: await main(command) };
    } finally {
      if (was === undefined) delete process.env[FIB_ENV];
      else process.env[FIB_ENV] = was;
    }
  },
  human: () => '',
  exitCode: (r) => r.status,
});
