/**
 * @mcstack/packetdrill: run packetdrill scripts (the NPLab dialect of the FreeBSD TCP
 * test suite) against the mcstack engine on a virtual clock.
 *
 *   import { runScript } from '@mcstack/packetdrill';
 *   const r = runScript(text, { file: 'x.pkt', seed: 1 });
 *   // { file, status: 'pass' | 'fail' | 'error', line?, message? }
 *
 * `fail` is a mismatch with the engine (first one: line, expected, actual); `error` a
 * script the runner cannot judge (syntax, unsupported construct). collectScripts /
 * runScriptFile / formatResults serve the CLI (`mcstack drill`). A `stack` option runs
 * the script against any DrillStack instead of the engine.
 */
export * from './ast.js';
export { parseScript, ScriptSyntaxError, type ParseOptions } from './parser.js';
export { tokenize, preprocess, type Token, type TokenKind } from './lexer.js';
export { Flow } from './flow.js';
export {
  buildInboundTcp,
  buildInboundIcmp,
  decodePacket,
  verifyOutbound,
  describeLive,
  describeScript,
  UnsupportedError,
  type LivePacket,
} from './packet.js';
export { runScript, type DrillResult, type DrillStatus, type RunOptions } from './runner.js';
export { collectScripts, runScriptFile, summarize, formatResults, type DrillSummary } from './files.js';
export type { DrillStack, StackConfig, PcbEntry, TcpInfo } from './stack.js';
export { parseCode, runAssertions, type Assertion } from './code.js';
export { parseCommand, runCommand, type ShellCommand } from './shell.js';
export { createEngineStack } from './engine-stack.js';
