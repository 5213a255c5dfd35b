/**
 * Errors as node:net makes them. The engine and the worker speak FreeBSD errno numbers
 * (ECONNREFUSED is 61 there); Node code reads `err.errno` as the host's negative errno
 * (-111 on Linux), `err.code` as the name, `err.syscall`, and for connect and listen the
 * `address` and `port`, and some of it matches on the message, whose format is libuv's:
 *
 *   connect ECONNREFUSED 10.0.0.2:80                       (connect, read, write: no text)
 *   listen EADDRINUSE: address already in use 0.0.0.0:80   (listen: libuv's text)
 *
 * The FreeBSD number stays on the error as `bsdErrno`.
 */
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { errnoName } from '@mcstack/netinet';

/** A Node system error (what node:net emits), with the engine's errno kept. */
export interface NodeSystemError extends Error {
  errno?: number;
  code: string;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
  /** The FreeBSD errno the engine returned. */
  bsdErrno?: number;
}

const hostErrno = osConstants.errno as Record<string, number | undefined>;
let uvMessages: Map<number, [string, string]> | undefined;

/** libuv's description of a code ('address already in use'), as Node's messages carry it. */
function uvMessage(code: string): string | undefined {
  const n = hostErrno[code];
  if (n === undefined) return undefined;
  uvMessages ??= getSystemErrorMap();
  return uvMessages.get(-n)?.[1];
}

/**
 * The error node:net would emit for FreeBSD errno `bsd` (positive or negative) in `syscall`,
 * with the peer's (connect) or the bound (listen) address. `withText` adds libuv's
 * description after the code, as Node's listen and bind errors have it.
 */
export function nodeError(
  bsd: number,
  syscall: string,
  address?: string,
  port?: number,
  withText = syscall === 'listen' || syscall === 'bind',
): NodeSystemError {
  const code = errnoName(bsd);
  return systemError(code, syscall, address, port, withText, Math.abs(bsd));
}

/** The same from an errno name. */
export function systemError(
  code: string,
  syscall: string,
  address?: string,
  port?: number,
  withText = false,
  bsdErrno?: number,
): NodeSystemError {
  const text = withText ? uvMessage(code) : undefined;
  let msg = `${syscall} ${code}${text !== undefined ? `: ${text}` : ''}`;
  if (address !== undefined) msg += port !== undefined && port > 0 ? ` ${address}:${port}` : ` ${address}`;
  const e = new Error(msg) as NodeSystemError;
  const n = hostErrno[code];
  if (n !== undefined) e.errno = -n;
  e.code = code;
  e.syscall = syscall;
  if (address !== undefined) {
    e.address = address;
    if (port !== undefined && port > 0) e.port = port;
  }
  if (bsdErrno !== undefined) {
    Object.defineProperty(e, 'bsdErrno', { value: bsdErrno, enumerable: false, writable: true, configurable: true });
  }
  return e;
}

/** Node's ERR_* errors: an Error (TypeError, RangeError) with a `code`. */
export function codedError<E extends Error>(
  Base: new (msg: string) => E,
  code: string,
  message: string,
): E & { code: string } {
  const e = new Base(message) as E & { code: string };
  e.code = code;
  return e;
}
