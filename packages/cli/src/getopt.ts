/**
 * getopt(3) for the FreeBSD-style tools: `optstring` lists the flag letters, a letter
 * followed by `:` takes a value (`-p tcp` or `-ptcp`). Flags cluster (`-46c`, `-np tcp`);
 * parsing stops at `--` or at the first operand (so `ifconfig em0 -txcsum` keeps
 * `-txcsum` as an operand). An unknown flag or a missing value is a UsageError.
 */
import { UsageError } from './errors.js';

export interface Getopt {
  /** Flags seen: true, or the value of a flag that takes one (the last given). */
  flags: Map<string, string | true>;
  operands: string[];
}

export function getopt(words: readonly string[], optstring: string): Getopt {
  const flags = new Map<string, string | true>();
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || w === '-') break;
    for (let k = 1; k < w.length; k++) {
      const ch = w[k]!;
      const at = optstring.indexOf(ch);
      if (at < 0 || ch === ':') throw new UsageError(`illegal option -- ${ch}`);
      if (optstring[at + 1] !== ':') {
        flags.set(ch, true);
        continue;
      }
      const rest = w.slice(k + 1);
      if (rest !== '') {
        flags.set(ch, rest);
        break;
      }
      const next = words[++i];
      if (next === undefined) throw new UsageError(`option requires an argument -- ${ch}`);
      flags.set(ch, next);
      break;
    }
  }
  return { flags, operands: words.slice(i) };
}
