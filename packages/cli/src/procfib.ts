/**
 * The FIB of this `mcstack` process and what it starts (FreeBSD's p_fibnum, which setfib(1)
 * sets and children inherit): `mcstack setfib N COMMAND` puts N in the environment, as an
 * inherited process attribute, and route, netstat -r and serve's apps take it as their
 * default table. Whether N exists (below net.fibs) is for the stack to say (EINVAL).
 */
import { UsageError } from './errors.js';

/** Where setfib leaves the FIB for the command it runs (and that command's children). */
export const FIB_ENV = 'MCSTACK_FIB';

/** A FIB number as setfib(1) and -F take it: a whole number (UsageError otherwise). */
export function parseFib(text: string | undefined, what = 'fib'): number {
  if (text === undefined || !/^\d{1,5}$/.test(text))
    throw new UsageError(`${what}: invalid fib ${JSON.stringify(text ?? '')}`);
  return Number(text);
}

/** getfib(2): this process's FIB, 0 unless setfib gave another. */
export function processFib(): number {
  const v = process.env[FIB_ENV];
  return v === undefined || v === '' ? 0 : parseFib(v, FIB_ENV);
}
