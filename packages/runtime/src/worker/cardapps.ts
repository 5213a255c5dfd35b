/**
 * Applications on the TOE card's processor (StackOptions.toe.apps; the scaling study's
 * `toe` strategy): the same in-worker apps a group runs (appctx.ts GroupApps), with the
 * card's way to the coordinator in place of a group's reservation client. An active open
 * is admitted as any offload (the card's limits and refusals, counted: EOPNOTSUPP or
 * ENOBUFS to the app when it cannot take it) and gets a TID; the card takes no listens
 * and no UDP, so those fail with EOPNOTSUPP.
 */
import { SysError, ERRNO, SOL_SOCKET, SO_SETFIB, rtFibValid, type Engine } from '@mcstack/netinet';
import type { AppReservations } from './appctx.js';

/** Opens a TF_TOE connection to addr:port through the coordinator (worker/card.ts): fd or -errno. */
export type CardOpen = (addr: string, port: number, admit: boolean, setup: (fd: number) => number) => Promise<number>;

/**
 * An active open on the card in FIB `fib` (the socket API's, admitted on the main thread,
 * or the card's own apps', `admit`ted here): fd or -errno. The card picks the local port
 * (its own range, matched before RSS): a chosen one is EOPNOTSUPP.
 */
export function cardConnect(
  e: Engine,
  open: CardOpen,
  addr: string,
  port: number,
  lport: number,
  fib: number,
  admit: boolean,
): Promise<number> {
  if (lport !== 0) return Promise.resolve(-ERRNO.EOPNOTSUPP);
  if (!rtFibValid(e.net, fib)) return Promise.resolve(-ERRNO.EINVAL);
  // SO_SETFIB before bind, as a group's reservation client does: the connection keeps it.
  return open(addr, port, admit, (fd) => (fib === 0 ? 0 : e.setsockopt(fd, SOL_SOCKET, SO_SETFIB, fib)));
}

export function cardReservations(e: Engine, open: CardOpen): AppReservations {
  const refuse = (what: string) =>
    Promise.reject(new SysError('EOPNOTSUPP', `the TOE card takes no ${what}`, what === 'listens' ? 'listen' : 'bind'));
  return {
    connect: (addr, port, lport = 0, fib = 0) => cardConnect(e, open, addr, port, lport, fib, true),
    listen: () => refuse('listens'),
    unlisten: () => {},
    udpReserve: () => refuse('UDP'),
    udpRelease: async () => {},
  };
}
