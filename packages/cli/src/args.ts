/**
 * Command-line parsing against a command's OptionSpecs: `--name value`, `--name=value`,
 * flags, `--` ending options; with `shortFlags`, `-x` words are kept as positionals (the
 * command reads them with getopt.ts). Every mistake is a UsageError with a one-line reason.
 */
import { Args, type OptionSpec } from './command.js';
import { UsageError } from './errors.js';

export function parseArgs(
  argv: readonly string[],
  specs: readonly OptionSpec[],
  o: { shortFlags?: boolean; optionsFirst?: boolean } = {},
): Args {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, string | number | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--' || (o.optionsFirst && positionals.length > 0)) {
      positionals.push(...argv.slice(a === '--' ? i + 1 : i));
      break;
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a !== '-' && !o.shortFlags) throw new UsageError(`unknown option ${a}`);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (spec === undefined) throw new UsageError(`unknown option --${name}`);
    if (values.has(name)) throw new UsageError(`--${name}: given more than once`);
    if (spec.type === 'flag') {
      if (eq >= 0) throw new UsageError(`--${name}: takes no value`);
      values.set(name, true);
      continue;
    }
    let text: string;
    if (eq >= 0) text = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name}: missing value`);
      text = argv[++i]!;
    }
    values.set(name, spec.type === 'int' ? parseIntOption(spec, text) : text);
  }
  return new Args(values, positionals);
}

function parseIntOption(spec: OptionSpec, text: string): number {
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const ok = /^(0|[1-9][0-9]*|0[xX][0-9a-fA-F]+)$/.test(text);
  const v = ok ? Number(text) : NaN;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new UsageError(`--${spec.name}: not an integer from ${min} to ${max}: ${JSON.stringify(text)}`);
  }
  return v;
}
