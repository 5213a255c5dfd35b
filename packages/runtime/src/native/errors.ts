/**
 * The two ways a native call fails: the platform has no native layer at all
 * (NativeUnavailableError), or a system call answered with errno (NativeError,
 * shaped like Node's own ErrnoException so callers test `err.code === 'EBUSY'`).
 */
import { getSystemErrorMap } from 'node:util';
import { constants } from 'node:os';

export const NATIVE_UNAVAILABLE = 'MCSTACK_NATIVE_UNAVAILABLE';

/** koffi or libc could not be loaded (not Linux, no prebuilt koffi binary, no glibc). */
export class NativeUnavailableError extends Error {
  readonly code = NATIVE_UNAVAILABLE;
  /** Why, in words: the platform, or the loader's own message. */
  readonly reason: string;
  constructor(reason: string) {
    super(`mcstack native layer unavailable: ${reason}`);
    this.name = 'NativeUnavailableError';
    this.reason = reason;
  }
}

/**
 * Linux errnos libuv has no name for (so neither has util.getSystemErrorMap), that the
 * native calls can return (asm-generic/errno.h): a deleted TAP device's queue reads EBADFD.
 */
const UNNAMED: Partial<Record<number, [string, string]>> =
  process.platform === 'linux' ? { 77: ['EBADFD', 'file descriptor in bad state'] } : {};

/**
 * A failed system call. As in Node's errors from libuv, `errno` is negative
 * (-EBUSY) so util.getSystemErrorName(err.errno) names it, and `code` is the name.
 */
export class NativeError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  constructor(errno: number, syscall: string, detail?: string) {
    const e = -Math.abs(errno);
    const [code, text] = getSystemErrorMap().get(e) ?? UNNAMED[-e] ?? [`E${Math.abs(errno)}`, 'unknown error'];
    super(`${code}: ${text}, ${syscall}${detail ? ` ${detail}` : ''}`);
    this.name = 'NativeError';
    this.code = code;
    this.errno = e;
    this.syscall = syscall;
  }
}

/** Positive errno values the callers test, as this platform numbers them (errno(3)). */
export const EINTR = constants.errno.EINTR;
export const EAGAIN = constants.errno.EAGAIN;
export const EINVAL = constants.errno.EINVAL;
