export * from './mem.js';
export * from './cq.js';
export * from './qp.js';
export * from './cm.js';
export * from './stats.js';
export * from './device.js';
