export * from './udptunnel.js';
export * from './tap.js';
export * from './realtime.js';
export * from './pcapreplay.js';
