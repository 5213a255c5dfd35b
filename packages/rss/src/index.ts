export * from './errors.js';
export * from './toeplitz.js';
export * from './hashtype.js';
export * from './indirection.js';
export * from './classify.js';
