export * from './ring.js';
export * from './link.js';
export * from './reservations.js';
export * from './linkmatrix.js';
export * from './control.js';
export * from './stack.js';
export * from './pcblookup.js';
export { registerApp, lookupApp, appNames, type GroupApp, type AppContext, type GroupAppFactory } from './worker/app.js';
export * from './links/index.js';
