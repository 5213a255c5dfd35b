export * from './kern/errno.js';
export * from './kern/random.js';
export * from './kern/callout.js';
export * from './kern/sysctl.js';
