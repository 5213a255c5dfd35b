export * from './ring.js';
export * from './link.js';
export * from './reservations.js';
