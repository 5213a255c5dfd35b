export * from './crc32c.js';
export * from './mpa.js';
export * from './ddp.js';
export * from './rdmap.js';
