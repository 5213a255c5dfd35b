/**
 * What a subcommand is: its path (`['rss', 'hash']`), its options, and two functions —
 * `run` computes a plain JSON-able result, `human` renders that result for a terminal.
 * The framework prints `human(result)` by default and the result itself as JSON with
 * `--json`, so the machine output is always exactly the data the human output shows.
 */
import { UsageError } from './errors.js';

export interface OptionSpec {
  /** Long name without the dashes: `src` for `--src`. */
  readonly name: string;
  /** `flag` takes no value; `int` takes a decimal (or 0x hex) integer in [min, max]. */
  readonly type: 'string' | 'int' | 'flag';
  /** Value placeholder in help (`ADDR`, `N`). */
  readonly arg?: string;
  readonly help: string;
  /** main() refuses the command line without it (`--src: required`). */
  readonly required?: boolean;
  readonly min?: number;
  readonly max?: number;
}

export interface PositionalSpec {
  readonly name: string;
  readonly help: string;
  readonly optional?: boolean;
  /** Only on the last positional: it takes every remaining argument (`SCRIPT...`). */
  readonly variadic?: boolean;
}

/** Parsed command line of one command; accessors throw UsageError naming the option. */
export class Args {
  constructor(
    private readonly values: ReadonlyMap<string, string | number | true>,
    readonly positionals: readonly string[],
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  str(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : String(v);
  }

  int(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === 'number' ? v : undefined;
  }

  /** The value of an option that must be present. */
  required(name: string): string {
    const v = this.str(name);
    if (v === undefined) throw new UsageError(`--${name}: required`);
    return v;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: a command list holds commands of every option shape
export type AnyCommand = Command<any>;

export interface Command<R = unknown> {
  /** Words that select it: `['rss', 'hash']` is `mcstack rss hash`. */
  readonly path: readonly string[];
  /** One line for the command list. */
  readonly summary: string;
  /** More help text printed by `--help` after the usage line (optional). */
  readonly description?: string;
  readonly options: readonly OptionSpec[];
  readonly positionals?: readonly PositionalSpec[];
  /**
   * FreeBSD-style short flags (`netstat -np tcp`, `ifconfig em0 -txcsum`): words with a
   * single dash are not options to the framework but positionals, in order, for the
   * command to read with getopt() (getopt.ts). `--long` options still work.
   */
  readonly shortFlags?: boolean;
  /** Options end at the first positional (getopt's '+'): the rest is another command line (setfib). */
  readonly optionsFirst?: boolean;
  run(args: Args): R | Promise<R>;
  human(result: R): string;
  /**
   * The exit status for a result that was printed (default 0): a command whose
   * report is itself a verdict, like `drill`, exits 1 when something failed.
   */
  exitCode?(result: R): number;
}

/** Identity with type inference for `R`: `export const x = defineCommand({...})`. */
export function defineCommand<R>(command: Command<R>): Command<R> {
  return command;
}

/** Options every command takes; handled by the framework. */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { name: 'json', type: 'flag', help: 'print the result as JSON' },
  { name: 'help', type: 'flag', help: 'show this help' },
];
