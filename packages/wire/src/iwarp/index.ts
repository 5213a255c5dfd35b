export * from './crc32c.js';
export * from './mpa.js';
