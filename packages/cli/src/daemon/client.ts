/**
 * The tools' side of the control socket: connect, call the daemon's methods (rpc.ts),
 * close. The socket is checked first (paths.ts: it and its directory are this user's or
 * root's, not writable by others) and refused otherwise. No daemon (no socket file, or
 * nobody accepting on it) is an error whose one line names the socket path; a socket this
 * user may not use is EACCES, said as such.
 */
import net from 'node:net';
import { SysError } from '@mcstack/netinet';
import { rpcClient } from './rpc.js';
import { checkSocketPath } from './paths.js';
import type { DaemonRemote } from './api.js';

export interface DaemonClient {
  readonly api: DaemonRemote;
  readonly socket: string;
  /** Rejects (ECONNRESET) if the daemon closes the connection before close(). */
  readonly lost: Promise<never>;
  close(): void;
}

export function connectDaemon(path: string): Promise<DaemonClient> {
  return new Promise((resolve, reject) => {
    checkSocketPath(path);
    const sock = net.connect(path);
    sock.once('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? 'ECONNREFUSED';
      reject(
        code === 'EACCES' || code === 'EPERM'
          ? new SysError(code, `permission denied connecting to ${path} (it is not this user's daemon)`, 'connect')
          : new SysError(code, `no mcstack daemon on ${path} (start one with 'mcstack serve')`, 'connect'),
      );
    });
    sock.once('connect', () => {
      const { api, fail } = rpcClient(sock);
      let closing = false;
      // A daemon that goes away fails the calls in flight instead of leaving them pending.
      const lost = new Promise<never>((_, rej) => {
        sock.on('close', () => {
          if (closing) return;
          const e = new SysError('ECONNRESET', `the daemon on ${path} closed the connection`, 'control');
          fail(e);
          rej(e);
        });
      });
      lost.catch(() => {});
      sock.on('error', () => {});
      resolve({
        api,
        socket: path,
        lost,
        close: () => {
          closing = true;
          sock.destroy();
        },
      });
    });
  });
}

/** Connect, run `fn` with the API, always disconnect. */
export async function withDaemon<T>(path: string, fn: (api: DaemonRemote) => Promise<T>): Promise<T> {
  const c = await connectDaemon(path);
  try {
    return await Promise.race([fn(c.api), c.lost]);
  } finally {
    c.close();
  }
}
