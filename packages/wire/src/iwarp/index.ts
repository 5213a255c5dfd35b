export * from './crc32c.js';
