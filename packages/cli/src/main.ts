/**
 * `mcstack` entry point: picks the command whose path is the longest prefix of argv,
 * parses its options, runs it and prints human output or (with --json) the result as
 * JSON. Exit status: 0 ok, 1 the command failed, 2 bad command line (a missing input
 * file included). `--json` may come before the command as well as after it.
 */
import { type AnyCommand, COMMON_OPTIONS, type OptionSpec } from './command.js';
import { parseArgs } from './args.js';
import { UsageError } from './errors.js';
import { commands as registered } from './registry.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (t) => {
    process.stdout.write(t);
  },
  err: (t) => {
    process.stderr.write(t);
  },
};

export async function main(
  argv: readonly string[],
  io: Io = processIo,
  commands: readonly AnyCommand[] = registered,
): Promise<number> {
  // `mcstack --json ifconfig` as well as `mcstack ifconfig --json`.
  let leadingJson = false;
  while (argv[0] === '--json') {
    leadingJson = true;
    argv = argv.slice(1);
  }
  // The longest run of leading words that names a command or a group of them.
  let depth = 0;
  while (
    depth < argv.length &&
    !argv[depth]!.startsWith('-') &&
    commands.some((c) => startsWith(c.path, argv.slice(0, depth + 1)))
  )
    depth++;
  const words = argv.slice(0, depth);
  const command = commands.find((c) => c.path.length === depth && startsWith(c.path, words));
  if (command === undefined) return group(words, argv.slice(depth), io, commands);

  const name = command.path.join(' ');
  try {
    const args = parseArgs(argv.slice(depth), optionsOf(command), {
      shortFlags: command.shortFlags,
      optionsFirst: command.optionsFirst,
    });
    if (args.has('help')) {
      io.out(commandHelp(command));
      return 0;
    }
    if (leadingJson && ownsOption(command, 'json'))
      throw new UsageError('--json before the command: its own --json takes a FILE, give it after the command');
    checkPositionals(command, args.positionals);
    for (const o of command.options) if (o.required && !args.has(o.name)) throw new UsageError(`--${o.name}: required`);
    const result = await command.run(args);
    const printJson = (leadingJson || args.has('json')) && !ownsOption(command, 'json');
    io.out(printJson ? `${JSON.stringify(result, null, 2)}\n` : ensureNewline(command.human(result)));
    return command.exitCode?.(result) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`mcstack: ${name}: ${e.message}\n`);
      return 2;
    }
    const err = e as { code?: unknown; message?: unknown };
    const msg = String(err?.message ?? e).split('\n')[0] ?? '';
    io.err(
      `mcstack: ${name}: ${typeof err?.code === 'string' && !msg.includes(err.code) ? `${err.code}: ` : ''}${msg}\n`,
    );
    return 1;
  }
}

/** No full command matched: help for a group (or everything), or an unknown word. */
function group(words: readonly string[], rest: readonly string[], io: Io, commands: readonly AnyCommand[]): number {
  const prefix = words.length ? `mcstack: ${words.join(' ')}: ` : 'mcstack: ';
  const next = rest[0];
  if (next === '--help' || next === 'help') {
    io.out(listHelp(words, commands));
    return 0;
  }
  if (next === undefined) {
    io.err(listHelp(words, commands));
    return 2;
  }
  io.err(
    `${prefix}${next.startsWith('-') ? `unknown option ${next}` : `unknown command ${JSON.stringify(next)}`} (try --help)\n`,
  );
  return 2;
}

function checkPositionals(command: AnyCommand, got: readonly string[]): void {
  const specs = command.positionals ?? [];
  const min = specs.filter((p) => !p.optional).length;
  const variadic = specs.length > 0 && specs[specs.length - 1]!.variadic === true;
  if (!variadic && got.length > specs.length)
    throw new UsageError(`unexpected argument ${JSON.stringify(got[specs.length])}`);
  if (got.length < min) throw new UsageError(`missing ${specs[got.length]!.name}`);
}

/** A command may declare a common option itself (`--json FILE`): its own spec wins. */
function ownsOption(c: AnyCommand, name: string): boolean {
  return c.options.some((o) => o.name === name);
}

function optionsOf(c: AnyCommand): OptionSpec[] {
  return [...c.options, ...COMMON_OPTIONS.filter((o) => !ownsOption(c, o.name))];
}

function startsWith(path: readonly string[], words: readonly string[]): boolean {
  return words.length <= path.length && words.every((w, i) => path[i] === w);
}

function usageLine(c: AnyCommand): string {
  const opts = c.options.map((o) => {
    const text = o.type === 'flag' ? `--${o.name}` : `--${o.name} ${o.arg ?? 'VALUE'}`;
    return o.required ? text : `[${text}]`;
  });
  const pos = (c.positionals ?? []).map((p) => {
    const name = p.variadic ? `${p.name}...` : p.name;
    return p.optional ? `[${name}]` : name;
  });
  return ['mcstack', ...c.path, ...pos, ...opts, ...(ownsOption(c, 'json') ? [] : ['[--json]'])].join(' ');
}

function commandHelp(c: AnyCommand): string {
  const lines = [`usage: ${usageLine(c)}`, '', c.summary];
  if (c.description) lines.push('', c.description.trimEnd());
  const rows = [
    ...(c.positionals ?? []).map((p) => [p.name, p.help]),
    ...optionsOf(c).map((o) => [o.type === 'flag' ? `--${o.name}` : `--${o.name} ${o.arg ?? 'VALUE'}`, o.help]),
  ];
  const w = Math.max(...rows.map((r) => r[0]!.length));
  lines.push('', ...rows.map(([a, h]) => `  ${a!.padEnd(w)}  ${h}`));
  return `${lines.join('\n')}\n`;
}

function listHelp(words: readonly string[], commands: readonly AnyCommand[]): string {
  const list = commands.filter((c) => startsWith(c.path, words));
  const names = list.map((c) => c.path.join(' '));
  const w = Math.max(0, ...names.map((n) => n.length));
  return `${[
    `usage: mcstack ${words.length ? `${words.join(' ')} ` : ''}COMMAND [options] [--json]`,
    '',
    'mcstack: a multi-core userspace TCP/IP stack for Node.js, modeled on FreeBSD.',
    '',
    'commands:',
    ...list.map((c, i) => `  ${names[i]!.padEnd(w)}  ${c.summary}`),
    '',
    `Run 'mcstack COMMAND --help' for a command's options.`,
  ].join('\n')}\n`;
}

/** Output ends with a newline; no output stays none (`ifconfig em0 -txcsum` prints nothing). */
function ensureNewline(s: string): string {
  return s === '' || s.endsWith('\n') ? s : `${s}\n`;
}
