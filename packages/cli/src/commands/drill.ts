/**
 * `mcstack drill SCRIPT...`: run packetdrill scripts (the FreeBSD TCP test suite's NPLab
 * dialect) against the engine on a virtual clock; directories are walked for *.pkt.
 * Prints pass/fail/error per script with the first mismatch (line, expected, got);
 * `--json` gives `[{file, status, line, message}]`. Exits 0 only if every script passes.
 */
import { collectScripts, formatResults, runScriptFile, type DrillResult } from '@mcstack/packetdrill';
import { defineCommand } from '../command.js';
import { UsageError, requireInput } from '../errors.js';

export const drill = defineCommand({
  path: ['drill'],
  summary: 'run packetdrill scripts against the engine (pass/fail/error per script)',
  description:
    'Each SCRIPT is a .pkt file or a directory searched for them. The engine is the local\n' +
    'host (192.168.0.1 / fd3d:fa7b:d17d::1), the script the remote, on a virtual clock.',
  options: [
    {
      name: 'seed',
      type: 'int',
      arg: 'S',
      min: 0,
      max: 0xffffffff,
      help: "seed for the engine's random source (default 1)",
    },
  ],
  positionals: [{ name: 'SCRIPT', help: '.pkt scripts, or directories of them', variadic: true }],
  run: (args): DrillResult[] => {
    for (const p of args.positionals) requireInput(p);
    const files = collectScripts(args.positionals);
    if (files.length === 0) throw new UsageError('no .pkt scripts found');
    const seed = args.int('seed') ?? 1;
    return files.map((f) => runScriptFile(f, { seed }));
  },
  human: (results) => formatResults(results),
  exitCode: (results) => (results.every((r) => r.status === 'pass') ? 0 : 1),
});
