export * from './errors.js';
export * from './checksum.js';
export * from './seq.js';
export * from './addr.js';
