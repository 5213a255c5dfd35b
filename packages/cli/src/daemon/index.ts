/** The daemon: `serve` a stack with its control socket, and the tools' client of it. */
export * from './api.js';
export * from './config.js';
export * from './paths.js';
export * from './serve.js';
export * from './client.js';
export { mergeCaptures } from './capture.js';
export { welcomeText, type WelcomeFacts } from './welcome.js';
export { LineReader, encodeMessage, decodeMessage, MAX_REQUEST_LINE, MAX_REPLY_LINE } from './endpoint.js';
export { METHODS, BAD_REQUEST, parseRequest } from './rpc.js';
