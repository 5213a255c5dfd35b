export * from './ring.js';
export * from './link.js';
