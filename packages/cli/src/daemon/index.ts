/** The daemon: `serve` a stack with its control socket, and the tools' client of it. */
export * from './api.js';
export * from './config.js';
export * from './paths.js';
export * from './serve.js';
export * from './client.js';
export { mergeCaptures } from './capture.js';
export { socketEndpoint, encodeMessage, decodeMessage } from './endpoint.js';
