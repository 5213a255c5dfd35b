/**
 * A bad command line, or an input file named on it that is not there: main() prints
 * `mcstack: <command>: <reason>` on one line and exits 2, whichever the command. Anything
 * else a command throws exits 1 (with the error's `code` when it has one, as Node names
 * errno codes).
 */
import { statSync } from 'node:fs';

export class UsageError extends Error {
  readonly code = 'MCSTACK_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An input file (or directory) named on the command line must exist: UsageError (exit 2) otherwise. */
export function requireInput(path: string): void {
  try {
    statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`no such file or directory: ${path}`);
    throw e;
  }
}
