/**
 * Running the `mcstack` tools in-process against a daemon's socket, and waiting on the
 * daemon, for the daemon tests.
 */
import assert from 'node:assert/strict';
import { main } from '@mcstack/cli';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** `mcstack ARGV --socket SOCK` in this process: the exit code and what it wrote. */
export async function runCli(sock: string, argv: readonly string[]): Promise<CliRun> {
  const io = { out: '', err: '' };
  const code = await main([...argv, '--socket', sock], {
    out: (t) => {
      io.out += t;
    },
    err: (t) => {
      io.err += t;
    },
  });
  return { code, ...io };
}

/** `run` and `ok` (asserting exit 0, naming the command and its stderr) against daemon socket `sock`. */
export function cliAt(sock: string): {
  run(...argv: string[]): Promise<CliRun>;
  ok(...argv: string[]): Promise<string>;
} {
  const run = (...argv: string[]) => runCli(sock, argv);
  return {
    run,
    async ok(...argv: string[]): Promise<string> {
      const r = await run(...argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.err}`);
      return r.out;
    },
  };
}

/** Poll `fn` every 100 ms until it gives a value; after `ms`, fail naming `what` and `context()` (the daemon's stderr). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  ms: number,
  context: () => string,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\ndaemon stderr: ${context()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
