export * from './ast.js';
export { parseScript, ScriptSyntaxError, type ParseOptions } from './parser.js';
export { tokenize, preprocess, type Token, type TokenKind } from './lexer.js';
export { Flow } from './flow.js';
export {
  buildInboundTcp, buildInboundIcmp, decodePacket, verifyOutbound, describeLive, describeScript,
  UnsupportedError, type LivePacket,
} from './packet.js';
export { runScript, type DrillResult, type DrillStatus, type RunOptions } from './runner.js';
export { collectScripts, runScriptFile, summarize, formatResults, type DrillSummary } from './files.js';
export type { DrillStack, StackConfig, PcbEntry, TcpInfo } from './stack.js';
export { parseCode, runAssertions, type Assertion } from './code.js';
export { parseCommand, runCommand, type ShellCommand } from './shell.js';
export { createEngineStack } from './engine-stack.js';
