/**
 * errno values (FreeBSD's numbers, sys/sys/errno.h) under the names Node uses for
 * error codes. Engine syscalls return a non-negative result or `-errno`, as the
 * kernel's so*() functions do; the API layer turns that into a SysError.
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EDEADLK: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EAGAIN: 35,
  EINPROGRESS: 36,
  EALREADY: 37,
  ENOTSOCK: 38,
  EDESTADDRREQ: 39,
  EMSGSIZE: 40,
  EPROTOTYPE: 41,
  ENOPROTOOPT: 42,
  EPROTONOSUPPORT: 43,
  ESOCKTNOSUPPORT: 44,
  EOPNOTSUPP: 45,
  EPFNOSUPPORT: 46,
  EAFNOSUPPORT: 47,
  EADDRINUSE: 48,
  EADDRNOTAVAIL: 49,
  ENETDOWN: 50,
  ENETUNREACH: 51,
  ENETRESET: 52,
  ECONNABORTED: 53,
  ECONNRESET: 54,
  ENOBUFS: 55,
  EISCONN: 56,
  ENOTCONN: 57,
  ESHUTDOWN: 58,
  ETIMEDOUT: 60,
  ECONNREFUSED: 61,
  EHOSTDOWN: 64,
  EHOSTUNREACH: 65,
  ENOTSUP: 45,
} as const;

export type ErrnoName = keyof typeof ERRNO;

const NAMES = new Map<number, ErrnoName>();
for (const [k, v] of Object.entries(ERRNO) as [ErrnoName, number][]) {
  if (!NAMES.has(v)) NAMES.set(v, k);
}

export function errnoName(errno: number): ErrnoName | `E${number}` {
  return NAMES.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

const MESSAGES: Partial<Record<ErrnoName, string>> = {
  EAGAIN: 'Resource temporarily unavailable',
  EINPROGRESS: 'Operation now in progress',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: "Can't assign requested address",
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ETIMEDOUT: 'Operation timed out',
  EINVAL: 'Invalid argument',
  ENOTCONN: 'Socket is not connected',
  EISCONN: 'Socket is already connected',
  EPIPE: 'Broken pipe',
  ENOBUFS: 'No buffer space available',
  EBADF: 'Bad file descriptor',
  ENOPROTOOPT: 'Protocol not available',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EOPNOTSUPP: 'Operation not supported',
  EALREADY: 'Operation already in progress',
  ECONNABORTED: 'Software caused connection abort',
  EMSGSIZE: 'Message too long',
  EAFNOSUPPORT: 'Address family not supported by protocol family',
  ENOENT: 'No such file or directory',
  EPERM: 'Operation not permitted',
  EACCES: 'Permission denied',
};

/** A caller-visible error with a stable Node-style `code` (and the FreeBSD errno). */
export class SysError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string | undefined;
  constructor(code: string, message?: string, syscall?: string, errno?: number) {
    super(`${syscall ? `${syscall} ` : ''}${code}${message ? `: ${message}` : ''}`);
    this.name = 'SysError';
    this.code = code;
    this.errno = errno ?? (ERRNO as Record<string, number>)[code] ?? 0;
    this.syscall = syscall;
  }

  /** From a negative (or positive) errno returned by an engine call. */
  static fromErrno(errno: number, syscall?: string): SysError {
    const name = errnoName(errno);
    return new SysError(name, MESSAGES[name as ErrnoName], syscall, Math.abs(errno));
  }
}
