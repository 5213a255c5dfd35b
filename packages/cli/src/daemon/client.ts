/**
 * The tools' side of the control socket: connect, get the daemon's API as a comlink
 * remote, close. No daemon (no socket file, or nobody accepting on it) is an error
 * whose one line names the socket path.
 */
import net from 'node:net';
import * as Comlink from 'comlink';
import { SysError } from '@mcstack/netinet';
import { installErrorCodes } from '@mcstack/runtime';
import { socketEndpoint } from './endpoint.js';
import type { DaemonApi } from './api.js';

installErrorCodes(Comlink.transferHandlers as Map<string, unknown>);

export interface DaemonClient {
  readonly api: Comlink.Remote<DaemonApi>;
  readonly socket: string;
  /** Rejects (ECONNRESET) if the daemon closes the connection before close(). */
  readonly lost: Promise<never>;
  close(): void;
}

export function connectDaemon(path: string): Promise<DaemonClient> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    sock.once('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? 'ECONNREFUSED';
      reject(new SysError(code, `no mcstack daemon on ${path} (start one with 'mcstack serve')`, 'connect'));
    });
    sock.once('connect', () => {
      const api = Comlink.wrap<DaemonApi>(socketEndpoint(sock));
      let closing = false;
      // A daemon that goes away fails the calls in flight instead of leaving them pending.
      const lost = new Promise<never>((_, rej) => {
        sock.on('close', () => {
          if (!closing) rej(new SysError('ECONNRESET', `the daemon on ${path} closed the connection`, 'control'));
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
export async function withDaemon<T>(path: string, fn: (api: Comlink.Remote<DaemonApi>) => Promise<T>): Promise<T> {
  const c = await connectDaemon(path);
  try {
    return await Promise.race([fn(c.api), c.lost]);
  } finally {
    c.close();
  }
}
