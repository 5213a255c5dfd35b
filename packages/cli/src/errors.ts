/**
 * A bad command line: main() prints `mcstack: <command>: <reason>` on one line and
 * exits 2. Anything else a command throws exits 1 (with the error's `code` when it has
 * one, as Node names errno codes).
 */
export class UsageError extends Error {
  readonly code = 'MCSTACK_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
