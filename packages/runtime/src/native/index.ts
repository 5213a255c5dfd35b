/**
 * The native layer: libc through koffi, TAP queues, thread pinning. Linux only;
 * elsewhere every call throws NativeUnavailableError (MCSTACK_NATIVE_UNAVAILABLE),
 * and importing it never does.
 */
export * from './errors.js';
export * from './ioctl.js';
export * as libc from './libc.js';
export { nativeStatus } from './libc.js';
export * from './tun.js';
export * from './iovec.js';
export * from './affinity.js';
export * from './packet.js';
export * as cbpf from './cbpf.js';
