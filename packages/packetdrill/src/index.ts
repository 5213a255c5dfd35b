export * from './ast.js';
export { parseScript, ScriptSyntaxError, type ParseOptions } from './parser.js';
export { tokenize, preprocess, type Token, type TokenKind } from './lexer.js';
export { Flow } from './flow.js';
export {
  buildInboundTcp, buildInboundIcmp, decodePacket, verifyOutbound, describeLive, describeScript,
  UnsupportedError, type LivePacket,
} from './packet.js';
